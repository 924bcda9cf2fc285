/* Separation at a sample rate other than the model's: every channel to the model's rate
 * through libsoxr (high quality), the network, and every stem back, cut or padded to the
 * input's length. */
#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* One channel through libsoxr at high quality; *out_len receives the samples made. */
static int resample(const float *in, size_t in_len, double from, double to, float *out,
                    size_t out_cap, size_t *out_len)
{
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t e = soxr_oneshot(from, to, 1, in, in_len, NULL, out, out_cap, out_len, &io, &q, NULL);
    if (e)
        return mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr from %.0f Hz to %.0f Hz: %s", from, to, e);
    return MRXCL_OK;
}

int mrxcl_separate_resampled(mrxcl_context *ctx, const float *const *input, int C, size_t frames,
                             int rate, float *const *output)
{
    int S = ctx->info.n_sources, c, s, rc = MRXCL_OK;
    double ratio = (double)ctx->info.sample_rate / rate;
    size_t cap = (size_t)ceil((double)frames * ratio) + 16, len = 0, got;
    size_t back_cap = frames + 16;
    float *x = malloc((size_t)C * cap * sizeof(float));
    float *y = malloc((size_t)S * C * cap * sizeof(float));
    float *back = malloc(back_cap * sizeof(float));
    const float **xin = malloc((size_t)C * sizeof(float *));
    float **yout = malloc((size_t)S * C * sizeof(float *));

    if (!x || !y || !back || !xin || !yout) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory resampling %zu samples", frames);
        goto done;
    }
    for (c = 0; c < C && !rc; c++) {
        rc = resample(input[c], frames, rate, ctx->info.sample_rate, x + (size_t)c * cap, cap, &got);
        if (c == 0)
            len = got;
        else if (got != len)
            rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr gave channels of different lengths");
        xin[c] = x + (size_t)c * cap;
    }
    if (!rc && len == 0)
        rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "%zu samples at %d Hz resample to nothing at %d Hz", frames,
                        rate, ctx->info.sample_rate);
    for (c = 0; c < S * C; c++)
        yout[c] = y + (size_t)c * cap;
    if (!rc)
        rc = mrxcl_forward(ctx, xin, C, len, yout);
    for (s = 0; s < S && !rc; s++)
        for (c = 0; c < C && !rc; c++) {
            rc = resample(yout[s * C + c], len, ctx->info.sample_rate, rate, back, back_cap, &got);
            if (rc)
                break;
            /* soxr's length can differ from the input's by a sample: pad with zeros. */
            if (got > frames)
                got = frames;
            memcpy(output[s * C + c], back, got * sizeof(float));
            memset(output[s * C + c] + got, 0, (frames - got) * sizeof(float));
        }
done:
    free(x);
    free(y);
    free(back);
    free(xin);
    free(yout);
    return rc;
}
