/* CLBlast's GEMM kernel parameters per device: a cache of tuned ones, a short tune at a
 * device's first use, and a fixed set for CPUs.
 *
 * CLBlast picks its kernel parameters from a built-in database of devices; a device it
 * does not know (an H100, a CPU under PoCL) gets GPU-shaped defaults that may run far
 * below its speed. So, when a context is made (mrxcl_blas_setup):
 *  1. a cache entry for the device, written by mrxcl_tune_gemm() (`mrxcl tune`), is
 *     used: $XDG_CACHE_HOME/mrxcl/clblast/ (else ~/.cache/mrxcl/clblast/), one JSON file
 *     per device, keyed by platform, device name, driver version and CLBlast version;
 *     an entry that does not parse, lacks a parameter, names another device, driver or
 *     CLBlast, or that CLBlast refuses is ignored with a warning, never trusted;
 *  2. else, on a CPU device, the fixed set below (measured with clblast_tuner_xgemm on a
 *     2-core AVX-512 CPU under PoCL 3.1; bench/README.md);
 *  3. else, on a device whose GEMMs go through CLBlast, a short tune runs once and is
 *     cached, unless the context's auto_tune is 0 or MRXCL_TUNE=off; it says so at WARN
 *     level first. MRXCL_TUNE=always tunes CPU devices too (when their GEMMs go through
 *     CLBlast), and MRXCL_TUNE_FRACTION and MRXCL_TUNE_SIZE set the short tune's share
 *     of the search space and its GEMM's side (for tests).
 * MRXCL_CLBLAST_DEFAULTS=1 skips all of it: CLBlast's own choice. */
#include <clblast_c.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "blas_tune.h"
#include "engine.h"
#include "internal.h"

static const char *const xgemm_names[] = {"GEMMK", "KREG", "KWG",  "KWI",  "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                          "STRM",  "STRN",  "VWM",  "VWN"};
#define N_XGEMM (sizeof xgemm_names / sizeof xgemm_names[0])
static const size_t xgemm_cpu[N_XGEMM] = {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4};

/* Shares of CLBlast's Xgemm search space (about 350 000 configurations; each costs a
 * kernel build and a run): the short tune at first use, and `mrxcl tune`'s default. */
#define SHORT_TUNE_FRACTION 0.0005
#define TUNE_SIZE_MAX 1024
#define TUNE_SIZE_STEP 128 /* the tuner wants multiples of its largest tile */

#define CACHE_PATH_MAX 4096

/* What identifies a device's entry. */
typedef struct device_key {
    char platform[256], device[256], driver[256], clblast[32];
} device_key;

static void get_key(const mrxcl_cl *cl, device_key *k)
{
    memset(k, 0, sizeof *k);
    clGetPlatformInfo(cl->platform, CL_PLATFORM_NAME, sizeof k->platform - 1, k->platform, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_NAME, sizeof k->device - 1, k->device, NULL);
    clGetDeviceInfo(cl->device, CL_DRIVER_VERSION, sizeof k->driver - 1, k->driver, NULL);
    snprintf(k->clblast, sizeof k->clblast, "%d.%d.%d", CLBLAST_VERSION_MAJOR,
             CLBLAST_VERSION_MINOR, CLBLAST_VERSION_PATCH);
}

/* The cache directory, or -1 when neither XDG_CACHE_HOME nor HOME is set. */
static int cache_dir(char *dir, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(dir, size, "%s/mrxcl/clblast", xdg);
    else if (home && home[0])
        n = snprintf(dir, size, "%s/.cache/mrxcl/clblast", home);
    else
        return -1;
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* DIR/<device name, made a file name>-<FNV-1a of the whole key>.json */
static int cache_path(const device_key *k, char *path, size_t size)
{
    char dir[CACHE_PATH_MAX], name[64];
    uint64_t h = 1469598103934665603ull;
    const char *parts[] = {k->platform, k->device, k->driver, k->clblast};
    size_t j = 0;
    if (cache_dir(dir, sizeof dir) != 0)
        return -1;
    for (size_t p = 0; p < 4; p++)
        for (const char *c = parts[p];; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c)
                break;
        }
    for (const char *c = k->device; *c && j < 40; c++)
        name[j++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                        ? *c
                        : '_';
    name[j] = '\0';
    int n = snprintf(path, size, "%s/%s-%016llx.json", dir, name, (unsigned long long)h);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Reads the entry at `path` for key k into *p. 1: used; 0: none there; -1: ignored,
 * with why in `why`. */
static int cache_read(const char *path, const device_key *k, mrxcl_blas_params *p, char *why,
                      size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *o = cJSON_Parse(text);
    int rc = -1;
    if (!o) {
        snprintf(why, why_size, "it is not JSON");
        goto done;
    }
    const char *fields[][2] = {{"platform", k->platform}, {"device", k->device},
                               {"driver", k->driver},     {"clblast", k->clblast}};
    for (size_t i = 0; i < 4; i++) {
        const char *v = json_text(o, fields[i][0]);
        if (!v || strcmp(v, fields[i][1]) != 0) {
            snprintf(why, why_size, "its %s is '%s', this device's '%s' (stale)", fields[i][0],
                     v ? v : "(none)", fields[i][1]);
            goto done;
        }
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "xgemm");
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < N_XGEMM; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, xgemm_names[i]);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 4096) ||
            v->valuedouble != floor(v->valuedouble)) {
            snprintf(why, why_size, "its Xgemm parameter %s is missing or not a small whole number",
                     xgemm_names[i]);
            goto done;
        }
        snprintf(p->names[i], sizeof p->names[i], "%s", xgemm_names[i]);
        p->values[i] = (size_t)v->valuedouble;
    }
    p->count = (int)N_XGEMM;
    rc = 1;
