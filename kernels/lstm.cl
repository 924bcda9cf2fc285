/* The recurrence of the BiLSTM branches (docs/network.md step 4). The input projections
 * W_ih x_t for every step are one GEMM beforehand; what remains is sequential in t.
 *
 * One work-group runs one (branch s, direction d, channel b) sequence from its first
 * step to its last: sequences are independent, so no step needs a global barrier and
 * the whole layer is a single launch. h lives in local memory, double-buffered so that
 * each step needs one barrier; each work-item owns groups of LSTM_VEC consecutive units
 * q = lid, lid + lsize, ... and keeps their c in local memory too.
 *
 * LSTM_VEC (a -D define, 1, 4, 8 or 16; host/context.c picks it): units per group. With
 * 4 or more, weight rows are read 16 to 64 bytes at a time and the arithmetic is explicit
 * SIMD, which CPU devices (PoCL) turn into vector code far more reliably than a scalar
 * kernel (see bench/README.md for the measurement), and which saves load instructions on
 * GPUs. CPU devices get the widest H allows (16: one AVX-512 register), GPUs 4.
 *
 * lstm_recurrence_block (below) runs LSTM_BLOCK sequences of one (branch, direction) per
 * work-group instead, so that each weight it loads serves LSTM_BLOCK sequences.
 *
 * gx    [S][B*T][8H]  W_ih x_t, forward gates in columns 0..4H-1, backward 4H..8H-1
 * whh_t [S][2][H][4H] recurrent weights transposed: row k holds the 4H gate weights of
 *                     h[k], so neighbouring work-items read neighbouring addresses
 * bias  [S][2][4H]    b_ih + b_hh
 * y     [S][B*T][2H]  [h_fwd_t, h_bwd_t]
 * Gate order i, f, g, o as in PyTorch. */
#ifndef LSTM_VEC
#define LSTM_VEC 1
#endif
#if LSTM_VEC == 4
typedef float4 vec_t;
#define VLOAD(q, p) vload4((q), (p))
#define VSTORE(v, q, p) vstore4((v), (q), (p))
#define VSPLAT(x) ((float4)(x))
#elif LSTM_VEC == 8
typedef float8 vec_t;
#define VLOAD(q, p) vload8((q), (p))
#define VSTORE(v, q, p) vstore8((v), (q), (p))
#define VSPLAT(x) ((float8)(x))
#elif LSTM_VEC == 16
typedef float16 vec_t;
#define VLOAD(q, p) vload16((q), (p))
#define VSTORE(v, q, p) vstore16((v), (q), (p))
#define VSPLAT(x) ((float16)(x))
#elif LSTM_VEC == 1
typedef float vec_t;
#define VLOAD(q, p) ((p)[q])
#define VSTORE(v, q, p) ((p)[q] = (v))
#define VSPLAT(x) (x)
#else
#error "LSTM_VEC must be 1, 4, 8 or 16"
#endif

