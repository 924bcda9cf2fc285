/* STFT framing and inverse-STFT overlap-add (docs/network.md steps 1 and 7).
 * Layouts: audio [B][L]; frames [B*T][N]; spectra [B*T][F] complex (float2), F = N/2 + 1. */

/* Index into x for padded position p, padding N/2 on each side by mirror reflection
 * without repeating the edge sample. Inputs shorter than the padding are reflected
 * again and again (numpy.pad(mode="reflect") does the same); one sample repeats. */
inline int reflect_index(int i, int L)
{
    if (L == 1)
        return 0;
    int period = 2 * (L - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < L ? i : period - i;
}

/* frames[b*T + t][n] = x[b][reflect(t*hop + n - N/2)] * window[n] */
__kernel void stft_frame(__global const float *x, __global float *frames, __global const float *window,
                         int L, int T, int N, int hop)
{
    int n = get_global_id(0);
    int row = get_global_id(1); /* b * T + t */
    if (n >= N)
        return;
    int b = row / T, t = row - b * T;
    int i = reflect_index(t * hop + n - N / 2, L);
    frames[(size_t)row * N + n] = x[(size_t)b * L + i] * window[n];
}

/* mag[row][f] = |X[row][f]| */
__kernel void spectrum_magnitude(__global const float2 *X, __global float *mag, int F, int rows)
{
    int f = get_global_id(0), row = get_global_id(1);
    if (f >= F || row >= rows)
        return;
    float2 v = X[(size_t)row * F + f];
    mag[(size_t)row * F + f] = sqrt(fma(v.x, v.x, v.y * v.y));
}

/* out[base + b*L + n] (+)= sum_t frames[b*T+t][p - t*hop] * w / sum_t w^2, p = n + N/2: the
 * overlap-add, gathered per output sample so that no two work-items write the same
 * place. Samples whose window envelope is below 1e-11 are not divided. */
__kernel void overlap_add(__global const float *frames, __global const float *window,
                          __global float *out, int L, int T, int N, int hop, int accumulate,
                          ulong base)
{
    int n = get_global_id(0), b = get_global_id(1);
    if (n >= L)
        return;
    int p = n + N / 2;
    int t_hi = min(p / hop, T - 1);
    int first = p - N + 1;
    int t_lo = first <= 0 ? 0 : (first + hop - 1) / hop;
    float y = 0.0f, env = 0.0f;
    for (int t = t_lo; t <= t_hi; t++) {
        int m = p - t * hop;
        float w = window[m];
        y += frames[((size_t)b * T + t) * N + m] * w;
        env += w * w;
    }
    if (env > 1e-11f)
        y /= env;
    size_t o = base + (size_t)b * L + n;
    out[o] = accumulate ? out[o] + y : y;
}
