// projection.cl: dense projection with bias, the first and last stage of attention.
//
//   C[r, c] = sum_k A[r, k] * W[k, c] + bias[c]
//   A [rows, inner], W [inner, cols], bias [cols] (ignored when has_bias == 0), C [rows, cols]
//
// Used for Q = x·W_Q + b_q, K = ctx·W_K + b_k, V = ctx·W_V + b_v and out = heads_out·W_O + b_O.
// One work-item per output element; any sizes (the host launches exactly rows × cols items,
// rounded up to the work-group and guarded here).

__kernel void project(__global const float* A, __global const float* W, __global const float* bias,
                      __global float* C, const int rows, const int inner, const int cols, const int has_bias) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= (size_t)cols || row >= (size_t)rows) {
        return;
    }
    const __global float* a = A + row * (size_t)inner;
    float acc = 0.0f;
    for (int k = 0; k < inner; k++) {
        acc = fma(a[k], W[(size_t)k * cols + col], acc);
    }
    C[row * (size_t)cols + col] = has_bias ? acc + bias[col] : acc;
}
