/* Reading the input of the mrxcl command-line program: any file libsndfile decodes,
 * into planar float channels, whole or a stretch at a time.
 *
 * Functions that can fail return 0 on success and -1 on failure, with a message that
 * names the file in err (err_size bytes, always terminated).
 */
#ifndef MRXCL_CLI_AUDIO_READER_H
#define MRXCL_CLI_AUDIO_READER_H

#include <stddef.h>

typedef struct audio_buffer {
    int channels;
    int sample_rate;
    size_t frames;
    float **data; /* data[c], c < channels: `frames` samples each, one allocation per channel */
} audio_buffer;

/* Reads the whole file. A file with no frames is an error ("has no audio"), and so is
 * one that holds fewer frames than its header announces ("is truncated"). */
int audio_read(const char *path, audio_buffer *audio, char *err, size_t err_size);

/* Reading in order, a stretch at a time (for inputs too long to hold whole). */
typedef struct audio_reader audio_reader;
/* Opens and checks the file ("-": standard input): missing, a directory, undecodable, no channels, a
 * header that says 0 frames, and a WAV, RF64, AIFF or AU file shorter than its header
 * says ("is truncated") are errors. NULL on failure, with the message in err.
 * The path is opened once. Anything but a regular file or a block device (a pipe,
 * a FIFO, standard input) is first copied, as read, into a temporary file in $TMPDIR
 * (else /tmp) that is unlinked as soon as it is created: it takes the input's size on
 * disk while the reader is open, and nothing is left behind whatever ends the program. */
audio_reader *audio_reader_open(const char *path, char *err, size_t err_size);
int audio_reader_channels(const audio_reader *reader);
/* Where the header names the channels' positions (a WAVE_FORMAT_EXTENSIBLE mask, a CAF
 * or AIFF layout): 1, with map[c] = libsndfile's SF_CHANNEL_MAP_* of channel c (map has
 * room for every channel); else 0. */
int audio_reader_channel_map(const audio_reader *reader, int *map);
int audio_reader_sample_rate(const audio_reader *reader);
/* Back to the first frame, with a fresh decoder. -1 with the message in err. */
int audio_reader_rewind(audio_reader *reader, char *err, size_t err_size);
/* The frame count the header gives; -1 if it gives none (a stream of unknown length). */
long long audio_reader_frames(const audio_reader *reader);
/* Reads up to `frames` frames into channel[c] (planar); *got says how many; fewer
 * than asked means the input ended. -1 on a read error, on an end before the frame
 * count the header gives ("is truncated"), or on a NaN or infinite sample ("has NaN at
 * sample N ... of channel C"), with the message in err. */
int audio_reader_read(audio_reader *reader, float *const *channel, size_t frames, size_t *got,
                      char *err, size_t err_size);
/* The same, interleaved as the file holds them (frames x channels). */
int audio_reader_read_interleaved(audio_reader *reader, float *interleaved, size_t frames,
                                  size_t *got, char *err, size_t err_size);
/* Accepts NULL. */
void audio_reader_close(audio_reader *reader);
/* audio_read from an open reader, from where it stands (its start after opening). The
 * buffers grow with what is read, not with what the header claims. */
int audio_read_all(audio_reader *reader, audio_buffer *audio, char *err, size_t err_size);
/* Frees the channels; accepts a zeroed or already freed buffer. */
void audio_free(audio_buffer *audio);

#endif /* MRXCL_CLI_AUDIO_READER_H */
