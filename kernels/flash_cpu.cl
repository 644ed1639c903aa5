// flash_cpu.cl: fused attention for CPU devices: no __local memory, no barriers. Each work-item
// owns row_blocks (at most FLASH_RB) groups of FLASH_QR query rows of one (batch, head) and
// streams the keys they may see in chunks of FLASH_KC keys; every group in turn takes the chunk
// (which stays in cache) in three phases, each blocked for registers on its own:
//   1. scores   s[r][j] = scale·q_r·k_j for the group's rows and the chunk's keys, tiles of SC_ROWS rows
//               by 16·FLASH_KV keys, into a small private buffer (it stays in L1)
//   2. softmax  per row, in place (online softmax):
//                 softcap, + attn_bias[i, j], ALiBi on s_j = scale·q·k_j; hidden keys → -inf
//                 m' = max(m, max_j s_j)    m_use = (m' == -inf) ? 0 : m'   (a fully hidden chunk gives 0, not NaN)
//                 p_j = exp(s_j - m_use)    l = l·exp(m - m_use) + sum_j p_j    o = o·exp(m - m_use)
//               (the rescaling is skipped when m' = m, which after the first keys is most chunks)
//   3. values   o_r += sum_j p_rj · v_j, tiles of PV_ROWS rows by 16·PV_CV columns of o
// and at the end heads_out = o / l, or zeros where l = 0 (a query that sees no key). The running
// state o, m, l of every group lives in private memory between chunks, so no tile holds more than
// its accumulators in registers, and no score matrix is ever stored beyond one chunk.
//
// The keys a row may see are the prefix [0, end) (visible_keys and seq in common.cl), so keys past
// the largest end of the work-item's rows are never read, and causal chunks above the diagonal
// are never visited. Hidden keys are masked in the scores and skipped in the values: the keys that
// every row of a group sees take the tiles, each row's own edges a one-row loop, so NaN or Inf in
// hidden keys or values never reaches the output.
//
// Layout (layout.cl): Q [B,H,N,DK], Kt [B,HKV,DK,KS], V [B,HKV,KS,DKP], heads_out [B,N,H*DK];
// query head h reads K/V head kv_head(h). KS (key_stride) is a multiple of KEY_ALIGN, itself a
// multiple of the keys per score step, so a score tile may read whole vectors of Kt past M.
// row_blocks is chosen per launch by the host: fewer groups for short sequences, so that there
// are enough work-items to keep every core busy.
// Launch: global (ceil(N / (FLASH_QR·row_blocks)), B*H), any local size (1 is best on PoCL).

#ifndef FLASH_QR
#define FLASH_QR 8 // query rows per group, which share each chunk's scores
#endif
#ifndef FLASH_KV
#define FLASH_KV 2 // float16 key vectors per score tile: 16·FLASH_KV keys per step (1, 2 or 4)
#endif
#ifndef FLASH_RB
#define FLASH_RB 4 // most groups per work-item, which share each chunk of keys while it is in cache
#endif
#ifndef FLASH_KC
#define FLASH_KC 256 // keys per chunk (a multiple of 16·FLASH_KV)
#endif
#define KS (16 * FLASH_KV) // keys per score step
#if KEY_ALIGN % KS != 0
#error "KEY_ALIGN must be a multiple of the keys per step 16*FLASH_KV"
#endif
#if FLASH_KC % KS != 0
#error "FLASH_KC must be a multiple of the keys per step 16*FLASH_KV"
#endif
#ifndef FLASH_ACC
#define FLASH_ACC 16 // float16 accumulators per register tile (4, 6, 8 or 16)
#endif
#define DKV (DKP / 16) // float16 vectors per row of o

// Register tiles hold about FLASH_ACC float16 accumulators: 16 (32 registers) where a float16 is
// one register (AVX-512), fewer where it takes two (AVX2, 16 registers).
// Score tiles: SC_ROWS rows by FLASH_KV vectors.
#if FLASH_ACC / FLASH_KV >= 8
#define SC_ROWS 8
#elif FLASH_ACC / FLASH_KV >= 1
#define SC_ROWS (FLASH_ACC / FLASH_KV)
#else
#define SC_ROWS 1
#endif
// Value tiles: PV_ROWS rows by PV_CV vectors of o (PV_CV divides DKV): the whole row where it
// fits in a third of the budget, else the largest of 4, 3, 2 that divides DKV and fits in half.
#if DKV <= 5 && DKV * 3 <= FLASH_ACC
#define PV_CV DKV
#elif DKV % 4 == 0 && 8 <= FLASH_ACC
#define PV_CV 4
#elif DKV % 3 == 0 && 6 <= FLASH_ACC
#define PV_CV 3
#elif DKV % 2 == 0
#define PV_CV 2
#else
#define PV_CV 1
#endif
#if FLASH_ACC / PV_CV >= 8
#define PV_ROWS 8
#else
#define PV_ROWS (FLASH_ACC / PV_CV)
#endif

