/* mrxcl: the command-line program. Separates a soundtrack into one file per source
 * (music, speech, sfx), lists OpenCL devices, describes a model.
 *
 * Exit status: 0 success, 1 runtime error, 2 usage error, 128 + N on signal N. */
#define _POSIX_C_SOURCE 200809L

#include "audio_io.h"
#include "loudness.h"
#include "mrxcl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mrxcl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mrxcl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Try 'mrxcl %s%s--help'.\n", command ? command : "", command ? " " : "");
    return EXIT_USAGE;
}

/* "[<what>: ]<status name>: <library's message>", then the build log of a failed
 * kernel build. `ctx` NULL: the thread's last failed load or create. `fmt` NULL: no
 * <what>, for when the library's message says it all. */
static void print_library_error(const mrxcl_context *ctx, int status, const char *fmt, ...)
{
    fputs("mrxcl: error: ", stderr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(": ", stderr);
    }
    const char *detail = mrxcl_last_error(ctx);
    fputs(mrxcl_strerror(status), stderr);
    if (detail && detail[0])
        fprintf(stderr, ": %s", detail);
    fputc('\n', stderr);
    if (status == MRXCL_ERR_KERNEL_BUILD) {
        const char *log = mrxcl_build_log(ctx);
        if (log && log[0])
            fprintf(stderr, "OpenCL build log:\n%s%s", log,
                    log[strlen(log) - 1] == '\n' ? "" : "\n");
        else
            fputs("(the OpenCL implementation gave no build log)\n", stderr);
    }
}

/* ---- option parsing ------------------------------------------------------------
 * Each subcommand has a table of options; the parser, the help text and the checks
 * come from it. A new option is one row (and a field to receive it). */
typedef enum arg_kind {
    ARG_FLAG,    /* int: set to 1 */
    ARG_STRING,  /* const char *: the argument */
    ARG_CHOICE,  /* int: index of the argument in `choices` (-1 until given) */
    ARG_SECONDS  /* double: a finite number >= 0 */
} arg_kind;

typedef struct option_spec {
    const char *long_name;
    char short_name; /* 0 if none */
    arg_kind kind;
    void *target;
    const char *const *choices; /* ARG_CHOICE: NULL-terminated */
    const char *metavar;
    const char *help;
} option_spec;

static const char *const format_choices[] = {"wav", "flac", "ogg", NULL};   /* = audio_format */
static const char *const subtype_choices[] = {"float", "pcm16", "pcm24", NULL};
static const char *const onoff_choices[] = {"on", "off", NULL};
/* MRX-SPEC, the authors' script: what to do with the mixture's residual (the input less
 * the sum of the stems), before the loudness gain is undone; = mrxcl_consistency. "model"
 * (the default) is the mode the model file names, pass when it names none. */
static const char *const consistency_choices[] = {"pass", "all", "music_sfx", "model", NULL};

static struct separate_options {
    const char *output_dir;
    const char *model;
    const char *device;
    int format;  /* index in format_choices, -1: default */
    int subtype; /* index in subtype_choices, -1: default */
    int loudness;   /* index in onoff_choices, -1: default (on) */
    int consistency; /* index in consistency_choices (= mrxcl_consistency), -1: default (model) */
    double chunk;   /* seconds; -1: default */
    double overlap; /* seconds; -1: default */
    int quiet;
    int verbose;
    int help;
} sep = {NULL, NULL, NULL, -1, -1, -1, -1, -1.0, -1.0, 0, 0, 0};

/* The level the network works at: DnR's mixtures and ours are at -27 LUFS, and the
 * authors' script brings every input there and undoes the gain on the stems. */
#define SEPARATION_LUFS -27.0

/* Long inputs are separated in pieces of this many seconds, cross-faded over the
 * overlap (mrxcl_separate_stream), so that memory is that of one piece whatever the input's
 * length; README.md gives what pieces cost in quality and what they take in memory. */
#define DEFAULT_CHUNK_SECONDS 30.0
#define DEFAULT_OVERLAP_SECONDS 2.0

