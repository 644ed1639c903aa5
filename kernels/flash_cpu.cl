// flash_cpu.cl: fused attention for CPU devices: no __local memory, no barriers. Each work-item
// owns FLASH_QR query rows of one (batch, head) and streams the keys they may see in steps of
// 16, one float16 lane per key, never materialising a score matrix.
//
// Per step of 16 keys j0 .. j0+15 and per query row (online softmax):
//   s   = scale * q·k_j + attn_bias[i, j]            (16 lanes; hidden keys → -inf)
//   m'  = max(m, max_j s)        m_use = (m' == -inf) ? 0 : m'     (a fully hidden step gives 0, not NaN)
//   p_j = exp(s_j - m_use)       l = l·exp(m - m_use) + sum_j p_j
//   o   = o·exp(m - m_use) + sum_j p_j · v_j
// and at the end heads_out = o / l, or zeros where l = 0 (a query that sees no key).
//
// The keys a row may see are the prefix [0, end) (visible_keys in common.cl), so keys past the
// largest end of the work-item's rows are never read and steps where every row sees all 16 keys
// take a path without masks. In the few steps where rows differ, hidden keys are masked in the
// scores and skipped in the value sum, so NaN or Inf in hidden keys or values never reaches
// the output. Causal steps above the diagonal are never visited.
//
// Layout (layout.cl): Q [B,H,N,DK], Kt [B,H,DK,MP], V [B,H,M,DKP], heads_out [B,N,H*DK].
// Launch: global (ceil(N / FLASH_QR), B*H), any local size (1 is best on PoCL).

#ifndef FLASH_QR
#define FLASH_QR 4 // query rows per work-item; each keeps DKP floats of accumulator in registers
#endif
#define DKV (DKP / 16) // float16 vectors per accumulator row

inline float hmax16(const float16 v) {
    const float8 a = fmax(v.lo, v.hi);
    const float4 b = fmax(a.lo, a.hi);
    const float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}

inline float hsum16(const float16 v) {
    const float8 a = v.lo + v.hi;
    const float4 b = a.lo + a.hi;
    const float2 c = b.lo + b.hi;
    return c.x + c.y;
}

// The scores of 16 keys (columns j0.. of Kt, already offset) for each row: s[r] = q_r · k.
#define SCORES(s, kt_step)                                                    \
    _Pragma("unroll")                                                         \
    for (int r = 0; r < FLASH_QR; r++) {                                      \
        s[r] = (float16)(0.0f);                                               \
    }                                                                         \
    for (int d = 0; d < DK; d++) {                                            \
        const float16 kd = vload16(0, (kt_step) + (long)d * MP);              \
        _Pragma("unroll")                                                     \
        for (int r = 0; r < FLASH_QR; r++) {                                  \
            s[r] = fma((float16)(q[r][d]), kd, s[r]);                         \
        }                                                                     \
    }

// One key of a step where every row sees all 16 keys: o_r += p_r[lane] * v_j for every row.
#define ADD_VALUE(JJ, LANE)                                                   \
    {                                                                         \
        const __global float* vj = vh + (long)(j0 + JJ) * DKP;                \
        _Pragma("unroll")                                                     \
        for (int c = 0; c < DKV; c++) {                                       \
            const float16 vc = vload16(c, vj);                                \
            _Pragma("unroll")                                                 \
            for (int r = 0; r < FLASH_QR; r++) {                              \
                o[r][c] = fma((float16)(p[r].LANE), vc, o[r][c]);             \
            }                                                                 \
        }                                                                     \
    }

