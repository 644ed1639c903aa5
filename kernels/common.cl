// common.cl: helpers shared by every clattn kernel file (prepended by the host to each program).
//
// Both masks of the contract hide a suffix of the keys, so the keys query i may see are always
// the prefix [0, visible_keys):
//   causal (bottom-right aligned): key j visible iff j <= i + (M - N)
//   key padding:                   key j visible iff j <  key_valid_len[b]
// Query head h reads key/value head kv_head(h) (grouped-query attention: H query heads share
// HKV key/value heads in consecutive groups; HKV = H is plain multi-head attention). The same
// rules are AttentionInput.visibleKeys and core.Heads.kvHead in Java.
// Indices are 64-bit (size_t / long) wherever a product of sizes can exceed 2^31.

#define CLATTN_NEG_INF (-INFINITY)

inline int visible_keys(const long query, const int N, const int M, const int causal,
                        const int has_valid_len, __global const int* key_valid_len, const int batch) {
    long end = M;
    if (causal) {
        end = min(end, query + (long)(M - N) + 1);
    }
    if (has_valid_len) {
        end = min(end, (long)key_valid_len[batch]);
    }
    return (int)max(end, 0L);
}

inline int kv_head(const int h, const int H, const int HKV) {
    return h / (H / HKV);
}
