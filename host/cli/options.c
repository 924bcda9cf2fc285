/* Option parsing and help for the mrxcl program. See options.h. */
#include "options.h"

#include "common.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum arg_kind {
    ARG_FLAG,    /* int: set to 1 */
    ARG_STRING,  /* const char *: the argument */
    ARG_CHOICE,  /* int: index of the argument in `choices` */
    ARG_SECONDS, /* double: a finite number >= 0 */
    ARG_NUMBER,  /* double: a finite number */
    ARG_COUNT,   /* int: a whole number from 1 to MAX_BATCH */
    ARG_BYTES    /* double: bytes, a number with an optional K, M, G or T (powers of 1024) */
} arg_kind;

typedef struct option_spec {
    const char *long_name;
    char short_name; /* 0 if none */
    arg_kind kind;
    size_t offset; /* of the field that receives it, in the command's options struct */
    const char *const *choices; /* ARG_CHOICE: NULL-terminated */
    const char *metavar;
    const char *help;
    /* if set, `help` is a format with one %g for the default this returns */
    double (*help_default)(void);
} option_spec;

static const char *const format_choices[] = {"wav", "flac", "ogg", NULL};   /* = audio_format */
static const char *const subtype_choices[] = {"float", "pcm16", "pcm24", NULL};
static const char *const onoff_choices[] = {"on", "off", NULL};
/* docs/network.md, "Around the network": what to do with the mixture's residual (the
 * input less the sum of the stems), before the loudness gain is undone; =
 * mrxcl_consistency. "model" (the default) is the mode the model file names, pass when
 * it names none. */
static const char *const consistency_choices[] = {"pass", "all", "music_sfx", "model", NULL};
static const char *const progress_choices[] = {"bar", "json", "none", NULL}; /* = progress_mode - 1 */
static const char *const preset_choices[] = {"dialogue", "me", NULL};

/* dialogue: the speech 12 dB over the music and 9 dB over the effects, where a film mix
 * usually keeps it a few dB over them, with little change in the overall level (speech
 * carries most of a film's loudness); me: the music-and-effects track for dubbing. */
static const remix_preset presets[] = {
    {"dialogue", 3.0, -9.0, -6.0},
    {"me", -INFINITY, 0.0, 0.0},
};

const remix_preset *remix_preset_get(int index)
{
    return index >= 0 && index < (int)(sizeof presets / sizeof presets[0]) ? &presets[index] : NULL;
}

const char *consistency_name(mrxcl_consistency mode)
{
    return mode >= 0 && mode <= MRXCL_CONSISTENCY_MODEL ? consistency_choices[mode] : "?";
}

static double default_piece_seconds(void)
{
    return mrxcl_stream_default_params().piece_seconds;
}

static double default_overlap_seconds(void)
{
    return mrxcl_stream_default_params().overlap_seconds;
}

