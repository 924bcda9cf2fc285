/* mrxcl_separate_stream on a random model and fresh random audio:
 * - whole (piece 0, gain 1, pass) equals mrxcl_separate bit for bit;
 * - in pieces, with an input gain and each consistency mode, it equals the pieces
 *   separated one by one with mrxcl_separate and joined here in double by the plan and
 *   cross-fade of include/mrxcl.h (1e-5 of the largest sample); ALL makes the stems sum
 *   to the input, MUSIC_SFX leaves speech as PASS has it;
 * - whole with ALL equals mrxcl_separate followed by mrxcl_consistency_apply bit for bit;
 *   mrxcl_consistency_apply on random stems equals the residual shared in double (1e-6
 *   of the largest sample) for each mode, and refuses a bad mode or buffers;
 * - a remix (mrxcl_stream_params.remix) equals the input plus (gain - 1) times each
 *   stem of the same separation, summed here in double (1e-5 of the largest sample), in
 *   pieces, with an input gain, a muted source, PASS and ALL; every gain at 1 gives the
 *   input back bit for bit; ALL with one gain g for all gives g times the input;
 *   negative or non-finite gains are refused;
 * - batches of pieces, through the pipeline or not, at the model's rate and resampled,
 *   separating and remixing, give the stems of one piece at a time without the pipeline
 *   bit for bit, and mrxcl_stream_stats_get reports the batch and the stages; a batch
 *   that cannot fit max_memory is refused before anything is read, saying what fits;
 * - every frame is read once and written once per source, in order; progress reaches
 *   the end once per piece; a failing read or write callback stops it with
 *   MRXCL_ERR_CALLBACK and no callback is called after (with the pipeline: none of the
 *   failing kind); bad parameters are refused.
 * SEED=N replays a run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrxcl.h"
#include "test_util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { C = 2, S = 3 };

typedef struct io {
    const float *in[C];
    float *out[S * C];
    size_t frames, read_pos, write_pos[S];
    int read_calls, fail_read_at, fail_write_at, write_calls, calls_after_failure, failed;
    /* each callback's own: with the pipeline, read and write run on different threads */
    int read_failed, write_failed, reads_after, writes_after;
    int pipeline; /* then each callback reads its own flag alone */
    size_t progress_calls, last_done;
    int progress_bad;
    int remix; /* expect MRXCL_SOURCE_REMIX only, kept where source 0 goes */
} io;

static int on_read(void *u, float *const *ch, size_t n)
{
    io *t = u;
    t->calls_after_failure += !t->pipeline && t->failed;
    t->reads_after += t->read_failed;
    if (++t->read_calls == t->fail_read_at) {
        t->failed = t->read_failed = 1;
        return -1;
    }
    if (t->read_pos + n > t->frames)
        return -1;
    for (int c = 0; c < C; c++)
        memcpy(ch[c], t->in[c] + t->read_pos, n * sizeof(float));
    t->read_pos += n;
    return 0;
}

static int on_write(void *u, int s, const float *const *ch, size_t n)
{
    io *t = u;
    t->calls_after_failure += !t->pipeline && t->failed;
    t->writes_after += t->write_failed;
    if (++t->write_calls == t->fail_write_at) {
        t->failed = t->write_failed = 1;
        return -1;
    }
    if (t->remix && s != MRXCL_SOURCE_REMIX)
        return -1;
    if (t->remix)
        s = 0;
    if (s < 0 || s >= S || t->write_pos[s] + n > t->frames)
        return -1;
    for (int c = 0; c < C; c++)
        memcpy(t->out[s * C + c] + t->write_pos[s], ch[c], n * sizeof(float));
    t->write_pos[s] += n;
    return 0;
}

static void on_progress(void *u, size_t done, size_t total)
{
    io *t = u;
    t->calls_after_failure += !t->pipeline && t->failed;
    t->progress_calls++;
    if (done <= t->last_done || done > total || total != t->frames)
        t->progress_bad = 1;
    t->last_done = done;
}

