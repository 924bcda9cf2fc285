/* CLBlast parameters for devices its database does not know.
 *
 * CLBlast picks kernel parameters per device from a built-in database; for a CPU
 * device under PoCL it has no entry and falls back to GPU-shaped defaults, which run
 * the main GEMM kernel far below the CPU's speed. The values below came from
 * clblast_tuner_xgemm (Debian's clblast-utils) on a 2-core AVX-512 CPU under PoCL 3.1;
 * bench/README.md has the figures measured there and says how to tune again. They are
 * applied to CPU devices only: GPUs keep CLBlast's own tuned database. */
#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const xgemm_names[] = {"GEMMK", "KREG", "KWG",  "KWI",  "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                          "STRM",  "STRN",  "VWM",  "VWN"};
static const size_t xgemm_cpu[] = {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4};

int mrxcl_blas_tune(mrxcl_cl *cl)
{
    cl_device_type type = 0;
    CLBlastStatusCode st;
    const char *off = getenv("MRXCL_CLBLAST_DEFAULTS");

    clGetDeviceInfo(cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (!(type & CL_DEVICE_TYPE_CPU) || (off && *off && strcmp(off, "0")))
        return MRXCL_OK;
    st = CLBlastOverrideParameters(cl->device, "Xgemm", CLBlastPrecisionSingle,
                                   sizeof xgemm_cpu / sizeof xgemm_cpu[0], (const char **)xgemm_names,
                                   xgemm_cpu);
    if (st != CLBlastSuccess) {
        /* Only speed is at stake: say so and go on with CLBlast's defaults. */
        mrxcl_log(MRXCL_LOG_WARN, "CLBlast refused the CPU GEMM parameters (status %d); using its defaults",
                  (int)st);
        return MRXCL_OK;
    }
    mrxcl_log(MRXCL_LOG_DEBUG, "CLBlast: CPU GEMM parameters set for '%s'", cl->desc.name);
    return MRXCL_OK;
}
