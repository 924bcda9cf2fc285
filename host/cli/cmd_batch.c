/* mrxcl batch: many inputs with one model and one OpenCL context (one `separation`,
 * separation.h), for a farm: sharded (--shard I/N, or a Slurm array task's), idempotent
 * (an input whose outputs were made from the same input, model and options is skipped)
 * and resumable (what a killed run left unfinished is redone), going on past a bad input.
 *
 * Layout: ROOT/PATH/<source>.<ext> (stems) or ROOT/PATH.<ext> (--remix), PATH being the
 * input's path relative to the common directory of all inputs (of every shard: the list
 * is the same in each), without its extension. ROOT/.mrxcl/done/<sha256 of PATH>.json
 * records a finished input; it is written (temporary file, fsync, rename) only after its
 * outputs are in place, and removed before an input is redone, so that an input killed at
 * any moment is either recorded with all its outputs or redone by the next run.
 * ROOT/.mrxcl/summary-I-of-N.json holds the last run's summary of each shard. */
#define _POSIX_C_SOURCE 200809L

#include "commands.h"
#include "common.h"
#include "separation.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* How much of each end of an input its identity hashes: with its size and mtime, a
 * changed file is seen without reading a film through. */
#define ENDS_BYTES (1024 * 1024)
/* Directories nested deeper than this are not walked (a symbolic link loop). */
#define MAX_WALK_DEPTH 64
/* A record's temporary file older than this is a killed run's (a write takes ms). */
#define STALE_TEMP_SECONDS 600

typedef struct input_item {
    char *path; /* absolute, lexically normalised */
    char *out;  /* PATH: relative to the common base, extension dropped */
} input_item;

typedef struct input_list {
    input_item *items;
    size_t n, cap;
} input_list;

static int list_add(input_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        input_item *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n].path = strdup(path);
    l->items[l->n].out = NULL;
    if (!l->items[l->n].path)
        return -1;
    l->n++;
    return 0;
}

static void list_free(input_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].path);
        free(l->items[i].out);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* An absolute path without ".", "..", or repeated slashes (lexically: symbolic links are
 * kept, so that PATH is what the user sees). NULL if out of memory or no cwd. */
static char *absolute_path(const char *path)
{
    char cwd[4096];
    size_t n = strlen(path);
    char *joined;
    if (path[0] == '/') {
        joined = strdup(path);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return NULL;
        joined = malloc(strlen(cwd) + n + 2);
        if (joined)
            sprintf(joined, "%s/%s", cwd, path);
    }
    if (!joined)
        return NULL;
    char *out = malloc(strlen(joined) + 2);
    if (!out) {
        free(joined);
        return NULL;
    }
    size_t len = 0;
    for (char *p = joined; *p;) {
        while (*p == '/')
            p++;
        char *end = p;
        while (*end && *end != '/')
            end++;
        size_t seg = (size_t)(end - p);
        if (seg == 0 || (seg == 1 && p[0] == '.')) {
            /* nothing */
        } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the slash */
        } else {
            out[len++] = '/';
            memcpy(out + len, p, seg);
            len += seg;
        }
        p = end;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(joined);
    return out;
}

/* The extensions libsndfile reads (its major formats' own), and their usual aliases. */
static int has_audio_extension(const char *name)
{
    static const char *const aliases[] = {"wav", "wave", "bwf", "rf64", "w64", "flac", "ogg", "oga",
                                          "opus", "aif", "aiff", "aifc", "au", "snd", "caf", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return 0;
    const char *ext = dot + 1;
    for (int i = 0; aliases[i]; i++)
        if (strcasecmp(ext, aliases[i]) == 0)
            return 1;
    int count = 0;
    sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof count);
    for (int i = 0; i < count; i++) {
        SF_FORMAT_INFO info = {.format = i};
        if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &info, sizeof info) == 0 && info.extension &&
            strcasecmp(ext, info.extension) == 0)
            return 1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the audio files under `dir` (absolute), hidden names and `skip` (ROOT, whose
 * outputs are audio too) left out. 0, or -1 after printing why. */