#define SEP(field) offsetof(separate_options, field)
/* The options separate and remix share, after -o. */
#define SHARED_SPECS                                                                             \
    {"model", 'm', ARG_STRING, SEP(model), NULL, "MODEL",                                        \
     "model file (.safetensors); default: $MRXCL_MODEL, else the built-in model", NULL},        \
    {"device", 0, ARG_STRING, SEP(device), NULL, "D",                                            \
     "OpenCL device: an index from 'mrxcl devices' or part of its name", NULL},                  \
    {"subtype", 0, ARG_CHOICE, SEP(subtype), subtype_choices, "float|pcm16|pcm24",               \
     "sample format (default: float for wav, pcm24 for flac)", NULL},                            \
    {"loudness", 0, ARG_CHOICE, SEP(loudness), onoff_choices, "on|off",                          \
     "separate at -27 LUFS (BS.1770), the gain undone on the output (default on)", NULL},        \
    {"input-lufs", 0, ARG_NUMBER, SEP(input_lufs), NULL, "L",                                    \
     "the input's integrated loudness, if known: not measured then (saves a pass over it)",     \
     NULL},                                                                                      \
    {"consistency", 0, ARG_CHOICE, SEP(consistency), consistency_choices,                        \
     "pass|all|music_sfx|model",                                                                 \
     "what the stems miss of the input: pass leaves it; all: a share to each; music_sfx: half "  \
     "to music, half to sfx; model (default): the model's own mode ('mrxcl info' shows it)",    \
     NULL},                                                                                      \
    {"chunk", 0, ARG_SECONDS, SEP(chunk), NULL, "S",                                             \
     "separate in pieces of S seconds, cross-faded (default %g; 0: the whole input at once; "    \
     "at least 0.1 s and the model's longest STFT window, 0.19 s for the default model; at "     \
     "most 1e7 s)",                                                                              \
     default_piece_seconds},                                                                     \
    {"overlap", 0, ARG_SECONDS, SEP(overlap), NULL, "S",                                         \
     "seconds by which pieces overlap (default %g; at most half of --chunk)",                    \
     default_overlap_seconds},                                                                   \
    {"batch", 0, ARG_COUNT, SEP(batch), NULL, "K",                                               \
     "pieces per device batch (default: enough to keep the device busy, within its memory)",     \
     NULL},                                                                                      \
    {"max-memory", 0, ARG_BYTES, SEP(max_memory), NULL, "BYTES",                                 \
     "device memory a batch may take, e.g. 8G (default: 3/4 of the device's)", NULL},            \
    {"stats", 0, ARG_STRING, SEP(stats), NULL, "FILE",                                           \
     "write the run's figures as JSON to FILE: stage times, batch, device busy fraction, "      \
     "memory", NULL},                                                                            \
    {"progress", 0, ARG_CHOICE, SEP(progress), progress_choices, "bar|json|none",                \
     "progress on stderr (default: a bar on a terminal; json: one JSON object a line, even "     \
     "with -q)", NULL},                                                                          \
    {"quiet", 'q', ARG_FLAG, SEP(quiet), NULL, NULL, "print nothing but errors", NULL},          \
    {"verbose", 'v', ARG_FLAG, SEP(verbose), NULL, NULL, "print the library's log messages",     \
     NULL},                                                                                      \
    {"help", 'h', ARG_FLAG, SEP(help), NULL, NULL, "show this help", NULL}

static const option_spec separate_specs[] = {
    {"output", 'o', ARG_STRING, SEP(output), NULL, "DIR",
     "write one file per source into DIR (created if missing)", NULL},
    {"format", 0, ARG_CHOICE, SEP(format), format_choices, "wav|flac|ogg",
     "output format (default wav; ogg is Vorbis)", NULL},
    SHARED_SPECS,
};

static const option_spec remix_specs[] = {
    {"output", 'o', ARG_STRING, SEP(output), NULL, "FILE",
     "write the remix to FILE; - writes a WAV stream to standard output", NULL},
    {"format", 0, ARG_CHOICE, SEP(format), format_choices, "wav|flac|ogg",
     "output format (default: from FILE's extension)", NULL},
    {"preset", 0, ARG_CHOICE, SEP(preset), preset_choices, "dialogue|me",
     "dialogue: speech +3 dB, music -9 dB, sfx -6 dB; me: speech muted (music and effects); "
     "a source's gain given after it changes that source", NULL},
    SHARED_SPECS,
};
/* batch: separate's options (the format of the stems, or of the remix files with
 * --remix), remix's (with --remix), and its own. */
static const option_spec batch_specs[] = {
    {"output", 'o', ARG_STRING, SEP(output), NULL, "ROOT",
     "write each input's outputs under ROOT, at its path relative to the inputs' common "
     "directory (created if missing)", NULL},
    {"manifest", 0, ARG_STRING, SEP(manifest), NULL, "FILE",
     "read input paths from FILE, one a line (# comments and blank lines skipped; - is "
     "standard input)", NULL},
    {"remix", 0, ARG_FLAG, SEP(remix), NULL, NULL,
     "write one remix file per input (ROOT/PATH.wav) instead of a directory of stems", NULL},
    {"preset", 0, ARG_CHOICE, SEP(preset), preset_choices, "dialogue|me",
     "with --remix: remix's presets; --SOURCE DB sets a source's gain as in remix", NULL},
    {"format", 0, ARG_CHOICE, SEP(format), format_choices, "wav|flac|ogg",
     "output format (default wav; ogg is Vorbis)", NULL},
    {"force", 0, ARG_FLAG, SEP(force), NULL, NULL,
     "redo every input, also those done before with the same input, model and options", NULL},
    {"shard", 0, ARG_STRING, SEP(shard), NULL, "I/N",
     "do only the inputs whose index in the sorted list is I modulo N (default: from "
     "SLURM_ARRAY_TASK_ID, _MIN and _COUNT in a Slurm array task, else 0/1)", NULL},
    SHARED_SPECS,
};
#undef SEP

