/* Context creation (device, kernels, weights on the device) and separation at any
 * sample rate. */
#include <math.h>
#include <stdio.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static const char *const kernel_names[K_COUNT] = {
    "stft_frame",      "spectrum_magnitude", "apply_mask", "overlap_add",
    "encoder_combine", "branch_average",     "bias_relu",  "lstm_recurrence"};

mrxcl_context_params mrxcl_context_default_params(void)
{
    mrxcl_context_params p;
    memset(&p, 0, sizeof p);
    p.device_index = -1;
    return p;
}

/* Copies the thread's last error onto the context, where mrxcl_last_error() finds it. */
static int keep(mrxcl_context *ctx, int rc)
{
    if (rc)
        snprintf(ctx->error, sizeof ctx->error, "%s", mrxcl_thread_error());
    return rc;
}

static int upload(mrxcl_context *ctx, cl_mem *m, const float *data, size_t n, const char *what)
{
    cl_int err;
    *m = clCreateBuffer(ctx->cl.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                        (void *)data, &err);
    if (*m)
        return MRXCL_OK;
    {
        char msg[160];
        snprintf(msg, sizeof msg, "uploading %s (%zu floats)", what, n);
        return mrxcl_cl_check(ctx, err, msg);
    }
}

/* Concatenates n arrays of len floats each. */
static float *concat(float *const *parts, size_t stride, int n, size_t len)
{
    float *all = malloc((size_t)n * len * sizeof(float) + 1);
    int i;
    if (!all)
        return NULL;
    for (i = 0; i < n; i++)
        memcpy(all + (size_t)i * len, parts[(size_t)i * stride], len * sizeof(float));
    return all;
}

static int upload_weights(mrxcl_context *ctx, const mrxcl_model *m)
{
    const mrxcl_model_info *in = &m->info;
    const mrxcl_weights *w = &m->w;
    int r, k, n, rc = MRXCL_OK, S = in->n_sources, R = in->n_resolutions, L = in->lstm_layers;
    size_t hid = (size_t)in->hidden, H = hid / 2;
    float *tmp;

    for (r = 0; r < R && !rc; r++) {
        int N = in->window_lengths[r];
        float *win = malloc((size_t)N * sizeof(float));
        if (!win)
            return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
        /* periodic Hann, computed in double */
        for (n = 0; n < N; n++)
            win[n] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * n / N));
        rc = upload(ctx, &ctx->window[r], win, (size_t)N, "a window");
        free(win);
        if (!rc)
            rc = upload(ctx, &ctx->enc_w[r], w->enc_w[r], hid * ((size_t)N / 2 + 1), "encoder weights");
    }
    if (rc)
        return rc;
    if (!(tmp = concat(w->enc_b, 1, R, hid)))
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
    rc = upload(ctx, &ctx->enc_b, tmp, (size_t)R * hid, "encoder biases");
    free(tmp);

    ctx->lstm_wih = calloc((size_t)L, sizeof(cl_mem));
    ctx->lstm_whh_t = calloc((size_t)L, sizeof(cl_mem));
    ctx->lstm_bias = calloc((size_t)L, sizeof(cl_mem));
    ctx->dec2_w = calloc((size_t)S * R, sizeof(cl_mem));
    ctx->dec2_b = calloc((size_t)S * R, sizeof(cl_mem));
    if (!ctx->lstm_wih || !ctx->lstm_whh_t || !ctx->lstm_bias || !ctx->dec2_w || !ctx->dec2_b)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
    /* The model keeps per-(branch, layer) arrays; the kernels want each layer's
     * branches side by side. */
    for (k = 0; k < L && !rc; k++) {
        struct {
            float **parts;
            size_t len;
            cl_mem *dst;
            const char *what;
        } set[3] = {{w->lstm_wih + k, 8 * H * hid, &ctx->lstm_wih[k], "LSTM input weights"},
                    {w->lstm_whh_t + k, 8 * H * H, &ctx->lstm_whh_t[k], "LSTM recurrent weights"},
                    {w->lstm_bias + k, 8 * H, &ctx->lstm_bias[k], "LSTM biases"}};
        int i;
        for (i = 0; i < 3 && !rc; i++) {
            if (!(tmp = concat(set[i].parts, (size_t)L, S, set[i].len)))
                return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
            rc = upload(ctx, set[i].dst, tmp, (size_t)S * set[i].len, set[i].what);
            free(tmp);
        }
    }
    if (!rc)
        rc = upload(ctx, &ctx->dec1_w, w->dec1_w, (size_t)S * R * hid * 2 * hid, "decoder weights");
    if (!rc)
        rc = upload(ctx, &ctx->dec1_b, w->dec1_b, (size_t)S * R * hid, "decoder biases");
    for (n = 0; n < S * R && !rc; n++) {
        size_t F = (size_t)in->window_lengths[n % R] / 2 + 1;
        rc = upload(ctx, &ctx->dec2_w[n], w->dec2_w[n], F * hid, "decoder weights");
        if (!rc)
            rc = upload(ctx, &ctx->dec2_b[n], w->dec2_b[n], F, "decoder biases");
    }
    return rc;
}

