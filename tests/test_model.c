/* Model loading: a valid model loads from memory and from a file with the right
 * configuration; F16 storage gives the same stems as F32 holding the same values;
 * every kind of broken model is refused with the right status and a message naming
 * the culprit. SEED=N replays a run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"
#include "test_util.h"

static int fails, passes;
static uint64_t g_seed;

static void expect(int cond, const char *what)
{
    printf("%s - %s\n", cond ? "ok" : "not ok", what);
    passes += cond != 0;
    if (!cond) {
        fails++;
        printf("FAIL: %s (replay with SEED=%llu)\n", what, (unsigned long long)g_seed);
    }
}

static const tu_config CFG = {16000, 8, 3, {16, 32, 64}, 8, 2, 3, "music,speech,sfx", NULL};

/* Loads buf and expects failure with status want and a message containing needle. */
static void expect_reject(const unsigned char *buf, size_t size, int want, const char *needle,
                          const char *what)
{
    int st = 0;
    mrxcl_model *m = mrxcl_model_load_memory(buf, size, &st);
    char line[512];
    int ok = !m && st == want && strstr(mrxcl_last_error(NULL), needle);
    snprintf(line, sizeof line, "%s: status %d (%s), message \"%s\"", what, st, mrxcl_strerror(st),
             mrxcl_last_error(NULL));
    expect(ok, line);
    mrxcl_model_free(m);
}

static void mutate_and_reject(tu_rng *rng, void (*mut)(tu_model *), int want, const char *needle,
                              const char *what)
{
    tu_model m;
    size_t size;
    unsigned char *buf;
    tu_model_random(&m, &CFG, rng);
    mut(&m);
    buf = tu_serialize(&m, &CFG, &size);
    expect_reject(buf, size, want, needle, what);
    free(buf);
    tu_model_free(&m);
}

static void drop_tensor(tu_model *m) { tu_model_remove(m, "_decoders.2.1.block.3.weight"); }
static void wrong_shape(tu_model *m)
{
    tu_tensor *t = tu_find(m, "_encoders.1.layer.1.weight");
    t->shape[1] = 16; /* 8 x 16 is still 8 x 17 minus 8 floats: keep numel consistent */
    t->numel = (size_t)t->shape[0] * 16;
}
static void nan_weight(tu_model *m) { tu_find(m, "_cross_net.lstm.1.weight_hh_l1_reverse")->data[5] = NAN; }
static void inf_weight(tu_model *m) { tu_find(m, "_decoders.0.0.block.4.bias")->data[0] = INFINITY; }
static void bad_dtype(tu_model *m) { strcpy(tu_find(m, "_encoders.0.layer.0.weight")->dtype, "BF16"); }
static void neg_var(tu_model *m) { tu_find(m, "_encoders.2.layer.2.running_var")->data[3] = -1.0f; }
static void extra_tensor(tu_model *m)
{
    /* a fourth source's decoder in a three-source model */
    tu_tensor *src = tu_find(m, "_decoders.2.0.block.0.weight");
    tu_tensor copy = *src;
    m->t = realloc(m->t, (size_t)(m->n + 1) * sizeof *m->t);
    copy.data = malloc(copy.numel * sizeof(float));
    memcpy(copy.data, tu_find(m, "_decoders.2.0.block.0.weight")->data, copy.numel * sizeof(float));
    strcpy(copy.name, "_decoders.3.0.block.0.weight");
    m->t[m->n++] = copy;
}

