// gemm_cpu.cl: projection GEMM for CPU devices (PoCL and the like): no __local memory, no
// barriers; each work-item owns a register block of GEMM_RM rows × 16·GEMM_CV columns held in
// float16 accumulators and streams one row of W per step with vload16.
//
//   C[r, c] = bias[c] + sum_k A[r, k] * W[k, c]
//   A [rows, inner]; W [inner, ldw] (row-major, or in panels of w_panel = 16 columns: weight_at in
//   common.cl) and bias [ldw]; this launch uses columns w_col .. of W and
//   bias, which are zero-padded far enough that whole 16·GEMM_CV-column blocks can be read; C is stored by store_projected (layout.cl): plain [rows, cols], or
//   scattered into the Q / Kt / V layout of the flash kernels.
//
// Two kernels of one body (GEMM_BODY): `gemm` (GEMM_RM × 16·GEMM_CV blocks, for many rows: W is
// reused from cache by GEMM_RM rows) and `gemm_narrow` (GEMV_RM × 16·GEMV_CV, for a few rows, a
// decode step: memory-bound on W, so each work-item streams GEMV_CV of W's panels, contiguous when
// the host stores W in panels).
//
// Launch: global (ceil(rows / RM), ceil(cols / (16·CV))), any local size. Rows past the end are
// clamped for loading and never stored; column vectors that start past cols are neither loaded nor
// stored, so any rows, inner and cols work.

#ifndef GEMM_RM
#define GEMM_RM 8 // rows of C per work-item
#endif
#ifndef GEMM_CV
#define GEMM_CV 2 // float16 column vectors per work-item (16·GEMM_CV columns)
#endif
#ifndef GEMV_RM
#define GEMV_RM 1 // rows of C per work-item of gemm_narrow
#endif
#ifndef GEMV_CV
#define GEMV_CV 4 // float16 column vectors per work-item of gemm_narrow
#endif

// Stores 16 consecutive columns of one row: whole vectors where they land contiguously (plain
// rows, or 16 dims of one head of Q or V); 16 dims of one head of K as 16 stores key_stride apart
// from one offset (locating each element on its own, with its divisions, cost about a tenth of
// PoCL's projection time at N = 1024); element by element otherwise (a vector across heads).
// The gemm kernel stores whole tiles of K itself first (KT_TILE_STORE below). Inlined:
// left a call, it cost a stack frame per vector stored.
__attribute__((always_inline)) inline void store16(const float16 v, const int row, const int col, const int cols,
                    __global float* out0, __global float* out1, __global float* out2,
                    const int layout, const int col_base, const int L, const int N, const int key_stride,
                    const int H, const int HKV, __global const int* seq, const int append) {
    if (col + 16 <= cols) {
        if (layout == 0) {
            vstore16(v, 0, out0 + (long)row * cols + col);
            return;
        }
        int section, head, d;
        qkv_locate(col_base + col, H, HKV, &section, &head, &d);
        if (d + 16 <= DK) {
            const long t = section == 0 ? row % L : kv_token(row % L, row / L, seq, append);
            if (t < 0) {
                return;
            }
            const long at = qkv_offset(section, row / L, head, d, t, N, key_stride, H, HKV);
            if (section != 1) {
                vstore16(v, 0, (section == 0 ? out0 : out2) + at);
                return;
            }
            // Kt: the 16 dimensions are key_stride apart; one offset for all of them
            float lanes[16];
            vstore16(v, 0, lanes);
            _Pragma("unroll")
            for (int i = 0; i < 16; i++) {
                out1[at + (long)i * key_stride] = lanes[i];
            }
            return;
        }
    }
    float lanes[16];
    vstore16(v, 0, lanes);
    for (int t = 0; t < 16 && col + t < cols; t++) {
        store_projected(lanes[t], row, col + t, cols, out0, out1, out2, layout, col_base, L, N, key_stride, H, HKV,
                        seq, append);
    }
}

