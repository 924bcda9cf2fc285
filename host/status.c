/* Status codes, version, logging and the per-thread last error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)

/* CMakeLists.txt's project version (the shared library's soname) and the header's must agree. */
#if defined(MRXCL_PROJECT_VERSION_MAJOR) && defined(MRXCL_PROJECT_VERSION_MINOR) && \
    defined(MRXCL_PROJECT_VERSION_PATCH)
_Static_assert(MRXCL_PROJECT_VERSION_MAJOR == MRXCL_VERSION_MAJOR &&
               MRXCL_PROJECT_VERSION_MINOR == MRXCL_VERSION_MINOR &&
               MRXCL_PROJECT_VERSION_PATCH == MRXCL_VERSION_PATCH,
               "project(mrxcl VERSION) in CMakeLists.txt differs from MRXCL_VERSION_* in mrxcl.h");
#endif

const char *mrxcl_version(void)
{
    return STR(MRXCL_VERSION_MAJOR) "." STR(MRXCL_VERSION_MINOR) "." STR(MRXCL_VERSION_PATCH);
}

const char *mrxcl_strerror(int status)
{
    switch (status) {
    case MRXCL_OK: return "success";
    case MRXCL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MRXCL_ERR_OUT_OF_MEMORY: return "out of host memory";
    case MRXCL_ERR_IO: return "file could not be read";
    case MRXCL_ERR_MODEL_FORMAT: return "model file is malformed";
    case MRXCL_ERR_MODEL_MISMATCH: return "model does not match its configuration";
    case MRXCL_ERR_MODEL_VALUE: return "model holds an invalid weight";
    case MRXCL_ERR_NO_DEVICE: return "no OpenCL device";
    case MRXCL_ERR_OPENCL: return "OpenCL call failed";
    case MRXCL_ERR_KERNEL_BUILD: return "OpenCL kernels failed to build";
    case MRXCL_ERR_FFT: return "clFFT call failed";
    case MRXCL_ERR_BLAS: return "CLBlast call failed";
    case MRXCL_ERR_RESAMPLE: return "resampling failed";
    case MRXCL_ERR_UNSUPPORTED: return "unsupported configuration";
    case MRXCL_ERR_DEVICE_MEMORY: return "out of device memory";
    case MRXCL_ERR_CALLBACK: return "a callback reported failure";
    case MRXCL_ERR_NONFINITE: return "the network gave non-finite samples";
    default: return "unknown status";
    }
}

static mrxcl_log_callback g_log_cb;
static void *g_log_user;

void mrxcl_log_set(mrxcl_log_callback callback, void *user_data)
{
    g_log_cb = callback;
    g_log_user = user_data;
}

static void vlog(mrxcl_log_level level, const char *fmt, va_list ap)
{
    char buf[MRXCL_MSG_MAX];
    if (!g_log_cb)
        return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    g_log_cb(level, buf, g_log_user);
}

void mrxcl_log(mrxcl_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

static _Thread_local char t_error[MRXCL_MSG_MAX];
static _Thread_local char *t_build_log;
static _Thread_local int t_quiet;

int mrxcl_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_error, sizeof t_error, fmt, ap);
    va_end(ap);
    if (!t_quiet)
        mrxcl_log(MRXCL_LOG_ERROR, "%s", t_error);
    return status;
}

void mrxcl_fail_quiet(int quiet) { t_quiet = quiet; }

int mrxcl_fail_recorded(int status, const char *message)
{
    snprintf(t_error, sizeof t_error, "%s", message);
    return status;
}

const char *mrxcl_thread_error(void) { return t_error; }

void mrxcl_thread_error_clear(void)
{
    t_error[0] = '\0';
    free(t_build_log);
    t_build_log = NULL;
}

void mrxcl_thread_set_build_log(const char *log)
{
    free(t_build_log);
    t_build_log = log ? strdup(log) : NULL;
}

const char *mrxcl_thread_build_log(void) { return t_build_log; }

const char *mrxcl_cl_strerror(cl_int err)
{
    switch (err) {
    case CL_SUCCESS: return "CL_SUCCESS";
    case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
    case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
    case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
    case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
    case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
    case CL_INVALID_PLATFORM: return "CL_INVALID_PLATFORM";
    case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE";
    case CL_INVALID_CONTEXT: return "CL_INVALID_CONTEXT";
    case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE";
    case CL_INVALID_MEM_OBJECT: return "CL_INVALID_MEM_OBJECT";
    case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
    case CL_INVALID_PROGRAM: return "CL_INVALID_PROGRAM";
    case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
    case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
    case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX";
    case CL_INVALID_ARG_VALUE: return "CL_INVALID_ARG_VALUE";
    case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
    case CL_INVALID_WORK_DIMENSION: return "CL_INVALID_WORK_DIMENSION";
    case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE";
    case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case CL_INVALID_EVENT_WAIT_LIST: return "CL_INVALID_EVENT_WAIT_LIST";
    case CL_INVALID_OPERATION: return "CL_INVALID_OPERATION";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver installed)";
    default: return "unknown OpenCL error";
    }
}

int mrxcl_keep_error(mrxcl_context *ctx, int rc)
{
    if (rc)
        snprintf(ctx->error, sizeof ctx->error, "%s", mrxcl_thread_error());
    return rc;
}
