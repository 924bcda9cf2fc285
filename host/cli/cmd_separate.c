/* mrxcl separate: one file per source, written atomically (stem_writer.h), from an input
 * read in pieces (separate_job.h) and separated at -27 LUFS with mrxcl_separate_stream(). */
#define _POSIX_C_SOURCE 200809L

#include "commands.h"
#include "common.h"
#include "options.h"
#include "separate_job.h"
#include "stem_writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Everything one separation holds; cleanup() frees what is set. */
typedef struct separation {
    separate_options opt;
    const char *input_path;
    const char *dir;
    audio_format format;
    audio_subtype subtype;
    mrxcl_stream_params stream;
    mrxcl_model *model;
    const char *model_name;
    mrxcl_model_info mi;
    mrxcl_context *ctx;
    mrxcl_device_desc device;
    const char *device_name;
    stem_writer *writer;
    int dir_created;
    separate_job job;
    mrxcl_stream_plan plan;
    double lufs;
    /* seconds: model, input and loudness; mrxcl_context_create (kernel build and device
     * setup), and the CPU time it took; read+separate+write */
    double t0, load_s, setup_s, setup_cpu_s, separate_s;
} separation;

/* The checks that need no file: output format, pieces. 0 or EXIT_USAGE. */
static int resolve_settings(separation *sp)
{
    const separate_options *o = &sp->opt;
    if (!o->output_dir || !o->output_dir[0])
        return usage_error("separate", "separate needs an output directory: -o DIR");
    sp->dir = o->output_dir;
    sp->format = o->format < 0 ? AUDIO_WAV : (audio_format)o->format;
    sp->subtype = o->subtype < 0 ? AUDIO_SUBTYPE_DEFAULT : (audio_subtype)(o->subtype + 1);
    if (sp->format == AUDIO_FLAC && sp->subtype == AUDIO_SUBTYPE_FLOAT)
        return usage_error("separate", "FLAC cannot hold float samples: use --subtype pcm16 or pcm24");
    if (sp->format == AUDIO_OGG && sp->subtype != AUDIO_SUBTYPE_DEFAULT)
        return usage_error("separate", "--subtype does not apply to ogg (Vorbis) output");
    mrxcl_stream_params *st = &sp->stream;
    *st = mrxcl_stream_default_params();
    if (o->chunk >= 0)
        st->piece_seconds = o->chunk;
    if (o->overlap >= 0)
        st->overlap_seconds = o->overlap;
    else if (st->piece_seconds == 0)
        st->overlap_seconds = 0.0;
    if (st->piece_seconds > MAX_PIECE_SECONDS)
        return usage_error("separate", "--chunk %g is absurd: a piece may last at most %g s "
                           "(%.0f days); --chunk 0 separates the input whole", st->piece_seconds,
                           MAX_PIECE_SECONDS, MAX_PIECE_SECONDS / 86400.0);
    if (st->overlap_seconds > MAX_PIECE_SECONDS / 2)
        return usage_error("separate", "--overlap %g is absurd: at most %g s",
                           st->overlap_seconds, MAX_PIECE_SECONDS / 2);
    if (st->piece_seconds > 0 && st->overlap_seconds * 2 > st->piece_seconds)
        return usage_error("separate", "--overlap %g is more than half of --chunk %g",
                           st->overlap_seconds, st->piece_seconds);
    if (st->piece_seconds == 0 && o->overlap > 0)
        return usage_error("separate", "--overlap needs pieces: --chunk 0 separates the input whole");
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
    return usage_error("separate", "--chunk %g is shorter than the network can use: a piece "
                       "must last at least %.3g s (model '%s': its longest STFT window, %d "
                       "samples at %d Hz = %.3g s, and at least %g s)", piece, bound,
                       sp->model_name, longest, sp->mi.sample_rate, window, MIN_PIECE_SECONDS);
}

static int load_checked_model(separation *sp)
{
    int exit_code = EXIT_RUNTIME;
    sp->model = load_model("separate", sp->opt.model, &sp->model_name, &exit_code);
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
    return rc ? rc : choose_consistency(sp);
}

