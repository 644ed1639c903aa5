// softmax.cl: numerically stable row softmax over the scores, in place, with an optional sink.
//
//   m = max(max_j S[r, j], sink_h),  denom = sum_j exp(S[r, j] - m) + exp(sink_h - m)
//   P[r, j] = exp(S[r, j] - m) / denom,   lse[r] = m + log(denom)
//
// S [rows, M] with rows = B*H*N (row r is head (r / N) % H); the sink terms only with has_sinks
// (sinks [H]: a logit with no value, gpt-oss). A row with no visible key (maximum score -INFINITY)
// becomes all zeros, never NaN; its lse is the sink, or -INFINITY without one. lse [rows] is
// written when want_lse. One work-item per row.

__kernel void softmax_rows(__global float* S, const long rows, const int M, const int N, const int H,
                           __global const float* sinks, const int has_sinks, __global float* lse,
                           const int want_lse) {
    const size_t row = get_global_id(0);
    if (row >= (size_t)rows) {
        return;
    }
    __global float* s = S + row * (size_t)M;
    const float sink = has_sinks ? sinks[(row / N) % H] : CLATTN_NEG_INF;
    // pass 1: row maximum
    float row_max = CLATTN_NEG_INF;
    for (int j = 0; j < M; j++) {
        row_max = fmax(row_max, s[j]);
    }
    if (row_max == CLATTN_NEG_INF) {
        for (int j = 0; j < M; j++) {
            s[j] = 0.0f;
        }
        if (want_lse) {
            lse[row] = sink;
        }
        return;
    }
    const float m = fmax(row_max, sink);
    // pass 2: exponentials and their sum
    float sum = has_sinks ? exp(sink - m) : 0.0f;
    for (int j = 0; j < M; j++) {
        const float e = exp(s[j] - m);
        s[j] = e;
        sum += e;
    }
    // pass 3: normalise
    for (int j = 0; j < M; j++) {
        s[j] = s[j] / sum;
    }
    if (want_lse) {
        lse[row] = m + log(sum);
    }
}
