/* Integrated loudness with libebur128. See loudness.h. */
#include "loudness.h"

#include <math.h>
#include <stdlib.h>

#include <ebur128.h>

struct loudness_meter {
    ebur128_state *st;
};

loudness_meter *loudness_meter_new(int channels, int sample_rate)
{
    if (channels < 1 || sample_rate < 1)
        return NULL;
    loudness_meter *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->st = ebur128_init((unsigned)channels, (unsigned long)sample_rate, EBUR128_MODE_I);
    if (!m->st) {
        free(m);
        return NULL;
    }
    for (int c = 0; c < channels; c++) {
        int ch;
        switch (c) {
        case 0: ch = EBUR128_LEFT; break;
        case 1: ch = EBUR128_RIGHT; break;
        case 2: ch = EBUR128_CENTER; break;
        case 3: ch = channels >= 6 ? EBUR128_UNUSED : EBUR128_LEFT_SURROUND; break; /* LFE of 5.1 */
        case 4: ch = channels == 5 ? EBUR128_RIGHT_SURROUND : EBUR128_LEFT_SURROUND; break;
        case 5: ch = EBUR128_RIGHT_SURROUND; break;
        default: ch = c % 2 ? EBUR128_Mm135 : EBUR128_Mp135; break; /* weight 1 */
        }
        if (ebur128_set_channel(m->st, (unsigned)c, ch) != EBUR128_SUCCESS) {
            loudness_meter_free(m);
            return NULL;
        }
    }
    return m;
}

int loudness_meter_add(loudness_meter *m, const float *interleaved, size_t frames)
{
    return ebur128_add_frames_float(m->st, interleaved, frames) == EBUR128_SUCCESS ? 0 : -1;
}

double loudness_meter_integrated(loudness_meter *m)
{
    double lufs = -HUGE_VAL;
    if (ebur128_loudness_global(m->st, &lufs) != EBUR128_SUCCESS)
        return -HUGE_VAL;
    return lufs;
}

void loudness_meter_free(loudness_meter *m)
{
    if (!m)
        return;
    ebur128_destroy(&m->st);
    free(m);
}