done:
    cJSON_Delete(o);
    return rc;
}

/* mkdir -p for the cache directory. */
static int make_dirs(const char *dir)
{
    char path[CACHE_PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes the entry atomically (a temporary file renamed over it). */
static int cache_write(const char *path, const device_key *k, const mrxcl_blas_params *p,
                       const size_t shape[3], double fraction, double seconds)
{
    char dir[CACHE_PATH_MAX], tmp[CACHE_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if (make_dirs(dir) != 0)
        return mrxcl_fail(MRXCL_ERR_IO, "cannot create the cache directory '%s': %s", dir,
                          strerror(errno));
    cJSON *o = cJSON_CreateObject(), *x = cJSON_CreateObject(), *s = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "platform", k->platform);
    cJSON_AddStringToObject(o, "device", k->device);
    cJSON_AddStringToObject(o, "driver", k->driver);
    cJSON_AddStringToObject(o, "clblast", k->clblast);
    for (int i = 0; i < p->count; i++)
        cJSON_AddNumberToObject(x, p->names[i], (double)p->values[i]);
    cJSON_AddItemToObject(o, "xgemm", x);
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToArray(s, cJSON_CreateNumber((double)shape[i]));
    cJSON_AddItemToObject(o, "tuned_on_m_n_k", s);
    cJSON_AddNumberToObject(o, "fraction", fraction);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = text ? fopen(tmp, "wb") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = f && fclose(f) == 0 && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return mrxcl_fail(MRXCL_ERR_IO, "cannot write the cache entry '%s': %s", path, strerror(e));
    }
    return MRXCL_OK;
}

static int apply(const mrxcl_cl *cl, const char **names, const size_t *values, size_t n,
                 const char *what)
{
    CLBlastStatusCode st =
        CLBlastOverrideParameters(cl->device, "Xgemm", CLBlastPrecisionSingle, n, names, values);
    if (st != CLBlastSuccess) {
        /* Only speed is at stake: say so and go on with CLBlast's defaults. */
        mrxcl_log(MRXCL_LOG_WARN, "CLBlast refused the GEMM parameters %s (status %d): its "
                                  "defaults are used", what, (int)st);
        return -1;
    }
    mrxcl_log(MRXCL_LOG_DEBUG, "CLBlast: GEMM parameters %s for '%s'", what, cl->desc.name);
    return 0;
}

static int apply_params(const mrxcl_cl *cl, const mrxcl_blas_params *p, const char *what)
{
    const char *names[MRXCL_BLAS_MAX_PARAMS];
    for (int i = 0; i < p->count; i++)
        names[i] = p->names[i];
    return apply(cl, names, p->values, (size_t)p->count, what);
}

/* A multiple of TUNE_SIZE_STEP from TUNE_SIZE_STEP to TUNE_SIZE_MAX near x. */
static size_t tune_size(size_t x)
{
    size_t r = (x + TUNE_SIZE_STEP - 1) / TUNE_SIZE_STEP * TUNE_SIZE_STEP;
    return r < TUNE_SIZE_STEP ? TUNE_SIZE_STEP : r > TUNE_SIZE_MAX ? TUNE_SIZE_MAX : r;
}

int mrxcl_tune_gemm(mrxcl_context *ctx, double fraction, size_t size, mrxcl_tune_result *result)
{
    if (!ctx)
        return MRXCL_ERR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    mrxcl_tune_result r;
    memset(&r, 0, sizeof r);
    device_key k;
    mrxcl_blas_params p;
    char err[512] = "";
    int rc;
    if (!(fraction > 0 && fraction <= 1)) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "a tuning fraction of %g: it must be in (0, 1]",
                        fraction);
        goto out;
    }
    get_key(&ctx->cl, &k);
    if (cache_path(&k, r.cache_path, sizeof r.cache_path) != 0) {
        rc = mrxcl_fail(MRXCL_ERR_IO, "no cache directory: set XDG_CACHE_HOME or HOME");
        goto out;
    }
    /* A square GEMM as large as the model's LSTM input projections (both directions' four
     * gates over a 30 s piece), the GEMM it runs most, within 128 to 1024: the
     * parameters serve every shape, and CLBlast's tuner fails on some oblong ones
     * (1024 x 128 x 128 on PoCL 3.1: status -2039). */
    const mrxcl_model_info *mi = &ctx->info;
    size_t rows = (size_t)(30.0 * mi->sample_rate / mi->hop), gates = (size_t)8 * (size_t)mi->hidden;
    size_t side = size ? size : tune_size(rows > gates ? rows : gates);
    if (side % TUNE_SIZE_STEP || side > 8192) {
        rc = mrxcl_fail(MRXCL_ERR_INVALID_ARGUMENT, "a tuning size of %zu: a multiple of %d up "
                        "to 8192", side, TUNE_SIZE_STEP);
        goto out;
    }
    r.m = r.n = r.k = side;
    double t0 = mrxcl_clock();
    if (mrxcl_clblast_tune_xgemm(ctx->cl.queue, r.m, r.n, r.k, fraction, &p, err, sizeof err) != 0) {
        rc = mrxcl_fail(MRXCL_ERR_BLAS, "tuning on '%s': %s", ctx->cl.desc.name, err);
        goto out;
    }
    r.seconds = mrxcl_clock() - t0;
    size_t shape[3] = {r.m, r.n, r.k};
    if ((rc = cache_write(r.cache_path, &k, &p, shape, fraction, r.seconds)) != MRXCL_OK)
        goto out;
    for (int i = 0; i < p.count; i++) {
        size_t len = strlen(r.parameters);
        snprintf(r.parameters + len, sizeof r.parameters - len, "%s%s=%zu", i ? " " : "",
                 p.names[i], p.values[i]);
    }
    apply_params(&ctx->cl, &p, "just tuned");
    rc = MRXCL_OK;
