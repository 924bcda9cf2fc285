/* What every command of the mrxcl program shares: exit codes, how errors are printed,
 * the library's log, loading a model, a clock. */
#ifndef MRXCL_CLI_COMMON_H
#define MRXCL_CLI_COMMON_H

#include "mrxcl.h"

#include <stddef.h>

/* Exit status: 0 success, 1 runtime error, 2 usage error, 128 + N on signal N. */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* "mrxcl: error: <message>" on stderr. */
void print_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* The same, then "Try 'mrxcl [COMMAND ]--help'."; returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "[<what>: ]<status name>: <library's message>", then the build log of a failed
 * kernel build. `ctx` NULL: the thread's last failed load or create. `fmt` NULL: no
 * <what>, for when the library's message says it all. */
void print_library_error(const mrxcl_context *ctx, int status, const char *fmt, ...)
    CLI_PRINTF(3, 4);
/* The text of the last message printed by print_error, usage_error or
 * print_library_error (without "mrxcl: error: "; truncated at 4 KiB), "" after
 * clear_last_error(). */
const char *last_error_message(void);
void clear_last_error(void);
/* vsnprintf into err (err_size bytes, always terminated); does nothing if err is NULL. */
void format_message(char *err, size_t err_size, const char *fmt, ...) CLI_PRINTF(3, 4);

/* Writes DIR/NAME atomically: DIR/.NAME.partial-PID-XXXXXX, fsync, rename, fsync of DIR;
 * signals wait until it is done, so that none leaves the temporary file. 0 or -1 after
 * printing why. */
int write_atomic(const char *dir, const char *name, const char *text);
/* fsync of a directory (after a rename in it), best effort. */
void fsync_dir(const char *dir);

/* Loads the model named by `path`, else $MRXCL_MODEL, else the default model; *name
 * says which, for messages. Prints the error and sets *exit_code on failure. */
mrxcl_model *load_model(const char *command, const char *path, const char **name,
                        int *exit_code);

/* The context parameters for --device D (an index from `mrxcl devices`, else part of a
 * device's name; NULL: the library's choice) and $MRXCL_KERNEL_DIR. */
mrxcl_context_params context_params(const char *device);

/* Seconds on a monotonic clock. */
double now_seconds(void);
/* CPU seconds this process has used, all its threads together. */
double cpu_seconds(void);

/* Sends the library's log to stderr: 0 errors only (-q), 1 warnings too, 2 everything (-v). */
void log_to_stderr_install(void);
void log_set_verbosity(int verbosity);

#endif /* MRXCL_CLI_COMMON_H */
