/* test_embed MODEL: the .incbin mechanism that carries the default model
 * (host/default_model.S), assembled here around MODEL, yields the file's exact bytes,
 * and those load as a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"

extern const unsigned char mrxcl_default_model_data[];
extern const unsigned long long mrxcl_default_model_size;

int main(int argc, char **argv)
{
    FILE *f;
    long len;
    unsigned char *buf;
    int st, ok;
    mrxcl_model *m;

    if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: test_embed MODEL\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = malloc((size_t)len);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        return 2;
    fclose(f);
    ok = mrxcl_default_model_size == (unsigned long long)len &&
         memcmp(buf, mrxcl_default_model_data, (size_t)len) == 0;
    printf("%s - embedded bytes equal the file (%llu of %ld bytes)\n", ok ? "ok" : "not ok",
           mrxcl_default_model_size, len);
    m = mrxcl_model_load_memory(mrxcl_default_model_data, (size_t)mrxcl_default_model_size, &st);
    printf("%s - embedded model loads%s%s\n", m ? "ok" : "not ok", m ? "" : ": ", m ? "" : mrxcl_last_error(NULL));
    printf("%d passed, %d failed\n", ok + (m != NULL), !ok + (m == NULL));
    mrxcl_model_free(m);
    free(buf);
    return ok && m ? 0 : 1;
}
