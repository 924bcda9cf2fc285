/* libFuzzer target: the mrxcl program's audio reader (host/cli/audio_reader.c, over
 * libsndfile) on any bytes, handed to it as a file: a memfd, opened by its /proc path as
 * the program opens the path it is given. Both ways the program reads: the reader a
 * stretch at a time (regular files with a frame count), and audio_read whole (other
 * inputs). Nothing may crash or leak, whatever the file says of itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio_reader.h"

#define STRETCH 4096            /* frames per read, as a small block of the program */
#define MAX_FRAMES (1 << 20)    /* stop reading a stream after this many frames */
#define MAX_WHOLE_SAMPLES (1 << 24) /* audio_read only where the header asks less */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_fd = -1;
static char g_path[64];

static void read_stretches(void)
{
    char err[512];
    audio_reader *r = audio_reader_open(g_path, err, sizeof err);
    if (!r)
        return;
    int C = audio_reader_channels(r);
    if (C <= 0 || audio_reader_sample_rate(r) <= 0)
        abort(); /* audio_reader_open refuses these */
    /* libsndfile caps channels (SF_MAX_CHANNELS 1024): STRETCH frames of each fit. */
    float **ch = calloc((size_t)C, sizeof *ch);
    float *planar = malloc((size_t)C * STRETCH * sizeof(float));
    float *inter = malloc((size_t)C * STRETCH * sizeof(float));
    if (ch && planar && inter) {
        for (int c = 0; c < C; c++)
            ch[c] = planar + (size_t)c * STRETCH;
        size_t total = 0, got = 0;
        int turn = 0;
        while (total < MAX_FRAMES) {
            /* alternate both calls, as the program does (loudness reads interleaved) */
            int rc = turn++ & 1 ? audio_reader_read_interleaved(r, inter, STRETCH, &got, err,
                                                                sizeof err)
                                : audio_reader_read(r, ch, STRETCH, &got, err, sizeof err);
            if (got > STRETCH)
                abort();
            total += got;
            if (rc != 0 || got < STRETCH)
                break;
        }
    }
    free(inter);
    free(planar);
    free(ch);
    long long frames = audio_reader_frames(r);
    audio_reader_close(r);

    /* The whole-file read sizes its buffers by the header: skip headers that announce
     * more than the fuzzer's memory limit (the reader's own checks are not the point). */
    if (frames > 0 && (unsigned long long)frames * (unsigned)C > MAX_WHOLE_SAMPLES)
        return;
    audio_buffer audio;
    if (audio_read(g_path, &audio, err, sizeof err) == 0) {
        if (audio.frames == 0 || audio.channels != C || !audio.data)
            abort();
        audio_free(&audio);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_fd < 0) {
        g_fd = memfd_create("fuzz_audio", 0);
        if (g_fd < 0)
            abort();
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0)
        abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(g_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
    read_stretches();
    return 0;
}
