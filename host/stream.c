/* Long inputs in cross-faded pieces through callbacks: mrxcl_separate_stream(). The piece
 * plan and the cross-fade are chunked.c's, mixture consistency is consistency.c's; this
 * file adds the input gain and the checks on the network's output around
 * mrxcl_separate(). */
#include <math.h>
#include <string.h>

#include "chunked.h"
#include "engine.h"
#include "internal.h"

mrxcl_stream_params mrxcl_stream_default_params(void)
{
    mrxcl_stream_params p;
    memset(&p, 0, sizeof p);
    p.piece_seconds = 30.0;
    p.overlap_seconds = 2.0;
    p.input_gain = 1.0f;
    p.consistency = MRXCL_CONSISTENCY_MODEL;
    p.remix = 0;
    for (int s = 0; s < MRXCL_MAX_SOURCES; s++)
        p.source_gains[s] = 1.0f;
    return p;
}

static int plan_from(const mrxcl_stream_params *p, size_t frames, int sample_rate, chunk_plan *plan)
{
    if (frames < 1 || sample_rate < 1)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "a stream needs frames >= 1 and a sample "
                          "rate (got %zu frames, %d Hz)", frames, sample_rate);
    if (!isfinite(p->piece_seconds) || p->piece_seconds < 0 || !isfinite(p->overlap_seconds) ||
        p->overlap_seconds < 0)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "piece %g s, overlap %g s: lengths must be "
                          "finite and 0 or more", p->piece_seconds, p->overlap_seconds);
    /* 1e7 s (116 days) keeps seconds x rate far inside size_t and llround's range. */
    if (p->piece_seconds > 1e7 || p->overlap_seconds > 1e7)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "a piece of %g s with an overlap of %g s is "
                          "too long: each may last at most 1e7 s (116 days)", p->piece_seconds,
                          p->overlap_seconds);
    size_t length = (size_t)llround(p->piece_seconds * sample_rate);
    size_t overlap = (size_t)llround(p->overlap_seconds * sample_rate);
    if (p->piece_seconds > 0 && length == 0)
        length = 1;
    if (chunk_plan_init(plan, frames, length, overlap) != 0)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "an overlap of %g s is longer than half a "
                          "piece of %g s at %d Hz", p->overlap_seconds, p->piece_seconds,
                          sample_rate);
    return MRXCL_OK;
}

int mrxcl_stream_plan_get(const mrxcl_stream_params *params, size_t frames, int sample_rate,
                          mrxcl_stream_plan *plan)
{
    mrxcl_stream_params d = mrxcl_stream_default_params();
    chunk_plan cp;
    if (!plan)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "mrxcl_stream_plan_get: plan is NULL");
    int rc = plan_from(params ? params : &d, frames, sample_rate, &cp);
    if (rc)
        return rc;
    plan->pieces = cp.count;
    plan->piece_frames = cp.length;
    plan->overlap_frames = cp.overlap;
    return MRXCL_OK;
}

typedef struct stream_job {
    mrxcl_context *ctx;
    int channels, sample_rate, n_sources;
    float gain;
    mrxcl_residual_share share;
    mrxcl_read_callback read;
    mrxcl_write_callback write;
    mrxcl_progress_callback progress;
    void *user;
    float **scaled; /* channels rows of a piece: the input times gain (gain != 1) */
    float mix_gains[MRXCL_MAX_SOURCES];
    int status; /* why a chunk_io callback failed */
} stream_job;

static int job_read(void *user, float *const *channel, size_t frames)
{
    stream_job *job = user;
    if (job->read(job->user, channel, frames) != 0) {
        job->status = mrxcl_fail(MRXCL_ERR_CALLBACK, "the read callback failed");
        return -1;
    }
    return 0;
}

