/* OpenCL helpers shared by the stages (see clutil.h). */
#include <clblast_c.h>
#include <stdio.h>
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
