/* Model loading: configuration from the safetensors metadata, every tensor checked
 * by name and exact shape against it, BatchNorm folded into the linear layers. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define MODEL_FORMAT "mrxcl-mrx-1"

/* ---- configuration ------------------------------------------------------------------ */

static int meta_int(const st_file *st, const char *key, int lo, int hi, int *out)
{
    const char *v = st_meta(st, key);
    char *end;
    long x;
    if (!v)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata lacks '%s'", key);
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata '%s' = '%s' is not an integer in [%d, %d]",
                          key, v, lo, hi);
    *out = (int)x;
    return MRXCL_OK;
}

/* clFFT handles lengths whose prime factors are 2, 3, 5 and 7. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int fft_length_ok(int n)
{
    static const int primes[] = {2, 3, 5, 7};
    int i;
    for (i = 0; i < 4; i++)
        while (n % primes[i] == 0)
            n /= primes[i];
    return n == 1;
}

/* The optional "consistency": the mode the model is meant to be used with (the mrxcl
 * command's default for it). A value the engine does not know means a file from a newer
 * mrxcl or a broken one: refused, not guessed. */
static int parse_consistency(const st_file *st, mrxcl_model_info *info)
{
    static const char *const names[] = {"pass", "all", "music_sfx"};
    const char *v = st_meta(st, "consistency");
    int i, found = 0;

    info->consistency = MRXCL_CONSISTENCY_PASS;
    if (!v)
        return MRXCL_OK;
    for (i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0)
            break;
    if (i == 3)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'consistency' = '%.40s' is not "
                          "pass, all or music_sfx", v);
    if (i == MRXCL_CONSISTENCY_MUSIC_SFX) {
        for (int s = 0; s < info->n_sources; s++)
            found += strcmp(info->source_names[s], "music") == 0 ||
                     strcmp(info->source_names[s], "sfx") == 0;
        if (found != 2)
            return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'consistency' = 'music_sfx' "
                              "needs sources named music and sfx; the model has %d of them", found);
    }
    info->consistency = (mrxcl_consistency)i;
    return MRXCL_OK;
}

static int parse_config(const st_file *st, mrxcl_model_info *info)
{
    const char *fmt = st_meta(st, "format"), *v;
    int rc;
    char buf[512], *tok, *save = NULL;

    memset(info, 0, sizeof *info);
    if (!fmt)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                          "safetensors file has no mrxcl metadata ('format'); convert checkpoints "
                          "with tools/convert.py");
    if (strcmp(fmt, MODEL_FORMAT) != 0)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model format '%s' is not '%s'", fmt, MODEL_FORMAT);
    if ((rc = meta_int(st, "sample_rate", 1000, 1000000, &info->sample_rate)) ||
        (rc = meta_int(st, "hop", 1, 1 << 20, &info->hop)) ||
        (rc = meta_int(st, "hidden", 2, 1 << 16, &info->hidden)) ||
        (rc = meta_int(st, "lstm_layers", 1, 64, &info->lstm_layers)))
        return rc;
    if (info->hidden % 2)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "hidden = %d must be even (two LSTM directions)",
                          info->hidden);

    if (!(v = st_meta(st, "window_lengths")))
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata lacks 'window_lengths'");
    if (strlen(v) >= sizeof buf)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'window_lengths' is too long "
                          "(%zu characters, at most %zu)", strlen(v), sizeof buf - 1);
    strcpy(buf, v);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long n = strtol(tok, &end, 10);
        if (*end || n < 2 || n > (1 << 20) || n % 2)
            return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "window length '%s' is not an even integer", tok);
        if (!fft_length_ok((int)n))
            return mrxcl_fail(MRXCL_ERR_UNSUPPORTED,
                              "window length %ld has a prime factor above 7, which clFFT lacks", n);
        if (info->n_resolutions == MRXCL_MAX_RESOLUTIONS)
            return mrxcl_fail(MRXCL_ERR_UNSUPPORTED, "more than %d window lengths", MRXCL_MAX_RESOLUTIONS);
        info->window_lengths[info->n_resolutions++] = (int)n;
    }
    if (info->n_resolutions == 0)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'window_lengths' is empty");

    if (!(v = st_meta(st, "sources")))
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata lacks 'sources'");
    if (strlen(v) >= sizeof buf)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'sources' is too long "
                          "(%zu characters, at most %zu)", strlen(v), sizeof buf - 1);
    strcpy(buf, v);
    save = NULL;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        /* Source names become file names: keep them to a safe alphabet. */
        size_t k, len = strlen(tok);
        if (len == 0 || len >= MRXCL_MAX_NAME)
            return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "source name '%s' is empty or too long", tok);
        for (k = 0; k < len; k++)
            if (!isalnum((unsigned char)tok[k]) && tok[k] != '_' && tok[k] != '-')
                return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT,
                                  "source name '%s' may hold only letters, digits, '_' and '-'", tok);
        if (info->n_sources == MRXCL_MAX_SOURCES)
            return mrxcl_fail(MRXCL_ERR_UNSUPPORTED, "more than %d sources", MRXCL_MAX_SOURCES);
        strcpy(info->source_names[info->n_sources++], tok);
    }
    if (info->n_sources == 0)
        return mrxcl_fail(MRXCL_ERR_MODEL_FORMAT, "model metadata 'sources' is empty");
    return parse_consistency(st, info);
}

