/* mrxcl info: a model's configuration, parameter count and consistency mode. */
#include "commands.h"
#include "common.h"
#include "options.h"

#include <stdio.h>

/* " 256, 512, 1024 samples (5.8, 11.6, 23.2 ms)" */
static void print_windows(const mrxcl_model_info *mi)
{
    double rate = mi->sample_rate > 0 ? (double)mi->sample_rate : 1.0;
    int n = mi->n_resolutions < MRXCL_MAX_RESOLUTIONS ? mi->n_resolutions : MRXCL_MAX_RESOLUTIONS;
    printf("windows:     ");
    for (int r = 0; r < n; r++)
        printf(" %d%s", mi->window_lengths[r], r + 1 < mi->n_resolutions ? "," : "");
    printf(" samples (");
    for (int r = 0; r < n; r++)
        printf("%.1f%s", 1000.0 * mi->window_lengths[r] / rate,
               r + 1 < mi->n_resolutions ? ", " : "");
    printf(" ms)\n");
}

static void print_model_info(const char *name, const mrxcl_model_info *mi)
{
    double rate = mi->sample_rate > 0 ? (double)mi->sample_rate : 1.0;
    printf("model:        %s\n", name);
    printf("sample rate:  %d Hz\n", mi->sample_rate);
    printf("hop:          %d samples (%.1f ms)\n", mi->hop, 1000.0 * mi->hop / rate);
    print_windows(mi);
    printf("hidden:       %d\n", mi->hidden);
    printf("LSTM layers:  %d\n", mi->lstm_layers);
    printf("sources:     ");
    for (int s = 0; s < mi->n_sources && s < MRXCL_MAX_SOURCES; s++)
        printf(" %s%s", mi->source_names[s], s + 1 < mi->n_sources ? "," : "");
    printf("\nparameters:   %zu (%.2f M), plus %zu BatchNorm statistics\n", mi->n_parameters,
           (double)mi->n_parameters / 1e6, mi->n_statistics);
    printf("consistency:  %s (separate's default with this model)\n",
           consistency_name(mi->consistency));
}

int cmd_info(int argc, char **argv)
{
    const char *positional[1] = {NULL};
    int help = 0;
    if (parse_help_only("info", argc, argv, &help, positional, 1) != 0)
        return EXIT_USAGE;
    if (help) {
        print_help(stdout, "info");
        return 0;
    }
    int exit_code = EXIT_RUNTIME;
    const char *name = NULL;
    mrxcl_model *model = load_model("info", positional[0], &name, &exit_code);
    if (!model)
        return exit_code;
    mrxcl_model_info mi;
    int status = mrxcl_model_get_info(model, &mi);
    mrxcl_model_free(model);
    if (status != MRXCL_OK) {
        print_library_error(NULL, status, "cannot read the configuration of model '%s'", name);
        return EXIT_RUNTIME;
    }
    print_model_info(name, &mi);
    return 0;
}
