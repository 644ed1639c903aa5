// flash_cpu.cl: fused attention for CPU devices: no __local memory, no barriers. Each work-item
// owns row_blocks (at most FLASH_RB) blocks of FLASH_QR query rows of one (batch, head) and
// streams the keys they may see in chunks of FLASH_KC keys: every row block in turn takes the
// chunk (which stays in cache) in steps of 16·FLASH_KV keys, one float16 lane per key, with its
// state in registers. No score matrix is ever stored.
//
// Per step of keys j and per query row (online softmax):
//   s   = scale * q·k_j + attn_bias[i, j]            (one lane per key; hidden keys → -inf)
//   m'  = max(m, max_j s)        m_use = (m' == -inf) ? 0 : m'     (a fully hidden step gives 0, not NaN)
//   p_j = exp(s_j - m_use)       l = l·exp(m - m_use) + sum_j p_j
//   o   = o·exp(m - m_use) + sum_j p_j · v_j
// and at the end heads_out = o / l, or zeros where l = 0 (a query that sees no key). The
// rescaling by exp(m - m_use) is skipped when m' = m (it is exactly 1), which after the first
// keys is most steps.
//
// The keys a row may see are the prefix [0, end) (visible_keys and seq in common.cl), so keys past
// the largest end of the work-item's rows are never read, and steps where every row sees every key
// take a path without masks. In the few steps where rows differ, hidden keys are masked in the
// scores and skipped in the value sum, so NaN or Inf in hidden keys or values never reaches
// the output. Causal steps above the diagonal are never visited.
//
// Layout (layout.cl): Q [B,H,N,DK], Kt [B,HKV,DK,KS], V [B,HKV,KS,DKP], heads_out [B,N,H*DK];
// query head h reads K/V head kv_head(h). KS (key_stride) is a multiple of KEY_ALIGN, itself a
// multiple of the keys per step, so a masked step may read whole vectors of Kt past M.
// row_blocks is chosen per launch by the host: fewer blocks for short sequences, so that there
// are enough work-items to keep every core busy.
// Launch: global (ceil(N / (FLASH_QR·row_blocks)), B*H), any local size (1 is best on PoCL).

#ifndef FLASH_QR
#define FLASH_QR 6 // query rows per register block; each keeps DKP floats of accumulator in registers
#endif
#ifndef FLASH_KV
#define FLASH_KV 2 // float16 key vectors per step: 16·FLASH_KV keys per step (1, 2 or 4)
#endif
#ifndef FLASH_RB
#define FLASH_RB 8 // most register blocks per work-item, which share each chunk of keys while it is in cache
#endif
#ifndef FLASH_KC
#define FLASH_KC 64 // keys per chunk (a multiple of 16·FLASH_KV)
#endif
#define KS (16 * FLASH_KV) // keys per step
#if KEY_ALIGN % KS != 0
#error "KEY_ALIGN must be a multiple of the keys per step 16*FLASH_KV"
#endif
#define DKV (DKP / 16)     // float16 vectors per accumulator row
// The scores of one step (columns j0 .. j0+KS-1 of Kt, kt_step already offset) for each row:
// s[r][v] = q_r · k for the 16 keys of vector v.
#define SCORES(s, kt_step)                                                    \
    _Pragma("unroll")                                                         \
    for (int r = 0; r < FLASH_QR; r++) {                                      \
        _Pragma("unroll")                                                     \
        for (int v = 0; v < FLASH_KV; v++) {                                  \
            s[r][v] = (float16)(0.0f);                                        \
        }                                                                     \
    }                                                                         \
    for (int d = 0; d < DK; d++) {                                            \
        float16 kd[FLASH_KV];                                                 \
        _Pragma("unroll")                                                     \
        for (int v = 0; v < FLASH_KV; v++) {                                  \
            kd[v] = vload16(v, (kt_step) + (long)d * key_stride);             \
        }                                                                     \
        _Pragma("unroll")                                                     \
        for (int r = 0; r < FLASH_QR; r++) {                                  \
            const float16 qd = (float16)(q[r][d]);                            \
            _Pragma("unroll")                                                 \
            for (int v = 0; v < FLASH_KV; v++) {                              \
                s[r][v] = fma(qd, kd[v], s[r][v]);                            \
            }                                                                 \
        }                                                                     \
    }

// One key of a step where every row sees every key: o_r += p_r[v].lane * v_j for every row.
#define ADD_VALUE(V, JJ, LANE)                                                \
    {                                                                         \
        const __global float* vj = vh + (long)(j0 + 16 * (V) + (JJ)) * DKP;   \
        _Pragma("unroll")                                                     \
        for (int c = 0; c < DKV; c++) {                                       \
            const float16 vc = vload16(c, vj);                                \
            _Pragma("unroll")                                                 \
            for (int r = 0; r < FLASH_QR; r++) {                              \
                o[r][c] = fma((float16)(p[r][V].LANE), vc, o[r][c]);          \
            }                                                                 \
        }                                                                     \
    }

