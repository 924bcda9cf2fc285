/* Separating a long input in overlapping, cross-faded pieces. See chunked.h. */
#include "chunked.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int chunk_plan_init(chunk_plan *plan, size_t frames, size_t length, size_t overlap)
{
    memset(plan, 0, sizeof *plan);
    if (frames == 0)
        return -1;
    plan->frames = frames;
    if (length == 0 || length >= frames) {
        plan->length = frames;
        plan->count = 1;
        return 0;
    }
    if (overlap > length / 2)
        return -1;
    size_t step = length - overlap;
    plan->length = length;
    plan->overlap = overlap;
    plan->count = 1 + (frames - length + step - 1) / step;
    return 0;
}

size_t chunk_start(const chunk_plan *plan, size_t k)
{
    return k * (plan->length - plan->overlap);
}

size_t chunk_end(const chunk_plan *plan, size_t k)
{
    size_t end = chunk_start(plan, k) + plan->length;
    return end < plan->frames ? end : plan->frames;
}

float chunk_fade_in(size_t i, size_t overlap)
{
    const double half_pi = 1.57079632679489661923;
    double s = sin(half_pi * ((double)i + 0.5) / (double)overlap);
    return (float)(s * s);
}

void chunk_rows_free(float **rows, int n)
{
    if (rows)
        for (int i = 0; i < n; i++)
            free(rows[i]);
    free(rows);
}

float **chunk_rows_new(int n, size_t len)
{
    float **rows = calloc((size_t)n, sizeof *rows);
    if (!rows)
        return NULL;
    for (int i = 0; i < n; i++) {
        rows[i] = malloc((len ? len : 1) * sizeof(float));
        if (!rows[i]) {
            chunk_rows_free(rows, n);
            return NULL;
        }
    }
    return rows;
}

/* mix[c][i] = in[c][i] + sum_s (gains[s] - 1) * out[s * channels + c][i], i < n: sources
 * at gain 1 add nothing, so that with every gain at 1 the input comes back bit for bit,
 * and what no source holds (the residual, and above the model's band when the input is
 * resampled) keeps its level. */
static void remix(const float *gains, const float *const *in, float *const *out, int channels,
                  int sources, size_t n, float *const *mix)
{
    for (int c = 0; c < channels; c++) {
        memcpy(mix[c], in[c], n * sizeof(float));
        for (int s = 0; s < sources; s++) {
            const float g = gains[s] - 1.0f;
            const float *x = out[s * channels + c];
            if (g != 0.0f)
                for (size_t i = 0; i < n; i++)
                    mix[c][i] += g * x[i];
        }
    }
}

size_t chunk_full_pieces(const chunk_plan *plan)
{
    size_t last = plan->count - 1;
    return chunk_end(plan, last) - chunk_start(plan, last) == plan->length ? plan->count : last;
}

size_t chunk_batches(const chunk_plan *plan, size_t batch)
{
    size_t K = batch ? batch : 1, full = chunk_full_pieces(plan);
    if (K > full)
        K = full;
    return (full + K - 1) / K + (full < plan->count);
}

/* One batch's buffers: the input span of its pieces (each piece is a window on it, so
 * that neighbours share their overlap), and the output rows of its pieces. */
typedef struct slot {
    float **span;      /* [channels][span_cap] */
    float **out;       /* [sources * K * channels][length] */
    const float **in;  /* [K * channels]: the pieces' windows on span */
    size_t first, pieces, frames; /* pieces [first, first + pieces) of `frames` frames */
    int state;         /* FREE, READ, SEPARATED */
} slot;

enum { SLOT_FREE, SLOT_READ, SLOT_SEPARATED };

typedef struct driver {
    const chunk_plan *plan;
    const chunk_io *io;
    int channels, sources;
    size_t K, full, n_batches, span_cap;
    slot slots[CHUNK_SLOTS];
    int n_slots; /* CHUNK_SLOTS in a pipeline, else 1 */
    /* the writer's: piece k's last overlap of output, for piece k + 1 */
    float **tail, *fade, **mix;
    const float **rows;
    float **piece_out;
    float **at; /* the reader's: where in the span a read goes */
    /* the pipeline's */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int failed;
} driver;

static void batch_pieces(const driver *d, size_t b, size_t *first, size_t *count)
{
    *first = b * d->K;
    if (*first < d->full) {
        *count = d->full - *first < d->K ? d->full - *first : d->K;
    } else {
        *first = d->full; /* the short last piece, alone */
        *count = 1;
    }
}

static int slot_of(const driver *d, size_t b)
{
    return (int)(b % (size_t)d->n_slots);
}

