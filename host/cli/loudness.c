/* Integrated loudness with libebur128. See loudness.h. */
#include "loudness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

/* libebur128 1.2's limits: ebur128_init refuses more channels or another rate. */
#define METER_MAX_CHANNELS 64
#define METER_MIN_RATE 16
#define METER_MAX_RATE 2822400

struct loudness_meter {
    int channels, n_states;
    ebur128_state **st; /* channels 64 g .. 64 g + 63 in st[g] */
    /* More than 64 channels: each state gives the energy of its channels' last 400 ms
     * (momentary loudness) every 100 ms, and the blocks' energies, summed over the
     * states, are gated here as libebur128 gates its own. */
    size_t step;      /* frames per 100 ms, libebur128's (rate + 5) / 10 */
    size_t to_step;   /* frames until the next 100 ms boundary */
    size_t fed;       /* frames so far */
    float *part;      /* one state's channels, interleaved: step x 64 */
    double *blocks;   /* the 400 ms blocks' energies */
    size_t n_blocks, cap_blocks;
};

int loudness_rate_supported(int sample_rate)
{
    return sample_rate >= METER_MIN_RATE && sample_rate <= METER_MAX_RATE;
}

/* BS.1770-4 by position in WAV/SMPTE order (loudness.h); `c` counts over all channels. */
static int channel_position(int c, int channels)
{
    switch (c) {
    case 0: return EBUR128_LEFT;
    case 1: return EBUR128_RIGHT;
    case 2: return EBUR128_CENTER;
    case 3: return channels >= 6 ? EBUR128_UNUSED : EBUR128_LEFT_SURROUND; /* LFE of 5.1 */
    case 4: return channels == 5 ? EBUR128_RIGHT_SURROUND : EBUR128_LEFT_SURROUND;
    case 5: return EBUR128_RIGHT_SURROUND;
    default: return c % 2 ? EBUR128_Mm135 : EBUR128_Mp135; /* weight 1 */
    }
}

loudness_meter *loudness_meter_new(int channels, int sample_rate)
{
    if (channels < 1 || !loudness_rate_supported(sample_rate))
        return NULL;
    loudness_meter *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->channels = channels;
    m->n_states = (channels + METER_MAX_CHANNELS - 1) / METER_MAX_CHANNELS;
    m->st = calloc((size_t)m->n_states, sizeof *m->st);
    if (!m->st)
        goto fail;
    int mode = m->n_states == 1 ? EBUR128_MODE_I : EBUR128_MODE_M;
    for (int g = 0; g < m->n_states; g++) {
        int first = g * METER_MAX_CHANNELS;
        int n = channels - first < METER_MAX_CHANNELS ? channels - first : METER_MAX_CHANNELS;
        m->st[g] = ebur128_init((unsigned)n, (unsigned long)sample_rate, mode);
        if (!m->st[g])
            goto fail;
        for (int c = 0; c < n; c++)
            if (ebur128_set_channel(m->st[g], (unsigned)c, channel_position(first + c, channels)) !=
                EBUR128_SUCCESS)
                goto fail;
    }
    if (m->n_states > 1) {
        m->step = ((size_t)sample_rate + 5) / 10;
        m->to_step = m->step;
        m->part = malloc(m->step * METER_MAX_CHANNELS * sizeof *m->part);
        if (!m->part)
            goto fail;
    }
    return m;
fail:
    loudness_meter_free(m);
    return NULL;
}

static int add_block(loudness_meter *m)
{
    double sum = 0.0;
    for (int g = 0; g < m->n_states; g++) {
        double lufs;
        if (ebur128_loudness_momentary(m->st[g], &lufs) != EBUR128_SUCCESS)
            return -1;
        if (isfinite(lufs))
            sum += pow(10.0, (lufs + 0.691) / 10.0);
    }
    if (m->n_blocks == m->cap_blocks) {
        size_t cap = m->cap_blocks ? 2 * m->cap_blocks : 1024;
        double *p = realloc(m->blocks, cap * sizeof *p);
        if (!p)
            return -1;
        m->blocks = p;
        m->cap_blocks = cap;
    }
    m->blocks[m->n_blocks++] = sum;
    return 0;
}

/* Up to the next 100 ms boundary at most: every state gets the same frames. */
static int add_split(loudness_meter *m, const float *interleaved, size_t frames)
{
    const size_t C = (size_t)m->channels;
    for (int g = 0; g < m->n_states; g++) {
        size_t first = (size_t)g * METER_MAX_CHANNELS;
        size_t n = C - first < METER_MAX_CHANNELS ? C - first : METER_MAX_CHANNELS;
        for (size_t i = 0; i < frames; i++)
            memcpy(m->part + i * n, interleaved + i * C + first, n * sizeof(float));
        if (ebur128_add_frames_float(m->st[g], m->part, frames) != EBUR128_SUCCESS)
            return -1;
    }
    return 0;
}

int loudness_meter_add(loudness_meter *m, const float *interleaved, size_t frames)
{
    if (m->n_states == 1)
        return ebur128_add_frames_float(m->st[0], interleaved, frames) == EBUR128_SUCCESS ? 0 : -1;
    while (frames > 0) {
        size_t n = frames < m->to_step ? frames : m->to_step;
        if (add_split(m, interleaved, n) != 0)
            return -1;
        interleaved += n * (size_t)m->channels;
        frames -= n;
        m->fed += n;
        m->to_step -= n;
        if (m->to_step == 0) {
            m->to_step = m->step;
            /* a block is the last 400 ms, once there are 400 ms */
            if (m->fed >= 4 * m->step && add_block(m) != 0)
                return -1;
        }
    }
    return 0;
}

/* BS.1770-4's gating over the blocks: absolute at -70 LUFS, relative at -10 LU. */
static double gated_loudness(const loudness_meter *m)
{
    const double absolute = pow(10.0, (-70.0 + 0.691) / 10.0);
    double sum = 0.0;
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i] >= absolute) {
            sum += m->blocks[i];
            n++;
        }
    if (n == 0)
        return -HUGE_VAL;
    double relative = sum / (double)n * 0.1;
    sum = 0.0;
    n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i] >= absolute && m->blocks[i] >= relative) {
            sum += m->blocks[i];
            n++;
        }
    return n && sum > 0 ? 10.0 * log10(sum / (double)n) - 0.691 : -HUGE_VAL;
}

double loudness_meter_integrated(loudness_meter *m)
{
    if (m->n_states > 1)
        return gated_loudness(m);
    double lufs = -HUGE_VAL;
    if (ebur128_loudness_global(m->st[0], &lufs) != EBUR128_SUCCESS)
        return -HUGE_VAL;
    return lufs;
}

void loudness_meter_free(loudness_meter *m)
{
    if (!m)
        return;
    for (int g = 0; m->st && g < m->n_states; g++)
        if (m->st[g])
            ebur128_destroy(&m->st[g]);
    free(m->st);
    free(m->part);
    free(m->blocks);
    free(m);
}
