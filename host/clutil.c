/* OpenCL helpers shared by the stages (see clutil.h). */
#include <clblast_c.h>
#ifdef MRXCL_HAVE_HOST_BLAS
#include <cblas.h>
#endif
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine.h"

#define MRXCL_KERNEL_NAME(id, name) #name,
const char *const mrxcl_kernel_names[K_COUNT] = {MRXCL_KERNEL_LIST(MRXCL_KERNEL_NAME)};
#undef MRXCL_KERNEL_NAME

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

int mrxcl_set_args(mrxcl_context *ctx, int kernel, const mrxcl_arg *args, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        cl_int err = clSetKernelArg(ctx->k[kernel], (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char msg[128];
            snprintf(msg, sizeof msg, "setting argument %d of %s", i, mrxcl_kernel_names[kernel]);
            return mrxcl_cl_check(ctx, err, msg);
        }
    }
    return MRXCL_OK;
}

int mrxcl_launch(mrxcl_context *ctx, int kernel, size_t g0, size_t g1)
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
        snprintf(msg, sizeof msg, "launching %s", mrxcl_kernel_names[kernel]);
        return mrxcl_cl_check(ctx, err, msg);
    }
}

int mrxcl_run(mrxcl_context *ctx, int kernel, const mrxcl_arg *args, int n, size_t g0, size_t g1)
{
    int rc = mrxcl_set_args(ctx, kernel, args, n);
    return rc ? rc : mrxcl_launch(ctx, kernel, g0, g1);
}

#ifdef MRXCL_HAVE_HOST_BLAS
/* The host path: on a CPU device whose buffers are host memory, A, B and C are mapped
 * (blocking, so every command before has finished; zero-copy on PoCL) and OpenBLAS's
 * SGEMM runs on the pointers; the unmaps go back on the queue before the next kernel. */
static int gemm_host(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                     size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off, size_t ldc,
                     const char *what)
{
    cl_command_queue q = ctx->cl.queue;
    size_t fs = sizeof(float);
    /* C's rows leave gaps between them when ldc > N: those must survive the map. */
    cl_map_flags cflags = ldc == N ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ | CL_MAP_WRITE;
    cl_int err = CL_SUCCESS, e2;
    float *a = NULL, *b = NULL, *c = NULL;
    char msg[160];
    int rc = MRXCL_OK;

    if (M == 0 || N == 0)
        return MRXCL_OK;
    a = K ? clEnqueueMapBuffer(q, A, CL_TRUE, CL_MAP_READ, a_off * fs, ((M - 1) * lda + K) * fs, 0, NULL,
                               NULL, &err)
          : NULL;
    if (err == CL_SUCCESS && K)
        b = clEnqueueMapBuffer(q, Bm, CL_TRUE, CL_MAP_READ, b_off * fs, ((N - 1) * ldb + K) * fs, 0, NULL,
                               NULL, &err);
    if (err == CL_SUCCESS)
        c = clEnqueueMapBuffer(q, C, CL_TRUE, cflags, c_off * fs, ((M - 1) * ldc + N) * fs, 0, NULL, NULL,
                               &err);
    if (err == CL_SUCCESS) {
        if (K)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f, a,
                        (blasint)lda, b, (blasint)ldb, 0.0f, c, (blasint)ldc);
        else {
            size_t i;
            for (i = 0; i < M; i++)
                memset(c + i * ldc, 0, N * fs);
        }
    } else {
        snprintf(msg, sizeof msg, "mapping the buffers of host GEMM (%s, %zux%zux%zu)", what, M, N, K);
        rc = mrxcl_cl_check(ctx, err, msg);
    }
    /* Unmap what was mapped, whatever happened; the first failure is the one reported. */
    if (c && (e2 = clEnqueueUnmapMemObject(q, C, c, 0, NULL, NULL)) != CL_SUCCESS && rc == MRXCL_OK)
        rc = mrxcl_cl_check(ctx, e2, "unmapping host GEMM output");
    if (b && (e2 = clEnqueueUnmapMemObject(q, Bm, b, 0, NULL, NULL)) != CL_SUCCESS && rc == MRXCL_OK)
        rc = mrxcl_cl_check(ctx, e2, "unmapping host GEMM input");
    if (a && (e2 = clEnqueueUnmapMemObject(q, A, a, 0, NULL, NULL)) != CL_SUCCESS && rc == MRXCL_OK)
        rc = mrxcl_cl_check(ctx, e2, "unmapping host GEMM input");
    return rc;
}
#endif

static int gemm_clblast(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                        size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off,
                        size_t ldc, const char *what)
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

