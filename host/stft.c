/* The STFT at every resolution and its inverse (docs/network.md steps 1, 7 and 8):
 * framing and overlap-add in our kernels, the real transforms of the frame rows either in
 * clFFT (one batched plan per resolution and direction, baked once per number of frame
 * rows and reused) or, on CPU devices whose buffers are host memory, in KissFFT on the
 * mapped buffers with a thread per processor: clFFT's generated kernels run slowly on PoCL.
 * Both scale by 1/sqrt(N) each way (the "normalized" STFT) and give the same layouts:
 * frames [rows][N] real, spectra [rows][N/2+1] complex interleaved. */
#include <kiss_fftr.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define MAX_FFT_THREADS 64

/* clFFT keeps process-wide state between clfftSetup and clfftTeardown: count users. */
static pthread_mutex_t g_fft_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fft_users;

int mrxcl_fft_setup(void)
{
    int rc = MRXCL_OK;
    pthread_mutex_lock(&g_fft_lock);
    if (g_fft_users == 0) {
        /* What clfftInitSetupData() does; that one is a C99 inline function in clFFT.h
         * with no external definition, so unoptimised builds fail to link it. */
        clfftSetupData setup;
        clfftStatus st;
        memset(&setup, 0, sizeof setup);
        setup.major = clfftVersionMajor;
        setup.minor = clfftVersionMinor;
        setup.patch = clfftVersionPatch;
        st = clfftSetup(&setup);
        if (st != CLFFT_SUCCESS)
            rc = mrxcl_fail(MRXCL_ERR_FFT, "clfftSetup failed (%d)", (int)st);
    }
    if (!rc)
        g_fft_users++;
    pthread_mutex_unlock(&g_fft_lock);
    return rc;
}

void mrxcl_fft_teardown(void)
{
    pthread_mutex_lock(&g_fft_lock);
    if (g_fft_users > 0 && --g_fft_users == 0)
        clfftTeardown();
    pthread_mutex_unlock(&g_fft_lock);
}

/* The host path needs a CPU device whose buffers are host memory (mapping them is then
 * free on PoCL); elsewhere mapping would copy every spectrum across the bus. */
int mrxcl_fft_choose(mrxcl_context *ctx)
{
    int want = mrxcl_host_path(ctx, "MRXCL_FFT", "clfft", "FFTs", 1), n = mrxcl_processors();

    ctx->fft_host = want;
    ctx->fft_threads = n > MAX_FFT_THREADS ? MAX_FFT_THREADS : n;
    if (want)
        mrxcl_log(MRXCL_LOG_DEBUG, "FFT path: host KissFFT on mapped buffers of '%s', %d threads",
                  ctx->cl.desc.name, ctx->fft_threads);
    else
        mrxcl_log(MRXCL_LOG_DEBUG, "FFT path: clFFT on '%s'", ctx->cl.desc.name);
    return MRXCL_OK;
}

static void kiss_release(mrxcl_context *ctx)
{
    int i, n = ctx->fft_threads * ctx->info.n_resolutions * 2;
    if (!ctx->fft_kiss)
        return;
    for (i = 0; i < n; i++)
        kiss_fftr_free(ctx->fft_kiss[i]);
    free(ctx->fft_kiss);
    ctx->fft_kiss = NULL;
}

/* KissFFT keeps scratch space in its state: one state per thread, resolution and
 * direction. They do not depend on the number of rows. */
static int kiss_plans(mrxcl_context *ctx)
{
    int R = ctx->info.n_resolutions, n = ctx->fft_threads * R * 2, i;
    if (ctx->fft_kiss)
        return MRXCL_OK;
    if (!(ctx->fft_kiss = calloc((size_t)n, sizeof *ctx->fft_kiss)))
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for the FFT states");
    for (i = 0; i < n; i++)
        if (!(ctx->fft_kiss[i] = kiss_fftr_alloc(ctx->info.window_lengths[(i / 2) % R], i % 2, NULL, NULL))) {
            kiss_release(ctx);
            return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory for the FFT states");
        }
    return MRXCL_OK;
}

