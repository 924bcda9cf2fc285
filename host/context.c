/* The context's life (device, kernels, weights on the device), its getters, and
 * mrxcl_separate: the forward pass at the model's rate, or through resample.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

mrxcl_context_params mrxcl_context_default_params(void)
{
    mrxcl_context_params p;
    memset(&p, 0, sizeof p);
    p.device_index = -1;
    p.auto_tune = 1;
    return p;
}

int mrxcl_check_planes(const mrxcl_context *ctx, const float *const *input, int channels,
                       float *const *stems, const char *stems_name)
{
    int i;
    for (i = 0; i < channels; i++)
        if (!input[i])
            return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "input channel %d is NULL", i);
    for (i = 0; i < channels * ctx->info.n_sources; i++)
        if (!stems[i])
            return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "%s %d is NULL", stems_name, i);
    return MRXCL_OK;
}

/* Units per work-item group of the recurrence kernel (LSTM_VEC, kernels/lstm.cl): on CPU
 * devices the widest of 16, 8, 4 that divides H (float16 fills an AVX-512 register: on
 * PoCL 2-4 times as fast as float4, bench/README.md), elsewhere 4 (more work-items per
 * group for GPUs), else 1. MRXCL_LSTM_VEC=1|4|8|16 asks for another width (tests and
 * benchmarks); one that does not divide H falls back to the default. */
