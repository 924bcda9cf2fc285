/* mrxcl: three-stem soundtrack separation (speech, music, sound effects) with the
 * MRX network (Petermann et al., "The Cocktail Fork Problem", ICASSP 2022) on OpenCL.
 *
 * Objects and lifetimes
 *   mrxcl_model    network weights and configuration, on the host. Loaded from a
 *                  safetensors file or from memory; independent of any device.
 *   mrxcl_context  one OpenCL device with the model's weights uploaded to it, its
 *                  kernels built and its FFT plans made. Creating a context copies
 *                  everything it needs from the model: the model may be freed after.
 * Every *_free() accepts NULL. A context is not thread-safe: use one per thread.
 *
 * Errors
 *   Every call returns (or reports through *status) an mrxcl_status: 0 is success,
 *   negative values are errors, mrxcl_strerror() names them. The detailed message
 *   (which tensor is wrong, which OpenCL call failed and with what code) is kept:
 *   mrxcl_last_error(ctx) for calls on a context, mrxcl_last_error(NULL) for the
 *   calling thread's last failed load or create. The library never prints and never
 *   exits; it reports through the log callback set with mrxcl_log_set().
 */
#ifndef MRXCL_H
#define MRXCL_H

#include <stddef.h>

#if defined(_WIN32) && defined(MRXCL_SHARED)
#  ifdef MRXCL_BUILD
#    define MRXCL_API __declspec(dllexport)
#  else
#    define MRXCL_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define MRXCL_API __attribute__((visibility("default")))
#else
#  define MRXCL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MRXCL_VERSION_MAJOR 0
#define MRXCL_VERSION_MINOR 2
#define MRXCL_VERSION_PATCH 0

typedef enum mrxcl_status {
    MRXCL_OK = 0,
    MRXCL_ERR_INVALID_ARGUMENT = -1,  /* a NULL pointer, zero channels, bad option */
    MRXCL_ERR_OUT_OF_MEMORY = -2,     /* host allocation failed */
    MRXCL_ERR_IO = -3,                /* a file could not be opened or read */
    MRXCL_ERR_MODEL_FORMAT = -4,      /* not a safetensors file, truncated, bad header, unknown dtype */
    MRXCL_ERR_MODEL_MISMATCH = -5,    /* missing tensor, wrong shape, inconsistent configuration */
    MRXCL_ERR_MODEL_VALUE = -6,       /* NaN or infinite weight, negative variance */
    MRXCL_ERR_NO_DEVICE = -7,         /* no OpenCL platform or no device matching the choice */
    MRXCL_ERR_OPENCL = -8,            /* an OpenCL call failed (mrxcl_last_cl_error()) */
    MRXCL_ERR_KERNEL_BUILD = -9,      /* the OpenCL program failed to build (mrxcl_build_log()) */
    MRXCL_ERR_FFT = -10,              /* clFFT failed */
    MRXCL_ERR_BLAS = -11,             /* CLBlast failed */
    MRXCL_ERR_RESAMPLE = -12,         /* libsoxr failed */
    MRXCL_ERR_UNSUPPORTED = -13,      /* valid, but not supported (e.g. an FFT length clFFT lacks) */
    MRXCL_ERR_DEVICE_MEMORY = -14,    /* the device could not allocate what the input needs */
    MRXCL_ERR_CALLBACK = -15,         /* a read or write callback reported failure */
    MRXCL_ERR_NONFINITE = -16         /* the network gave NaN or infinite samples */
} mrxcl_status;

/* The name of a status code, e.g. "model file is malformed". Never NULL. */
MRXCL_API const char *mrxcl_strerror(int status);
/* "MAJOR.MINOR.PATCH" */
MRXCL_API const char *mrxcl_version(void);

/* ---- logging ----------------------------------------------------------------- */
typedef enum mrxcl_log_level {
    MRXCL_LOG_ERROR = 0,
    MRXCL_LOG_WARN = 1,
    MRXCL_LOG_INFO = 2,
    MRXCL_LOG_DEBUG = 3
} mrxcl_log_level;