/* Units per work-item group in the LSTM kernel: 4 where H is a multiple of 4. */
static int lstm_vec(const mrxcl_model_info *in) { return in->hidden / 2 % 4 == 0 ? 4 : 1; }

static int make_kernels(mrxcl_context *ctx)
{
    int i;
    cl_int err;
    size_t wg = 0;
    for (i = 0; i < K_COUNT; i++) {
        ctx->k[i] = clCreateKernel(ctx->cl.program, kernel_names[i], &err);
        if (!ctx->k[i]) {
            char msg[96];
            snprintf(msg, sizeof msg, "creating kernel %s", kernel_names[i]);
            return mrxcl_cl_check(ctx, err, msg);
        }
    }
    /* As many work-items per LSTM sequence as there are groups of LSTM_VEC units, up
     * to what the device allows; each then owns several groups. */
    err = clGetKernelWorkGroupInfo(ctx->k[K_LSTM], ctx->cl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg,
                                   &wg, NULL);
    if (err != CL_SUCCESS || wg == 0)
        wg = 64;
    ctx->lstm_local = (size_t)ctx->info.hidden / 2 / (size_t)lstm_vec(&ctx->info);
    if (ctx->lstm_local > wg)
        ctx->lstm_local = wg;
    if (ctx->lstm_local > 256)
        ctx->lstm_local = 256;
    return MRXCL_OK;
}