void mrxcl_fft_release(mrxcl_context *ctx)
{
    int r;
    kiss_release(ctx);
    if (!ctx->fft_ready)
        return;
    for (r = 0; r < ctx->info.n_resolutions; r++) {
        if (ctx->fft_fwd[r])
            clfftDestroyPlan(&ctx->fft_fwd[r]);
        if (ctx->fft_inv[r])
            clfftDestroyPlan(&ctx->fft_inv[r]);
        ctx->fft_fwd[r] = ctx->fft_inv[r] = 0;
    }
    ctx->fft_ready = 0;
    ctx->fft_rows = 0;
}

static int fft_fail(mrxcl_context *ctx, clfftStatus st, const char *what, int N)
{
    ctx->last_cl_error = (int)st;
    return mrxcl_fail(MRXCL_ERR_FFT, "clFFT %s for window %d failed (status %d)", what, N, (int)st);
}

static int make_plan(mrxcl_context *ctx, clfftPlanHandle *plan, int N, size_t rows, int forward)
{
    size_t len[1] = {(size_t)N}, stride[1] = {1};
    size_t F = (size_t)N / 2 + 1;
    clfftStatus st;
    /* Forward scale 1/sqrt(N) is the "normalized" STFT. The inverse is irfft (1/N)
     * times sqrt(N): 1/sqrt(N) as well. */
    float scale = (float)(1.0 / sqrt((double)N));

    if ((st = clfftCreateDefaultPlan(plan, ctx->cl.context, CLFFT_1D, len)) != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "plan creation", N);
    if ((st = clfftSetPlanPrecision(*plan, CLFFT_SINGLE)) ||
        (st = clfftSetLayout(*plan, forward ? CLFFT_REAL : CLFFT_HERMITIAN_INTERLEAVED,
                             forward ? CLFFT_HERMITIAN_INTERLEAVED : CLFFT_REAL)) ||
        (st = clfftSetResultLocation(*plan, CLFFT_OUTOFPLACE)) ||
        (st = clfftSetPlanBatchSize(*plan, rows)) ||
        (st = clfftSetPlanInStride(*plan, CLFFT_1D, stride)) ||
        (st = clfftSetPlanOutStride(*plan, CLFFT_1D, stride)) ||
        (st = clfftSetPlanDistance(*plan, forward ? (size_t)N : F, forward ? F : (size_t)N)) ||
        (st = clfftSetPlanScale(*plan, forward ? CLFFT_FORWARD : CLFFT_BACKWARD, scale)))
        return fft_fail(ctx, st, "plan setup", N);
    if ((st = clfftBakePlan(*plan, 1, &ctx->cl.queue, NULL, NULL)) != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "plan baking", N);
    return MRXCL_OK;
}

int mrxcl_fft_plans(mrxcl_context *ctx, size_t rows)
{
    int r, rc;
    double t0;
    if (ctx->fft_host)
        return kiss_plans(ctx);
    if (ctx->fft_ready && ctx->fft_rows == rows)
        return MRXCL_OK;
    t0 = mrxcl_clock(); /* baking compiles clFFT's kernels: build time */
    mrxcl_fft_release(ctx);
    ctx->fft_ready = 1; /* so that a failure half way releases what was made */
    for (r = 0; r < ctx->info.n_resolutions; r++) {
        int N = ctx->info.window_lengths[r];
        if ((rc = make_plan(ctx, &ctx->fft_fwd[r], N, rows, 1)) ||
            (rc = make_plan(ctx, &ctx->fft_inv[r], N, rows, 0))) {
            mrxcl_fft_release(ctx);
            return rc;
        }
    }
    ctx->fft_rows = rows;
    ctx->build_seconds += mrxcl_clock() - t0;
    mrxcl_log(MRXCL_LOG_DEBUG, "clFFT plans baked for %zu frame rows", rows);
    return MRXCL_OK;
}

/* ---- the host path ---------------------------------------------------------------- */

typedef struct fft_job {
    struct kiss_fftr_state *cfg;
    const float *in;
    float *out;
    size_t row0, row1;
    int N, forward;
} fft_job;