static const option_spec separate_specs[] = {
    {"output", 'o', ARG_STRING, &sep.output_dir, NULL, "DIR",
     "write one file per source into DIR (created if missing)"},
    {"model", 'm', ARG_STRING, &sep.model, NULL, "MODEL",
     "model file (.safetensors); default: $MRXCL_MODEL, else the built-in model"},
    {"device", 0, ARG_STRING, &sep.device, NULL, "D",
     "OpenCL device: an index from 'mrxcl devices' or part of its name"},
    {"format", 0, ARG_CHOICE, &sep.format, format_choices, "wav|flac|ogg",
     "output format (default wav; ogg is Vorbis)"},
    {"subtype", 0, ARG_CHOICE, &sep.subtype, subtype_choices, "float|pcm16|pcm24",
     "sample format (default: float for wav, pcm24 for flac)"},
    {"loudness", 0, ARG_CHOICE, &sep.loudness, onoff_choices, "on|off",
     "separate at -27 LUFS (BS.1770), the gain undone on the stems (default on)"},
    {"consistency", 0, ARG_CHOICE, &sep.consistency, consistency_choices, "pass|all|music_sfx|model",
     "what the stems miss of the input: pass leaves it; all: a share to each; music_sfx: half "
     "to music, half to sfx; model (default): the model's own mode ('mrxcl info' shows it)"},
    {"chunk", 0, ARG_SECONDS, &sep.chunk, NULL, "S",
     "separate in pieces of S seconds, cross-faded (default 30; 0: the whole input at once)"},
    {"overlap", 0, ARG_SECONDS, &sep.overlap, NULL, "S",
     "seconds by which pieces overlap (default 2; at most half of --chunk)"},
    {"quiet", 'q', ARG_FLAG, &sep.quiet, NULL, NULL, "print nothing but errors"},
    {"verbose", 'v', ARG_FLAG, &sep.verbose, NULL, NULL, "print the library's log messages"},
    {"help", 'h', ARG_FLAG, &sep.help, NULL, NULL, "show this help"},
};

static struct info_options {
    int help;
} inf;

static const option_spec info_specs[] = {
    {"help", 'h', ARG_FLAG, &inf.help, NULL, NULL, "show this help"},
};

static struct devices_options {
    int help;
} dev;

static const option_spec devices_specs[] = {
    {"help", 'h', ARG_FLAG, &dev.help, NULL, NULL, "show this help"},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int set_option(const char *command, const option_spec *spec, const char *value)
{
    switch (spec->kind) {
    case ARG_FLAG:
        *(int *)spec->target = 1;
        return 0;
    case ARG_STRING:
        *(const char **)spec->target = value;
        return 0;
    case ARG_CHOICE:
        for (int i = 0; spec->choices[i]; i++) {
            if (strcmp(value, spec->choices[i]) == 0) {
                *(int *)spec->target = i;
                return 0;
            }
        }
        return usage_error(command, "invalid value '%s' for --%s (expected %s)", value,
                           spec->long_name, spec->metavar);
    case ARG_SECONDS: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
            return usage_error(command, "invalid value '%s' for --%s (expected seconds >= 0)",
                               value, spec->long_name);
        *(double *)spec->target = v;
        return 0;
    }
    }
    return EXIT_USAGE;
}

/* Parses argv[0..argc) (the words after the subcommand). Options and positional
 * arguments may be mixed; "--" ends the options. Returns 0 or EXIT_USAGE. */
static int parse_options(const char *command, const option_spec *specs, int n_specs, int argc,
                         char **argv, const char **positional, int max_positional,
                         int *n_positional)
{
    *n_positional = 0;
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (*n_positional >= max_positional)
                return usage_error(command, "unexpected argument '%s'", arg);
            positional[(*n_positional)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const option_spec *spec = NULL;
            for (int k = 0; k < n_specs; k++) {
                if (strlen(specs[k].long_name) == len && strncmp(specs[k].long_name, name, len) == 0)
                    spec = &specs[k];
            }
            if (!spec)
                return usage_error(command, "unknown option '--%.*s'", (int)len, name);
            const char *value = NULL;
            if (spec->kind == ARG_FLAG) {
                if (eq)
                    return usage_error(command, "option '--%s' takes no value", spec->long_name);
            } else if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return usage_error(command, "option '--%s' needs a value (%s)", spec->long_name,
                                   spec->metavar);
            }
            if (set_option(command, spec, value) != 0)
                return EXIT_USAGE;
            continue;
        }
        /* one or more short options: "-qv", "-o DIR", "-oDIR" */
        for (const char *p = arg + 1; *p; p++) {
            const option_spec *spec = NULL;
            for (int k = 0; k < n_specs; k++) {
                if (specs[k].short_name && specs[k].short_name == *p)
                    spec = &specs[k];
            }
            if (!spec)
                return usage_error(command, "unknown option '-%c'", *p);
            if (spec->kind == ARG_FLAG) {
                set_option(command, spec, NULL);
                continue;
            }
            const char *value = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value)
                return usage_error(command, "option '-%c' needs a value (%s)", *p, spec->metavar);
            if (set_option(command, spec, value) != 0)
                return EXIT_USAGE;
            break;
        }
    }
    return 0;
}

