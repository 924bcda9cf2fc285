/* Reading the input of the mrxcl program. See audio_reader.h. */
#define _POSIX_C_SOURCE 200809L

#include "audio_reader.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sndfile.h>

#define PATH_CAP 4096
/* Frames per read: 65536, fewer for inputs of many channels, so that the read buffer
 * stays at 4 MiB whatever channel count a header claims (libsndfile allows 1024). */
#define READ_CHUNK_FRAMES 65536
#define READ_CHUNK_SAMPLES (1u << 20)
/* The whole-input buffer starts at no more than this many frames, whatever the header
 * says, and grows with what is really read: a header claiming 68 G frames (FLAC's 36-bit
 * count allows it) in a few bytes of file must not size an allocation. */
#define WHOLE_START_FRAMES ((size_t)1 << 20)

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
    int fd; /* the input, or the temporary copy of a non-regular one */
    SF_INFO info;
    size_t chunk_frames;
    float *chunk; /* chunk_frames interleaved frames */
    size_t pos;   /* frames read since the start */
    char path[PATH_CAP];
};

/* A pipe, a FIFO or a terminal can be read once, and the input is read twice (loudness,
 * then separation) or seeked by the decoder: copy it, as read, into a temporary file in
 * $TMPDIR (else /tmp) that is unlinked at once, so that no exit, signal or crash can
 * leave it behind. Returns the copy's descriptor, positioned at 0, or -1 with err set. */
static int spool_input(int in, const char *path, char *err, size_t err_size)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !tmpdir[0])
        tmpdir = "/tmp";
    char name[PATH_CAP];
    int n = snprintf(name, sizeof name, "%s/mrxcl-input-XXXXXX", tmpdir);
    if (n < 0 || (size_t)n >= sizeof name) {
        format_message(err, err_size, "cannot copy input '%s': $TMPDIR is too long", path);
        return -1;
    }
    /* No signal between mkstemp and unlink: the name must not outlive this call. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    int fd = mkstemp(name);
    int e = errno;
    if (fd >= 0)
        unlink(name);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        format_message(err, err_size, "cannot copy input '%s' (not a regular file) to a "
                       "temporary file in '%s': %s", path, tmpdir, strerror(e));
        return -1;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t got = read(in, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            format_message(err, err_size, "cannot read input '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        for (ssize_t done = 0; done < got;) {
            ssize_t w = write(fd, buf + done, (size_t)(got - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                format_message(err, err_size, "cannot copy input '%s' (not a regular file) to a "
                               "temporary file in '%s': %s", path, tmpdir,
                               strerror(w < 0 ? errno : ENOSPC));
                goto fail;
            }
            done += w;
        }
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        format_message(err, err_size, "cannot read back the copy of input '%s': %s", path,
                       strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

/* A WAV, RF64, AIFF or AU header gives the data's length in bytes; libsndfile trusts the
 * file's size where they disagree and notes the header's figure in its log ("data :
 * 64000 (should be 16000)"). The number of frames the header announces, or -1 if the
 * log shows no shortfall. 0xFFFFFFFF and 0 are the sizes of a stream written without
 * seeking back (ffmpeg to a pipe): unknown lengths, not truncation. */
static long long announced_frames(SNDFILE *sf, const SF_INFO *info)
{
    static const char *const keys[] = {"data :", "SSND :", "Data Size   :", "Frames    :"};
    char log[16384];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (const char *line = log; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        while (*line == ' ')
            line++;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t len = strlen(keys[k]);
            if (strncmp(line, keys[k], len) != 0)
                continue;
            unsigned long long said = 0, real = 0;
            if (k == 3) { /* RF64: the ds64 chunk's frame count */
                if (sscanf(line + len, "%llu", &said) == 1 && said > (unsigned long long)info->frames)
                    return (long long)said;
                continue;
            }
            if (sscanf(line + len, "%llu (should be %llu)", &said, &real) != 2)
                continue;
            if (said == 0 || said == 0xFFFFFFFFull || said <= real || real == 0 || info->frames <= 0)
                continue;
            /* bytes per frame from what the file holds: `real` may end in part of a
             * frame, which the frames' count leaves out */
            unsigned long long frame_bytes = real / (unsigned long long)info->frames;
            return frame_bytes ? (long long)(said / frame_bytes) : -1;
        }
    }
    return -1;
}

static int open_decoder(audio_reader *r, char *err, size_t err_size)
{
    memset(&r->info, 0, sizeof r->info);
    r->sf = sf_open_fd(r->fd, SFM_READ, &r->info, 0);
    if (!r->sf) {
        format_message(err, err_size, "cannot decode input '%s': %s", r->path, sf_strerror(NULL));
        return -1;
    }
    r->pos = 0;
    return 0;
}