#define ADD_VALUES(V)                                                                         \
    ADD_VALUE(V, 0, s0) ADD_VALUE(V, 1, s1) ADD_VALUE(V, 2, s2) ADD_VALUE(V, 3, s3)           \
    ADD_VALUE(V, 4, s4) ADD_VALUE(V, 5, s5) ADD_VALUE(V, 6, s6) ADD_VALUE(V, 7, s7)           \
    ADD_VALUE(V, 8, s8) ADD_VALUE(V, 9, s9) ADD_VALUE(V, 10, sa) ADD_VALUE(V, 11, sb)         \
    ADD_VALUE(V, 12, sc) ADD_VALUE(V, 13, sd) ADD_VALUE(V, 14, se) ADD_VALUE(V, 15, sf)

// The scores of one step for row r, vector v (keys jv .. jv+15) in the contract's order: scale,
// softcap, attn_bias (bias16: the 16 bias values), ALiBi.
#define MODIFY(sr, bias16)                                                    \
    {                                                                         \
        sr *= scale;                                                          \
        if (softcap > 0.0f) {                                                 \
            sr = softcap16(sr, softcap);                                      \
        }                                                                     \
        if (has_bias) {                                                       \
            sr += (bias16);                                                   \
        }                                                                     \
        if (slope != 0.0f) {                                                  \
            sr = alibi16(sr, slope, pos[r], jv);                              \
        }                                                                     \
    }