/* Rows row0..row1-1: forward, frames [N] to spectra [F] complex; inverse, the other way;
 * both scaled by 1/sqrt(N) as clFFT's plans are. */
static void *fft_job_run(void *arg)
{
    const fft_job *j = arg;
    size_t N = (size_t)j->N, F2 = 2 * (N / 2 + 1), row, i;
    float scale = (float)(1.0 / sqrt((double)N));
    for (row = j->row0; row < j->row1; row++) {
        float *o;
        size_t n;
        if (j->forward) {
            o = j->out + row * F2;
            n = F2;
            kiss_fftr(j->cfg, j->in + row * N, (kiss_fft_cpx *)o);
        } else {
            o = j->out + row * N;
            n = N;
            kiss_fftri(j->cfg, (const kiss_fft_cpx *)(j->in + row * F2), o);
        }
        for (i = 0; i < n; i++)
            o[i] *= scale;
    }
    return NULL;
}

/* Maps in (read) and out (write, its old contents dropped), blocking, so that every command
 * before has finished (zero-copy on PoCL), transforms the rows in chunks, one per thread,
 * and puts the unmaps on the queue before the next kernel. */
static int fft_host(mrxcl_context *ctx, int r, int forward, cl_mem in, cl_mem out, size_t rows)
{
    cl_command_queue q = ctx->cl.queue;
    int N = ctx->info.window_lengths[r];
    size_t F2 = 2 * ((size_t)N / 2 + 1), real = rows * (size_t)N * sizeof(float);
    size_t cplx = rows * F2 * sizeof(float), per, row;
    cl_int err = CL_SUCCESS, e2;
    float *src = NULL, *dst = NULL;
    fft_job jobs[MAX_FFT_THREADS];
    pthread_t tid[MAX_FFT_THREADS];
    int started[MAX_FFT_THREADS], n_jobs, k, rc = MRXCL_OK;

    if (rows == 0)
        return MRXCL_OK;
    src = clEnqueueMapBuffer(q, in, CL_TRUE, CL_MAP_READ, 0, forward ? real : cplx, 0, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        dst = clEnqueueMapBuffer(q, out, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, forward ? cplx : real, 0,
                                 NULL, NULL, &err);
    if (err == CL_SUCCESS) {
        /* at least 16 rows a thread: below that the thread costs more than the rows */
        n_jobs = ctx->fft_threads;
        if ((size_t)n_jobs > (rows + 15) / 16)
            n_jobs = (int)((rows + 15) / 16);
        per = (rows + (size_t)n_jobs - 1) / (size_t)n_jobs;
        for (k = 0, row = 0; k < n_jobs; k++, row += per) {
            fft_job *j = &jobs[k];
            j->cfg = ctx->fft_kiss[((size_t)k * ctx->info.n_resolutions + r) * 2 + !forward];
            j->in = src;
            j->out = dst;
            j->row0 = row;
            j->row1 = row + per < rows ? row + per : rows;
            j->N = N;
            j->forward = forward;
            /* the last chunk runs here; a thread that cannot start runs here too */
            started[k] = k + 1 < n_jobs && pthread_create(&tid[k], NULL, fft_job_run, &jobs[k]) == 0;
            if (!started[k] && k + 1 < n_jobs)
                fft_job_run(&jobs[k]);
        }
        fft_job_run(&jobs[n_jobs - 1]);
        for (k = 0; k + 1 < n_jobs; k++)
            if (started[k])
                pthread_join(tid[k], NULL);
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "mapping the buffers of the host FFT (window %d, %zu rows)", N, rows);
        rc = mrxcl_cl_check(ctx, err, msg);
    }
    if (dst && (e2 = clEnqueueUnmapMemObject(q, out, dst, 0, NULL, NULL)) != CL_SUCCESS && rc == MRXCL_OK)
        rc = mrxcl_cl_check(ctx, e2, "unmapping the host FFT's output");
    if (src && (e2 = clEnqueueUnmapMemObject(q, in, src, 0, NULL, NULL)) != CL_SUCCESS && rc == MRXCL_OK)
        rc = mrxcl_cl_check(ctx, e2, "unmapping the host FFT's input");
    return rc;
}

