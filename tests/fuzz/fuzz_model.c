/* libFuzzer target: mrxcl_model_load_memory on any bytes (a safetensors model file: an
 * 8-byte header length, the JSON header parsed by cJSON, the tensors checked against the
 * configuration and converted). The loader either returns a model that frees cleanly or
 * fails with a status; it must never crash, leak or read outside the buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees a read one byte past the input. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    int status = -1;
    mrxcl_model *m = mrxcl_model_load_memory(copy, size, &status);
    if (m) {
        mrxcl_model_info info;
        if (status != MRXCL_OK || mrxcl_model_get_info(m, &info) != MRXCL_OK ||
            info.n_sources <= 0 || info.n_resolutions <= 0)
            abort();
        mrxcl_model_free(m);
    } else if (status == MRXCL_OK) {
        abort(); /* a failure must say why */
    }
    free(copy);
    return 0;
}
