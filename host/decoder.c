/* The decoders (docs/network.md step 6): per (source, resolution) a hidden layer on
 * [C1, C2] with ReLU, then an output layer of one value per frequency bin, the mask
 * before its bias and ReLU (those are mask.c's). The hidden layers of every decoder are
 * one GEMM; the output layers one GEMM each. */
#include "engine.h"

int mrxcl_decoders_hidden(mrxcl_context *ctx, size_t rows)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t hid = (size_t)in->hidden, SRh = (size_t)in->n_sources * in->n_resolutions * hid;
    int irows = (int)rows, icols = (int)SRh, rc;
    const mrxcl_arg args[] = {ARG(ctx->a.Z), ARG(ctx->dec1_b), ARG(irows), ARG(icols)};

    if ((rc = mrxcl_gemm_nt(ctx, rows, SRh, 2 * hid, ctx->a.D, 0, 2 * hid, ctx->dec1_w, 0, 2 * hid,
                            ctx->a.Z, 0, SRh, "decoder layer 1")))
        return rc;
    return mrxcl_run(ctx, K_BIAS_RELU, args, N_ARGS(args), SRh, rows);
}

int mrxcl_decoder_mask(mrxcl_context *ctx, int s, int r, size_t rows)
{
    const mrxcl_model_info *in = &ctx->info;
    size_t hid = (size_t)in->hidden, SRh = (size_t)in->n_sources * in->n_resolutions * hid;
    size_t F = (size_t)in->window_lengths[r] / 2 + 1, sr = (size_t)s * in->n_resolutions + r;
    return mrxcl_gemm_nt(ctx, rows, F, hid, ctx->a.Z, sr * hid, SRh, ctx->dec2_w[sr], 0, hid,
                         ctx->a.mask, 0, F, "decoder layer 2");
}
