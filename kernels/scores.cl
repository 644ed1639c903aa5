// scores.cl: scaled, masked attention scores, one head at a time.
//
//   S[b, h, i, j] = scale * sum_d Q[b, i, h*dk + d] * K[b, j, g*dk + d] + attn_bias[i, j],  g = kv_head(h)
//                   or -INFINITY where key j is hidden from query i (causal, key padding)
//
//   Q [B, N, H*dk], K [B, M, HKV*dk], attn_bias [N, M] (when has_bias), seq [B, 4] (common.cl),
//   S [B, H, N, M].
// Global size (M, N, B*H): one work-item per score.

__kernel void scores(__global const float* Q, __global const float* K, __global const float* attn_bias,
                     __global const int* seq, __global float* S,
                     const int N, const int M, const int H, const int HKV, const int dk, const float scale,
                     const int causal, const int has_bias) {
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
    const int end = visible_keys((long)query_i, seq, b, causal);
    if (key_j >= (size_t)end) {
        *out = CLATTN_NEG_INF;
        return;
    }
    const __global float* q = Q + ((size_t)b * N + query_i) * hd + (size_t)h * dk;
    const __global float* k = K + ((size_t)b * M + key_j) * kvw + (size_t)kv_head(h, H, HKV) * dk;
    float acc = 0.0f;
    for (int d = 0; d < dk; d++) {
        acc = fma(q[d], k[d], acc);
    }
    float s = acc * scale;
    if (has_bias) {
        s += attn_bias[query_i * (size_t)M + key_j];
    }
    *out = s;
}
