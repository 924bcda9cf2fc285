/* Reading the input of the mrxcl program. See audio_reader.h. */
#define _POSIX_C_SOURCE 200809L

#include "audio_reader.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sndfile.h>

#define PATH_CAP 4096
#define READ_CHUNK_FRAMES 65536

void audio_free(audio_buffer *audio)
{
    if (!audio)
        return;
    if (audio->data) {
        for (int c = 0; c < audio->channels; c++)
            free(audio->data[c]);
        free(audio->data);
    }
    memset(audio, 0, sizeof *audio);
}

static int grow_channels(audio_buffer *audio, size_t capacity)
{
    if (capacity > SIZE_MAX / sizeof(float))
        return -1;
    for (int c = 0; c < audio->channels; c++) {
        float *p = realloc(audio->data[c], capacity * sizeof(float));
        if (!p)
            return -1;
        audio->data[c] = p;
    }
    return 0;
}

struct audio_reader {
    SNDFILE *sf;
    int fd;
    SF_INFO info;
    float *chunk; /* READ_CHUNK_FRAMES interleaved frames */
    char path[PATH_CAP];
};

audio_reader *audio_reader_open(const char *path, char *err, size_t err_size)
{
    /* Open it ourselves: errno then says what is wrong ("No such file or directory",
     * "Permission denied"), and a directory, which open() accepts, is caught here
     * instead of reaching a decoder. */
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        format_message(err, err_size, "cannot open input '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        format_message(err, err_size, "input '%s' is a directory, not an audio file", path);
        close(fd);
        return NULL;
    }
    audio_reader *r = calloc(1, sizeof *r);
    if (!r) {
        format_message(err, err_size, "out of memory opening input '%s'", path);
        close(fd);
        return NULL;
    }
    r->fd = fd;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->sf = sf_open_fd(fd, SFM_READ, &r->info, 0);
    if (!r->sf) {
        format_message(err, err_size, "cannot decode input '%s': %s", path, sf_strerror(NULL));
        goto fail;
    }
    if (r->info.channels <= 0 || r->info.samplerate <= 0) {
        format_message(err, err_size, "input '%s' has %d channels at %d Hz", path, r->info.channels,
                       r->info.samplerate);
        goto fail;
    }
    if (r->info.frames == 0) {
        format_message(err, err_size, "input '%s' has no audio (0 frames)", path);
        goto fail;
    }
    r->chunk = malloc((size_t)READ_CHUNK_FRAMES * (size_t)r->info.channels * sizeof(float));
    if (!r->chunk) {
        format_message(err, err_size, "out of memory reading input '%s'", path);
        goto fail;
    }
    return r;
fail:
    audio_reader_close(r);
    return NULL;
}

int audio_reader_channels(const audio_reader *r) { return r->info.channels; }
int audio_reader_sample_rate(const audio_reader *r) { return r->info.samplerate; }

long long audio_reader_frames(const audio_reader *r)
{
    sf_count_t n = r->info.frames;
    return n > 0 && n != SF_COUNT_MAX && (uint64_t)n < (uint64_t)(SIZE_MAX / sizeof(float)) ? (long long)n
                                                                                            : -1;
}

int audio_reader_read(audio_reader *r, float *const *channel, size_t frames, size_t *got,
                      char *err, size_t err_size)
{
    const int C = r->info.channels;
    size_t done = 0;
    while (done < frames) {
        size_t want = frames - done < READ_CHUNK_FRAMES ? frames - done : READ_CHUNK_FRAMES;
        sf_count_t n = sf_readf_float(r->sf, r->chunk, (sf_count_t)want);
        if (n <= 0)
            break;
        for (int c = 0; c < C; c++) {
            float *dst = channel[c] + done;
            const float *src = r->chunk + c;
            for (sf_count_t i = 0; i < n; i++)
                dst[i] = src[i * C];
        }
        done += (size_t)n;
    }
    *got = done;
    if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
        format_message(err, err_size, "cannot read input '%s': %s", r->path, sf_strerror(r->sf));
        return -1;
    }
    return 0;
}

int audio_reader_read_interleaved(audio_reader *r, float *interleaved, size_t frames, size_t *got,
                                  char *err, size_t err_size)
{
    sf_count_t n = sf_readf_float(r->sf, interleaved, (sf_count_t)frames);
    *got = n > 0 ? (size_t)n : 0;
    if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
        format_message(err, err_size, "cannot read input '%s': %s", r->path, sf_strerror(r->sf));
        return -1;
    }
    return 0;
}

void audio_reader_close(audio_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf); /* closes nothing of ours: sf_open_fd(..., close_desc 0) */
    close(r->fd);
    free(r->chunk);
    free(r);
}

int audio_read(const char *path, audio_buffer *audio, char *err, size_t err_size)
{
    memset(audio, 0, sizeof *audio);
    audio_reader *r = audio_reader_open(path, err, err_size);
    if (!r)
        return -1;
    int ret = -1;
    float **dst = NULL;
    audio->channels = r->info.channels;
    audio->sample_rate = r->info.samplerate;
    audio->data = calloc((size_t)audio->channels, sizeof *audio->data);
    if (!audio->data)
        goto oom;

    /* The header's frame count, where there is one, sizes the buffers once; growth
     * covers formats that do not know their length in advance. */
    long long known = audio_reader_frames(r);
    size_t capacity = known > 0 ? (size_t)known : READ_CHUNK_FRAMES;
    if (grow_channels(audio, capacity) != 0)
        goto oom;
    dst = malloc((size_t)audio->channels * sizeof *dst);
    if (!dst)
        goto oom;
    for (;;) {
        if (audio->frames == capacity) {
            /* Full: the end of the input, unless the header was short (or absent). */
            if (grow_channels(audio, capacity + READ_CHUNK_FRAMES) != 0)
                goto oom;
            capacity += READ_CHUNK_FRAMES;
        }
        for (int c = 0; c < audio->channels; c++)
            dst[c] = audio->data[c] + audio->frames;
        size_t got = 0;
        if (audio_reader_read(r, dst, capacity - audio->frames, &got, err, err_size) != 0)
            goto done;
        audio->frames += got;
        if (audio->frames < capacity) /* the end of the input */
            break;
        if (known <= 0 && grow_channels(audio, capacity * 2) == 0) /* unknown length: double */
            capacity *= 2;
    }
    if (audio->frames == 0) {
        format_message(err, err_size, "input '%s' has no audio (0 frames)", path);
        goto done;
    }
    ret = 0;
    goto done;
oom:
    format_message(err, err_size, "out of memory reading input '%s' (%d channels, %lld frames)", path,
                   r->info.channels, (long long)r->info.frames);
done:
    free(dst);
    audio_reader_close(r);
    if (ret != 0)
        audio_free(audio);
    return ret;
}
