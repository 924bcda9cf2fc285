/* One separation of the mrxcl program: stems or a remix, written atomically
 * (stem_writer.h), from an input read in pieces (separate_job.h) and separated at -27
 * LUFS with mrxcl_separate_stream(). See separation.h. */
#define _POSIX_C_SOURCE 200809L

#include "separation.h"

#include "common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The level the network works at: DnR's mixtures and ours are at -27 LUFS, and the
 * authors' script brings every input there and undoes the gain on the stems
 * (docs/network.md, "Around the network"). */
#define SEPARATION_LUFS -27.0

/* The longest piece the library plans (host/stream.c refuses more). */
#define MAX_PIECE_SECONDS 1e7
/* The shortest piece whatever the model: each piece costs a fixed setup (kernel
 * launches, transfers), so that tiny pieces take minutes for seconds of audio. */
#define MIN_PIECE_SECONDS 0.1

/* A new user should not read the first run's kernel compilation as the engine's speed,
 * so without -v the one-time work is named when it is large: a setup of more than
 * SLOW_SETUP_SECONDS, a setup that spent more than COMPILED_CPU_SECONDS of this process's
 * CPU time (compiling: other programs' load does not count there, as it does in the
 * wall-clock time), or a first piece that took more than SLOW_FIRST_PIECE_SECONDS and
 * SLOW_FIRST_PIECE_SHARE of the separation over the later pieces' pace. */
#define SLOW_SETUP_SECONDS 1.0
#define COMPILED_CPU_SECONDS 0.25
#define SLOW_FIRST_PIECE_SECONDS 1.0
#define SLOW_FIRST_PIECE_SHARE 0.2

static int format_from_name(const char *path, audio_format *format)
{
    static const struct {
        const char *ext;
        audio_format format;
    } known[] = {{".wav", AUDIO_WAV}, {".flac", AUDIO_FLAC}, {".ogg", AUDIO_OGG}, {".oga", AUDIO_OGG}};
    if (strcmp(path, "-") == 0) {
        *format = AUDIO_WAV;
        return 0;
    }
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    for (size_t i = 0; dot && (!slash || dot > slash) && i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp(dot, known[i].ext) == 0) {
            *format = known[i].format;
            return 0;
        }
    return -1;
}

int remix_format(const char *command, int given, const char *path, audio_format *format)
{
    if (given >= 0) {
        *format = (audio_format)given;
        return 0;
    }
    if (format_from_name(path, format) == 0)
        return 0;
    return usage_error(command, "cannot tell the format of '%s' from its name: end it in .wav, "
                       ".flac or .ogg, or give --format", path);
}

/* The output format and subtype: 0 or EXIT_USAGE. */
static int check_format(const separation *sp, audio_format format)
{
    if (format == AUDIO_FLAC && sp->subtype == AUDIO_SUBTYPE_FLOAT)
        return usage_error(sp->command, "FLAC cannot hold float samples: use --subtype pcm16 or pcm24");
    if (format == AUDIO_OGG && sp->subtype != AUDIO_SUBTYPE_DEFAULT)
        return usage_error(sp->command, "--subtype does not apply to ogg (Vorbis) output");
    return 0;
}

