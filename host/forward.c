/* The forward pass on the device, from the uploaded samples to the stems, one stage
 * after another in the order the data flows (docs/network.md steps 1-8). Each stage is
 * a call into the file named for it; nothing returns to the host between the upload and
 * the final read. */
#include "engine.h"

static int upload(mrxcl_context *ctx, const float *const *x, int B, size_t L)
{
    size_t b;
    for (b = 0; b < (size_t)B; b++) {
        cl_int err = clEnqueueWriteBuffer(ctx->cl.queue, ctx->a.x, CL_FALSE, b * L * sizeof(float),
                                          L * sizeof(float), x[b], 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return mrxcl_cl_check(ctx, err, "uploading audio");
    }
    return MRXCL_OK;
}

static int read_back(mrxcl_context *ctx, int B, size_t L, float *const *out)
{
    size_t i, n = (size_t)ctx->info.n_sources * (size_t)B;
    for (i = 0; i < n; i++) {
        cl_int err = clEnqueueReadBuffer(ctx->cl.queue, ctx->a.out, CL_FALSE, i * L * sizeof(float),
                                         L * sizeof(float), out[i], 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return mrxcl_cl_check(ctx, err, "reading the stems");
    }
    return MRXCL_OK;
}

/* With MRXCL_PROFILE, logs the time since t0 under the stage's name. */
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
    size_t T = 1 + L / (size_t)in->hop, rows = (size_t)B * T;
    int r, s, rc, iL = (int)L, iT = (int)T;
    cl_int err;
    double t;

    if (L > 0x7fffffff / (size_t)(B > 0 ? B : 1) || rows > 0x7fffffff)
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "input of %zu samples x %d channels is too long for one pass",
                          L, B);
    if ((rc = mrxcl_acts_ensure(ctx, rows, (size_t)B * L)) || (rc = mrxcl_fft_plans(ctx, rows)))
        return rc;
    t = stage_mark(ctx, 0, NULL);
    if ((rc = upload(ctx, x, B, L)))
        goto finish;
    /* the transfers are marked apart: on a GPU they cross the bus, and whether to overlap
     * them with the kernels (a second queue, buffers in pairs) turns on their share */
    t = stage_mark(ctx, t, "upload");

    /* 1-2. per resolution: STFT and magnitudes, then the encoder's dense layer */
    for (r = 0; r < in->n_resolutions; r++)
        if ((rc = mrxcl_stft(ctx, r, B, iL, iT)) || (rc = mrxcl_encoder(ctx, r, rows)))
            goto finish;
    /* 3. tanh, cross average C1 */
    if ((rc = mrxcl_encoders_average(ctx, rows)))
        goto finish;
    t = stage_mark(ctx, t, "encoders");

    /* 4-5. BiLSTM branches on C1, cross average C2 */
    if ((rc = mrxcl_bilstm(ctx, rows, B, iT)) || (rc = mrxcl_branches_average(ctx, rows)))
        goto finish;
    t = stage_mark(ctx, t, "bilstm");

    /* 6. the decoders' hidden layers on [C1, C2]; then per (source, resolution) the
     * decoder's mask, the mask on the mixture's spectrum, and 7-8. its inverse STFT,
     * overlap-added into the source's stems (summed over resolutions) */
    if ((rc = mrxcl_decoders_hidden(ctx, rows)))
        goto finish;
    for (s = 0; s < in->n_sources; s++)
        for (r = 0; r < in->n_resolutions; r++)
            if ((rc = mrxcl_decoder_mask(ctx, s, r, rows)) || (rc = mrxcl_mask_apply(ctx, s, r, rows)) ||
                (rc = mrxcl_istft_add(ctx, s, r, B, iL, iT)))
                goto finish;
    t = stage_mark(ctx, t, "decoders");
    if (ctx->profile) {
        mrxcl_gemm_profile_report(ctx);
        mrxcl_fft_profile_report(ctx);
    }

    rc = read_back(ctx, B, L, out);
    if (!rc)
        stage_mark(ctx, t, "download");
finish:
    /* Also on failure: no transfer into the caller's buffers may outlive this call. */
    err = clFinish(ctx->cl.queue);
    return rc ? rc : mrxcl_cl_check(ctx, err, "finishing the forward pass");
}
