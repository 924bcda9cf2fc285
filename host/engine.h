/* The context: device, kernels, weights on the device, activation buffers, FFT plans;
 * and the stages of the forward pass, one file each, in the order the data flows. */
#ifndef MRXCL_ENGINE_H
#define MRXCL_ENGINE_H

#include <clFFT.h>

#include "clutil.h"
#include "internal.h"

/* Activations for one forward pass of B channels x L samples, T = 1 + L/hop frames,
 * rows = B*T. Grown when a larger input comes, never shrunk. */
typedef struct mrxcl_acts {
    size_t rows, L_B; /* capacities: frame rows, and channels x samples */
    cl_mem x;         /* [B][L] input */
    cl_mem out;       /* [S][B][L] stems */
    cl_mem frames;    /* [rows][Nmax] windowed frames, forward and inverse */
    cl_mem X[MRXCL_MAX_RESOLUTIONS]; /* [rows][F_r] complex spectra, kept for the masks */
    /* [rows][Fmax], one buffer under two names: the magnitudes of one resolution while
     * the encoders read them, then the decoders' mask (before its bias and ReLU) for one
     * (source, resolution). The magnitudes are dead by the time the first mask is made. */
    union {
        cl_mem mag;
        cl_mem mask;
    };
    cl_mem spec;      /* [rows][Fmax] complex, masked spectra */
    cl_mem E;         /* [R][rows][hidden] encoder GEMM outputs */
    cl_mem D;         /* [rows][2*hidden]  [C1, C2] */
    cl_mem gx;        /* [S][rows][8H] LSTM input projections */
    cl_mem y[2];      /* [S][rows][hidden] LSTM layer outputs, ping-pong */
    cl_mem Z;         /* [rows][S*R*hidden] decoders' hidden layers */
} mrxcl_acts;

struct mrxcl_context {
    mrxcl_cl cl;
    mrxcl_model_info info;
    cl_kernel k[K_COUNT];
    size_t lstm_local;       /* work-items per group of lstm_recurrence */
    size_t lstm_local_block; /* ... of lstm_recurrence_block */
    int lstm_block;          /* LSTM_BLOCK, sequences per group of lstm_recurrence_block */
    int lstm_block_from;     /* B (channels) from which the recurrence takes it; 0: never */
    int profile; /* MRXCL_PROFILE set: log stage times */
    int gemm_host; /* GEMMs through the host BLAS on mapped buffers (CPU devices), else CLBlast */
    mrxcl_gemm_stat gemm_prof[MRXCL_GEMM_LABELS]; /* with profile: per GEMM label, this pass */
    double build_seconds; /* spent compiling OpenCL programs: ours and clFFT's */

    /* weights on the device (weights.c) */
    cl_mem window[MRXCL_MAX_RESOLUTIONS]; /* periodic Hann, N_r */
    cl_mem enc_w[MRXCL_MAX_RESOLUTIONS];  /* [hidden][F_r], BatchNorms folded */
    cl_mem enc_b;                         /* [R][hidden] */
    cl_mem *lstm_wih;                     /* per layer: [S][8H][hidden] */
    cl_mem *lstm_whh_t;                   /* per layer: [S][2][H][4H] */
    cl_mem *lstm_bias;                    /* per layer: [S][2][4H] */
    cl_mem dec1_w, dec1_b;                /* [S*R*hidden][2*hidden], [S*R*hidden] */
    cl_mem *dec2_w, *dec2_b;              /* per (s, r): [F_r][hidden], [F_r] */

    mrxcl_acts a;
    size_t weights_bytes; /* uploaded weights and windows */
    mrxcl_stream_stats stream_stats; /* the last mrxcl_separate_stream's */
    int have_stream_stats;

    /* The FFTs (stft.c): on CPU devices whose memory is the host's, KissFFT on mapped
     * buffers, a thread per processor; else clFFT plans for the current number of rows. */
    int fft_host;
    int fft_threads;                    /* host path: threads over the frame rows */
    struct kiss_fftr_state **fft_kiss;  /* host path: [thread][resolution][fwd, inv] */
    double fft_prof[2];                 /* with profile: seconds in forward, inverse FFTs */
    int fft_prof_calls[2];
    clfftPlanHandle fft_fwd[MRXCL_MAX_RESOLUTIONS];
    clfftPlanHandle fft_inv[MRXCL_MAX_RESOLUTIONS];
    size_t fft_rows;
    int fft_ready;
    int fft_setup; /* this context holds a clfftSetup reference */

    char error[MRXCL_MSG_MAX];
    int last_cl_error;
};

/* ---- around the network ------------------------------------------------------------ */

/* forward.c: the network on B channels of L samples already at the model's rate.
 * x is B planar channels; out[s * B + b] receives L samples each. */
int mrxcl_forward(mrxcl_context *ctx, const float *const *x, int B, size_t L, float *const *out);

/* activations.c: makes the activation buffers hold at least rows frame rows and L_B
 * samples; releases them. */
int mrxcl_acts_ensure(mrxcl_context *ctx, size_t rows, size_t L_B);
void mrxcl_acts_release(mrxcl_acts *a, int R);
/* The bytes the activations of rows frame rows and L_B samples take on the device, and in
 * *largest (may be NULL) those of the largest single buffer. */
size_t mrxcl_acts_bytes(const mrxcl_model_info *in, size_t rows, size_t L_B, size_t *largest);