static void print_options(FILE *out, const option_spec *specs, int n_specs)
{
    for (int k = 0; k < n_specs; k++) {
        const option_spec *s = &specs[k];
        char left[64];
        if (s->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", s->short_name, s->long_name,
                     s->metavar ? " " : "", s->metavar ? s->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", s->long_name, s->metavar ? " " : "",
                     s->metavar ? s->metavar : "");
        if (strlen(left) > 32) /* too wide for the column: the help on the next line */
            fprintf(out, "  %s\n  %-32s %s\n", left, "", s->help);
        else
            fprintf(out, "  %-32s %s\n", left, s->help);
    }
}

static void print_help(FILE *out, const char *command)
{
    int all = command == NULL;
    if (all)
        fputs("mrxcl: separate a film soundtrack into music, speech and sound effects\n"
              "with the MRX network on OpenCL.\n\n",
              out);
    fputs("Usage:\n", out);
    if (all || strcmp(command, "separate") == 0)
        fputs("  mrxcl separate INPUT -o DIR [-m MODEL] [options]\n", out);
    if (all || strcmp(command, "devices") == 0)
        fputs("  mrxcl devices\n", out);
    if (all || strcmp(command, "info") == 0)
        fputs("  mrxcl info [MODEL]\n", out);
    if (all)
        fputs("  mrxcl --help | --version\n", out);
    if (all || strcmp(command, "separate") == 0) {
        fputs("\nseparate: read INPUT (any format libsndfile reads) and write one file per\n"
              "source, named after the model's sources (DIR/music.wav, DIR/speech.wav,\n"
              "DIR/sfx.wav), with the input's sample rate, channels and length. Files in\n"
              "DIR are replaced only when every stem was written. The input is read and\n"
              "separated in pieces (--chunk), so a film needs no more memory than a\n"
              "30 s clip, and at -27 LUFS (--loudness), the level the models work at.\n",
              out);
        print_options(out, separate_specs, COUNT(separate_specs));
    }
    if (all || strcmp(command, "devices") == 0)
        fputs("\ndevices: list the OpenCL devices and their indices.\n", out);
    if (all || strcmp(command, "info") == 0)
        fputs("\ninfo: print a model's configuration, parameter count and consistency mode.\n", out);
    fputs("\nEnvironment:\n"
          "  MRXCL_MODEL       model file used when -m is not given\n"
          "  MRXCL_DEVICE      device index or name part used when --device is not given\n"
          "  MRXCL_KERNEL_DIR  read the OpenCL kernels (*.cl) from this directory\n",
          out);
    if (all || strcmp(command, "separate") == 0)
        fputs("\nExample:\n"
              "  mrxcl separate film.wav -o stems -m mrx.safetensors --format flac\n",
              out);
}

/* ---- shared steps ---------------------------------------------------------------- */

/* Loads the model named by `path`, else $MRXCL_MODEL, else the default model. Prints
 * the error and sets *exit_code on failure. */