/* Reads batch b into its slot and prepares it. */
static int read_batch(driver *d, size_t b)
{
    const chunk_plan *plan = d->plan;
    slot *sl = &d->slots[slot_of(d, b)];
    const int C = d->channels;
    /* the previous batch's span, read before this slot (it may be the same) is set */
    const slot *prev = b > 0 ? &d->slots[slot_of(d, b - 1)] : NULL;
    size_t prev_start = prev ? chunk_start(plan, prev->first) : 0;
    size_t prev_end = prev ? chunk_end(plan, prev->first + prev->pieces - 1) : 0;
    batch_pieces(d, b, &sl->first, &sl->pieces);
    size_t a = chunk_start(plan, sl->first), e = chunk_end(plan, sl->first + sl->pieces - 1);
    sl->frames = chunk_end(plan, sl->first) - a;
    /* the span begins with what the previous batch read last: the overlap */
    size_t kept = b > 0 ? prev_end - a : 0;
    for (int c = 0; c < C && kept; c++)
        memmove(sl->span[c], prev->span[c] + (prev_end - prev_start - kept), kept * sizeof(float));
    for (int c = 0; c < C; c++)
        d->at[c] = sl->span[c] + kept;
    if (d->io->read(d->io->user, d->at, e - a - kept) != 0)
        return -1;
    for (size_t j = 0; j < sl->pieces; j++)
        for (int c = 0; c < C; c++)
            sl->in[j * (size_t)C + (size_t)c] = sl->span[c] + (chunk_start(plan, sl->first + j) - a);
    int rows = (int)sl->pieces * C;
    return d->io->prepare ? d->io->prepare(d->io->user, slot_of(d, b), sl->in, rows, sl->frames) : 0;
}

static int separate_batch(driver *d, size_t b)
{
    slot *sl = &d->slots[slot_of(d, b)];
    return d->io->separate(d->io->user, slot_of(d, b), sl->in, (int)sl->pieces * d->channels,
                           sl->frames, sl->out);
}

/* Finishes batch b and writes its pieces: cross-faded with their neighbours, final
 * frames at once, the last overlap kept for the next piece. */
static int write_batch(driver *d, size_t b)
{
    const chunk_plan *plan = d->plan;
    const chunk_io *io = d->io;
    slot *sl = &d->slots[slot_of(d, b)];
    const int C = d->channels, S = d->sources, n_out = S * C, rows = (int)sl->pieces * C;
    const size_t O = plan->overlap;
    if (io->finish && io->finish(io->user, slot_of(d, b), sl->in, rows, sl->frames, sl->out) != 0)
        return -1;
    for (size_t j = 0; j < sl->pieces; j++) {
        const size_t k = sl->first + j, n = sl->frames;
        const int last = k + 1 == plan->count;
        const float *const *in = sl->in + j * (size_t)C;
        float **out = d->piece_out;
        for (int s = 0; s < S; s++)
            for (int c = 0; c < C; c++)
                out[s * C + c] = sl->out[(size_t)s * (size_t)rows + j * (size_t)C + (size_t)c];
        if (k > 0)
            for (int i = 0; i < n_out; i++)
                for (size_t f = 0; f < O; f++)
                    out[i][f] = d->tail[i][f] * (1.0f - d->fade[f]) + out[i][f] * d->fade[f];
        size_t final = last ? n : n - O;
        if (d->mix) {
            remix(io->mix_gains, in, out, C, S, final, d->mix);
            if (io->write(io->user, CHUNK_REMIX, (const float *const *)d->mix, final) != 0)
                return -1;
        }
        for (int s = 0; s < S && !d->mix; s++) {
            for (int c = 0; c < C; c++)
                d->rows[c] = out[s * C + c];
            if (io->write(io->user, s, d->rows, final) != 0)
                return -1;
        }
        if (!last)
            for (int i = 0; i < n_out; i++)
                memcpy(d->tail[i], out[i] + final, O * sizeof(float));
        if (io->piece_written)
            io->piece_written(io->user, k, plan);
    }
    return 0;
}

/* ---- the pipeline: a thread per stage, slots handed on in batch order -------------- */