static int job_separate(void *user, const float *const *in, int channels, size_t frames,
                        float *const *out)
{
    stream_job *job = user;
    /* The input stays as read (a remix adds the stems to it); the network gets a
     * scaled copy. */
    if (job->gain != 1.0f) {
        for (int c = 0; c < channels; c++)
            for (size_t i = 0; i < frames; i++)
                job->scaled[c][i] = in[c][i] * job->gain;
        in = (const float *const *)job->scaled;
    }
    int rc = mrxcl_separate(job->ctx, in, channels, frames, job->sample_rate, out);
    if (rc != MRXCL_OK) {
        job->status = rc; /* mrxcl_separate left its message on the context */
        return -1;
    }
    mrxcl_consistency_share(&job->share, in, channels, frames, out);
    size_t nonfinite = 0;
    for (int i = 0; i < job->n_sources * channels; i++)
        for (size_t k = 0; k < frames; k++) {
            if (job->gain != 1.0f)
                out[i][k] /= job->gain;
            nonfinite += !isfinite(out[i][k]);
        }
    if (nonfinite) {
        job->status = mrxcl_fail(MRXCL_ERR_NONFINITE, "the network gave %zu non-finite samples "
                                 "in a piece of %zu frames x %d channels", nonfinite, frames,
                                 channels);
        return -1;
    }
    return 0;
}

static int job_write(void *user, int source, const float *const *channel, size_t frames)
{
    stream_job *job = user;
    if (source == CHUNK_REMIX)
        source = MRXCL_SOURCE_REMIX;
    if (job->write(job->user, source, channel, frames) != 0) {
        job->status = mrxcl_fail(MRXCL_ERR_CALLBACK, "the write callback failed (%s %d)",
                                 source == MRXCL_SOURCE_REMIX ? "remix" : "source", source);
        return -1;
    }
    return 0;
}

static void job_progress(void *user, size_t k, const chunk_plan *plan)
{
    stream_job *job = user;
    if (job->progress)
        job->progress(job->user, chunk_end(plan, k), plan->frames);
}

int mrxcl_separate_stream(mrxcl_context *ctx, const mrxcl_stream_params *params, int channels,
                          size_t frames, int sample_rate, mrxcl_read_callback read,
                          mrxcl_write_callback write, mrxcl_progress_callback progress,
                          void *user_data)
{
    mrxcl_stream_params d = mrxcl_stream_default_params();
    const mrxcl_stream_params *p = params ? params : &d;
    stream_job job;
    chunk_plan plan;
    int rc;
    if (!ctx)
        return MRXCL_ERR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    memset(&job, 0, sizeof job);
    if (!read || !write || channels < 1) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "a stream needs read and write callbacks "
                        "and channels >= 1 (got %d)", channels);
        goto out;
    }
    if (!(isfinite(p->input_gain) && p->input_gain > 0.0f)) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "input gain %g: it must be finite and above 0",
                        (double)p->input_gain);
        goto out;
    }
    if ((rc = plan_from(p, frames, sample_rate, &plan)) != MRXCL_OK)
        goto out;
    job.n_sources = ctx->info.n_sources;
    for (int s = 0; p->remix && s < job.n_sources; s++) {
        if (!(isfinite(p->source_gains[s]) && p->source_gains[s] >= 0.0f)) {
            rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "remix gain %g of source %d (%s): it "
                            "must be finite and 0 or more", (double)p->source_gains[s], s,
                            ctx->info.source_names[s]);
            goto out;
        }
        job.mix_gains[s] = p->source_gains[s];
    }
    if ((rc = mrxcl_consistency_resolve(&ctx->info, p->consistency, &job.share)) != MRXCL_OK)
        goto out;
    job.ctx = ctx;
    job.channels = channels;
    job.sample_rate = sample_rate;
    job.gain = p->input_gain;
    job.read = read;
    job.write = write;
    job.progress = progress;
    job.user = user_data;
    chunk_io io = {job_read, job_separate, job_write, job_progress, &job,
                   p->remix ? job.mix_gains : NULL};
    if (job.gain != 1.0f && !(job.scaled = chunk_rows_new(channels, plan.length))) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for pieces of %zu frames x %d "
                        "channels", plan.length, channels);
        goto out;
    }
    int chunked = chunked_separate(&plan, channels, job.n_sources, &io);
    chunk_rows_free(job.scaled, channels);
    switch (chunked) {
    case CHUNK_OK:
        rc = MRXCL_OK;
        break;
    case CHUNK_ERR_OUT_OF_MEMORY:
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for pieces of %zu frames x %d "
                        "channels x %d sources", plan.length, channels, job.n_sources);
        break;
    default:
        rc = job.status ? job.status : MRXCL_ERR_CALLBACK;
        if (job.status && job.status != MRXCL_ERR_CALLBACK && job.status != MRXCL_ERR_NONFINITE)
            return rc; /* mrxcl_separate's own message is on the context */
        break;
    }
out:
    return mrxcl_keep_error(ctx, rc);
}
