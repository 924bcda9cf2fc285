/* The forward pass on the device, from the uploaded samples to the stems: STFTs,
 * encoders, BiLSTM branches, decoders, masks and inverse STFTs. Nothing returns to
 * the host between the upload and the final read. */
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

int mrxcl_cl_check(mrxcl_context *ctx, cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return MRXCL_OK;
    ctx->last_cl_error = err;
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES)
        return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY, "%s on '%s': %s (%d)", what, ctx->cl.desc.name,
                          mrxcl_cl_strerror(err), err);
    return mrxcl_fail(MRXCL_ERR_OPENCL, "%s on '%s': %s (%d)", what, ctx->cl.desc.name,
                      mrxcl_cl_strerror(err), err);
}

/* 2-D launch over [g0 x g1]; every kernel checks its own bounds, so the first
 * dimension is rounded up to the work-group size. */
int mrxcl_launch(mrxcl_context *ctx, int kernel, size_t g0, size_t g1, const char *what)
{
    size_t local[2] = {64, 1}, global[2];
    cl_int err;
    if (local[0] > ctx->cl.max_wg)
        local[0] = ctx->cl.max_wg;
    global[0] = (g0 + local[0] - 1) / local[0] * local[0];
    global[1] = g1;
    if (g0 == 0 || g1 == 0)
        return MRXCL_OK;
    err = clEnqueueNDRangeKernel(ctx->cl.queue, ctx->k[kernel], 2, NULL, global, local, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        return MRXCL_OK;
    {
        char msg[128];
        snprintf(msg, sizeof msg, "launching %s", what);
        return mrxcl_cl_check(ctx, err, msg);
    }
}

/* C[M][N] = A[M][K] * B[N][K]^T, all row-major with leading dimensions and offsets. */
int mrxcl_gemm_nt(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                  size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off, size_t ldc,
                  const char *what)
{
    CLBlastStatusCode st =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, M, N, K, 1.0f, A,
                     a_off, lda, Bm, b_off, ldb, 0.0f, C, c_off, ldc, &ctx->cl.queue, NULL);
    if (st == CLBlastSuccess)
        return MRXCL_OK;
    ctx->last_cl_error = (int)st;
    if (st == CLBlastOpenCLOutOfResources ||
        st == CLBlastTempBufferAllocFailure)
        return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY, "CLBlast GEMM (%s, %zux%zux%zu) ran out of device memory (%d)",
                          what, M, N, K, (int)st);
    return mrxcl_fail(MRXCL_ERR_BLAS, "CLBlast GEMM (%s, %zux%zux%zu) failed with status %d", what, M,
                      N, K, (int)st);
}

void mrxcl_acts_release(mrxcl_acts *a, int R)
{
    cl_mem *all[] = {&a->x, &a->out, &a->frames, &a->mag, &a->spec, &a->E,
                     &a->D, &a->gx, &a->y[0], &a->y[1], &a->Z};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i]) {
            clReleaseMemObject(*all[i]);
            *all[i] = NULL;
        }
    for (i = 0; i < (size_t)R; i++)
        if (a->X[i]) {
            clReleaseMemObject(a->X[i]);
            a->X[i] = NULL;
        }
    a->rows = a->L_B = 0;
}

static int alloc(mrxcl_context *ctx, cl_mem *m, size_t floats, const char *what)
{
    cl_int err;
    char msg[160];
    size_t bytes = (floats ? floats : 1) * sizeof(float);
    if (ctx->cl.max_alloc && bytes > ctx->cl.max_alloc)
        return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY,
                          "the input needs %zu MB for %s, more than the %llu MB '%s' allocates at "
                          "once; separate it in shorter pieces",
                          bytes >> 20, what, (unsigned long long)(ctx->cl.max_alloc >> 20),
                          ctx->cl.desc.name);
    *m = clCreateBuffer(ctx->cl.context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (*m)
        return MRXCL_OK;
    snprintf(msg, sizeof msg, "allocating %zu MB for %s", floats * sizeof(float) >> 20, what);
    return mrxcl_cl_check(ctx, err ? err : CL_MEM_OBJECT_ALLOCATION_FAILURE, msg);
}

