/* mrxcl devices: the OpenCL devices and their indices. */
#include "commands.h"
#include "common.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void format_bytes(char *buf, size_t size, size_t bytes)
{
    if (bytes >= ((size_t)1 << 30))
        snprintf(buf, size, "%.1f GiB", (double)bytes / (double)(1u << 30));
    else
        snprintf(buf, size, "%.0f MiB", (double)bytes / (double)(1u << 20));
}

/* The devices, in a buffer the caller frees; NULL (with *status set) on failure. A first
 * call with room for 16; a second one if there are more. */
static mrxcl_device_desc *list_devices(int *count, int *status)
{
    int max = 16;
    mrxcl_device_desc *devices = NULL;
    *count = 0;
    for (;;) {
        mrxcl_device_desc *grown = realloc(devices, (size_t)max * sizeof *devices);
        if (!grown) {
            free(devices);
            *status = MRXCL_ERR_OUT_OF_MEMORY;
            return NULL;
        }
        devices = grown;
        memset(devices, 0, (size_t)max * sizeof *devices);
        *status = mrxcl_list_devices(devices, max, count);
        if (*status != MRXCL_OK || *count <= max)
            return devices;
        max = *count;
    }
}

int cmd_devices(int argc, char **argv)
{
    int help = 0;
    if (parse_help_only("devices", argc, argv, &help, NULL, 0) != 0)
        return EXIT_USAGE;
    if (help) {
        print_help(stdout, "devices");
        return 0;
    }
    int count = 0, status = MRXCL_OK;
    mrxcl_device_desc *devices = list_devices(&count, &status);
    if (!devices) {
        print_error("out of memory");
        return EXIT_RUNTIME;
    }
    if (status != MRXCL_OK || count <= 0) {
        free(devices);
        print_library_error(NULL, status != MRXCL_OK ? status : MRXCL_ERR_NO_DEVICE, NULL);
        return EXIT_RUNTIME;
    }
    printf("%-5s  %-4s  %-10s  %-28s  %-36s  %s\n", "index", "type", "memory", "platform", "name",
           "version");
    for (int i = 0; i < count; i++) {
        char mem[32];
        format_bytes(mem, sizeof mem, devices[i].global_memory);
        printf("%5d  %-4s  %-10s  %-28s  %-36s  %s\n", devices[i].index,
               devices[i].is_gpu ? "GPU" : "CPU", mem, devices[i].platform, devices[i].name,
               devices[i].version);
    }
    free(devices);
    return 0;
}
