/* Long inputs in cross-faded pieces through callbacks: mrxcl_separate_stream(). The piece
 * plan, the batches, the pipeline and the cross-fade are chunked.c's, mixture consistency
 * is consistency.c's, resampling resample.c's; this file chooses the batch from the
 * device's memory, and does the host's work around the network on each batch: the input
 * gain and resampling before it, resampling back, consistency and the checks after. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
    p.batch = 0;
    p.max_memory = 0;
    p.pipeline = 1;
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

/* One batch's buffers at the model's rate (slot of chunk_io): made at its first use. */
typedef struct stream_slot {
    float **scaled;         /* rows x piece: the input times the gain (gain != 1) */
    float **net_in;         /* rows x cap at the model's rate (resampling) */
    float **net_out;        /* S x rows x cap */
    const float **in_rows;  /* what the network reads: in, scaled or net_in */
    size_t len;             /* frames at the model's rate */
} stream_slot;

typedef struct stream_job {
    mrxcl_context *ctx;
    int channels, sample_rate, n_sources, resample;
    int rows;        /* batch x channels: the most rows a batch has */
    size_t piece;    /* frames of a full piece at the input's rate */
    size_t cap;      /* ... resampled to the model's */
    float gain;
    mrxcl_residual_share share;
    mrxcl_read_callback read;
    mrxcl_write_callback write;
    mrxcl_progress_callback progress;
    void *user;
    float mix_gains[MRXCL_MAX_SOURCES];
    stream_slot slots[CHUNK_SLOTS];
    mrxcl_stream_stats stats;
    /* why a callback failed: the first failure's status and message (it may happen on
     * any of the pipeline's threads) */
    pthread_mutex_t lock;
    int status;
    char message[MRXCL_MSG_MAX];
} stream_job;

/* Keeps the first failure's status and the failing thread's message; returns -1 for
 * chunk_io. */
static int job_failed(stream_job *job, int status)
{
    pthread_mutex_lock(&job->lock);
    if (!job->status) {
        job->status = status;
        snprintf(job->message, sizeof job->message, "%s", mrxcl_thread_error());
    }
    pthread_mutex_unlock(&job->lock);
    return -1;
}

static int job_read(void *user, float *const *channel, size_t frames)
{
    stream_job *job = user;
    double t0 = mrxcl_clock();
    int rc = job->read(job->user, channel, frames);
    job->stats.read_seconds += mrxcl_clock() - t0;
    if (rc != 0)
        return job_failed(job, mrxcl_fail(MRXCL_ERR_CALLBACK, "the read callback failed"));
    return 0;
}

static void slot_free(stream_job *job, stream_slot *sl)
{
    chunk_rows_free(sl->scaled, job->rows);
    chunk_rows_free(sl->net_in, job->rows);
    chunk_rows_free(sl->net_out, job->n_sources * job->rows);
    free(sl->in_rows);
    memset(sl, 0, sizeof *sl);
}

static int slot_make(stream_job *job, stream_slot *sl)
{
    if (sl->in_rows)
        return MRXCL_OK;
    sl->in_rows = malloc((size_t)job->rows * sizeof *sl->in_rows);
    if (job->gain != 1.0f)
        sl->scaled = chunk_rows_new(job->rows, job->piece);
    if (job->resample) {
        sl->net_in = chunk_rows_new(job->rows, job->cap);
        sl->net_out = chunk_rows_new(job->n_sources * job->rows, job->cap);
    }
    if (!sl->in_rows || (job->gain != 1.0f && !sl->scaled) ||
        (job->resample && (!sl->net_in || !sl->net_out))) {
        slot_free(job, sl);
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for a batch of %d rows of %zu "
                          "frames", job->rows, job->piece);
    }
    return MRXCL_OK;
}

/* The input as the network takes it: times the gain (the input itself stays as read: a
 * remix adds the stems to it), at the model's rate. */
static int job_prepare(void *user, int slot, const float *const *in, int rows, size_t frames)
{
    stream_job *job = user;
    stream_slot *sl = &job->slots[slot];
    double t0 = mrxcl_clock();
    int rc = slot_make(job, sl);
    if (rc)
        return job_failed(job, rc);
    const float *const *x = in;
    if (job->gain != 1.0f) {
        for (int r = 0; r < rows; r++)
            for (size_t i = 0; i < frames; i++)
                sl->scaled[r][i] = in[r][i] * job->gain;
        x = (const float *const *)sl->scaled;
    }
    sl->len = frames;
    if (job->resample) {
        const double to = job->ctx->info.sample_rate;
        rc = mrxcl_resample_rows(x, rows, frames, job->sample_rate, to, sl->net_in, job->cap, 0,
                                 &sl->len);
        if (!rc && sl->len == 0)
            rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "%zu samples at %d Hz resample to nothing at %d Hz",
                            frames, job->sample_rate, job->ctx->info.sample_rate);
        x = (const float *const *)sl->net_in;
    }
    for (int r = 0; r < rows; r++)
        sl->in_rows[r] = x[r];
    job->stats.prepare_seconds += mrxcl_clock() - t0;
    return rc ? job_failed(job, rc) : 0;
}

