/* Pointwise layers around the GEMMs (docs/network.md steps 2, 3, 5, 6). */

/* The encoders' tanh and the first cross average, written into the left half of
 * D = [C1, C2] ([rows][2*hidden]):
 * D[row][j] = mean_r tanh(E[r][row][j] + bias[r][j]); E is [R][rows][hidden]. */
__kernel void encoder_combine(__global const float *E, __global const float *bias,
                              __global float *D, int rows, int hidden, int R)
{
    int j = get_global_id(0), row = get_global_id(1);
    if (j >= hidden || row >= rows)
        return;
    float acc = 0.0f;
    for (int r = 0; r < R; r++)
        acc += tanh(E[((size_t)r * rows + row) * hidden + j] + bias[r * hidden + j]);
    D[(size_t)row * 2 * hidden + j] = acc / (float)R;
}

/* The second cross average into the right half of D: mean over branches of the last
 * LSTM layer's output Y [S][rows][hidden]. */
__kernel void branch_average(__global const float *Y, __global float *D, int rows, int hidden, int S)
{
    int j = get_global_id(0), row = get_global_id(1);
    if (j >= hidden || row >= rows)
        return;
    float acc = 0.0f;
    for (int s = 0; s < S; s++)
        acc += Y[((size_t)s * rows + row) * hidden + j];
    D[(size_t)row * 2 * hidden + hidden + j] = acc / (float)S;
}

/* Z[row][j] = relu(Z[row][j] + bias[j]), in place; Z is [rows][cols]. */
__kernel void bias_relu(__global float *Z, __global const float *bias, int rows, int cols)
{
    int j = get_global_id(0), row = get_global_id(1);
    if (j >= cols || row >= rows)
        return;
    size_t k = (size_t)row * cols + j;
    Z[k] = fmax(Z[k] + bias[j], 0.0f);
}

/* The masks: Y = relu(mask + bias) * X, mask the decoder's output layer before its bias
 * (the decoder's last BatchNorm folded into bias); X and Y complex [rows][F]. The
 * inverse real FFT ignores the imaginary parts of bins 0 and N/2: clear them so that
 * every FFT library agrees. */
__kernel void apply_mask(__global const float *mask, __global const float *bias,
                         __global const float2 *X, __global float2 *Y, int F, int rows)
{
    int f = get_global_id(0), row = get_global_id(1);
    if (f >= F || row >= rows)
        return;
    size_t k = (size_t)row * F + f;
    float m = fmax(mask[k] + bias[f], 0.0f);
    float2 y = m * X[k];
    if (f == 0 || f == F - 1)
        y.y = 0.0f;
    Y[k] = y;
}