static int lstm_vec(const mrxcl_cl *cl, const mrxcl_model_info *in)
{
    static const int widths[] = {16, 8, 4};
    const char *e = getenv("MRXCL_LSTM_VEC");
    int H = in->hidden / 2, i, want = e && *e ? atoi(e) : 0;
    cl_device_type type = 0;
    if ((want == 1 || want == 4 || want == 8 || want == 16) && H % want == 0)
        return want;
    clGetDeviceInfo(cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    for (i = (type & CL_DEVICE_TYPE_CPU) ? 0 : 2; i < 3; i++)
        if (H % widths[i] == 0)
            return widths[i];
    return 1;
}

/* Sequences per work-group of lstm_recurrence_block (LSTM_BLOCK) and the number of
 * channels B from which the recurrence takes it instead of lstm_recurrence (0: never).
 *
 * CPU devices: 4, from B = 3 on (from B = 2 where H > 181). bench/lstm_rates on PoCL 3.1,
 * 2-core AMD EPYC (AVX-512, 1 MiB L2 per core), one layer, 3 branches x 2
 * directions x B channels (GFLOP/s of the recurrent product, 8 H^2 per step and
 * sequence), T = 256, idle:
 *
 *   H   kernel        B=1   2    4    8    16   32
 *   160 per sequence   69   70   82   88   89   89
 *   160 block 2        78  145  142  142  143  143
 *   160 block 4        41   80  155  155  154  154
 *   160 block 8        21   39   78  149  149  149
 *   256 per sequence   40   51   51   51   51   51
 *   256 block 2        52  100  100  100  100  100
 *   256 block 4        45   84  165  169  169  169
 *   256 block 8        22   43   83  161  159  164
 *
 * and at T = 2585 (a 30 s piece of the default model), ms per B = 1, 2, 3: H 160 per
 * sequence 37, 73, 109, block 4 76, 79, 81; H 256 per sequence 160-170, 317-325,
 * 476-492, block 4 175-179, 180-199, 186-189.
 *
 * The kernel per sequence reads all of W_hh (H x 4H: 0.4 MB for H 160, 1 MB for 256) per
 * step and sequence, and its rate does not grow with B: it is bound by the cache, not
 * the FMAs. A block of 4 multiplies each weight load into 4 sequences and runs 1.7x (H
 * 160) to 3.3x (H 256) as fast once B fills it; 8 gains nothing more (its 4 x 8
 * accumulators and the weights exceed AVX-512's 32 registers). Half-empty, at B = 2, it
 * loses at H 160 (0.92x at T = 2585) and wins at H 256 (1.7x), where W_hh no longer
 * fits a core's L2 beside the rest; the threshold between them, 16 H^2 bytes over
 * 512 KiB, is a guess between the two widths measured. At B = 3 it wins at both (1.35x,
 * 2.6x); at B = 1 it loses. A block of 2 would do better at B = 2 (1.6x at H 160), but
 * the same kernel with the block size as an inlined constant was not unrolled by PoCL
 * (half the speed), so one width is built. Where a device has more compute units than
 * the blocked launch has work-groups (2 x branches x ceil(B / 4)), B starts where it has
 * one per unit, so that no core idles for the block's sake (never on 2 cores; not
 * measured on more).
 *
 * GPUs: lstm_recurrence, as before, until measured there (bench/README.md says how).
 *
 * MRXCL_LSTM_BLOCK=1 keeps lstm_recurrence for every B; 2 to 8 takes the block kernel with
 * that many sequences per group for every B, B = 1 included (tests, benchmarks). A block
 * whose h and c do not fit the device's local memory is never taken. */
static void lstm_block(const mrxcl_cl *cl, const mrxcl_model_info *in, int *block, int *from)
{
    const char *e = getenv("MRXCL_LSTM_BLOCK");
    int H = in->hidden / 2, want = e && *e ? atoi(e) : 0;
    cl_device_type type = 0;
    cl_uint units = 1;
    cl_ulong local_mem = 0;
    clGetDeviceInfo(cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    *block = 4;
    *from = 0;
    if (want == 1)
        return;
    if (want >= 2 && want <= 8) {
        *block = want;
        *from = 1;
    } else if (type & CL_DEVICE_TYPE_CPU) {
        int groups = 2 * in->n_sources, blocks = ((int)units + groups - 1) / groups;
        int least = 16.0 * H * H > 512.0 * 1024 ? 2 : 3;
        *from = 4 * (blocks - 1) + 1; /* the least B with ceil(B / 4) >= blocks */
        if (*from < least)
            *from = least;
    }
    if (sizeof(float) * 3 * (cl_ulong)*block * H > local_mem)
        *from = 0;
}

/* As many work-items per group of a recurrence kernel as there are groups of LSTM_VEC
 * units, up to what the device allows for that kernel and 256; each then owns several
 * groups. */
static size_t lstm_local(mrxcl_context *ctx, int kernel, int vec)
{
    size_t wg = 0, local = (size_t)ctx->info.hidden / 2 / (size_t)vec;
    cl_int err = clGetKernelWorkGroupInfo(ctx->k[kernel], ctx->cl.device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof wg, &wg, NULL);
    if (err != CL_SUCCESS || wg == 0)
        wg = 64;
    if (local > wg)
        local = wg;
    return local > 256 ? 256 : local;
}

static int make_kernels(mrxcl_context *ctx, int vec)
{
    int i;
    cl_int err;
    for (i = 0; i < K_COUNT; i++) {
        ctx->k[i] = clCreateKernel(ctx->cl.program, mrxcl_kernel_names[i], &err);
        if (!ctx->k[i]) {
            char msg[96];
            snprintf(msg, sizeof msg, "creating kernel %s", mrxcl_kernel_names[i]);
            return mrxcl_cl_check(ctx, err, msg);
        }
    }
    ctx->lstm_local = lstm_local(ctx, K_LSTM, vec);
    ctx->lstm_local_block = lstm_local(ctx, K_LSTM_BLOCK, vec);
    return MRXCL_OK;
}

mrxcl_context *mrxcl_context_create(const mrxcl_model *model, const mrxcl_context_params *params,
                                    int *status)
{
    mrxcl_context_params defaults = mrxcl_context_default_params();
    mrxcl_context *ctx;
    char *log = NULL, options[64];
    double t0;
    int rc, vec;

    mrxcl_thread_error_clear();
    if (!params)
        params = &defaults;
    if (!model) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "no model given");
        if (status)
            *status = rc;
        return NULL;
    }
    if (!(ctx = calloc(1, sizeof *ctx))) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
        if (status)
            *status = rc;
        return NULL;
    }
    ctx->info = model->info;
    ctx->profile = getenv("MRXCL_PROFILE") && *getenv("MRXCL_PROFILE") && strcmp(getenv("MRXCL_PROFILE"), "0");
    if ((rc = mrxcl_cl_open(&ctx->cl, params)))
        goto fail;
    vec = lstm_vec(&ctx->cl, &ctx->info);
    lstm_block(&ctx->cl, &ctx->info, &ctx->lstm_block, &ctx->lstm_block_from);
    snprintf(options, sizeof options, "-DLSTM_VEC=%d -DLSTM_BLOCK=%d", vec, ctx->lstm_block);
    t0 = mrxcl_clock();
    if ((rc = mrxcl_cl_build(&ctx->cl, params->kernel_dir, options, &log))) {
        mrxcl_thread_set_build_log(log);
        free(log);
        goto fail;
    }
    ctx->build_seconds = mrxcl_clock() - t0;
    if ((rc = make_kernels(ctx, vec)) || (rc = mrxcl_gemm_choose(ctx)) ||
        (rc = mrxcl_blas_setup(ctx, params->auto_tune)) || (rc = mrxcl_fft_choose(ctx)))
        goto fail;
    if (!ctx->fft_host) { /* the host path needs no clFFT */
        if ((rc = mrxcl_fft_setup()))
            goto fail;
        ctx->fft_setup = 1;
    }
    if ((rc = mrxcl_weights_upload(ctx, model)))
        goto fail;
    if (status)
        *status = MRXCL_OK;
    return ctx;
