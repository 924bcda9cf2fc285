/* The recurrence of the BiLSTM branches (MRX-SPEC step 4). The input projections
 * W_ih x_t for every step are one GEMM beforehand; what remains is sequential in t.
 *
 * One work-group runs one (branch s, direction d, channel b) sequence from its first
 * step to its last: sequences are independent, so no step needs a global barrier and
 * the whole layer is a single launch. h lives in local memory, double-buffered so that
 * each step needs one barrier; each work-item owns units j = lid, lid + lsize, ... and
 * keeps their c in local memory too.
 *
 * gx    [S][B*T][8H]  W_ih x_t, forward gates in columns 0..4H-1, backward 4H..8H-1
 * whh_t [S][2][H][4H] recurrent weights transposed: row k holds the 4H gate weights of
 *                     h[k], so work-items j read consecutive addresses
 * bias  [S][2][4H]    b_ih + b_hh
 * y     [S][B*T][2H]  [h_fwd_t, h_bwd_t]
 * Gate order i, f, g, o as in PyTorch. */
__kernel void lstm_recurrence(__global const float *gx, __global const float *whh_t,
                              __global const float *bias, __global float *y, int T, int H, int B,
                              __local float *h_buf /* 2*H */, __local float *c_buf /* H */)
{
    int g = get_group_id(0);
    int b = g % B, sd = g / B; /* sd = s * 2 + d */
    int d = sd % 2, s = sd / 2;
    int lid = get_local_id(0), lsize = get_local_size(0);
    int G = 4 * H;
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
        for (int j = lid; j < H; j += lsize) {
            float gi = gr[j] + bi[j];
            float gf = gr[H + j] + bi[H + j];
            float gg = gr[2 * H + j] + bi[2 * H + j];
            float go = gr[3 * H + j] + bi[3 * H + j];
            __global const float *w = W + j;
            for (int k = 0; k < H; k++, w += G) {
                float hk = h[k];
                gi = fma(w[0], hk, gi);
                gf = fma(w[H], hk, gf);
                gg = fma(w[2 * H], hk, gg);
                go = fma(w[3 * H], hk, go);
            }
            float i_ = 1.0f / (1.0f + exp(-gi));
            float f_ = 1.0f / (1.0f + exp(-gf));
            float o_ = 1.0f / (1.0f + exp(-go));
            float c = f_ * c_buf[j] + i_ * tanh(gg);
            float hn = o_ * tanh(c);
            c_buf[j] = c;
            h_buf[(1 - cur) * H + j] = hn;
            y[(seq + t) * (size_t)(2 * H) + (size_t)d * H + j] = hn;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        cur = 1 - cur;
    }
}

/* The same recurrence with four consecutive units per work-item, for H divisible by
 * 4: 16-byte loads of the weight rows and explicit SIMD arithmetic, which CPU devices
 * (PoCL) turn into vector code far more reliably than the scalar kernel, and which
 * halves the load instructions on GPUs. Same arguments and layouts as above. */
__kernel void lstm_recurrence4(__global const float *gx, __global const float *whh_t,
                               __global const float *bias, __global float *y, int T, int H, int B,
                               __local float *h_buf /* 2*H */, __local float *c_buf /* H */)
{
    int g = get_group_id(0);
    int b = g % B, sd = g / B;
    int d = sd % 2, s = sd / 2;
    int lid = get_local_id(0), lsize = get_local_size(0);
    int G = 4 * H, H4 = H / 4;
    __global const float *W = whh_t + (size_t)sd * H * G;
    __global const float *bi = bias + (size_t)sd * G;
    size_t seq = ((size_t)s * B + b) * T;

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
        for (int q = lid; q < H4; q += lsize) {
            float4 gi = vload4(q, gr) + vload4(q, bi);
            float4 gf = vload4(q, gr + H) + vload4(q, bi + H);
            float4 gg = vload4(q, gr + 2 * H) + vload4(q, bi + 2 * H);
            float4 go = vload4(q, gr + 3 * H) + vload4(q, bi + 3 * H);
            __global const float *w = W;
            for (int k = 0; k < H; k++, w += G) {
                float4 hk = (float4)(h[k]);
                gi = fma(vload4(q, w), hk, gi);
                gf = fma(vload4(q, w + H), hk, gf);
                gg = fma(vload4(q, w + 2 * H), hk, gg);
                go = fma(vload4(q, w + 3 * H), hk, go);
            }
            float4 i_ = 1.0f / (1.0f + exp(-gi));
            float4 f_ = 1.0f / (1.0f + exp(-gf));
            float4 o_ = 1.0f / (1.0f + exp(-go));
            float4 c = f_ * vload4(q, c_buf) + i_ * tanh(gg);
            float4 hn = o_ * tanh(c);
            vstore4(c, q, c_buf);
            vstore4(hn, q, h_buf + (1 - cur) * H);
            vstore4(hn, q, y + (seq + t) * (size_t)(2 * H) + (size_t)d * H);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        cur = 1 - cur;
    }
}
