/* test_forward MODEL INPUT.f32 OUTPUT.f32 CHANNELS SAMPLE_RATE
 * Runs mrxcl_separate on raw float32 planar input [C][L] and writes raw float32
 * planar stems [S][C][L], for tests/test_network.py to compare with the PyTorch
 * reference. The output buffers are poisoned with NaN first: a sample the engine
 * does not write stays NaN, and this program fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mrxcl.h"

static void log_cb(mrxcl_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level <= MRXCL_LOG_WARN)
        fprintf(stderr, "mrxcl: %s\n", msg);
}

int main(int argc, char **argv)
{
    mrxcl_model *model;
    mrxcl_context *ctx;
    mrxcl_model_info info;
    FILE *f;
    long bytes;
    size_t L, i, n_unwritten = 0;
    int C, rate, st, c, s;
    float *in, *out;
    const float **inp;
    float **outp;

    if (argc != 6) {
        fprintf(stderr, "usage: %s MODEL INPUT.f32 OUTPUT.f32 CHANNELS SAMPLE_RATE\n", argv[0]);
        return 2;
    }
    mrxcl_log_set(log_cb, NULL);
    C = atoi(argv[4]);
    rate = atoi(argv[5]);
    if (!(f = fopen(argv[2], "rb")) || fseek(f, 0, SEEK_END) || (bytes = ftell(f)) <= 0 || C < 1) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    rewind(f);
    L = (size_t)bytes / sizeof(float) / (size_t)C;
    in = malloc((size_t)bytes);
    if (!in || fread(in, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);

    model = mrxcl_model_load_file(argv[1], &st);
    if (!model) {
        fprintf(stderr, "model: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(NULL));
        return 1;
    }
    mrxcl_model_get_info(model, &info);
    ctx = mrxcl_context_create(model, NULL, &st);
    mrxcl_model_free(model); /* the context keeps what it needs */
    if (!ctx) {
        fprintf(stderr, "context: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(NULL));
        if (mrxcl_build_log(NULL))
            fprintf(stderr, "%s\n", mrxcl_build_log(NULL));
        return 1;
    }
    out = malloc((size_t)info.n_sources * C * L * sizeof(float));
    inp = malloc((size_t)C * sizeof(float *));
    outp = malloc((size_t)info.n_sources * C * sizeof(float *));
    for (i = 0; i < (size_t)info.n_sources * C * L; i++)
        out[i] = NAN;
    for (c = 0; c < C; c++)
        inp[c] = in + (size_t)c * L;
    for (s = 0; s < info.n_sources * C; s++)
        outp[s] = out + (size_t)s * L;

    st = mrxcl_separate(ctx, inp, C, L, rate, outp);
    if (st) {
        fprintf(stderr, "separate: %s: %s\n", mrxcl_strerror(st), mrxcl_last_error(ctx));
        return 1;
    }
    for (i = 0; i < (size_t)info.n_sources * C * L; i++)
        n_unwritten += !isfinite(out[i]);
    if (n_unwritten) {
        fprintf(stderr, "%zu of %zu output samples are not finite (unwritten or NaN)\n", n_unwritten,
                (size_t)info.n_sources * C * L);
        return 1;
    }
    if (!(f = fopen(argv[3], "wb")) ||
        fwrite(out, sizeof(float), (size_t)info.n_sources * C * L, f) != (size_t)info.n_sources * C * L ||
        fclose(f)) {
        fprintf(stderr, "cannot write %s\n", argv[3]);
        return 1;
    }
    mrxcl_context_free(ctx);
    free(in);
    free(out);
    free(inp);
    free(outp);
    return 0;
}
