/* The input side of `mrxcl separate` and `remix`, and the callbacks mrxcl_separate_stream() calls:
 * reading the input (in order from the file, or from memory when it had to be read
 * whole), measuring its loudness first, writing the stems, showing progress and timing
 * each piece. */
#ifndef MRXCL_CLI_SEPARATE_JOB_H
#define MRXCL_CLI_SEPARATE_JOB_H

#include "audio_reader.h"
#include "progress.h"
#include "stem_writer.h"

#include <stddef.h>

typedef struct separate_job {
    audio_reader *reader;      /* input read in order, or NULL: ... */
    audio_buffer whole;        /* ... the input held whole (a stream of unknown length) */
    size_t read_pos;
    size_t frames;
    int channels;
    int sample_rate;
    const char *input_path;
    int loudness_skipped; /* the rate is outside what the loudness meter takes */
    stem_writer *writer;
    /* The stream's pipeline calls read on one thread, write and progress on another:
     * each keeps its own time and message. */
    double first_pass_seconds; /* the first pass: checks and loudness */
    char write_err[4096 + 512]; /* why writing failed */
    size_t pieces, pieces_done;
    progress *progress;        /* NULL, or told of the first pass and of each piece */
    /* per piece: seconds from the start of the separation (or the previous piece) and
     * frames separated; pieces entries, filled by the progress callback */
    double *piece_seconds;
    size_t *piece_frames;
    double t_last;
    size_t frames_last;
    char err[4096 + 512];
} separate_job;

/* Opens the input, once: a file with a length in its header is read as it is
 * separated (and once before, see separate_job_first_pass); one without is read whole
 * now. A pipe or FIFO is copied to an unlinked temporary file first (audio_reader.h).
 * -1 with the message in job->err. */
int separate_job_open_input(separate_job *job, const char *input_path);

/* Reads the whole input once before anything is separated or written, so that what a
 * header cannot be trusted with is found first: a file shorter than its header
 * announces ("is truncated", for every format), a NaN or infinite sample. With
 * `measure`, also its integrated loudness (LUFS, -HUGE_VAL when nothing passes the
 * gates); at a rate the meter cannot take, job->loudness_skipped is set and *lufs is
 * -HUGE_VAL. Then rewinds the reader. -1 with the message in job->err. */
int separate_job_first_pass(separate_job *job, int measure, double *lufs);

/* Makes room to time `pieces` pieces and starts the clock; -1 if out of memory. */
int separate_job_start(separate_job *job, size_t pieces, double now);

/* The extra seconds the first piece took over the pace of the later ones (work done once,
 * such as kernels compiled at their first launch), estimated from the median seconds per
 * frame of the later pieces; NAN with fewer than 2 pieces. May be negative. */
double separate_job_first_piece_extra(const separate_job *job);

/* Frees what the job holds (not the writer). */
void separate_job_close(separate_job *job);

/* mrxcl_read_callback, mrxcl_write_callback, mrxcl_progress_callback; user is the job.
 * Read reports into job->err, write into job->write_err: they run on different threads. */
int separate_job_read(void *user, float *const *channel, size_t frames);
int separate_job_write(void *user, int source, const float *const *channel, size_t frames);
void separate_job_progress(void *user, size_t frames_done, size_t frames_total);

#endif /* MRXCL_CLI_SEPARATE_JOB_H */