/* ---- tensors ------------------------------------------------------------------------ */

static void shape_str(const long long *shape, int ndim, char *buf, size_t len)
{
    int i;
    size_t used = 0;
    used += (size_t)snprintf(buf, len, "[");
    for (i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

/* Looks a tensor up, checks its exact shape and that every value is finite, and
 * returns its values widened to float32 in a fresh buffer. */
static int get_tensor(st_file *st, const char *name, int ndim, long long d0, long long d1,
                      float **out)
{
    st_tensor *t = st_find(st, name);
    long long want[2] = {d0, d1};
    float *v;
    size_t i;
    int k, ok;

    *out = NULL;
    if (!t)
        return mrxcl_fail(MRXCL_ERR_MODEL_MISMATCH, "model lacks tensor '%s'", name);
    ok = t->ndim == ndim;
    for (k = 0; ok && k < ndim; k++)
        ok = t->shape[k] == want[k];
    if (!ok) {
        char have[96], need[96];
        shape_str(t->shape, t->ndim, have, sizeof have);
        shape_str(want, ndim, need, sizeof need);
        return mrxcl_fail(MRXCL_ERR_MODEL_MISMATCH,
                          "tensor '%s' has shape %s, but the model's configuration needs %s", name,
                          have, need);
    }
    v = malloc(t->numel * sizeof(float) + 1);
    if (!v)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading tensor '%s'", name);
    st_read_f32(t, v);
    for (i = 0; i < t->numel; i++)
        if (!isfinite(v[i])) {
            const char *what = isnan(v[i]) ? "NaN" : "an infinite value";
            free(v);
            return mrxcl_fail(MRXCL_ERR_MODEL_VALUE, "tensor '%s' holds %s at index %zu", name, what, i);
        }
    t->used = 1;
    *out = v;
    return MRXCL_OK;
}

/* BatchNorm in inference as y = a * x + c. */
static int get_batchnorm(st_file *st, const char *prefix, int n, double *a, double *c)
{
    static const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
    float *p[4] = {0};
    char name[160];
    int i, rc = MRXCL_OK;
    st_tensor *nbt;

    for (i = 0; i < 4 && !rc; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, parts[i]);
        rc = get_tensor(st, name, 1, n, 0, &p[i]);
    }
    if (!rc) {
        for (i = 0; i < n; i++) {
            if (p[3][i] < 0) {
                snprintf(name, sizeof name, "%s.running_var", prefix);
                rc = mrxcl_fail(MRXCL_ERR_MODEL_VALUE, "tensor '%s' holds a negative variance at index %d",
                                name, i);
                break;
            }
            a[i] = p[0][i] / sqrt((double)p[3][i] + MRXCL_BN_EPS);
            c[i] = p[1][i] - p[2][i] * a[i];
        }
    }
    /* The engine ignores the counter, but it is part of the authors' state_dict. */
    snprintf(name, sizeof name, "%s.num_batches_tracked", prefix);
    if ((nbt = st_find(st, name)))
        nbt->used = 1;
    for (i = 0; i < 4; i++)
        free(p[i]);
    return rc;
}

static void free_weights(mrxcl_weights *w, int n_lstm, int n_dec)
{
    int i;
    for (i = 0; i < MRXCL_MAX_RESOLUTIONS; i++) {
        free(w->enc_w[i]);
        free(w->enc_b[i]);
    }
    for (i = 0; i < n_lstm; i++) {
        if (w->lstm_wih)
            free(w->lstm_wih[i]);
        if (w->lstm_bias)
            free(w->lstm_bias[i]);
        if (w->lstm_whh_t)
            free(w->lstm_whh_t[i]);
    }
    for (i = 0; i < n_dec; i++) {
        if (w->dec2_w)
            free(w->dec2_w[i]);
        if (w->dec2_b)
            free(w->dec2_b[i]);
    }
    free(w->lstm_wih);
    free(w->lstm_bias);
    free(w->lstm_whh_t);
    free(w->dec1_w);
    free(w->dec1_b);
    free(w->dec2_w);
    free(w->dec2_b);
    memset(w, 0, sizeof *w);
}

static int load_encoders(st_file *st, const mrxcl_model_info *in, mrxcl_weights *w, double *a1,
                         double *c1, double *a2, double *c2)
{
    int r, j, f, rc, hid = in->hidden;
    char name[160];
    for (r = 0; r < in->n_resolutions; r++) {
        int F = in->window_lengths[r] / 2 + 1;
        float *W;
        snprintf(name, sizeof name, "_encoders.%d.layer.0", r);
        if ((rc = get_batchnorm(st, name, F, a1, c1)))
            return rc;
        snprintf(name, sizeof name, "_encoders.%d.layer.2", r);
        if ((rc = get_batchnorm(st, name, hid, a2, c2)))
            return rc;
        snprintf(name, sizeof name, "_encoders.%d.layer.1.weight", r);
        if ((rc = get_tensor(st, name, 2, hid, F, &W)))
            return rc;
        w->enc_b[r] = malloc((size_t)hid * sizeof(float));
        if (!w->enc_b[r]) {
            free(W);
            return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory folding the encoders");
        }
        /* a2 * (W (a1 x + c1)) + c2  =  (a2 W a1) x + (a2 W c1 + c2) */
        for (j = 0; j < hid; j++) {
            double bias = 0;
            float *row = W + (size_t)j * F;
            for (f = 0; f < F; f++) {
                bias += (double)row[f] * c1[f];
                row[f] = (float)(a2[j] * row[f] * a1[f]);
            }
            w->enc_b[r][j] = (float)(a2[j] * bias + c2[j]);
        }
        w->enc_w[r] = W;
    }
    return MRXCL_OK;
}

static int load_lstms(st_file *st, const mrxcl_model_info *in, mrxcl_weights *w)
{
    int s, k, d, rc = MRXCL_OK, H = in->hidden / 2, G = 4 * H;
    char name[160];
    for (s = 0; s < in->n_sources; s++)
        for (k = 0; k < in->lstm_layers; k++) {
            int idx = s * in->lstm_layers + k, in_w = in->hidden; /* layer 0: C1; later: 2H */
            float *wih = malloc((size_t)2 * G * in_w * sizeof(float));
            float *bias = malloc((size_t)2 * G * sizeof(float));
            float *whh_t = malloc((size_t)2 * H * G * sizeof(float));
            w->lstm_wih[idx] = wih;
            w->lstm_bias[idx] = bias;
            w->lstm_whh_t[idx] = whh_t;
            if (!wih || !bias || !whh_t)
                return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading the LSTMs");
            for (d = 0; d < 2; d++) {
                const char *sfx = d ? "_reverse" : "";
                float *t_ih, *t_hh, *b_ih, *b_hh;
                int i, j;
                snprintf(name, sizeof name, "_cross_net.lstm.%d.weight_ih_l%d%s", s, k, sfx);
                if ((rc = get_tensor(st, name, 2, G, in_w, &t_ih)))
                    return rc;
                memcpy(wih + (size_t)d * G * in_w, t_ih, (size_t)G * in_w * sizeof(float));
                free(t_ih);
                snprintf(name, sizeof name, "_cross_net.lstm.%d.weight_hh_l%d%s", s, k, sfx);
                if ((rc = get_tensor(st, name, 2, G, H, &t_hh)))
                    return rc;
                for (i = 0; i < G; i++)
                    for (j = 0; j < H; j++)
                        whh_t[(size_t)d * H * G + (size_t)j * G + i] = t_hh[(size_t)i * H + j];
                free(t_hh);
                snprintf(name, sizeof name, "_cross_net.lstm.%d.bias_ih_l%d%s", s, k, sfx);
                if ((rc = get_tensor(st, name, 1, G, 0, &b_ih)))
                    return rc;
                snprintf(name, sizeof name, "_cross_net.lstm.%d.bias_hh_l%d%s", s, k, sfx);
                if ((rc = get_tensor(st, name, 1, G, 0, &b_hh))) {
                    free(b_ih);
                    return rc;
                }
                for (i = 0; i < G; i++)
                    bias[d * G + i] = b_ih[i] + b_hh[i];
                free(b_ih);
                free(b_hh);
            }
        }
    return rc;
}

static int load_decoders(st_file *st, const mrxcl_model_info *in, mrxcl_weights *w, double *a,
                         double *c)
{
    int s, r, j, i, rc, hid = in->hidden, R = in->n_resolutions;
    char name[160];
    w->dec1_w = malloc((size_t)in->n_sources * R * hid * 2 * hid * sizeof(float));
    w->dec1_b = malloc((size_t)in->n_sources * R * hid * sizeof(float));
    if (!w->dec1_w || !w->dec1_b)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading the decoders");
    for (s = 0; s < in->n_sources; s++)
        for (r = 0; r < R; r++) {
            int F = in->window_lengths[r] / 2 + 1, sr = s * R + r;
            float *W1, *W2;
            snprintf(name, sizeof name, "_decoders.%d.%d.block.1", s, r);
            if ((rc = get_batchnorm(st, name, hid, a, c)))
                return rc;
            snprintf(name, sizeof name, "_decoders.%d.%d.block.0.weight", s, r);
            if ((rc = get_tensor(st, name, 2, hid, 2 * hid, &W1)))
                return rc;
            for (j = 0; j < hid; j++) {
                float *dst = w->dec1_w + ((size_t)sr * hid + j) * 2 * hid;
                for (i = 0; i < 2 * hid; i++)
                    dst[i] = (float)(a[j] * W1[(size_t)j * 2 * hid + i]);
                w->dec1_b[(size_t)sr * hid + j] = (float)c[j];
            }
            free(W1);

            snprintf(name, sizeof name, "_decoders.%d.%d.block.4", s, r);
            if ((rc = get_batchnorm(st, name, F, a, c)))
                return rc;
            snprintf(name, sizeof name, "_decoders.%d.%d.block.3.weight", s, r);
            if ((rc = get_tensor(st, name, 2, F, hid, &W2)))
                return rc;
            w->dec2_w[sr] = W2;
            w->dec2_b[sr] = malloc((size_t)F * sizeof(float));
            if (!w->dec2_b[sr])
                return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading the decoders");
            for (j = 0; j < F; j++) {
                for (i = 0; i < hid; i++)
                    W2[(size_t)j * hid + i] = (float)(a[j] * W2[(size_t)j * hid + i]);
                w->dec2_b[sr][j] = (float)c[j];
            }
        }
    return MRXCL_OK;
}

static int load(const unsigned char *data, size_t size, mrxcl_model **out)
{
    st_file st;
    mrxcl_model *m = NULL;
    double *a1 = NULL, *c1 = NULL, *a2 = NULL, *c2 = NULL;
    int rc, i, maxF = 0, n_lstm, n_dec;

    *out = NULL;
    if ((rc = st_parse(data, size, &st)))
        return rc;
    m = calloc(1, sizeof *m);
    if (!m) {
        st_free(&st);
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading the model");
    }
    if ((rc = parse_config(&st, &m->info)))
        goto fail;
    n_lstm = m->info.n_sources * m->info.lstm_layers;
    n_dec = m->info.n_sources * m->info.n_resolutions;
    for (i = 0; i < m->info.n_resolutions; i++)
        if (m->info.window_lengths[i] / 2 + 1 > maxF)
            maxF = m->info.window_lengths[i] / 2 + 1;
    if (maxF < m->info.hidden)
        maxF = m->info.hidden;
    a1 = malloc((size_t)maxF * sizeof(double));
    c1 = malloc((size_t)maxF * sizeof(double));
    a2 = malloc((size_t)maxF * sizeof(double));
    c2 = malloc((size_t)maxF * sizeof(double));
    m->w.lstm_wih = calloc((size_t)n_lstm, sizeof(float *));
    m->w.lstm_bias = calloc((size_t)n_lstm, sizeof(float *));
    m->w.lstm_whh_t = calloc((size_t)n_lstm, sizeof(float *));
    m->w.dec2_w = calloc((size_t)n_dec, sizeof(float *));
    m->w.dec2_b = calloc((size_t)n_dec, sizeof(float *));
    if (!a1 || !c1 || !a2 || !c2 || !m->w.lstm_wih || !m->w.lstm_bias || !m->w.lstm_whh_t ||
        !m->w.dec2_w || !m->w.dec2_b) {
        rc = mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory loading the model");
        goto fail;
    }
    if ((rc = load_encoders(&st, &m->info, &m->w, a1, c1, a2, c2)) ||
        (rc = load_lstms(&st, &m->info, &m->w)) || (rc = load_decoders(&st, &m->info, &m->w, a1, c1)))
        goto fail;
    /* A tensor nobody asked for means the file and its metadata disagree (say, four
     * decoders for three sources): refuse rather than silently ignore it. */
    for (i = 0; i < st.n_tensors; i++) {
        if (!st.tensors[i].used) {
            rc = mrxcl_fail(MRXCL_ERR_MODEL_MISMATCH,
                            "tensor '%s' does not belong to an MRX model with this configuration",
                            st.tensors[i].name);
            goto fail;
        }
        if (ends_with(st.tensors[i].name, ".running_mean") ||
            ends_with(st.tensors[i].name, ".running_var") ||
            ends_with(st.tensors[i].name, ".num_batches_tracked"))
            m->info.n_statistics += st.tensors[i].numel;
        else
            m->info.n_parameters += st.tensors[i].numel;
    }
    free(a1);
    free(c1);
    free(a2);
    free(c2);
    st_free(&st);
    *out = m;
    return MRXCL_OK;
fail:
    free(a1);
    free(c1);
    free(a2);
    free(c2);
    free_weights(&m->w, m->info.n_sources * m->info.lstm_layers,
                 m->info.n_sources * m->info.n_resolutions);
    free(m);
    st_free(&st);
    return rc;
}

mrxcl_model *mrxcl_model_load_memory(const void *data, size_t size, int *status)
{
    mrxcl_model *m = NULL;
    int rc;
    mrxcl_thread_error_clear();
    if (!data)
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "model buffer is NULL");
    else
        rc = load(data, size, &m);
    if (status)
        *status = rc;
    return m;
}

