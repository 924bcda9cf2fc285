/* mrxcl_bench MODEL [--seconds S] [--channels C] [--reps N] [--warmup N] [--device D]
 * Times mrxcl_separate on random audio at the model's rate: warm-up runs (kernel
 * compilation, FFT plan baking, first-touch allocations stay out of the numbers),
 * then N timed repetitions. Prints one JSON object: device, sizes, min and median
 * seconds, the real-time factor (audio seconds per wall second) of the median, and
 * the process's peak resident memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mrxcl.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Warnings, and the stage times MRXCL_PROFILE=1 makes the library log. */
static void log_cb(mrxcl_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level <= MRXCL_LOG_INFO)
        fprintf(stderr, "mrxcl: %s\n", msg);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double seconds = 10.0, *times;
    int C = 1, reps = 5, warmup = 1, i, st, c;
    const char *model_path = NULL, *device = NULL;
    mrxcl_model *model;
    mrxcl_model_info info;
    mrxcl_context_params params = mrxcl_context_default_params();
    mrxcl_context *ctx;
    mrxcl_device_desc dev;
    size_t L, n;
    float *in, *out;
    const float **inp;
    float **outp;
    struct rusage ru;
    unsigned seed = 12345;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            C = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else if (argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else {
            fprintf(stderr, "usage: %s MODEL [--seconds S] [--channels C] [--reps N] [--warmup N] [--device D]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!model_path || C < 1 || reps < 1 || seconds <= 0) {
        fprintf(stderr, "usage: %s MODEL [--seconds S] [--channels C] [--reps N] [--warmup N] [--device D]\n",
                argv[0]);
        return 2;
    }
    mrxcl_log_set(log_cb, NULL);
    if (!(model = mrxcl_model_load_file(model_path, &st))) {
        fprintf(stderr, "mrxcl_bench: %s\n", mrxcl_last_error(NULL));
        return 1;
    }
    mrxcl_model_get_info(model, &info);
    if (device) {
        char *end;
        long idx = strtol(device, &end, 10);
        if (*end == '\0')
            params.device_index = (int)idx;
        else
            params.device_name = device;
    }
    ctx = mrxcl_context_create(model, &params, &st);
    mrxcl_model_free(model);
    if (!ctx) {
        fprintf(stderr, "mrxcl_bench: %s\n", mrxcl_last_error(NULL));
        return 1;
    }
    mrxcl_context_device(ctx, &dev);
    L = (size_t)(seconds * info.sample_rate);
    n = (size_t)C * L;
    in = malloc(n * sizeof(float));
    out = malloc((size_t)info.n_sources * n * sizeof(float));
    inp = malloc((size_t)C * sizeof(float *));
    outp = malloc((size_t)info.n_sources * C * sizeof(float *));
    times = malloc((size_t)reps * sizeof(double));
    if (!in || !out || !inp || !outp || !times) {
        fprintf(stderr, "mrxcl_bench: out of memory\n");
        return 1;
    }
    /* never time zeros: random audio */
    for (size_t k = 0; k < n; k++) {
        seed = seed * 1664525u + 1013904223u;
        in[k] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
    for (c = 0; c < C; c++)
        inp[c] = in + (size_t)c * L;
    for (c = 0; c < info.n_sources * C; c++)
        outp[c] = out + (size_t)c * L;
    for (i = 0; i < warmup + reps; i++) {
        double t0 = now();
        if ((st = mrxcl_separate(ctx, inp, C, L, info.sample_rate, outp))) {
            fprintf(stderr, "mrxcl_bench: %s\n", mrxcl_last_error(ctx));
            return 1;
        }
        if (i >= warmup)
            times[i - warmup] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp);
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"engine\": \"mrxcl\", \"version\": \"%s\", \"device\": \"%s / %s\", \"sample_rate\": %d, "
           "\"seconds\": %.3f, \"channels\": %d, \"reps\": %d, \"min_s\": %.4f, \"median_s\": %.4f, "
           "\"realtime_factor\": %.3f, \"peak_rss_mb\": %.1f}\n",
           mrxcl_version(), dev.platform, dev.name, info.sample_rate, seconds, C, reps, times[0],
           times[reps / 2], seconds / times[reps / 2], ru.ru_maxrss / 1024.0);
    mrxcl_context_free(ctx);
    free(in);
    free(out);
    free(inp);
    free(outp);
    free(times);
    return 0;
}
