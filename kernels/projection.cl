// projection.cl: dense projection with bias for the staged path (the reference-shaped path run
// when the caller asks for the attention weights).
//
//   C[r, c] = bias[w_col + c] + sum_k A[r, k] * W[k, w_col + c]
//   A [rows, inner], W [inner, ldw] (a column block of the layer's packed [W_Q | W_K | W_V] or W_O,
//   row-major or in panels of w_panel columns: weight_at in common.cl), bias [ldw] (zeros where
//   the layer has none), C [rows, cols]
//
// Used for Q = x·W_Q + b_q, K = ctx·W_K + b_k, V = ctx·W_V + b_v and out = heads_out·W_O + b_O.
// One work-item per output element; any sizes (the host launches exactly rows × cols items,
// rounded up to the work-group and guarded here).

__kernel void project(__global const float* A, __global const float* W, __global const float* bias,
                      __global float* C, const int rows, const int inner, const int cols,
                      const int ldw, const int w_col, const int w_panel) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= (size_t)cols || row >= (size_t)rows) {
        return;
    }
    const __global float* a = A + row * (size_t)inner;
    float acc = 0.0f;
    for (int k = 0; k < inner; k++) {
        acc = fma(a[k], W[weight_at(k, w_col + (int)col, inner, ldw, w_panel)], acc);
    }
    C[row * (size_t)cols + col] = acc + bias[w_col + col];
}
