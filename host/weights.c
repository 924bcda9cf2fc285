/* The model's weights onto the device, with the STFT windows, laid out as the stages
 * want them (engine.h, struct mrxcl_context); and their release. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static int upload(mrxcl_context *ctx, cl_mem *m, const float *data, size_t n, const char *what)
{
    cl_int err;
    *m = clCreateBuffer(ctx->cl.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                        (void *)data, &err);
    if (*m) {
        ctx->weights_bytes += n * sizeof(float);
        return MRXCL_OK;
    }
    {
        char msg[160];
        snprintf(msg, sizeof msg, "uploading %s (%zu floats)", what, n);
        return mrxcl_cl_check(ctx, err, msg);
    }
}

/* Uploads n arrays of len floats each, parts[0], parts[stride], ..., side by side. */
static int upload_concat(mrxcl_context *ctx, cl_mem *m, float *const *parts, size_t stride, int n,
                         size_t len, const char *what)
{
    float *all = malloc((size_t)n * len * sizeof(float) + 1);
    int i, rc;
    if (!all)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
    for (i = 0; i < n; i++)
        memcpy(all + (size_t)i * len, parts[(size_t)i * stride], len * sizeof(float));
    rc = upload(ctx, m, all, (size_t)n * len, what);
    free(all);
    return rc;
}

/* Per resolution: the periodic Hann window (computed in double) and the encoder. */
static int upload_encoders(mrxcl_context *ctx, const mrxcl_model *m)
{
    const mrxcl_model_info *in = &m->info;
    size_t hid = (size_t)in->hidden;
    int r, n, rc = MRXCL_OK;

    for (r = 0; r < in->n_resolutions && !rc; r++) {
        int N = in->window_lengths[r];
        float *win = malloc((size_t)N * sizeof(float));
        if (!win)
            return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
        for (n = 0; n < N; n++)
            win[n] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * n / N));
        rc = upload(ctx, &ctx->window[r], win, (size_t)N, "a window");
        free(win);
        if (!rc)
            rc = upload(ctx, &ctx->enc_w[r], m->w.enc_w[r], hid * ((size_t)N / 2 + 1), "encoder weights");
    }
    if (!rc)
        rc = upload_concat(ctx, &ctx->enc_b, m->w.enc_b, 1, in->n_resolutions, hid, "encoder biases");
    return rc;
}

/* The model keeps per-(branch, layer) arrays; the kernels want each layer's branches
 * side by side. */
static int upload_lstms(mrxcl_context *ctx, const mrxcl_model *m)
{
    const mrxcl_weights *w = &m->w;
    int k, i, rc = MRXCL_OK, S = m->info.n_sources, L = m->info.lstm_layers;
    size_t hid = (size_t)m->info.hidden, H = hid / 2;

    for (k = 0; k < L && !rc; k++) {
        struct {
            float **parts;
            size_t len;
            cl_mem *dst;
            const char *what;
        } set[3] = {{w->lstm_wih + k, 8 * H * hid, &ctx->lstm_wih[k], "LSTM input weights"},
                    {w->lstm_whh_t + k, 8 * H * H, &ctx->lstm_whh_t[k], "LSTM recurrent weights"},
                    {w->lstm_bias + k, 8 * H, &ctx->lstm_bias[k], "LSTM biases"}};
        for (i = 0; i < 3 && !rc; i++)
            rc = upload_concat(ctx, set[i].dst, set[i].parts, (size_t)L, S, set[i].len, set[i].what);
    }
    return rc;
}

static int upload_decoders(mrxcl_context *ctx, const mrxcl_model *m)
{
    const mrxcl_model_info *in = &m->info;
    int n, rc, S = in->n_sources, R = in->n_resolutions;
    size_t hid = (size_t)in->hidden;

    rc = upload(ctx, &ctx->dec1_w, m->w.dec1_w, (size_t)S * R * hid * 2 * hid, "decoder weights");
    if (!rc)
        rc = upload(ctx, &ctx->dec1_b, m->w.dec1_b, (size_t)S * R * hid, "decoder biases");
    for (n = 0; n < S * R && !rc; n++) {
        size_t F = (size_t)in->window_lengths[n % R] / 2 + 1;
        rc = upload(ctx, &ctx->dec2_w[n], m->w.dec2_w[n], F * hid, "decoder weights");
        if (!rc)
            rc = upload(ctx, &ctx->dec2_b[n], m->w.dec2_b[n], F, "decoder biases");
    }
    return rc;
}

int mrxcl_weights_upload(mrxcl_context *ctx, const mrxcl_model *m)
{
    size_t L = (size_t)m->info.lstm_layers, SR = (size_t)m->info.n_sources * m->info.n_resolutions;
    int rc;

    ctx->lstm_wih = calloc(L, sizeof(cl_mem));
    ctx->lstm_whh_t = calloc(L, sizeof(cl_mem));
    ctx->lstm_bias = calloc(L, sizeof(cl_mem));
    ctx->dec2_w = calloc(SR, sizeof(cl_mem));
    ctx->dec2_b = calloc(SR, sizeof(cl_mem));
    if (!ctx->lstm_wih || !ctx->lstm_whh_t || !ctx->lstm_bias || !ctx->dec2_w || !ctx->dec2_b)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory");
    if ((rc = upload_encoders(ctx, m)) || (rc = upload_lstms(ctx, m)) || (rc = upload_decoders(ctx, m)))
        return rc;
    return MRXCL_OK;
}

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

/* Releases what mrxcl_weights_upload made, also half way. */
void mrxcl_weights_release(mrxcl_context *ctx)
{
    int i, R = ctx->info.n_resolutions, S = ctx->info.n_sources, L = ctx->info.lstm_layers;
    for (i = 0; i < R; i++) {
        release(&ctx->window[i]);
        release(&ctx->enc_w[i]);
    }
    for (i = 0; i < L; i++) {
        if (ctx->lstm_wih)
            release(&ctx->lstm_wih[i]);
        if (ctx->lstm_whh_t)
            release(&ctx->lstm_whh_t[i]);
        if (ctx->lstm_bias)
            release(&ctx->lstm_bias[i]);
    }
    for (i = 0; i < S * R; i++) {
        if (ctx->dec2_w)
            release(&ctx->dec2_w[i]);
        if (ctx->dec2_b)
            release(&ctx->dec2_b[i]);
    }
    release(&ctx->enc_b);
    release(&ctx->dec1_w);
    release(&ctx->dec1_b);
    free(ctx->lstm_wih);
    free(ctx->lstm_whh_t);
    free(ctx->lstm_bias);
    free(ctx->dec2_w);
    free(ctx->dec2_b);
    ctx->lstm_wih = ctx->lstm_whh_t = ctx->lstm_bias = ctx->dec2_w = ctx->dec2_b = NULL;
}
