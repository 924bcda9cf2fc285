/* The BiLSTM branches: per layer, the input projections of every step of every branch
 * and both directions as CLBlast GEMMs, then one launch of the recurrence kernel that
 * steps all branches, directions and channels side by side. */
#include "engine.h"

int mrxcl_bilstm(mrxcl_context *ctx, size_t rows, int B, int T)
{
    const mrxcl_model_info *in = &ctx->info;
    int S = in->n_sources, hid = in->hidden, H = hid / 2, G8 = 8 * H;
    int layer, s, rc;
    cl_kernel k = ctx->k[K_LSTM];
    cl_mem src = ctx->a.D;
    cl_int err;
    double t0, t_gemm = 0, t_rec = 0;

    for (layer = 0; layer < in->lstm_layers; layer++) {
        cl_mem dst = ctx->a.y[layer % 2];
        t0 = mrxcl_profile_clock(ctx);
        /* Layer 0 reads C1 (left half of D, row stride 2*hidden) for every branch;
         * later layers read their own branch's previous output. */
        for (s = 0; s < S; s++) {
            size_t a_off = layer == 0 ? 0 : (size_t)s * rows * hid;
            size_t lda = layer == 0 ? (size_t)2 * hid : (size_t)hid;
            if ((rc = mrxcl_gemm_nt(ctx, rows, (size_t)G8, (size_t)hid, src, a_off, lda,
                                    ctx->lstm_wih[layer], (size_t)s * G8 * hid, (size_t)hid,
                                    ctx->a.gx, (size_t)s * rows * G8, (size_t)G8,
                                    "LSTM input projection")))
                return rc;
        }
        t_gemm += mrxcl_profile_clock(ctx) - t0;
        t0 = mrxcl_profile_clock(ctx);
        err = KARG(k, 0, ctx->a.gx);
        err |= KARG(k, 1, ctx->lstm_whh_t[layer]);
        err |= KARG(k, 2, ctx->lstm_bias[layer]);
        err |= KARG(k, 3, dst);
        err |= KARG(k, 4, T);
        err |= KARG(k, 5, H);
        err |= KARG(k, 6, B);
        err |= clSetKernelArg(k, 7, sizeof(float) * 2 * (size_t)H, NULL);
        err |= clSetKernelArg(k, 8, sizeof(float) * (size_t)H, NULL);
        if ((rc = mrxcl_cl_check(ctx, err, "setting lstm_recurrence arguments")))
            return rc;
        {
            size_t local = ctx->lstm_local;
            size_t global = local * (size_t)S * 2 * (size_t)B;
            err = clEnqueueNDRangeKernel(ctx->cl.queue, k, 1, NULL, &global, &local, 0, NULL, NULL);
            if ((rc = mrxcl_cl_check(ctx, err, "launching lstm_recurrence")))
                return rc;
        }
        t_rec += mrxcl_profile_clock(ctx) - t0;
        src = dst;
    }
    if (ctx->profile)
        mrxcl_log(MRXCL_LOG_INFO, "profile: LSTM input GEMMs %.2f ms, recurrence %.2f ms", t_gemm * 1e3,
                  t_rec * 1e3);

    k = ctx->k[K_BRANCH_AVERAGE];
    {
        int irows = (int)rows;
        err = KARG(k, 0, src);
        err |= KARG(k, 1, ctx->a.D);
        err |= KARG(k, 2, irows);
        err |= KARG(k, 3, hid);
        err |= KARG(k, 4, S);
    }
    if ((rc = mrxcl_cl_check(ctx, err, "setting branch_average arguments")))
        return rc;
    return mrxcl_launch(ctx, K_BRANCH_AVERAGE, (size_t)hid, rows, "branch_average");
}
