/* mrxcl tune: CLBlast's GEMM kernel tuned for a device, kept in the per-device cache
 * that every later context on it reads (mrxcl_tune_gemm in the library). */
#include "commands.h"
#include "common.h"
#include "options.h"

#include <stdio.h>

#define DEFAULT_FRACTION 0.005

int cmd_tune(int argc, char **argv)
{
    tune_options opt;
    if (parse_tune_options(argc, argv, &opt) != 0)
        return EXIT_USAGE;
    if (opt.help) {
        print_help(stdout, "tune");
        return 0;
    }
    double fraction = opt.fraction < 0 ? DEFAULT_FRACTION : opt.fraction;
    if (!(fraction > 0 && fraction <= 1))
        return usage_error("tune", "--fraction %g: a share of the search space, in (0, 1]", fraction);
    size_t size = opt.size < 0 ? 0 : (size_t)opt.size;
    if (opt.size >= 0 && (opt.size != (double)size || size < 128 || size % 128 || size > 8192))
        return usage_error("tune", "--size %g: a multiple of 128 from 128 to 8192", opt.size);
    log_set_verbosity(opt.quiet ? 0 : opt.verbose ? 2 : 1);
    const char *model_name = NULL;
    int exit_code = EXIT_RUNTIME;
    mrxcl_model *model = load_model("tune", opt.model, &model_name, &exit_code);
    if (!model)
        return exit_code;
    mrxcl_context_params params = context_params(opt.device);
    params.auto_tune = 0; /* this is the tune */
    int status = 0;
    mrxcl_context *ctx = mrxcl_context_create(model, &params, &status);
    mrxcl_model_free(model);
    if (!ctx) {
        print_library_error(NULL, status, "cannot prepare model '%s' on the OpenCL device", model_name);
        return EXIT_RUNTIME;
    }
    mrxcl_device_desc device;
    mrxcl_context_device(ctx, &device);
    if (!opt.quiet)
        fprintf(stderr, "mrxcl: tuning CLBlast's GEMM on %s (%g of the search space)...\n",
                device.name, fraction);
    mrxcl_tune_result r;
    status = mrxcl_tune_gemm(ctx, fraction, size, &r);
    if (status != MRXCL_OK) {
        print_library_error(ctx, status, "tuning on %s", device.name);
        mrxcl_context_free(ctx);
        return EXIT_RUNTIME;
    }
    mrxcl_context_free(ctx);
    if (!opt.quiet)
        printf("tuned %s on a %zu x %zu x %zu GEMM in %.1f s: %s\nkept in %s\n", device.name, r.m,
               r.n, r.k, r.seconds, r.parameters, r.cache_path);
    return 0;
}