int separation_init(separation *sp, const char *command, output_kind kind,
                    const separate_options *opt)
{
    memset(sp, 0, sizeof *sp);
    sp->command = command;
    sp->kind = kind;
    sp->opt = *opt;
    const separate_options *o = &sp->opt;
    sp->format = o->format < 0 ? (kind == OUTPUT_REMIX ? (audio_format)-1 : AUDIO_WAV)
                               : (audio_format)o->format;
    sp->subtype = o->subtype < 0 ? AUDIO_SUBTYPE_DEFAULT : (audio_subtype)(o->subtype + 1);
    if ((int)sp->format >= 0 && check_format(sp, sp->format) != 0)
        return EXIT_USAGE;
    if (!isnan(o->input_lufs) && o->loudness == 1)
        return usage_error(command, "--input-lufs sets the gain that --loudness off turns off");
    if (!isnan(o->input_lufs) && (o->input_lufs < -200.0 || o->input_lufs > 30.0))
        return usage_error(command, "--input-lufs %g is not a loudness (-200 to 30 LUFS)",
                           o->input_lufs);
    sp->progress.mode = progress_resolve((progress_mode)(o->progress + 1), o->quiet);
    mrxcl_stream_params *st = &sp->stream;
    *st = mrxcl_stream_default_params();
    if (o->chunk >= 0)
        st->piece_seconds = o->chunk;
    if (o->overlap >= 0)
        st->overlap_seconds = o->overlap;
    else if (st->piece_seconds == 0)
        st->overlap_seconds = 0.0;
    if (st->piece_seconds > MAX_PIECE_SECONDS)
        return usage_error(sp->command, "--chunk %g is absurd: a piece may last at most %g s "
                           "(%.0f days); --chunk 0 separates the input whole", st->piece_seconds,
                           MAX_PIECE_SECONDS, MAX_PIECE_SECONDS / 86400.0);
    if (st->overlap_seconds > MAX_PIECE_SECONDS / 2)
        return usage_error(sp->command, "--overlap %g is absurd: at most %g s",
                           st->overlap_seconds, MAX_PIECE_SECONDS / 2);
    if (st->piece_seconds > 0 && st->overlap_seconds * 2 > st->piece_seconds)
        return usage_error(sp->command, "--overlap %g is more than half of --chunk %g",
                           st->overlap_seconds, st->piece_seconds);
    if (st->piece_seconds == 0 && o->overlap > 0)
        return usage_error(sp->command, "--overlap needs pieces: --chunk 0 separates the input whole");
    st->batch = o->batch;
    st->max_memory = o->max_memory > 0 ? (size_t)o->max_memory : 0;
    return 0;
}

/* The source names become file names: nothing that could leave DIR or collide. */
static int check_source_names(const separation *sp)
{
    const mrxcl_model_info *mi = &sp->mi;
    if (mi->n_sources < 1 || mi->n_sources > MRXCL_MAX_SOURCES ||
        mi->n_sources > STEM_WRITER_MAX_STEMS) {
        print_error("model '%s' has %d sources", sp->model_name, mi->n_sources);
        return EXIT_RUNTIME;
    }
    for (int s = 0; s < mi->n_sources; s++) {
        const char *name = mi->source_names[s];
        if (!stem_name_is_safe(name)) {
            print_error("model '%s': source name '%s' cannot be a file name (use A-Z a-z 0-9 _ -)",
                        sp->model_name, name);
            return EXIT_RUNTIME;
        }
        for (int t = 0; t < s; t++) {
            if (strcmp(name, mi->source_names[t]) == 0) {
                print_error("model '%s': two sources are named '%s'", sp->model_name, name);
                return EXIT_RUNTIME;
            }
        }
    }
    return 0;
}

static int given_consistency_is_models(const separate_options *o)
{
    return o->consistency < 0 || o->consistency == MRXCL_CONSISTENCY_MODEL;
}

/* --consistency, or the model's mode; music_sfx needs sources of those names. The
 * library refuses it too, but only once the device is set up. */
static int choose_consistency(separation *sp)
{
    const mrxcl_model_info *mi = &sp->mi;
    sp->stream.consistency = given_consistency_is_models(&sp->opt)
                                 ? mi->consistency
                                 : (mrxcl_consistency)sp->opt.consistency;
    if (sp->stream.consistency != MRXCL_CONSISTENCY_MUSIC_SFX)
        return 0;
    int found = 0;
    for (int s = 0; s < mi->n_sources; s++)
        found += strcmp(mi->source_names[s], "music") == 0 || strcmp(mi->source_names[s], "sfx") == 0;
    if (found == 2)
        return 0;
    print_error("--consistency music_sfx needs sources named music and sfx; model '%s' "
                "has %d of them", sp->model_name, found);
    return EXIT_RUNTIME;
}

/* --chunk's lower bound: a piece shorter than the model's longest STFT window is mostly
 * the reflected padding of step 1 (docs/network.md), and pieces of a few milliseconds
 * cost a setup each, which adds up to minutes on seconds of audio: at least that window,
 * and at least MIN_PIECE_SECONDS. */
