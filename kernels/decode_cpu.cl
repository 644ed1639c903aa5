// decode_cpu.cl: attention of one query per sequence (a decode step), the keys split across
// work-items (flash-decoding), for CPU devices: no __local memory, no barriers.
//
// A work-item takes one (split s, sequence b, K/V head g): the G = H/HKV query heads of the group
// read the same keys and values, so they are the rows of its register block (DEC_QR at a time),
// over the split's share of the keys the query sees, [start, end) (first_key and visible_keys of
// row 0, common.cl): split s takes [base + s*split_keys, base + (s+1)*split_keys) with base = start
// rounded down to KEY_ALIGN, so a window's keys are split, not the whole cache. 16*DEC_KV keys per
// step, one float16 lane per key, online softmax as flash_cpu.cl, the score modifiers of common.cl
// (sinks are left to decode_combine). It writes, per (b, h, s), the partial state
//   m = max score,  l = sum exp(s_j - m),  o = sum exp(s_j - m) * v_j      (partial [B,H,splits,2+DKP])
// which decode_combine (layout.cl) merges: m* = max m_s, l* = sum l_s e^(m_s - m*), out = sum o_s e^(m_s - m*) / l*.
//
// split_keys is a multiple of KEY_ALIGN (the host rounds it), so every step reads whole vectors of
// Kt inside the key stride; lanes past `end` are masked and their values skipped.
// Layout (layout.cl): Q [B,H,1,DK], Kt [B,HKV,DK,KS], V [B,HKV,KS,DKP].
// Launch: global (splits, B*HKV), local (1, 1).

#ifndef DEC_QR
#define DEC_QR 4 // query heads per register block
#endif
#ifndef DEC_KV
#define DEC_KV 2 // float16 key vectors per step (1, 2 or 4)
#endif
#define DEC_KS (16 * DEC_KV)
#define DEC_DKV (DKP / 16)
#if KEY_ALIGN % DEC_KS != 0
#error "KEY_ALIGN must be a multiple of the decode keys per step 16*DEC_KV"
#endif

__kernel void decode(__global const float* Q, __global const float* Kt, __global const float* V,
                     __global const int* seq, __global float* partial, const int key_stride, const int H,
                     const int HKV, const float scale, const int causal, const int splits, const int split_keys,
                     SCORE_MOD_ARGS) {
    const int s = (int)get_global_id(0);
    const int bg = (int)get_global_id(1);
    const int b = bg / HKV;
    const int g = bg % HKV;
    const int G = H / HKV;
    int start, j_begin, j_end;
    long pos;
    decode_range(seq, b, causal, window_left, window_right, s, split_keys, &start, &j_begin, &j_end, &pos);
    const __global float* kt = Kt + (long)bg * DK * key_stride;
    const __global float* vh = V + (long)bg * key_stride * DKP;
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    for (int h0 = 0; h0 < G; h0 += DEC_QR) {
        const int rows = min(DEC_QR, G - h0);
        const __global float* q[DEC_QR];
        float slope[DEC_QR];
        float m[DEC_QR];
        float l[DEC_QR];
        float16 o[DEC_QR][DEC_DKV];
        #pragma unroll
        for (int r = 0; r < DEC_QR; r++) {
            // rows past the group repeat its last head (computed, never stored)
            const int h = g * G + h0 + min(r, rows - 1);
            q[r] = Q + ((long)b * H + h) * DK;
            slope[r] = has_alibi ? alibi[h] : 0.0f;
            m[r] = CLATTN_NEG_INF;
            l[r] = 0.0f;
            #pragma unroll
            for (int c = 0; c < DEC_DKV; c++) {
                o[r][c] = (float16)(0.0f);
            }
        }
        for (int j0 = j_begin; j0 < j_end; j0 += DEC_KS) {
            float16 sc[DEC_QR][DEC_KV];
            #pragma unroll
            for (int r = 0; r < DEC_QR; r++) {
                #pragma unroll
                for (int v = 0; v < DEC_KV; v++) {
                    sc[r][v] = (float16)(0.0f);
                }
            }
            for (int d = 0; d < DK; d++) {
                float16 kd[DEC_KV];
                #pragma unroll
                for (int v = 0; v < DEC_KV; v++) {
                    kd[v] = vload16(v, kt + j0 + (long)d * key_stride);
                }
                #pragma unroll
                for (int r = 0; r < DEC_QR; r++) {
                    const float16 qd = (float16)(q[r][d]);
                    #pragma unroll
                    for (int v = 0; v < DEC_KV; v++) {
                        sc[r][v] = fma(qd, kd[v], sc[r][v]);
                    }
                }
            }
            float p[DEC_QR][DEC_KS];
            #pragma unroll
            for (int r = 0; r < DEC_QR; r++) {
                #pragma unroll
                for (int v = 0; v < DEC_KV; v++) {
                    float16 sr = sc[r][v] * scale;
                    if (softcap > 0.0f) {
                        sr = softcap16(sr, softcap);
                    }
                    if (slope[r] != 0.0f) {
                        sr = alibi16(sr, slope[r], pos, j0 + 16 * v);
                    }
                    const int16 j = (int16)(j0 + 16 * v) + lane;
                    sc[r][v] = select(sr, (float16)(CLATTN_NEG_INF), j >= (int16)(j_end) || j < (int16)(start));
                }
                #define STORE_LANES(v, pv) vstore16(pv, v, p[r]);
                ONLINE_SOFTMAX_ROW(sc[r], DEC_KV, m[r], l[r], o[r], DEC_DKV, STORE_LANES)
                #undef STORE_LANES
            }
            const int keys = min(DEC_KS, j_end - j0);
            for (int jj = max(0, start - j0); jj < keys; jj++) {
                const __global float* vj = vh + (long)(j0 + jj) * DKP;
                #pragma unroll
                for (int c = 0; c < DEC_DKV; c++) {
                    const float16 vc = vload16(c, vj);
                    #pragma unroll
                    for (int r = 0; r < DEC_QR; r++) {
                        o[r][c] = fma((float16)(p[r][jj]), vc, o[r][c]);
                    }
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            __global float* out = partial + (((long)b * H + g * G + h0 + r) * splits + s) * (2 + DKP);
            out[0] = m[r];
            out[1] = l[r];
            #pragma unroll
            for (int c = 0; c < DEC_DKV; c++) {
                vstore16(o[r][c], c, out + 2);
            }
        }
    }
}
