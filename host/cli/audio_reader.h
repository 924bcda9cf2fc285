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

/* Reads the whole file. A file with no frames is an error ("has no audio"). */
int audio_read(const char *path, audio_buffer *audio, char *err, size_t err_size);

/* Reading in order, a stretch at a time (for inputs too long to hold whole). */
typedef struct audio_reader audio_reader;
/* Opens and checks the file: missing, a directory, undecodable, no channels, a
 * header that says 0 frames are errors. NULL on failure, with the message in err. */
audio_reader *audio_reader_open(const char *path, char *err, size_t err_size);
int audio_reader_channels(const audio_reader *reader);
int audio_reader_sample_rate(const audio_reader *reader);
/* The frame count the header gives; -1 if it gives none (a stream of unknown length). */
long long audio_reader_frames(const audio_reader *reader);
/* Reads up to `frames` frames into channel[c] (planar); *got says how many; fewer
 * than asked means the input ended. -1 on a read error, with the message in err. */
int audio_reader_read(audio_reader *reader, float *const *channel, size_t frames, size_t *got,
                      char *err, size_t err_size);
/* The same, interleaved as the file holds them (frames x channels). */
int audio_reader_read_interleaved(audio_reader *reader, float *interleaved, size_t frames,
                                  size_t *got, char *err, size_t err_size);
/* Accepts NULL. */
void audio_reader_close(audio_reader *reader);
/* Frees the channels; accepts a zeroed or already freed buffer. */
void audio_free(audio_buffer *audio);

#endif /* MRXCL_CLI_AUDIO_READER_H */
