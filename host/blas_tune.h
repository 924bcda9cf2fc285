/* CLBlast's GEMM kernel parameters: the tuner's C wrapper (blas_tune.cpp) and the
 * per-device cache (blas_tuning.c). */
#ifndef MRXCL_BLAS_TUNE_H
#define MRXCL_BLAS_TUNE_H

#include <stddef.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#define MRXCL_BLAS_MAX_PARAMS 32

typedef struct mrxcl_blas_params {
    int count;
    char names[MRXCL_BLAS_MAX_PARAMS][16];
    size_t values[MRXCL_BLAS_MAX_PARAMS];
} mrxcl_blas_params;

#ifdef __cplusplus
extern "C" {
#endif
/* Runs clblast::TuneXgemm<float> on `queue` for an m x n x k GEMM (each a multiple of
 * 128), trying `fraction` of its search space; the best parameters go to *out. 0, or -1
 * with a message in err. */
int mrxcl_clblast_tune_xgemm(cl_command_queue queue, size_t m, size_t n, size_t k,
                             double fraction, mrxcl_blas_params *out, char *err, size_t err_size);
#ifdef __cplusplus
}
#endif

#endif