__kernel void flash(__global const float* Q, __global const float* Kt, __global const float* V,
                    __global const float* attn_bias, const int bias_cols, const int has_bias,
                    __global const int* seq, __global float* heads_out, const int N, const int key_stride,
                    const int H, const int HKV, const float scale, const int causal, const int row_blocks,
                    SCORE_MOD_ARGS, __global float* lse, const int want_lse) {
    const int rb = clamp(row_blocks, 1, FLASH_RB); // row blocks per work-item this launch
    const int first_row = (int)get_global_id(0) * (FLASH_QR * rb);
    const int bh = (int)get_global_id(1);
    if (first_row >= N) {
        return;
    }
    const int b = bh / H;
    const int head = bh % H;
    const long kvh = (long)b * HKV + kv_head(head, H, HKV);
    const __global float* kt = Kt + kvh * DK * key_stride;
    const __global float* vh = V + kvh * key_stride * DKP;
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const float slope = has_alibi ? alibi[head] : 0.0f;
    const int blocks = min(rb, (N - first_row + FLASH_QR - 1) / FLASH_QR);
    // Both ends of the keys a row sees grow with the row: the first row starts first, the last
    // real row ends last.
    const long last_row = last_real_row(min(first_row + FLASH_QR * rb - 1, N - 1), seq, b);
    const int last_end = last_row < first_row ? 0 : visible_keys(last_row, seq, b, causal, window_left, window_right);
    const int first_begin = first_key(first_row, seq, b, window_left) / KS * KS;

    // Running state of every row block between chunks: o (unnormalised), m and l per row. A sink
    // starts each row as a key of score sinks[h] and no value.
    float16 o_saved[FLASH_RB][FLASH_QR][DKV];
    float m_saved[FLASH_RB][FLASH_QR];
    float l_saved[FLASH_RB][FLASH_QR];
    for (int g = 0; g < blocks; g++) {
        #pragma unroll
        for (int r = 0; r < FLASH_QR; r++) {
            m_saved[g][r] = has_sinks ? sinks[head] : CLATTN_NEG_INF;
            l_saved[g][r] = has_sinks ? 1.0f : 0.0f;
            #pragma unroll
            for (int c = 0; c < DKV; c++) {
                o_saved[g][r][c] = (float16)(0.0f);
            }
        }
    }

    for (int k0 = first_begin; k0 < last_end; k0 += FLASH_KC) {
        const int k1 = min(k0 + FLASH_KC, last_end);
        for (int g = 0; g < blocks; g++) {
            const int i0 = first_row + g * FLASH_QR;
            // Rows past N repeat row N-1 (computed, never stored) so every row block is full.
            const __global float* q[FLASH_QR];
            const __global float* bias_row[FLASH_QR];
            int start[FLASH_QR];
            int end[FLASH_QR];
            long pos[FLASH_QR];
            int start_max = 0;
            int end_min = 0x7fffffff;
            int end_max = 0;
            float m[FLASH_QR];
            float l[FLASH_QR];
            float16 o[FLASH_QR][DKV];
            #pragma unroll
            for (int r = 0; r < FLASH_QR; r++) {
                const long i = min(i0 + r, N - 1);
                q[r] = Q + ((long)bh * N + i) * DK;
                bias_row[r] = attn_bias + (has_bias ? i * bias_cols : 0);
                start[r] = first_key(i, seq, b, window_left);
                end[r] = visible_keys(i, seq, b, causal, window_left, window_right);
                pos[r] = query_position(i, seq, b);
                start_max = max(start_max, start[r]);
                end_min = min(end_min, end[r]);
                end_max = max(end_max, end[r]);
                m[r] = m_saved[g][r];
                l[r] = l_saved[g][r];
                #pragma unroll
                for (int c = 0; c < DKV; c++) {
                    o[r][c] = o_saved[g][r][c];
                }
            }
            // The block's first row starts first; skip chunks it does not reach (causal: above
            // the diagonal; a left window: long behind).
            const int block_begin = start[0] / KS * KS;
            if (k0 >= end_max || k1 <= block_begin) {
                continue;
            }

            for (int j0 = max(k0, block_begin); j0 < min(k1, end_max); j0 += KS) {
                if (j0 >= start_max && j0 + KS <= end_min) {
                    // Every row sees every key of the step: no masks.
                    float16 s[FLASH_QR][FLASH_KV];
                    SCORES(s, kt + j0)
                    float16 p[FLASH_QR][FLASH_KV];
                    #pragma unroll
                    for (int r = 0; r < FLASH_QR; r++) {
                        #pragma unroll
                        for (int v = 0; v < FLASH_KV; v++) {
                            const int jv = j0 + 16 * v;
                            MODIFY(s[r][v], vload16(v, bias_row[r] + j0))
                        }
                        #define STORE_VECTOR(v, pv) p[r][v] = pv;
                        ONLINE_SOFTMAX_ROW(s[r], FLASH_KV, m[r], l[r], o[r], DKV, STORE_VECTOR)
                        #undef STORE_VECTOR
                    }
                    #pragma unroll
                    for (int v = 0; v < FLASH_KV; v++) {
                        ADD_VALUES(v)
                    }
                } else {
                    // Some keys are hidden from some rows: mask the scores, skip hidden values.
                    float16 s[FLASH_QR][FLASH_KV];
                    SCORES(s, kt + j0)
                    float p[FLASH_QR][KS];
                    #pragma unroll
                    for (int r = 0; r < FLASH_QR; r++) {
                        #pragma unroll
                        for (int v = 0; v < FLASH_KV; v++) {
                            const int jv = j0 + 16 * v;
                            float16 sr = s[r][v];
                            float b16[16];
                            if (has_bias) {
                                for (int t = 0; t < 16; t++) {
                                    b16[t] = jv + t >= start[r] && jv + t < end[r] ? bias_row[r][jv + t] : 0.0f;
                                }
                            }
                            MODIFY(sr, vload16(0, b16))
                            const int16 j = (int16)(jv) + lane;
                            s[r][v] = select(sr, (float16)(CLATTN_NEG_INF), j >= (int16)(end[r]) || j < (int16)(start[r]));
                        }
                        #define STORE_LANES(v, pv) vstore16(pv, v, p[r]);
                        ONLINE_SOFTMAX_ROW(s[r], FLASH_KV, m[r], l[r], o[r], DKV, STORE_LANES)
                        #undef STORE_LANES
                    }
                    for (int jj = 0; jj < KS && j0 + jj < end_max; jj++) {
                        const __global float* vj = vh + (long)(j0 + jj) * DKP;
                        #pragma unroll
                        for (int c = 0; c < DKV; c++) {
                            const float16 vc = vload16(c, vj);
                            #pragma unroll
                            for (int r = 0; r < FLASH_QR; r++) {
                                if (j0 + jj >= start[r] && j0 + jj < end[r]) {
                                    o[r][c] = fma((float16)(p[r][jj]), vc, o[r][c]);
                                }
                            }
                        }
                    }
                }
            }

            #pragma unroll
            for (int r = 0; r < FLASH_QR; r++) {
                m_saved[g][r] = m[r];
                l_saved[g][r] = l[r];
                #pragma unroll
                for (int c = 0; c < DKV; c++) {
                    o_saved[g][r][c] = o[r][c];
                }
            }
        }
    }

    const long hd = (long)H * DK;
    for (int row = 0; row < FLASH_QR * blocks && first_row + row < N; row++) {
        const int g = row / FLASH_QR;
        const int r = row % FLASH_QR;
        __global float* out = heads_out + ((long)b * N + first_row + row) * hd + (long)head * DK;
        const float l_row = l_saved[g][r];
        const float inv = 1.0f / l_row;
        if (want_lse) {
            lse[(long)bh * N + first_row + row] = row_lse(m_saved[g][r], l_row);
        }
        #pragma unroll
        for (int c = 0; c < DKV; c++) {
            const float16 val = l_row == 0.0f ? (float16)(0.0f) : o_saved[g][r][c] * inv;
            if ((c + 1) * 16 <= DK) {
                vstore16(val, c, out);
            } else {
                float lanes[16];
                vstore16(val, 0, lanes);
                for (int t = 0; c * 16 + t < DK; t++) {
                    out[c * 16 + t] = lanes[t];
                }
            }
        }
    }
}