static void io_reset(io *t, const float *x, float *y, size_t L)
{
    memset(t, 0, sizeof *t);
    t->frames = L;
    for (int c = 0; c < C; c++)
        t->in[c] = x + (size_t)c * L;
    for (int i = 0; i < S * C; i++)
        t->out[i] = y + (size_t)i * L;
    for (size_t i = 0; i < (size_t)S * C * L; i++)
        y[i] = NAN;
}

/* The pieces one by one through mrxcl_separate, joined in double. */
static int reference(mrxcl_context *ctx, const float *x, size_t L, int rate, size_t P, size_t O,
                     float gain, mrxcl_consistency mode, double *ref)
{
    size_t step = P - O, n_pieces = 1;
    while ((n_pieces - 1) * step + P < L)
        n_pieces++;
    float *px = malloc(sizeof(float) * C * P), *py = malloc(sizeof(float) * S * C * P);
    const float *in[C];
    float *out[S * C];
    int rc = 0;
    memset(ref, 0, sizeof(double) * S * C * L);
    for (size_t k = 0; k < n_pieces && !rc; k++) {
        size_t a = k * step, b = k + 1 == n_pieces ? L : a + P, n = b - a;
        for (int c = 0; c < C; c++) {
            for (size_t i = 0; i < n; i++)
                px[c * P + i] = x[c * L + a + i] * gain;
            in[c] = px + c * P;
        }
        for (int i = 0; i < S * C; i++)
            out[i] = py + (size_t)i * P;
        if ((rc = mrxcl_separate(ctx, in, C, n, rate, out)) != MRXCL_OK)
            break;
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < n; i++) {
                double y[S], sum = 0.0;
                for (int s = 0; s < S; s++)
                    sum += (y[s] = out[s * C + c][i]);
                double r = (double)in[c][i] - sum;
                if (mode == MRXCL_CONSISTENCY_ALL)
                    for (int s = 0; s < S; s++)
                        y[s] += r / S;
                if (mode == MRXCL_CONSISTENCY_MUSIC_SFX) /* sources music, speech, sfx */
                    y[0] += r / 2, y[2] += r / 2;
                /* weight of this piece: fade-in over the overlap with the one before,
                 * fade-out over the overlap with the one after */
                double w = 1.0;
                if (k > 0 && i < O)
                    w *= pow(sin(M_PI / 2 * (i + 0.5) / O), 2);
                if (k + 1 < n_pieces && i >= step)
                    w *= 1.0 - pow(sin(M_PI / 2 * (i - step + 0.5) / O), 2);
                for (int s = 0; s < S; s++)
                    ref[(s * C + c) * L + a + i] += w * y[s] / gain;
            }
    }
    free(px);
    free(py);
    return rc;
}

/* mrxcl_consistency_apply on random stems against the residual shared in double: each
 * mode, the model's (PASS for this model), and refusals. Returns the failures. */
