#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mrxcl.h"

uint64_t tu_seed(void)
{
    const char *env = getenv("SEED");
    if (env && *env)
        return strtoull(env, NULL, 10);
    return (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)clock();
}

uint64_t tu_next(tu_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((tu_next(r) >> 11) * (1.0 / 9007199254740992.0));
}

double tu_gauss(tu_rng *r)
{
    double u = tu_uniform(r, 1e-12, 1.0), v = tu_uniform(r, 0.0, 1.0);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static tu_tensor *add(tu_model *m, const char *name, int ndim, long long d0, long long d1)
{
    tu_tensor *t;
    m->t = realloc(m->t, (size_t)(m->n + 1) * sizeof *m->t);
    t = &m->t[m->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    strcpy(t->dtype, "F32");
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = (size_t)d0 * (ndim == 2 ? (size_t)d1 : 1);
    t->data = malloc(t->numel * sizeof(float) + 1);
    return t;
}

static void fill(tu_tensor *t, tu_rng *rng, double lo, double hi)
{
    size_t i;
    for (i = 0; i < t->numel; i++)
        t->data[i] = (float)tu_uniform(rng, lo, hi);
}

/* BatchNorm whose statistics are random too; mean/var near the given scale. */
static void batchnorm(tu_model *m, const char *prefix, int n, tu_rng *rng, double mean, double var)
{
    char name[96];
    snprintf(name, sizeof name, "%s.weight", prefix);
    fill(add(m, name, 1, n, 0), rng, 0.5, 1.5);
    snprintf(name, sizeof name, "%s.bias", prefix);
    fill(add(m, name, 1, n, 0), rng, -0.2, 0.2);
    snprintf(name, sizeof name, "%s.running_mean", prefix);
    fill(add(m, name, 1, n, 0), rng, mean * 0.5, mean * 1.5);
    snprintf(name, sizeof name, "%s.running_var", prefix);
    fill(add(m, name, 1, n, 0), rng, var * 0.5, var * 1.5);
}

int tu_model_random(tu_model *m, const tu_config *c, tu_rng *rng)
{
    int r, s, k, d, hid = c->hidden, H = hid / 2;
    char name[96];
    double a;
    memset(m, 0, sizeof *m);
    for (r = 0; r < c->n_res; r++) {
        int F = c->windows[r] / 2 + 1;
        snprintf(name, sizeof name, "_encoders.%d.layer.0", r);
        batchnorm(m, name, F, rng, 0.05, 0.01);
        snprintf(name, sizeof name, "_encoders.%d.layer.1.weight", r);
        a = 1.0 / sqrt(F);
        fill(add(m, name, 2, hid, F), rng, -a, a);
        snprintf(name, sizeof name, "_encoders.%d.layer.2", r);
        batchnorm(m, name, hid, rng, 0.0, 1.0);
    }
    a = 1.0 / sqrt(H);
    for (s = 0; s < c->n_sources; s++)
        for (k = 0; k < c->layers; k++)
            for (d = 0; d < 2; d++) {
                const char *sfx = d ? "_reverse" : "";
                snprintf(name, sizeof name, "_cross_net.lstm.%d.weight_ih_l%d%s", s, k, sfx);
                fill(add(m, name, 2, 4 * H, hid), rng, -a, a);
                snprintf(name, sizeof name, "_cross_net.lstm.%d.weight_hh_l%d%s", s, k, sfx);
                fill(add(m, name, 2, 4 * H, H), rng, -a, a);
                snprintf(name, sizeof name, "_cross_net.lstm.%d.bias_ih_l%d%s", s, k, sfx);
                fill(add(m, name, 1, 4 * H, 0), rng, -a, a);
                snprintf(name, sizeof name, "_cross_net.lstm.%d.bias_hh_l%d%s", s, k, sfx);
                fill(add(m, name, 1, 4 * H, 0), rng, -a, a);
            }
    for (s = 0; s < c->n_sources; s++)
        for (r = 0; r < c->n_res; r++) {
            int F = c->windows[r] / 2 + 1;
            snprintf(name, sizeof name, "_decoders.%d.%d.block.0.weight", s, r);
            a = 1.0 / sqrt(2 * hid);
            fill(add(m, name, 2, hid, 2 * hid), rng, -a, a);
            snprintf(name, sizeof name, "_decoders.%d.%d.block.1", s, r);
            batchnorm(m, name, hid, rng, 0.0, 0.3);
            snprintf(name, sizeof name, "_decoders.%d.%d.block.3.weight", s, r);
            a = 1.0 / sqrt(hid);
            fill(add(m, name, 2, F, hid), rng, -a, a);
            snprintf(name, sizeof name, "_decoders.%d.%d.block.4", s, r);
            batchnorm(m, name, F, rng, 0.0, 0.3);
        }
    return 0;
}

tu_tensor *tu_find(tu_model *m, const char *name)
{
    int i;
    for (i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return &m->t[i];
    return NULL;
}

void tu_model_remove(tu_model *m, const char *name)
{
    tu_tensor *t = tu_find(m, name);
    if (!t)
        return;
    free(t->data);
    memmove(t, t + 1, (size_t)(m->t + m->n - (t + 1)) * sizeof *t);
    m->n--;
}

static uint16_t to_half(float f)
{
    /* round-to-nearest-even float -> binary16, enough for test values (no subnormals) */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int exp = (int)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffff;
    if (exp <= 0)
        return (uint16_t)sign;
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00);
    uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)h;
}

unsigned char *tu_serialize(const tu_model *m, const tu_config *c, size_t *size)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    char buf[256], *json;
    size_t off = 0, hlen, pad, i;
    unsigned char *out;
    int k, r;

    cJSON_AddStringToObject(meta, "format", "mrxcl-mrx-1");
    snprintf(buf, sizeof buf, "%d", c->sample_rate);
    cJSON_AddStringToObject(meta, "sample_rate", buf);
    snprintf(buf, sizeof buf, "%d", c->hop);
    cJSON_AddStringToObject(meta, "hop", buf);
    snprintf(buf, sizeof buf, "%d", c->hidden);
    cJSON_AddStringToObject(meta, "hidden", buf);
    snprintf(buf, sizeof buf, "%d", c->layers);
    cJSON_AddStringToObject(meta, "lstm_layers", buf);
    buf[0] = '\0';
    for (r = 0; r < c->n_res; r++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", r ? "," : "", c->windows[r]);
    cJSON_AddStringToObject(meta, "window_lengths", buf);
    cJSON_AddStringToObject(meta, "sources", c->sources);
    if (c->consistency)
        cJSON_AddStringToObject(meta, "consistency", c->consistency);
    cJSON_AddItemToObject(root, "__metadata__", meta);
    for (k = 0; k < m->n; k++) {
        const tu_tensor *t = &m->t[k];
        size_t bytes = t->numel * (strcmp(t->dtype, "F16") == 0 ? 2 : 4);
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", t->dtype);
        for (i = 0; i < (size_t)t->ndim; i++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[i]));
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
        cJSON_AddItemToObject(e, "data_offsets", offs);
        cJSON_AddItemToObject(root, t->name, e);
        off += bytes;
    }
    json = cJSON_PrintUnformatted(root);
    hlen = strlen(json);
    pad = (8 - hlen % 8) % 8;
    *size = 8 + hlen + pad + off;
    out = malloc(*size);
    for (i = 0; i < 8; i++)
        out[i] = (unsigned char)(((hlen + pad) >> (8 * i)) & 0xff);
    memcpy(out + 8, json, hlen);
    memset(out + 8 + hlen, ' ', pad);
    off = 8 + hlen + pad;
    for (k = 0; k < m->n; k++) {
        const tu_tensor *t = &m->t[k];
        if (strcmp(t->dtype, "F16") == 0) {
            for (i = 0; i < t->numel; i++) {
                uint16_t h = to_half(t->data[i]);
                out[off++] = (unsigned char)(h & 0xff);
                out[off++] = (unsigned char)(h >> 8);
            }
        } else {
            memcpy(out + off, t->data, t->numel * 4);
            off += t->numel * 4;
        }
    }
    free(json);
    cJSON_Delete(root);
    return out;
}

void tu_model_free(tu_model *m)
{
    int i;
    for (i = 0; i < m->n; i++)
        free(m->t[i].data);
    free(m->t);
    memset(m, 0, sizeof *m);
}

double tu_snr_db(const double *ref, const float *x, size_t n)
{
    double s = 0, e = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = ref[i] - x[i];
        s += ref[i] * ref[i];
        e += d * d;
    }
    if (!(e == e) || !(s == s))
        return -INFINITY;
    return e == 0 ? INFINITY : 10 * log10(s / e);
}

struct mrxcl_context *tu_context(const unsigned char *buf, size_t size, int *skip)
{
    int st;
    mrxcl_model *model = mrxcl_model_load_memory(buf, size, &st);
    mrxcl_context *ctx;
    *skip = 0;
    if (!model) {
        fprintf(stderr, "model: %s\n", mrxcl_last_error(NULL));
        return NULL;
    }
    ctx = mrxcl_context_create(model, NULL, &st);
    mrxcl_model_free(model);
    if (!ctx) {
        fprintf(stderr, "context: %s\n", mrxcl_last_error(NULL));
        *skip = st == MRXCL_ERR_NO_DEVICE;
    }
    return ctx;
}