__kernel void lstm_recurrence(__global const float *gx, __global const float *whh_t,
                              __global const float *bias, __global float *y, int T, int H, int B,
                              __local float *h_buf /* 2*H */, __local float *c_buf /* H */)
{
    int g = get_group_id(0);
    int b = g % B, sd = g / B; /* sd = s * 2 + d */
    int d = sd % 2, s = sd / 2;
    int lid = get_local_id(0), lsize = get_local_size(0);
    int G = 4 * H, HV = H / LSTM_VEC;
    __global const float *W = whh_t + (size_t)sd * H * G;
    __global const float *bi = bias + (size_t)sd * G;
    size_t seq = ((size_t)s * B + b) * T; /* first row of this sequence */

    for (int j = lid; j < H; j += lsize) {
        h_buf[j] = 0.0f;
        c_buf[j] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    int cur = 0;
    for (int step = 0; step < T; step++) {
        int t = d ? T - 1 - step : step;
        __global const float *gr = gx + (seq + t) * (size_t)(2 * G) + (size_t)d * G;
        __local const float *h = h_buf + cur * H;
        for (int q = lid; q < HV; q += lsize) {
            vec_t gi = VLOAD(q, gr) + VLOAD(q, bi);
            vec_t gf = VLOAD(q, gr + H) + VLOAD(q, bi + H);
            vec_t gg = VLOAD(q, gr + 2 * H) + VLOAD(q, bi + 2 * H);
            vec_t go = VLOAD(q, gr + 3 * H) + VLOAD(q, bi + 3 * H);
            __global const float *w = W;
            for (int k = 0; k < H; k++, w += G) {
                vec_t hk = VSPLAT(h[k]);
                gi = fma(VLOAD(q, w), hk, gi);
                gf = fma(VLOAD(q, w + H), hk, gf);
                gg = fma(VLOAD(q, w + 2 * H), hk, gg);
                go = fma(VLOAD(q, w + 3 * H), hk, go);
            }
            vec_t i_ = 1.0f / (1.0f + exp(-gi));
            vec_t f_ = 1.0f / (1.0f + exp(-gf));
            vec_t o_ = 1.0f / (1.0f + exp(-go));
            vec_t c = f_ * VLOAD(q, c_buf) + i_ * tanh(gg);
            vec_t hn = o_ * tanh(c);
            VSTORE(c, q, c_buf);
            VSTORE(hn, q, h_buf + (1 - cur) * H);
            VSTORE(hn, q, y + (seq + t) * (size_t)(2 * H) + (size_t)d * H);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        cur = 1 - cur;
    }
}

/* The same recurrence for LSTM_BLOCK (a -D define, 2 to 8) sequences at once: one
 * work-group per (branch s, direction d, block of LSTM_BLOCK channels). All sequences of
 * a step are one product [LSTM_BLOCK x H] x [H x 4H]; here each work-item loads a weight
 * vector once per step and multiplies it into the gates of every sequence of its block,
 * so the weights cross the memory hierarchy B / LSTM_BLOCK times per step instead of B
 * times. The price: LSTM_BLOCK times the accumulators (4 x LSTM_BLOCK vec_t per
 * work-item, which must stay in registers) and fewer work-groups. host/context.c decides
 * where it pays (bench/README.md has the figures).
 *
 * A last block that B does not fill repeats channel B-1 in its empty places and writes
 * nothing for them, so the inner loops keep a fixed trip count.
 *
 * h_buf [2][LSTM_BLOCK][H] double-buffered as above; c_buf [LSTM_BLOCK][H]. */
#ifndef LSTM_BLOCK
#define LSTM_BLOCK 4
#endif
#if LSTM_BLOCK < 2 || LSTM_BLOCK > 8
#error "LSTM_BLOCK must be 2 to 8"
#endif
#define SB LSTM_BLOCK

__kernel void lstm_recurrence_block(__global const float *gx, __global const float *whh_t,
                                    __global const float *bias, __global float *y, int T, int H,
                                    int B, __local float *h_buf /* 2*SB*H */,
                                    __local float *c_buf /* SB*H */)
{
    int nblk = (B + SB - 1) / SB;
    int g = get_group_id(0);
    int blk = g % nblk, sd = g / nblk; /* sd = s * 2 + d */
    int d = sd % 2, s = sd / 2;
    int lid = get_local_id(0), lsize = get_local_size(0);
    int G = 4 * H, HV = H / LSTM_VEC, j;
    __global const float *W = whh_t + (size_t)sd * H * G;
    __global const float *bi = bias + (size_t)sd * G;
    size_t seq[SB]; /* first row of each sequence of the block */
    int live[SB];

    #pragma unroll
    for (j = 0; j < SB; j++) {
        int b = blk * SB + j;
        live[j] = b < B;
        seq[j] = ((size_t)s * B + (b < B ? b : B - 1)) * T;
    }
    for (j = lid; j < SB * H; j += lsize) {
        h_buf[j] = 0.0f;
        c_buf[j] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    int cur = 0;
    for (int step = 0; step < T; step++) {
        int t = d ? T - 1 - step : step;
        __local const float *h = h_buf + cur * SB * H;
        __local float *hn_buf = h_buf + (1 - cur) * SB * H;
        for (int q = lid; q < HV; q += lsize) {
            vec_t gi[SB], gf[SB], gg[SB], go[SB];
            vec_t bii = VLOAD(q, bi), bif = VLOAD(q, bi + H);
            vec_t big = VLOAD(q, bi + 2 * H), bio = VLOAD(q, bi + 3 * H);
            #pragma unroll
            for (j = 0; j < SB; j++) {
                __global const float *gr = gx + (seq[j] + t) * (size_t)(2 * G) + (size_t)d * G;
                gi[j] = VLOAD(q, gr) + bii;
                gf[j] = VLOAD(q, gr + H) + bif;
                gg[j] = VLOAD(q, gr + 2 * H) + big;
                go[j] = VLOAD(q, gr + 3 * H) + bio;
            }
            __global const float *w = W;
            for (int k = 0; k < H; k++, w += G) {
                vec_t wi = VLOAD(q, w), wf = VLOAD(q, w + H);
                vec_t wg = VLOAD(q, w + 2 * H), wo = VLOAD(q, w + 3 * H);
                #pragma unroll
                for (j = 0; j < SB; j++) {
                    vec_t hk = VSPLAT(h[j * H + k]);
                    gi[j] = fma(wi, hk, gi[j]);
                    gf[j] = fma(wf, hk, gf[j]);
                    gg[j] = fma(wg, hk, gg[j]);
                    go[j] = fma(wo, hk, go[j]);
                }
            }
            #pragma unroll
            for (j = 0; j < SB; j++) {
                vec_t i_ = 1.0f / (1.0f + exp(-gi[j]));
                vec_t f_ = 1.0f / (1.0f + exp(-gf[j]));
                vec_t o_ = 1.0f / (1.0f + exp(-go[j]));
                vec_t c = f_ * VLOAD(q, c_buf + j * H) + i_ * tanh(gg[j]);
                vec_t hn = o_ * tanh(c);
                VSTORE(c, q, c_buf + j * H);
                VSTORE(hn, q, hn_buf + j * H);
                if (live[j])
                    VSTORE(hn, q, y + (seq[j] + t) * (size_t)(2 * H) + (size_t)d * H);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        cur = 1 - cur;
    }
}
