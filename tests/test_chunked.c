/* The piece plan and driver of mrxcl_separate_stream (host/chunked.c), without a device:
 *  - plans cover the input exactly: the first piece starts at 0, the last ends at the
 *    input's end, neighbours share `overlap` frames, no piece is longer than `length`,
 *    the last is longer than the overlap, and no piece could be left out;
 *  - a separator that works sample by sample gives the same output in pieces as whole
 *    (the cross-fade weights sum to one), within float rounding;
 *  - a separator whose output is its piece's number shows the cross-fade itself, checked
 *    against the formula of chunked.h evaluated in double;
 *  - the input is read once, in order, and every source written in order, exactly once;
 *  - pieces in batches (several pieces' rows in one separate call) and through the
 *    three-thread pipeline give the same output, with the planned number of calls;
 *  - a failing callback stops the driver, which reports it and calls nothing more.
 * Random plans and signals; the seed is printed (SEED=N reruns one). */
#include "chunked.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CH 3
#define N_SRC 3

static int g_failed;
static unsigned long long g_seed;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            printf("FAIL (seed %llu): ", g_seed);                                           \
            printf(__VA_ARGS__);                                                            \
            printf("\n");                                                                   \
            g_failed++;                                                                     \
        }                                                                                   \
    } while (0)

typedef struct job {
    const float *x[MAX_CH]; /* the whole input */
    int channels;
    size_t frames;
    size_t read_pos;
    size_t pieces;               /* separate calls so far */
    int piece_number_separator;  /* output = piece number + 1, else sample-wise gains */
    float *y[N_SRC][MAX_CH];     /* what was written */
    size_t written[N_SRC];
    int fail_write_at;           /* fail the write call with this index (-1 never) */
    size_t separate_calls;
    int write_calls, calls_after_failure, failed;
    int writes_after_failure; /* the writer's own count: with a pipeline, other stages'
                               * callbacks run on other threads */
    int pipeline;             /* then only the writer reads `failed` */
} job;

static const float gains[N_SRC] = {0.25f, -1.5f, 3.0f};

static int job_read(void *user, float *const *channel, size_t frames)
{
    job *j = user;
    if (!j->pipeline && j->failed)
        j->calls_after_failure++;
    if (j->read_pos + frames > j->frames)
        return -1;
    for (int c = 0; c < j->channels; c++)
        memcpy(channel[c], j->x[c] + j->read_pos, frames * sizeof(float));
    j->read_pos += frames;
    return 0;
}

/* rows = pieces x channels: row r is channel r % channels of piece pieces + r / channels */
static int job_separate(void *user, int slot, const float *const *in, int rows, size_t frames,
                        float *const *out)
{
    job *j = user;
    if (!j->pipeline && j->failed)
        j->calls_after_failure++;
    if (slot < 0 || slot >= CHUNK_SLOTS || rows % j->channels)
        return -1;
    for (int s = 0; s < N_SRC; s++)
        for (int r = 0; r < rows; r++) {
            size_t piece = j->pieces + (size_t)(r / j->channels);
            for (size_t i = 0; i < frames; i++)
                out[s * rows + r][i] = j->piece_number_separator
                                           ? (float)(piece + 1) * (float)(s + 1)
                                           : gains[s] * in[r][i] + 0.125f * (float)(r % j->channels);
        }
    j->pieces += (size_t)(rows / j->channels);
    j->separate_calls++;
    return 0;
}

static int job_write(void *user, int source, const float *const *channel, size_t frames)
{
    job *j = user;
    if (j->failed) {
        j->calls_after_failure++;
        j->writes_after_failure++;
    }
    if (j->write_calls++ == j->fail_write_at) {
        j->failed = 1;
        return 1;
    }
    if (j->written[source] + frames > j->frames)
        return -1;
    for (int c = 0; c < j->channels; c++)
        memcpy(j->y[source][c] + j->written[source], channel[c], frames * sizeof(float));
    j->written[source] += frames;
    return 0;
}

