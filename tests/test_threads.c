/* Two contexts separating at the same time in two threads (include/mrxcl.h: one context
 * per thread) give the stems that one context gives alone. On CPU devices both threads'
 * GEMMs go to the host's OpenBLAS at once (host/clutil.c), which must cope with calls from
 * several threads. SEED=N replays a run. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"
#include "test_util.h"

#define RATE 16000
#define FRAMES (3 * RATE)
#define SOURCES 3
#define ROUNDS 3

typedef struct job {
    const unsigned char *model;
    size_t size;
    const float *in;
    float *out[SOURCES];
    int rc;
} job;

static void *run(void *arg)
{
    job *j = arg;
    mrxcl_model *m = mrxcl_model_load_memory(j->model, j->size, &j->rc);
    mrxcl_context *ctx = m ? mrxcl_context_create(m, NULL, &j->rc) : NULL;
    int i;
    for (i = 0; ctx && i < ROUNDS && j->rc == MRXCL_OK; i++)
        j->rc = mrxcl_separate(ctx, &j->in, 1, FRAMES, RATE, j->out);
    mrxcl_context_free(ctx);
    mrxcl_model_free(m);
    return NULL;
}

int main(void)
{
    uint64_t seed = tu_seed();
    tu_rng rng = {seed};
    tu_config cfg = {RATE, 64, 2, {256, 512}, 64, 1, SOURCES, "music,speech,sfx", NULL};
    tu_model m;
    unsigned char *buf;
    size_t size, n;
    float *in[2];
    job alone, both[2];
    pthread_t th[2];
    int i, s, skip = 0, fails = 0;
    struct mrxcl_context *probe;

    printf("seed=%llu\n", (unsigned long long)seed);
    tu_model_random(&m, &cfg, &rng);
    buf = tu_serialize(&m, &cfg, &size);
    tu_model_free(&m);
    if (!(probe = tu_context(buf, size, &skip))) {
        free(buf);
        if (skip) {
            printf("SKIP: no OpenCL device\n");
            return SKIP_CODE;
        }
        return 1;
    }
    mrxcl_context_free(probe);
    for (i = 0; i < 2; i++) {
        in[i] = malloc(sizeof(float) * FRAMES);
        for (n = 0; n < FRAMES; n++)
            in[i][n] = (float)(0.1 * tu_gauss(&rng));
    }
    memset(&alone, 0, sizeof alone);
    memset(both, 0, sizeof both);
    alone.model = buf;
    alone.size = size;
    alone.in = in[1];
    for (s = 0; s < SOURCES; s++)
        alone.out[s] = malloc(sizeof(float) * FRAMES);
    run(&alone);
    for (i = 0; i < 2; i++) {
        both[i].model = buf;
        both[i].size = size;
        both[i].in = in[i];
        for (s = 0; s < SOURCES; s++)
            both[i].out[s] = malloc(sizeof(float) * FRAMES);
        pthread_create(&th[i], NULL, run, &both[i]);
    }
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    if (alone.rc || both[0].rc || both[1].rc) {
        printf("FAIL: status %d alone, %d and %d in threads: %s\n", alone.rc, both[0].rc, both[1].rc,
               mrxcl_last_error(NULL));
        return 1;
    }
    for (s = 0; s < SOURCES; s++) {
        double peak = 0, diff = 0;
        for (n = 0; n < FRAMES; n++) {
            peak = fmax(peak, fabs(alone.out[s][n]));
            diff = fmax(diff, fabs((double)alone.out[s][n] - both[1].out[s][n]));
        }
        printf("source %d: peak %.4g, largest difference alone vs. beside another thread %.3g%s\n", s, peak,
               diff, diff <= 1e-5 * peak && peak > 0 ? "" : "  FAIL");
        fails += !(diff <= 1e-5 * peak && peak > 0);
    }
    if (fails)
        printf("FAIL: replay with SEED=%llu\n", (unsigned long long)seed);
    for (i = 0; i < 2; i++) {
        free(in[i]);
        for (s = 0; s < SOURCES; s++) {
            free(both[i].out[s]);
            if (i == 0)
                free(alone.out[s]);
        }
    }
    free(buf);
    return fails ? 1 : 0;
}
