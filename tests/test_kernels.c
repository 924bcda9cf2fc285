/* The library's own kernels (kernels/ *.cl, as embedded) build on the device without a
 * single compiler warning, for every -D variant the context builds them with. The
 * mrxcl program hides PoCL's compiler warnings from users (they come from clFFT's
 * generated kernels); this test keeps ours clean so that hiding them loses nothing.
 *
 * The driver's kernel cache is turned off and the user's extra build flags are dropped,
 * so that the compiler really runs; a source with a known warning first shows that the
 * device reports warnings in its build log at all (if not, the test is skipped). */
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "test_util.h"

static const char *const warning_probe =
    "__kernel void probe(__global float *x) __attribute__((no_such_attribute)) { x[0] = 1.0f; }\n";

/* Builds n sources with the options; returns the build log (malloc'd), NULL on failure. */
static char *build_log_of(mrxcl_cl *cl, const char **texts, cl_uint n, const char *options)
{
    cl_int err;
    size_t len = 0;
    char *log;
    cl_program p = clCreateProgramWithSource(cl->context, n, texts, NULL, &err);
    if (!p)
        return NULL;
    err = clBuildProgram(p, 1, &cl->device, options, NULL, NULL);
    clGetProgramBuildInfo(p, cl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
    log = calloc(len + 1, 1);
    if (log && len)
        clGetProgramBuildInfo(p, cl->device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    clReleaseProgram(p);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "build with '%s' failed (%d):\n%s\n", options, err, log ? log : "");
        free(log);
        return NULL;
    }
    return log;
}

static int has_warning(const char *log)
{
    const char *p;
    for (p = log; *p; p++)
        if (strncasecmp(p, "warning", 7) == 0)
            return 1;
    return 0;
}

int main(void)
{
    /* every LSTM_VEC, and LSTM_BLOCK's ends and middle */
    static const char *const variants[] = {
        "-cl-std=CL1.2 -DLSTM_VEC=1 -DLSTM_BLOCK=8", "-cl-std=CL1.2 -DLSTM_VEC=4 -DLSTM_BLOCK=2",
        "-cl-std=CL1.2 -DLSTM_VEC=8 -DLSTM_BLOCK=4", "-cl-std=CL1.2 -DLSTM_VEC=16 -DLSTM_BLOCK=4"};
    mrxcl_context_params params = mrxcl_context_default_params();
    const char *texts[32];
    mrxcl_cl cl;
    char *log;
    int i, failed = 0;

    setenv("POCL_KERNEL_CACHE", "0", 1);
    unsetenv("POCL_EXTRA_BUILD_FLAGS");
    memset(&cl, 0, sizeof cl);
    if (mrxcl_cl_open(&cl, &params) != MRXCL_OK) {
        printf("SKIP: no OpenCL device: %s\n", mrxcl_last_error(NULL));
        return SKIP_CODE;
    }
    printf("device: %s\n", cl.desc.name);
    texts[0] = warning_probe;
    log = build_log_of(&cl, texts, 1, "-cl-std=CL1.2");
    if (!log || !has_warning(log)) {
        printf("SKIP: '%s' puts no warning in its build log for an unknown attribute\n", cl.desc.name);
        free(log);
        mrxcl_cl_close(&cl);
        return SKIP_CODE;
    }
    free(log);
    for (i = 0; i < mrxcl_kernel_source_count && i < 32; i++)
        texts[i] = mrxcl_kernel_sources[i].text;
    for (i = 0; i < (int)(sizeof variants / sizeof variants[0]); i++) {
        log = build_log_of(&cl, texts, (cl_uint)mrxcl_kernel_source_count, variants[i]);
        if (!log || has_warning(log)) {
            printf("FAIL: the kernels built with '%s' %s:\n%s\n", variants[i],
                   log ? "drew warnings" : "did not build", log ? log : "");
            failed = 1;
        } else
            printf("ok: %d kernel files built with '%s', no warning\n", mrxcl_kernel_source_count,
                   variants[i]);
        free(log);
    }
    mrxcl_cl_close(&cl);
    return failed;
}