int mrxcl_gemm_nt(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                  size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off, size_t ldc,
                  const char *what)
{
    double t0 = mrxcl_profile_clock(ctx);
    int rc;
#ifdef MRXCL_HAVE_HOST_BLAS
    if (ctx->gemm_host)
        rc = gemm_host(ctx, M, N, K, A, a_off, lda, Bm, b_off, ldb, C, c_off, ldc, what);
    else
#endif
        rc = gemm_clblast(ctx, M, N, K, A, a_off, lda, Bm, b_off, ldb, C, c_off, ldc, what);
    if (ctx->profile && rc == MRXCL_OK)
        mrxcl_gemm_profile_add(ctx, what, 2.0 * M * N * K, mrxcl_profile_clock(ctx) - t0);
    return rc;
}

double mrxcl_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* MRXCL_PROFILE=1 logs stage times at INFO level. Each mark waits for the device, so
 * profiling slows the whole pass down a little. */
double mrxcl_profile_clock(mrxcl_context *ctx)
{
    if (!ctx->profile)
        return 0;
    clFinish(ctx->cl.queue);
    return mrxcl_clock();
}

void mrxcl_gemm_profile_add(mrxcl_context *ctx, const char *what, double flops, double seconds)
{
    int i;
    for (i = 0; i < MRXCL_GEMM_LABELS; i++) {
        mrxcl_gemm_stat *g = &ctx->gemm_prof[i];
        if (!g->what)
            g->what = what;
        if (!strcmp(g->what, what)) {
            g->flops += flops;
            g->seconds += seconds;
            g->calls++;
            return;
        }
    }
}

void mrxcl_gemm_profile_report(mrxcl_context *ctx)
{
    int i;
    for (i = 0; i < MRXCL_GEMM_LABELS && ctx->gemm_prof[i].what; i++) {
        const mrxcl_gemm_stat *g = &ctx->gemm_prof[i];
        mrxcl_log(MRXCL_LOG_INFO, "profile: GEMM %-21s %2d calls %8.3f GFLOP %8.2f ms %6.1f GFLOP/s (%s)", g->what,
                  g->calls, g->flops * 1e-9, g->seconds * 1e3, g->seconds > 0 ? g->flops * 1e-9 / g->seconds : 0,
                  ctx->gemm_host ? "host BLAS" : "CLBlast");
    }
    memset(ctx->gemm_prof, 0, sizeof ctx->gemm_prof);
}

int mrxcl_host_path(mrxcl_context *ctx, const char *var, const char *other, const char *stage,
                    int available)
{
    const char *env = getenv(var);
    cl_device_type type = 0;
    cl_bool unified = CL_FALSE;
    int host_ok, want;

    clGetDeviceInfo(ctx->cl.device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(ctx->cl.device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    host_ok = (type & CL_DEVICE_TYPE_CPU) && unified;
    want = host_ok;
    if (env && *env) {
        if (!strcmp(env, "host"))
            want = 1;
        else if (!strcmp(env, other))
            want = 0;
        else
            mrxcl_log(MRXCL_LOG_WARN, "%s=%s is neither host nor %s; ignored", var, env, other);
    }
    if (!available) {
        if (want && env && !strcmp(env, "host"))
            mrxcl_log(MRXCL_LOG_WARN, "%s=host: this build has no host path; %s through %s", var,
                      stage, other);
        return 0;
    }
    if (want && !host_ok) {
        mrxcl_log(MRXCL_LOG_WARN, "%s=host needs a CPU device whose memory is the host's; '%s' is "
                  "not: %s through %s", var, ctx->cl.desc.name, stage, other);
        want = 0;
    }
    return want;
}

int mrxcl_gemm_choose(mrxcl_context *ctx)
{
#ifdef MRXCL_HAVE_HOST_BLAS
    int want = mrxcl_host_path(ctx, "MRXCL_GEMM", "clblast", "GEMMs", 1);
#else
    int want = mrxcl_host_path(ctx, "MRXCL_GEMM", "clblast", "GEMMs", 0);
#endif
    ctx->gemm_host = want;
#ifdef MRXCL_HAVE_HOST_BLAS
    if (want)
        mrxcl_log(MRXCL_LOG_DEBUG, "GEMM path: host BLAS (OpenBLAS %s, %d threads) on mapped buffers of '%s'",
                  openblas_get_config(), openblas_get_num_threads(), ctx->cl.desc.name);
    else
#endif
        mrxcl_log(MRXCL_LOG_DEBUG, "GEMM path: CLBlast on '%s'", ctx->cl.desc.name);
    return MRXCL_OK;
}
