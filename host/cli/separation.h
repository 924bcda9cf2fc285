/* One separation run of the mrxcl program, shared by `separate` (stems into a
 * directory) and `remix` (one rebalanced file): the model loaded and checked once, then
 * per input: read through once (loudness, truncation), the output opened, the context
 * made (once, at the first input, so that bad input fails before the kernel build), the
 * input separated in pieces through separate_job.h, the output committed in place
 * (stem_writer.h), and a report. */
#ifndef MRXCL_CLI_SEPARATION_H
#define MRXCL_CLI_SEPARATION_H

#include "options.h"
#include "progress.h"
#include "separate_job.h"
#include "stem_writer.h"

typedef enum output_kind { OUTPUT_STEMS, OUTPUT_REMIX } output_kind;

/* Everything one separation holds; separation_free() frees what is set. */
typedef struct separation {
    const char *command; /* "separate", "remix": for messages */
    output_kind kind;
    separate_options opt;
    audio_format format; /* -1 for a remix: from each output's extension */
    audio_subtype subtype;
    mrxcl_stream_params stream;
    double gain_db[MRXCL_MAX_SOURCES]; /* remix */
    mrxcl_model *model;
    const char *model_name;
    mrxcl_model_info mi;
    mrxcl_context *ctx;
    mrxcl_device_desc device;
    const char *device_name;
    progress progress;
    /* per input */
    const char *input_path;
    const char *output;
    stem_writer *writer;
    int dir_created;
    separate_job job;
    mrxcl_stream_plan plan;
    int channel_map[1024];
    int has_channel_map;
    double lufs;
    /* seconds: model, input and loudness; mrxcl_context_create (kernel build and device
     * setup), and the CPU time it took; read+separate+write */
    double t0, load_s, setup_s, setup_cpu_s, separate_s;
    mrxcl_stream_stats stats; /* the last input's, from the library */
    double job_first_pass_s;  /* the last input's first pass (the job is gone after it) */
    /* seconds of audio of the last input separated without error (batch's summary) */
    double last_seconds;
} separation;

/* The share of a stream's wall time the device was busy, 0 to 1 (0 for no time). */
double separation_device_busy(const mrxcl_stream_stats *stats);

/* The checks that need no model or file (output format, pieces). 0 or EXIT_USAGE. */
int separation_init(separation *sp, const char *command, output_kind kind,
                    const separate_options *opt);
/* Loads and checks the model (source names, --chunk's bound, the consistency mode, a
 * remix's gains). 0 or an exit status, after printing why. */
int separation_load_model(separation *sp);
/* Separates `input` into `output` (a directory for stems; a file, or "-", for a remix).
 * 0 or an exit status, after printing why; nothing of a failed run is left in place. */
int separation_run(separation *sp, const char *input, const char *output);
void separation_free(separation *sp);

/* A remix file's format: `given` (an audio_format, from --format) when >= 0, else what
 * its name asks for (.wav, .flac, .ogg, .oga; "-" is WAV). 0, or EXIT_USAGE after saying
 * that the name tells none. */
int remix_format(const char *command, int given, const char *path, audio_format *format);

#endif /* MRXCL_CLI_SEPARATION_H */