static int walk_dir(input_list *l, const char *dir, const char *skip, int depth)
{
    if (depth > MAX_WALK_DEPTH) {
        print_error("directory '%s' is nested more than %d deep (a symbolic link loop?)", dir,
                    MAX_WALK_DEPTH);
        return -1;
    }
    if (skip && strcmp(dir, skip) == 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        print_error("cannot read directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0)
        print_error("out of memory");
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
        if (!path) {
            print_error("out of memory");
            rc = -1;
            break;
        }
        sprintf(path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rc = walk_dir(l, path, skip, depth + 1);
        else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && has_audio_extension(names[i]) &&
                 list_add(l, path) != 0) {
            print_error("out of memory");
            rc = -1;
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Adds a manifest's paths: one a line, surrounding blanks trimmed, blank lines and lines
 * starting with # skipped, relative ones relative to the current directory. */
static int read_manifest(input_list *l, FILE *f, const char *name)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &size, f)) >= 0) {
        char *p = line, *end = line + got;
        while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        char *abs = absolute_path(p);
        if (!abs || list_add(l, abs) != 0) {
            print_error("out of memory");
            rc = -1;
        }
        free(abs);
    }
    if (rc == 0 && ferror(f)) {
        print_error("cannot read manifest '%s': %s", name, strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

/* One argument: - (a manifest on standard input), a directory, or a manifest file. */
static int add_argument(input_list *l, const char *arg, const char *root_abs, int *stdin_used)
{
    if (strcmp(arg, "-") == 0) {
        if ((*stdin_used)++)
            return usage_error("batch", "- (a manifest on standard input) is given twice");
        return read_manifest(l, stdin, "standard input") == 0 ? 0 : EXIT_RUNTIME;
    }
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *abs = absolute_path(arg);
        int rc = abs ? walk_dir(l, abs, root_abs, 0) : -1;
        free(abs);
        return rc == 0 ? 0 : EXIT_RUNTIME;
    }
    FILE *f = fopen(arg, "r");
    if (!f) {
        print_error("cannot open manifest '%s': %s", arg, strerror(errno));
        return EXIT_RUNTIME;
    }
    int rc = read_manifest(l, f, arg);
    fclose(f);
    return rc == 0 ? 0 : EXIT_RUNTIME;
}

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const input_item *)a)->path, ((const input_item *)b)->path);
}

static int cmp_outs(const void *a, const void *b)
{
    return strcmp((*(input_item *const *)a)->out, (*(input_item *const *)b)->out);
}

/* Sorts, drops repeated paths, and names each input's PATH under ROOT. 0 or an exit
 * status after printing why. */
static int name_outputs(input_list *l)
{
    qsort(l->items, l->n, sizeof *l->items, cmp_items);
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (kept > 0 && strcmp(l->items[kept - 1].path, l->items[i].path) == 0) {
            free(l->items[i].path);
            continue;
        }
        l->items[kept++] = l->items[i];
    }
    l->n = kept;
    if (l->n == 0)
        return 0;
    /* the common directory: the first input's, shortened to a prefix of every other's */
    const char *first = l->items[0].path;
    size_t base = (size_t)(strrchr(first, '/') - first); /* "/a/x" of "/a/x/f.wav" */
    for (size_t i = 1; i < l->n; i++) {
        const char *p = l->items[i].path;
        while (base > 0 && !(strncmp(first, p, base) == 0 && p[base] == '/')) {
            do
                base--;
            while (base > 0 && first[base] != '/');
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        const char *rel = l->items[i].path + base + 1;
        const char *slash = strrchr(rel, '/');
        const char *name = slash ? slash + 1 : rel;
        const char *dot = strrchr(name, '.');
        size_t len = dot && dot > name ? (size_t)(dot - rel) : strlen(rel);
        if (!(l->items[i].out = strndup(rel, len))) {
            print_error("out of memory");
            return EXIT_RUNTIME;
        }
    }
    input_item **by_out = malloc(l->n * sizeof *by_out);
    if (!by_out) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    for (size_t i = 0; i < l->n; i++)
        by_out[i] = &l->items[i];
    qsort(by_out, l->n, sizeof *by_out, cmp_outs);
    int rc = 0;
    for (size_t i = 1; i < l->n && rc == 0; i++)
        if (strcmp(by_out[i - 1]->out, by_out[i]->out) == 0)
            rc = usage_error("batch", "'%s' and '%s' would write the same outputs (ROOT/%s): "
                             "rename one", by_out[i - 1]->path, by_out[i]->path, by_out[i]->out);
    free(by_out);
    return rc;
}

