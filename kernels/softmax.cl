// softmax.cl: numerically stable row softmax over the scores, in place.
//
//   P[r, j] = exp(S[r, j] - max_j S[r, j]) / sum_j exp(S[r, j] - max_j S[r, j])
//
// S [rows, M] with rows = B*H*N. A row whose maximum is -INFINITY (no visible key) becomes all
// zeros, never NaN. One work-item per row.

__kernel void softmax_rows(__global float* S, const long rows, const int M) {
    const size_t row = get_global_id(0);
    if (row >= (size_t)rows) {
        return;
    }
    __global float* s = S + row * (size_t)M;
    // pass 1: row maximum
    float row_max = CLATTN_NEG_INF;
    for (int j = 0; j < M; j++) {
        row_max = fmax(row_max, s[j]);
    }
    if (row_max == CLATTN_NEG_INF) {
        for (int j = 0; j < M; j++) {
            s[j] = 0.0f;
        }
        return;
    }
    // pass 2: exponentials and their sum
    float sum = 0.0f;
    for (int j = 0; j < M; j++) {
        const float e = exp(s[j] - row_max);
        s[j] = e;
        sum += e;
    }
    // pass 3: normalise
    for (int j = 0; j < M; j++) {
        s[j] = s[j] / sum;
    }
}