/* Called with a complete message (no trailing newline). Process-wide; set it before
 * creating objects. NULL (the default) discards log messages. */
typedef void (*mrxcl_log_callback)(mrxcl_log_level level, const char *message, void *user_data);
MRXCL_API void mrxcl_log_set(mrxcl_log_callback callback, void *user_data);

/* ---- model ------------------------------------------------------------------- */
#define MRXCL_MAX_RESOLUTIONS 8
#define MRXCL_MAX_SOURCES 8
#define MRXCL_MAX_NAME 32

typedef struct mrxcl_model mrxcl_model;

/* What mrxcl_separate_stream() and mrxcl_consistency_apply() do with the residual, the
 * input less the sum of the stems (docs/network.md, "Around the network"). */
typedef enum mrxcl_consistency {
    MRXCL_CONSISTENCY_PASS = 0,
    MRXCL_CONSISTENCY_ALL = 1,
    MRXCL_CONSISTENCY_MUSIC_SFX = 2,
    MRXCL_CONSISTENCY_MODEL = 3 /* the model's own (mrxcl_model_info.consistency) */
} mrxcl_consistency;

typedef struct mrxcl_model_info {
    int sample_rate;                            /* rate the network runs at */
    int hop;                                    /* STFT hop, the same for every resolution */
    int n_resolutions;
    int window_lengths[MRXCL_MAX_RESOLUTIONS];  /* STFT window (= FFT) length per resolution */
    int hidden;                                 /* encoder width; BiLSTM output width */
    int lstm_layers;
    int n_sources;
    char source_names[MRXCL_MAX_SOURCES][MRXCL_MAX_NAME]; /* output order */
    size_t n_parameters;                        /* learned: weights, biases, BatchNorm affine */
    size_t n_statistics;                        /* BatchNorm running means, variances, counters */
    /* The consistency the model was scored with and is meant to be used with: the file's
     * optional metadata "consistency" (pass, all or music_sfx); PASS when it has none. */
    mrxcl_consistency consistency;
} mrxcl_model_info;

/* Load a safetensors model (see README: tensor names, metadata). On failure returns
 * NULL, sets *status (if status is not NULL), and mrxcl_last_error(NULL) says why. */
MRXCL_API mrxcl_model *mrxcl_model_load_file(const char *path, int *status);
/* The same from a buffer the caller owns; the buffer is not referenced after return. */
MRXCL_API mrxcl_model *mrxcl_model_load_memory(const void *data, size_t size, int *status);
/* The default model built into the library (models/default.safetensors at build
 * time). Without one, returns NULL with MRXCL_ERR_UNSUPPORTED. */
MRXCL_API mrxcl_model *mrxcl_model_load_default(int *status);
/* 1 if this build carries a default model, else 0. */
MRXCL_API int mrxcl_has_default_model(void);
MRXCL_API void mrxcl_model_free(mrxcl_model *model);
MRXCL_API int mrxcl_model_get_info(const mrxcl_model *model, mrxcl_model_info *info);

/* ---- devices ----------------------------------------------------------------- */
typedef struct mrxcl_device_desc {
    int index;             /* global index across platforms, as mrxcl_context_params.device_index */
    char platform[128];
    char name[128];
    char version[64];
    int is_gpu;
    size_t global_memory;  /* bytes */
} mrxcl_device_desc;

/* Lists OpenCL devices. Writes at most max entries and sets *count to the total;
 * devices may be NULL (with max 0) to ask for the count alone. Returns
 * MRXCL_ERR_NO_DEVICE when there is no OpenCL platform or device at all. */
MRXCL_API int mrxcl_list_devices(mrxcl_device_desc *devices, int max, int *count);

/* ---- context ----------------------------------------------------------------- */
typedef struct mrxcl_context mrxcl_context;

