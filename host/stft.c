/* The three STFT resolutions and their inverses: framing and overlap-add in our
 * kernels, the transforms in clFFT with one batched plan per resolution and
 * direction, baked once per number of frame rows and reused. */
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
    if (ctx->fft_ready && ctx->fft_rows == rows)
        return MRXCL_OK;
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
    mrxcl_log(MRXCL_LOG_DEBUG, "clFFT plans baked for %zu frame rows", rows);
    return MRXCL_OK;
}

int mrxcl_stft(mrxcl_context *ctx, int r, int B, int L, int T)
{
    cl_kernel k = ctx->k[K_FRAME];
    int N = ctx->info.window_lengths[r], hop = ctx->info.hop, F = N / 2 + 1;
    int rows = B * T;
    cl_int err = 0;
    clfftStatus st;
    int rc;

    err |= KARG(k, 0, ctx->a.x);
    err |= KARG(k, 1, ctx->a.frames);
    err |= KARG(k, 2, ctx->window[r]);
    err |= KARG(k, 3, L);
    err |= KARG(k, 4, T);
    err |= KARG(k, 5, N);
    err |= KARG(k, 6, hop);
    if ((rc = mrxcl_cl_check(ctx, err, "setting stft_frame arguments")) ||
        (rc = mrxcl_launch(ctx, K_FRAME, (size_t)N, (size_t)rows, "stft_frame")))
        return rc;
    st = clfftEnqueueTransform(ctx->fft_fwd[r], CLFFT_FORWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                               &ctx->a.frames, &ctx->a.X[r], NULL);
    if (st != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "forward transform", N);

    k = ctx->k[K_MAGNITUDE];
    err = KARG(k, 0, ctx->a.X[r]);
    err |= KARG(k, 1, ctx->a.mag);
    err |= KARG(k, 2, F);
    err |= KARG(k, 3, rows);
    if ((rc = mrxcl_cl_check(ctx, err, "setting spectrum_magnitude arguments")))
        return rc;
    return mrxcl_launch(ctx, K_MAGNITUDE, (size_t)F, (size_t)rows, "spectrum_magnitude");
}

int mrxcl_istft_add(mrxcl_context *ctx, int s, int r, int B, int L, int T)
{
    const mrxcl_model_info *in = &ctx->info;
    int N = in->window_lengths[r], F = N / 2 + 1, hop = in->hop, rows = B * T;
    int accumulate = r > 0;
    cl_kernel k = ctx->k[K_APPLY_MASK];
    cl_mem dec_b = ctx->dec2_b[s * in->n_resolutions + r];
    /* source s's stems start at out[s*B*L] */
    cl_ulong base = (cl_ulong)s * (cl_ulong)B * (cl_ulong)L;
    cl_int err = 0;
    clfftStatus st;
    int rc;

    err |= KARG(k, 0, ctx->a.mag);
    err |= KARG(k, 1, dec_b);
    err |= KARG(k, 2, ctx->a.X[r]);
    err |= KARG(k, 3, ctx->a.spec);
    err |= KARG(k, 4, F);
    err |= KARG(k, 5, rows);
    if ((rc = mrxcl_cl_check(ctx, err, "setting apply_mask arguments")) ||
        (rc = mrxcl_launch(ctx, K_APPLY_MASK, (size_t)F, (size_t)rows, "apply_mask")))
        return rc;
    st = clfftEnqueueTransform(ctx->fft_inv[r], CLFFT_BACKWARD, 1, &ctx->cl.queue, 0, NULL, NULL,
                               &ctx->a.spec, &ctx->a.frames, NULL);
    if (st != CLFFT_SUCCESS)
        return fft_fail(ctx, st, "inverse transform", N);

    k = ctx->k[K_OVERLAP_ADD];
    err = KARG(k, 0, ctx->a.frames);
    err |= KARG(k, 1, ctx->window[r]);
    err |= KARG(k, 2, ctx->a.out);
    err |= KARG(k, 3, L);
    err |= KARG(k, 4, T);
    err |= KARG(k, 5, N);
    err |= KARG(k, 6, hop);
    err |= KARG(k, 7, accumulate);
    err |= KARG(k, 8, base);
    if ((rc = mrxcl_cl_check(ctx, err, "setting overlap_add arguments")))
        return rc;
    return mrxcl_launch(ctx, K_OVERLAP_ADD, (size_t)L, (size_t)B, "overlap_add");
}