/* Opens the input, reads it once through (truncation, NaN or Inf, and its loudness for
 * the gain), and plans the pieces. */
static int read_input(separation *sp)
{
    separate_job *job = &sp->job;
    if (separate_job_open_input(job, sp->input_path) != 0) {
        print_error("%s", job->err);
        return EXIT_RUNTIME;
    }
    int measure = sp->opt.loudness != 1;
    if (separate_job_first_pass(job, measure, &sp->lufs) != 0) {
        print_error("%s", job->err);
        return EXIT_RUNTIME;
    }
    if (job->loudness_skipped && !sp->opt.quiet)
        fprintf(stderr, "mrxcl: warning: the loudness of '%s' cannot be measured at %d Hz (BS.1770 "
                        "meters take 16 to 2822400 Hz): separated at its own level, as with "
                        "--loudness off\n", sp->input_path, job->sample_rate);
    if (measure && isfinite(sp->lufs))
        sp->stream.input_gain = (float)pow(10.0, (SEPARATION_LUFS - sp->lufs) / 20.0);
    sp->load_s = now_seconds() - sp->t0;
    if (mrxcl_stream_plan_get(&sp->stream, job->frames, job->sample_rate, &sp->plan) != MRXCL_OK)
        /* the library says which: rounding at this rate broke 2 * overlap <= chunk, or a
         * length out of bounds */
        return usage_error("separate", "--chunk %g, --overlap %g at %d Hz: %s",
                           sp->stream.piece_seconds, sp->stream.overlap_seconds,
                           job->sample_rate, mrxcl_last_error(NULL));
    return 0;
}