/* "I/N", or a Slurm array task's. 0 or EXIT_USAGE. */
static int parse_uint(const char *s, long *v)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    *v = strtol(s, &end, 10);
    return *end || errno || *v < 0 || *v > 100000000 ? -1 : 0;
}

static int choose_shard(const char *shard, long *index, long *count)
{
    *index = 0;
    *count = 1;
    if (shard) {
        const char *slash = strchr(shard, '/');
        char i_text[32];
        if (!slash || (size_t)(slash - shard) >= sizeof i_text)
            return usage_error("batch", "--shard '%s' is not I/N (e.g. 0/4)", shard);
        memcpy(i_text, shard, (size_t)(slash - shard));
        i_text[slash - shard] = '\0';
        if (parse_uint(i_text, index) != 0 || parse_uint(slash + 1, count) != 0)
            return usage_error("batch", "--shard '%s' is not I/N (e.g. 0/4)", shard);
        if (*count < 1 || *index >= *count)
            return usage_error("batch", "--shard %s: I must be 0 to N-1, and N at least 1", shard);
        return 0;
    }
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    if (!id || !*id)
        return 0;
    const char *min = getenv("SLURM_ARRAY_TASK_MIN"), *n = getenv("SLURM_ARRAY_TASK_COUNT");
    long task, lo, total;
    if (parse_uint(id, &task) != 0 || parse_uint(min, &lo) != 0 || parse_uint(n, &total) != 0 ||
        task < lo || total < 1 || task - lo >= total)
        return usage_error("batch", "cannot take the shard from SLURM_ARRAY_TASK_ID=%s, "
                           "SLURM_ARRAY_TASK_MIN=%s, SLURM_ARRAY_TASK_COUNT=%s (an array of "
                           "consecutive task ids is needed): give --shard I/N", id,
                           min ? min : "(unset)", n ? n : "(unset)");
    *index = task - lo;
    *count = total;
    return 0;
}

static void hex(const unsigned char *md, unsigned len, char *out)
{
    for (unsigned i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static void sha256_text(const void *data, size_t size, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data, size, md, &len, EVP_sha256(), NULL);
    hex(md, len, out);
}

/* SHA-256 of a file's bytes from `offset`, `limit` bytes at most (-1: to the end). */
static int sha256_file(int fd, off_t offset, long long limit, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        errno = ENOMEM;
        return -1;
    }
    static unsigned char buf[1 << 16];
    int rc = 0;
    while (limit != 0) {
        size_t want = limit < 0 || limit > (long long)sizeof buf ? sizeof buf : (size_t)limit;
        ssize_t got = pread(fd, buf, want, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)got);
        offset += got;
        if (limit > 0)
            limit -= got;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (rc == 0)
        EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    if (rc == 0)
        hex(digest, len, out);
    return rc;
}

/* The model's identity: the SHA-256 of its file, or of the embedded default model
 * (computed at build time, MRXCL_DEFAULT_MODEL_SHA256). Follows load_model's choice. */