#define TUNE(field) offsetof(tune_options, field)
static const option_spec tune_specs[] = {
    {"model", 'm', ARG_STRING, TUNE(model), NULL, "MODEL",
     "tune for this model's GEMMs (default: $MRXCL_MODEL, else the built-in model)", NULL},
    {"device", 0, ARG_STRING, TUNE(device), NULL, "D",
     "OpenCL device: an index from 'mrxcl devices' or part of its name", NULL},
    {"fraction", 0, ARG_SECONDS, TUNE(fraction), NULL, "F",
     "share of CLBlast's search space to try, (0, 1] (default 0.005: minutes on a GPU)", NULL},
    {"size", 0, ARG_SECONDS, TUNE(size), NULL, "N",
     "tune on an N x N x N GEMM, N a multiple of 128 (default: the model's, at most 1024)",
     NULL},
    {"quiet", 'q', ARG_FLAG, TUNE(quiet), NULL, NULL, "print nothing but errors", NULL},
    {"verbose", 'v', ARG_FLAG, TUNE(verbose), NULL, NULL, "print the library's log messages",
     NULL},
    {"help", 'h', ARG_FLAG, TUNE(help), NULL, NULL, "show this help", NULL},
};
#undef TUNE

/* devices and info: --help alone, into an int. */
static const option_spec help_only_specs[] = {
    {"help", 'h', ARG_FLAG, 0, NULL, NULL, "show this help", NULL},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int set_option(const char *command, const option_spec *spec, void *opts,
                      const char *value)
{
    void *target = (char *)opts + spec->offset;
    switch (spec->kind) {
    case ARG_FLAG:
        *(int *)target = 1;
        return 0;
    case ARG_STRING:
        *(const char **)target = value;
        return 0;
    case ARG_CHOICE:
        for (int i = 0; spec->choices[i]; i++) {
            if (strcmp(value, spec->choices[i]) == 0) {
                *(int *)target = i;
                return 0;
            }
        }
        return usage_error(command, "invalid value '%s' for --%s (expected %s)", value,
                           spec->long_name, spec->metavar);
    case ARG_NUMBER: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !isfinite(v))
            return usage_error(command, "invalid value '%s' for --%s (expected a number)",
                               value, spec->long_name);
        *(double *)target = v;
        return 0;
    }
    case ARG_COUNT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || v < 1 || v > MAX_BATCH)
            return usage_error(command, "invalid value '%s' for --%s (expected a whole number "
                               "from 1 to %d)", value, spec->long_name, MAX_BATCH);
        *(int *)target = (int)v;
        return 0;
    }
    case ARG_BYTES: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        const char *units = "KMGT", *u = *end ? strchr(units, *end) : NULL;
        if (u) {
            v = ldexp(v, 10 * (int)(u - units + 1));
            end++;
            if (*end == 'i')
                end++;
            if (*end == 'B')
                end++;
        }
        if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < (1 << 20) ||
            v > 0x1p60)
            return usage_error(command, "invalid value '%s' for --%s (expected bytes from 1M to "
                               "1E, as 512M or 8G)", value, spec->long_name);
        *(double *)target = v;
        return 0;
    }
    case ARG_SECONDS: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < 0)
            return usage_error(command, "invalid value '%s' for --%s (expected seconds >= 0)",
                               value, spec->long_name);
        *(double *)target = v;
        return 0;
    }
    }
    return EXIT_USAGE;
}

/* The words of one command line, and where the parser stands in them. */
typedef struct parse_state {
    const char *command;
    const option_spec *specs;
    int n_specs;
    void *opts;
    int argc;
    char **argv;
    int i; /* the word being parsed */
    separate_options *gains; /* remix: an unknown --NAME DB is a source's gain */
} parse_state;

/* "DB", "-inf" or "mute" into dB (-INFINITY for the last two). 0, or EXIT_USAGE. */
static int parse_gain(const char *command, const char *name, size_t len, const char *value,
                      double *db)
{
    if (strcmp(value, "mute") == 0) {
        *db = -INFINITY;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno == EINVAL || isnan(v) || v == INFINITY)
        return usage_error(command, "invalid gain '%s' for --%.*s (expected dB, -inf or mute)",
                           value, (int)len, name);
    if (v > MAX_GAIN_DB)
        return usage_error(command, "gain %s dB for --%.*s is absurd: at most +%g dB (more only "
                           "clips)", value, (int)len, name, MAX_GAIN_DB);
    *db = v;
    return 0;
}