typedef struct mrxcl_context_params {
    /* Device choice, first that applies: device_index >= 0; device_name (a
     * case-insensitive substring of "platform device"); the MRXCL_DEVICE environment
     * variable (an index or a substring); the first GPU; the first device. */
    int device_index;          /* default -1 */
    const char *device_name;   /* default NULL */
    /* Read kernels from this directory's .cl files instead of the embedded copies
     * (for kernel development). Default NULL. */
    const char *kernel_dir;
    /* CLBlast's GEMM kernels are tuned per device (mrxcl_tune_gemm). 1 (default): a
     * device whose GEMMs go through CLBlast and that has no cache entry (a GPU the first
     * time) gets a short tune (about a minute), which is cached and said at WARN level;
     * the environment's MRXCL_TUNE=off stops it too. 0: never. */
    int auto_tune;
} mrxcl_context_params;

MRXCL_API mrxcl_context_params mrxcl_context_default_params(void);

/* Picks the device, builds the kernels, uploads the model. NULL on failure, with
 * *status set; mrxcl_last_error(NULL) and, for a failed kernel build,
 * mrxcl_build_log(NULL) say why. */
MRXCL_API mrxcl_context *mrxcl_context_create(const mrxcl_model *model,
                                              const mrxcl_context_params *params, int *status);
MRXCL_API void mrxcl_context_free(mrxcl_context *ctx);

/* The device in use. */
MRXCL_API int mrxcl_context_device(const mrxcl_context *ctx, mrxcl_device_desc *desc);
MRXCL_API int mrxcl_context_get_info(const mrxcl_context *ctx, mrxcl_model_info *info);

/* The last error message on ctx ("" if none); ctx NULL: the calling thread's last
 * failed load or create. Valid until the next call on the same object or thread. */
MRXCL_API const char *mrxcl_last_error(const mrxcl_context *ctx);
/* The OpenCL program build log of the calling thread's last failed mrxcl_context_create
 * (pass NULL; a context that exists built its program, and this returns NULL for it). */
MRXCL_API const char *mrxcl_build_log(const mrxcl_context *ctx);
/* The last OpenCL (or clFFT/CLBlast) error code seen on ctx, 0 if none. */
MRXCL_API int mrxcl_last_cl_error(const mrxcl_context *ctx);
/* Seconds ctx has spent compiling OpenCL programs so far: its own kernels (when it was
 * created) and clFFT's (when FFT plans are made: at the first separation, and again when
 * the number of STFT frames changes). A driver with a program cache (PoCL) makes these
 * short after the first run. CLBlast compiles its GEMM kernels inside the first
 * separation, which this does not count. 0 for NULL. */
MRXCL_API double mrxcl_context_build_seconds(const mrxcl_context *ctx);

/* ---- tuning -------------------------------------------------------------------- */
/* Tunes CLBlast's GEMM kernel (Xgemm) for ctx's device, trying `fraction` (0, 1] of its
 * search space on a square GEMM of `size` a side (a multiple of 128; 0: as large as the
 * GEMM the model runs most, the LSTM input projections, within 128 to 1024), and keeps the best parameters in a per-device cache
 * ($XDG_CACHE_HOME/mrxcl/clblast/, else ~/.cache/mrxcl/clblast/; one JSON file keyed by
 * platform, device name, driver version and CLBlast version), which every later context
 * on that device uses; ctx uses them from now on. Each configuration tried costs a
 * kernel build and a run: 0.005 is minutes on a GPU. On CPU devices the GEMMs go through
 * the host BLAS where the build has one, and the cache only serves MRXCL_GEMM=clblast. */
typedef struct mrxcl_tune_result {
    double seconds;          /* the tuner's time */
    size_t m, n, k;          /* the GEMM it tuned on */
    char cache_path[4096];
    char parameters[512];    /* "GEMMK=0 KREG=1 ..." */
} mrxcl_tune_result;
MRXCL_API int mrxcl_tune_gemm(mrxcl_context *ctx, double fraction, size_t size,
                               mrxcl_tune_result *result);

