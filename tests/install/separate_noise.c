/* Built against an installed mrxcl (tests/test_install.sh): loads the default model,
 * creates a context on the first device and separates a second of noise. Exit 0 when
 * the call returned 0 and every stem sample is finite, 77 without a device or default
 * model, 1 otherwise. The same source is built through pkg-config and through
 * find_package(mrxcl). */
#include <mrxcl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int st = 0, count = 0, rc = 1;
    mrxcl_context *ctx = NULL;
    float *in = NULL, *out[MRXCL_MAX_SOURCES] = {0};
    printf("mrxcl %s\n", mrxcl_version());
    if (!mrxcl_has_default_model()) {
        printf("SKIP: this build has no default model\n");
        return 77;
    }
    st = mrxcl_list_devices(NULL, 0, &count);
    if (st == MRXCL_ERR_NO_DEVICE || (st == 0 && count < 1)) {
        printf("SKIP: no OpenCL device\n");
        return 77;
    }
    if (st != 0) {
        fprintf(stderr, "list_devices: %s\n", mrxcl_strerror(st));
        return 1;
    }
    mrxcl_model *model = mrxcl_model_load_default(&st);
    if (!model) {
        fprintf(stderr, "load_default: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(NULL));
        return 1;
    }
    mrxcl_model_info info;
    mrxcl_model_get_info(model, &info);
    mrxcl_context_params p = mrxcl_context_default_params();
    p.device_index = 0;
    ctx = mrxcl_context_create(model, &p, &st);
    mrxcl_model_free(model);
    if (!ctx) {
        fprintf(stderr, "context_create: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(NULL));
        return 1;
    }
    mrxcl_device_desc dev;
    if (mrxcl_context_device(ctx, &dev) == 0)
        printf("device: %s\n", dev.name);

    size_t frames = (size_t)info.sample_rate;
    in = malloc(frames * sizeof *in);
    for (int s = 0; s < info.n_sources; s++)
        out[s] = malloc(frames * sizeof *out[s]);
    unsigned x = 12345;
    for (size_t i = 0; i < frames; i++) { /* uniform noise in [-0.1, 0.1) */
        x = x * 1664525u + 1013904223u;
        in[i] = 0.2f * ((float)(x >> 8) / 16777216.0f) - 0.1f;
    }
    const float *const input[1] = {in};
    st = mrxcl_separate(ctx, input, 1, frames, info.sample_rate, out);
    if (st != 0) {
        fprintf(stderr, "separate: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(ctx));
        goto done;
    }
    rc = 0;
    for (int s = 0; s < info.n_sources; s++) {
        double e = 0;
        for (size_t i = 0; i < frames; i++) {
            if (!isfinite(out[s][i])) {
                fprintf(stderr, "%s: sample %zu is not finite\n", info.source_names[s], i);
                rc = 1;
                break;
            }
            e += (double)out[s][i] * out[s][i];
        }
        printf("%-8s rms %.4f\n", info.source_names[s], sqrt(e / (double)frames));
    }
    printf("separated %zu samples of noise at %d Hz into %d stems: %s\n", frames,
           info.sample_rate, info.n_sources, rc ? "FAIL" : "ok");
done:
    for (int s = 0; s < info.n_sources; s++)
        free(out[s]);
    free(in);
    mrxcl_context_free(ctx);
    return rc;
}