int mrxcl_acts_ensure(mrxcl_context *ctx, size_t rows, size_t L_B)
{
    const mrxcl_model_info *in = &ctx->info;
    mrxcl_acts *a = &ctx->a;
    size_t S = (size_t)in->n_sources, R = (size_t)in->n_resolutions, hid = (size_t)in->hidden;
    size_t Nmax = 0, Fmax, r;
    int rc;

    if (rows <= a->rows && L_B <= a->L_B)
        return MRXCL_OK;
    if (rows < a->rows)
        rows = a->rows;
    if (L_B < a->L_B)
        L_B = a->L_B;
    mrxcl_acts_release(a, in->n_resolutions);
    for (r = 0; r < R; r++)
        if ((size_t)in->window_lengths[r] > Nmax)
            Nmax = (size_t)in->window_lengths[r];
    Fmax = Nmax / 2 + 1;
    if ((rc = alloc(ctx, &a->x, L_B, "the input")) ||
        (rc = alloc(ctx, &a->out, S * L_B, "the stems")) ||
        (rc = alloc(ctx, &a->frames, rows * Nmax, "STFT frames")) ||
        (rc = alloc(ctx, &a->mag, rows * Fmax, "magnitudes")) ||
        (rc = alloc(ctx, &a->spec, rows * Fmax * 2, "masked spectra")) ||
        (rc = alloc(ctx, &a->E, R * rows * hid, "encoder outputs")) ||
        (rc = alloc(ctx, &a->D, rows * 2 * hid, "cross averages")) ||
        (rc = alloc(ctx, &a->gx, S * rows * 4 * hid, "LSTM input projections")) ||
        (rc = alloc(ctx, &a->y[0], S * rows * hid, "LSTM outputs")) ||
        (rc = alloc(ctx, &a->y[1], S * rows * hid, "LSTM outputs")) ||
        (rc = alloc(ctx, &a->Z, rows * S * R * hid, "decoder activations"))) {
        mrxcl_acts_release(a, in->n_resolutions);
        return rc;
    }
    for (r = 0; r < R; r++)
        if ((rc = alloc(ctx, &a->X[r], rows * ((size_t)in->window_lengths[r] / 2 + 1) * 2, "spectra"))) {
            mrxcl_acts_release(a, in->n_resolutions);
            return rc;
        }
    a->rows = rows;
    a->L_B = L_B;
    return MRXCL_OK;
}

static int encoders(mrxcl_context *ctx, int B, int L, int T)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t rows = (size_t)B * T, hid = (size_t)in->hidden;
    int r, rc, irows = (int)rows, ihid = in->hidden, R = in->n_resolutions;
    cl_kernel k = ctx->k[K_ENCODER_COMBINE];
    cl_int err;

    for (r = 0; r < R; r++) {
        size_t F = (size_t)in->window_lengths[r] / 2 + 1;
        if ((rc = mrxcl_stft(ctx, r, B, L, T)) ||
            (rc = mrxcl_gemm_nt(ctx, rows, hid, F, ctx->a.mag, 0, F, ctx->enc_w[r], 0, F, ctx->a.E,
                                (size_t)r * rows * hid, hid, "encoder")))
            return rc;
    }
    err = KARG(k, 0, ctx->a.E);
    err |= KARG(k, 1, ctx->enc_b);
    err |= KARG(k, 2, ctx->a.D);
    err |= KARG(k, 3, irows);
    err |= KARG(k, 4, ihid);
    err |= KARG(k, 5, R);
    if ((rc = mrxcl_cl_check(ctx, err, "setting encoder_combine arguments")))
        return rc;
    return mrxcl_launch(ctx, K_ENCODER_COMBINE, hid, rows, "encoder_combine");
}