static int model_identity(const separate_options *o, char out[65])
{
    const char *path = o->model && o->model[0] ? o->model : NULL;
    const char *env = getenv("MRXCL_MODEL");
    if (!path && env && env[0])
        path = env;
    if (!path) {
#ifdef MRXCL_DEFAULT_MODEL_SHA256
        snprintf(out, 65, "%s", MRXCL_DEFAULT_MODEL_SHA256);
        return 0;
#else
        print_error("this build does not know its default model's SHA-256: give -m MODEL");
        return -1;
#endif
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || sha256_file(fd, 0, -1, out) != 0) {
        print_error("cannot read model '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Everything that changes the output's samples or files, resolved (the model's
 * consistency mode, a remix's gains per source). */
static char *options_identity(const separation *sp)
{
    static const char *const subtypes[] = {"default", "float", "pcm16", "pcm24"};
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "mrxcl=%s;kind=%s;format=%s;subtype=%s;loudness=%s;input_lufs=%.17g;"
                     "consistency=%s;chunk=%.17g;overlap=%.17g",
                     mrxcl_version(), sp->kind == OUTPUT_REMIX ? "remix" : "stems",
                     audio_format_extension(sp->format), subtypes[sp->subtype],
                     sp->opt.loudness == 1 ? "off" : "on", sp->opt.input_lufs,
                     consistency_name(sp->stream.consistency), sp->stream.piece_seconds,
                     sp->stream.overlap_seconds);
    for (int s = 0; sp->kind == OUTPUT_REMIX && s < sp->mi.n_sources && n < (int)sizeof text; s++)
        n += snprintf(text + n, sizeof text - n, ";gain_%s=%.17g", sp->mi.source_names[s],
                      sp->gain_db[s]);
    return strdup(text);
}

/* mkdir -p: 0, or -1 with errno. */
static int make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return -1;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Temporary records of runs killed (SIGKILL) while writing one, long ago. */
static void remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, ".partial-"))
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TEMP_SECONDS)
            unlink(path);
    }
    closedir(d);
}

/* What an input is now: size, mtime, and its ends' SHA-256. */
typedef struct input_identity {
    long long size;
    char mtime[48];
    char head[65], tail[65];
} input_identity;

static int identify_input(const char *path, input_identity *id)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        print_error("cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        print_error("'%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    id->size = (long long)st.st_size;
    snprintf(id->mtime, sizeof id->mtime, "%lld.%09ld", (long long)st.st_mtim.tv_sec,
             (long)st.st_mtim.tv_nsec);
    off_t tail_at = st.st_size > ENDS_BYTES ? st.st_size - ENDS_BYTES : 0;
    if (sha256_file(fd, 0, ENDS_BYTES, id->head) != 0 ||
        sha256_file(fd, tail_at, ENDS_BYTES, id->tail) != 0) {
        print_error("cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static const char *json_string(const cJSON *o, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(item) ? item->valuestring : "";
}

/* Whether the record at `path` says this input was done from the same input, model and
 * options, and its outputs are all there with the sizes written. */
static int record_matches(const char *path, const char *root, const input_identity *id,
                          const char *model, const char *options)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *r = cJSON_Parse(text);
    if (!r)
        return 0;
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(r, "size");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(r, "outputs");
    int ok = cJSON_IsNumber(size) && size->valuedouble == (double)id->size &&
             strcmp(json_string(r, "mtime"), id->mtime) == 0 &&
             strcmp(json_string(r, "head_sha256"), id->head) == 0 &&
             strcmp(json_string(r, "tail_sha256"), id->tail) == 0 &&
             strcmp(json_string(r, "model_sha256"), model) == 0 &&
             strcmp(json_string(r, "options"), options) == 0 && cJSON_IsArray(outputs) &&
             cJSON_GetArraySize(outputs) > 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, outputs)
    {
        if (!ok)
            break;
        const cJSON *osize = cJSON_GetObjectItemCaseSensitive(o, "size");
        const char *name = json_string(o, "path");
        char full[8192];
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", root, name);
        ok = name[0] && cJSON_IsNumber(osize) && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
             (double)st.st_size == osize->valuedouble;
    }
    cJSON_Delete(r);
    return ok;
}