static void test_valid(tu_rng *rng)
{
    tu_model m;
    size_t size;
    unsigned char *buf;
    mrxcl_model *model;
    mrxcl_model_info info;
    int st = -99;
    FILE *f;
    char path[] = "/tmp/mrxcl_test_model_XXXXXX";
    int fd;

    tu_model_random(&m, &CFG, rng);
    buf = tu_serialize(&m, &CFG, &size);
    model = mrxcl_model_load_memory(buf, size, &st);
    expect(model && st == MRXCL_OK, "valid model loads from memory");
    if (model) {
        mrxcl_model_get_info(model, &info);
        expect(info.sample_rate == 16000 && info.hop == 8 && info.n_resolutions == 3 &&
                   info.window_lengths[2] == 64 && info.hidden == 8 && info.lstm_layers == 2 &&
                   info.n_sources == 3 && strcmp(info.source_names[1], "speech") == 0,
               "configuration read from the metadata");
        {
            size_t n = 0, n_stat = 0;
            int i;
            for (i = 0; i < m.n; i++) {
                if (strstr(m.t[i].name, ".running_"))
                    n_stat += m.t[i].numel;
                else
                    n += m.t[i].numel;
            }
            expect(info.n_parameters == n && info.n_statistics == n_stat && n_stat > 0,
                   "parameter count, BatchNorm statistics apart");
        }
    }
    mrxcl_model_free(model);
    mrxcl_model_free(NULL); /* a no-op */
    expect(!model || info.consistency == MRXCL_CONSISTENCY_PASS,
           "a model that names no consistency: pass");
    {
        static const char *const modes[] = {"pass", "all", "music_sfx"};
        for (int k = 0; k < 3; k++) {
            tu_config c = CFG;
            size_t sz;
            unsigned char *b;
            mrxcl_model *mm;
            char what[96];
            c.consistency = modes[k];
            b = tu_serialize(&m, &c, &sz);
            mm = mrxcl_model_load_memory(b, sz, &st);
            if (mm)
                mrxcl_model_get_info(mm, &info);
            snprintf(what, sizeof what, "metadata consistency '%s' read", modes[k]);
            expect(mm && (int)info.consistency == k, what);
            mrxcl_model_free(mm);
            free(b);
        }
    }

    fd = mkstemp(path);
    f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f) {
        fwrite(buf, 1, size, f);
        fclose(f);
    }
    model = mrxcl_model_load_file(path, &st);
    expect(model != NULL, "valid model loads from a file");
    mrxcl_model_free(model);
    remove(path);
    model = mrxcl_model_load_file("/nonexistent/model.safetensors", &st);
    expect(!model && st == MRXCL_ERR_IO && strstr(mrxcl_last_error(NULL), "/nonexistent/model.safetensors"),
           "missing model file: IO error naming the path");

    /* truncations: inside the length prefix, inside the header, inside the data */
    expect_reject(buf, 4, MRXCL_ERR_MODEL_FORMAT, "too short", "truncated to 4 bytes");
    expect_reject(buf, 100, MRXCL_ERR_MODEL_FORMAT, "truncated", "truncated inside the header");
    expect_reject(buf, size / 2, MRXCL_ERR_MODEL_FORMAT, "truncated", "truncated at half");
    expect_reject(buf, size - 1, MRXCL_ERR_MODEL_FORMAT, "truncated", "one byte short");
    {
        unsigned char junk[256];
        size_t i;
        for (i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)tu_next(rng);
        junk[7] = 0x7f; /* an absurd header length */
        expect_reject(junk, sizeof junk, MRXCL_ERR_MODEL_FORMAT, "safetensors", "random bytes");
    }
    free(buf);
    tu_model_free(&m);
}

/* A 'sources' entry longer than the loader's 511 characters: said to be too long, not
 * missing. */
#define S60 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh"
#define LONG_SOURCES "music,speech,sfx," S60 S60 S60 S60 S60 S60 S60 S60 S60 S60

static void test_bad_metadata(tu_rng *rng)
{
    struct {
        tu_config cfg;
        int want;
        const char *needle, *what;
    } cases[] = {
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 3, "", NULL}, MRXCL_ERR_MODEL_FORMAT, "sources", "no source names"},
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 3, "music,../speech,sfx", NULL}, MRXCL_ERR_MODEL_FORMAT,
         "source name", "source name with a path in it"},
        {{16000, 8, 3, {16, 22, 64}, 8, 2, 3, "music,speech,sfx", NULL}, MRXCL_ERR_UNSUPPORTED, "22",
         "window length with a prime factor 11"},
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 2, "music,speech", NULL}, MRXCL_ERR_MODEL_MISMATCH, "does not belong",
         "metadata says two sources, tensors hold three"},
        {{16000, 0, 3, {16, 32, 64}, 8, 2, 3, "music,speech,sfx", NULL}, MRXCL_ERR_MODEL_FORMAT, "hop",
         "hop of zero"},
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 3, "music,speech,sfx", "everything"},
         MRXCL_ERR_MODEL_FORMAT, "'consistency' = 'everything'", "consistency that is not a mode"},
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 3, "a,b,c", "music_sfx"}, MRXCL_ERR_MODEL_FORMAT,
         "music and sfx", "consistency music_sfx with no sources named music and sfx"},
        {{16000, 8, 3, {16, 32, 64}, 8, 2, 3, LONG_SOURCES, NULL}, MRXCL_ERR_MODEL_FORMAT,
         "'sources' is too long", "sources of 617 characters"},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tu_model m;
        size_t size;
        unsigned char *buf;
        tu_model_random(&m, &CFG, rng); /* tensors for CFG, metadata from the case */
        buf = tu_serialize(&m, &cases[k].cfg, &size);
        expect_reject(buf, size, cases[k].want, cases[k].needle, cases[k].what);
        free(buf);
        tu_model_free(&m);
    }
}

/* A header with __metadata__ twice (cJSON keeps both): refused, and nothing of the first
 * one leaks (the ASan build's LeakSanitizer checks that). */
static void test_duplicate_metadata(tu_rng *rng)
{
    static const char extra[] = "\"__metadata__\":{\"format\":\"mrxcl-mrx-1\",\"note\":"
                                "\"a first metadata object, whose strings must not leak\"},";
    tu_model m;
    size_t size, hlen = 0, k;
    unsigned char *buf, *dup;
    tu_model_random(&m, &CFG, rng);
    buf = tu_serialize(&m, &CFG, &size);
    for (k = 8; k-- > 0;)
        hlen = (hlen << 8) | buf[k];
    dup = malloc(size + sizeof extra);
    if (!dup || buf[8] != '{') {
        expect(0, "duplicate __metadata__: building the header");
    } else {
        size_t n = sizeof extra - 1, h2 = hlen + n;
        for (k = 0; k < 8; k++)
            dup[k] = (unsigned char)(h2 >> (8 * k));
        dup[8] = '{';
        memcpy(dup + 9, extra, n);
        memcpy(dup + 9 + n, buf + 9, size - 9);
        expect_reject(dup, size + n, MRXCL_ERR_MODEL_FORMAT, "__metadata__ twice",
                      "header with __metadata__ twice");
    }
    free(dup);
    free(buf);
    tu_model_free(&m);
}