static int check_consistency_apply(mrxcl_context *ctx, tu_rng *rng, size_t L)
{
    float *x = malloc(sizeof(float) * C * L), *y = malloc(sizeof(float) * S * C * L);
    double *ref = malloc(sizeof(double) * S * C * L);
    const float *in[C];
    float *out[S * C];
    int fails = 0;
    for (int c = 0; c < C; c++)
        in[c] = x + (size_t)c * L;
    for (int i = 0; i < S * C; i++)
        out[i] = y + (size_t)i * L;
    for (int mode = 0; mode < 4; mode++) {
        /* takers per mode, sources music, speech, sfx; MODEL is PASS for this model */
        static const int takes[4][S] = {{0, 0, 0}, {1, 1, 1}, {1, 0, 1}, {0, 0, 0}};
        int n_takers = takes[mode][0] + takes[mode][1] + takes[mode][2];
        double err = 0.0, peak = 0.0;
        for (size_t i = 0; i < (size_t)C * L; i++)
            x[i] = (float)(0.3 * tu_gauss(rng));
        for (size_t i = 0; i < (size_t)S * C * L; i++)
            ref[i] = y[i] = (float)(0.2 * tu_gauss(rng));
        for (int c = 0; c < C; c++)
            for (size_t k = 0; k < L; k++) {
                double sum = 0.0;
                for (int s = 0; s < S; s++)
                    sum += ref[(s * C + c) * L + k];
                for (int s = 0; s < S; s++)
                    if (takes[mode][s])
                        ref[(s * C + c) * L + k] += ((double)in[c][k] - sum) / n_takers;
            }
        int rc = mrxcl_consistency_apply(ctx, (mrxcl_consistency)mode, in, C, L, out);
        for (size_t i = 0; i < (size_t)S * C * L; i++) {
            peak = fmax(peak, fabs(ref[i]));
            err = fmax(err, fabs(y[i] - ref[i]));
        }
        if (rc || !(err <= 1e-6 * peak)) {
            printf("FAIL: mrxcl_consistency_apply mode %d: status %d (%s), max error %.3g of peak "
                   "%.3g\n", mode, rc, mrxcl_last_error(ctx), err, peak);
            fails++;
        }
    }
    if (mrxcl_consistency_apply(ctx, (mrxcl_consistency)7, in, C, L, out) != MRXCL_ERR_INVALID_ARGUMENT ||
        !mrxcl_last_error(ctx)[0] ||
        mrxcl_consistency_apply(ctx, MRXCL_CONSISTENCY_ALL, NULL, C, L, out) != MRXCL_ERR_INVALID_ARGUMENT ||
        mrxcl_consistency_apply(ctx, MRXCL_CONSISTENCY_ALL, in, 0, L, out) != MRXCL_ERR_INVALID_ARGUMENT) {
        printf("FAIL: mrxcl_consistency_apply accepted a bad mode, NULL input or 0 channels\n");
        fails++;
    }
    free(x);
    free(y);
    free(ref);
    return fails;
}

/* Lengths out of bounds are refused by the plan, no device needed, each with a message
 * that names what is wrong: a piece over 1e7 s is too long, not an overlap problem. */
static int check_plan_messages(void)
{
    static const struct {
        double piece, overlap;
        const char *needle;
    } cases[] = {
        {1e8, 2.0, "too long"},
        {30.0, 2e7, "too long"},
        {NAN, 2.0, "finite"},
        {-1.0, 0.0, "finite"},
        {1.0, 0.6, "longer than half"},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mrxcl_stream_params p = mrxcl_stream_default_params();
        mrxcl_stream_plan plan;
        p.piece_seconds = cases[i].piece;
        p.overlap_seconds = cases[i].overlap;
        int rs = mrxcl_stream_plan_get(&p, 48000 * 60, 48000, &plan);
        const char *msg = mrxcl_last_error(NULL);
        if (rs != MRXCL_ERR_INVALID_ARGUMENT || !msg || !strstr(msg, cases[i].needle)) {
            printf("FAIL: plan of %g s pieces, %g s overlap: status %d, message '%s', expected "
                   "'%s'\n", cases[i].piece, cases[i].overlap, rs, msg ? msg : "",
                   cases[i].needle);
            fails++;
        }
    }
    return fails;
}