static int check_piece_length(const separation *sp)
{
    double piece = sp->stream.piece_seconds;
    if (piece <= 0)
        return 0;
    int longest = 0;
    for (int r = 0; r < sp->mi.n_resolutions; r++)
        if (sp->mi.window_lengths[r] > longest)
            longest = sp->mi.window_lengths[r];
    double window = (double)longest / sp->mi.sample_rate;
    double bound = window > MIN_PIECE_SECONDS ? window : MIN_PIECE_SECONDS;
    if (piece >= bound)
        return 0;
    return usage_error(sp->command, "--chunk %g is shorter than the network can use: a piece "
                       "must last at least %.3g s (model '%s': its longest STFT window, %d "
                       "samples at %d Hz = %.3g s, and at least %g s)", piece, bound,
                       sp->model_name, longest, sp->mi.sample_rate, window, MIN_PIECE_SECONDS);
}

/* A remix's gains: the preset's, then each --NAME DB in order, for sources the model
 * has; linear into the stream's parameters. */
static int resolve_gains(separation *sp)
{
    const mrxcl_model_info *mi = &sp->mi;
    const remix_preset *preset = remix_preset_get(sp->opt.preset);
    for (int s = 0; s < mi->n_sources; s++) {
        const char *name = mi->source_names[s];
        sp->gain_db[s] = 0.0;
        if (preset && strcmp(name, "speech") == 0)
            sp->gain_db[s] = preset->speech_db;
        if (preset && strcmp(name, "music") == 0)
            sp->gain_db[s] = preset->music_db;
        if (preset && strcmp(name, "sfx") == 0)
            sp->gain_db[s] = preset->sfx_db;
    }
    for (int g = 0; g < sp->opt.n_gains; g++) {
        int found = -1;
        for (int s = 0; s < mi->n_sources; s++)
            if (strcmp(sp->opt.gain_name[g], mi->source_names[s]) == 0)
                found = s;
        if (found < 0) {
            char names[MRXCL_MAX_SOURCES * (MRXCL_MAX_NAME + 2)] = "";
            for (int s = 0; s < mi->n_sources; s++) {
                strcat(names, s ? ", " : "");
                strcat(names, mi->source_names[s]);
            }
            return usage_error(sp->command, "unknown option or source '--%s': model '%s' has "
                               "the sources %s", sp->opt.gain_name[g], sp->model_name, names);
        }
        sp->gain_db[found] = sp->opt.gain_db[g];
    }
    sp->stream.remix = 1;
    for (int s = 0; s < mi->n_sources; s++)
        sp->stream.source_gains[s] = isinf(sp->gain_db[s]) ? 0.0f
                                                           : (float)pow(10.0, sp->gain_db[s] / 20.0);
    return 0;
}

int separation_load_model(separation *sp)
{
    int exit_code = EXIT_RUNTIME;
    sp->model = load_model(sp->command, sp->opt.model, &sp->model_name, &exit_code);
    if (!sp->model)
        return exit_code;
    int status = mrxcl_model_get_info(sp->model, &sp->mi);
    if (status != MRXCL_OK) {
        print_library_error(NULL, status, "cannot read the configuration of model '%s'",
                            sp->model_name);
        return EXIT_RUNTIME;
    }
    int rc = check_source_names(sp);
    if (rc == 0)
        rc = check_piece_length(sp);
    if (rc == 0)
        rc = choose_consistency(sp);
    if (rc == 0 && sp->kind == OUTPUT_REMIX)
        rc = resolve_gains(sp);
    return rc;
}

/* Opens the input, reads it once through (truncation, NaN or Inf, and its loudness for
 * the gain), and plans the pieces. */