/* ---- separation -------------------------------------------------------------- */
/* Separates `channels` planar channels of `frames` samples at `sample_rate` Hz
 * (resampled to the model's rate and back with libsoxr when they differ). Channels
 * are independent. output[s * channels + c] receives source s of channel c,
 * `frames` samples, in the model's source order; the caller owns every buffer.
 * frames >= 1. */
MRXCL_API int mrxcl_separate(mrxcl_context *ctx, const float *const *input, int channels,
                             size_t frames, int sample_rate, float *const *output);

/* Mixture consistency on stems that mrxcl_separate() made of input: shares the residual
 * (input minus the sum of the stems) as mrxcl_stream_params.consistency describes below
 * (MODEL: the context's model's mode; PASS changes nothing), in place. input and stems
 * are laid out as mrxcl_separate()'s input and output, `frames` samples each.
 * MRXCL_ERR_INVALID_ARGUMENT for NULL buffers, channels < 1, an unknown mode, or
 * MUSIC_SFX on a model without sources named music and sfx. */
MRXCL_API int mrxcl_consistency_apply(mrxcl_context *ctx, mrxcl_consistency mode,
                                      const float *const *input, int channels, size_t frames,
                                      float *const *stems);

/* ---- long inputs: separation in pieces, through callbacks ---------------------- */
/* A film does not fit a device as one sequence, and need not fit host memory either:
 * mrxcl_separate_stream() reads the input in order through `read`, separates it in
 * pieces of piece_seconds that overlap by overlap_seconds, cross-fades neighbouring
 * pieces with weights sin^2(pi/2 (i + 0.5) / overlap) and 1 minus that (they sum to one),
 * and hands each stretch of every stem to `write` as soon as it is final. It holds a batch
 * of pieces of input and of output per stage of its pipeline and one overlap, whatever
 * the input's length. piece_seconds 0
 * (or a piece no shorter than the input) separates the input whole, as the authors do.
 *
 * Before the network the input is multiplied by input_gain, and the stems are divided by
 * it after: the network was trained on mixtures at -27 LUFS (BS.1770), and the mrxcl
 * command brings every input there (10^((-27 - input LUFS) / 20); libebur128 measures the
 * loudness in a first pass). consistency shares what the stems leave of the mixture
 * (input minus their sum) equally among all of them (ALL: the stems then sum to the
 * input) or among the sources named music and sfx (MUSIC_SFX), before the gain is undone;
 * PASS (as the authors' script) leaves the network's output as it is. MODEL (the default)
 * takes the mode the model file names (mrxcl_model_info.consistency: PASS for a file that
 * names none, as converted checkpoints of the authors). */

typedef struct mrxcl_stream_params {
    double piece_seconds;          /* 30; 0: whole */
    double overlap_seconds;        /* 2; at most half a piece */
    float input_gain;              /* 1; > 0 */
    mrxcl_consistency consistency; /* MODEL */
    /* 0: `write` receives each source. 1: a remix: `write` receives one signal, as
     * source MRXCL_SOURCE_REMIX, the input plus (source_gains[s] - 1) times each source
     * s. Where the stems sum to the input (consistency ALL) that is the sum of the
     * sources times their gains; what no source holds (PASS's residual, and what lies
     * above the model's band when the input's rate is higher) keeps its level; with
     * every gain 1 the input comes back unchanged, bit for bit. */
    int remix;                                 /* 0 */
    float source_gains[MRXCL_MAX_SOURCES];     /* linear, finite, >= 0 (0 mutes); all 1 */
    /* Pieces per device batch: the network runs `batch` pieces x channels as one batch
     * (the stems are the same, bit for bit, whatever the batch: the rows are independent).
     * 0 (default): on a GPU as many as keep every compute unit busy (four LSTM
     * sequences a unit), on a CPU one piece; at most what fits max_memory. A batch
     * that cannot fit is refused (MRXCL_ERR_DEVICE_MEMORY), saying what would fit. */
    int batch;
    /* Device memory a batch's activations may take, bytes. 0 (default): 3/4 of the
     * device's global memory less the weights, with no buffer over its largest
     * allocation. */
    size_t max_memory;
    /* 1 (default): reading, the host's work before and after the device (input gain,
     * resampling, mixture consistency), the device and writing run at once, on three
     * threads, each on its own batch (up to three batches in flight): `read` is then
     * called on one thread, `write` and `progress` on another, each in order and never
     * twice at once. 0: every callback on the caller's thread, one batch after another. */
    int pipeline;
} mrxcl_stream_params;