/* The batch's state. */
typedef struct batch {
    separation sp;
    const char *root;
    char *done_dir, *meta_dir;
    char model_id[65];
    char *options;
    long shard, shards;
    size_t n_inputs, n_done, n_skipped, n_failed;
    double audio_seconds, t0;
} batch;

static void event(const batch *b, const char *input, const char *name, cJSON *extra)
{
    progress p = b->sp.progress;
    p.input = input;
    progress_event(&p, name, extra);
}

static void event_failed(batch *b, const char *input, const char *fallback)
{
    const char *message = last_error_message()[0] ? last_error_message() : fallback;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    event(b, input, "failed", o);
    b->n_failed++;
}

/* The record of a finished input, once its outputs are in place. */
static int write_record(batch *b, const input_item *in, const char *record_name,
                        const input_identity *id, double seconds)
{
    const separation *sp = &b->sp;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "input", in->path);
    cJSON_AddStringToObject(r, "path", in->out);
    cJSON_AddNumberToObject(r, "size", (double)id->size);
    cJSON_AddStringToObject(r, "mtime", id->mtime);
    cJSON_AddStringToObject(r, "head_sha256", id->head);
    cJSON_AddStringToObject(r, "tail_sha256", id->tail);
    cJSON_AddStringToObject(r, "model_sha256", b->model_id);
    cJSON_AddStringToObject(r, "options", b->options);
    cJSON_AddStringToObject(r, "device", sp->device_name ? sp->device_name : "");
    cJSON_AddNumberToObject(r, "seconds", seconds);
    cJSON_AddNumberToObject(r, "finished", (double)time(NULL));
    cJSON *outputs = cJSON_AddArrayToObject(r, "outputs");
    int n = sp->kind == OUTPUT_REMIX ? 1 : sp->mi.n_sources, rc = 0;
    for (int s = 0; s < n && rc == 0; s++) {
        char rel[4096], full[8192];
        const char *ext = audio_format_extension(sp->format);
        if (sp->kind == OUTPUT_REMIX)
            snprintf(rel, sizeof rel, "%s.%s", in->out, ext);
        else
            snprintf(rel, sizeof rel, "%s/%s.%s", in->out, sp->mi.source_names[s], ext);
        snprintf(full, sizeof full, "%s/%s", b->root, rel);
        struct stat st;
        if (stat(full, &st) != 0) {
            print_error("output '%s' is missing after it was written: %s", full, strerror(errno));
            rc = -1;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", rel);
        cJSON_AddNumberToObject(o, "size", (double)st.st_size);
        cJSON_AddItemToArray(outputs, o);
    }
    char *text = rc == 0 ? cJSON_Print(r) : NULL;
    cJSON_Delete(r);
    if (rc == 0 && !text) {
        print_error("out of memory");
        rc = -1;
    }
    if (rc == 0)
        rc = write_atomic(b->done_dir, record_name, text);
    free(text);
    return rc;
}

/* One input: skipped, done, or failed. Returns a signal's exit status (128 + N) that
 * arrived while its outputs were being renamed, after recording it; else 0. */