mrxcl_context *mrxcl_context_create(const mrxcl_model *model, const mrxcl_context_params *params,
                                    int *status)
{
    mrxcl_context_params defaults = mrxcl_context_default_params();
    mrxcl_context *ctx;
    char *log = NULL, options[64];
    int rc;

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
    snprintf(options, sizeof options, "-DLSTM_VEC=%d", lstm_vec(&ctx->info));
    if ((rc = mrxcl_cl_build(&ctx->cl, params->kernel_dir, options, &log))) {
        mrxcl_thread_set_build_log(log);
        free(log);
        goto fail;
    }
    if ((rc = make_kernels(ctx)) || (rc = mrxcl_blas_tune(&ctx->cl)) || (rc = mrxcl_fft_setup()))
        goto fail;
    ctx->fft_setup = 1;
    if ((rc = upload_weights(ctx, model)))
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
    int i, R, S, L;
    if (!ctx)
        return;
    R = ctx->info.n_resolutions;
    S = ctx->info.n_sources;
    L = ctx->info.lstm_layers;
    if (ctx->cl.queue)
        clFinish(ctx->cl.queue);
    mrxcl_fft_release(ctx);
    if (ctx->fft_setup)
        mrxcl_fft_teardown();
    mrxcl_acts_release(&ctx->a, R);
    for (i = 0; i < R; i++) {
        if (ctx->window[i])
            clReleaseMemObject(ctx->window[i]);
        if (ctx->enc_w[i])
            clReleaseMemObject(ctx->enc_w[i]);
    }
    for (i = 0; i < L; i++) {
        if (ctx->lstm_wih && ctx->lstm_wih[i])
            clReleaseMemObject(ctx->lstm_wih[i]);
        if (ctx->lstm_whh_t && ctx->lstm_whh_t[i])
            clReleaseMemObject(ctx->lstm_whh_t[i]);
        if (ctx->lstm_bias && ctx->lstm_bias[i])
            clReleaseMemObject(ctx->lstm_bias[i]);
    }
    for (i = 0; i < S * R; i++) {
        if (ctx->dec2_w && ctx->dec2_w[i])
            clReleaseMemObject(ctx->dec2_w[i]);
        if (ctx->dec2_b && ctx->dec2_b[i])
            clReleaseMemObject(ctx->dec2_b[i]);
    }
    if (ctx->enc_b)
        clReleaseMemObject(ctx->enc_b);
    if (ctx->dec1_w)
        clReleaseMemObject(ctx->dec1_w);
    if (ctx->dec1_b)
        clReleaseMemObject(ctx->dec1_b);
    free(ctx->lstm_wih);
    free(ctx->lstm_whh_t);
    free(ctx->lstm_bias);
    free(ctx->dec2_w);
    free(ctx->dec2_b);
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

/* One channel through libsoxr at high quality; *out_len receives the samples made. */
static int resample(const float *in, size_t in_len, double from, double to, float *out,
                    size_t out_cap, size_t *out_len)
{
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t e = soxr_oneshot(from, to, 1, in, in_len, NULL, out, out_cap, out_len, &io, &q, NULL);
    if (e)
        return mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr from %.0f Hz to %.0f Hz: %s", from, to, e);
    return MRXCL_OK;
}

static int separate_resampled(mrxcl_context *ctx, const float *const *input, int C, size_t frames,
                              int rate, float *const *output)
{
    int S = ctx->info.n_sources, c, s, rc = MRXCL_OK;
    double ratio = (double)ctx->info.sample_rate / rate;
    size_t cap = (size_t)ceil((double)frames * ratio) + 16, len = 0, got;
    size_t back_cap = frames + 16;
    float *x = malloc((size_t)C * cap * sizeof(float));
    float *y = malloc((size_t)S * C * cap * sizeof(float));
    float *back = malloc(back_cap * sizeof(float));
    const float **xin = malloc((size_t)C * sizeof(float *));
    float **yout = malloc((size_t)S * C * sizeof(float *));

    if (!x || !y || !back || !xin || !yout) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory resampling %zu samples", frames);
        goto done;
    }
    for (c = 0; c < C && !rc; c++) {
        rc = resample(input[c], frames, rate, ctx->info.sample_rate, x + (size_t)c * cap, cap, &got);
        if (c == 0)
            len = got;
        else if (got != len)
            rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "libsoxr gave channels of different lengths");
        xin[c] = x + (size_t)c * cap;
    }
    if (!rc && len == 0)
        rc = mrxcl_fail(MRXCL_ERR_RESAMPLE, "%zu samples at %d Hz resample to nothing at %d Hz", frames,
                        rate, ctx->info.sample_rate);
    for (c = 0; c < S * C; c++)
        yout[c] = y + (size_t)c * cap;
    if (!rc)
        rc = mrxcl_forward(ctx, xin, C, len, yout);
    for (s = 0; s < S && !rc; s++)
        for (c = 0; c < C && !rc; c++) {
            rc = resample(yout[s * C + c], len, ctx->info.sample_rate, rate, back, back_cap, &got);
            if (rc)
                break;
            /* soxr's length can differ from the input's by a sample: pad with zeros. */
            if (got > frames)
                got = frames;
            memcpy(output[s * C + c], back, got * sizeof(float));
            memset(output[s * C + c] + got, 0, (frames - got) * sizeof(float));
        }
done:
    free(x);
    free(y);
    free(back);
    free(xin);
    free(yout);
    return rc;
}

int mrxcl_separate(mrxcl_context *ctx, const float *const *input, int channels, size_t frames,
                   int sample_rate, float *const *output)
{
    int rc, i;
    if (!ctx)
        return MRXCL_ERR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    if (!input || !output || channels < 1 || frames < 1 || sample_rate < 1)
        return keep(ctx, mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT,
                                    "separate needs input and output buffers, channels >= 1, "
                                    "frames >= 1 and a sample rate (got %d channels, %zu frames, %d Hz)",
                                    channels, frames, sample_rate));
    for (i = 0; i < channels; i++)
        if (!input[i])
            return keep(ctx, mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "input channel %d is NULL", i));
    for (i = 0; i < channels * ctx->info.n_sources; i++)
        if (!output[i])
            return keep(ctx, mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "output buffer %d is NULL", i));
    if (sample_rate == ctx->info.sample_rate)
        rc = mrxcl_forward(ctx, input, channels, frames, output);
    else
        rc = separate_resampled(ctx, input, channels, frames, sample_rate, output);
    return keep(ctx, rc);
}
