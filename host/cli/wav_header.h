/* The header of a WAV stream written where nothing can be seeked back to (standard
 * output into ffmpeg): libsndfile writes WAV only to files it can seek in (it refuses a
 * pipe), so this header is made here and libsndfile writes the samples after it as raw
 * little-endian data.
 *
 * The length is known before the first sample (the input was read through once), so
 * the header carries the exact sizes: a RIFF/WAVE header up to 4 GiB of data, an RF64
 * header (EBU Tech 3306, with its ds64 chunk) above. The format is WAVE_FORMAT_EXTENSIBLE
 * (with the channel mask) when a channel map is given, there are more than 2 channels,
 * or the samples are float or wider than 16 bits; plain PCM otherwise.
 */
#ifndef MRXCL_CLI_WAV_HEADER_H
#define MRXCL_CLI_WAV_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define WAV_HEADER_MAX 128

/* Writes the header into buf (WAV_HEADER_MAX bytes) for `frames` frames of `channels`
 * channels at `rate` Hz, `bits` per sample (16, 24 or 32), float when `is_float`;
 * `sf_map` NULL, or channels libsndfile SF_CHANNEL_MAP_* positions (a map that a mask
 * cannot say: a mask of 0). Returns its length in bytes. */
size_t wav_header(unsigned char *buf, int channels, int rate, int bits, int is_float,
                  uint64_t frames, const int *sf_map);

/* The dwChannelMask bits of a libsndfile channel map; 0 when a position has no bit, or
 * the positions are not in the bits' order (as WAVE requires). */
uint32_t wav_channel_mask(const int *sf_map, int channels);

#endif /* MRXCL_CLI_WAV_HEADER_H */