/* status.c: copies the thread's last error onto the context, where mrxcl_last_error()
 * finds it, when rc is not MRXCL_OK; returns rc. */
int mrxcl_keep_error(mrxcl_context *ctx, int rc);
/* context.c: MRXCL_ERR_INVALID_ARGUMENT, naming it, for a NULL among the channels planes
 * of input and the channels x n_sources planes of stems ("output buffer", ...). */
int mrxcl_check_planes(const mrxcl_context *ctx, const float *const *input, int channels,
                       float *const *stems, const char *stems_name);

/* weights.c: the model's weights and the STFT windows onto the device, and back off. */
int mrxcl_weights_upload(mrxcl_context *ctx, const mrxcl_model *model);
void mrxcl_weights_release(mrxcl_context *ctx);

/* resample.c: mrxcl_forward at another sample rate, through libsoxr both ways. */
int mrxcl_separate_resampled(mrxcl_context *ctx, const float *const *input, int C, size_t frames,
                             int rate, float *const *output);
/* rows rows of in_len samples from `from` Hz to `to` Hz, on a thread per processor. With
 * fit 0: into out of out_cap samples each, *out_len receiving the rows' common length
 * (MRXCL_ERR_RESAMPLE if they differ); with fit > 0, every row exactly fit samples (cut,
 * or padded with zeros). */
int mrxcl_resample_rows(const float *const *in, int rows, size_t in_len, double from, double to,
                        float *const *out, size_t out_cap, size_t fit, size_t *out_len);
/* Samples enough for `frames` frames resampled from `from` to `to` Hz. */
size_t mrxcl_resampled_cap(size_t frames, double from, double to);

/* consistency.c: which sources take a share of the residual (input minus the sum of the
 * stems), from a mode (MODEL: the model's own); MRXCL_ERR_INVALID_ARGUMENT for an unknown
 * mode or MUSIC_SFX on a model without sources named music and sfx. */
typedef struct mrxcl_residual_share {
    int n_sources;
    int takes[MRXCL_MAX_SOURCES];
    int n_takers; /* 0: the stems are left as they are */
} mrxcl_residual_share;
int mrxcl_consistency_resolve(const mrxcl_model_info *info, mrxcl_consistency mode,
                              mrxcl_residual_share *share);
/* Adds each taker's share of the residual to its stems, in place (stems as
 * mrxcl_separate's output). */
void mrxcl_consistency_share(const mrxcl_residual_share *share, const float *const *input,
                             int channels, size_t frames, float *const *stems);

/* ---- the stages, in the order the data flows (docs/network.md steps 1-8) -------------- */

/* stft.c, step 1: the FFT path for the device (host KissFFT on CPU devices whose memory is
 * the host's, else clFFT; MRXCL_FFT=host|clfft overrides), FFT plans (clFFT: one batched
 * plan per resolution and direction, baked once per number of frame rows; host: one
 * KissFFT state per thread, resolution and direction), and resolution r's STFT of the
 * input into X[r] and its magnitudes into mag. */
int mrxcl_fft_choose(mrxcl_context *ctx);
int mrxcl_fft_setup(void);
void mrxcl_fft_teardown(void);
int mrxcl_fft_plans(mrxcl_context *ctx, size_t rows);
void mrxcl_fft_release(mrxcl_context *ctx);
/* With profile: logs the FFTs' time in this pass and resets it. */
void mrxcl_fft_profile_report(mrxcl_context *ctx);
int mrxcl_stft(mrxcl_context *ctx, int r, int B, int L, int T);

/* encoder.c, steps 2-3: resolution r's encoder GEMM on mag into E[r]; then every
 * encoder's bias and tanh, averaged over resolutions into D's left half (C1). */
int mrxcl_encoder(mrxcl_context *ctx, int r, size_t rows);
int mrxcl_encoders_average(mrxcl_context *ctx, size_t rows);

/* lstm.c, steps 4-5: the BiLSTM branches on C1, the last layer's output in y[(layers-1)
 * % 2]; then their average into D's right half (C2). */
int mrxcl_bilstm(mrxcl_context *ctx, size_t rows, int B, int T);
/* One layer's recurrence on the input projections in gx, into dst; through
 * lstm_recurrence_block when B >= ctx->lstm_block_from > 0, else lstm_recurrence. */
int mrxcl_lstm_recurrence(mrxcl_context *ctx, int layer, cl_mem dst, int B, int T);
int mrxcl_branches_average(mrxcl_context *ctx, size_t rows);

/* decoder.c, step 6: every decoder's hidden layer on D into Z; then decoder (s, r)'s
 * output layer into mask (its bias and ReLU are the mask step's). */
int mrxcl_decoders_hidden(mrxcl_context *ctx, size_t rows);
int mrxcl_decoder_mask(mrxcl_context *ctx, int s, int r, size_t rows);

/* mask.c, step 6: spec = relu(mask + bias of decoder (s, r)) * X[r]. */
int mrxcl_mask_apply(mrxcl_context *ctx, int s, int r, size_t rows);

/* stft.c, steps 7-8: the inverse STFT of spec at resolution r with overlap-add into
 * source s's stems; resolution 0 writes them, later ones add (the sum over resolutions). */
int mrxcl_istft_add(mrxcl_context *ctx, int s, int r, int B, int L, int T);

#endif
