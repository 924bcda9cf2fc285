/* Internal declarations shared by the library's translation units. */
#ifndef MRXCL_INTERNAL_H
#define MRXCL_INTERNAL_H

#include <CL/cl.h>
#include <stddef.h>

#include "mrxcl.h"

#define MRXCL_BN_EPS 1e-5
#define MRXCL_MSG_MAX 1024

/* ---- errors and logging (status.c) --------------------------------------------- */

/* Formats a message, sends it to the log callback at level ERROR and stores it as the
 * calling thread's last error. Returns status, so that callers can `return mrxcl_fail(...)`. */
int mrxcl_fail(int status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void mrxcl_log(mrxcl_log_level level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* While quiet, mrxcl_fail() records messages without logging them: for callers that
 * add context to the message and log it once themselves. */
void mrxcl_fail_quiet(int quiet);
/* Stores `message` as the calling thread's last error without logging it (it was logged on
 * the thread where it happened: a worker's failure, handed back); returns status. */
int mrxcl_fail_recorded(int status, const char *message);
const char *mrxcl_thread_error(void);
void mrxcl_thread_error_clear(void);
/* The thread's build log of a failed create (owned by the thread, may be NULL). */
void mrxcl_thread_set_build_log(const char *log);
const char *mrxcl_thread_build_log(void);
const char *mrxcl_cl_strerror(cl_int err);

/* ---- host threads (parallel.c) ----------------------------------------------------- */

/* The processors online, 1 to 64. */
int mrxcl_processors(void);
/* Runs worker(arg) on min(max, processors) threads at once, the caller's among them
 * (max < 1: no bound), and returns when all have returned; fewer threads when no more
 * can be made. The workers share the work out themselves (a counter under a lock). */
void mrxcl_run_parallel(void *(*worker)(void *), void *arg, int max);

/* ---- model (model.c, safetensors.c) --------------------------------------------- */

/* The network's weights with every BatchNorm folded into its neighbouring linear
 * layer, laid out as the device wants them (row-major float32). */
typedef struct mrxcl_weights {
    /* encoder r: [hidden][F_r] and [hidden]; tanh follows */
    float *enc_w[MRXCL_MAX_RESOLUTIONS];
    float *enc_b[MRXCL_MAX_RESOLUTIONS];
    /* lstm, per source s and layer k: input weights of both directions stacked
     * [8H][in] (rows 0..4H-1 forward, 4H..8H-1 backward, gates i,f,g,o), summed
     * biases [2][4H], and the recurrent weights transposed [2][H][4H] so that a
     * work-item reading unit j's gates walks memory contiguously across j. */
    float **lstm_wih;   /* [S * layers] */
    float **lstm_bias;  /* [S * layers] */
    float **lstm_whh_t; /* [S * layers] */
    /* decoder first layers of every (s, r) stacked: [S*R*hidden][2*hidden], bias [S*R*hidden] */
    float *dec1_w;
    float *dec1_b;
    /* decoder second layer (s, r): [F_r][hidden], bias [F_r]; index s*R + r */
    float **dec2_w;
    float **dec2_b;
} mrxcl_weights;

struct mrxcl_model {
    mrxcl_model_info info;
    mrxcl_weights w;
};

/* A parsed safetensors file (safetensors.c). Tensors are widened to float32. */
typedef struct st_tensor {
    char *name;
    int ndim;
    long long shape[4];
    size_t numel;
    const unsigned char *data; /* into the file buffer */
    int dtype_size;            /* 2 (F16) or 4 (F32) */
    int used;
} st_tensor;

typedef struct st_file {
    st_tensor *tensors;
    int n_tensors;
    /* __metadata__ as parallel key/value arrays */
    char **meta_keys;
    char **meta_values;
    int n_meta;
} st_file;

int st_parse(const unsigned char *data, size_t size, st_file *out);
void st_free(st_file *f);
st_tensor *st_find(st_file *f, const char *name);
const char *st_meta(const st_file *f, const char *key);
/* Widens a tensor's values into dst (numel floats). */
void st_read_f32(const st_tensor *t, float *dst);

/* ---- device (device.c) ------------------------------------------------------------ */

typedef struct mrxcl_cl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    size_t max_wg;
    cl_ulong max_alloc; /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    mrxcl_device_desc desc;
} mrxcl_cl;

int mrxcl_cl_open(mrxcl_cl *cl, const mrxcl_context_params *params);
/* Builds the program from the embedded kernels (or kernel_dir's copies) with the
 * given -D options. On failure *build_log receives a malloc'd copy of the log. */
int mrxcl_cl_build(mrxcl_cl *cl, const char *kernel_dir, const char *options, char **build_log);
void mrxcl_cl_close(mrxcl_cl *cl);
/* blas_tuning.c: CLBlast's GEMM parameters for ctx's device (its cache entry, the CPU
 * set, or a short tune: the file's comment says which when); after mrxcl_gemm_choose. */
int mrxcl_blas_setup(mrxcl_context *ctx, int auto_tune);

/* Embedded kernel sources (generated at build time from kernels/ *.cl). */
typedef struct mrxcl_kernel_source {
    const char *name; /* file name, e.g. "stft.cl" */
    const char *text;
} mrxcl_kernel_source;
extern const mrxcl_kernel_source mrxcl_kernel_sources[];
extern const int mrxcl_kernel_source_count;

#endif
