/* The commands' options and the help text. Each command has a table of options; the
 * parser, the help text and the checks come from it, so a new option is one row in
 * options.c and a field in its command's struct. */
#ifndef MRXCL_CLI_OPTIONS_H
#define MRXCL_CLI_OPTIONS_H

#include "mrxcl.h"

#include <stdio.h>

/* separate's options as given; -1 (or NULL) where not given. */
typedef struct separate_options {
    const char *output_dir;
    const char *model;
    const char *device;
    int format;      /* index in wav|flac|ogg (= audio_format) */
    int subtype;     /* index in float|pcm16|pcm24 (= audio_subtype - 1) */
    int loudness;    /* 0 on, 1 off */
    int consistency; /* = mrxcl_consistency */
    double chunk;    /* seconds */
    double overlap;  /* seconds */
    int quiet;
    int verbose;
    int help;
} separate_options;

/* Parses the words after "separate" into *opt; the input file names go to input[0..1)
 * and *n_inputs. 0, or EXIT_USAGE after printing why. */
int parse_separate_options(int argc, char **argv, separate_options *opt, const char **input,
                           int *n_inputs);

/* For commands whose only option is --help (devices, info): up to max_positional
 * arguments go to positional. 0, or EXIT_USAGE after printing why. */
int parse_help_only(const char *command, int argc, char **argv, int *help,
                    const char **positional, int max_positional);

/* The help of one command, or of all (command NULL). */
void print_help(FILE *out, const char *command);

/* "pass", "all", "music_sfx" or "model", as --consistency spells them. */
const char *consistency_name(mrxcl_consistency mode);

#endif /* MRXCL_CLI_OPTIONS_H */