static int job_separate(void *user, int slot, const float *const *in, int rows, size_t frames,
                        float *const *out)
{
    stream_job *job = user;
    stream_slot *sl = &job->slots[slot];
    double t0 = mrxcl_clock();
    int rc = mrxcl_forward(job->ctx, sl->in_rows, rows, sl->len, job->resample ? sl->net_out : out);
    job->stats.device_seconds += mrxcl_clock() - t0;
    (void)in;
    (void)frames;
    return rc ? job_failed(job, rc) : 0;
}

/* The stems at the input's rate, the residual shared, the gain undone, and checked. */
static int job_finish(void *user, int slot, const float *const *in, int rows, size_t frames,
                      float *const *out)
{
    stream_job *job = user;
    stream_slot *sl = &job->slots[slot];
    const int n = job->n_sources * rows;
    double t0 = mrxcl_clock();
    if (job->resample) {
        int rc = mrxcl_resample_rows((const float *const *)sl->net_out, n, sl->len,
                                     job->ctx->info.sample_rate, job->sample_rate, out, 0, frames,
                                     NULL);
        if (rc)
            return job_failed(job, rc);
    }
    mrxcl_consistency_share(&job->share, job->gain != 1.0f ? (const float *const *)sl->scaled : in,
                            rows, frames, out);
    size_t nonfinite = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < frames; k++) {
            if (job->gain != 1.0f)
                out[i][k] /= job->gain;
            nonfinite += !isfinite(out[i][k]);
        }
    job->stats.finish_seconds += mrxcl_clock() - t0;
    if (nonfinite)
        return job_failed(job, mrxcl_fail(MRXCL_ERR_NONFINITE, "the network gave %zu non-finite "
                                          "samples in a batch of %zu frames x %d rows", nonfinite,
                                          frames, rows));
    return 0;
}

static int job_write(void *user, int source, const float *const *channel, size_t frames)
{
    stream_job *job = user;
    if (source == CHUNK_REMIX)
        source = MRXCL_SOURCE_REMIX;
    double t0 = mrxcl_clock();
    int rc = job->write(job->user, source, channel, frames);
    job->stats.write_seconds += mrxcl_clock() - t0;
    if (rc != 0)
        return job_failed(job, mrxcl_fail(MRXCL_ERR_CALLBACK, "the write callback failed (%s %d)",
                                          source == MRXCL_SOURCE_REMIX ? "remix" : "source",
                                          source));
    return 0;
}

static void job_progress(void *user, size_t k, const chunk_plan *plan)
{
    stream_job *job = user;
    if (job->progress)
        job->progress(job->user, chunk_end(plan, k), plan->frames);
}

static size_t mib(size_t bytes)
{
    return (bytes + (1u << 20) - 1) >> 20;
}

/* The batch: p->batch if it fits, else on a GPU as many pieces as fill its compute
 * units (4 LSTM sequences per unit: each is one work-group, and a unit runs several at
 * once), on a CPU one; at most what fits the memory. */