static int read_input(separation *sp, const char *path)
{
    separate_job *job = &sp->job;
    progress_start(&sp->progress, sp->input_path);
    progress_stage(&sp->progress, "read");
    if (separate_job_open_input(job, path) != 0) {
        progress_break(&sp->progress);
        print_error("%s", job->err);
        return EXIT_RUNTIME;
    }
    job->input_path = sp->input_path; /* "standard input" for "-", in messages */
    progress_set_total(&sp->progress, (double)job->frames / job->sample_rate);
    sp->has_channel_map = job->reader &&
                          (size_t)job->channels <= sizeof sp->channel_map / sizeof sp->channel_map[0] &&
                          audio_reader_channel_map(job->reader, sp->channel_map);
    const int gain_on = sp->opt.loudness != 1, measure = gain_on && isnan(sp->opt.input_lufs);
    job->progress = &sp->progress;
    int rc = separate_job_first_pass(job, measure, &sp->lufs);
    progress_break(&sp->progress);
    if (rc != 0) {
        print_error("%s", job->err);
        return EXIT_RUNTIME;
    }
    if (!isnan(sp->opt.input_lufs))
        sp->lufs = sp->opt.input_lufs;
    if (job->loudness_skipped && !sp->opt.quiet)
        fprintf(stderr, "mrxcl: warning: the loudness of '%s' cannot be measured at %d Hz (BS.1770 "
                        "meters take 16 to 2822400 Hz): separated at its own level, as with "
                        "--loudness off\n", sp->input_path, job->sample_rate);
    if (gain_on && isfinite(sp->lufs))
        sp->stream.input_gain = (float)pow(10.0, (SEPARATION_LUFS - sp->lufs) / 20.0);
    sp->load_s = now_seconds() - sp->t0;
    if (mrxcl_stream_plan_get(&sp->stream, job->frames, job->sample_rate, &sp->plan) != MRXCL_OK)
        /* the library says which: rounding at this rate broke 2 * overlap <= chunk, or a
         * length out of bounds */
        return usage_error(sp->command, "--chunk %g, --overlap %g at %d Hz: %s",
                           sp->stream.piece_seconds, sp->stream.overlap_seconds,
                           job->sample_rate, mrxcl_last_error(NULL));
    return 0;
}