#define GEMM_ARGS __global const float* A, __global const float* W, __global const float* bias,                 \
                  __global float* out0, __global float* out1, __global float* out2,                                \
                  const int rows, const int inner, const int cols, const int ldw, const int w_col,                 \
                  const int w_panel,                                                                               \
                  const int layout, const int col_base, const int L, const int N, const int key_stride,            \
                  const int H, const int HKV, __global const int* seq, const int append

// Rows vary fastest in the launch, so consecutive work-items reuse one panel of W from cache.
// GUARD 0: W's columns are padded to a whole block (columnAlign = 16·GEMM_CV), so every vector
// is loaded; GUARD 1: only the vectors that start before cols (W is padded to 16 columns at least).
// TILE_STORE: a statement that may store the whole tile its own way and return, before the
// general stores.
#define GEMM_BODY(RM, CV, GUARD, TILE_STORE)                                                                       \
    const int row0 = (int)get_global_id(0) * (RM);                                                                 \
    const int col0 = (int)get_global_id(1) * (16 * (CV));                                                          \
    if (col0 >= cols || row0 >= rows) {                                                                            \
        return;                                                                                                    \
    }                                                                                                              \
    /* column vectors of this block that start before cols (whole 16-column vectors of W are padded) */            \
    const int vectors = (GUARD) ? min((CV), (cols - col0 + 15) / 16) : (CV);                                       \
    const __global float* a[RM];                                                                                   \
    float16 acc[RM][CV];                                                                                           \
    _Pragma("unroll")                                                                                              \
    for (int r = 0; r < (RM); r++) {                                                                               \
        a[r] = A + (long)min(row0 + r, rows - 1) * inner;                                                          \
        _Pragma("unroll")                                                                                          \
        for (int v = 0; v < (CV); v++) {                                                                           \
            acc[r][v] = !(GUARD) || v < vectors ? vload16(v, bias + w_col + col0) : (float16)(0.0f);               \
        }                                                                                                          \
    }                                                                                                              \
    /* row-major: the block's vectors side by side, the next row ldw on; in panels of 16 columns    */             \
    /* (w_col a multiple of 16): one panel per vector, inner·16 apart, the next row 16 on           */             \
    const __global float* w = W + weight_at(0, w_col + col0, inner, ldw, w_panel);                                 \
    const long vector_step = w_panel == 0 ? 16 : (long)inner * 16;                                                 \
    const long row_step = w_panel == 0 ? ldw : 16;                                                                 \
    for (int k = 0; k < inner; k++, w += row_step) {                                                               \
        float16 wk[CV];                                                                                            \
        _Pragma("unroll")                                                                                          \
        for (int v = 0; v < (CV); v++) {                                                                           \
            wk[v] = !(GUARD) || v < vectors ? vload16(0, w + v * vector_step) : (float16)(0.0f);                   \
        }                                                                                                          \
        _Pragma("unroll")                                                                                          \
        for (int r = 0; r < (RM); r++) {                                                                           \
            const float16 ark = (float16)(a[r][k]);                                                                \
            _Pragma("unroll")                                                                                      \
            for (int v = 0; v < (CV); v++) {                                                                       \
                acc[r][v] = fma(ark, wk[v], acc[r][v]);                                                            \
            }                                                                                                      \
        }                                                                                                          \
    }                                                                                                              \
    TILE_STORE                                                                                                     \
    for (int r = 0; r < (RM) && row0 + r < rows; r++) {                                                            \
        for (int v = 0; v < vectors; v++) {                                                                        \
            store16(acc[r][v], row0 + r, col0 + 16 * v, cols, out0, out1, out2, layout, col_base, L, N,            \
                    key_stride, H, HKV, seq, append);                                                              \
        }                                                                                                          \
    }