static mrxcl_model *load_model(const char *command, const char *path, const char **name,
                               int *exit_code)
{
    if (!path || !path[0]) {
        const char *env = getenv("MRXCL_MODEL");
        if (env && env[0])
            path = env;
    }
    int status = 0;
    mrxcl_model *model = NULL;
    if (path) {
        *name = path;
        model = mrxcl_model_load_file(path, &status);
    } else {
        /* the model built into the library, if this build has one */
        *name = "the default model";
        if (!mrxcl_has_default_model()) {
            *exit_code = usage_error(command,
                                     "no model given: use -m MODEL or set MRXCL_MODEL "
                                     "(this build carries no default model)");
            return NULL;
        }
        model = mrxcl_model_load_default(&status);
    }
    if (!model) {
        const char *detail = mrxcl_last_error(NULL);
        if (detail && strstr(detail, *name)) /* it names the file already */
            print_library_error(NULL, status, NULL);
        else
            print_library_error(NULL, status, "cannot load model '%s'", *name);
        *exit_code = EXIT_RUNTIME;
    }
    return model;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int g_verbosity = 1; /* 0 quiet, 1 normal (warnings), 2 verbose (everything) */

static void log_to_stderr(mrxcl_log_level level, const char *message, void *user_data)
{
    int verbosity = *(const int *)user_data; /* 0 quiet, 1 normal, 2 verbose */
    static const char *const names[] = {"error", "warning", "info", "debug"};
    int show = verbosity >= 2 || (verbosity == 1 && level == MRXCL_LOG_WARN);
    if (show)
        fprintf(stderr, "mrxcl: %s: %s\n", names[level >= 0 && level <= 3 ? level : 0], message);
}

/* Creates DIR (one level) if missing. *created says whether it did. */
static int prepare_output_dir(const char *dir, int *created)
{
    *created = 0;
    if (mkdir(dir, 0777) == 0) {
        *created = 1;
        stem_writer_note_created_dir(dir);
        return 0;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        print_error("output directory '%s' exists and is not a directory", dir);
        return -1;
    }
    print_error("cannot create output directory '%s': %s", dir, strerror(e));
    return -1;
}

/* ---- separate ---------------------------------------------------------------------- */

/* What the chunked driver's callbacks need, and what they report back. */
typedef struct separate_job {
    audio_reader *reader;     /* input read in order, or NULL: ... */
    const audio_buffer *whole; /* ... the input held whole (a stream of unknown length) */
    size_t read_pos;
    size_t frames;
    int channels;
    int sample_rate;
    int n_sources;
    const char *input_path;
    mrxcl_context *ctx;
    const char *device_name;
    stem_writer *writer;
    double io_seconds;       /* time spent in the read and write callbacks */
    size_t pieces, pieces_done;
    int show_progress;
    char err[4096 + 512];
} separate_job;

static int job_read(void *user, float *const *channel, size_t frames)
{
    separate_job *job = user;
    double t0 = now_seconds();
    if (job->whole) {
        for (int c = 0; c < job->channels; c++)
            memcpy(channel[c], job->whole->data[c] + job->read_pos, frames * sizeof(float));
        job->read_pos += frames;
    } else {
        size_t got = 0;
        if (audio_reader_read(job->reader, channel, frames, &got, job->err, sizeof job->err) != 0)
            return -1;
        job->read_pos += got;
        if (got < frames) {
            snprintf(job->err, sizeof job->err,
                     "input '%s' ended after %zu of the %zu frames its header announces",
                     job->input_path, job->read_pos, job->frames);
            return -1;
        }
    }
    job->io_seconds += now_seconds() - t0;
    return 0;
}

/* Integrated loudness of the whole input: from the buffer when it is held whole, else
 * from a first pass over the file. */
static int measure_loudness(separate_job *job, double *lufs)
{
    enum { BLOCK = 65536 };
    const size_t C = (size_t)job->channels;
    int rc = -1;
    audio_reader *r = NULL;
    loudness_meter *m = loudness_meter_new(job->channels, job->sample_rate);
    float *buf = malloc(BLOCK * C * sizeof(float));
    if (!m || !buf) {
        snprintf(job->err, sizeof job->err,
                 "cannot measure the loudness of '%s' (%d channels at %d Hz): libebur128 "
                 "refused or memory ran out", job->input_path, job->channels, job->sample_rate);
        goto done;
    }
    if (!job->whole && !(r = audio_reader_open(job->input_path, job->err, sizeof job->err)))
        goto done;
    for (size_t pos = 0; pos < job->frames;) {
        size_t n = job->frames - pos < BLOCK ? job->frames - pos : BLOCK;
        if (job->whole) {
            for (size_t c = 0; c < C; c++)
                for (size_t i = 0; i < n; i++)
                    buf[i * C + c] = job->whole->data[c][pos + i];
        } else {
            size_t got = 0;
            if (audio_reader_read_interleaved(r, buf, n, &got, job->err, sizeof job->err) != 0)
                goto done;
            if (got < n) {
                snprintf(job->err, sizeof job->err,
                         "input '%s' ended after %zu of the %zu frames its header announces",
                         job->input_path, pos + got, job->frames);
                goto done;
            }
        }
        if (loudness_meter_add(m, buf, n) != 0) {
            snprintf(job->err, sizeof job->err, "libebur128 failed measuring '%s'", job->input_path);
            goto done;
        }
        pos += n;
    }
    *lufs = loudness_meter_integrated(m);
    rc = 0;
done:
    audio_reader_close(r);
    loudness_meter_free(m);
    free(buf);
    return rc;
}

static int job_write(void *user, int source, const float *const *channel, size_t frames)
{
    separate_job *job = user;
    double t0 = now_seconds();
    int rc = stem_writer_write(job->writer, source, channel, frames, job->err, sizeof job->err);
    job->io_seconds += now_seconds() - t0;
    return rc;
}

static void job_progress(void *user, size_t frames_done, size_t frames_total)
{
    separate_job *job = user;
    job->pieces_done++;
    if (!job->show_progress)
        return;
    fprintf(stderr, "\rmrxcl: separated piece %zu of %zu (%.0f%%)", job->pieces_done, job->pieces,
            100.0 * (double)frames_done / (double)frames_total);
    if (frames_done == frames_total)
        fputc('\n', stderr);
    fflush(stderr);
}

static int cmd_separate(int argc, char **argv)
{
    const char *positional[1];
    int n_positional = 0;
    if (parse_options("separate", separate_specs, COUNT(separate_specs), argc, argv, positional,
                      1, &n_positional) != 0)
        return EXIT_USAGE;
    if (sep.help) {
        print_help(stdout, "separate");
        return 0;
    }
    if (n_positional != 1)
        return usage_error("separate", "separate needs an INPUT file");
    if (!sep.output_dir || !sep.output_dir[0])
        return usage_error("separate", "separate needs an output directory: -o DIR");
    audio_format format = sep.format < 0 ? AUDIO_WAV : (audio_format)sep.format;
    audio_subtype subtype = sep.subtype < 0 ? AUDIO_SUBTYPE_DEFAULT : (audio_subtype)(sep.subtype + 1);
    if (format == AUDIO_FLAC && subtype == AUDIO_SUBTYPE_FLOAT)
        return usage_error("separate", "FLAC cannot hold float samples: use --subtype pcm16 or pcm24");
    if (format == AUDIO_OGG && subtype != AUDIO_SUBTYPE_DEFAULT)
        return usage_error("separate", "--subtype does not apply to ogg (Vorbis) output");
    double chunk_s = sep.chunk < 0 ? DEFAULT_CHUNK_SECONDS : sep.chunk;
    double overlap_s = sep.overlap < 0 ? (chunk_s > 0 ? DEFAULT_OVERLAP_SECONDS : 0.0) : sep.overlap;
    if (chunk_s > 0 && overlap_s * 2 > chunk_s)
        return usage_error("separate", "--overlap %g is more than half of --chunk %g", overlap_s,
                           chunk_s);
    if (chunk_s == 0 && sep.overlap > 0)
        return usage_error("separate", "--overlap needs pieces: --chunk 0 separates the input whole");

    const char *input_path = positional[0];
    const char *dir = sep.output_dir;
    g_verbosity = sep.quiet ? 0 : sep.verbose ? 2 : 1;
    stem_writer_handle_signals();

    int exit_code = EXIT_RUNTIME;
    int status = 0;
    separate_job job;
    memset(&job, 0, sizeof job);
    char *err = job.err;
    const size_t err_size = sizeof job.err;
    audio_buffer audio = {0};
    mrxcl_model *model = NULL;
    mrxcl_context *ctx = NULL;
    stem_writer *writer = NULL;
    audio_reader *reader = NULL;
    int dir_created = 0;
    const char *model_name = NULL;
    double t0 = now_seconds();

    model = load_model("separate", sep.model, &model_name, &exit_code);
    if (!model)
        goto done;
    exit_code = EXIT_RUNTIME;
    mrxcl_model_info mi;
    if ((status = mrxcl_model_get_info(model, &mi)) != MRXCL_OK) {
        print_library_error(NULL, status, "cannot read the configuration of model '%s'", model_name);
        goto done;
    }
    const char *names[MRXCL_MAX_SOURCES];
    if (mi.n_sources < 1 || mi.n_sources > MRXCL_MAX_SOURCES || mi.n_sources > STEM_WRITER_MAX_STEMS) {
        print_error("model '%s' has %d sources", model_name, mi.n_sources);
        goto done;
    }
    for (int s = 0; s < mi.n_sources; s++) {
        names[s] = mi.source_names[s];
        /* the names become file names: nothing that could leave DIR or collide */
        if (!stem_name_is_safe(names[s])) {
            print_error("model '%s': source name '%s' cannot be a file name (use A-Z a-z 0-9 _ -)",
                        model_name, names[s]);
            goto done;
        }
        for (int t = 0; t < s; t++) {
            if (strcmp(names[s], names[t]) == 0) {
                print_error("model '%s': two sources are named '%s'", model_name, names[s]);
                goto done;
            }
        }
    }

    mrxcl_stream_params stream = mrxcl_stream_default_params();
    stream.piece_seconds = chunk_s;
    stream.overlap_seconds = overlap_s;
    stream.consistency = sep.consistency < 0 || sep.consistency == MRXCL_CONSISTENCY_MODEL
                             ? mi.consistency
                             : (mrxcl_consistency)sep.consistency;
    if (stream.consistency == MRXCL_CONSISTENCY_MUSIC_SFX) {
        int found = 0; /* the library refuses it too, but only once the device is set up */
        for (int s = 0; s < mi.n_sources; s++)
            found += strcmp(names[s], "music") == 0 || strcmp(names[s], "sfx") == 0;
        if (found != 2) {
            print_error("--consistency music_sfx needs sources named music and sfx; model '%s' "
                        "has %d of them", model_name, found);
            goto done;
        }
    }

    /* A file is read as it is separated (and once before, for its loudness); a pipe, or
     * a stream whose header gives no length, is read whole first. */
    reader = audio_reader_open(input_path, err, err_size);
    if (!reader) {
        print_error("%s", err);
        goto done;
    }
    job.channels = audio_reader_channels(reader);
    job.sample_rate = audio_reader_sample_rate(reader);
    struct stat input_stat;
    if (audio_reader_frames(reader) > 0 && stat(input_path, &input_stat) == 0 &&
        S_ISREG(input_stat.st_mode)) {
        job.frames = (size_t)audio_reader_frames(reader);
        job.reader = reader;
    } else {
        audio_reader_close(reader);
        reader = NULL;
        if (audio_read(input_path, &audio, err, err_size) != 0) {
            print_error("%s", err);
            goto done;
        }
        job.frames = audio.frames;
        job.whole = &audio;
    }
    job.input_path = input_path;
    double lufs = -HUGE_VAL;
    if (sep.loudness != 1) {
        if (measure_loudness(&job, &lufs) != 0) {
            print_error("%s", err);
            goto done;
        }
        if (isfinite(lufs))
            stream.input_gain = (float)pow(10.0, (SEPARATION_LUFS - lufs) / 20.0);
    }
    double t_read = now_seconds();

    mrxcl_stream_plan plan;
    if (mrxcl_stream_plan_get(&stream, job.frames, job.sample_rate, &plan) != MRXCL_OK) {
        /* rounding at this sample rate broke 2 * overlap <= chunk */
        usage_error("separate", "--overlap %g is too long for --chunk %g at %d Hz", overlap_s,
                    chunk_s, job.sample_rate);
        exit_code = EXIT_USAGE;
        goto done;
    }

    if (prepare_output_dir(dir, &dir_created) != 0)
        goto done;
    /* Opened before the long work so that an unwritable directory fails at once. */
    writer = stem_writer_open(dir, names, mi.n_sources, format, subtype, job.channels,
                              job.sample_rate, job.frames, err, err_size);
    if (!writer) {
        print_error("%s", err);
        goto done;
    }

    mrxcl_context_params params = mrxcl_context_default_params();
    if (sep.device) {
        char *end = NULL;
        long index = strtol(sep.device, &end, 10);
        if (sep.device[0] != '\0' && *end == '\0' && index >= 0 && index <= 1000000)
            params.device_index = (int)index;
        else
            params.device_name = sep.device;
    }
    const char *kernel_dir = getenv("MRXCL_KERNEL_DIR");
    if (kernel_dir && kernel_dir[0])
        params.kernel_dir = kernel_dir;
    ctx = mrxcl_context_create(model, &params, &status);
    if (!ctx) {
        if (status == MRXCL_ERR_NO_DEVICE || status == MRXCL_ERR_KERNEL_BUILD)
            print_library_error(NULL, status, NULL); /* the message names device and kernels */
        else
            print_library_error(NULL, status, "cannot prepare model '%s' on the OpenCL device",
                                model_name);
        goto done;
    }
    mrxcl_model_free(model);
    model = NULL;
    mrxcl_device_desc device;
    memset(&device, 0, sizeof device);
    mrxcl_context_device(ctx, &device);
    double t_ctx = now_seconds();

    job.ctx = ctx;
    job.device_name = device.name[0] ? device.name : "?";
    job.writer = writer;
    job.pieces = plan.pieces;
    job.show_progress = !sep.quiet && plan.pieces > 1 && isatty(STDERR_FILENO);
    double t_sep0 = now_seconds();
    status = mrxcl_separate_stream(ctx, &stream, job.channels, job.frames, job.sample_rate,
                                   job_read, job_write, job_progress, &job);
    double t_sep1 = now_seconds();
    if (status != MRXCL_OK) {
        if (job.show_progress)
            fputc('\n', stderr);
        if (status == MRXCL_ERR_CALLBACK)
            print_error("%s", err); /* ours: reading the input or writing a stem */
        else if (status == MRXCL_ERR_NONFINITE)
            print_error("separating '%s' on %s: %s; nothing written", input_path,
                        job.device_name, mrxcl_last_error(ctx));
        else
            print_library_error(ctx, status, "separating '%s' on %s failed", input_path,
                                job.device_name);
        goto done;
    }
    int committed = stem_writer_commit(writer, err, err_size);
    writer = NULL; /* commit frees it either way */
    if (committed != 0) {
        print_error("%s", err);
        goto done;
    }
    dir_created = 0; /* it holds the stems now */
    stem_writer_note_created_dir(NULL);
    exit_code = 0;
    if (sep.verbose)
        for (int s = 0; s < mi.n_sources; s++)
            fprintf(stderr, "mrxcl: wrote %s/%s.%s\n", dir, names[s], audio_format_extension(format));
    if (!sep.quiet) {
        double seconds = (double)job.frames / job.sample_rate;
        double took = (t_sep1 - t_sep0) - job.io_seconds; /* the device's part */
        fprintf(stderr, "separated %.1f s of audio (%d ch, %d Hz) in %.2f s, %.1fx real time on %s\n",
                seconds, job.channels, job.sample_rate, took, took > 0 ? seconds / took : 0.0,
                job.device_name);
        if (sep.verbose && sep.loudness != 1 && isfinite(lufs))
            fprintf(stderr, "mrxcl: input loudness %.2f LUFS, separated at %.0f LUFS (gain %+.2f dB)\n",
                    lufs, SEPARATION_LUFS, SEPARATION_LUFS - lufs);
        else if (sep.verbose && sep.loudness != 1)
            fprintf(stderr, "mrxcl: input has no loudness (silent, or under 400 ms): separated "
                            "at its own level\n");
        if (sep.verbose)
            fprintf(stderr, "mrxcl: consistency %s%s\n", consistency_choices[stream.consistency],
                    sep.consistency < 0 || sep.consistency == MRXCL_CONSISTENCY_MODEL
                        ? " (the model's)" : "");
        if (sep.verbose)
            fprintf(stderr, "mrxcl: %zu piece%s of up to %.1f s, overlap %.1f s; times: model, input "
                            "and loudness %.2f s, OpenCL setup %.2f s, read+separate+write %.2f s, total %.2f s\n",
                    plan.pieces, plan.pieces == 1 ? "" : "s",
                    (double)plan.piece_frames / job.sample_rate,
                    (double)plan.overlap_frames / job.sample_rate, t_read - t0, t_ctx - t_read,
                    t_sep1 - t_sep0, now_seconds() - t0);
    }
done:
    stem_writer_abort(writer);
    if (dir_created) {
        rmdir(dir); /* only if empty: never removes anything but what we made */
        stem_writer_note_created_dir(NULL);
    }
    mrxcl_context_free(ctx);
    mrxcl_model_free(model);
    audio_reader_close(reader);
    audio_free(&audio);
    int sig = stem_writer_pending_signal();
    return sig ? 128 + sig : exit_code;
}

/* ---- devices, info ---------------------------------------------------------------- */

static void format_bytes(char *buf, size_t size, size_t bytes)
{
    if (bytes >= ((size_t)1 << 30))
        snprintf(buf, size, "%.1f GiB", (double)bytes / (double)(1u << 30));
    else
        snprintf(buf, size, "%.0f MiB", (double)bytes / (double)(1u << 20));
}

static int cmd_devices(int argc, char **argv)
{
    int n_positional = 0;
    if (parse_options("devices", devices_specs, COUNT(devices_specs), argc, argv, NULL, 0,
                      &n_positional) != 0)
        return EXIT_USAGE;
    if (dev.help) {
        print_help(stdout, "devices");
        return 0;
    }
    /* A first call with room for 16; a second one if there are more. */
    int max = 16, count = 0;
    mrxcl_device_desc *devices = NULL;
    int status;
    for (;;) {
        mrxcl_device_desc *grown = realloc(devices, (size_t)max * sizeof *devices);
        if (!grown) {
            free(devices);
            print_error("out of memory");
            return EXIT_RUNTIME;
        }
        devices = grown;
        memset(devices, 0, (size_t)max * sizeof *devices);
        status = mrxcl_list_devices(devices, max, &count);
        if (status != MRXCL_OK || count <= max)
            break;
        max = count;
    }
    if (status != MRXCL_OK || count <= 0) {
        free(devices);
        print_library_error(NULL, status != MRXCL_OK ? status : MRXCL_ERR_NO_DEVICE, NULL);
        return EXIT_RUNTIME;
    }
    printf("%-5s  %-4s  %-10s  %-28s  %-36s  %s\n", "index", "type", "memory", "platform", "name",
           "version");
    for (int i = 0; i < count; i++) {
        char mem[32];
        format_bytes(mem, sizeof mem, devices[i].global_memory);
        printf("%5d  %-4s  %-10s  %-28s  %-36s  %s\n", devices[i].index,
               devices[i].is_gpu ? "GPU" : "CPU", mem, devices[i].platform, devices[i].name,
               devices[i].version);
    }
    free(devices);
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    const char *positional[1] = {NULL};
    int n_positional = 0;
    if (parse_options("info", info_specs, COUNT(info_specs), argc, argv, positional, 1,
                      &n_positional) != 0)
        return EXIT_USAGE;
    if (inf.help) {
        print_help(stdout, "info");
        return 0;
    }
    int exit_code = EXIT_RUNTIME;
    const char *name = NULL;
    mrxcl_model *model = load_model("info", positional[0], &name, &exit_code);
    if (!model)
        return exit_code;
    mrxcl_model_info mi;
    int status = mrxcl_model_get_info(model, &mi);
    mrxcl_model_free(model);
    if (status != MRXCL_OK) {
        print_library_error(NULL, status, "cannot read the configuration of model '%s'", name);
        return EXIT_RUNTIME;
    }
    double rate = mi.sample_rate > 0 ? (double)mi.sample_rate : 1.0;
    printf("model:        %s\n", name);
    printf("sample rate:  %d Hz\n", mi.sample_rate);
    printf("hop:          %d samples (%.1f ms)\n", mi.hop, 1000.0 * mi.hop / rate);
    printf("windows:     ");
    for (int r = 0; r < mi.n_resolutions && r < MRXCL_MAX_RESOLUTIONS; r++)
        printf(" %d%s", mi.window_lengths[r], r + 1 < mi.n_resolutions ? "," : "");
    printf(" samples (");
    for (int r = 0; r < mi.n_resolutions && r < MRXCL_MAX_RESOLUTIONS; r++)
        printf("%.1f%s", 1000.0 * mi.window_lengths[r] / rate, r + 1 < mi.n_resolutions ? ", " : "");
    printf(" ms)\n");
    printf("hidden:       %d\n", mi.hidden);
    printf("LSTM layers:  %d\n", mi.lstm_layers);
    printf("sources:     ");
    for (int s = 0; s < mi.n_sources && s < MRXCL_MAX_SOURCES; s++)
        printf(" %s%s", mi.source_names[s], s + 1 < mi.n_sources ? "," : "");
    printf("\nparameters:   %zu (%.2f M), plus %zu BatchNorm statistics\n", mi.n_parameters,
           (double)mi.n_parameters / 1e6, mi.n_statistics);
    printf("consistency:  %s (separate's default with this model)\n",
           consistency_choices[mi.consistency]);
    return 0;
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Separating piece after piece allocates and frees the same large buffers (in the
     * OpenCL runtime too) again and again. glibc raises its mmap threshold after such a
     * free, and from then on serves them from a heap that fragments: 10 minutes of mono
     * in 30 s pieces peaked at 699 MB of RSS against 440 MB with the threshold fixed at
     * its initial 128 KiB, which this does, at no measurable cost in speed. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    if (argc < 2)
        return usage_error(NULL, "no command given (separate, devices or info)");
    const char *command = argv[1];
    mrxcl_log_set(log_to_stderr, &g_verbosity);
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        print_help(stdout, NULL);
        return 0;
    }
    if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0) {
        printf("mrxcl %s (%s)\n", mrxcl_version(), sf_version_string());
        printf("default model: %s\n", mrxcl_has_default_model()
                                           ? "embedded (mrxcl info shows it)"
                                           : "none (this build carries none; use -m MODEL)");
        return 0;
    }
    if (strcmp(command, "separate") == 0)
        return cmd_separate(argc - 2, argv + 2);
    if (strcmp(command, "devices") == 0)
        return cmd_devices(argc - 2, argv + 2);
    if (strcmp(command, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (command[0] == '-')
        return usage_error(NULL, "unknown option '%s'", command);
    return usage_error(NULL, "unknown command '%s' (separate, devices or info)", command);
}
