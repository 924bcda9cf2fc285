/* The commands' options and the help text. Each command has a table of options; the
 * parser, the help text and the checks come from it, so a new option is one row in
 * options.c and a field in its command's struct. */
#ifndef MRXCL_CLI_OPTIONS_H
#define MRXCL_CLI_OPTIONS_H

#include "mrxcl.h"

#include <stdio.h>

#define MAX_GAIN_OPTIONS 16
/* --batch's bound: 4096 pieces of 30 s is 34 hours of audio in one batch */
#define MAX_BATCH 4096

/* separate's and remix's options as given; -1 (or NULL, or NAN) where not given. */
typedef struct separate_options {
    const char *output;  /* separate: a directory; remix: a file, or "-" */
    const char *model;
    const char *device;
    int format;      /* index in wav|flac|ogg (= audio_format) */
    int subtype;     /* index in float|pcm16|pcm24 (= audio_subtype - 1) */
    int loudness;    /* 0 on, 1 off */
    int consistency; /* = mrxcl_consistency */
    double chunk;    /* seconds */
    double overlap;  /* seconds */
    double input_lufs; /* NAN: measured */
    int batch;         /* pieces per device batch; 0: the library's choice */
    double max_memory; /* bytes; -1: the library's default */
    const char *stats; /* a JSON file for the run's figures */
    int progress;    /* index in bar|json|none (= progress_mode - 1); -1 auto */
    int quiet;
    int verbose;
    int help;
    /* remix: --preset (index in dialogue|me), and --NAME DB for a source NAME, in the
     * order given (dB; -INFINITY mutes) */
    int preset;
    int n_gains;
    const char *gain_name[MAX_GAIN_OPTIONS];
    double gain_db[MAX_GAIN_OPTIONS];
    /* batch: a remix per input instead of stems, everything redone, --shard I/N, and a
     * manifest besides the positional arguments */
    int remix;
    int force;
    const char *shard;
    const char *manifest;
} separate_options;

/* The presets' gains in dB, for sources named speech, music and sfx. */
typedef struct remix_preset {
    const char *name;
    double speech_db, music_db, sfx_db;
} remix_preset;
const remix_preset *remix_preset_get(int index);

/* The largest gain remix takes, in dB: louder is clipping, not a remix. */
#define MAX_GAIN_DB 40.0

/* Parses the words after "separate" (or "remix": `command`) into *opt; the input file
 * names go to input[0..1) and *n_inputs. 0, or EXIT_USAGE after printing why. */
int parse_separate_options(const char *command, int argc, char **argv, separate_options *opt,
                           const char **input, int *n_inputs);

/* batch: the same, with batch's options; every positional argument (a manifest, a
 * directory, or -) goes to positional[0..max_positional). */
int parse_batch_options(int argc, char **argv, separate_options *opt, const char **positional,
                        int max_positional, int *n_positional);

/* tune's options; -1 (or NULL) where not given. */
typedef struct tune_options {
    const char *model;
    const char *device;
    double fraction;
    double size;
    int quiet;
    int verbose;
    int help;
} tune_options;
int parse_tune_options(int argc, char **argv, tune_options *opt);

/* For commands whose only option is --help (devices, info): up to max_positional
 * arguments go to positional. 0, or EXIT_USAGE after printing why. */
int parse_help_only(const char *command, int argc, char **argv, int *help,
                    const char **positional, int max_positional);

/* The help of one command, or of all (command NULL). */
void print_help(FILE *out, const char *command);

/* "pass", "all", "music_sfx" or "model", as --consistency spells them. */
const char *consistency_name(mrxcl_consistency mode);

#endif /* MRXCL_CLI_OPTIONS_H */
