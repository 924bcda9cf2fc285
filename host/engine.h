/* The context: device, kernels, weights on the device, activation buffers, FFT plans. */
#ifndef MRXCL_ENGINE_H
#define MRXCL_ENGINE_H

#include <clFFT.h>

#include "internal.h"

enum {
    K_FRAME,
    K_MAGNITUDE,
    K_APPLY_MASK,
    K_OVERLAP_ADD,
    K_ENCODER_COMBINE,
    K_BRANCH_AVERAGE,
    K_BIAS_RELU,
    K_LSTM,
    K_COUNT
};

/* Activations for one forward pass of B channels x L samples, T = 1 + L/hop frames,
 * rows = B*T. Grown when a larger input comes, never shrunk. */
typedef struct mrxcl_acts {
    size_t rows, L_B; /* capacities: frame rows, and channels x samples */
    cl_mem x;         /* [B][L] input */
    cl_mem out;       /* [S][B][L] stems */
    cl_mem frames;    /* [rows][Nmax] windowed frames, forward and inverse */
    cl_mem X[MRXCL_MAX_RESOLUTIONS]; /* [rows][F_r] complex spectra, kept for the masks */
    cl_mem mag;       /* [rows][Fmax] magnitudes, then the decoders' masks */
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
    size_t lstm_local;
    int profile; /* MRXCL_PROFILE set: log stage times */

    /* weights on the device */
    cl_mem window[MRXCL_MAX_RESOLUTIONS]; /* periodic Hann, N_r */
    cl_mem enc_w[MRXCL_MAX_RESOLUTIONS];  /* [hidden][F_r], BatchNorms folded */
    cl_mem enc_b;                         /* [R][hidden] */
    cl_mem *lstm_wih;                     /* per layer: [S][8H][hidden] */
    cl_mem *lstm_whh_t;                   /* per layer: [S][2][H][4H] */
    cl_mem *lstm_bias;                    /* per layer: [S][2][4H] */
    cl_mem dec1_w, dec1_b;                /* [S*R*hidden][2*hidden], [S*R*hidden] */
    cl_mem *dec2_w, *dec2_b;              /* per (s, r): [F_r][hidden], [F_r] */

    mrxcl_acts a;

    /* clFFT plans for the current number of rows */
    clfftPlanHandle fft_fwd[MRXCL_MAX_RESOLUTIONS];
    clfftPlanHandle fft_inv[MRXCL_MAX_RESOLUTIONS];
    size_t fft_rows;
    int fft_ready;
    int fft_setup; /* this context holds a clfftSetup reference */

    char error[MRXCL_MSG_MAX];
    int last_cl_error;
};

/* forward.c: the network on B channels of L samples already at the model's rate.
 * x is B planar channels; out[s * B + b] receives L samples each. */
int mrxcl_forward(mrxcl_context *ctx, const float *const *x, int B, size_t L, float *const *out);
void mrxcl_acts_release(mrxcl_acts *a, int R);
/* Makes the activation buffers hold at least rows frame rows and L_B samples. */
int mrxcl_acts_ensure(mrxcl_context *ctx, size_t rows, size_t L_B);

/* stft.c */
int mrxcl_fft_setup(void);
void mrxcl_fft_teardown(void);
int mrxcl_fft_plans(mrxcl_context *ctx, size_t rows);
void mrxcl_fft_release(mrxcl_context *ctx);
int mrxcl_stft(mrxcl_context *ctx, int r, int B, int L, int T);
/* Inverse STFT of the masked spectrum for source s, resolution r, added into out. */
int mrxcl_istft_add(mrxcl_context *ctx, int s, int r, int B, int L, int T);

/* lstm.c: the BiLSTM branches on D's left half, the branch average into its right half. */
int mrxcl_bilstm(mrxcl_context *ctx, size_t rows, int B, int T);

/* helpers shared by the three */
/* With MRXCL_PROFILE: waits for the device and returns a monotonic time; else 0. */
double mrxcl_profile_clock(mrxcl_context *ctx);
int mrxcl_cl_check(mrxcl_context *ctx, cl_int err, const char *what);
int mrxcl_launch(mrxcl_context *ctx, int kernel, size_t g0, size_t g1, const char *what);
int mrxcl_gemm_nt(mrxcl_context *ctx, size_t M, size_t N, size_t K, cl_mem A, size_t a_off,
                  size_t lda, cl_mem Bm, size_t b_off, size_t ldb, cl_mem C, size_t c_off, size_t ldc,
                  const char *what);

/* Sets kernel arguments in order; returns the first error. */
#define KARG(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))

#endif