__kernel void flash(__global const float* Q, __global const float* Kt, __global const float* V,
                    __global const float* attn_bias, __global const int* key_valid_len,
                    __global float* heads_out, const int N, const int M, const int H, const float scale,
                    const int causal, const int has_bias, const int has_valid_len) {
    const int i0 = (int)get_global_id(0) * FLASH_QR;
    const int bh = (int)get_global_id(1);
    if (i0 >= N) {
        return;
    }
    const int b = bh / H;
    const int head = bh % H;
    const long MP = padded_keys(M);
    const __global float* kt = Kt + (long)bh * DK * MP;
    const __global float* vh = V + (long)bh * M * DKP;
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    // Rows past N repeat row N-1 (computed, never stored) so every row block is full.
    const __global float* q[FLASH_QR];
    const __global float* bias_row[FLASH_QR];
    int end[FLASH_QR];
    int end_min = M;
    int end_max = 0;
    float m[FLASH_QR];
    float l[FLASH_QR];
    float16 o[FLASH_QR][DKV];
    #pragma unroll
    for (int r = 0; r < FLASH_QR; r++) {
        const long i = min(i0 + r, N - 1);
        q[r] = Q + ((long)bh * N + i) * DK;
        bias_row[r] = attn_bias + (has_bias ? i * M : 0);
        end[r] = visible_keys(i, N, M, causal, has_valid_len, key_valid_len, b);
        end_min = min(end_min, end[r]);
        end_max = max(end_max, end[r]);
        m[r] = CLATTN_NEG_INF;
        l[r] = 0.0f;
        #pragma unroll
        for (int c = 0; c < DKV; c++) {
            o[r][c] = (float16)(0.0f);
        }
    }

    // Steps where every row sees all 16 keys.
    const int full_end = end_min / 16 * 16;
    int j0 = 0;
    for (; j0 < full_end; j0 += 16) {
        float16 s[FLASH_QR];
        SCORES(s, kt + j0)
        float16 p[FLASH_QR];
        #pragma unroll
        for (int r = 0; r < FLASH_QR; r++) {
            float16 sr = s[r] * scale;
            if (has_bias) {
                sr += vload16(0, bias_row[r] + j0);
            }
            const float m_new = fmax(m[r], hmax16(sr));
            const float m_use = m_new == CLATTN_NEG_INF ? 0.0f : m_new;
            p[r] = exp(sr - m_use);
            const float alpha = exp(m[r] - m_use);
            l[r] = l[r] * alpha + hsum16(p[r]);
            m[r] = m_new;
            #pragma unroll
            for (int c = 0; c < DKV; c++) {
                o[r][c] *= alpha;
            }
        }
        ADD_VALUE(0, s0) ADD_VALUE(1, s1) ADD_VALUE(2, s2) ADD_VALUE(3, s3)
        ADD_VALUE(4, s4) ADD_VALUE(5, s5) ADD_VALUE(6, s6) ADD_VALUE(7, s7)
        ADD_VALUE(8, s8) ADD_VALUE(9, s9) ADD_VALUE(10, sa) ADD_VALUE(11, sb)
        ADD_VALUE(12, sc) ADD_VALUE(13, sd) ADD_VALUE(14, se) ADD_VALUE(15, sf)
    }

    // Steps where some keys are hidden from some rows: mask the scores, skip hidden values.
    for (; j0 < end_max; j0 += 16) {
        float16 s[FLASH_QR];
        SCORES(s, kt + j0)
        float p[FLASH_QR][16];
        #pragma unroll
        for (int r = 0; r < FLASH_QR; r++) {
            float16 sr = s[r] * scale;
            if (has_bias) {
                float b16[16];
                for (int t = 0; t < 16; t++) {
                    b16[t] = j0 + t < end[r] ? bias_row[r][j0 + t] : 0.0f;
                }
                sr += vload16(0, b16);
            }
            sr = select(sr, (float16)(CLATTN_NEG_INF), (int16)(j0) + lane >= (int16)(end[r]));
            const float m_new = fmax(m[r], hmax16(sr));
            const float m_use = m_new == CLATTN_NEG_INF ? 0.0f : m_new;
            const float16 pr = exp(sr - m_use);
            const float alpha = exp(m[r] - m_use);
            l[r] = l[r] * alpha + hsum16(pr);
            m[r] = m_new;
            vstore16(pr, 0, p[r]);
            #pragma unroll
            for (int c = 0; c < DKV; c++) {
                o[r][c] *= alpha;
            }
        }
        for (int jj = 0; jj < 16 && j0 + jj < end_max; jj++) {
            const __global float* vj = vh + (long)(j0 + jj) * DKP;
            #pragma unroll
            for (int c = 0; c < DKV; c++) {
                const float16 vc = vload16(c, vj);
                #pragma unroll
                for (int r = 0; r < FLASH_QR; r++) {
                    if (j0 + jj < end[r]) {
                        o[r][c] = fma((float16)(p[r][jj]), vc, o[r][c]);
                    }
                }
            }
        }
    }

    const long hd = (long)H * DK;
    for (int r = 0; r < FLASH_QR && i0 + r < N; r++) {
        __global float* out = heads_out + ((long)b * N + i0 + r) * hd + (long)head * DK;
        const float inv = 1.0f / l[r];
        #pragma unroll
        for (int c = 0; c < DKV; c++) {
            const float16 val = l[r] == 0.0f ? (float16)(0.0f) : o[r][c] * inv;
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