static int run_one(batch *b, const input_item *in, size_t k, size_t n)
{
    separation *sp = &b->sp;
    int json = sp->progress.mode == PROGRESS_JSON, chatty = !json && !sp->opt.quiet;
    char record_name[80], key[65];
    sha256_text(in->out, strlen(in->out), key);
    snprintf(record_name, sizeof record_name, "%s.json", key);
    char record[8192], output[8192];
    snprintf(record, sizeof record, "%s/%s", b->done_dir, record_name);
    if (sp->kind == OUTPUT_REMIX)
        snprintf(output, sizeof output, "%s/%s.%s", b->root, in->out,
                 audio_format_extension(sp->format));
    else
        snprintf(output, sizeof output, "%s/%s", b->root, in->out);
    clear_last_error();
    input_identity id;
    if (identify_input(in->path, &id) != 0) {
        event_failed(b, in->path, "cannot read the input");
        return 0;
    }
    if (!sp->opt.force && record_matches(record, b->root, &id, b->model_id, b->options)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "why", "done before");
        cJSON_AddStringToObject(o, "output", output);
        event(b, in->path, "skipped", o);
        if (chatty)
            fprintf(stderr, "mrxcl: [%zu/%zu] %s: skipped (done before)\n", k, n, in->path);
        b->n_skipped++;
        return 0;
    }
    if (unlink(record) == 0)
        fsync_dir(b->done_dir);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", output);
    event(b, in->path, "start", o);
    if (chatty)
        fprintf(stderr, "mrxcl: [%zu/%zu] %s -> %s\n", k, n, in->path, output);
    char *parent = strdup(output);
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash)
        *slash = '\0';
    if (!parent || make_dirs(parent) != 0) {
        print_error("cannot create directory '%s': %s", parent ? parent : output, strerror(errno));
        free(parent);
        event_failed(b, in->path, "cannot create the output directory");
        return 0;
    }
    free(parent);
    double t = now_seconds();
    int rc = separation_run(sp, in->path, output);
    int sig = stem_writer_pending_signal();
    if (rc != 0) {
        event_failed(b, in->path, "failed");
        return sig ? 128 + sig : 0;
    }
    double seconds = sp->last_seconds, took = now_seconds() - t;
    if (write_record(b, in, record_name, &id, seconds) != 0) {
        event_failed(b, in->path, "cannot record the input as done");
        return sig ? 128 + sig : 0;
    }
    b->n_done++;
    b->audio_seconds += seconds;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", output);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "elapsed", took);
    cJSON_AddNumberToObject(o, "realtime_factor", took > 0 ? seconds / took : 0.0);
    /* how the device ran: --stats's figures in brief */
    const mrxcl_stream_stats *st = &sp->stats;
    cJSON_AddNumberToObject(o, "batch", st->batch);
    cJSON_AddNumberToObject(o, "first_pass_seconds", sp->job_first_pass_s);
    cJSON_AddNumberToObject(o, "device_seconds", st->device_seconds);
    cJSON_AddNumberToObject(o, "device_busy", separation_device_busy(st));
    cJSON_AddNumberToObject(o, "device_bytes", (double)st->device_bytes);
    event(b, in->path, "done", o);
    return sig ? 128 + sig : 0;
}

static void summary(batch *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "shard", (double)b->shard);
    cJSON_AddNumberToObject(o, "shards", (double)b->shards);
    cJSON_AddNumberToObject(o, "inputs", (double)b->n_inputs);
    cJSON_AddNumberToObject(o, "done", (double)b->n_done);
    cJSON_AddNumberToObject(o, "skipped", (double)b->n_skipped);
    cJSON_AddNumberToObject(o, "failed", (double)b->n_failed);
    cJSON_AddNumberToObject(o, "seconds", b->audio_seconds);
    cJSON_AddNumberToObject(o, "elapsed", now_seconds() - b->t0);
    char *text = cJSON_Print(o);
    if (text) {
        char name[96];
        snprintf(name, sizeof name, "summary-%ld-of-%ld.json", b->shard, b->shards);
        write_atomic(b->meta_dir, name, text);
        free(text);
    }
    if (!b->sp.opt.quiet && b->sp.progress.mode != PROGRESS_JSON)
        fprintf(stderr, "mrxcl: batch (shard %ld of %ld): %zu inputs: %zu done, %zu skipped "
                        "(done before), %zu failed; %.1f s of audio in %.1f s\n",
                b->shard, b->shards, b->n_inputs, b->n_done, b->n_skipped, b->n_failed,
                b->audio_seconds, now_seconds() - b->t0);
    event(b, NULL, "summary", o); /* takes o */
}

