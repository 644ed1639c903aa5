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