// A whole tile of K (GEMM_RM = 4, 6, 8 or 12 tokens of one sequence, 16·GEMM_CV dimensions of one
// head, a forward call) goes to Kt transposed: per dimension the tokens as one or two vector
// stores (float4; float4 + float2; float8; float8 + float4), 16·GEMM_CV stores or twice that
// instead of GEMM_RM·16·GEMM_CV scalar ones. The scalar stores, each to a line of its own
// dimension, filled the store buffer while their lines were fetched: about a fifth of PoCL's
// projection time. (6 is the tile AVX2 gets, see CpuKernelSpecs.tileWithin.)
#define KT_AT(v, i) (kt_tile + (long)(16 * (v) + (i)) * key_stride)
#define KT_LANES4(v, LANE, R) (float4)(acc[R][v].LANE, acc[R + 1][v].LANE, acc[R + 2][v].LANE, acc[R + 3][v].LANE)
#define KT_LANES8(v, LANE, R) (float8)(acc[R][v].LANE, acc[R + 1][v].LANE, acc[R + 2][v].LANE, acc[R + 3][v].LANE, \
                                       acc[R + 4][v].LANE, acc[R + 5][v].LANE, acc[R + 6][v].LANE, acc[R + 7][v].LANE)
#if GEMM_RM == 4
#define KT_STORE(v, i, LANE) vstore4(KT_LANES4(v, LANE, 0), 0, KT_AT(v, i));
#elif GEMM_RM == 6
#define KT_STORE(v, i, LANE) vstore4(KT_LANES4(v, LANE, 0), 0, KT_AT(v, i));                                      \
                             vstore2((float2)(acc[4][v].LANE, acc[5][v].LANE), 0, KT_AT(v, i) + 4);
#elif GEMM_RM == 8
#define KT_STORE(v, i, LANE) vstore8(KT_LANES8(v, LANE, 0), 0, KT_AT(v, i));
#elif GEMM_RM == 12
#define KT_STORE(v, i, LANE) vstore8(KT_LANES8(v, LANE, 0), 0, KT_AT(v, i));                                      \
                             vstore4(KT_LANES4(v, LANE, 8), 0, KT_AT(v, i) + 8);
#endif
#ifdef KT_STORE
#define KT_TILE_STORE                                                                                              \
    if (layout == 1 && !append && row0 + GEMM_RM <= rows && row0 / L == (row0 + GEMM_RM - 1) / L                   \
        && col0 + 16 * GEMM_CV <= cols) {                                                                          \
        int section, head, d;                                                                                      \
        qkv_locate(col_base + col0, H, HKV, &section, &head, &d);                                                  \
        if (section == 1 && d + 16 * GEMM_CV <= DK) {                                                              \
            __global float* kt_tile = out1 + qkv_offset(1, row0 / L, head, d, row0 % L, N, key_stride, H, HKV);    \
            _Pragma("unroll")                                                                                      \
            for (int v = 0; v < GEMM_CV; v++) {                                                                    \
                KT_STORE(v, 0, s0) KT_STORE(v, 1, s1) KT_STORE(v, 2, s2) KT_STORE(v, 3, s3)                        \
                KT_STORE(v, 4, s4) KT_STORE(v, 5, s5) KT_STORE(v, 6, s6) KT_STORE(v, 7, s7)                        \
                KT_STORE(v, 8, s8) KT_STORE(v, 9, s9) KT_STORE(v, 10, sa) KT_STORE(v, 11, sb)                      \
                KT_STORE(v, 12, sc) KT_STORE(v, 13, sd) KT_STORE(v, 14, se) KT_STORE(v, 15, sf)                    \
            }                                                                                                      \
            return;                                                                                                \
        }                                                                                                          \
    }
#else
#define KT_TILE_STORE
#endif

__kernel void gemm(GEMM_ARGS) {
    GEMM_BODY(GEMM_RM, GEMM_CV, 0, KT_TILE_STORE)
}

__kernel void gemm_narrow(GEMM_ARGS) {
    GEMM_BODY(GEMV_RM, GEMV_CV, 1, )
}
