// gemm_gpu.cl: projection GEMM for GPUs: a work-group computes a GEMM_TS × GEMM_TS block of C,
// staging GEMM_TS × GEMM_TS tiles of A and W through __local memory; each work-item computes
// GEMM_WPT elements of one column.
//
//   C[r, c] = bias[c] + sum_k A[r, k] * W[k, c]
//   A [rows, inner]; W [inner, ldw] (row-major; the host packs panels, w_panel > 0, only for
//   CPU devices, but weight_at reads either) and bias [ldw], of which this launch uses columns
//   w_col .. w_col+cols-1; C is stored by
//   store_projected (layout.cl): plain [rows, cols], or into the Q / Kt / V layout.
//
// Launch: local (GEMM_TS, GEMM_TS / GEMM_WPT), global (ceil(cols / GEMM_TS) · GEMM_TS,
// ceil(rows / GEMM_TS) · GEMM_TS / GEMM_WPT). Tiles are zero-filled past the edges, so any
// rows, inner and cols work; every work-item reaches every barrier.

#ifndef GEMM_TS
#define GEMM_TS 16 // tile edge (work-group covers GEMM_TS × GEMM_TS outputs)
#endif
#ifndef GEMM_WPT
#define GEMM_WPT 4 // outputs per work-item, along rows; divides GEMM_TS
#endif
#define GEMM_RTS (GEMM_TS / GEMM_WPT)

__kernel __attribute__((reqd_work_group_size(GEMM_TS, GEMM_RTS, 1)))
void gemm(__global const float* A, __global const float* W, __global const float* bias,
          __global float* out0, __global float* out1, __global float* out2,
          const int rows, const int inner, const int cols, const int ldw, const int w_col, const int w_panel,
          const int layout, const int col_base, const int L, const int N, const int key_stride, const int H,
          const int HKV, __global const int* seq, const int append) {
    __local float a_tile[GEMM_TS][GEMM_TS + 1]; // [row][k], padded against bank conflicts
    __local float w_tile[GEMM_TS][GEMM_TS];     // [k][col]
    const int tc = (int)get_local_id(0);
    const int tr = (int)get_local_id(1);
    const int col = (int)get_group_id(0) * GEMM_TS + tc;
    const int row_base = (int)get_group_id(1) * GEMM_TS;
    float acc[GEMM_WPT];
    for (int w = 0; w < GEMM_WPT; w++) {
        acc[w] = 0.0f;
    }
    for (int k0 = 0; k0 < inner; k0 += GEMM_TS) {
        for (int w = 0; w < GEMM_WPT; w++) {
            const int lr = tr + w * GEMM_RTS;
            const int row = row_base + lr;
            const int k = k0 + tc;
            a_tile[lr][tc] = (row < rows && k < inner) ? A[(long)row * inner + k] : 0.0f;
            const int kw = k0 + lr;
            w_tile[lr][tc] = (kw < inner && col < cols) ? W[weight_at(kw, w_col + col, inner, ldw, w_panel)] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TS; kk++) {
            const float wv = w_tile[kk][tc];
            for (int w = 0; w < GEMM_WPT; w++) {
                acc[w] = fma(a_tile[tr + w * GEMM_RTS][kk], wv, acc[w]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (col >= cols) {
        return;
    }
    const float bc = bias[w_col + col];
    for (int w = 0; w < GEMM_WPT; w++) {
        const int row = row_base + tr + w * GEMM_RTS;
        if (row < rows) {
            store_projected(acc[w] + bc, row, col, cols, out0, out1, out2, layout, col_base, L, N, key_stride, H, HKV,
                            seq, append);
        }
    }
}