/* Reads the whole of f into a fresh buffer (*len bytes, plus one). A regular file is
 * sized once; anything else (a FIFO, a pipe, a character device) is read in one pass,
 * growing the buffer, since it can be read only once and has no size. */
static int read_model_stream(FILE *f, const char *path, unsigned char **out, size_t *len)
{
    struct stat st;
    unsigned char *buf = NULL;
    size_t cap, n = 0;

    *out = NULL;
    *len = 0;
    if (fstat(fileno(f), &st) != 0)
        return mrxcl_fail(MRXCL_ERR_IO, "cannot read model '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return mrxcl_fail(MRXCL_ERR_IO, "model '%s' is a directory, not a model file", path);
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size >= (unsigned long long)SIZE_MAX)
        return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "model '%s' is too large to read", path);
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (size_t)1 << 20;
    for (;;) {
        if (n + 1 >= cap || !buf) {
            unsigned char *p;
            if (buf && cap > SIZE_MAX / 2) {
                free(buf);
                return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "model '%s' is too large to read", path);
            }
            if (buf)
                cap *= 2;
            if (!(p = realloc(buf, cap))) {
                free(buf);
                return mrxcl_fail(MRXCL_ERR_OUT_OF_MEMORY, "out of memory reading model '%s'", path);
            }
            buf = p;
        }
        size_t want = cap - 1 - n, got = fread(buf + n, 1, want, f);
        int c;
        n += got;
        if (got < want) /* the end, or an error */
            break;
        if (S_ISREG(st.st_mode) && (c = fgetc(f)) == EOF) /* exactly the size fstat gave */
            break;
        else if (S_ISREG(st.st_mode))
            ungetc(c, f); /* it grew since: read on */
    }
    if (ferror(f)) {
        free(buf);
        return mrxcl_fail(MRXCL_ERR_IO, "cannot read model '%s': %s", path, strerror(errno));
    }
    *out = buf;
    *len = n;
    return MRXCL_OK;
}

