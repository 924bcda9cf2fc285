/* Separation at a rate other than the model's: mrxcl_separate must equal libsoxr to
 * the model's rate, separation there, and libsoxr back, trimmed or zero-padded to the
 * input's length, channel by channel and stem by stem (checked to 100 dB SNR, every
 * sample written). SEED=N replays a run. */
#include <math.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"
#include "test_util.h"

static size_t resample(const float *in, size_t n, double from, double to, float *out, size_t cap)
{
    size_t done = 0;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    if (soxr_oneshot(from, to, 1, in, n, NULL, out, cap, &done, &io, &q, NULL))
        return 0;
    return done;
}

int main(void)
{
    uint64_t seed = tu_seed();
    tu_rng rng = {seed};
    tu_config cfg = {16000, 8, 3, {16, 32, 64}, 8, 1, 3, "music,speech,sfx", NULL};
    static const int rates[2] = {22050, 44100};
    tu_model m;
    size_t size;
    unsigned char *buf;
    int skip = 0, fails = 0, passes = 0, k, c, s;
    mrxcl_context *ctx;

    printf("seed=%llu\n", (unsigned long long)seed);
    tu_model_random(&m, &cfg, &rng);
    buf = tu_serialize(&m, &cfg, &size);
    ctx = tu_context(buf, size, &skip);
    free(buf);
    tu_model_free(&m);
    if (!ctx) {
        printf(skip ? "SKIP: no OpenCL device\n" : "FAIL: no context\n");
        return skip ? SKIP_CODE : 1;
    }
    for (k = 0; k < 2; k++) {
        int rate = rates[k], C = 2;
        size_t L = 3000 + (size_t)(tu_next(&rng) % 3000), cap = L * 2 + 64, Lm = 0, got;
        float *x = malloc(sizeof(float) * C * L), *out = malloc(sizeof(float) * 3 * C * L);
        float *xm = malloc(sizeof(float) * C * cap), *ym = malloc(sizeof(float) * 3 * C * cap);
        float *back = malloc(sizeof(float) * cap);
        double *ref = malloc(sizeof(double) * L);
        const float *in[2], *inm[2];
        float *outp[6], *outm[6];

        for (size_t i = 0; i < (size_t)C * L; i++)
            x[i] = (float)(0.1 * tu_gauss(&rng));
        for (size_t i = 0; i < 3 * (size_t)C * L; i++)
            out[i] = NAN;
        for (c = 0; c < C; c++) {
            in[c] = x + (size_t)c * L;
            Lm = resample(in[c], L, rate, 16000, xm + (size_t)c * cap, cap);
            inm[c] = xm + (size_t)c * cap;
        }
        for (s = 0; s < 3 * C; s++) {
            outp[s] = out + (size_t)s * L;
            outm[s] = ym + (size_t)s * cap;
        }
        if (mrxcl_separate(ctx, in, C, L, rate, outp) || mrxcl_separate(ctx, inm, C, Lm, 16000, outm)) {
            printf("FAIL: separate: %s\n", mrxcl_last_error(ctx));
            return 1;
        }
        for (s = 0; s < 3 * C; s++) {
            double snr;
            got = resample(outm[s], Lm, 16000, rate, back, cap);
            for (size_t i = 0; i < L; i++)
                ref[i] = i < got ? back[i] : 0.0;
            snr = tu_snr_db(ref, outp[s], L);
            if (snr >= 100.0) {
                passes++;
            } else {
                fails++;
                printf("FAIL: %d Hz, stem %d channel %d: %.1f dB against soxr + separate + soxr "
                       "(replay with SEED=%llu)\n",
                       rate, s / C, s % C, snr, (unsigned long long)seed);
            }
        }
        printf("%d Hz stereo, %zu samples (%zu at 16 kHz): %s\n", rate, L, Lm, fails ? "FAIL" : "ok");
        free(x);
        free(out);
        free(xm);
        free(ym);
        free(back);
        free(ref);
    }
    mrxcl_context_free(ctx);
    printf("%d passed, %d failed\n", passes, fails);
    return fails ? 1 : 0;
}