/* The remix against the stems of the same parameters; see the top of the file. */
static int check_remix(mrxcl_context *ctx, tu_rng *rng, const float *x, float *y, size_t L,
                       int rate)
{
    int fails = 0;
    float *r = malloc(sizeof(float) * S * C * L);
    for (int trial = 0; trial < 4; trial++) {
        const int all_one = trial == 2, uniform = trial == 3;
        size_t P = L / 3 + (size_t)(tu_next(rng) % (L / 4)), O = 1 + (size_t)(tu_next(rng) % (P / 2));
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = (double)P / rate;
        p.overlap_seconds = (double)O / rate;
        p.input_gain = (float)pow(10.0, tu_uniform(rng, -1.5, 1.5));
        p.consistency = trial == 0 ? MRXCL_CONSISTENCY_PASS : MRXCL_CONSISTENCY_ALL;
        float g_all = (float)tu_uniform(rng, 0.25, 4.0);
        int muted = (int)(tu_next(rng) % S);
        for (int s = 0; s < S; s++)
            p.source_gains[s] = all_one ? 1.0f : uniform ? g_all
                                : s == muted ? 0.0f : (float)tu_uniform(rng, 0.0, 3.0);
        io t;
        io_reset(&t, x, y, L);
        int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, NULL, &t);
        p.remix = 1;
        io_reset(&t, x, r, L);
        t.remix = 1;
        int rr = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, NULL, &t);
        double peak = 0.0, err = 0.0, err_uniform = 0.0;
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < L; i++) {
                double want = x[c * L + i];
                for (int s = 0; s < S; s++)
                    want += ((double)p.source_gains[s] - 1.0) * y[(s * C + c) * L + i];
                peak = fmax(peak, fabs(want));
                err = fmax(err, fabs(r[c * L + i] - want)); /* NaN: unwritten, fails below */
                err_uniform = fmax(err_uniform, fabs(r[c * L + i] - (double)g_all * x[c * L + i]));
                if (!isfinite(r[c * L + i]))
                    err = INFINITY;
            }
        int bad = rs || rr || t.write_pos[0] != L || !(err <= 1e-5 * peak) ||
                  (all_one && memcmp(r, x, sizeof(float) * C * L) != 0) ||
                  (uniform && !(err_uniform <= 1e-5 * peak));
        if (bad) {
            printf("FAIL: remix %d (consistency %d, gains %g %g %g, pieces of %zu, overlap %zu, "
                   "input gain %g): status %d/%d (%s), %zu frames written, error %.3g of peak "
                   "%.3g%s, from g x input %.3g\n", trial, (int)p.consistency,
                   (double)p.source_gains[0], (double)p.source_gains[1], (double)p.source_gains[2],
                   P, O, (double)p.input_gain, rs, rr, rs || rr ? mrxcl_last_error(ctx) : "",
                   t.write_pos[0], err, peak, all_one ? ", gains 1: must be the input" : "",
                   err_uniform);
            fails++;
        }
    }
    const float refused[] = {-0.5f, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.remix = 1;
        p.source_gains[1] = refused[i];
        io t;
        io_reset(&t, x, r, L);
        t.remix = 1;
        int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, NULL, &t);
        if (rs != MRXCL_ERR_INVALID_ARGUMENT || t.read_calls || !strstr(mrxcl_last_error(ctx), "gain")) {
            printf("FAIL: remix gain %g: status %d (%s), %d reads\n", (double)refused[i], rs,
                   mrxcl_last_error(ctx), t.read_calls);
            fails++;
        }
    }
    free(r);
    return fails;
}

