/* The program's loudness meter (host/cli/loudness.c), which measures stretches of the
 * input side by side on threads, against libebur128 measuring the same input in one
 * piece (EBUR128_MODE_I, its own gating): within 1e-6 LU, on fresh random signals
 * whose level jumps (so that both gates act), of random lengths (under 400 ms; one
 * stretch; several windows of stretches), rates and channel counts up to 64 (the 5.1
 * layout leaving out its LFE), fed in random block sizes; silence and inputs under
 * 400 ms measure as -inf both ways. SEED=N replays a run. */
#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "loudness.h"
#include "test_util.h"

static int g_failed;
static unsigned long long g_seed;

/* libebur128 in one piece: the reference, with the positions loudness.h gives */
static double reference(const float *x, size_t frames, int channels, int rate)
{
    static const int pos6[6] = {EBUR128_LEFT, EBUR128_RIGHT, EBUR128_CENTER, EBUR128_UNUSED,
                                EBUR128_LEFT_SURROUND, EBUR128_RIGHT_SURROUND};
    ebur128_state *st = ebur128_init((unsigned)channels, (unsigned long)rate, EBUR128_MODE_I);
    for (int c = 0; c < channels; c++) {
        /* six or more: 5.1 first, then rear channels of weight 1 */
        int p = c < 3 || (channels >= 6 && c < 6) ? pos6[c] : c % 2 ? EBUR128_Mm135 : EBUR128_Mp135;
        if (channels == 4 || channels == 5)
            p = c < 3 ? pos6[c] : c == 3 ? EBUR128_LEFT_SURROUND : EBUR128_RIGHT_SURROUND;
        ebur128_set_channel(st, (unsigned)c, p);
    }
    ebur128_add_frames_float(st, x, frames);
    double l = -HUGE_VAL;
    ebur128_loudness_global(st, &l);
    ebur128_destroy(&st);
    return l;
}

static void check(tu_rng *rng, size_t frames, int channels, int rate, int silent)
{
    float *x = malloc((frames ? frames : 1) * (size_t)channels * sizeof *x);
    /* noise whose level jumps every so often by up to 60 dB */
    double level = 0.1;
    for (size_t i = 0; i < frames; i++) {
        if (tu_next(rng) % (size_t)(rate / 2 + 1) == 0)
            level = 0.5 * pow(10.0, -tu_uniform(rng, 0, 3));
        for (int c = 0; c < channels; c++)
            x[i * (size_t)channels + (size_t)c] = silent ? 0.0f : (float)(level * tu_gauss(rng));
    }
    loudness_meter *m = loudness_meter_new(channels, rate);
    int rc = m ? 0 : -1;
    for (size_t done = 0; !rc && done < frames;) {
        size_t n = 1 + tu_next(rng) % (size_t)(rate * 7);
        if (n > frames - done)
            n = frames - done;
        rc = loudness_meter_add(m, x + done * (size_t)channels, n);
        done += n;
    }
    double got = rc ? NAN : loudness_meter_integrated(m);
    double want = reference(x, frames, channels, rate);
    int same = (isinf(got) && isinf(want) && got < 0 && want < 0) || fabs(got - want) <= 1e-6;
    if (!same) {
        printf("FAIL (seed %llu): %zu frames x %d ch at %d Hz%s: meter %.9f LUFS, libebur128 "
               "%.9f LUFS (tolerance 1e-6 LU)\n", g_seed, frames, channels, rate,
               silent ? ", silent" : "", got, want);
        g_failed++;
    }
    loudness_meter_free(m);
    free(x);
}

int main(void)
{
    g_seed = tu_seed();
    tu_rng rng = {g_seed};
    static const int rates[] = {8000, 11025, 16000, 44100};
    static const int chans[] = {1, 2, 5, 6, 8, 64};
    /* edges: under one block, one block, around a stretch (10 s), several windows */
    check(&rng, 0, 2, 8000, 0);
    check(&rng, 3199, 2, 8000, 0);
    check(&rng, 3200, 1, 8000, 0);
    check(&rng, 80000, 1, 8000, 0);
    check(&rng, 80001, 2, 8000, 0);
    check(&rng, 8000 * 200, 2, 8000, 1);
    check(&rng, 8000 * 200 + 123, 2, 8000, 0);
    check(&rng, 16000 * 95, 6, 16000, 0);
    for (int t = 0; t < 12; t++) {
        int rate = rates[tu_next(&rng) % 4], ch = chans[tu_next(&rng) % 6];
        double seconds = tu_uniform(&rng, 0.2, ch > 8 ? 25 : 130);
        check(&rng, (size_t)(seconds * rate), ch, rate, 0);
    }
    printf("%s (seed %llu)\n", g_failed ? "FAILED" : "loudness: ok", g_seed);
    return g_failed ? 1 : 0;
}
