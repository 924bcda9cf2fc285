/* Atomic multi-file output for the mrxcl command-line program.
 *
 * A stem_writer writes every stem to a hidden temporary file in the output directory and
 * renames them all into place only in stem_writer_commit(), after every one was written
 * and closed without error. Until then, and on any failure, the files already in the
 * directory are left alone and the temporary files are removed, also when the process
 * receives SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGALRM and the like (see
 * stem_writer_handle_signals). A temporary file is named DIR/.NAME.partial-PID-XXXXXX;
 * those that a killed run (SIGKILL) left are removed by a later run that writes the same
 * stems, once their process is gone (remove_stale_partials in stem_writer.c).
 *
 * Functions that can fail return 0 on success and -1 on failure, with a message that
 * names the file in err (err_size bytes, always terminated).
 */
#ifndef MRXCL_CLI_STEM_WRITER_H
#define MRXCL_CLI_STEM_WRITER_H

#include <stddef.h>

typedef enum audio_format { AUDIO_WAV, AUDIO_FLAC, AUDIO_OGG } audio_format;
typedef enum audio_subtype {
    AUDIO_SUBTYPE_DEFAULT, /* wav: float, flac: pcm24, ogg: Vorbis */
    AUDIO_SUBTYPE_FLOAT,
    AUDIO_SUBTYPE_PCM16,
    AUDIO_SUBTYPE_PCM24
} audio_subtype;

#define STEM_WRITER_MAX_STEMS 8

typedef struct stem_writer stem_writer;

/* File name extension of a format, without the dot ("wav"). */
const char *audio_format_extension(audio_format format);

/* Whether a file name is a safe stem name: 1 to 31 characters from [A-Za-z0-9_-],
 * so that it cannot leave the output directory or hide itself. */
int stem_name_is_safe(const char *name);

/* Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2,
 * SIGVTALRM, SIGPROF and SIGXCPU (not SIGHUP under nohup) that remove the temporary files of
 * open writers (and an output directory the program created, see
 * stem_writer_note_created_dir) and exit with 128 + the signal number; on SIGABRT,
 * SIGSEGV, SIGBUS, SIGFPE and SIGILL they are removed before the process dies of the
 * signal, and an atexit() handler removes them if a library calls exit(). Also ignores
 * SIGXFSZ, so that exceeding a file size limit is a write error, not a silent death
 * that leaves temporary files behind. Call once, early. */
void stem_writer_handle_signals(void);
/* LLVM, inside an OpenCL compiler (PoCL's), installs its own signal handlers when it
 * first compiles: it passes INT, TERM, HUP and the crash signals on to ours, but takes
 * SIGUSR1 as its "info" signal and goes on. SIGUSR1 is therefore kept blocked (from
 * stem_writer_handle_signals() on, in every thread) and taken here: puts ours back and
 * delivers a pending SIGUSR1 to it; call after the OpenCL context is made and after each
 * piece (PoCL compiles at a kernel's first launch). A SIGUSR1 waits for the next call. */
void stem_writer_rearm_signals(void);
/* Tells the signal handler that `dir` was created by this program and may be removed
 * (if empty) when the program is interrupted. NULL forgets it. */
void stem_writer_note_created_dir(const char *dir);

/* What the files hold. */
typedef struct audio_spec {
    audio_format format;
    audio_subtype subtype;
    int channels;
    int sample_rate;
    size_t frames;          /* RF64 rather than WAV where a WAV file would exceed 4 GiB */
    const int *channel_map; /* NULL, or the channels' SF_CHANNEL_MAP_* positions: kept
                               in WAV and RF64 files (WAVE_FORMAT_EXTENSIBLE's mask) */
} audio_spec;

/* Creates DIR/.NAME.partial-PID-XXXXXX for each of the n paths DIR/NAME (n <= 8) and
 * opens them for writing, after removing stale temporary files of those names. The path
 * "-" (alone, WAV) is standard output: a WAV stream whose header (wav_header.h) carries
 * spec->frames, written as it comes; it has no temporary file, and what was written of
 * it stays written. A rate the format cannot hold (Vorbis above 200000 Hz, FLAC above
 * 655350 Hz) is refused with a message that says so. */
stem_writer *stem_writer_open(const char *const *paths, int n, const audio_spec *spec,
                              char *err, size_t err_size);
/* Appends `frames` frames to stem `stem`; channel[c] holds channel c's samples. A
 * short write (disk full, file size limit) is an error. */
int stem_writer_write(stem_writer *writer, int stem, const float *const *channel,
                      size_t frames, char *err, size_t err_size);
/* Closes every temporary file, checking for errors, then renames them into place.
 * Frees the writer whether it succeeds or not; on failure nothing was renamed (except
 * in the unlikely case that a rename fails after an earlier one succeeded, which the
 * message then says) and the temporary files are gone. */
int stem_writer_commit(stem_writer *writer, char *err, size_t err_size);
/* Closes and removes every temporary file and frees the writer. Accepts NULL. */
void stem_writer_abort(stem_writer *writer);

/* A signal that arrived while stem_writer_commit() was renaming (which it does not
 * interrupt), 0 if none. The caller should exit with 128 + it after a commit. */
int stem_writer_pending_signal(void);

#endif /* MRXCL_CLI_STEM_WRITER_H */