/* Batches and the pipeline against one piece at a time without it, bit for bit. */
static int check_batches(mrxcl_context *ctx, tu_rng *rng, const float *x, float *y, float *base,
                         size_t L, int model_rate)
{
    int fails = 0;
    const int rates[2] = {model_rate, 22050};
    for (int ri = 0; ri < 2; ri++)
        for (int remix = 0; remix < 2; remix++) {
            const int rate = rates[ri];
            mrxcl_stream_params p = mrxcl_stream_default_params();
            size_t P = L / 5 + (size_t)(tu_next(rng) % (L / 8));
            p.piece_seconds = (double)P / rate;
            p.overlap_seconds = (double)(1 + tu_next(rng) % (P / 2)) / rate;
            p.input_gain = (float)pow(10.0, tu_uniform(rng, -1.0, 1.0));
            p.consistency = MRXCL_CONSISTENCY_ALL;
            p.remix = remix;
            p.source_gains[0] = 0.5f, p.source_gains[2] = 2.0f;
            const size_t n = (remix ? 1 : (size_t)S) * C * L;
            mrxcl_stream_plan plan;
            mrxcl_stream_plan_get(&p, L, rate, &plan);
            /* the baseline: one piece at a time on the caller's thread */
            p.batch = 1;
            p.pipeline = 0;
            io t;
            io_reset(&t, x, y, L);
            t.remix = remix;
            int rb = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, on_progress, &t);
            memcpy(base, y, n * sizeof(float));
            const int batches[4] = {1, 2, 3, 0};
            for (int bi = 0; bi < 4; bi++)
                for (int pipeline = 0; pipeline < 2; pipeline++) {
                    if (bi == 0 && !pipeline)
                        continue;
                    p.batch = batches[bi];
                    p.pipeline = pipeline;
                    io_reset(&t, x, y, L);
                    t.remix = remix;
                    int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write,
                                                   on_progress, &t);
                    mrxcl_stream_stats st;
                    memset(&st, 0, sizeof st);
                    int rt = mrxcl_stream_stats_get(ctx, &st);
                    /* a batch holds at most the full pieces there are */
                    size_t full = plan.pieces - (L - (plan.pieces - 1) * (plan.piece_frames -
                                  plan.overlap_frames) < plan.piece_frames);
                    size_t want_batch = p.batch ? (size_t)p.batch : (size_t)st.batch;
                    if (want_batch > full)
                        want_batch = full;
                    size_t want_batches = (full + want_batch - 1) / want_batch + (full < plan.pieces);
                    if (rb || rs || rt || memcmp(y, base, n * sizeof(float)) != 0 ||
                        t.progress_calls != plan.pieces || t.progress_bad || st.pieces != plan.pieces ||
                        st.batch < 1 || st.batches != want_batches || !(st.device_seconds > 0) ||
                        st.device_bytes == 0 || (size_t)st.batch != want_batch) {
                        printf("FAIL: batch %d, pipeline %d, %d Hz, remix %d, %zu pieces: status "
                               "%d/%d/%d (%s), %s, %zu progress calls, stats: batch %d, %zu "
                               "batches (want %zu), device %.3g s, %zu bytes\n", p.batch,
                               pipeline, rate, remix, plan.pieces, rb, rs, rt,
                               rb || rs ? mrxcl_last_error(ctx) : "",
                               memcmp(y, base, n * sizeof(float)) ? "stems differ from batch 1"
                                                                  : "same stems",
                               t.progress_calls, st.batch, st.batches, want_batches,
                               st.device_seconds, st.device_bytes);
                        fails++;
                    }
                }
        }
    /* a batch that cannot fit: refused before reading, saying what fits */
    {
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = (double)(L / 4) / model_rate;
        p.overlap_seconds = 0;
        /* a piece is a few MiB here: 16 MiB holds some, 64 KiB none */
        const size_t memory[2] = {(size_t)16 << 20, (size_t)64 << 10};
        const char *says[2] = {"fit", "shorter pieces"};
        io t;
        for (int i = 0; i < 2; i++) {
            p.batch = 4096;
            p.max_memory = memory[i];
            io_reset(&t, x, y, L);
            int rs = mrxcl_separate_stream(ctx, &p, C, L, model_rate, on_read, on_write, NULL, &t);
            const char *msg = mrxcl_last_error(ctx);
            if (rs != MRXCL_ERR_DEVICE_MEMORY || t.read_calls || !strstr(msg, says[i])) {
                printf("FAIL: a batch over max_memory %zu: status %d (%s), %d reads\n",
                       memory[i], rs, msg, t.read_calls);
                fails++;
            }
        }
        p.batch = -1;
        p.max_memory = 0;
        if (mrxcl_separate_stream(ctx, &p, C, L, model_rate, on_read, on_write, NULL, &t) !=
            MRXCL_ERR_INVALID_ARGUMENT) {
            printf("FAIL: batch -1 accepted\n");
            fails++;
        }
    }
    return fails;
}