/* Where the last mrxcl_separate_stream() on a context spent its time (seconds summed per
 * stage; in a pipeline the stages overlap, so their sum exceeds the wall time) and how it
 * ran. */
typedef struct mrxcl_stream_stats {
    int batch;               /* pieces per batch */
    size_t pieces, batches;
    double read_seconds;     /* in the read callback */
    double prepare_seconds;  /* input gain and resampling to the model's rate */
    double device_seconds;   /* the network on the device: upload, kernels, read back */
    double finish_seconds;   /* resampling back, consistency, checks */
    double write_seconds;    /* cross-fades, remix and the write callback */
    double wall_seconds;     /* the whole call */
    size_t device_bytes;     /* the context's device memory: weights and activations */
} mrxcl_stream_stats;
/* The stats of the last stream on ctx; MRXCL_ERR_INVALID_ARGUMENT when there was none. */
MRXCL_API int mrxcl_stream_stats_get(const mrxcl_context *ctx, mrxcl_stream_stats *stats);

/* The `source` that mrxcl_stream_params.remix's single output is written as. */
#define MRXCL_SOURCE_REMIX (-1)

MRXCL_API mrxcl_stream_params mrxcl_stream_default_params(void);

/* The pieces params make of `frames` frames at sample_rate: their count, the frames of a
 * piece (the last may be shorter) and of an overlap. MRXCL_ERR_INVALID_ARGUMENT (with
 * mrxcl_last_error(NULL) saying why) for a negative or non-finite length, or an overlap
 * longer than half a piece once both are rounded to frames. */
typedef struct mrxcl_stream_plan {
    size_t pieces;
    size_t piece_frames;
    size_t overlap_frames;
} mrxcl_stream_plan;
MRXCL_API int mrxcl_stream_plan_get(const mrxcl_stream_params *params, size_t frames,
                                    int sample_rate, mrxcl_stream_plan *plan);

/* Callbacks return 0 on success, anything else to stop the separation (which then
 * returns MRXCL_ERR_CALLBACK and calls no callback again).
 * read: the next `frames` frames of the input, channel c into channel[c].
 * write: the next `frames` final frames of source s (MRXCL_SOURCE_REMIX for a remix),
 *        channel c in channel[c].
 * progress (may be NULL): after each piece, the frames separated so far and in all.
 * With mrxcl_stream_params.pipeline (the default), read runs on one thread and write and
 * progress on another, at the same time. */
typedef int (*mrxcl_read_callback)(void *user_data, float *const *channel, size_t frames);
typedef int (*mrxcl_write_callback)(void *user_data, int source, const float *const *channel,
                                    size_t frames);
typedef void (*mrxcl_progress_callback)(void *user_data, size_t frames_done,
                                        size_t frames_total);

/* Separates `frames` frames of `channels` channels at `sample_rate` Hz (params NULL: the
 * defaults). Every frame is read once and every frame of every source written once, in
 * order; on failure the stems written so far are incomplete. A NaN or infinite output
 * sample stops it with MRXCL_ERR_NONFINITE before that piece is written. */
MRXCL_API int mrxcl_separate_stream(mrxcl_context *ctx, const mrxcl_stream_params *params,
                                    int channels, size_t frames, int sample_rate,
                                    mrxcl_read_callback read, mrxcl_write_callback write,
                                    mrxcl_progress_callback progress, void *user_data);

#ifdef __cplusplus
}
#endif

#endif /* MRXCL_H */
