/* OpenCL helpers shared by the stages of the forward pass: the kernel table, error
 * checks, argument setting, launches, the GEMM wrapper and the profiling clock. They
 * sit below the stages (stft.c, encoder.c, lstm.c, decoder.c, mask.c) and call none. */
#ifndef MRXCL_CLUTIL_H
#define MRXCL_CLUTIL_H

#include <CL/cl.h>
#include <stddef.h>

#include "internal.h"

/* Every kernel of kernels/ *.cl the host launches: enum name and kernel name, from this
 * one list, so that the enum and the name table cannot drift apart. */
#define MRXCL_KERNEL_LIST(X)                                                               \
    X(K_FRAME, stft_frame)                                                                 \
    X(K_MAGNITUDE, spectrum_magnitude)                                                     \
    X(K_ENCODER_COMBINE, encoder_combine)                                                  \
    X(K_LSTM, lstm_recurrence)                                                             \
    X(K_LSTM_BLOCK, lstm_recurrence_block)                                                 \
    X(K_BRANCH_AVERAGE, branch_average)                                                    \
    X(K_BIAS_RELU, bias_relu)                                                              \
    X(K_APPLY_MASK, apply_mask)                                                            \
    X(K_OVERLAP_ADD, overlap_add)

#define MRXCL_KERNEL_ENUM(id, name) id,
enum { MRXCL_KERNEL_LIST(MRXCL_KERNEL_ENUM) K_COUNT };
#undef MRXCL_KERNEL_ENUM

/* The kernel names, indexed by the enum above. */
extern const char *const mrxcl_kernel_names[K_COUNT];

/* One kernel argument: its size and where its value is; value NULL asks for local memory
 * of that size. ARG(v) takes an lvalue, LOCAL_ARG(bytes) a local buffer. */
typedef struct mrxcl_arg {
    size_t size;
    const void *value;
} mrxcl_arg;
#define ARG(v) {sizeof(v), &(v)}
#define LOCAL_ARG(bytes) {(bytes), NULL}
#define N_ARGS(args) ((int)(sizeof(args) / sizeof((args)[0])))

/* Turns an OpenCL error into a status with a message naming what failed and the device;
 * keeps the code on the context. CL_SUCCESS gives MRXCL_OK. */
int mrxcl_cl_check(mrxcl_context *ctx, cl_int err, const char *what);
/* Sets the kernel's arguments 0..n-1 in order. Stops at the first failure and reports
 * it with the argument's index. */
int mrxcl_set_args(mrxcl_context *ctx, int kernel, const mrxcl_arg *args, int n);
/* 2-D launch over [g0 x g1]; every kernel checks its own bounds, so the first dimension
 * is rounded up to the work-group size. */
int mrxcl_launch(mrxcl_context *ctx, int kernel, size_t g0, size_t g1);
/* Sets the arguments, then launches over [g0 x g1]. */
int mrxcl_run(mrxcl_context *ctx, int kernel, const mrxcl_arg *args, int n, size_t g0, size_t g1);
/* C[M][N] = A[M][K] * B[N][K]^T, row-major with leading dimensions and offsets: through
 * the host's OpenBLAS on mapped buffers when ctx->gemm_host (CPU devices, see
 * mrxcl_gemm_choose), else through CLBlast. With MRXCL_PROFILE the time and FLOPs are
 * added up per label (what). */
int mrxcl_gemm_nt(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                  size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off, size_t ldc,
                  const char *what);
/* Per GEMM label: FLOPs and seconds over one forward pass (MRXCL_PROFILE). */
#define MRXCL_GEMM_LABELS 8
typedef struct mrxcl_gemm_stat {
    const char *what;
    double flops, seconds;
    int calls;
} mrxcl_gemm_stat;
struct mrxcl_context;
void mrxcl_gemm_profile_add(struct mrxcl_context *ctx, const char *what, double flops, double seconds);
/* Logs each label's GFLOP, time and GFLOP/s at INFO, then clears the table. */
void mrxcl_gemm_profile_report(struct mrxcl_context *ctx);
/* Sets ctx->gemm_host: MRXCL_GEMM=host|clblast if set (host where the build has no host
 * BLAS or the device's memory is not the host's falls back to CLBlast with a warning),
 * else host on CPU devices with unified memory, CLBlast elsewhere. Logs the choice at DEBUG. */
int mrxcl_gemm_choose(struct mrxcl_context *ctx);
/* Whether a stage runs on the host over mapped buffers: by default on a CPU device whose
 * memory is the host's; the environment variable `var` = host|`other` overrides, and host
 * asked for elsewhere (or where the build has no host path: available 0) is refused with
 * a warning naming `stage` and `other`. */
int mrxcl_host_path(struct mrxcl_context *ctx, const char *var, const char *other,
                    const char *stage, int available);

/* With MRXCL_PROFILE: waits for the device and returns a monotonic time; else 0. */
double mrxcl_profile_clock(mrxcl_context *ctx);
/* A monotonic time in seconds, always (for the kernel build time). */
double mrxcl_clock(void);

#endif
