/* mrxcl: the command-line program. Separates a soundtrack into one file per source
 * (music, speech, sfx) or remixes it with a gain per source, many inputs at once (batch), lists OpenCL devices,
 * describes a model. This file picks the
 * command; each lives in a cmd_*.c file of its own.
 *
 * Exit status: 0 success, 1 runtime error, 2 usage error, 128 + N on signal N. */
#include "commands.h"
#include "common.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static void print_version(void)
{
    printf("mrxcl %s (%s)\n", mrxcl_version(), sf_version_string());
    printf("default model: %s\n", mrxcl_has_default_model()
                                       ? "embedded (mrxcl info shows it)"
                                       : "none (this build carries none; use -m MODEL)");
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Separating piece after piece allocates and frees the same large buffers (in the
     * OpenCL runtime too) again and again. glibc raises its mmap threshold after such a
     * free, and from then on serves them from a heap that fragments, and the peak memory
     * grows with the input's length (bench/README.md has the figures); fixing the
     * threshold at its initial 128 KiB prevents that at no measurable cost in speed. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    /* clFFT (on PoCL only with MRXCL_FFT=clfft: CPU devices do their FFTs on the host)
     * generates its FFT kernels with an attribute PoCL's compiler does not know
     * (max_constant_size), and PoCL prints the compiler's "unknown attribute ... ignored,
     * 1 warning generated" to the terminal at the first run: noise about a library's
     * code, not about the user's audio. Our own kernels build without a warning (ctest
     * kernels checks it). A POCL_EXTRA_BUILD_FLAGS of the user's own, even empty, is
     * kept, so a kernel developer sees everything. Other drivers ignore the variable. */
    setenv("POCL_EXTRA_BUILD_FLAGS", "-w", 0);
    if (argc < 2)
        return usage_error(NULL, "no command given (separate, remix, batch, tune, devices or info)");
    const char *command = argv[1];
    log_to_stderr_install();
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        print_help(stdout, NULL);
        return 0;
    }
    if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0) {
        print_version();
        return 0;
    }
    if (strcmp(command, "separate") == 0)
        return cmd_separate(argc - 2, argv + 2);
    if (strcmp(command, "remix") == 0)
        return cmd_remix(argc - 2, argv + 2);
    if (strcmp(command, "batch") == 0)
        return cmd_batch(argc - 2, argv + 2);
    if (strcmp(command, "tune") == 0)
        return cmd_tune(argc - 2, argv + 2);
    if (strcmp(command, "devices") == 0)
        return cmd_devices(argc - 2, argv + 2);
    if (strcmp(command, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (command[0] == '-')
        return usage_error(NULL, "unknown option '%s'", command);
    return usage_error(NULL, "unknown command '%s' (separate, remix, batch, tune, devices or info)", command);
}
