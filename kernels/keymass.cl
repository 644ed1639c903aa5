// keymass.cl: key_mass [B, H, M], the attention each key received summed over the query rows,
// after a flash kernel has written every row's log-sum-exp lse [B, H, N]:
//
//   key_mass[b, h, j] = sum over the rows i that see j of exp(s_ij - lse[b, h, i])
//
// with s_ij recomputed exactly as the flash kernels score it (scale, softcap, attn_bias, ALiBi;
// the sink is inside lse), so no N x M matrix is stored, as a FlashAttention backward pass does.
// Keys nobody sees get 0. The rows that see key j are consecutive (first_key and visible_keys
// grow with the row), so the scan stops at the first row that starts after j.
// Layout (layout.cl): Q [B,H,N,DK], Kt [B,HKV,DK,KS]; query head h reads K head kv_head(h).
// Launch: global (M rounded up to any local size, B*H): one work-item per (key, query head), so
// neighbouring work-items read neighbouring keys of Kt and the same query rows.

__kernel void key_mass(__global const float* Q, __global const float* Kt, __global const float* attn_bias,
                       const int bias_cols, const int has_bias, __global const int* seq, __global const float* lse,
                       __global float* key_mass, const int N, const int M, const int key_stride, const int H,
                       const int HKV, const float scale, const int causal, SCORE_MOD_ARGS) {
    const int j = (int)get_global_id(0);
    const int bh = (int)get_global_id(1);
    if (j >= M) {
        return;
    }
    const int b = bh / H;
    const int head = bh % H;
    const __global float* kt = Kt + ((long)b * HKV + kv_head(head, H, HKV)) * DK * key_stride + j;
    float k[DK];
    for (int d = 0; d < DK; d++) {
        k[d] = kt[(long)d * key_stride];
    }
    const float slope = has_alibi ? alibi[head] : 0.0f;
    float mass = 0.0f;
    for (int i = 0; i < N; i++) {
        if (first_key(i, seq, b, window_left) > j) {
            break;
        }
        if (j >= visible_keys(i, seq, b, causal, window_left, window_right)) {
            continue;
        }
        const __global float* q = Q + ((long)bh * N + i) * DK;
        float acc = 0.0f;
        for (int d = 0; d < DK; d++) {
            acc = fma(q[d], k[d], acc);
        }
        const long p = query_position(i, seq, b);
        float s = modify_score(acc * scale, softcap, 0.0f, p, j);
        if (has_bias) {
            s += attn_bias[(long)i * bias_cols + j];
        }
        s = modify_score(s, 0.0f, slope, p, j);
        if (s != CLATTN_NEG_INF) { // a bias of -inf: no mass (and the row's lse may be -inf too)
            mass += exp(s - lse[(long)bh * N + i]);
        }
    }
    key_mass[(long)bh * M + j] = mass;
}

// The same for CPU drivers (PoCL and the like), which run a work-item's loops as written and only
// vectorise across work-items where no loop is left inside: each work-item takes 64 consecutive
// keys (KEY_ALIGN, so every read stays inside the key stride) as four float16 vectors, so the dot
// products run as four independent chains and the modifiers and exp run on vectors. Rows are
// scanned from the first that sees any of the 64 keys to the last; a row's hidden lanes add 0.
// Launch: global (ceil(M / 64), B*H).
#define KM_KEYS KEY_ALIGN
#define KM_V (KM_KEYS / 16)
__kernel void key_mass16(__global const float* Q, __global const float* Kt, __global const float* attn_bias,
                         const int bias_cols, const int has_bias, __global const int* seq, __global const float* lse,
                         __global float* key_mass, const int N, const int M, const int key_stride, const int H,
                         const int HKV, const float scale, const int causal, SCORE_MOD_ARGS) {
    const int j0 = (int)get_global_id(0) * KM_KEYS;
    const int bh = (int)get_global_id(1);
    if (j0 >= M) {
        return;
    }
    const int b = bh / H;
    const int head = bh % H;
    const int j_last = min(j0 + KM_KEYS - 1, M - 1);
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __global float* kt = Kt + ((long)b * HKV + kv_head(head, H, HKV)) * DK * key_stride + j0;
    const float slope = has_alibi ? alibi[head] : 0.0f;
    float16 mass[KM_V];
    #pragma unroll
    for (int v = 0; v < KM_V; v++) {
        mass[v] = (float16)(0.0f);
    }
    for (int i = 0; i < N; i++) {
        const int start = first_key(i, seq, b, window_left);
        if (start > j_last) {
            break; // later rows start later still
        }
        const int end = visible_keys(i, seq, b, causal, window_left, window_right);
        if (end <= j0) {
            continue; // this row sees none of the keys
        }
        const __global float* q = Q + ((long)bh * N + i) * DK;
        float16 s[KM_V];
        #pragma unroll
        for (int v = 0; v < KM_V; v++) {
            s[v] = (float16)(0.0f);
        }
        for (int d = 0; d < DK; d++) {
            const float16 qd = (float16)(q[d]);
            #pragma unroll
            for (int v = 0; v < KM_V; v++) {
                s[v] = fma(qd, vload16(v, kt + (long)d * key_stride), s[v]);
            }
        }
        const long p = query_position(i, seq, b);
        const float row_lse = lse[(long)bh * N + i];
        #pragma unroll
        for (int v = 0; v < KM_V; v++) {
            const int jv = j0 + 16 * v;
            float16 sv = s[v] * scale;
            if (softcap > 0.0f) {
                sv = softcap16(sv, softcap);
            }
            if (has_bias) {
                float b16[16];
                for (int t = 0; t < 16; t++) {
                    b16[t] = jv + t < M ? attn_bias[(long)i * bias_cols + jv + t] : 0.0f;
                }
                sv += vload16(0, b16);
            }
            if (slope != 0.0f) {
                sv = alibi16(sv, slope, p, jv);
            }
            const int16 j = (int16)(jv) + lane;
            const float16 e = exp(sv - row_lse);
            // hidden lanes, and a bias of -inf (no mass; the row's lse may be -inf too), add 0
            mass[v] += select(e, (float16)(0.0f), j < (int16)(start) || j >= (int16)(end) || sv == (float16)(CLATTN_NEG_INF));
        }
    }
    float out[KM_KEYS];
    #pragma unroll
    for (int v = 0; v < KM_V; v++) {
        vstore16(mass[v], v, out);
    }
    for (int t = 0; t < KM_KEYS && j0 + t < M; t++) {
        key_mass[(long)bh * M + j0 + t] = out[t];
    }
}