/* The message for an input that holds fewer frames than its header announces; -1. */
static int truncated(const audio_reader *r, long long announced, long long holds, char *err,
                     size_t err_size)
{
    const double rate = r->info.samplerate;
    format_message(err, err_size, "input '%s' is truncated: its header announces %lld frames "
                   "(%.2f s), the file holds %lld (%.2f s); rewrite it (sox, ffmpeg) to "
                   "separate what is there", r->path, announced, (double)announced / rate, holds,
                   (double)holds / rate);
    return -1;
}

audio_reader *audio_reader_open(const char *path, char *err, size_t err_size)
{
    /* Open it ourselves: errno then says what is wrong ("No such file or directory",
     * "Permission denied"), and a directory, which open() accepts, is caught here
     * instead of reaching a decoder. The path is opened once: a FIFO or /dev/stdin has
     * nothing to give a second open. */
    int from_stdin = strcmp(path, "-") == 0;
    int fd = from_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY);
    if (from_stdin)
        path = "standard input";
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
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        r->fd = spool_input(fd, path, err, err_size);
        close(fd);
        if (r->fd < 0)
            goto fail;
    }
    if (open_decoder(r, err, err_size) != 0)
        goto fail;
    if (r->info.channels <= 0 || r->info.samplerate <= 0) {
        format_message(err, err_size, "input '%s' has %d channels at %d Hz", path, r->info.channels,
                       r->info.samplerate);
        goto fail;
    }
    if (r->info.frames == 0) {
        format_message(err, err_size, "input '%s' has no audio (0 frames)", path);
        goto fail;
    }
    long long said = announced_frames(r->sf, &r->info);
    if (said > 0) {
        truncated(r, said, (long long)r->info.frames, err, err_size);
        goto fail;
    }
    r->chunk_frames = READ_CHUNK_SAMPLES / (size_t)r->info.channels;
    if (r->chunk_frames > READ_CHUNK_FRAMES)
        r->chunk_frames = READ_CHUNK_FRAMES;
    if (r->chunk_frames < 1)
        r->chunk_frames = 1;
    r->chunk = malloc(r->chunk_frames * (size_t)r->info.channels * sizeof(float));
    if (!r->chunk) {
        format_message(err, err_size, "out of memory reading input '%s'", path);
        goto fail;
    }
    return r;
fail:
    audio_reader_close(r);
    return NULL;
}

int audio_reader_channel_map(const audio_reader *r, int *map)
{
    /* SFC_GET_CHANNEL_MAP_INFO fills `channels` ints when the header names positions */
    return sf_command(r->sf, SFC_GET_CHANNEL_MAP_INFO, map,
                      (int)(sizeof(int) * (size_t)r->info.channels)) == SF_TRUE;
}

int audio_reader_channels(const audio_reader *r) { return r->info.channels; }
int audio_reader_sample_rate(const audio_reader *r) { return r->info.samplerate; }

long long audio_reader_frames(const audio_reader *r)
{
    sf_count_t n = r->info.frames;
    return n > 0 && n != SF_COUNT_MAX && (uint64_t)n < (uint64_t)(SIZE_MAX / sizeof(float)) ? (long long)n
                                                                                            : -1;
}

int audio_reader_rewind(audio_reader *r, char *err, size_t err_size)
{
    /* Through the descriptor, not the path: the same file (or the same copy of a pipe)
     * is read again, from a decoder in its initial state. */
    sf_close(r->sf);
    r->sf = NULL;
    if (lseek(r->fd, 0, SEEK_SET) != 0) {
        format_message(err, err_size, "cannot read input '%s' again: %s", r->path, strerror(errno));
        return -1;
    }
    return open_decoder(r, err, err_size);
}

/* NaN or Inf in a float input would reach the network and spoil every stem of the
 * piece, and the library could only blame its own output: said here, where it is read.
 * Checks n interleaved frames of C channels read at frame r->pos. */
static int check_finite(audio_reader *r, const float *interleaved, size_t n, char *err,
                        size_t err_size)
{
    const size_t C = (size_t)r->info.channels;
    for (size_t i = 0; i < n * C; i++) {
        if (!isfinite(interleaved[i])) {
            size_t frame = r->pos + i / C;
            format_message(err, err_size, "input '%s' has %s at sample %zu (%.3f s) of channel %zu "
                           "(of %zu): nothing separated", r->path,
                           isnan(interleaved[i]) ? "NaN" : "Inf", frame,
                           (double)frame / r->info.samplerate, i % C + 1, C);
            return -1;
        }
    }
    return 0;
}

/* After a read: 0, or -1 with a message if the decoder failed, or if the read came back
 * short (the input ended) before the frame count its header gives: a file cut short.
 * A decoder that fails before that count (a FLAC or MP3 cut short loses sync) most
 * likely met the end of a truncated file too: the message says so and where. */