int cmd_batch(int argc, char **argv)
{
    separate_options opt;
    const char **args = calloc((size_t)argc + 1, sizeof *args);
    int n_args = 0;
    batch b;
    memset(&b, 0, sizeof b);
    b.t0 = now_seconds();
    input_list inputs = {0};
    if (!args) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    int rc = parse_batch_options(argc, argv, &opt, args, argc, &n_args);
    if (rc == 0 && opt.help) {
        print_help(stdout, "batch");
        b.sp.opt = opt;
        separation_free(&b.sp);
        free(args);
        return 0;
    }
    if (rc == 0 && opt.manifest)
        args[n_args++] = opt.manifest;
    if (rc == 0 && n_args == 0)
        rc = usage_error("batch", "batch needs inputs: manifests (files of paths), "
                         "directories, or - (a manifest on standard input)");
    if (rc == 0 && (!opt.output || !opt.output[0] || strcmp(opt.output, "-") == 0))
        rc = usage_error("batch", "batch needs an output directory: -o ROOT");
    if (rc == 0 && opt.stats)
        rc = usage_error("batch", "--stats FILE is for one input (separate, remix); batch's "
                         "--progress json reports every input");
    if (rc == 0 && !opt.remix && (opt.preset >= 0 || opt.n_gains > 0))
        rc = usage_error("batch", "%s%s is for --remix",
                         opt.preset >= 0 ? "--preset" : "--", opt.preset >= 0 ? "" : opt.gain_name[0]);
    long shard = 0, shards = 1;
    if (rc == 0)
        rc = choose_shard(opt.shard, &shard, &shards);
    if (rc == 0 && opt.remix && opt.format < 0)
        opt.format = AUDIO_WAV;
    b.root = opt.output;
    b.shard = shard;
    b.shards = shards;
    char *root_abs = rc == 0 ? absolute_path(opt.output) : NULL;
    int stdin_used = 0;
    for (int i = 0; rc == 0 && i < n_args; i++)
        rc = add_argument(&inputs, args[i], root_abs, &stdin_used);
    free(root_abs);
    if (rc == 0)
        rc = name_outputs(&inputs);
    if (rc != 0) {
        b.sp.opt = opt; /* frees the gains' names */
        separation_free(&b.sp);
        list_free(&inputs);
        free(args);
        return rc;
    }
    rc = separation_init(&b.sp, "batch", opt.remix ? OUTPUT_REMIX : OUTPUT_STEMS, &opt);
    log_set_verbosity(opt.quiet ? 0 : opt.verbose ? 2 : 1);
    stem_writer_handle_signals();
    if (rc == 0)
        rc = separation_load_model(&b.sp);
    if (rc == 0 && model_identity(&b.sp.opt, b.model_id) != 0)
        rc = EXIT_RUNTIME;
    if (rc == 0 && !(b.options = options_identity(&b.sp))) {
        print_error("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == 0) {
        b.meta_dir = malloc(strlen(b.root) + 16);
        b.done_dir = malloc(strlen(b.root) + 16);
        if (!b.meta_dir || !b.done_dir) {
            print_error("out of memory");
            rc = EXIT_RUNTIME;
        } else {
            sprintf(b.meta_dir, "%s/.mrxcl", b.root);
            sprintf(b.done_dir, "%s/.mrxcl/done", b.root);
            if (make_dirs(b.done_dir) != 0) {
                print_error("cannot create '%s': %s", b.done_dir, strerror(errno));
                rc = EXIT_RUNTIME;
            }
        }
    }
    if (rc == 0) {
        remove_stale_temps(b.done_dir);
        remove_stale_temps(b.meta_dir);
        for (size_t i = (size_t)shard; i < inputs.n; i += (size_t)shards)
            b.n_inputs++;
        size_t k = 0;
        for (size_t i = (size_t)shard; i < inputs.n && rc == 0; i += (size_t)shards)
            rc = run_one(&b, &inputs.items[i], ++k, b.n_inputs);
        if (rc == 0) {
            summary(&b);
            rc = b.n_failed ? EXIT_RUNTIME : 0;
        }
    }
    separation_free(&b.sp);
    list_free(&inputs);
    free(b.options);
    free(b.meta_dir);
    free(b.done_dir);
    free(args);
    int sig = stem_writer_pending_signal();
    return sig ? 128 + sig : rc;
}
