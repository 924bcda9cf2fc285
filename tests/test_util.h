/* Test helpers: a seeded RNG, and random MRX models built in memory as safetensors,
 * keeping the raw (unfolded) tensors so that tests can compute references. */
#ifndef MRXCL_TEST_UTIL_H
#define MRXCL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SKIP_CODE 77

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

/* The seed from the SEED environment variable, else a fresh one; printed by the caller. */
uint64_t tu_seed(void);
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r, double lo, double hi);
double tu_gauss(tu_rng *r);

typedef struct tu_config {
    int sample_rate, hop, n_res, windows[8], hidden, layers, n_sources;
    const char *sources; /* "music,speech,sfx" */
    const char *consistency; /* metadata "consistency"; NULL: none */
} tu_config;

typedef struct tu_tensor {
    char name[96];
    char dtype[8]; /* "F32" (default), "F16", or anything to test rejection */
    int ndim;
    long long shape[2];
    size_t numel;
    float *data;
} tu_tensor;

typedef struct tu_model {
    tu_tensor *t;
    int n;
} tu_model;

/* Every tensor of the authors' state_dict (num_batches_tracked left out), random. */
int tu_model_random(tu_model *m, const tu_config *cfg, tu_rng *rng);
tu_tensor *tu_find(tu_model *m, const char *name);
void tu_model_remove(tu_model *m, const char *name);
/* safetensors bytes (malloc'd); metadata from cfg unless meta_override is not NULL. */
unsigned char *tu_serialize(const tu_model *m, const tu_config *cfg, size_t *size);
void tu_model_free(tu_model *m);

/* 10*log10(sum ref^2 / sum (ref - x)^2) */
double tu_snr_db(const double *ref, const float *x, size_t n);

/* A context on the default device for a model, or NULL after printing why. When
 * there is no OpenCL device at all, *skip is set. */
struct mrxcl_context *tu_context(const unsigned char *buf, size_t size, int *skip);

#endif