static int read_error(audio_reader *r, int short_read, char *err, size_t err_size)
{
    long long announced = audio_reader_frames(r);
    if (sf_error(r->sf) == SF_ERR_NO_ERROR)
        return short_read && announced > 0 && r->pos < (size_t)announced
                   ? truncated(r, announced, (long long)r->pos, err, err_size)
                   : 0;
    if (announced > 0 && r->pos < (size_t)announced)
        format_message(err, err_size, "input '%s' is truncated or damaged: decoding failed after "
                       "%zu of the %lld frames its header announces (%.2f of %.2f s): %s", r->path,
                       r->pos, announced, (double)r->pos / r->info.samplerate,
                       (double)announced / r->info.samplerate, sf_strerror(r->sf));
    else
        format_message(err, err_size, "cannot read input '%s': %s", r->path, sf_strerror(r->sf));
    return -1;
}

int audio_reader_read(audio_reader *r, float *const *channel, size_t frames, size_t *got,
                      char *err, size_t err_size)
{
    const int C = r->info.channels;
    size_t done = 0;
    *got = 0;
    while (done < frames) {
        size_t want = frames - done < r->chunk_frames ? frames - done : r->chunk_frames;
        sf_count_t n = sf_readf_float(r->sf, r->chunk, (sf_count_t)want);
        if (n <= 0)
            break;
        if (check_finite(r, r->chunk, (size_t)n, err, err_size) != 0)
            return -1;
        for (int c = 0; c < C; c++) {
            float *dst = channel[c] + done;
            const float *src = r->chunk + c;
            for (sf_count_t i = 0; i < n; i++)
                dst[i] = src[i * C];
        }
        done += (size_t)n;
        r->pos += (size_t)n;
        *got = done;
    }
    return read_error(r, done < frames, err, err_size);
}

int audio_reader_read_interleaved(audio_reader *r, float *interleaved, size_t frames, size_t *got,
                                  char *err, size_t err_size)
{
    sf_count_t n = sf_readf_float(r->sf, interleaved, (sf_count_t)frames);
    *got = n > 0 ? (size_t)n : 0;
    if (check_finite(r, interleaved, *got, err, err_size) != 0)
        return -1;
    r->pos += *got;
    return read_error(r, *got < frames, err, err_size);
}

void audio_reader_close(audio_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf); /* closes nothing of ours: sf_open_fd(..., close_desc 0) */
    if (r->fd >= 0)
        close(r->fd);
    free(r->chunk);
    free(r);
}

int audio_read_all(audio_reader *r, audio_buffer *audio, char *err, size_t err_size)
{
    memset(audio, 0, sizeof *audio);
    int ret = -1;
    float **dst = NULL;
    audio->channels = r->info.channels;
    audio->sample_rate = r->info.samplerate;
    audio->data = calloc((size_t)audio->channels, sizeof *audio->data);
    if (!audio->data)
        goto oom;

    /* The header's frame count, where there is one and it is modest, sizes the buffers
     * once; beyond that, and for formats that do not know their length, the buffers
     * grow with what is read. */
    long long known = audio_reader_frames(r);
    size_t capacity = known > 0 && (size_t)known <= WHOLE_START_FRAMES ? (size_t)known
                                                                       : r->chunk_frames;
    if (grow_channels(audio, capacity) != 0)
        goto oom;
    dst = malloc((size_t)audio->channels * sizeof *dst);
    if (!dst)
        goto oom;
    for (;;) {
        if (audio->frames == capacity) {
            /* Full: the end of the input, unless there is more: grow by half. */
            size_t more = capacity / 2 > r->chunk_frames ? capacity / 2 : r->chunk_frames;
            if (capacity > SIZE_MAX - more || grow_channels(audio, capacity + more) != 0)
                goto oom;
            capacity += more;
        }
        for (int c = 0; c < audio->channels; c++)
            dst[c] = audio->data[c] + audio->frames;
        size_t got = 0;
        int rc = audio_reader_read(r, dst, capacity - audio->frames, &got, err, err_size);
        audio->frames += got;
        if (rc != 0)
            goto done;
        if (audio->frames < capacity) /* the end of the input */
            break;
    }
    if (audio->frames == 0) {
        format_message(err, err_size, "input '%s' has no audio (0 frames)", r->path);
        goto done;
    }
    ret = 0;
    goto done;
oom:
    format_message(err, err_size, "out of memory reading input '%s' (%d channels, %zu frames)",
                   r->path, r->info.channels, audio->frames);
done:
    free(dst);
    if (ret != 0)
        audio_free(audio);
    return ret;
}

int audio_read(const char *path, audio_buffer *audio, char *err, size_t err_size)
{
    memset(audio, 0, sizeof *audio);
    audio_reader *r = audio_reader_open(path, err, err_size);
    if (!r)
        return -1;
    int ret = audio_read_all(r, audio, err, err_size);
    audio_reader_close(r);
    return ret;
}
