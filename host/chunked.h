/* Separating a long input in overlapping pieces, so that memory does not grow with
 * the input's length (a two-hour film does not fit the device as one sequence).
 *
 * Plan: pieces of `length` frames that start every length - overlap frames; the last
 * one ends at the input's end and is shorter. An input no longer than one piece (or
 * length 0) is one piece: the whole input, as the authors separate it.
 * Joining: where piece k and piece k+1 overlap (`overlap` frames), the output is
 *     (1 - w(i)) * piece k + w(i) * piece k+1,   w(i) = sin^2(pi/2 * (i + 0.5) / overlap),
 * a raised-cosine cross-fade whose weights sum to one, so a separator that works sample
 * by sample gives the same output in pieces as whole. Elsewhere a sample comes from
 * the one piece that holds it. tools/ref_separate.py chunked() is the same in Python.
 *
 * The driver reads the input once, in order, and writes each stretch of output as
 * soon as it is final: it holds a batch of input and of output per slot in flight, and
 * one overlap.
 */
#ifndef MRXCL_CHUNKED_H
#define MRXCL_CHUNKED_H

#include <stddef.h>

typedef struct chunk_plan {
    size_t frames;  /* the whole input */
    size_t length;  /* frames per piece (the last may be shorter) */
    size_t overlap; /* frames shared by neighbouring pieces; 0 with one piece */
    size_t count;   /* number of pieces, >= 1 */
} chunk_plan;

/* frames >= 1. length 0 or >= frames: one piece. Otherwise 2 * overlap <= length is
 * required (a piece's fade-in and fade-out must not overlap); returns -1 if not. */
int chunk_plan_init(chunk_plan *plan, size_t frames, size_t length, size_t overlap);
size_t chunk_start(const chunk_plan *plan, size_t k);
size_t chunk_end(const chunk_plan *plan, size_t k);
/* w(i) above: the weight of the later piece at frame i of an overlap. */
float chunk_fade_in(size_t i, size_t overlap);

/* n rows of len floats each (at least one), or NULL when out of memory; and their free,
 * which accepts NULL. */
float **chunk_rows_new(int n, size_t len);
void chunk_rows_free(float **rows, int n);

/* Batches: pieces go to the separator `batch` at a time, as one call of pieces x channels
 * rows (piece j's channel c is row j * channels + c), all of the same length: the full
 * pieces in groups of `batch` (the last group may hold fewer), then the last piece alone
 * when it is shorter than the others. A separator that treats rows independently
 * (mrxcl_forward does) gives the same output whatever the batch.
 *
 * Callbacks return 0 on success and nonzero on failure (having recorded why in their
 * own state); the driver then stops and returns CHUNK_ERR_CALLBACK. A separation step
 * is split in three so that a pipeline can overlap them: prepare (host work before the
 * device), separate (the device), finish (host work after); `slot` (0 to CHUNK_SLOTS - 1)
 * names the batch's buffers, so that a callback can keep per-batch state of its own. */
#define CHUNK_SLOTS 3
typedef struct chunk_io {
    /* the next `frames` frames of the input, in order, into channel[c] */
    int (*read)(void *user, float *const *channel, size_t frames);
    /* optional: before `separate`, on the same `in` */
    int (*prepare)(void *user, int slot, const float *const *in, int rows, size_t frames);
    /* rows rows of `frames` frames in `in`; out[s * rows + r] receives source s of row r
     * (or `finish` fills it) */
    int (*separate)(void *user, int slot, const float *const *in, int rows, size_t frames,
                    float *const *out);
    /* optional: after `separate`, with the same arguments */
    int (*finish)(void *user, int slot, const float *const *in, int rows, size_t frames,
                  float *const *out);
    /* the next `frames` final frames of source s, channel[c] for each channel */
    int (*write)(void *user, int source, const float *const *channel, size_t frames);
    /* optional: called after piece k (0-based) of plan->count was written */
    void (*piece_written)(void *user, size_t k, const chunk_plan *plan);
    void *user;
    /* NULL: `write` receives every source. Else a remix: `write` receives, as source
     * CHUNK_REMIX, input + sum over s of (mix_gains[s] - 1) * source s, frame by frame
     * (the input as `read` gave it: no callback may change `in`). */
    const float *mix_gains;
    size_t batch; /* pieces per separate call; 0 is 1 */
    /* 0: every callback on the caller's thread, one batch after another. 1: a pipeline
     * of three threads: read and prepare on one, separate on the caller's, finish, write
     * and piece_written on a third, each stage on its own batch (up to CHUNK_SLOTS batches in
     * flight). Each callback is still called in order and never twice at once; after a
     * failure no callback starts, though one already running on another thread ends. */
    int pipeline;
} chunk_io;

#define CHUNK_REMIX (-1)

enum { CHUNK_OK = 0, CHUNK_ERR_CALLBACK = -1, CHUNK_ERR_OUT_OF_MEMORY = -2 };

/* The pieces of plan->length frames: all, or all but the shorter last one. */
size_t chunk_full_pieces(const chunk_plan *plan);
/* The number of separate calls the plan makes in batches of `batch` (0 is 1; a batch
 * holds at most chunk_full_pieces). */
size_t chunk_batches(const chunk_plan *plan, size_t batch);

/* Runs the plan: reads all plan->frames frames of `channels` channels, writes all of
 * every one of the `sources` sources. */
int chunked_separate(const chunk_plan *plan, int channels, int sources, const chunk_io *io);

#endif /* MRXCL_CHUNKED_H */
