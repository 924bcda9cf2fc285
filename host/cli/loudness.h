/* Integrated loudness (ITU-R BS.1770-4, EBU R 128) of an input, with libebur128, for
 * separating it at the level the models were trained at (docs/network.md, "Around the
 * network": the authors' script measures the input, separates it at -27 LUFS and undoes
 * the gain on every stem).
 *
 * Channel weights follow BS.1770-4 by position, in WAV/SMPTE channel order: one to three
 * channels are L, R, C (weight 1; mono is not counted twice); four or five add the
 * surrounds at 1.41 (pyloudnorm's weights, which docs/network.md names); six are 5.1, whose
 * fourth channel, the LFE, is left out; channels past six are rear channels, weight 1.
 *
 * The first pass of a film must not take longer than its separation on a fast device
 * (libebur128 meters some 1000x real time per core on stereo), so the input is measured
 * in stretches of 10 s side by side, a thread per processor: every 100 ms each stretch's
 * libebur128 states give the energy of the last 400 ms (a block), and the blocks of all
 * stretches are gated here (-70 LUFS absolute, -10 LU relative) as libebur128 gates its
 * own. A stretch starts 600 ms early, so that its first block sees settled filters: the
 * figure equals libebur128's in one piece to 1e-6 LU (tests/test_loudness.c) and does
 * not depend on the number of threads. libebur128 meters at most 64 channels: BS.1770's
 * loudness of a block is the weighted sum of its channels' mean squares, so more
 * channels are metered 64 to a state and the states' energies summed.
 * libebur128 takes only rates from 16 Hz to 2822400 Hz: outside them,
 * loudness_rate_supported says no and the program separates at the input's own level,
 * with a warning (a K-weighting filter, whose shelf is at 1.5 kHz and high-pass at 38 Hz,
 * means nothing under 16 Hz, and no audio is sampled so slowly).
 */
#ifndef MRXCL_CLI_LOUDNESS_H
#define MRXCL_CLI_LOUDNESS_H

#include <stddef.h>

typedef struct loudness_meter loudness_meter;

/* Whether a meter can measure at this rate (16 to 2822400 Hz, libebur128's range). */
int loudness_rate_supported(int sample_rate);
/* Any channel count >= 1. NULL if out of memory or the rate is not supported. */
loudness_meter *loudness_meter_new(int channels, int sample_rate);
/* interleaved: frames x channels. Returns 0, or -1 if libebur128 fails. */
int loudness_meter_add(loudness_meter *meter, const float *interleaved, size_t frames);
/* LUFS; -HUGE_VAL when nothing passes the gates (silence, or under 400 ms of audio). */
double loudness_meter_integrated(loudness_meter *meter);
/* Accepts NULL. */
void loudness_meter_free(loudness_meter *meter);

#endif /* MRXCL_CLI_LOUDNESS_H */
