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
// keys (KEY_ALIGN, so every read stays inside the key stride) as four float16 vectors and two query
// rows at a time, so the dot products run as eight independent chains and the modifiers and exp
// run on vectors. Only the rows that see one of the keys are visited; a row's hidden lanes add 0.
// Launch: global (ceil(M / 64), B*H).
#define KM_KEYS KEY_ALIGN
#define KM_V (KM_KEYS / 16)

// Adds one row's probabilities exp(s - lse) of the keys j0 .. j0+63 to mass, from its dot products
// s (unscaled): the same modifiers, in the same order, as key_mass.
inline void key_mass_row(float16* mass, const float16* s, const float scale, const float softcap, const float slope,
                         const long p, const int start, const int end, const float row_lse,
                         __global const float* bias_row, const int has_bias, const int j0, const int M) {
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
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
                b16[t] = jv + t < M ? bias_row[jv + t] : 0.0f;
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
    const __global float* kt = Kt + ((long)b * HKV + kv_head(head, H, HKV)) * DK * key_stride + j0;
    const float slope = has_alibi ? alibi[head] : 0.0f;
    float16 mass[KM_V];
    #pragma unroll
    for (int v = 0; v < KM_V; v++) {
        mass[v] = (float16)(0.0f);
    }
    // The rows that see one of the keys are consecutive (both ends of a row's range grow with the
    // row): from the first whose range ends after j0 to the last that starts by j_last.
    int i = 0;
    while (i < N && visible_keys(i, seq, b, causal, window_left, window_right) <= j0) {
        i++;
    }
    for (; i < N && first_key(i, seq, b, window_left) <= j_last; i += 2) {
        const int i1 = i + 1 < N ? i + 1 : i; // a lone last row is computed twice, added once
        const __global float* q0 = Q + ((long)bh * N + i) * DK;
        const __global float* q1 = Q + ((long)bh * N + i1) * DK;
        float16 s0[KM_V];
        float16 s1[KM_V];
        #pragma unroll
        for (int v = 0; v < KM_V; v++) {
            s0[v] = (float16)(0.0f);
            s1[v] = (float16)(0.0f);
        }
        for (int d = 0; d < DK; d++) {
            const float16 a = (float16)(q0[d]);
            const float16 c = (float16)(q1[d]);
            #pragma unroll
            for (int v = 0; v < KM_V; v++) {
                const float16 k = vload16(v, kt + (long)d * key_stride);
                s0[v] = fma(a, k, s0[v]);
                s1[v] = fma(c, k, s1[v]);
            }
        }
        key_mass_row(mass, s0, scale, softcap, slope, query_position(i, seq, b), first_key(i, seq, b, window_left),
                     visible_keys(i, seq, b, causal, window_left, window_right), lse[(long)bh * N + i],
                     attn_bias + (long)i * bias_cols, has_bias, j0, M);
        if (i1 != i) {
            // a second row past the keys' last reader hides every lane (its start is after j_last)
            key_mass_row(mass, s1, scale, softcap, slope, query_position(i1, seq, b),
                         first_key(i1, seq, b, window_left), visible_keys(i1, seq, b, causal, window_left, window_right),
                         lse[(long)bh * N + i1], attn_bias + (long)i1 * bias_cols, has_bias, j0, M);
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
