/* The BiLSTM branches and the second cross average (docs/network.md steps 4 and 5):
 * per layer, the input projections of every step of every branch and both directions as
 * GEMMs, then one launch of the recurrence kernel that steps all branches, directions
 * and channels side by side (many channels in blocks that share each weight load);
 * after the last layer, the branches' mean. */
#include "engine.h"

/* Layer 0 reads C1 (left half of D, row stride 2*hidden) for every branch; later layers
 * read their own branch's previous output. */
static int input_projections(mrxcl_context *ctx, int layer, cl_mem src, size_t rows)
{
    int S = ctx->info.n_sources, s, rc;
    size_t hid = (size_t)ctx->info.hidden, G8 = 8 * (hid / 2);
    for (s = 0; s < S; s++) {
        size_t a_off = layer == 0 ? 0 : (size_t)s * rows * hid;
        size_t lda = layer == 0 ? 2 * hid : hid;
        if ((rc = mrxcl_gemm_nt(ctx, rows, G8, hid, src, a_off, lda, ctx->lstm_wih[layer],
                                (size_t)s * G8 * hid, hid, ctx->a.gx, (size_t)s * rows * G8, G8,
                                "LSTM input projection")))
            return rc;
    }
    return MRXCL_OK;
}

/* One work-group of lstm_local work-items per (branch, direction, channel) sequence, or,
 * for B from lstm_block_from on, one of lstm_local_block work-items per (branch,
 * direction, block of lstm_block channels). */
int mrxcl_lstm_recurrence(mrxcl_context *ctx, int layer, cl_mem dst, int B, int T)
{
    int H = ctx->info.hidden / 2, rc;
    int SB = ctx->lstm_block_from > 0 && B >= ctx->lstm_block_from ? ctx->lstm_block : 1;
    int kernel = SB > 1 ? K_LSTM_BLOCK : K_LSTM;
    size_t local = SB > 1 ? ctx->lstm_local_block : ctx->lstm_local;
    size_t global = local * (size_t)ctx->info.n_sources * 2 * (size_t)((B + SB - 1) / SB);
    const mrxcl_arg args[] = {ARG(ctx->a.gx), ARG(ctx->lstm_whh_t[layer]), ARG(ctx->lstm_bias[layer]),
                              ARG(dst), ARG(T), ARG(H), ARG(B),
                              LOCAL_ARG(sizeof(float) * 2 * (size_t)SB * H), /* h, double-buffered */
                              LOCAL_ARG(sizeof(float) * (size_t)SB * H)};    /* c */
    cl_int err;

    if ((rc = mrxcl_set_args(ctx, kernel, args, N_ARGS(args))))
        return rc;
    err = clEnqueueNDRangeKernel(ctx->cl.queue, ctx->k[kernel], 1, NULL, &global, &local, 0, NULL, NULL);
    return mrxcl_cl_check(ctx, err, SB > 1 ? "launching lstm_recurrence_block" : "launching lstm_recurrence");
}

int mrxcl_bilstm(mrxcl_context *ctx, size_t rows, int B, int T)
{
    cl_mem src = ctx->a.D;
    int layer, rc;
    double t0, t_gemm = 0, t_rec = 0;

    for (layer = 0; layer < ctx->info.lstm_layers; layer++) {
        cl_mem dst = ctx->a.y[layer % 2];
        t0 = mrxcl_profile_clock(ctx);
        if ((rc = input_projections(ctx, layer, src, rows)))
            return rc;
        t_gemm += mrxcl_profile_clock(ctx) - t0;
        t0 = mrxcl_profile_clock(ctx);
        if ((rc = mrxcl_lstm_recurrence(ctx, layer, dst, B, T)))
            return rc;
        t_rec += mrxcl_profile_clock(ctx) - t0;
        src = dst;
    }
    if (ctx->profile)
        mrxcl_log(MRXCL_LOG_INFO, "profile: LSTM input GEMMs %.2f ms, recurrence %.2f ms", t_gemm * 1e3,
                  t_rec * 1e3);
    return MRXCL_OK;
}

int mrxcl_branches_average(mrxcl_context *ctx, size_t rows)
{
    cl_mem last = ctx->a.y[(ctx->info.lstm_layers - 1) % 2];
    int irows = (int)rows, hid = ctx->info.hidden, S = ctx->info.n_sources;
    const mrxcl_arg args[] = {ARG(last), ARG(ctx->a.D), ARG(irows), ARG(hid), ARG(S)};
    return mrxcl_run(ctx, K_BRANCH_AVERAGE, args, N_ARGS(args), (size_t)hid, rows);
}