// Scores of rows r0 .. r0+R-1 for the keys k0+j .. k0+j+KS-1 into sc (R, r0 constants).
#define SCORE_TILE(R, r0)                                                     \
    {                                                                         \
        float16 acc[R][FLASH_KV];                                             \
        _Pragma("unroll")                                                     \
        for (int tr_ = 0; tr_ < (R); tr_++) {                                 \
            _Pragma("unroll")                                                 \
            for (int tv_ = 0; tv_ < FLASH_KV; tv_++) {                        \
                acc[tr_][tv_] = (float16)(0.0f);                              \
            }                                                                 \
        }                                                                     \
        const __global float* kj = kt + k0 + j;                               \
        for (int td_ = 0; td_ < DK; td_++) {                                  \
            float16 kd[FLASH_KV];                                             \
            _Pragma("unroll")                                                 \
            for (int tv_ = 0; tv_ < FLASH_KV; tv_++) {                        \
                kd[tv_] = vload16(tv_, kj + (long)td_ * key_stride);          \
            }                                                                 \
            _Pragma("unroll")                                                 \
            for (int tr_ = 0; tr_ < (R); tr_++) {                             \
                const float16 qd = (float16)(qp[g][(r0) + tr_][td_]);            \
                _Pragma("unroll")                                             \
                for (int tv_ = 0; tv_ < FLASH_KV; tv_++) {                    \
                    acc[tr_][tv_] = fma(qd, kd[tv_], acc[tr_][tv_]);          \
                }                                                             \
            }                                                                 \
        }                                                                     \
        _Pragma("unroll")                                                     \
        for (int tr_ = 0; tr_ < (R); tr_++) {                                 \
            _Pragma("unroll")                                                 \
            for (int tv_ = 0; tv_ < FLASH_KV; tv_++) {                        \
                sc[(r0) + tr_][j / 16 + tv_] = acc[tr_][tv_] * scale;    \
            }                                                                 \
        }                                                                     \
    }

// o[g][r0 .. r0+R-1] += sum over the chunk keys [jlo, jhi) of p[r][j] · v_j (R, r0 constants; jlo,
// jhi relative to k0), in column tiles of PV_CV vectors.
#define VALUE_TILE(R, r0, jlo, jhi)                                           \
    for (int c0 = 0; c0 < DKV; c0 += PV_CV) {                                 \
        float16 acc[R][PV_CV];                                                \
        _Pragma("unroll")                                                     \
        for (int tr_ = 0; tr_ < (R); tr_++) {                                 \
            _Pragma("unroll")                                                 \
            for (int tc_ = 0; tc_ < PV_CV; tc_++) {                           \
                acc[tr_][tc_] = o[g][(r0) + tr_][c0 + tc_];                   \
            }                                                                 \
        }                                                                     \
        for (int tj_ = (jlo); tj_ < (jhi); tj_++) {                           \
            const __global float* vj = vh + (long)(k0 + tj_) * DKP + 16 * c0; \
            float16 vc[PV_CV];                                                \
            _Pragma("unroll")                                                 \
            for (int tc_ = 0; tc_ < PV_CV; tc_++) {                           \
                vc[tc_] = vload16(tc_, vj);                                   \
            }                                                                 \
            _Pragma("unroll")                                                 \
            for (int tr_ = 0; tr_ < (R); tr_++) {                             \
                const float16 pr = (float16)(((float*)sc[(r0) + tr_])[tj_]);            \
                _Pragma("unroll")                                             \
                for (int tc_ = 0; tc_ < PV_CV; tc_++) {                       \
                    acc[tr_][tc_] = fma(pr, vc[tc_], acc[tr_][tc_]);          \
                }                                                             \
            }                                                                 \
        }                                                                     \
        _Pragma("unroll")                                                     \
        for (int tr_ = 0; tr_ < (R); tr_++) {                                 \
            _Pragma("unroll")                                                 \
            for (int tc_ = 0; tc_ < PV_CV; tc_++) {                           \
                o[g][(r0) + tr_][c0 + tc_] = acc[tr_][tc_];                   \
            }                                                                 \
        }                                                                     \
    }