mrxcl_model *mrxcl_model_load_file(const char *path, int *status)
{
    FILE *f;
    unsigned char *buf = NULL;
    size_t len = 0;
    mrxcl_model *m = NULL;
    int rc = MRXCL_OK;

    mrxcl_thread_error_clear();
    if (!path) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "model path is NULL");
        goto done;
    }
    /* Opened once and read once: a FIFO or /dev/stdin has nothing to give a second time. */
    if (!(f = fopen(path, "rb"))) {
        rc = mrxcl_fail(MRXCL_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
        goto done;
    }
    rc = read_model_stream(f, path, &buf, &len);
    fclose(f);
    if (!rc) {
        mrxcl_fail_quiet(1);
        rc = load(buf, len, &m);
        mrxcl_fail_quiet(0);
        if (rc) {
            /* The loader's message, with the file name in front, logged once. */
            char msg[MRXCL_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", mrxcl_thread_error());
            mrxcl_fail(rc, "model '%s': %s", path, msg);
        }
    }
done:
    free(buf);
    if (status)
        *status = rc;
    return m;
}

#ifdef MRXCL_HAVE_DEFAULT_MODEL
extern const unsigned char mrxcl_default_model_data[];
extern const unsigned long long mrxcl_default_model_size;
#endif

mrxcl_model *mrxcl_model_load_default(int *status)
{
#ifdef MRXCL_HAVE_DEFAULT_MODEL
    mrxcl_model *m = mrxcl_model_load_memory(mrxcl_default_model_data, (size_t)mrxcl_default_model_size,
                                             status);
    if (!m) {
        char msg[MRXCL_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", mrxcl_thread_error());
        mrxcl_fail(status ? *status : MRXCL_ERR_MODEL_FORMAT, "the embedded default model: %s", msg);
    }
    return m;
#else
    int rc;
    mrxcl_thread_error_clear();
    rc = mrxcl_fail(MRXCL_ERR_UNSUPPORTED, "this build of mrxcl carries no default model");
    if (status)
        *status = rc;
    return NULL;
#endif
}

int mrxcl_has_default_model(void)
{
#ifdef MRXCL_HAVE_DEFAULT_MODEL
    return 1;
#else
    return 0;
#endif
}

void mrxcl_model_free(mrxcl_model *model)
{
    if (!model)
        return;
    free_weights(&model->w, model->info.n_sources * model->info.lstm_layers,
                 model->info.n_sources * model->info.n_resolutions);
    free(model);
}

int mrxcl_model_get_info(const mrxcl_model *model, mrxcl_model_info *info)
{
    if (!model || !info)
        return MRXCL_ERR_INVALID_ARGUMENT;
    *info = model->info;
    return MRXCL_OK;
}
