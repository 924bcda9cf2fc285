/* Mixture consistency (docs/network.md, "Around the network"): what the stems leave of
 * the mixture, the residual input - sum of stems, shared equally among all sources (ALL)
 * or among the sources named music and sfx (MUSIC_SFX); PASS leaves the network's output
 * as it is. The one home of the modes: mrxcl_separate_stream() resolves the mode once and
 * shares the residual of every piece; mrxcl_consistency_apply() does both for a caller
 * of mrxcl_separate(), which itself returns the bare network. */
#include <string.h>

#include "engine.h"

int mrxcl_consistency_resolve(const mrxcl_model_info *info, mrxcl_consistency mode,
                              mrxcl_residual_share *share)
{
    int s;
    memset(share, 0, sizeof *share);
    share->n_sources = info->n_sources;
    switch (mode == MRXCL_CONSISTENCY_MODEL ? info->consistency : mode) {
    case MRXCL_CONSISTENCY_PASS:
        return MRXCL_OK;
    case MRXCL_CONSISTENCY_ALL:
        for (s = 0; s < info->n_sources; s++)
            share->takes[s] = 1;
        share->n_takers = info->n_sources;
        return MRXCL_OK;
    case MRXCL_CONSISTENCY_MUSIC_SFX:
        for (s = 0; s < info->n_sources; s++) {
            const char *name = info->source_names[s];
            share->takes[s] = strcmp(name, "music") == 0 || strcmp(name, "sfx") == 0;
            share->n_takers += share->takes[s];
        }
        if (share->n_takers != 2)
            return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "consistency music_sfx needs sources "
                              "named music and sfx; the model has %d of them", share->n_takers);
        return MRXCL_OK;
    default:
        return mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "consistency %d: not a mode", (int)mode);
    }
}

void mrxcl_consistency_share(const mrxcl_residual_share *share, const float *const *input,
                             int channels, size_t frames, float *const *stems)
{
    const float part = share->n_takers ? 1.0f / (float)share->n_takers : 0.0f;
    int c, s, S = share->n_sources;
    size_t k;
    if (!share->n_takers)
        return;
    for (c = 0; c < channels; c++)
        for (k = 0; k < frames; k++) {
            float sum = 0.0f, r;
            for (s = 0; s < S; s++)
                sum += stems[s * channels + c][k];
            r = (input[c][k] - sum) * part;
            for (s = 0; s < S; s++)
                if (share->takes[s])
                    stems[s * channels + c][k] += r;
        }
}

int mrxcl_consistency_apply(mrxcl_context *ctx, mrxcl_consistency mode, const float *const *input,
                            int channels, size_t frames, float *const *stems)
{
    mrxcl_residual_share share;
    int rc;
    if (!ctx)
        return MRXCL_ERR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    if (!input || !stems || channels < 1)
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "consistency needs input and stem buffers "
                        "and channels >= 1 (got %d)", channels);
    else if (!(rc = mrxcl_consistency_resolve(&ctx->info, mode, &share)))
        rc = mrxcl_check_planes(ctx, input, channels, stems, "stem buffer");
    if (rc)
        return mrxcl_keep_error(ctx, rc);
    mrxcl_consistency_share(&share, input, channels, frames, stems);
    return MRXCL_OK;
}