// The scaled scores of keys jv .. jv+15 of row r, modified in the contract's order: softcap,
// attn_bias (bias16: the 16 bias values), ALiBi.
#define MODIFY(sr, bias16)                                                    \
    {                                                                         \
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
    const int rb = clamp(row_blocks, 1, FLASH_RB); // groups per work-item this launch
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
    const int modified = softcap > 0.0f || has_bias || slope != 0.0f;
    const int blocks = min(rb, (N - first_row + FLASH_QR - 1) / FLASH_QR);
    // Both ends of the keys a row sees grow with the row: the first row starts first, the last
    // real row ends last.
    const long last_row = last_real_row(min(first_row + FLASH_QR * rb - 1, N - 1), seq, b);
    const int last_end = last_row < first_row ? 0 : visible_keys(last_row, seq, b, causal, window_left, window_right);
    const int first_begin = first_key(first_row, seq, b, window_left) / KS * KS;

    // Running state of every group between chunks: o (unnormalised), m and l per row. A sink
    // starts each row as a key of score sinks[h] and no value.
    float16 o[FLASH_RB][FLASH_QR][DKV];
    float m_run[FLASH_RB][FLASH_QR];
    float l_run[FLASH_RB][FLASH_QR];
    // The queries of every group; one chunk's scores, then weights, of the current group.
    float qp[FLASH_RB][FLASH_QR][DK];
    float16 sc[FLASH_QR][FLASH_KC / 16];
    for (int g = 0; g < blocks; g++) {
        for (int r = 0; r < FLASH_QR; r++) {
            m_run[g][r] = has_sinks ? sinks[head] : CLATTN_NEG_INF;
            l_run[g][r] = has_sinks ? 1.0f : 0.0f;
            for (int c = 0; c < DKV; c++) {
                o[g][r][c] = (float16)(0.0f);
            }
            // rows past N repeat row N-1 (computed, never stored) so every group is full
            const __global float* q = Q + ((long)bh * N + min(first_row + g * FLASH_QR + r, N - 1)) * DK;
            for (int d = 0; d < DK; d++) {
                qp[g][r][d] = q[d];
            }
        }
    }

    for (int k0 = first_begin; k0 < last_end; k0 += FLASH_KC) {
        const int width = min(FLASH_KC, last_end - k0); // keys of this chunk that some row may see
        for (int g = 0; g < blocks; g++) {
            const int i0 = first_row + g * FLASH_QR;
            // Each row's keys in this chunk are [lo, hi) (relative to k0; empty when hi <= lo).
            const __global float* bias_row[FLASH_QR];
            int lo[FLASH_QR];
            int hi[FLASH_QR];
            long pos[FLASH_QR];
            int common_lo = 0;
            int common_hi = width;
            int any_lo = width;
            int any_hi = 0;
            for (int r = 0; r < FLASH_QR; r++) {
                const long i = min(i0 + r, N - 1);
                bias_row[r] = attn_bias + (has_bias ? i * bias_cols : 0);
                lo[r] = clamp(first_key(i, seq, b, window_left) - k0, 0, width);
                hi[r] = clamp(visible_keys(i, seq, b, causal, window_left, window_right) - k0, 0, width);
                pos[r] = query_position(i, seq, b);
                common_lo = max(common_lo, lo[r]);
                common_hi = min(common_hi, hi[r] > lo[r] ? hi[r] : 0);
                if (hi[r] > lo[r]) {
                    any_lo = min(any_lo, lo[r]);
                    any_hi = max(any_hi, hi[r]);
                }
            }
            if (any_hi <= any_lo) {
                continue; // no row of the group sees a key of this chunk
            }
            const int j_lo = any_lo / KS * KS;
            const int j_hi = min((any_hi + KS - 1) / KS * KS, FLASH_KC);

            // 1. scores of the keys [j_lo, j_hi)
            for (int j = j_lo; j < j_hi; j += KS) {
                #if FLASH_QR >= SC_ROWS
                for (int r0 = 0; r0 + SC_ROWS <= FLASH_QR; r0 += SC_ROWS) {
                    SCORE_TILE(SC_ROWS, r0)
                }
                #endif
                #if FLASH_QR % SC_ROWS != 0
                SCORE_TILE(FLASH_QR % SC_ROWS, FLASH_QR / SC_ROWS * SC_ROWS)
                #endif
            }

            // 2. softmax, row by row, over the row's keys [lo, hi); scores past its edges are -inf
            for (int r = 0; r < FLASH_QR; r++) {
                if (hi[r] <= lo[r]) {
                    continue;
                }
                const int t_lo = lo[r] / 16;
                const int t_hi = (hi[r] + 15) / 16;
                float16 top = (float16)(CLATTN_NEG_INF);
                for (int t = t_lo; t < t_hi; t++) {
                    const int jv = k0 + 16 * t;
                    float16 sr = sc[r][t];
                    const int inside = 16 * t >= lo[r] && 16 * t + 16 <= hi[r];
                    if (modified) {
                        if (!has_bias || inside) {
                            MODIFY(sr, vload16(0, bias_row[r] + jv))
                        } else {
                            float b16[16];
                            for (int u = 0; u < 16; u++) {
                                b16[u] = 16 * t + u >= lo[r] && 16 * t + u < hi[r] ? bias_row[r][jv + u] : 0.0f;
                            }
                            MODIFY(sr, vload16(0, b16))
                        }
                    }
                    if (!inside) {
                        const int16 jl = (int16)(16 * t) + lane;
                        sr = select(sr, (float16)(CLATTN_NEG_INF), jl < (int16)(lo[r]) || jl >= (int16)(hi[r]));
                    }
                    if (modified || !inside) {
                        sc[r][t] = sr;
                    }
                    top = fmax(top, sr);
                }
                const float m = m_run[g][r];
                const float m_new = fmax(m, hmax16(top));
                const float m_use = m_new == CLATTN_NEG_INF ? 0.0f : m_new;
                float16 sum = (float16)(0.0f);
                for (int t = t_lo; t < t_hi; t++) {
                    const float16 p = exp16(sc[r][t] - m_use);
                    sc[r][t] = p;
                    sum += p;
                }
                if (m_new > m) {
                    const float alpha = exp(m - m_use);
                    l_run[g][r] *= alpha;
                    for (int c = 0; c < DKV; c++) {
                        o[g][r][c] *= alpha;
                    }
                    m_run[g][r] = m_new;
                }
                l_run[g][r] += hsum16(sum);
            }

            // 3. values: the keys every row sees in tiles, then each row's own edges
            if (common_hi > common_lo) {
                #if FLASH_QR >= PV_ROWS
                for (int r0 = 0; r0 + PV_ROWS <= FLASH_QR; r0 += PV_ROWS) {
                    VALUE_TILE(PV_ROWS, r0, common_lo, common_hi)
                }
                #endif
                #if FLASH_QR % PV_ROWS != 0
                VALUE_TILE(FLASH_QR % PV_ROWS, FLASH_QR / PV_ROWS * PV_ROWS, common_lo, common_hi)
                #endif
            }
            for (int r = 0; r < FLASH_QR; r++) {
                if (hi[r] <= lo[r]) {
                    continue;
                }
                const int split = common_hi > common_lo;
                const int first_end = split ? min(hi[r], common_lo) : hi[r];
                if (first_end > lo[r]) {
                    VALUE_TILE(1, r, lo[r], first_end)
                }
                if (split && hi[r] > common_hi) {
                    VALUE_TILE(1, r, max(lo[r], common_hi), hi[r])
                }
            }
        }
    }

    const long hd = (long)H * DK;
    for (int row = 0; row < FLASH_QR * blocks && first_row + row < N; row++) {
        const int g = row / FLASH_QR;
        const int r = row % FLASH_QR;
        __global float* out = heads_out + ((long)b * N + first_row + row) * hd + (long)head * DK;
        const float l_row = l_run[g][r];
        const float inv = 1.0f / l_row;
        if (want_lse) {
            lse[(long)bh * N + first_row + row] = row_lse(m_run[g][r], l_row);
        }
        for (int c = 0; c < DKV; c++) {
            const float16 val = l_row == 0.0f ? (float16)(0.0f) : o[g][r][c] * inv;
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