static int choose_batch(mrxcl_context *ctx, const mrxcl_stream_params *p, const chunk_plan *plan,
                        int channels, int sample_rate, size_t cap, size_t *batch)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t per_rows = (size_t)channels * (1 + cap / (size_t)in->hop);
    size_t per_samples = (size_t)channels * cap;
    size_t budget = p->max_memory;
    if (!budget) {
        size_t global = ctx->cl.desc.global_memory;
        size_t usable = global / 4 * 3;
        budget = usable > ctx->weights_bytes ? usable - ctx->weights_bytes : 0;
    }
    size_t fit = 0, largest = 0, one = mrxcl_acts_bytes(in, per_rows, per_samples, &largest);
    /* activations grow linearly in the batch: the largest K within the budget and the
     * device's largest allocation */
    fit = one ? budget / one : 0;
    if (largest && ctx->cl.max_alloc && fit > ctx->cl.max_alloc / largest)
        fit = ctx->cl.max_alloc / largest;
    /* mrxcl_forward's rows and samples are ints (per_samples >= channels: the batch's
     * rows fit too) */
    if (fit > 0x7fffffff / per_rows)
        fit = 0x7fffffff / per_rows;
    if (fit > 0x7fffffff / per_samples)
        fit = 0x7fffffff / per_samples;
    if (fit == 0)
        return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY, "one piece of %zu frames x %d channels needs "
                          "%zu MiB of device memory for activations, more than the %zu MiB "
                          "it may take on '%s'; use shorter pieces", plan->length, channels,
                          mib(one), mib(budget), ctx->cl.desc.name);
    if (p->batch > 0) {
        if ((size_t)p->batch > fit)
            return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY, "a batch of %d piece%s of %.1f s x %d "
                              "channels needs %zu MiB of device memory for activations; %zu "
                              "fit%s in %zu MiB ('%s')", p->batch, p->batch == 1 ? "" : "s",
                              (double)plan->length / sample_rate, channels,
                              mib(mrxcl_acts_bytes(in, per_rows * (size_t)p->batch,
                                                   per_samples * (size_t)p->batch, NULL)),
                              fit, fit == 1 ? "s" : "", mib(budget), ctx->cl.desc.name);
        *batch = (size_t)p->batch;
        return MRXCL_OK;
    }
    cl_uint units = 1;
    cl_device_type type = 0;
    clGetDeviceInfo(ctx->cl.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(ctx->cl.device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    size_t per_piece = (size_t)in->n_sources * 2 * (size_t)channels; /* LSTM sequences */
    size_t want = (4 * (size_t)units + per_piece - 1) / per_piece;
    /* A CPU device: one piece. Its stages already use every core on one piece, and a
     * larger batch's buffers outgrow the caches: on the 2-core EPYC of bench/README.md a
     * 30 s piece of 4 channels took 2.7x the time of one of 2 (decoders 6.2 s against
     * 2.8-3.1 s), though its recurrence ran in blocks 1.7x as fast per channel. */
    if (type & CL_DEVICE_TYPE_CPU)
        want = 1;
    *batch = want < fit ? want : fit; /* the caller holds it to the pieces there are */
    return MRXCL_OK;
}

int mrxcl_stream_stats_get(const mrxcl_context *ctx, mrxcl_stream_stats *stats)
{
    if (!ctx || !stats || !ctx->have_stream_stats)
        return MRXCL_ERR_INVALID_ARGUMENT;
    *stats = ctx->stream_stats;
    return MRXCL_OK;
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
    size_t batch = 1;
    int rc;
    double t_start = mrxcl_clock();
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
    if (p->batch < 0) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "batch %d: it must be 0 (chosen from the "
                        "device) or more", p->batch);
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
    job.resample = sample_rate != ctx->info.sample_rate;
    job.piece = plan.length;
    job.cap = job.resample ? mrxcl_resampled_cap(plan.length, sample_rate, ctx->info.sample_rate)
                           : plan.length;
    if ((rc = choose_batch(ctx, p, &plan, channels, sample_rate, job.cap, &batch)) != MRXCL_OK)
        goto out;
    if (batch > chunk_full_pieces(&plan))
        batch = chunk_full_pieces(&plan); /* a batch holds pieces of one length */
    if (pthread_mutex_init(&job.lock, NULL) != 0) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "cannot make a lock for the stream");
        goto out;
    }
    job.ctx = ctx;
    job.channels = channels;
    job.rows = (int)batch * channels;
    job.sample_rate = sample_rate;
    job.gain = p->input_gain;
    job.read = read;
    job.write = write;
    job.progress = progress;
    job.user = user_data;
    chunk_io io = {.read = job_read,
                   .prepare = job_prepare,
                   .separate = job_separate,
                   .finish = job_finish,
                   .write = job_write,
                   .piece_written = job_progress,
                   .user = &job,
                   .mix_gains = p->remix ? job.mix_gains : NULL,
                   .batch = batch,
                   .pipeline = p->pipeline};
    int chunked = chunked_separate(&plan, channels, job.n_sources, &io);
    for (int i = 0; i < CHUNK_SLOTS; i++)
        slot_free(&job, &job.slots[i]);
    pthread_mutex_destroy(&job.lock);
    job.stats.batch = (int)batch;
    job.stats.pieces = plan.count;
    job.stats.batches = chunk_batches(&plan, batch);
    job.stats.wall_seconds = mrxcl_clock() - t_start;
    job.stats.device_bytes = ctx->weights_bytes + mrxcl_acts_bytes(&ctx->info, ctx->a.rows, ctx->a.L_B, NULL);
    ctx->stream_stats = job.stats;
    ctx->have_stream_stats = 1;
    switch (chunked) {
    case CHUNK_OK:
        rc = MRXCL_OK;
        break;
    case CHUNK_ERR_OUT_OF_MEMORY:
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for batches of %zu pieces of %zu "
                        "frames x %d channels x %d sources", batch, plan.length, channels,
                        job.n_sources);
        break;
    default:
        rc = mrxcl_fail_recorded(job.status ? job.status : MRXCL_ERR_CALLBACK,
                                 job.status ? job.message : "a callback failed");
        break;
    }
out:
    return mrxcl_keep_error(ctx, rc);
}