/* Waits until batch b's slot is in `state`; 0, or -1 when a stage failed. */
static int await(driver *d, size_t b, int state)
{
    slot *sl = &d->slots[slot_of(d, b)];
    pthread_mutex_lock(&d->lock);
    while (!d->failed && sl->state != state)
        pthread_cond_wait(&d->changed, &d->lock);
    int rc = d->failed ? -1 : 0;
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* Hands batch b's slot on in `state`, or after rc != 0 stops every stage. */
static int hand_on(driver *d, size_t b, int state, int rc)
{
    pthread_mutex_lock(&d->lock);
    if (rc != 0)
        d->failed = 1;
    else
        d->slots[slot_of(d, b)].state = state;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void *reader_thread(void *arg)
{
    driver *d = arg;
    for (size_t b = 0; b < d->n_batches; b++)
        if (await(d, b, SLOT_FREE) != 0 || hand_on(d, b, SLOT_READ, read_batch(d, b)) != 0)
            break;
    return NULL;
}

static void *writer_thread(void *arg)
{
    driver *d = arg;
    for (size_t b = 0; b < d->n_batches; b++)
        if (await(d, b, SLOT_SEPARATED) != 0 || hand_on(d, b, SLOT_FREE, write_batch(d, b)) != 0)
            break;
    return NULL;
}

static int run_pipeline(driver *d)
{
    pthread_t reader, writer;
    if (pthread_mutex_init(&d->lock, NULL) != 0)
        return CHUNK_ERR_OUT_OF_MEMORY;
    if (pthread_cond_init(&d->changed, NULL) != 0) {
        pthread_mutex_destroy(&d->lock);
        return CHUNK_ERR_OUT_OF_MEMORY;
    }
    int rc = CHUNK_OK, started = 0;
    if (pthread_create(&reader, NULL, reader_thread, d) == 0)
        started |= 1;
    if (started && pthread_create(&writer, NULL, writer_thread, d) == 0)
        started |= 2;
    if (started != 3) {
        hand_on(d, 0, SLOT_FREE, -1);
        rc = CHUNK_ERR_OUT_OF_MEMORY;
    }
    for (size_t b = 0; rc == CHUNK_OK && b < d->n_batches; b++)
        if (await(d, b, SLOT_READ) != 0 ||
            hand_on(d, b, SLOT_SEPARATED, separate_batch(d, b)) != 0)
            break;
    if (started & 1)
        pthread_join(reader, NULL);
    if (started & 2)
        pthread_join(writer, NULL);
    if (rc == CHUNK_OK && d->failed)
        rc = CHUNK_ERR_CALLBACK;
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->lock);
    return rc;
}

static void free_driver(driver *d)
{
    const int n_out = d->sources * d->channels;
    for (int i = 0; i < d->n_slots; i++) {
        chunk_rows_free(d->slots[i].span, d->channels);
        chunk_rows_free(d->slots[i].out, n_out * (int)d->K);
        free(d->slots[i].in);
    }
    chunk_rows_free(d->tail, n_out);
    chunk_rows_free(d->mix, d->channels);
    free(d->fade);
    free(d->rows);
    free(d->piece_out);
    free(d->at);
}

int chunked_separate(const chunk_plan *plan, int channels, int sources, const chunk_io *io)
{
    driver d;
    memset(&d, 0, sizeof d);
    d.plan = plan;
    d.io = io;
    d.channels = channels;
    d.sources = sources;
    d.full = chunk_full_pieces(plan);
    d.K = io->batch ? io->batch : 1;
    if (d.K > d.full) /* a batch holds pieces of one length; full >= 1 */
        d.K = d.full;
    d.n_batches = chunk_batches(plan, d.K);
    /* the span of K full pieces: K pieces less the K - 1 overlaps they share */
    const size_t L = plan->length, O = plan->overlap, step = L - O;
    d.span_cap = L + (d.K - 1) * step;
    const int n_out = sources * channels, rows = (int)d.K * channels;
    d.n_slots = io->pipeline && d.n_batches > 1 ? CHUNK_SLOTS : 1;
    int ok = 1;
    for (int i = 0; i < d.n_slots; i++) {
        d.slots[i].span = chunk_rows_new(channels, d.span_cap);
        d.slots[i].out = chunk_rows_new(sources * rows, L);
        d.slots[i].in = malloc((size_t)rows * sizeof(float *));
        ok = ok && d.slots[i].span && d.slots[i].out && d.slots[i].in;
    }
    d.tail = chunk_rows_new(n_out, O);
    d.fade = malloc((O ? O : 1) * sizeof *d.fade);
    d.mix = io->mix_gains ? chunk_rows_new(channels, L) : NULL;
    d.rows = malloc((size_t)(channels > 0 ? channels : 1) * sizeof *d.rows);
    d.piece_out = malloc((size_t)(n_out > 0 ? n_out : 1) * sizeof *d.piece_out);
    d.at = malloc((size_t)(channels > 0 ? channels : 1) * sizeof *d.at);
    int rc = CHUNK_OK;
    if (!ok || !d.tail || !d.fade || !d.rows || !d.piece_out || !d.at ||
        (io->mix_gains && !d.mix)) {
        rc = CHUNK_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < O; i++)
        d.fade[i] = chunk_fade_in(i, O);
    if (d.n_slots > 1) {
        rc = run_pipeline(&d);
    } else {
        for (size_t b = 0; b < d.n_batches; b++)
            if (read_batch(&d, b) != 0 || separate_batch(&d, b) != 0 || write_batch(&d, b) != 0) {
                rc = CHUNK_ERR_CALLBACK;
                break;
            }
    }
done:
    free_driver(&d);
    return rc;
}
