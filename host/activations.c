/* The activation buffers of the forward pass (engine.h, mrxcl_acts): made for the
 * largest input seen so far and kept between calls. */
#include <stdio.h>

#include "engine.h"

void mrxcl_acts_release(mrxcl_acts *a, int R)
{
    cl_mem *all[] = {&a->x, &a->out, &a->frames, &a->mag, &a->spec, &a->E,
                     &a->D, &a->gx, &a->y[0], &a->y[1], &a->Z};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i]) {
            clReleaseMemObject(*all[i]);
            *all[i] = NULL;
        }
    for (i = 0; i < (size_t)R; i++)
        if (a->X[i]) {
            clReleaseMemObject(a->X[i]);
            a->X[i] = NULL;
        }
    a->rows = a->L_B = 0;
}

static int alloc(mrxcl_context *ctx, cl_mem *m, size_t floats, const char *what)
{
    cl_int err;
    char msg[160];
    size_t bytes = (floats ? floats : 1) * sizeof(float);
    if (ctx->cl.max_alloc && bytes > ctx->cl.max_alloc)
        return mrxcl_fail(MRXCL_ERR_DEVICE_MEMORY,
                          "the input needs %zu MB for %s, more than the %llu MB '%s' allocates at "
                          "once; separate it in shorter pieces",
                          bytes >> 20, what, (unsigned long long)(ctx->cl.max_alloc >> 20),
                          ctx->cl.desc.name);
    *m = clCreateBuffer(ctx->cl.context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (*m)
        return MRXCL_OK;
    snprintf(msg, sizeof msg, "allocating %zu MB for %s", floats * sizeof(float) >> 20, what);
    return mrxcl_cl_check(ctx, err ? err : CL_MEM_OBJECT_ALLOCATION_FAILURE, msg);
}

/* Each activation buffer for rows frame rows and L_B samples, and its size in floats;
 * the spectra X[r] follow the table. */
typedef struct act_buffer {
    cl_mem *mem;
    size_t floats;
    const char *what;
} act_buffer;

static int act_table(const mrxcl_model_info *in, mrxcl_acts *a, size_t rows, size_t L_B,
                     act_buffer *t)
{
    size_t S = (size_t)in->n_sources, R = (size_t)in->n_resolutions, hid = (size_t)in->hidden;
    size_t Nmax = 0, Fmax, r;
    int n = 0;
    for (r = 0; r < R; r++)
        if ((size_t)in->window_lengths[r] > Nmax)
            Nmax = (size_t)in->window_lengths[r];
    Fmax = Nmax / 2 + 1;
    t[n++] = (act_buffer){&a->x, L_B, "the input"};
    t[n++] = (act_buffer){&a->out, S * L_B, "the stems"};
    t[n++] = (act_buffer){&a->frames, rows * Nmax, "STFT frames"};
    t[n++] = (act_buffer){&a->mag, rows * Fmax, "magnitudes and masks"};
    t[n++] = (act_buffer){&a->spec, rows * Fmax * 2, "masked spectra"};
    t[n++] = (act_buffer){&a->E, R * rows * hid, "encoder outputs"};
    t[n++] = (act_buffer){&a->D, rows * 2 * hid, "cross averages"};
    t[n++] = (act_buffer){&a->gx, S * rows * 4 * hid, "LSTM input projections"};
    t[n++] = (act_buffer){&a->y[0], S * rows * hid, "LSTM outputs"};
    t[n++] = (act_buffer){&a->y[1], S * rows * hid, "LSTM outputs"};
    t[n++] = (act_buffer){&a->Z, rows * S * R * hid, "decoder activations"};
    for (r = 0; r < R; r++)
        t[n++] = (act_buffer){&a->X[r], rows * ((size_t)in->window_lengths[r] / 2 + 1) * 2, "spectra"};
    return n;
}

#define ACT_MAX (11 + MRXCL_MAX_RESOLUTIONS)

size_t mrxcl_acts_bytes(const mrxcl_model_info *in, size_t rows, size_t L_B, size_t *largest)
{
    act_buffer t[ACT_MAX];
    mrxcl_acts scratch;
    size_t total = 0, big = 0;
    int n = act_table(in, &scratch, rows, L_B, t);
    for (int i = 0; i < n; i++) {
        total += t[i].floats * sizeof(float);
        if (t[i].floats * sizeof(float) > big)
            big = t[i].floats * sizeof(float);
    }
    if (largest)
        *largest = big;
    return total;
}

int mrxcl_acts_ensure(mrxcl_context *ctx, size_t rows, size_t L_B)
{
    mrxcl_acts *a = &ctx->a;
    act_buffer t[ACT_MAX];
    int rc;

    if (rows <= a->rows && L_B <= a->L_B)
        return MRXCL_OK;
    if (rows < a->rows)
        rows = a->rows;
    if (L_B < a->L_B)
        L_B = a->L_B;
    mrxcl_acts_release(a, ctx->info.n_resolutions);
    int n = act_table(&ctx->info, a, rows, L_B, t);
    for (int i = 0; i < n; i++)
        if ((rc = alloc(ctx, t[i].mem, t[i].floats, t[i].what))) {
            mrxcl_acts_release(a, ctx->info.n_resolutions);
            return rc;
        }
    a->rows = rows;
    a->L_B = L_B;
    return MRXCL_OK;
}
