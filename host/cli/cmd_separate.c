/* mrxcl separate: one file per source in a directory (separation.h). */
#include "commands.h"
#include "common.h"
#include "separation.h"

#include <signal.h>
#include <string.h>

/* separate and remix: parse, check, load the model, run one input. */
int run_separation_command(const char *command, output_kind kind, int argc, char **argv)
{
    separate_options opt;
    const char *input[1];
    int n_inputs = 0;
    separation sp;
    memset(&sp, 0, sizeof sp);
    int rc = parse_separate_options(command, argc, argv, &opt, input, &n_inputs);
    if (rc == 0 && opt.help) {
        print_help(stdout, command);
        sp.opt = opt; /* frees the gains' names */
        separation_free(&sp);
        return 0;
    }
    if (rc == 0 && n_inputs != 1)
        rc = usage_error(command, "%s needs an INPUT file (- for standard input)", command);
    if (rc == 0 && (!opt.output || !opt.output[0]))
        rc = usage_error(command, kind == OUTPUT_STEMS
                                      ? "separate needs an output directory: -o DIR"
                                      : "remix needs an output file: -o FILE (- for standard output)");
    if (rc == 0 && kind == OUTPUT_STEMS && strcmp(opt.output, "-") == 0)
        rc = usage_error(command, "separate writes one file per source into a directory: -o - "
                         "(standard output) is for remix, which writes one");
    audio_format named; /* checked now, before the model loads; again per output */
    if (rc == 0 && kind == OUTPUT_REMIX)
        rc = remix_format(command, opt.format, opt.output, &named);
    if (rc != 0) {
        sp.opt = opt; /* frees the gains' names */
        separation_free(&sp);
        return EXIT_USAGE;
    }
    rc = separation_init(&sp, command, kind, &opt);
    log_set_verbosity(opt.quiet ? 0 : opt.verbose ? 2 : 1);
    stem_writer_handle_signals();
    /* Standard output into a reader that went away (ffmpeg stopped) is a write error
     * with a message ("Broken pipe"), not a silent death by SIGPIPE. */
    if (kind == OUTPUT_REMIX && strcmp(opt.output, "-") == 0)
        signal(SIGPIPE, SIG_IGN);
    if (rc == 0)
        rc = separation_load_model(&sp);
    if (rc == 0)
        rc = separation_run(&sp, input[0], opt.output);
    separation_free(&sp);
    int sig = stem_writer_pending_signal();
    return sig ? 128 + sig : rc;
}

int cmd_separate(int argc, char **argv)
{
    return run_separation_command("separate", OUTPUT_STEMS, argc, argv);
}
