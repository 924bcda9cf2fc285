/* The masks (docs/network.md step 6): decoder (s, r)'s output plus its bias, through a
 * ReLU, times the mixture's spectrum X[r], into spec for the inverse STFT. */
#include "engine.h"

int mrxcl_mask_apply(mrxcl_context *ctx, int s, int r, size_t rows)
{
    int F = ctx->info.window_lengths[r] / 2 + 1, irows = (int)rows;
    cl_mem bias = ctx->dec2_b[s * ctx->info.n_resolutions + r];
    const mrxcl_arg args[] = {ARG(ctx->a.mask), ARG(bias), ARG(ctx->a.X[r]), ARG(ctx->a.spec),
                              ARG(F), ARG(irows)};
    return mrxcl_run(ctx, K_APPLY_MASK, args, N_ARGS(args), (size_t)F, rows);
}
