// common.cl: helpers shared by every clattn kernel file (prepended by the host to each program).
//
// What each sequence (batch row b) of a call may see comes in one small int buffer, seq [B, 4]:
//   SEQ_Q_START   position of query row 0: M - N in a forward call (bottom-right aligned), the
//                 sequence's length before the chunk in a cache step; row i is at q_start + i
//   SEQ_KEY_LEN   keys the sequence has: [0, key_len) may be seen (a forward call's
//                 min(M, key_valid_len[b]))
//   SEQ_Q_ROWS    query rows that exist; rows past it (padding of a ragged chunk) see nothing
//   SEQ_KV_START  where the chunk's first key and value are stored (cache appends; 0 otherwise)
// The keys query i may see are always a prefix [0, visible_keys): causal (j <= q_start + i) and
// key padding (j < key_len) both cut a suffix. Query head h reads key/value head kv_head(h)
// (grouped-query attention: H query heads share HKV key/value heads in consecutive groups; HKV = H
// is plain multi-head attention). The same rules are AttentionPass.Queries and core.Heads.kvHead
// in Java. Indices are 64-bit (size_t / long) wherever a product of sizes can exceed 2^31.

#define CLATTN_NEG_INF (-INFINITY)

#define SEQ_Q_START 0
#define SEQ_KEY_LEN 1
#define SEQ_Q_ROWS 2
#define SEQ_KV_START 3

inline int visible_keys(const long query, __global const int* seq, const int b, const int causal) {
    __global const int* s = seq + 4 * b;
    if (query >= s[SEQ_Q_ROWS]) {
        return 0;
    }
    long end = s[SEQ_KEY_LEN];
    if (causal) {
        end = min(end, (long)s[SEQ_Q_START] + query + 1);
    }
    return (int)max(end, 0L);
}

// The last query row up to `last` that exists in sequence b (rows past SEQ_Q_ROWS are padding):
// among real rows the one that sees the most keys (visible_keys grows with the row).
inline long last_real_row(const long last, __global const int* seq, const int b) {
    return min(last, (long)seq[4 * b + SEQ_Q_ROWS] - 1);
}

inline int kv_head(const int h, const int H, const int HKV) {
    return h / (H / HKV);
}
