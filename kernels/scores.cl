// scores.cl: scaled, modified, masked attention scores, one head at a time.
//
//   S[b, h, i, j] = alibi(softcap(scale * sum_d Q[b, i, h*dk + d] * K[b, j, g*dk + d]) + attn_bias[i, j]),
//                   g = kv_head(h), or -INFINITY where key j is hidden from query i (outside
//                   [first_key, visible_keys): causal, key padding, window)
//
//   Q [B, N, H*dk], K [B, M, HKV*dk], attn_bias [N, M] (when has_bias), seq [B, 4] (common.cl),
//   S [B, H, N, M]. The modifiers are common.cl's SCORE_MOD_ARGS (sinks are softmax.cl's).
// Global size (M, N, B*H): one work-item per score.

__kernel void scores(__global const float* Q, __global const float* K, __global const float* attn_bias,
                     __global const int* seq, __global float* S,
                     const int N, const int M, const int H, const int HKV, const int dk, const float scale,
                     const int causal, const int has_bias, SCORE_MOD_ARGS) {
    const size_t key_j = get_global_id(0);
    const size_t query_i = get_global_id(1);
    const size_t bh = get_global_id(2);
    if (key_j >= (size_t)M || query_i >= (size_t)N) {
        return;
    }
    const int b = (int)(bh / H);
    const int h = (int)(bh % H);
    const size_t hd = (size_t)H * dk;
    const size_t kvw = (size_t)HKV * dk;
    __global float* out = S + (bh * N + query_i) * (size_t)M + key_j;
    const int start = first_key((long)query_i, seq, b, window_left);
    const int end = visible_keys((long)query_i, seq, b, causal, window_left, window_right);
    if (key_j >= (size_t)end || key_j < (size_t)start) {
        *out = CLATTN_NEG_INF;
        return;
    }
    const __global float* q = Q + ((size_t)b * N + query_i) * hd + (size_t)h * dk;
    const __global float* k = K + ((size_t)b * M + key_j) * kvw + (size_t)kv_head(h, H, HKV) * dk;
    float acc = 0.0f;
    for (int d = 0; d < dk; d++) {
        acc = fma(q[d], k[d], acc);
    }
    const long p = query_position((long)query_i, seq, b);
    float s = modify_score(acc * scale, softcap, 0.0f, p, (long)key_j);
    if (has_bias) {
        s += attn_bias[query_i * (size_t)M + key_j];
    }
    *out = modify_score(s, 0.0f, has_alibi ? alibi[h] : 0.0f, p, (long)key_j);
}