int main(void)
{
    uint64_t seed = tu_seed();
    tu_rng rng = {seed};
    tu_config cfg = {16000, 8, 3, {16, 32, 64}, 8, 1, 3, "music,speech,sfx", NULL};
    tu_model m;
    size_t size;
    int skip = 0, fails = 0, rc;
    printf("seed=%llu\n", (unsigned long long)seed);
    fails += check_plan_messages();
    tu_model_random(&m, &cfg, &rng);
    unsigned char *buf = tu_serialize(&m, &cfg, &size);
    mrxcl_context *ctx = tu_context(buf, size, &skip);
    free(buf);
    tu_model_free(&m);
    if (!ctx) {
        printf(skip ? "SKIP: no OpenCL device\n" : "FAIL: no context\n");
        return skip ? SKIP_CODE : 1;
    }
    const int rate = cfg.sample_rate;
    size_t L = 4000 + (size_t)(tu_next(&rng) % 6000);
    float *x = malloc(sizeof(float) * C * L), *y = malloc(sizeof(float) * S * C * L);
    float *whole = malloc(sizeof(float) * S * C * L);
    double *ref = malloc(sizeof(double) * S * C * L);
    for (size_t i = 0; i < (size_t)C * L; i++)
        x[i] = (float)(0.1 * tu_gauss(&rng));
    io t;

    /* whole, gain 1, pass: mrxcl_separate itself */
    {
        const float *in[C] = {x, x + L};
        float *out[S * C];
        for (int i = 0; i < S * C; i++)
            out[i] = whole + (size_t)i * L;
        rc = mrxcl_separate(ctx, in, C, L, rate, out);
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = 0;
        p.overlap_seconds = 0;
        io_reset(&t, x, y, L);
        int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, on_progress, &t);
        if (rc || rs || memcmp(y, whole, sizeof(float) * S * C * L) != 0 || t.progress_calls != 1) {
            printf("FAIL: whole: status %d/%d, %s, %zu progress calls\n", rc, rs,
                   rs ? mrxcl_last_error(ctx) : "not identical to mrxcl_separate", t.progress_calls);
            fails++;
        }
    }

    /* whole, gain 1, ALL: mrxcl_separate then mrxcl_consistency_apply, the same code */
    {
        const float *in[C] = {x, x + L};
        float *out[S * C];
        for (int i = 0; i < S * C; i++)
            out[i] = whole + (size_t)i * L;
        rc = mrxcl_separate(ctx, in, C, L, rate, out);
        if (!rc)
            rc = mrxcl_consistency_apply(ctx, MRXCL_CONSISTENCY_ALL, in, C, L, out);
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = 0;
        p.consistency = MRXCL_CONSISTENCY_ALL;
        io_reset(&t, x, y, L);
        int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, on_progress, &t);
        if (rc || rs || memcmp(y, whole, sizeof(float) * S * C * L) != 0) {
            printf("FAIL: whole, ALL: status %d/%d, %s\n", rc, rs,
                   rc || rs ? mrxcl_last_error(ctx) : "not identical to separate + consistency_apply");
            fails++;
        }
    }
    fails += check_consistency_apply(ctx, &rng, L);

    /* pieces: random lengths, gain and each mode */
    for (int mode = 0; mode < 3; mode++) {
        size_t P = L / 3 + (size_t)(tu_next(&rng) % (L / 4)), O = 1 + (size_t)(tu_next(&rng) % (P / 2));
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = (double)P / rate;
        p.overlap_seconds = (double)O / rate;
        p.input_gain = (float)pow(10.0, tu_uniform(&rng, -1.5, 1.5));
        p.consistency = (mrxcl_consistency)mode;
        mrxcl_stream_plan plan;
        io_reset(&t, x, y, L);
        int rs = mrxcl_stream_plan_get(&p, L, rate, &plan);
        if (!rs)
            rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, on_progress, &t);
        rc = reference(ctx, x, L, rate, P, O, p.input_gain, p.consistency, ref);
        double peak = 0.0, err = 0.0, sum_err = 0.0, speech_diff = 0.0;
        size_t unwritten = 0;
        for (size_t i = 0; i < (size_t)S * C * L; i++) {
            peak = fmax(peak, fabs(ref[i]));
            if (!isfinite(y[i]))
                unwritten++;
            else
                err = fmax(err, fabs(y[i] - ref[i]));
        }
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < L; i++) {
                double s = 0.0;
                for (int k = 0; k < S; k++)
                    s += y[(k * C + c) * L + i];
                sum_err = fmax(sum_err, fabs(s - x[c * L + i]));
            }
        if (mode == MRXCL_CONSISTENCY_MUSIC_SFX) { /* speech as with PASS */
            double *pass = malloc(sizeof(double) * S * C * L);
            reference(ctx, x, L, rate, P, O, p.input_gain, MRXCL_CONSISTENCY_PASS, pass);
            for (size_t i = (size_t)C * L; i < 2 * (size_t)C * L; i++)
                speech_diff = fmax(speech_diff, fabs(pass[i] - y[i]));
            free(pass);
        }
        int bad = rs || rc || unwritten || !(err <= 1e-5 * peak) || plan.pieces < 2 ||
                  t.read_pos != L || t.progress_calls != plan.pieces || t.progress_bad ||
                  t.last_done != L || (mode == MRXCL_CONSISTENCY_ALL && !(sum_err <= 1e-5)) ||
                  !(speech_diff <= 1e-5 * peak);
        for (int s = 0; s < S; s++)
            bad |= t.write_pos[s] != L;
        if (bad) {
            printf("FAIL: pieces of %zu frames, overlap %zu, L %zu, gain %g, mode %d: status %d/%d "
                   "(%s), %zu unwritten, max error %.3g of peak %.3g, sum error %.3g, speech "
                   "moved %.3g, %zu pieces, %zu progress calls\n", P, O, L, (double)p.input_gain,
                   mode, rs, rc, rs ? mrxcl_last_error(ctx) : "", unwritten, err, peak, sum_err,
                   speech_diff, plan.pieces, t.progress_calls);
            fails++;
        }
    }

    fails += check_remix(ctx, &rng, x, y, L, rate);

    fails += check_batches(ctx, &rng, x, y, whole, L, rate);

    /* a failing callback stops everything: without the pipeline nothing is called after
     * it; with it, a callback already running on another thread may end, but none of the
     * failing kind is called again */
    for (int which = 0; which < 4; which++) {
        mrxcl_stream_params p = mrxcl_stream_default_params();
        p.piece_seconds = (double)(L / 4) / rate;
        p.overlap_seconds = (double)(L / 16) / rate;
        p.pipeline = which >= 2;
        io_reset(&t, x, y, L);
        t.pipeline = p.pipeline;
        if (which % 2 == 0)
            t.fail_read_at = 2;
        else
            t.fail_write_at = 4;
        int rs = mrxcl_separate_stream(ctx, &p, C, L, rate, on_read, on_write, on_progress, &t);
        const char *msg = mrxcl_last_error(ctx);
        int after = p.pipeline ? t.reads_after + t.writes_after : t.calls_after_failure;
        if (rs != MRXCL_ERR_CALLBACK || after || !strstr(msg, which % 2 ? "write callback" : "read callback")) {
            printf("FAIL: a failing %s callback (pipeline %d): status %d (%s), %d calls after it\n",
                   which % 2 ? "write" : "read", p.pipeline, rs, msg, after);
            fails++;
        }
    }

    /* refused parameters */
    {
        mrxcl_stream_params bad[4];
        for (int i = 0; i < 4; i++)
            bad[i] = mrxcl_stream_default_params();
        bad[0].piece_seconds = 0.1, bad[0].overlap_seconds = 0.06;  /* overlap > half */
        bad[1].input_gain = 0.0f;
        bad[2].input_gain = NAN;
        bad[3].consistency = (mrxcl_consistency)7;
        for (int i = 0; i < 4; i++) {
            io_reset(&t, x, y, L);
            int rs = mrxcl_separate_stream(ctx, &bad[i], C, L, rate, on_read, on_write, NULL, &t);
            if (rs != MRXCL_ERR_INVALID_ARGUMENT || t.read_calls || !mrxcl_last_error(ctx)[0]) {
                printf("FAIL: bad parameters %d: status %d, %d reads\n", i, rs, t.read_calls);
                fails++;
            }
        }
        io_reset(&t, x, y, L);
        if (mrxcl_separate_stream(ctx, NULL, C, L, rate, NULL, on_write, NULL, &t) !=
                MRXCL_ERR_INVALID_ARGUMENT ||
            mrxcl_separate_stream(ctx, NULL, C, 0, rate, on_read, on_write, NULL, &t) !=
                MRXCL_ERR_INVALID_ARGUMENT) {
            printf("FAIL: a NULL read callback or 0 frames accepted\n");
            fails++;
        }
    }

    mrxcl_context_free(ctx);
    free(x);
    free(y);
    free(whole);
    free(ref);
    if (fails)
        printf("%d failures (seed=%llu)\n", fails, (unsigned long long)seed);
    else
        printf("stream: ok (L %zu)\n", L);
    return fails ? 1 : 0;
}