/* --NAME DB for a source the model may have: checked against it once it is loaded. */
static int add_gain(parse_state *ps, const char *name, size_t len, const char *eq)
{
    separate_options *o = ps->gains;
    const char *value = eq ? eq + 1 : ps->i + 1 < ps->argc ? ps->argv[++ps->i] : NULL;
    if (!value)
        return usage_error(ps->command, "unknown option '--%.*s' (a source's gain takes a "
                           "value: --%.*s DB)", (int)len, name, (int)len, name);
    if (o->n_gains >= MAX_GAIN_OPTIONS)
        return usage_error(ps->command, "more than %d gains", MAX_GAIN_OPTIONS);
    double db = 0.0;
    if (parse_gain(ps->command, name, len, value, &db) != 0)
        return EXIT_USAGE;
    /* the name stays in argv: "--speech=3" is cut at its '=' by a copy of the word */
    char *copy = strndup(name, len);
    if (!copy)
        return usage_error(ps->command, "out of memory");
    o->gain_name[o->n_gains] = copy;
    o->gain_db[o->n_gains++] = db;
    return 0;
}

/* "--name", "--name=VALUE", "--name VALUE" */
static int parse_long_option(parse_state *ps)
{
    const char *name = ps->argv[ps->i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const option_spec *spec = NULL;
    for (int k = 0; k < ps->n_specs; k++) {
        const char *long_name = ps->specs[k].long_name;
        if (strlen(long_name) == len && strncmp(long_name, name, len) == 0)
            spec = &ps->specs[k];
    }
    if (!spec && ps->gains)
        return add_gain(ps, name, len, eq);
    if (!spec)
        return usage_error(ps->command, "unknown option '--%.*s'", (int)len, name);
    const char *value = NULL;
    if (spec->kind == ARG_FLAG) {
        if (eq)
            return usage_error(ps->command, "option '--%s' takes no value", spec->long_name);
    } else if (eq) {
        value = eq + 1;
    } else if (ps->i + 1 < ps->argc) {
        value = ps->argv[++ps->i];
    } else {
        return usage_error(ps->command, "option '--%s' needs a value (%s)", spec->long_name,
                           spec->metavar);
    }
    return set_option(ps->command, spec, ps->opts, value) != 0 ? EXIT_USAGE : 0;
}

/* one or more short options: "-qv", "-o DIR", "-oDIR" */
static int parse_short_options(parse_state *ps)
{
    for (const char *p = ps->argv[ps->i] + 1; *p; p++) {
        const option_spec *spec = NULL;
        for (int k = 0; k < ps->n_specs; k++) {
            if (ps->specs[k].short_name && ps->specs[k].short_name == *p)
                spec = &ps->specs[k];
        }
        if (!spec)
            return usage_error(ps->command, "unknown option '-%c'", *p);
        if (spec->kind == ARG_FLAG) {
            set_option(ps->command, spec, ps->opts, NULL);
            continue;
        }
        const char *value = p[1] ? p + 1 : (ps->i + 1 < ps->argc ? ps->argv[++ps->i] : NULL);
        if (!value)
            return usage_error(ps->command, "option '-%c' needs a value (%s)", *p,
                               spec->metavar);
        return set_option(ps->command, spec, ps->opts, value) != 0 ? EXIT_USAGE : 0;
    }
    return 0;
}

/* Parses argv[0..argc) (the words after the command) into the struct at `opts`. Options
 * and positional arguments may be mixed; "--" ends the options. 0 or EXIT_USAGE. */
static int parse_options(parse_state *ps, const char **positional, int max_positional,
                         int *n_positional)
{
    *n_positional = 0;
    int only_positional = 0;
    for (ps->i = 0; ps->i < ps->argc; ps->i++) {
        const char *arg = ps->argv[ps->i];
        int rc = 0;
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (*n_positional >= max_positional)
                return usage_error(ps->command, "unexpected argument '%s'", arg);
            positional[(*n_positional)++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            only_positional = 1;
        } else if (arg[1] == '-') {
            rc = parse_long_option(ps);
        } else {
            rc = parse_short_options(ps);
        }
        if (rc != 0)
            return EXIT_USAGE;
    }
    return 0;
}

int parse_separate_options(const char *command, int argc, char **argv, separate_options *opt,
                           const char **input, int *n_inputs)
{
    memset(opt, 0, sizeof *opt);
    opt->format = opt->subtype = opt->loudness = opt->consistency = -1;
    opt->progress = opt->preset = -1;
    opt->chunk = opt->overlap = -1.0;
    opt->input_lufs = NAN;
    opt->max_memory = -1.0;
    int remix = strcmp(command, "remix") == 0;
    parse_state ps = {command, remix ? remix_specs : separate_specs,
                      remix ? COUNT(remix_specs) : COUNT(separate_specs), opt, argc, argv, 0,
                      remix ? opt : NULL};
    return parse_options(&ps, input, 1, n_inputs);
}

int parse_batch_options(int argc, char **argv, separate_options *opt, const char **positional,
                        int max_positional, int *n_positional)
{
    memset(opt, 0, sizeof *opt);
    opt->format = opt->subtype = opt->loudness = opt->consistency = -1;
    opt->progress = opt->preset = -1;
    opt->chunk = opt->overlap = -1.0;
    opt->input_lufs = NAN;
    opt->max_memory = -1.0;
    parse_state ps = {"batch", batch_specs, COUNT(batch_specs), opt, argc, argv, 0, opt};
    return parse_options(&ps, positional, max_positional, n_positional);
}

int parse_tune_options(int argc, char **argv, tune_options *opt)
{
    const char *positional[1];
    int n = 0;
    memset(opt, 0, sizeof *opt);
    opt->fraction = opt->size = -1.0;
    parse_state ps = {"tune", tune_specs, COUNT(tune_specs), opt, argc, argv, 0, NULL};
    return parse_options(&ps, positional, 0, &n);
}

int parse_help_only(const char *command, int argc, char **argv, int *help,
                    const char **positional, int max_positional)
{
    int n_positional = 0;
    *help = 0;
    parse_state ps = {command, help_only_specs, COUNT(help_only_specs), help, argc, argv, 0, NULL};
    return parse_options(&ps, positional, max_positional, &n_positional);
}

static void print_options(FILE *out, const option_spec *specs, int n_specs)
{
    for (int k = 0; k < n_specs; k++) {
        const option_spec *s = &specs[k];
        char left[64], help[512];
        const char *metavar = s->metavar ? s->metavar : "";
        const char *space = s->metavar ? " " : "";
        if (s->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", s->short_name, s->long_name, space,
                     metavar);
        else
            snprintf(left, sizeof left, "    --%s%s%s", s->long_name, space, metavar);
        if (s->help_default)
            snprintf(help, sizeof help, s->help, s->help_default());
        else
            snprintf(help, sizeof help, "%s", s->help);
        if (strlen(left) > 32) /* too wide for the column: the help on the next line */
            fprintf(out, "  %s\n  %-32s %s\n", left, "", help);
        else
            fprintf(out, "  %-32s %s\n", left, help);
    }
}

static void print_usage_lines(FILE *out, const char *command)
{
    int all = command == NULL;
    fputs("Usage:\n", out);
    if (all || strcmp(command, "separate") == 0)
        fputs("  mrxcl separate INPUT -o DIR [-m MODEL] [options]\n", out);
    if (all || strcmp(command, "remix") == 0)
        fputs("  mrxcl remix INPUT -o FILE [--preset dialogue|me] [--SOURCE DB ...] [options]\n",
              out);
    if (all || strcmp(command, "batch") == 0)
        fputs("  mrxcl batch MANIFEST|DIR|- ... -o ROOT [--remix] [--shard I/N] [options]\n",
              out);
    if (all || strcmp(command, "tune") == 0)
        fputs("  mrxcl tune [--device D] [-m MODEL] [--fraction F] [--size N]\n", out);
    if (all || strcmp(command, "devices") == 0)
        fputs("  mrxcl devices\n", out);
    if (all || strcmp(command, "info") == 0)
        fputs("  mrxcl info [MODEL]\n", out);
    if (all)
        fputs("  mrxcl --help | --version\n", out);
}

static void print_separate_help(FILE *out)
{
    fprintf(out,
            "\nseparate: read INPUT (any format libsndfile reads; - is standard input) and\n"
            "write one file per source, named after the model's sources (DIR/music.wav,\n"
            "DIR/speech.wav, DIR/sfx.wav), with the input's sample rate, channels, length\n"
            "and WAV channel mask. Files in DIR are replaced only when every stem was\n"
            "written. A pipe as INPUT is copied to $TMPDIR first (it is read twice: its\n"
            "loudness, then the separation). The input is read and separated in pieces\n"
            "(--chunk), so a film needs no more memory than a %g s clip, and at -27 LUFS\n"
            "(--loudness), the level the models work at.\n",
            default_piece_seconds());
    print_options(out, separate_specs, COUNT(separate_specs));
}

static void print_remix_help(FILE *out)
{
    fputs("\nremix: separate INPUT and write one file in which each source has the gain\n"
          "given in dB (--speech DB, --music DB, --sfx DB: any source of the model; -inf or\n"
          "mute silences it; 0 by default), with the input's rate, channels, length and WAV\n"
          "channel mask; no stems are written. The output is the input plus (gain - 1) x\n"
          "each stem: with every gain at 0 dB it is the input; with consistency all (the\n"
          "default model's) it is the sum of the gained stems. -o - writes WAV (RF64 over\n"
          "4 GiB) to standard output, its header giving the exact length; the format of a\n"
          "FILE comes from its extension (.wav, .flac, .ogg) or --format.\n", out);
    print_options(out, remix_specs, COUNT(remix_specs));
}

static void print_batch_help(FILE *out)
{
    fputs("\nbatch: separate many inputs with one model and one OpenCL context (kernels\n"
          "built once). Each argument is a manifest (input paths one a line, relative to\n"
          "the current directory; - is standard input) or a directory, searched\n"
          "recursively for the extensions libsndfile reads. An input's stems go to\n"
          "ROOT/PATH/ (PATH: its path relative to the inputs' common directory, its\n"
          "extension dropped), or with --remix its remix to ROOT/PATH.EXT. An input whose\n"
          "outputs were made from the same input, model and options is skipped, so a\n"
          "killed or resubmitted batch redoes only what is unfinished (records in\n"
          "ROOT/.mrxcl/done/). A bad input is reported and skipped; the exit status is 1\n"
          "if any failed. ROOT/.mrxcl/summary-I-of-N.json holds each shard's summary.\n",
          out);
    print_options(out, batch_specs, COUNT(batch_specs));
}

void print_help(FILE *out, const char *command)
{
    int all = command == NULL;
    if (all)
        fputs("mrxcl: separate a film soundtrack into music, speech and sound effects\n"
              "with the MRX network on OpenCL.\n\n",
              out);
    print_usage_lines(out, command);
    if (all || strcmp(command, "separate") == 0)
        print_separate_help(out);
    if (all || strcmp(command, "remix") == 0)
        print_remix_help(out);
    if (all || strcmp(command, "batch") == 0)
        print_batch_help(out);
    if (all || strcmp(command, "tune") == 0) {
        fputs("\ntune: tune CLBlast's GEMM kernel for a device and keep the parameters in\n"
              "$XDG_CACHE_HOME/mrxcl/clblast/ (else ~/.cache/mrxcl/clblast/), per platform,\n"
              "device, driver and CLBlast version; every later run on that device uses them.\n"
              "A GPU without an entry gets a short tune at its first use (MRXCL_TUNE=off\n"
              "skips it); CPU devices run their GEMMs on the host BLAS instead.\n", out);
        print_options(out, tune_specs, COUNT(tune_specs));
    }
    if (all || strcmp(command, "devices") == 0)
        fputs("\ndevices: list the OpenCL devices and their indices.\n", out);
    if (all || strcmp(command, "info") == 0)
        fputs("\ninfo: print a model's configuration, parameter count and consistency mode.\n", out);
    fputs("\nEnvironment:\n"
          "  MRXCL_MODEL       model file used when -m is not given\n"
          "  MRXCL_DEVICE      device index or name part used when --device is not given\n"
          "  MRXCL_KERNEL_DIR  read the OpenCL kernels (*.cl) from this directory\n"
          "  MRXCL_TUNE        off: no short GEMM tune at a GPU's first use\n",
          out);
    if (all || strcmp(command, "batch") == 0)
        fputs("  SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT\n"
              "                    batch's shard when --shard is not given\n",
              out);
    if (all || strcmp(command, "separate") == 0 || strcmp(command, "remix") == 0 ||
        strcmp(command, "batch") == 0)
        fputs("\nExamples:\n"
              "  mrxcl separate film.wav -o stems --format flac\n"
              "  mrxcl remix film.wav -o louder-speech.wav --preset dialogue\n"
              "  mrxcl batch films/ -o stems --shard 0/2\n"
              "  ffmpeg -i film.mkv -map 0:a:0 -f wav - | mrxcl remix - -o - --preset me |\n"
              "    ffmpeg -i film.mkv -i - -map 0:v -map 1:a -c:v copy film-me.mkv\n",
              out);
}