static int decoders(mrxcl_context *ctx, int B, int L, int T)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t rows = (size_t)B * T, hid = (size_t)in->hidden;
    size_t SRh = (size_t)in->n_sources * in->n_resolutions * hid;
    int s, r, rc, irows = (int)rows, icols = (int)SRh;
    cl_kernel k = ctx->k[K_BIAS_RELU];
    cl_int err;

    /* First layers of every (source, resolution) decoder in one GEMM. */
    if ((rc = mrxcl_gemm_nt(ctx, rows, SRh, 2 * hid, ctx->a.D, 0, 2 * hid, ctx->dec1_w, 0, 2 * hid,
                            ctx->a.Z, 0, SRh, "decoder layer 1")))
        return rc;
    err = KARG(k, 0, ctx->a.Z);
    err |= KARG(k, 1, ctx->dec1_b);
    err |= KARG(k, 2, irows);
    err |= KARG(k, 3, icols);
    if ((rc = mrxcl_cl_check(ctx, err, "setting bias_relu arguments")) ||
        (rc = mrxcl_launch(ctx, K_BIAS_RELU, SRh, rows, "bias_relu")))
        return rc;

    for (s = 0; s < in->n_sources; s++)
        for (r = 0; r < in->n_resolutions; r++) {
            size_t F = (size_t)in->window_lengths[r] / 2 + 1;
            size_t sr = (size_t)s * in->n_resolutions + r;
            if ((rc = mrxcl_gemm_nt(ctx, rows, F, hid, ctx->a.Z, sr * hid, SRh, ctx->dec2_w[sr], 0, hid,
                                    ctx->a.mag, 0, F, "decoder layer 2")) ||
                (rc = mrxcl_istft_add(ctx, s, r, B, L, T)))
                return rc;
        }
    return MRXCL_OK;
}

/* MRXCL_PROFILE=1 logs stage times at INFO level. Each mark waits for the device, so
 * profiling slows the whole pass down a little. */
double mrxcl_profile_clock(mrxcl_context *ctx)
{
    struct timespec ts;
    if (!ctx->profile)
        return 0;
    clFinish(ctx->cl.queue);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double stage_mark(mrxcl_context *ctx, double t0, const char *stage)
{
    double t = mrxcl_profile_clock(ctx);
    if (ctx->profile && stage)
        mrxcl_log(MRXCL_LOG_INFO, "profile: %-9s %8.2f ms", stage, (t - t0) * 1e3);
    return t;
}

int mrxcl_forward(mrxcl_context *ctx, const float *const *x, int B, size_t L, float *const *out)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t T = 1 + L / (size_t)in->hop, rows = (size_t)B * T, b, s;
    int rc = MRXCL_OK;
    cl_int err;
    double t;

    if (L > 0x7fffffff / (size_t)(B > 0 ? B : 1) || rows > 0x7fffffff)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "input of %zu samples x %d channels is too long for one pass",
                          L, B);
    if ((rc = mrxcl_acts_ensure(ctx, rows, (size_t)B * L)) || (rc = mrxcl_fft_plans(ctx, rows)))
        return rc;
    for (b = 0; b < (size_t)B && !rc; b++) {
        err = clEnqueueWriteBuffer(ctx->cl.queue, ctx->a.x, CL_FALSE, b * L * sizeof(float),
                                   L * sizeof(float), x[b], 0, NULL, NULL);
        rc = mrxcl_cl_check(ctx, err, "uploading audio");
    }
    t = stage_mark(ctx, 0, NULL);
    if (!rc && !(rc = encoders(ctx, B, (int)L, (int)T))) {
        t = stage_mark(ctx, t, "encoders");
        if (!(rc = mrxcl_bilstm(ctx, rows, B, (int)T))) {
            t = stage_mark(ctx, t, "bilstm");
            rc = decoders(ctx, B, (int)L, (int)T);
            stage_mark(ctx, t, "decoders");
        }
    }
    for (s = 0; s < (size_t)in->n_sources && !rc; s++)
        for (b = 0; b < (size_t)B && !rc; b++) {
            err = clEnqueueReadBuffer(ctx->cl.queue, ctx->a.out, CL_FALSE,
                                      (s * B + b) * L * sizeof(float), L * sizeof(float),
                                      out[s * B + b], 0, NULL, NULL);
            rc = mrxcl_cl_check(ctx, err, "reading the stems");
        }
    /* Also on failure: no transfer into the caller's buffers may outlive this call. */
    err = clFinish(ctx->cl.queue);
    return rc ? rc : mrxcl_cl_check(ctx, err, "finishing the forward pass");
}
