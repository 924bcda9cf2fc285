/* The commands of the mrxcl program; each takes the words after its name and returns
 * the exit status (0, EXIT_RUNTIME, EXIT_USAGE, or 128 + a signal). */
#ifndef MRXCL_CLI_COMMANDS_H
#define MRXCL_CLI_COMMANDS_H

int cmd_separate(int argc, char **argv);
int cmd_remix(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* separate and remix (cmd_separate.c): the command line parsed, one input run. */
#include "separation.h"
int run_separation_command(const char *command, output_kind kind, int argc, char **argv);

#endif /* MRXCL_CLI_COMMANDS_H */