/* Creates DIR (one level) if missing; sp->dir_created says whether it did. */
static int prepare_output_dir(separation *sp)
{
    sp->dir_created = 0;
    if (mkdir(sp->output, 0777) == 0) {
        sp->dir_created = 1;
        stem_writer_note_created_dir(sp->output);
        return 0;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(sp->output, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        print_error("output directory '%s' exists and is not a directory", sp->output);
        return EXIT_RUNTIME;
    }
    if (e == EEXIST && lstat(sp->output, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(sp->output, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        print_error("output directory '%s' is a dangling symbolic link (to '%s', which does not "
                    "exist): create that directory or name another", sp->output, target);
        return EXIT_RUNTIME;
    }
    print_error("cannot create output directory '%s': %s", sp->output, strerror(e));
    return EXIT_RUNTIME;
}

/* Opened before the long work so that an unwritable directory fails at once. */
static int open_output(separation *sp)
{
    separate_job *job = &sp->job;
    audio_spec spec = {sp->format, sp->subtype, job->channels, job->sample_rate, job->frames,
                       sp->has_channel_map ? sp->channel_map : NULL};
    char paths[MRXCL_MAX_SOURCES][4096];
    const char *names[MRXCL_MAX_SOURCES];
    int n = 1;
    if (sp->kind == OUTPUT_REMIX) {
        if (remix_format(sp->command, (int)sp->format, sp->output, &spec.format) != 0 ||
            check_format(sp, spec.format) != 0)
            return EXIT_USAGE;
        if (strcmp(sp->output, "-") == 0 && spec.format != AUDIO_WAV)
            return usage_error(sp->command, "-o - writes WAV only (--format wav)");
        names[0] = sp->output;
    } else {
        if (prepare_output_dir(sp) != 0)
            return EXIT_RUNTIME;
        n = sp->mi.n_sources;
        for (int s = 0; s < n; s++) {
            snprintf(paths[s], sizeof paths[s], "%s/%s.%s", sp->output, sp->mi.source_names[s],
                     audio_format_extension(sp->format));
            names[s] = paths[s];
        }
    }
    sp->writer = stem_writer_open(names, n, &spec, job->err, sizeof job->err);
    if (!sp->writer) {
        print_error("%s", job->err);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Builds the kernels and sets the model up on the device, timed: on a machine that has
 * not compiled them before (PoCL keeps them in ~/.cache/pocl) this is the slow part of
 * a first run, and not the engine's speed. */
static int create_context(separation *sp)
{
    mrxcl_context_params params = context_params(sp->opt.device);
    int status = 0;
    double t = now_seconds(), cpu = cpu_seconds();
    sp->ctx = mrxcl_context_create(sp->model, &params, &status);
    sp->setup_s = now_seconds() - t;
    sp->setup_cpu_s = cpu_seconds() - cpu;
    if (!sp->ctx) {
        if (status == MRXCL_ERR_NO_DEVICE || status == MRXCL_ERR_KERNEL_BUILD)
            print_library_error(NULL, status, NULL); /* the message names device and kernels */
        else
            print_library_error(NULL, status, "cannot prepare model '%s' on the OpenCL device",
                                sp->model_name);
        return EXIT_RUNTIME;
    }
    stem_writer_rearm_signals();
    mrxcl_model_free(sp->model); /* the context holds what it needs */
    sp->model = NULL;
    memset(&sp->device, 0, sizeof sp->device);
    mrxcl_context_device(sp->ctx, &sp->device);
    sp->device_name = sp->device.name[0] ? sp->device.name : "?";
    return 0;
}

static void print_stream_error(separation *sp, int status)
{
    progress_break(&sp->progress);
    if (status == MRXCL_ERR_CALLBACK) /* ours: reading the input or writing a stem */
        print_error("%s", sp->job.err[0] ? sp->job.err : sp->job.write_err);
    else if (status == MRXCL_ERR_NONFINITE)
        print_error("separating '%s' on %s: %s; nothing written", sp->input_path,
                    sp->device_name, mrxcl_last_error(sp->ctx));
    else
        print_library_error(sp->ctx, status, "separating '%s' on %s failed", sp->input_path,
                            sp->device_name);
}

/* Separates through the job's callbacks, then renames the stems into place. */
static int separate_and_commit(separation *sp)
{
    separate_job *job = &sp->job;
    job->writer = sp->writer;
    progress_stage(&sp->progress, "separate");
    double t = now_seconds();
    if (separate_job_start(job, sp->plan.pieces, t) != 0) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    int status = mrxcl_separate_stream(sp->ctx, &sp->stream, job->channels, job->frames,
                                       job->sample_rate, separate_job_read, separate_job_write,
                                       separate_job_progress, job);
    sp->separate_s = now_seconds() - t;
    memset(&sp->stats, 0, sizeof sp->stats);
    mrxcl_stream_stats_get(sp->ctx, &sp->stats);
    progress_break(&sp->progress);
    if (status != MRXCL_OK) {
        print_stream_error(sp, status);
        return EXIT_RUNTIME;
    }
    int committed = stem_writer_commit(sp->writer, job->write_err, sizeof job->write_err);
    sp->writer = NULL; /* commit frees it either way */
    if (committed != 0) {
        print_error("%s", job->write_err);
        return EXIT_RUNTIME;
    }
    sp->dir_created = 0; /* it holds the stems now */
    stem_writer_note_created_dir(NULL);
    return 0;
}

/* The one-time work apart from the engine's speed: kernel build and device setup before
 * separating, and what the first piece took over the later pieces' pace (an OpenCL
 * runtime may compile a kernel at its first launch, as PoCL does). `took`: the seconds of
 * the separation in the line above. */
static void report_one_time(const separation *sp, double took)
{
    double seconds = (double)sp->job.frames / sp->job.sample_rate;
    double extra = separate_job_first_piece_extra(&sp->job); /* NAN: one piece */
    int verbose = sp->opt.verbose;
    int compiled = sp->setup_cpu_s > COMPILED_CPU_SECONDS;
    int slow_first = extra > SLOW_FIRST_PIECE_SECONDS && extra > SLOW_FIRST_PIECE_SHARE * took;
    if (verbose || compiled || slow_first || sp->setup_s > SLOW_SETUP_SECONDS)
        fprintf(stderr, "mrxcl: kernel build and device setup: %.2f s before separating, not "
                        "counted above (once per machine for a model and piece length: later "
                        "runs reuse the compiled kernels)\n", sp->setup_s);
    if (!isnan(extra) && (verbose || slow_first)) {
        double alone = took - (extra > 0 ? extra : 0.0);
        fprintf(stderr, "mrxcl: the first piece took %.2f s more than the later pieces' pace "
                        "(kernels compiled at their first launch, and other work done once): "
                        "the separation alone ran at %.1fx real time\n",
                extra > 0 ? extra : 0.0, alone > 0 ? seconds / alone : 0.0);
    } else if (isnan(extra) && (verbose || compiled)) {
        fputs("mrxcl: in one piece, the time above may include kernels that the OpenCL runtime "
              "compiles at their first launch: a second run shows the engine's speed\n", stderr);
    }
}

static void report_speed(const separation *sp)
{
    const separate_job *job = &sp->job;
    double seconds = (double)job->frames / job->sample_rate;
    /* reading, separating and writing: they overlap (the stream's pipeline) */
    double took = sp->separate_s;
    fprintf(stderr, "separated %.1f s of audio (%d ch, %d Hz) in %.2f s, %.1fx real time on %s\n",
            seconds, job->channels, job->sample_rate, took, took > 0 ? seconds / took : 0.0,
            sp->device_name);
    report_one_time(sp, took);
}

static void report_verbose(const separation *sp)
{
    const separate_job *job = &sp->job;
    double rate = job->sample_rate;
    if (sp->opt.loudness != 1 && isfinite(sp->lufs))
        fprintf(stderr, "mrxcl: input loudness %.2f LUFS, separated at %.0f LUFS (gain %+.2f dB)\n",
                sp->lufs, SEPARATION_LUFS, SEPARATION_LUFS - sp->lufs);
    else if (sp->opt.loudness != 1 && sp->job.loudness_skipped)
        fprintf(stderr, "mrxcl: input loudness not measured at %d Hz: separated at its own "
                        "level\n", sp->job.sample_rate);
    else if (sp->opt.loudness != 1)
        fprintf(stderr, "mrxcl: input has no loudness (silent, or under 400 ms): separated "
                        "at its own level\n");
    fprintf(stderr, "mrxcl: consistency %s%s\n", consistency_name(sp->stream.consistency),
            given_consistency_is_models(&sp->opt) ? " (the model's)" : "");
    fprintf(stderr, "mrxcl: %zu piece%s of up to %.1f s, overlap %.1f s; times: model, input "
                    "and loudness %.2f s, kernel build and device setup %.2f s, "
                    "read+separate+write %.2f s, total %.2f s\n",
            sp->plan.pieces, sp->plan.pieces == 1 ? "" : "s",
            (double)sp->plan.piece_frames / rate, (double)sp->plan.overlap_frames / rate,
            sp->load_s, sp->setup_s, sp->separate_s, now_seconds() - sp->t0);
    const mrxcl_stream_stats *st = &sp->stats;
    fprintf(stderr, "mrxcl: batches of %d piece%s; stage seconds (overlapping): read %.2f, "
                    "resample and gain %.2f, device %.2f (busy %.0f%%), resample back and "
                    "checks %.2f, write %.2f; device memory %.0f MiB\n",
            st->batch, st->batch == 1 ? "" : "s", st->read_seconds, st->prepare_seconds,
            st->device_seconds, 100.0 * separation_device_busy(st),
            st->finish_seconds, st->write_seconds, (double)st->device_bytes / (1 << 20));
}

double separation_device_busy(const mrxcl_stream_stats *st)
{
    return st->wall_seconds > 0 ? st->device_seconds / st->wall_seconds : 0.0;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* --stats FILE: the run's figures, as one JSON object, written atomically. */
static int write_stats(const separation *sp)
{
    const separate_job *job = &sp->job;
    const mrxcl_stream_stats *st = &sp->stats;
    double audio = (double)job->frames / job->sample_rate, total = now_seconds() - sp->t0;
    cJSON *o = cJSON_CreateObject(), *sec = cJSON_CreateObject(), *x = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", sp->input_path);
    cJSON_AddStringToObject(o, "device", sp->device_name);
    cJSON_AddStringToObject(o, "model", sp->model_name);
    cJSON_AddNumberToObject(o, "audio_seconds", audio);
    cJSON_AddNumberToObject(o, "channels", job->channels);
    cJSON_AddNumberToObject(o, "sample_rate", job->sample_rate);
    cJSON_AddNumberToObject(o, "pieces", (double)st->pieces);
    cJSON_AddNumberToObject(o, "batch", st->batch);
    cJSON_AddNumberToObject(o, "batches", (double)st->batches);
    cJSON_AddBoolToObject(o, "pipeline", sp->stream.pipeline);
    cJSON_AddItemToObject(o, "seconds", sec);
    cJSON_AddNumberToObject(sec, "model_and_first_pass", sp->load_s);
    cJSON_AddNumberToObject(sec, "first_pass", job->first_pass_seconds);
    cJSON_AddNumberToObject(sec, "setup", sp->setup_s);
    cJSON_AddNumberToObject(sec, "read", st->read_seconds);
    cJSON_AddNumberToObject(sec, "prepare", st->prepare_seconds);
    cJSON_AddNumberToObject(sec, "device", st->device_seconds);
    cJSON_AddNumberToObject(sec, "finish", st->finish_seconds);
    cJSON_AddNumberToObject(sec, "write", st->write_seconds);
    cJSON_AddNumberToObject(sec, "separate", sp->separate_s);
    cJSON_AddNumberToObject(sec, "total", total);
    cJSON_AddItemToObject(o, "x_real_time", x);
    cJSON_AddNumberToObject(x, "device", st->device_seconds > 0 ? audio / st->device_seconds : 0);
    cJSON_AddNumberToObject(x, "separate", sp->separate_s > 0 ? audio / sp->separate_s : 0);
    /* from the file to the stems, first pass included, kernel build and setup not */
    double e2e = sp->load_s + sp->separate_s;
    cJSON_AddNumberToObject(x, "end_to_end", e2e > 0 ? audio / e2e : 0);
    cJSON_AddNumberToObject(o, "device_busy", separation_device_busy(st));
    cJSON_AddNumberToObject(o, "device_bytes", (double)st->device_bytes);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)peak_rss_kib() * 1024.0);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        print_error("out of memory writing '%s'", sp->opt.stats);
        return EXIT_RUNTIME;
    }
    char dir_buf[4096], name_buf[4096];
    snprintf(dir_buf, sizeof dir_buf, "%s", sp->opt.stats);
    snprintf(name_buf, sizeof name_buf, "%s", sp->opt.stats);
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line) {
        text = line;
        memcpy(text + len, "\n", 2);
    }
    int rc = write_atomic(dirname(dir_buf), basename(name_buf), text);
    free(text);
    return rc == 0 ? 0 : EXIT_RUNTIME;
}

static void report(const separation *sp)
{
    if (sp->opt.verbose && sp->kind == OUTPUT_STEMS)
        for (int s = 0; s < sp->mi.n_sources; s++)
            fprintf(stderr, "mrxcl: wrote %s/%s.%s\n", sp->output, sp->mi.source_names[s],
                    audio_format_extension(sp->format));
    if (sp->opt.verbose && sp->kind == OUTPUT_REMIX) {
        fprintf(stderr, "mrxcl: wrote %s:", strcmp(sp->output, "-") ? sp->output : "standard output");
        for (int s = 0; s < sp->mi.n_sources; s++)
            fprintf(stderr, " %s %+.1f dB", sp->mi.source_names[s], sp->gain_db[s]);
        fputc('\n', stderr);
    }
    if (sp->opt.quiet)
        return;
    report_speed(sp);
    if (sp->opt.verbose)
        report_verbose(sp);
}

/* What one input leaves: a writer not committed is aborted (its temporary files go),
 * an output directory this run made and left empty is removed. */
static void end_input(separation *sp)
{
    stem_writer_abort(sp->writer);
    sp->writer = NULL;
    if (sp->dir_created) {
        rmdir(sp->output); /* only if empty: never removes anything but what we made */
        stem_writer_note_created_dir(NULL);
        sp->dir_created = 0;
    }
    separate_job_close(&sp->job);
    memset(&sp->job, 0, sizeof sp->job);
}

int separation_run(separation *sp, const char *input, const char *output)
{
    sp->input_path = strcmp(input, "-") ? input : "standard input";
    sp->output = output;
    sp->t0 = now_seconds();
    sp->last_seconds = 0.0;
    sp->stream.input_gain = 1.0f;
    sp->has_channel_map = 0;
    memset(&sp->job, 0, sizeof sp->job);
    int rc;
    if ((rc = read_input(sp, input)) != 0 || (rc = open_output(sp)) != 0 ||
        (!sp->ctx && (rc = create_context(sp)) != 0) || (rc = separate_and_commit(sp)) != 0) {
        end_input(sp);
        return rc;
    }
    report(sp);
    if (sp->opt.stats && (rc = write_stats(sp)) != 0) {
        end_input(sp);
        return rc;
    }
    sp->last_seconds = (double)sp->job.frames / sp->job.sample_rate;
    sp->job_first_pass_s = sp->job.first_pass_seconds;
    end_input(sp);
    return 0;
}

void separation_free(separation *sp)
{
    end_input(sp);
    mrxcl_context_free(sp->ctx);
    mrxcl_model_free(sp->model);
    for (int g = 0; g < sp->opt.n_gains; g++)
        free((char *)sp->opt.gain_name[g]);
    memset(sp, 0, sizeof *sp);
}
