/* What every command shares. See common.h. */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The last message printed as an error, for `batch`'s "failed" events. */
static char g_last_error[4096];

const char *last_error_message(void)
{
    return g_last_error;
}

void clear_last_error(void)
{
    g_last_error[0] = '\0';
}

static void vprint_error(const char *fmt, va_list ap)
{
    vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    fprintf(stderr, "mrxcl: error: %s\n", g_last_error);
}

void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
}

int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'mrxcl %s%s--help'.\n", command ? command : "", command ? " " : "");
    return EXIT_USAGE;
}

void print_library_error(const mrxcl_context *ctx, int status, const char *fmt, ...)
{
    size_t n = 0;
    g_last_error[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
        va_end(ap);
        n = strlen(g_last_error);
        snprintf(g_last_error + n, sizeof g_last_error - n, ": ");
        n = strlen(g_last_error);
    }
    const char *detail = mrxcl_last_error(ctx);
    snprintf(g_last_error + n, sizeof g_last_error - n, "%s%s%s", mrxcl_strerror(status),
             detail && detail[0] ? ": " : "", detail && detail[0] ? detail : "");
    fprintf(stderr, "mrxcl: error: %s\n", g_last_error);
    if (status == MRXCL_ERR_KERNEL_BUILD) {
        const char *log = mrxcl_build_log(ctx);
        if (log && log[0])
            fprintf(stderr, "OpenCL build log:\n%s%s", log,
                    log[strlen(log) - 1] == '\n' ? "" : "\n");
        else
            fputs("(the OpenCL implementation gave no build log)\n", stderr);
    }
}

void format_message(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || err_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

mrxcl_model *load_model(const char *command, const char *path, const char **name,
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

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int g_verbosity = 1; /* 0 quiet, 1 normal (warnings), 2 verbose (everything) */

static void log_to_stderr(mrxcl_log_level level, const char *message, void *user_data)
{
    int verbosity = *(const int *)user_data;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    int show = verbosity >= 2 || (verbosity == 1 && level == MRXCL_LOG_WARN);
    if (show)
        fprintf(stderr, "mrxcl: %s: %s\n", names[level >= 0 && level <= 3 ? level : 0], message);
}

void log_to_stderr_install(void)
{
    mrxcl_log_set(log_to_stderr, &g_verbosity);
}

void log_set_verbosity(int verbosity)
{
    g_verbosity = verbosity;
}

mrxcl_context_params context_params(const char *device)
{
    mrxcl_context_params params = mrxcl_context_default_params();
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
    return params;
}

void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int write_atomic(const char *dir, const char *name, const char *text)
{
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    char tmp[4096], path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.partial-%ld-XXXXXX", dir, name, (long)getpid());
    int rc = -1, fd = mkstemp(tmp);
    if (fd >= 0) {
        size_t len = strlen(text), done = 0;
        while (done < len) {
            ssize_t w = write(fd, text + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        int e = done == len && fsync(fd) == 0 ? 0 : errno ? errno : EIO;
        if (close(fd) != 0 && !e)
            e = errno;
        if (!e && rename(tmp, path) == 0) {
            fsync_dir(dir);
            rc = 0;
        } else {
            if (!e)
                e = errno;
            unlink(tmp);
            errno = e;
        }
    }
    if (rc != 0)
        print_error("cannot write '%s': %s", path, strerror(errno));
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
