/* Separating a long input in overlapping, cross-faded pieces. See chunked.h. */
#include "chunked.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int chunk_plan_init(chunk_plan *plan, size_t frames, size_t length, size_t overlap)
{
    memset(plan, 0, sizeof *plan);
    if (frames == 0)
        return -1;
    plan->frames = frames;
    if (length == 0 || length >= frames) {
        plan->length = frames;
        plan->count = 1;
        return 0;
    }
    if (overlap > length / 2)
        return -1;
    size_t step = length - overlap;
    plan->length = length;
    plan->overlap = overlap;
    plan->count = 1 + (frames - length + step - 1) / step;
    return 0;
}

size_t chunk_start(const chunk_plan *plan, size_t k)
{
    return k * (plan->length - plan->overlap);
}

size_t chunk_end(const chunk_plan *plan, size_t k)
{
    size_t end = chunk_start(plan, k) + plan->length;
    return end < plan->frames ? end : plan->frames;
}

float chunk_fade_in(size_t i, size_t overlap)
{
    const double half_pi = 1.57079632679489661923;
    double s = sin(half_pi * ((double)i + 0.5) / (double)overlap);
    return (float)(s * s);
}

void chunk_rows_free(float **rows, int n)
{
    if (rows)
        for (int i = 0; i < n; i++)
            free(rows[i]);
    free(rows);
}

float **chunk_rows_new(int n, size_t len)
{
    float **rows = calloc((size_t)n, sizeof *rows);
    if (!rows)
        return NULL;
    for (int i = 0; i < n; i++) {
        rows[i] = malloc((len ? len : 1) * sizeof(float));
        if (!rows[i]) {
            chunk_rows_free(rows, n);
            return NULL;
        }
    }
    return rows;
}

/* mix[c][i] = in[c][i] + sum_s (gains[s] - 1) * out[s * channels + c][i], i < n: sources
 * at gain 1 add nothing, so that with every gain at 1 the input comes back bit for bit,
 * and what no source holds (the residual, and above the model's band when the input is
 * resampled) keeps its level. */
static void remix(const float *gains, float *const *in, float *const *out, int channels,
                  int sources, size_t n, float *const *mix)
{
    for (int c = 0; c < channels; c++) {
        memcpy(mix[c], in[c], n * sizeof(float));
        for (int s = 0; s < sources; s++) {
            const float g = gains[s] - 1.0f;
            const float *x = out[s * channels + c];
            if (g != 0.0f)
                for (size_t i = 0; i < n; i++)
                    mix[c][i] += g * x[i];
        }
    }
}

int chunked_separate(const chunk_plan *plan, int channels, int sources, const chunk_io *io)
{
    const size_t L = plan->length, O = plan->overlap;
    const int n_out = sources * channels;
    int rc = CHUNK_OK;
    float **in = chunk_rows_new(channels, L);
    float **out = chunk_rows_new(n_out, L);
    float **tail = chunk_rows_new(n_out, O);    /* piece k's last O frames, for piece k+1 */
    float *fade = malloc((O ? O : 1) * sizeof *fade);
    float **mix = io->mix_gains ? chunk_rows_new(channels, L) : NULL;
    const float **rows = malloc((size_t)(channels > 0 ? channels : 1) * sizeof *rows);
    float **in_at = malloc((size_t)(channels > 0 ? channels : 1) * sizeof *in_at);
    if (!in || !out || !tail || !fade || !rows || !in_at || (io->mix_gains && !mix)) {
        rc = CHUNK_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < O; i++)
        fade[i] = chunk_fade_in(i, O);

    for (size_t k = 0; k < plan->count; k++) {
        const size_t n = chunk_end(plan, k) - chunk_start(plan, k);
        const int last = k + 1 == plan->count;
        /* Input: piece k begins with the last O frames of piece k - 1 (a full piece). */
        size_t kept = k ? O : 0;
        for (int c = 0; c < channels; c++) {
            if (kept)
                memmove(in[c], in[c] + (L - O), O * sizeof(float));
            in_at[c] = in[c] + kept;
        }
        if (io->read(io->user, in_at, n - kept) != 0 ||
            io->separate(io->user, (const float *const *)in, channels, n, out) != 0) {
            rc = CHUNK_ERR_CALLBACK;
            goto done;
        }
        /* Cross-fade the shared frames; then frames [0, n - O) are final (all of them
         * in the last piece), and the last O wait for piece k + 1. */
        if (kept)
            for (int j = 0; j < n_out; j++)
                for (size_t i = 0; i < O; i++)
                    out[j][i] = tail[j][i] * (1.0f - fade[i]) + out[j][i] * fade[i];
        size_t final = last ? n : n - O;
        if (mix) {
            remix(io->mix_gains, in, out, channels, sources, final, mix);
            if (io->write(io->user, CHUNK_REMIX, (const float *const *)mix, final) != 0) {
                rc = CHUNK_ERR_CALLBACK;
                goto done;
            }
        }
        for (int s = 0; s < sources && !mix; s++) {
            for (int c = 0; c < channels; c++)
                rows[c] = out[s * channels + c];
            if (io->write(io->user, s, rows, final) != 0) {
                rc = CHUNK_ERR_CALLBACK;
                goto done;
            }
        }
        if (!last)
            for (int j = 0; j < n_out; j++)
                memcpy(tail[j], out[j] + final, O * sizeof(float));
        if (io->progress)
            io->progress(io->user, k, plan);
    }
done:
    chunk_rows_free(in, channels);
    chunk_rows_free(out, n_out);
    chunk_rows_free(tail, n_out);
    free(fade);
    chunk_rows_free(mix, channels);
    free(rows);
    free(in_at);
    return rc;
}
