/* lstm_rates [--hidden 320,512] [--channels 1,2,4,8,16,32] [--blocks 1,2,4,8] [--steps T]
 *            [--reps N] [--out FILE.jsonl]
 * Times one layer of the LSTM recurrence alone (mrxcl_lstm_recurrence, kernels/lstm.cl) on
 * random input projections, for B channels of 3 branches x 2 directions (6B sequences of
 * T steps), with each recurrence formulation: block 1 is lstm_recurrence (a work-group per
 * sequence), block n > 1 lstm_recurrence_block with n sequences per work-group (the
 * context is made with MRXCL_LSTM_BLOCK=n). Random weights of the given model width
 * (hidden = 2H); speed does not depend on the weights. One warm-up, then N repetitions;
 * prints a table of the minimum time and GFLOP/s, counting the recurrent product only:
 * 8 H^2 FLOPs per step and sequence (h [H] times W_hh [H x 4H], a multiply and an add
 * each), the gates' nonlinearities left out. Writes one JSON object per measurement to
 * FILE. Internal API (engine.h), so it is built with the tests (tests/test_util.c makes
 * the model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "test_util.h"

#define MAXN 16

static int parse_list(const char *s, int *v)
{
    int n = 0;
    while (*s && n < MAXN) {
        v[n++] = atoi(s);
        s = strchr(s, ',');
        if (!s)
            break;
        s++;
    }
    return n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fills n floats of buf with uniform values in [-2, 2]: gate pre-activations of the size
 * a trained model's input projections give. */
static int fill_random(mrxcl_context *ctx, cl_mem buf, size_t n, tu_rng *rng)
{
    float *h = malloc(sizeof(float) * n);
    size_t i;
    cl_int err;
    if (!h)
        return 1;
    for (i = 0; i < n; i++)
        h[i] = (float)tu_uniform(rng, -2.0, 2.0);
    err = clEnqueueWriteBuffer(ctx->cl.queue, buf, CL_TRUE, 0, sizeof(float) * n, h, 0, NULL, NULL);
    free(h);
    return err != CL_SUCCESS;
}

int main(int argc, char **argv)
{
    int hidden[MAXN] = {320, 512}, chans[MAXN] = {1, 2, 4, 8, 16, 32}, blocks[MAXN] = {1, 2, 4, 8};
    int nh = 2, nc = 6, nb = 4, T = 256, reps = 3, ih, ib, ic, r, i;
    const char *out_path = NULL;
    FILE *out = NULL;
    tu_rng rng = {12345};

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hidden") && i + 1 < argc)
            nh = parse_list(argv[++i], hidden);
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            nc = parse_list(argv[++i], chans);
        else if (!strcmp(argv[i], "--blocks") && i + 1 < argc)
            nb = parse_list(argv[++i], blocks);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--hidden 320,512] [--channels 1,2,4,8,16,32] [--blocks 1,2,4,8] "
                            "[--steps T] [--reps N] [--out FILE.jsonl]\n", argv[0]);
            return 2;
        }
    }
    if (T < 1 || reps < 1 || reps > 100 || !nh || !nc || !nb) {
        fprintf(stderr, "lstm_rates: bad arguments\n");
        return 2;
    }
    if (out_path && !(out = fopen(out_path, "a"))) {
        perror(out_path);
        return 1;
    }
    printf("%6s %4s %3s %5s %10s %10s %8s\n", "hidden", "B", "SB", "T", "min ms", "median ms", "GFLOP/s");
    for (ih = 0; ih < nh; ih++)
        for (ib = 0; ib < nb; ib++) {
            tu_config cfg = {16000, 8, 1, {16}, hidden[ih], 1, 3, "music,speech,sfx", NULL};
            tu_model m;
            unsigned char *buf;
            size_t size, rows, H = (size_t)hidden[ih] / 2;
            mrxcl_context *ctx;
            cl_mem gx, y;
            char env[8];
            int skip, Bmax = 0;
            cl_int err;

            snprintf(env, sizeof env, "%d", blocks[ib]);
            setenv("MRXCL_LSTM_BLOCK", env, 1);
            tu_model_random(&m, &cfg, &rng);
            buf = tu_serialize(&m, &cfg, &size);
            ctx = tu_context(buf, size, &skip);
            free(buf);
            tu_model_free(&m);
            if (!ctx)
                return skip ? SKIP_CODE : 1;
            if ((blocks[ib] > 1) != (ctx->lstm_block_from > 0) ||
                (blocks[ib] > 1 && ctx->lstm_block != blocks[ib])) {
                fprintf(stderr, "lstm_rates: block %d not available on this device (H %zu)\n", blocks[ib], H);
                mrxcl_context_free(ctx);
                continue;
            }
            for (ic = 0; ic < nc; ic++)
                Bmax = chans[ic] > Bmax ? chans[ic] : Bmax;
            rows = (size_t)Bmax * T;
            gx = clCreateBuffer(ctx->cl.context, CL_MEM_READ_WRITE, sizeof(float) * 3 * rows * 8 * H, NULL, &err);
            y = clCreateBuffer(ctx->cl.context, CL_MEM_READ_WRITE, sizeof(float) * 3 * rows * 2 * H, NULL, &err);
            if (!gx || !y || fill_random(ctx, gx, 3 * rows * 8 * H, &rng)) {
                fprintf(stderr, "lstm_rates: cannot allocate %zu rows\n", rows);
                return 1;
            }
            ctx->a.gx = gx; /* the context's activations are not allocated: lend it ours */
            for (ic = 0; ic < nc; ic++) {
                int B = chans[ic];
                double t[101], flops = 8.0 * H * H * T * 6.0 * B;
                for (r = 0; r <= reps; r++) {
                    double t0 = mrxcl_clock();
                    if (mrxcl_lstm_recurrence(ctx, 0, y, B, T) || clFinish(ctx->cl.queue) != CL_SUCCESS) {
                        fprintf(stderr, "lstm_rates: %s\n", mrxcl_last_error(NULL));
                        return 1;
                    }
                    t[r] = mrxcl_clock() - t0; /* t[0]: the warm-up */
                }
                qsort(t + 1, (size_t)reps, sizeof(double), cmp);
                printf("%6d %4d %3d %5d %10.2f %10.2f %8.1f\n", hidden[ih], B, blocks[ib], T, t[1] * 1e3,
                       t[1 + reps / 2] * 1e3, flops / t[1] * 1e-9);
                if (out)
                    fprintf(out,
                            "{\"device\": \"%s\", \"hidden\": %d, \"H\": %zu, \"channels\": %d, \"block\": %d, "
                            "\"steps\": %d, \"reps\": %d, \"min_s\": %.6f, \"median_s\": %.6f, \"gflops\": %.2f}\n",
                            ctx->cl.desc.name, hidden[ih], H, B, blocks[ib], T, reps, t[1], t[1 + reps / 2],
                            flops / t[1] * 1e-9);
                fflush(stdout);
            }
            ctx->a.gx = NULL;
            clReleaseMemObject(gx);
            clReleaseMemObject(y);
            mrxcl_context_free(ctx);
        }
    if (out)
        fclose(out);
    return 0;
}