static void check_plan(size_t frames, size_t length, size_t overlap)
{
    chunk_plan p;
    int rc = chunk_plan_init(&p, frames, length, overlap);
    int valid = length == 0 || length >= frames || 2 * overlap <= length;
    CHECK((rc == 0) == valid, "plan(%zu, %zu, %zu): returned %d", frames, length, overlap, rc);
    if (rc != 0)
        return;
    CHECK(p.count >= 1, "plan(%zu, %zu, %zu): no pieces", frames, length, overlap);
    CHECK(chunk_start(&p, 0) == 0, "plan(%zu, %zu, %zu): starts at %zu", frames, length, overlap,
          chunk_start(&p, 0));
    CHECK(chunk_end(&p, p.count - 1) == frames, "plan(%zu, %zu, %zu): ends at %zu", frames, length,
          overlap, chunk_end(&p, p.count - 1));
    if (length == 0 || length >= frames)
        CHECK(p.count == 1, "plan(%zu, %zu, %zu): %zu pieces, expected 1", frames, length, overlap,
              p.count);
    for (size_t k = 0; k < p.count; k++) {
        size_t a = chunk_start(&p, k), b = chunk_end(&p, k);
        CHECK(b > a && b - a <= (length ? length : frames), "plan(%zu, %zu, %zu): piece %zu is [%zu, %zu)",
              frames, length, overlap, k, a, b);
        if (k + 1 < p.count) {
            CHECK(b - chunk_start(&p, k + 1) == p.overlap,
                  "plan(%zu, %zu, %zu): pieces %zu and %zu share %zu frames", frames, length,
                  overlap, k, k + 1, b - chunk_start(&p, k + 1));
            CHECK(b - a == p.length, "plan(%zu, %zu, %zu): inner piece %zu is short", frames,
                  length, overlap, k);
        } else {
            CHECK(b - a > p.overlap, "plan(%zu, %zu, %zu): last piece (%zu frames) not longer than "
                  "the overlap", frames, length, overlap, b - a);
        }
    }
    if (p.count > 1)
        CHECK(chunk_end(&p, p.count - 2) < frames,
              "plan(%zu, %zu, %zu): piece %zu already reaches the end", frames, length, overlap,
              p.count - 2);
}

static void check_driver(tu_rng *rng, size_t frames, size_t length, size_t overlap, int channels,
                         int piece_numbers, size_t batch, int pipeline)
{
    chunk_plan p;
    if (chunk_plan_init(&p, frames, length, overlap) != 0)
        return;
    job j;
    memset(&j, 0, sizeof j);
    j.channels = channels;
    j.frames = frames;
    j.fail_write_at = -1;
    j.piece_number_separator = piece_numbers;
    float *x[MAX_CH];
    for (int c = 0; c < channels; c++) {
        x[c] = malloc(frames * sizeof(float));
        for (size_t i = 0; i < frames; i++)
            x[c][i] = (float)tu_uniform(rng, -1, 1);
        j.x[c] = x[c];
        for (int s = 0; s < N_SRC; s++)
            j.y[s][c] = calloc(frames, sizeof(float));
    }
    chunk_io io = {.read = job_read, .separate = job_separate, .write = job_write, .user = &j,
                   .batch = batch, .pipeline = pipeline};
    int rc = chunked_separate(&p, channels, N_SRC, &io);
    CHECK(rc == CHUNK_OK, "driver(%zu, %zu, %zu, batch %zu, pipeline %d): returned %d", frames,
          length, overlap, batch, pipeline, rc);
    CHECK(j.separate_calls == chunk_batches(&p, batch), "driver(%zu, %zu, %zu, batch %zu): %zu "
          "separate calls, %zu batches planned", frames, length, overlap, batch, j.separate_calls,
          chunk_batches(&p, batch));
    CHECK(j.read_pos == frames, "driver(%zu, %zu, %zu): read %zu frames", frames, length, overlap,
          j.read_pos);
    CHECK(j.pieces == p.count, "driver(%zu, %zu, %zu): %zu separations for %zu pieces", frames,
          length, overlap, j.pieces, p.count);
    double worst = 0;
    for (int s = 0; s < N_SRC; s++) {
        CHECK(j.written[s] == frames, "driver(%zu, %zu, %zu): source %d: %zu frames written", frames,
              length, overlap, s, j.written[s]);
        for (int c = 0; c < channels; c++)
            for (size_t i = 0; i < frames; i++) {
                double want;
                if (!piece_numbers) {
                    want = (double)gains[s] * x[c][i] + 0.125 * c;
                } else {
                    /* the pieces holding i: one, or k and k + 1 in their overlap */
                    size_t k = 0;
                    while (chunk_end(&p, k) <= i)
                        k++;
                    want = (double)(k + 1) * (s + 1);
                    if (k + 1 < p.count && i >= chunk_start(&p, k + 1)) {
                        double t = ((double)(i - chunk_start(&p, k + 1)) + 0.5) / (double)p.overlap;
                        double w = sin(0.5 * 3.14159265358979323846 * t);
                        w *= w;
                        want = (1 - w) * (double)(k + 1) * (s + 1) + w * (double)(k + 2) * (s + 1);
                    }
                }
                double e = fabs(j.y[s][c][i] - want) / (fabs(want) + 1.0);
                if (e > worst)
                    worst = e;
            }
    }
    CHECK(worst < 1e-6, "driver(%zu, %zu, %zu, %d ch, %s, batch %zu, pipeline %d): relative "
          "error %.3g, tolerance 1e-6", frames, length, overlap, channels,
          piece_numbers ? "piece numbers" : "sample-wise", batch, pipeline, worst);
    for (int c = 0; c < channels; c++) {
        free(x[c]);
        for (int s = 0; s < N_SRC; s++)
            free(j.y[s][c]);
    }
}

