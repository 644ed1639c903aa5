// weighting.cl: value weighting, the last attention stage before the output projection.
//
//   heads_out[b, i, h*dk + d] = sum_{first <= j < visible} P[b, h, i, j] * V[b, j, g*dk + d],  g = kv_head(h)
//
//   P [B, H, N, M], V [B, M, HKV*dk], heads_out [B, N, H*dk].
// Hidden keys are skipped by range, not multiplied by zero, so NaN or Inf in hidden values never
// reaches the output. Global size (dk, N, B*H): one work-item per output element.

__kernel void weight_values(__global const float* P, __global const float* V, __global float* heads_out,
                            __global const int* seq,
                            const int N, const int M, const int H, const int HKV, const int dk,
                            const int causal, const int window_left, const int window_right) {
    const size_t d = get_global_id(0);
    const size_t query_i = get_global_id(1);
    const size_t bh = get_global_id(2);
    if (d >= (size_t)dk || query_i >= (size_t)N) {
        return;
    }
    const int b = (int)(bh / H);
    const int h = (int)(bh % H);
    const size_t hd = (size_t)H * dk;
    const int start = first_key((long)query_i, seq, b, window_left);
    const int end = visible_keys((long)query_i, seq, b, causal, window_left, window_right);
    const __global float* p = P + (bh * N + query_i) * (size_t)M;
    const size_t kvw = (size_t)HKV * dk;
    const __global float* v = V + (size_t)b * M * kvw + (size_t)kv_head(h, H, HKV) * dk + d;
    float acc = 0.0f;
    for (int j = start; j < end; j++) {
        acc = fma(p[j], v[(size_t)j * kvw], acc);
    }
    heads_out[((size_t)b * N + query_i) * hd + (size_t)h * dk + d] = acc;
}