out:
    if (result)
        *result = r;
    return mrxcl_keep_error(ctx, rc);
}

static int env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && !strcmp(v, value);
}

int mrxcl_blas_setup(mrxcl_context *ctx, int auto_tune)
{
    const mrxcl_cl *cl = &ctx->cl;
    const char *off = getenv("MRXCL_CLBLAST_DEFAULTS");
    if (off && *off && strcmp(off, "0"))
        return MRXCL_OK;
    cl_device_type type = 0;
    clGetDeviceInfo(cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    int cpu = (type & CL_DEVICE_TYPE_CPU) != 0;

    device_key k;
    char path[CACHE_PATH_MAX], why[512] = "", what[CACHE_PATH_MAX + 16];
    mrxcl_blas_params p;
    get_key(cl, &k);
    if (cache_path(&k, path, sizeof path) == 0) {
        int got = cache_read(path, &k, &p, why, sizeof why);
        snprintf(what, sizeof what, "from %s", path);
        if (got > 0 && apply_params(cl, &p, what) == 0)
            return MRXCL_OK;
        if (got < 0)
            mrxcl_log(MRXCL_LOG_WARN, "ignoring the CLBlast cache entry '%s': %s", path, why);
    }
    int tune = auto_tune && !env_is("MRXCL_TUNE", "off") && !env_is("MRXCL_TUNE", "0") &&
               !ctx->gemm_host && (!cpu || env_is("MRXCL_TUNE", "always"));
    if (tune) {
        const char *f = getenv("MRXCL_TUNE_FRACTION"), *n = getenv("MRXCL_TUNE_SIZE");
        double fraction = f && *f ? atof(f) : SHORT_TUNE_FRACTION;
        size_t size = n && *n ? (size_t)strtoul(n, NULL, 10) : 0;
        mrxcl_log(MRXCL_LOG_WARN, "tuning CLBlast's GEMM for '%s', once for this device and "
                                  "driver (MRXCL_TUNE=off skips it; 'mrxcl tune' tunes longer)",
                  cl->desc.name);
        mrxcl_tune_result r;
        if (mrxcl_tune_gemm(ctx, fraction, size, &r) == MRXCL_OK) {
            mrxcl_log(MRXCL_LOG_WARN, "tuned in %.1f s, kept in %s", r.seconds, r.cache_path);
            return MRXCL_OK;
        }
        /* Only speed is at stake. */
        mrxcl_log(MRXCL_LOG_WARN, "tuning failed (%s): CLBlast's defaults are used", ctx->error);
        ctx->error[0] = '\0';
        mrxcl_thread_error_clear();
    }
    if (cpu)
        apply(cl, (const char **)xgemm_names, xgemm_cpu, N_XGEMM, "for CPUs (the built-in set)");
    return MRXCL_OK;
}
