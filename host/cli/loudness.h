/* Integrated loudness (ITU-R BS.1770-4, EBU R 128) of an input, with libebur128, for
 * separating it at the level the models were trained at (docs/network.md, "Around the
 * network": the authors' script measures the input, separates it at -27 LUFS and undoes
 * the gain on every stem).
 *
 * Channel weights follow BS.1770-4 by position, in WAV/SMPTE channel order: one to three
 * channels are L, R, C (weight 1; mono is not counted twice); four or five add the
 * surrounds at 1.41 (pyloudnorm's weights, which docs/network.md names); six are 5.1, whose
 * fourth channel, the LFE, is left out; channels past six are rear channels, weight 1.
 */
#ifndef MRXCL_CLI_LOUDNESS_H
#define MRXCL_CLI_LOUDNESS_H

#include <stddef.h>

typedef struct loudness_meter loudness_meter;

/* NULL if libebur128 cannot make one (out of memory, a rate it refuses). */
loudness_meter *loudness_meter_new(int channels, int sample_rate);
/* interleaved: frames x channels. Returns 0, or -1 if libebur128 fails. */
int loudness_meter_add(loudness_meter *meter, const float *interleaved, size_t frames);
/* LUFS; -HUGE_VAL when nothing passes the gates (silence, or under 400 ms of audio). */
double loudness_meter_integrated(loudness_meter *meter);
/* Accepts NULL. */
void loudness_meter_free(loudness_meter *meter);

#endif /* MRXCL_CLI_LOUDNESS_H */