/* Creates DIR (one level) if missing; sp->dir_created says whether it did. */
static int prepare_output_dir(separation *sp)
{
    sp->dir_created = 0;
    if (mkdir(sp->dir, 0777) == 0) {
        sp->dir_created = 1;
        stem_writer_note_created_dir(sp->dir);
        return 0;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(sp->dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        print_error("output directory '%s' exists and is not a directory", sp->dir);
        return EXIT_RUNTIME;
    }
    if (e == EEXIST && lstat(sp->dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(sp->dir, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        print_error("output directory '%s' is a dangling symbolic link (to '%s', which does not "
                    "exist): create that directory or name another", sp->dir, target);
        return EXIT_RUNTIME;
    }
    print_error("cannot create output directory '%s': %s", sp->dir, strerror(e));
    return EXIT_RUNTIME;
}

/* Opened before the long work so that an unwritable directory fails at once. */
static int open_output(separation *sp)
{
    if (prepare_output_dir(sp) != 0)
        return EXIT_RUNTIME;
    separate_job *job = &sp->job;
    const char *names[MRXCL_MAX_SOURCES];
    for (int s = 0; s < sp->mi.n_sources; s++)
        names[s] = sp->mi.source_names[s];
    sp->writer = stem_writer_open(sp->dir, names, sp->mi.n_sources, sp->format,
                                  sp->subtype, job->channels, job->sample_rate, job->frames,
                                  job->err, sizeof job->err);
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
    mrxcl_context_params params = mrxcl_context_default_params();
    const char *device = sp->opt.device;
    if (device) {
        char *end = NULL;
        long index = strtol(device, &end, 10);
        if (device[0] != '\0' && *end == '\0' && index >= 0 && index <= 1000000)
            params.device_index = (int)index;
        else
            params.device_name = device;
    }
    const char *kernel_dir = getenv("MRXCL_KERNEL_DIR");
    if (kernel_dir && kernel_dir[0])
        params.kernel_dir = kernel_dir;
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

static void print_stream_error(const separation *sp, int status)
{
    if (sp->job.show_progress)
        fputc('\n', stderr);
    if (status == MRXCL_ERR_CALLBACK)
        print_error("%s", sp->job.err); /* ours: reading the input or writing a stem */
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
    job->show_progress = !sp->opt.quiet && sp->plan.pieces > 1 && isatty(STDERR_FILENO);
    double t = now_seconds();
    if (separate_job_start(job, sp->plan.pieces, t) != 0) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    int status = mrxcl_separate_stream(sp->ctx, &sp->stream, job->channels, job->frames,
                                       job->sample_rate, separate_job_read, separate_job_write,
                                       separate_job_progress, job);
    sp->separate_s = now_seconds() - t;
    if (status != MRXCL_OK) {
        print_stream_error(sp, status);
        return EXIT_RUNTIME;
    }
    int committed = stem_writer_commit(sp->writer, job->err, sizeof job->err);
    sp->writer = NULL; /* commit frees it either way */
    if (committed != 0) {
        print_error("%s", job->err);
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
    double extra = separate_job_first_piece_extra(&sp->job); /* < 0: one piece */
    int verbose = sp->opt.verbose;
    int compiled = sp->setup_cpu_s > COMPILED_CPU_SECONDS;
    int slow_first = extra > SLOW_FIRST_PIECE_SECONDS && extra > SLOW_FIRST_PIECE_SHARE * took;
    if (verbose || compiled || slow_first || sp->setup_s > SLOW_SETUP_SECONDS)
        fprintf(stderr, "mrxcl: kernel build and device setup: %.2f s before separating, not "
                        "counted above (once per machine for a model and piece length: later "
                        "runs reuse the compiled kernels)\n", sp->setup_s);
    if (extra >= 0 && (verbose || slow_first)) {
        double alone = took - (extra > 0 ? extra : 0.0);
        fprintf(stderr, "mrxcl: the first piece took %.2f s more than the later pieces' pace "
                        "(kernels compiled at their first launch, and other work done once): "
                        "the separation alone ran at %.1fx real time\n",
                extra > 0 ? extra : 0.0, alone > 0 ? seconds / alone : 0.0);
    } else if (extra < 0 && (verbose || compiled)) {
        fputs("mrxcl: in one piece, the time above may include kernels that the OpenCL runtime "
              "compiles at their first launch: a second run shows the engine's speed\n", stderr);
    }
}

static void report_speed(const separation *sp)
{
    const separate_job *job = &sp->job;
    double seconds = (double)job->frames / job->sample_rate;
    double took = sp->separate_s - job->io_seconds; /* the device's part */
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
}

static void report(const separation *sp)
{
    if (sp->opt.verbose)
        for (int s = 0; s < sp->mi.n_sources; s++)
            fprintf(stderr, "mrxcl: wrote %s/%s.%s\n", sp->dir, sp->mi.source_names[s],
                    audio_format_extension(sp->format));
    if (sp->opt.quiet)
        return;
    report_speed(sp);
    if (sp->opt.verbose)
        report_verbose(sp);
}

static void cleanup(separation *sp)
{
    stem_writer_abort(sp->writer);
    if (sp->dir_created) {
        rmdir(sp->dir); /* only if empty: never removes anything but what we made */
        stem_writer_note_created_dir(NULL);
    }
    mrxcl_context_free(sp->ctx);
    mrxcl_model_free(sp->model);
    separate_job_close(&sp->job);
}

static int run(separation *sp)
{
    int rc;
    if ((rc = load_checked_model(sp)) != 0 || (rc = read_input(sp)) != 0 ||
        (rc = open_output(sp)) != 0 || (rc = create_context(sp)) != 0 ||
        (rc = separate_and_commit(sp)) != 0)
        return rc;
    report(sp);
    return 0;
}

int cmd_separate(int argc, char **argv)
{
    separation sp;
    memset(&sp, 0, sizeof sp);
    const char *input[1];
    int n_inputs = 0;
    if (parse_separate_options(argc, argv, &sp.opt, input, &n_inputs) != 0)
        return EXIT_USAGE;
    if (sp.opt.help) {
        print_help(stdout, "separate");
        return 0;
    }
    if (n_inputs != 1)
        return usage_error("separate", "separate needs an INPUT file");
    int rc = resolve_settings(&sp);
    if (rc != 0)
        return rc;
    sp.input_path = input[0];
    log_set_verbosity(sp.opt.quiet ? 0 : sp.opt.verbose ? 2 : 1);
    stem_writer_handle_signals();
    sp.t0 = now_seconds();
    rc = run(&sp);
    cleanup(&sp);
    int sig = stem_writer_pending_signal();
    return sig ? 128 + sig : rc;
}
