/* The STFT at every resolution and its inverse (docs/network.md steps 1, 7 and 8):
 * framing and overlap-add in our kernels, the transforms in clFFT with one batched plan
 * per resolution and direction, baked once per number of frame rows and reused. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "engine.h"

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

void mrxcl_fft_release(mrxcl_context *ctx)
{
    int r;
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

/* Frames with the window, transforms them into X[r] and takes the magnitudes into mag. */
int mrxcl_stft(mrxcl_context *ctx, int r, int B, int L, int T)
{
    int N = ctx->info.window_lengths[r], hop = ctx->info.hop, F = N / 2 + 1, rows = B * T;
    const mrxcl_arg frame[] = {ARG(ctx->a.x), ARG(ctx->a.frames), ARG(ctx->window[r]),
                               ARG(L), ARG(T), ARG(N), ARG(hop)};
    const mrxcl_arg magnitude[] = {ARG(ctx->a.X[r]), ARG(ctx->a.mag), ARG(F), ARG(rows)};
    clfftStatus st;
    int rc;

    if ((rc = mrxcl_run(ctx, K_FRAME, frame, N_ARGS(frame), (size_t)N, (size_t)rows)))
        return rc;
    st = clfftEnqueueTransform(ctx->fft_fwd[r], CLFFT_FORWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                               &ctx->a.frames, &ctx->a.X[r], NULL);
    if (st != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "forward transform", N);
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
    clfftStatus st;

    st = clfftEnqueueTransform(ctx->fft_inv[r], CLFFT_BACKWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                               &ctx->a.spec, &ctx->a.frames, NULL);
    if (st != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "inverse transform", N);
    return mrxcl_run(ctx, K_OVERLAP_ADD, overlap_add, N_ARGS(overlap_add), (size_t)L, (size_t)B);
}