static void check_failure(int fail_at, size_t batch, int pipeline)
{
    chunk_plan p;
    chunk_plan_init(&p, 1000, 300, 50);
    job j;
    memset(&j, 0, sizeof j);
    float x[1000] = {0};
    j.channels = 1;
    j.frames = 1000;
    j.x[0] = x;
    j.fail_write_at = fail_at;
    j.pipeline = pipeline;
    for (int s = 0; s < N_SRC; s++)
        j.y[s][0] = calloc(1000, sizeof(float));
    chunk_io io = {.read = job_read, .separate = job_separate, .write = job_write, .user = &j,
                   .batch = batch, .pipeline = pipeline};
    int rc = chunked_separate(&p, 1, N_SRC, &io);
    CHECK(rc == CHUNK_ERR_CALLBACK, "failing write %d (batch %zu, pipeline %d): returned %d",
          fail_at, batch, pipeline, rc);
    /* with a pipeline, a read or separate call that began on another thread before the
     * failure was seen may end after it: only the writer's own calls count there */
    int after = pipeline ? j.writes_after_failure : j.calls_after_failure;
    CHECK(after == 0, "failing write %d (batch %zu, pipeline %d): %d calls after it", fail_at,
          batch, pipeline, after);
    for (int s = 0; s < N_SRC; s++)
        free(j.y[s][0]);
}

int main(void)
{
    g_seed = tu_seed();
    tu_rng rng = {g_seed};
    /* edges first, then random */
    size_t fixed[][3] = {{1, 0, 0},    {1, 1, 0},     {5, 10, 2},   {10, 10, 5},  {11, 10, 5},
                         {11, 10, 6},  {100, 10, 0},  {100, 10, 5}, {101, 10, 5}, {105, 10, 5},
                         {106, 10, 5}, {1000, 7, 3},  {1000, 2, 1}, {1000, 1, 0}, {96, 32, 16},
                         {97, 32, 16}, {129, 64, 16}, {20, 9, 4}};
    for (size_t t = 0; t < sizeof fixed / sizeof fixed[0]; t++) {
        check_plan(fixed[t][0], fixed[t][1], fixed[t][2]);
        for (int pn = 0; pn < 2; pn++)
            for (size_t batch = 1; batch <= 4; batch += 3)
                for (int pipeline = 0; pipeline < 2; pipeline++)
                    check_driver(&rng, fixed[t][0], fixed[t][1], fixed[t][2],
                                 1 + (int)(t % MAX_CH), pn, batch, pipeline);
    }
    for (int t = 0; t < 300; t++) {
        size_t frames = 1 + tu_next(&rng) % 5000;
        size_t length = tu_next(&rng) % 800;
        size_t overlap = length ? tu_next(&rng) % (length / 2 + 2) : 0; /* sometimes too long */
        check_plan(frames, length, overlap);
        check_driver(&rng, frames, length, overlap, 1 + (int)(tu_next(&rng) % MAX_CH),
                     (int)(tu_next(&rng) & 1), 1 + tu_next(&rng) % 6, (int)(tu_next(&rng) & 1));
    }
    for (int at = 0; at < 8; at++)
        for (size_t batch = 1; batch <= 3; batch++)
            for (int pipeline = 0; pipeline < 2; pipeline++)
                check_failure(at, batch, pipeline);
    printf("%s (seed %llu)\n", g_failed ? "FAILED" : "ok", g_seed);
    return g_failed ? 1 : 0;
}