/* Resolution r's transforms of rows frame rows, forward (frames into X[r]) or inverse
 * (spec into frames), on the context's path. */
static int transform(mrxcl_context *ctx, int r, int forward, size_t rows)
{
    double t0 = mrxcl_profile_clock(ctx);
    int rc = MRXCL_OK;
    if (ctx->fft_host) {
        rc = forward ? fft_host(ctx, r, 1, ctx->a.frames, ctx->a.X[r], rows)
                     : fft_host(ctx, r, 0, ctx->a.spec, ctx->a.frames, rows);
    } else {
        clfftStatus st =
            forward ? clfftEnqueueTransform(ctx->fft_fwd[r], CLFFT_FORWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                                            &ctx->a.frames, &ctx->a.X[r], NULL)
                    : clfftEnqueueTransform(ctx->fft_inv[r], CLFFT_BACKWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                                            &ctx->a.spec, &ctx->a.frames, NULL);
        if (st != CLFFT_SUCCESS)
            rc = fft_fail(ctx, st, forward ? "forward transform" : "inverse transform",
                          ctx->info.window_lengths[r]);
    }
    if (ctx->profile && rc == MRXCL_OK) {
        ctx->fft_prof[!forward] += mrxcl_profile_clock(ctx) - t0;
        ctx->fft_prof_calls[!forward]++;
    }
    return rc;
}

void mrxcl_fft_profile_report(mrxcl_context *ctx)
{
    static const char *const dir[2] = {"forward", "inverse"};
    int i;
    for (i = 0; i < 2; i++)
        if (ctx->fft_prof_calls[i])
            mrxcl_log(MRXCL_LOG_INFO, "profile: FFT %-21s %2d calls %8.2f ms (%s)", dir[i], ctx->fft_prof_calls[i],
                      ctx->fft_prof[i] * 1e3, ctx->fft_host ? "host KissFFT" : "clFFT");
    memset(ctx->fft_prof, 0, sizeof ctx->fft_prof);
    memset(ctx->fft_prof_calls, 0, sizeof ctx->fft_prof_calls);
}

/* Frames with the window, transforms them into X[r] and takes the magnitudes into mag. */
int mrxcl_stft(mrxcl_context *ctx, int r, int B, int L, int T)
{
    int N = ctx->info.window_lengths[r], hop = ctx->info.hop, F = N / 2 + 1, rows = B * T;
    const mrxcl_arg frame[] = {ARG(ctx->a.x), ARG(ctx->a.frames), ARG(ctx->window[r]),
                               ARG(L), ARG(T), ARG(N), ARG(hop)};
    const mrxcl_arg magnitude[] = {ARG(ctx->a.X[r]), ARG(ctx->a.mag), ARG(F), ARG(rows)};
    int rc;

    if ((rc = mrxcl_run(ctx, K_FRAME, frame, N_ARGS(frame), (size_t)N, (size_t)rows)) ||
        (rc = transform(ctx, r, 1, (size_t)rows)))
        return rc;
    return mrxcl_run(ctx, K_MAGNITUDE, magnitude, N_ARGS(magnitude), (size_t)F, (size_t)rows);
}

/* Transforms spec back into frames, then overlap-adds them with the window into source s's
 * stems, which start at out[s*B*L]. */
int mrxcl_istft_add(mrxcl_context *ctx, int s, int r, int B, int L, int T)
{
    int N = ctx->info.window_lengths[r], hop = ctx->info.hop, accumulate = r > 0;
    cl_ulong base = (cl_ulong)s * (cl_ulong)B * (cl_ulong)L;
    const mrxcl_arg overlap_add[] = {ARG(ctx->a.frames), ARG(ctx->window[r]), ARG(ctx->a.out),
                                     ARG(L), ARG(T), ARG(N), ARG(hop), ARG(accumulate), ARG(base)};
    int rc;

    if ((rc = transform(ctx, r, 0, (size_t)B * (size_t)T)))
        return rc;
    return mrxcl_run(ctx, K_OVERLAP_ADD, overlap_add, N_ARGS(overlap_add), (size_t)L, (size_t)B);
}
