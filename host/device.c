/* OpenCL platforms and devices: listing, choosing, and building our program. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

/* Copies a device string, truncated to the field: asking with a buffer shorter than
 * the value would fail and leave the field empty. */
static void device_string(cl_device_id dev, cl_device_info what, char *dst, size_t len)
{
    size_t need = 0;
    char *tmp;
    dst[0] = '\0';
    if (clGetDeviceInfo(dev, what, 0, NULL, &need) != CL_SUCCESS || !(tmp = malloc(need + 1)))
        return;
    if (clGetDeviceInfo(dev, what, need, tmp, NULL) == CL_SUCCESS) {
        tmp[need] = '\0';
        snprintf(dst, len, "%s", tmp);
    }
    free(tmp);
}

typedef struct device_entry {
    cl_platform_id platform;
    cl_device_id device;
    mrxcl_device_desc desc;
} device_entry;

/* Enumerates every device of every platform. Returns MRXCL_ERR_NO_DEVICE, with a
 * message, when there is no platform or no device at all. */
static int enumerate(device_entry *out, int max, int *count)
{
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint np = 0, p;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, platforms, &np);
    int n = 0;

    *count = 0;
    if (err != CL_SUCCESS || np == 0)
        return mrxcl_fail(MRXCL_ERR_NO_DEVICE,
                          "no OpenCL platform found (clGetPlatformIDs: %s); install an OpenCL "
                          "driver, e.g. pocl-opencl-icd for the CPU",
                          err ? mrxcl_cl_strerror(err) : "0 platforms");
    for (p = 0; p < np && p < MAX_PLATFORMS; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0, d;
        char pname[128] = "";
        size_t plen = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
            continue;
        /* platform names are short; a longer one is left empty rather than cut */
        if (clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, 0, NULL, &plen) == CL_SUCCESS &&
            plen < sizeof pname)
            clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        for (d = 0; d < nd && d < MAX_DEVICES; d++) {
            cl_device_type type = 0;
            cl_ulong mem = 0;
            device_entry e;
            memset(&e, 0, sizeof e);
            e.platform = platforms[p];
            e.device = devs[d];
            e.desc.index = n;
            snprintf(e.desc.platform, sizeof e.desc.platform, "%s", pname);
            device_string(devs[d], CL_DEVICE_NAME, e.desc.name, sizeof e.desc.name);
            device_string(devs[d], CL_DEVICE_VERSION, e.desc.version, sizeof e.desc.version);
            clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
            e.desc.is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
            e.desc.global_memory = (size_t)mem;
            if (n < max)
                out[n] = e;
            n++;
        }
    }
    *count = n;
    if (n == 0)
        return mrxcl_fail(MRXCL_ERR_NO_DEVICE, "OpenCL platforms exist but none has a device");
    return MRXCL_OK;
}

int mrxcl_list_devices(mrxcl_device_desc *devices, int max, int *count)
{
    device_entry all[MAX_DEVICES];
    int n = 0, i, rc;
    mrxcl_thread_error_clear();
    rc = enumerate(all, MAX_DEVICES, &n);
    for (i = 0; devices && i < n && i < max && i < MAX_DEVICES; i++)
        devices[i] = all[i].desc;
    if (count)
        *count = n;
    return rc;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t i, j, nl = strlen(needle);
    for (i = 0; hay[i]; i++) {
        for (j = 0; j < nl && hay[i + j] && tolower((unsigned char)hay[i + j]) ==
                                                 tolower((unsigned char)needle[j]);
             j++)
            ;
        if (j == nl)
            return 1;
    }
    return nl == 0;
}

static int pick(const device_entry *all, int n, const mrxcl_context_params *params)
{
    const char *env = getenv("MRXCL_DEVICE");
    const char *name = params->device_name;
    char full[300];
    int i;

    if (params->device_index >= 0) {
        if (params->device_index >= n)
            return mrxcl_fail(MRXCL_ERR_NO_DEVICE, "device index %d is out of range: %d device%s found",
                              params->device_index, n, n == 1 ? "" : "s");
        return params->device_index;
    }
    if (!name && env && *env) {
        char *end;
        long idx = strtol(env, &end, 10);
        if (*end == '\0') {
            if (idx < 0 || idx >= n)
                return mrxcl_fail(MRXCL_ERR_NO_DEVICE,
                                  "MRXCL_DEVICE=%s is out of range: %d device%s found", env, n,
                                  n == 1 ? "" : "s");
            return (int)idx;
        }
        name = env;
    }
    if (name) {
        for (i = 0; i < n; i++) {
            snprintf(full, sizeof full, "%s %s", all[i].desc.platform, all[i].desc.name);
            if (contains_nocase(full, name))
                return i;
        }
        return mrxcl_fail(MRXCL_ERR_NO_DEVICE, "no OpenCL device matches '%s'",
                          name);
    }
    for (i = 0; i < n; i++)
        if (all[i].desc.is_gpu)
            return i;
    return 0;
}

