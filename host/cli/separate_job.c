/* Input, loudness and the stream's callbacks for `mrxcl separate`. See separate_job.h. */
#define _POSIX_C_SOURCE 200809L

#include "separate_job.h"

#include "common.h"
#include "loudness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int held_whole(const separate_job *job)
{
    return job->whole.data != NULL;
}

int separate_job_open_input(separate_job *job, const char *input_path)
{
    job->input_path = input_path;
    audio_reader *reader = audio_reader_open(input_path, job->err, sizeof job->err);
    if (!reader)
        return -1;
    job->channels = audio_reader_channels(reader);
    job->sample_rate = audio_reader_sample_rate(reader);
    struct stat input_stat;
    if (audio_reader_frames(reader) > 0 && stat(input_path, &input_stat) == 0 &&
        S_ISREG(input_stat.st_mode)) {
        job->frames = (size_t)audio_reader_frames(reader);
        job->reader = reader;
        return 0;
    }
    audio_reader_close(reader);
    if (audio_read(input_path, &job->whole, job->err, sizeof job->err) != 0)
        return -1;
    job->frames = job->whole.frames;
    return 0;
}

/* The next n frames of the input, interleaved, for the loudness meter: from the buffer
 * held whole, else from `r`. */
static int read_interleaved(separate_job *job, audio_reader *r, size_t pos, float *buf,
                            size_t n)
{
    const size_t C = (size_t)job->channels;
    if (held_whole(job)) {
        for (size_t c = 0; c < C; c++)
            for (size_t i = 0; i < n; i++)
                buf[i * C + c] = job->whole.data[c][pos + i];
        return 0;
    }
    size_t got = 0;
    if (audio_reader_read_interleaved(r, buf, n, &got, job->err, sizeof job->err) != 0)
        return -1;
    if (got < n) {
        format_message(job->err, sizeof job->err,
                       "input '%s' ended after %zu of the %zu frames its header announces",
                       job->input_path, pos + got, job->frames);
        return -1;
    }
    return 0;
}

int separate_job_measure_loudness(separate_job *job, double *lufs)
{
    enum { BLOCK = 65536 };
    int rc = -1;
    audio_reader *r = NULL;
    loudness_meter *m = loudness_meter_new(job->channels, job->sample_rate);
    float *buf = malloc(BLOCK * (size_t)job->channels * sizeof(float));
    if (!m || !buf) {
        format_message(job->err, sizeof job->err,
                       "cannot measure the loudness of '%s' (%d channels at %d Hz): libebur128 "
                       "refused or memory ran out", job->input_path, job->channels,
                       job->sample_rate);
        goto done;
    }
    if (!held_whole(job) && !(r = audio_reader_open(job->input_path, job->err, sizeof job->err)))
        goto done;
    for (size_t pos = 0; pos < job->frames;) {
        size_t n = job->frames - pos < BLOCK ? job->frames - pos : BLOCK;
        if (read_interleaved(job, r, pos, buf, n) != 0)
            goto done;
        if (loudness_meter_add(m, buf, n) != 0) {
            format_message(job->err, sizeof job->err, "libebur128 failed measuring '%s'",
                           job->input_path);
            goto done;
        }
        pos += n;
    }
    *lufs = loudness_meter_integrated(m);
    rc = 0;
done:
    audio_reader_close(r);
    loudness_meter_free(m);
    free(buf);
    return rc;
}

int separate_job_start(separate_job *job, size_t pieces, double now)
{
    job->pieces = pieces;
    job->pieces_done = 0;
    job->piece_seconds = calloc(pieces ? pieces : 1, sizeof *job->piece_seconds);
    job->piece_frames = calloc(pieces ? pieces : 1, sizeof *job->piece_frames);
    job->t_start = job->t_last = now;
    job->frames_last = 0;
    return job->piece_seconds && job->piece_frames ? 0 : -1;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double separate_job_first_piece_extra(const separate_job *job)
{
    size_t n = job->pieces_done < job->pieces ? job->pieces_done : job->pieces;
    if (n < 2)
        return -1.0;
    double *pace = malloc((n - 1) * sizeof *pace);
    if (!pace)
        return -1.0;
    size_t m = 0;
    for (size_t k = 1; k < n; k++)
        if (job->piece_frames[k] > 0)
            pace[m++] = job->piece_seconds[k] / (double)job->piece_frames[k];
    double extra = -1.0;
    if (m > 0) {
        qsort(pace, m, sizeof *pace, compare_doubles);
        double median = m % 2 ? pace[m / 2] : 0.5 * (pace[m / 2 - 1] + pace[m / 2]);
        extra = job->piece_seconds[0] - median * (double)job->piece_frames[0];
    }
    free(pace);
    return extra;
}

void separate_job_close(separate_job *job)
{
    audio_reader_close(job->reader);
    job->reader = NULL;
    audio_free(&job->whole);
    free(job->piece_seconds);
    free(job->piece_frames);
    job->piece_seconds = NULL;
    job->piece_frames = NULL;
}

int separate_job_read(void *user, float *const *channel, size_t frames)
{
    separate_job *job = user;
    double t0 = now_seconds();
    if (held_whole(job)) {
        for (int c = 0; c < job->channels; c++)
            memcpy(channel[c], job->whole.data[c] + job->read_pos, frames * sizeof(float));
        job->read_pos += frames;
    } else {
        size_t got = 0;
        if (audio_reader_read(job->reader, channel, frames, &got, job->err, sizeof job->err) != 0)
            return -1;
        job->read_pos += got;
        if (got < frames) {
            format_message(job->err, sizeof job->err,
                           "input '%s' ended after %zu of the %zu frames its header announces",
                           job->input_path, job->read_pos, job->frames);
            return -1;
        }
    }
    job->io_seconds += now_seconds() - t0;
    return 0;
}

int separate_job_write(void *user, int source, const float *const *channel, size_t frames)
{
    separate_job *job = user;
    double t0 = now_seconds();
    int rc = stem_writer_write(job->writer, source, channel, frames, job->err, sizeof job->err);
    job->io_seconds += now_seconds() - t0;
    return rc;
}

void separate_job_progress(void *user, size_t frames_done, size_t frames_total)
{
    separate_job *job = user;
    double now = now_seconds();
    if (job->pieces_done < job->pieces) {
        job->piece_seconds[job->pieces_done] = now - job->t_last;
        job->piece_frames[job->pieces_done] = frames_done - job->frames_last;
    }
    job->t_last = now;
    job->frames_last = frames_done;
    job->pieces_done++;
    if (!job->show_progress)
        return;
    fprintf(stderr, "\rmrxcl: separated piece %zu of %zu (%.0f%%)", job->pieces_done, job->pieces,
            100.0 * (double)frames_done / (double)frames_total);
    if (frames_done == frames_total)
        fputc('\n', stderr);
    fflush(stderr);
}
