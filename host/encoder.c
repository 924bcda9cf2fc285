/* The encoders and the first cross average (docs/network.md steps 2 and 3): per
 * resolution a dense layer on the magnitudes, as a CLBlast GEMM; then one kernel adds
 * each encoder's bias, applies tanh and averages over resolutions into C1. */
#include "engine.h"

int mrxcl_encoder(mrxcl_context *ctx, int r, size_t rows)
{
    size_t F = (size_t)ctx->info.window_lengths[r] / 2 + 1, hid = (size_t)ctx->info.hidden;
    return mrxcl_gemm_nt(ctx, rows, hid, F, ctx->a.mag, 0, F, ctx->enc_w[r], 0, F, ctx->a.E,
                         (size_t)r * rows * hid, hid, "encoder");
}

int mrxcl_encoders_average(mrxcl_context *ctx, size_t rows)
{
    int irows = (int)rows, hid = ctx->info.hidden, R = ctx->info.n_resolutions;
    const mrxcl_arg args[] = {ARG(ctx->a.E), ARG(ctx->enc_b), ARG(ctx->a.D),
                              ARG(irows), ARG(hid), ARG(R)};
    return mrxcl_run(ctx, K_ENCODER_COMBINE, args, N_ARGS(args), (size_t)hid, rows);
}