int mrxcl_cl_open(mrxcl_cl *cl, const mrxcl_context_params *params)
{
    device_entry all[MAX_DEVICES];
    int n = 0, idx, rc;
    cl_int err;
    cl_context_properties props[3];

    memset(cl, 0, sizeof *cl);
    if ((rc = enumerate(all, MAX_DEVICES, &n)))
        return rc;
    if (n > MAX_DEVICES)
        n = MAX_DEVICES;
    if ((idx = pick(all, n, params)) < 0)
        return idx;
    cl->platform = all[idx].platform;
    cl->device = all[idx].device;
    cl->desc = all[idx].desc;
    clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof cl->max_wg, &cl->max_wg, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof cl->max_alloc, &cl->max_alloc, NULL);
    props[0] = CL_CONTEXT_PLATFORM;
    props[1] = (cl_context_properties)cl->platform;
    props[2] = 0;
    cl->context = clCreateContext(props, 1, &cl->device, NULL, NULL, &err);
    if (!cl->context)
        return mrxcl_fail(MRXCL_ERR_OPENCL, "clCreateContext on '%s' failed: %s", cl->desc.name,
                          mrxcl_cl_strerror(err));
    cl->queue = clCreateCommandQueue(cl->context, cl->device, 0, &err);
    if (!cl->queue)
        return mrxcl_fail(MRXCL_ERR_OPENCL, "clCreateCommandQueue on '%s' failed: %s", cl->desc.name,
                          mrxcl_cl_strerror(err));
    mrxcl_log(MRXCL_LOG_INFO, "device %d: %s / %s (%s)", idx, cl->desc.platform, cl->desc.name,
              cl->desc.version);
    return MRXCL_OK;
}

static char *read_text(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;
    long len;
    char *buf = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "rb")))
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1))) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

int mrxcl_cl_build(mrxcl_cl *cl, const char *kernel_dir, const char *options, char **build_log)
{
    const char *texts[32];
    char *owned[32] = {0};
    int i, n = mrxcl_kernel_source_count, rc = MRXCL_OK;
    cl_int err;

    *build_log = NULL;
    for (i = 0; i < n; i++) {
        texts[i] = mrxcl_kernel_sources[i].text;
        if (kernel_dir) {
            owned[i] = read_text(kernel_dir, mrxcl_kernel_sources[i].name);
            if (!owned[i]) {
                rc = mrxcl_fail(MRXCL_ERR_IO, "cannot read kernel '%s/%s': %s", kernel_dir,
                                mrxcl_kernel_sources[i].name, strerror(errno));
                goto done;
            }
            texts[i] = owned[i];
        }
    }
    cl->program = clCreateProgramWithSource(cl->context, (cl_uint)n, texts, NULL, &err);
    if (!cl->program) {
        rc = mrxcl_fail(MRXCL_ERR_OPENCL, "clCreateProgramWithSource failed: %s", mrxcl_cl_strerror(err));
        goto done;
    }
    {
        char opts[256];
        snprintf(opts, sizeof opts, "-cl-std=CL1.2 %s", options ? options : "");
        err = clBuildProgram(cl->program, 1, &cl->device, opts, NULL, NULL);
    }
    if (err != CL_SUCCESS) {
        size_t len = 0;
        clGetProgramBuildInfo(cl->program, cl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
        *build_log = malloc(len + 1);
        if (*build_log) {
            clGetProgramBuildInfo(cl->program, cl->device, CL_PROGRAM_BUILD_LOG, len, *build_log, NULL);
            (*build_log)[len] = '\0';
        }
        rc = mrxcl_fail(MRXCL_ERR_KERNEL_BUILD, "building the OpenCL kernels%s%s failed on '%s': %s",
                        kernel_dir ? " from " : "", kernel_dir ? kernel_dir : "", cl->desc.name,
                        mrxcl_cl_strerror(err));
    }
done:
    for (i = 0; i < n; i++)
        free(owned[i]);
    return rc;
}

void mrxcl_cl_close(mrxcl_cl *cl)
{
    if (cl->program)
        clReleaseProgram(cl->program);
    if (cl->queue)
        clReleaseCommandQueue(cl->queue);
    if (cl->context)
        clReleaseContext(cl->context);
    memset(cl, 0, sizeof *cl);
}
