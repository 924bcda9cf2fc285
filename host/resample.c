/* Separation at a sample rate other than the model's: every channel to the model's rate
 * through libsoxr (high quality), the network, and every stem back, cut or padded to the
 * input's length. Rows are resampled on as many threads as there are processors: a
 * batch of pieces (stream.c) holds dozens of them, and a GPU separates faster than one
 * core resamples. */
#include <math.h>
#include <pthread.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "engine.h"

typedef struct resample_job {
    const float *const *in;
    float *const *out;
    int rows;
    size_t in_len, out_cap, fit; /* fit: every row exactly `fit` frames, else 0 */
    double from, to;
    int next;                    /* the next row to take, under lock */
    pthread_mutex_t lock;
    size_t len;                  /* the rows' common length (fit 0) */
    int have_len, uneven;        /* len is set; a row's length differs from it */
    int status;
    char message[MRXCL_MSG_MAX];
} resample_job;

/* One row through libsoxr at high quality into out (capacity out_cap), padded with zeros
 * to `fit` frames when fit > 0. */
static int resample_row(resample_job *job, int r, size_t *got)
{
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1); /* the rows are the parallelism */
    soxr_error_t e = soxr_oneshot(job->from, job->to, 1, job->in[r], job->in_len, NULL, job->out[r],
                                  job->out_cap, got, &io, &q, &rt);
    if (e)
        return mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr from %.0f Hz to %.0f Hz: %s", job->from,
                          job->to, e);
    /* soxr's length can differ from the exact ratio's by a sample: pad with zeros */
    if (job->fit && *got < job->fit)
        memset(job->out[r] + *got, 0, (job->fit - *got) * sizeof(float));
    return MRXCL_OK;
}

static void *resample_worker(void *arg)
{
    resample_job *job = arg;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int r = job->status ? job->rows : job->next++;
        pthread_mutex_unlock(&job->lock);
        if (r >= job->rows)
            return NULL;
        size_t got = 0;
        int rc = resample_row(job, r, &got);
        pthread_mutex_lock(&job->lock);
        if (rc && !job->status) {
            job->status = rc;
            snprintf(job->message, sizeof job->message, "%s", mrxcl_thread_error());
        } else if (!rc && !job->fit) {
            if (!job->have_len)
                job->len = got;
            job->uneven |= job->have_len && job->len != got;
            job->have_len = 1;
        }
        pthread_mutex_unlock(&job->lock);
    }
}

int mrxcl_resample_rows(const float *const *in, int rows, size_t in_len, double from, double to,
                        float *const *out, size_t out_cap, size_t fit, size_t *out_len)
{
    resample_job job;
    memset(&job, 0, sizeof job);
    job.in = in;
    job.out = out;
    job.rows = rows;
    job.in_len = in_len;
    job.out_cap = fit ? fit : out_cap;
    job.fit = fit;
    job.from = from;
    job.to = to;
    if (pthread_mutex_init(&job.lock, NULL) != 0)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "cannot make a lock for resampling");
    mrxcl_run_parallel(resample_worker, &job, rows);
    pthread_mutex_destroy(&job.lock);
    if (job.status)
        return mrxcl_fail_recorded(job.status, job.message);
    if (!fit && job.uneven)
        return mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr gave channels of different lengths");
    if (out_len)
        *out_len = fit ? fit : job.len;
    return MRXCL_OK;
}

size_t mrxcl_resampled_cap(size_t frames, double from, double to)
{
    return (size_t)ceil((double)frames * to / from) + 16;
}

int mrxcl_separate_resampled(mrxcl_context *ctx, const float *const *input, int C, size_t frames,
                             int rate, float *const *output)
{
    int S = ctx->info.n_sources, rc = MRXCL_OK;
    const double model_rate = ctx->info.sample_rate;
    size_t cap = mrxcl_resampled_cap(frames, rate, model_rate), len = 0;
    float **x = chunk_rows_new(C, cap);
    float **y = chunk_rows_new(S * C, cap);
    if (!x || !y) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory resampling %zu samples", frames);
        goto done;
    }
    rc = mrxcl_resample_rows(input, C, frames, rate, model_rate, x, cap, 0, &len);
    if (!rc && len == 0)
        rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "%zu samples at %d Hz resample to nothing at %d Hz", frames,
                        rate, ctx->info.sample_rate);
    if (!rc)
        rc = mrxcl_forward(ctx, (const float *const *)x, C, len, y);
    if (!rc)
        rc = mrxcl_resample_rows((const float *const *)y, S * C, len, model_rate, rate, output, 0,
                                 frames, NULL);
done:
    chunk_rows_free(x, C);
    chunk_rows_free(y, S * C);
    return rc;
}