fail:
    mrxcl_context_free(ctx);
    if (status)
        *status = rc;
    return NULL;
}

void mrxcl_context_free(mrxcl_context *ctx)
{
    int i;
    if (!ctx)
        return;
    if (ctx->cl.queue)
        clFinish(ctx->cl.queue);
    mrxcl_fft_release(ctx);
    if (ctx->fft_setup)
        mrxcl_fft_teardown();
    mrxcl_acts_release(&ctx->a, ctx->info.n_resolutions);
    mrxcl_weights_release(ctx);
    for (i = 0; i < K_COUNT; i++)
        if (ctx->k[i])
            clReleaseKernel(ctx->k[i]);
    mrxcl_cl_close(&ctx->cl);
    free(ctx);
}

int mrxcl_context_device(const mrxcl_context *ctx, mrxcl_device_desc *desc)
{
    if (!ctx || !desc)
        return MRXCL_ERR_INVALID_ARGUMENT;
    *desc = ctx->cl.desc;
    return MRXCL_OK;
}

int mrxcl_context_get_info(const mrxcl_context *ctx, mrxcl_model_info *info)
{
    if (!ctx || !info)
        return MRXCL_ERR_INVALID_ARGUMENT;
    *info = ctx->info;
    return MRXCL_OK;
}

const char *mrxcl_last_error(const mrxcl_context *ctx)
{
    return ctx ? ctx->error : mrxcl_thread_error();
}

const char *mrxcl_build_log(const mrxcl_context *ctx)
{
    /* Programs are built when a context is created: a context that exists built its. */
    return ctx ? NULL : mrxcl_thread_build_log();
}

int mrxcl_last_cl_error(const mrxcl_context *ctx)
{
    return ctx ? ctx->last_cl_error : 0;
}

double mrxcl_context_build_seconds(const mrxcl_context *ctx)
{
    return ctx ? ctx->build_seconds : 0.0;
}

int mrxcl_separate(mrxcl_context *ctx, const float *const *input, int channels, size_t frames,
                   int sample_rate, float *const *output)
{
    int rc;
    if (!ctx)
        return MRXCL_ERR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    if (!input || !output || channels < 1 || frames < 1 || sample_rate < 1)
        return mrxcl_keep_error(ctx, mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT,
                                    "separate needs input and output buffers, channels >= 1, "
                                    "frames >= 1 and a sample rate (got %d channels, %zu frames, %d Hz)",
                                    channels, frames, sample_rate));
    if ((rc = mrxcl_check_planes(ctx, input, channels, output, "output buffer")))
        return mrxcl_keep_error(ctx, rc);
    if (sample_rate == ctx->info.sample_rate)
        rc = mrxcl_forward(ctx, input, channels, frames, output);
    else
        rc = mrxcl_separate_resampled(ctx, input, channels, frames, sample_rate, output);
    return mrxcl_keep_error(ctx, rc);
}
