/* Input, loudness and the stream's callbacks for `mrxcl separate`. See separate_job.h. */
#define _POSIX_C_SOURCE 200809L

#include "separate_job.h"

#include "common.h"
#include "loudness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int held_whole(const separate_job *job)
{
    return job->whole.data != NULL;
}

int separate_job_open_input(separate_job *job, const char *input_path)
{
    job->input_path = input_path;
    /* Opened once: a pipe or FIFO is copied to a temporary file there (audio_reader.h),
     * and both passes read that descriptor. */
    audio_reader *reader = audio_reader_open(input_path, job->err, sizeof job->err);
    if (!reader)
        return -1;
    job->channels = audio_reader_channels(reader);
    job->sample_rate = audio_reader_sample_rate(reader);
    if (audio_reader_frames(reader) > 0) {
        job->frames = (size_t)audio_reader_frames(reader);
        job->reader = reader;
        return 0;
    }
    /* A header that gives no length: the input is read whole, now. */
    int rc = audio_read_all(reader, &job->whole, job->err, sizeof job->err);
    audio_reader_close(reader);
    if (rc != 0)
        return -1;
    job->frames = job->whole.frames;
    return 0;
}

/* The next n frames of the input, interleaved, for the first pass: from the buffer
 * held whole, else from the reader. */
static int read_interleaved(separate_job *job, size_t pos, float *buf, size_t n)
{
    const size_t C = (size_t)job->channels;
    if (held_whole(job)) {
        for (size_t c = 0; c < C; c++)
            for (size_t i = 0; i < n; i++)
                buf[i * C + c] = job->whole.data[c][pos + i];
        return 0;
    }
    size_t got = 0; /* all n: the reader says when the input ends before its header's count */
    return audio_reader_read_interleaved(job->reader, buf, n, &got, job->err, sizeof job->err);
}

static int first_pass(separate_job *job, int measure, double *lufs)
{
    enum { BLOCK_SAMPLES = 1 << 20 };
    size_t block = BLOCK_SAMPLES / (size_t)job->channels;
    int rc = -1;
    loudness_meter *m = NULL;
    float *buf = NULL;
    *lufs = -HUGE_VAL;
    job->loudness_skipped = 0;
    if (measure && !loudness_rate_supported(job->sample_rate)) {
        job->loudness_skipped = 1;
        measure = 0;
    }
    if (!measure && held_whole(job))
        return 0; /* read, and checked, already */
    buf = malloc(block * (size_t)job->channels * sizeof(float));
    if (measure)
        m = loudness_meter_new(job->channels, job->sample_rate);
    if (!buf || (measure && !m)) {
        format_message(job->err, sizeof job->err,
                       "out of memory measuring the loudness of '%s' (%d channels at %d Hz)",
                       job->input_path, job->channels, job->sample_rate);
        goto done;
    }
    for (size_t pos = 0; pos < job->frames;) {
        size_t n = job->frames - pos < block ? job->frames - pos : block;
        if (read_interleaved(job, pos, buf, n) != 0)
            goto done;
        if (m && loudness_meter_add(m, buf, n) != 0) {
            format_message(job->err, sizeof job->err, "libebur128 failed measuring '%s'",
                           job->input_path);
            goto done;
        }
        pos += n;
        if (job->progress)
            progress_update(job->progress, (double)pos / job->sample_rate);
    }
    if (m)
        *lufs = loudness_meter_integrated(m);
    if (!held_whole(job) &&
        audio_reader_rewind(job->reader, job->err, sizeof job->err) != 0)
        goto done;
    rc = 0;
done:
    loudness_meter_free(m);
    free(buf);
    return rc;
}

int separate_job_first_pass(separate_job *job, int measure, double *lufs)
{
    double t0 = now_seconds();
    int rc = first_pass(job, measure, lufs);
    job->first_pass_seconds = now_seconds() - t0;
    return rc;
}

int separate_job_start(separate_job *job, size_t pieces, double now)
{
    job->pieces = pieces;
    job->pieces_done = 0;
    job->piece_seconds = calloc(pieces ? pieces : 1, sizeof *job->piece_seconds);
    job->piece_frames = calloc(pieces ? pieces : 1, sizeof *job->piece_frames);
    job->t_last = now;
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
        return NAN;
    double *pace = malloc((n - 1) * sizeof *pace);
    if (!pace)
        return NAN;
    size_t m = 0;
    for (size_t k = 1; k < n; k++)
        if (job->piece_frames[k] > 0)
            pace[m++] = job->piece_seconds[k] / (double)job->piece_frames[k];
    double extra = NAN;
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
    if (held_whole(job)) {
        for (int c = 0; c < job->channels; c++)
            memcpy(channel[c], job->whole.data[c] + job->read_pos, frames * sizeof(float));
        job->read_pos += frames;
    } else {
        size_t got = 0;
        if (audio_reader_read(job->reader, channel, frames, &got, job->err, sizeof job->err) != 0)
            return -1;
        job->read_pos += got; /* all of them: a short read is an error (audio_reader.h) */
    }
    return 0;
}

int separate_job_write(void *user, int source, const float *const *channel, size_t frames)
{
    separate_job *job = user;
    int file = source == MRXCL_SOURCE_REMIX ? 0 : source; /* a remix is the one file */
    return stem_writer_write(job->writer, file, channel, frames, job->write_err,
                             sizeof job->write_err);
}

void separate_job_progress(void *user, size_t frames_done, size_t frames_total)
{
    separate_job *job = user;
    double now = now_seconds();
    stem_writer_rearm_signals();
    if (job->pieces_done < job->pieces) {
        job->piece_seconds[job->pieces_done] = now - job->t_last;
        job->piece_frames[job->pieces_done] = frames_done - job->frames_last;
    }
    job->t_last = now;
    job->frames_last = frames_done;
    job->pieces_done++;
    if (job->progress)
        progress_update(job->progress, (double)frames_done / job->sample_rate);
    (void)frames_total;
}