/* F16 storage: the same stems as an F32 model holding the F16-rounded values. */
static void test_f16(tu_rng *rng)
{
    tu_model m;
    size_t size16, size32, L = 300, i;
    unsigned char *b16, *b32;
    int i_t, skip = 0;
    mrxcl_context *c16, *c32;
    float x[300], out16[3 * 300], out32[3 * 300];
    const float *in[1] = {x};
    float *o16[3] = {out16, out16 + L, out16 + 2 * L}, *o32[3] = {out32, out32 + L, out32 + 2 * L};

    tu_model_random(&m, &CFG, rng);
    for (i_t = 0; i_t < m.n; i_t++)
        strcpy(m.t[i_t].dtype, "F16");
    b16 = tu_serialize(&m, &CFG, &size16);
    {
        mrxcl_model *mm = mrxcl_model_load_memory(b16, size16, NULL);
        expect(mm != NULL, "F16 model loads");
        mrxcl_model_free(mm);
    }
    {
        /* The F32 twin holds exactly the half-precision values: decode the F16 file's
         * data section (tensors in order) with the textbook binary16 formula. */
        size_t hlen = 0, off;
        int k;
        for (k = 7; k >= 0; k--)
            hlen = (hlen << 8) | b16[k];
        off = 8 + hlen;
        for (i_t = 0; i_t < m.n; i_t++) {
            tu_tensor *t = &m.t[i_t];
            strcpy(t->dtype, "F32");
            for (i = 0; i < t->numel; i++, off += 2) {
                unsigned h = b16[off] | (b16[off + 1] << 8);
                int e = (h >> 10) & 0x1f, mant = h & 0x3ff;
                float v = e == 0 ? ldexpf((float)mant, -24) : ldexpf((float)(mant | 0x400), e - 25);
                t->data[i] = (h & 0x8000) ? -v : v;
            }
        }
    }
    b32 = tu_serialize(&m, &CFG, &size32);
    c16 = tu_context(b16, size16, &skip);
    c32 = c16 ? tu_context(b32, size32, &skip) : NULL;
    if (skip) {
        printf("ok - F16 versus F32 stems # SKIP no OpenCL device\n");
    } else if (!c16 || !c32) {
        expect(0, "contexts for the F16 and F32 models");
    } else {
        for (i = 0; i < L; i++)
            x[i] = (float)(0.1 * tu_gauss(rng));
        expect(mrxcl_separate(c16, in, 1, L, 16000, o16) == MRXCL_OK &&
                   mrxcl_separate(c32, in, 1, L, 16000, o32) == MRXCL_OK &&
                   memcmp(out16, out32, sizeof out16) == 0,
               "F16 model gives the same stems as its F32 twin");
    }
    mrxcl_context_free(c16);
    mrxcl_context_free(c32);
    free(b16);
    free(b32);
    tu_model_free(&m);
}

int main(void)
{
    tu_rng rng;
    g_seed = tu_seed();
    rng.s = g_seed;
    printf("seed=%llu\n", (unsigned long long)g_seed);

    test_valid(&rng);
    test_bad_metadata(&rng);
    test_duplicate_metadata(&rng);
    mutate_and_reject(&rng, drop_tensor, MRXCL_ERR_MODEL_MISMATCH, "_decoders.2.1.block.3.weight",
                      "missing tensor");
    mutate_and_reject(&rng, wrong_shape, MRXCL_ERR_MODEL_MISMATCH, "_encoders.1.layer.1.weight",
                      "wrong shape");
    mutate_and_reject(&rng, nan_weight, MRXCL_ERR_MODEL_VALUE, "_cross_net.lstm.1.weight_hh_l1_reverse",
                      "NaN weight");
    mutate_and_reject(&rng, inf_weight, MRXCL_ERR_MODEL_VALUE, "_decoders.0.0.block.4.bias",
                      "infinite weight");
    mutate_and_reject(&rng, bad_dtype, MRXCL_ERR_MODEL_FORMAT, "BF16", "unknown dtype");
    mutate_and_reject(&rng, neg_var, MRXCL_ERR_MODEL_VALUE, "running_var", "negative variance");
    mutate_and_reject(&rng, extra_tensor, MRXCL_ERR_MODEL_MISMATCH, "_decoders.3.0.block.0.weight",
                      "tensor beyond the configuration");
    test_f16(&rng);

    printf("%d passed, %d failed\n", passes, fails);
    return fails ? 1 : 0;
}
