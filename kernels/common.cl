// common.cl: helpers shared by every clattn kernel file (prepended by the host to each program).
//
// What each sequence (batch row b) of a call may see comes in one small int buffer, seq [B, 4]:
//   SEQ_Q_START   position of query row 0: M - N in a forward call (bottom-right aligned), the
//                 sequence's length before the chunk in a cache step; row i is at q_start + i
//   SEQ_KEY_LEN   keys the sequence has: [0, key_len) may be seen (a forward call's
//                 min(M, key_valid_len[b]))
//   SEQ_Q_ROWS    query rows that exist; rows past it (padding of a ragged chunk) see nothing
//   SEQ_KV_START  where the chunk's first key and value are stored (cache appends; 0 otherwise)
// The keys query i (at position p = q_start + i) may see are always one range
// [first_key, visible_keys): key padding (j < key_len), causal (j <= p) and a right window
// (j <= p + window_right) cut a suffix, a left window (j >= p - window_left) a prefix; both ends
// grow with i, so a block of rows sees the union of its first and last rows' ranges.
// Scores, in the contract's order: s = scale*q.k; softcap C*tanh(s/C); + attn_bias; - slope_h*|p - j|;
// softmax over the visible keys with sinks[h] in the denominator. Query head h reads key/value head kv_head(h)
// (grouped-query attention: H query heads share HKV key/value heads in consecutive groups; HKV = H
// is plain multi-head attention). The same rules are AttentionPass.Queries and core.Heads.kvHead
// in Java. Indices are 64-bit (size_t / long) wherever a product of sizes can exceed 2^31.

#define CLATTN_NEG_INF (-INFINITY)

#define SEQ_Q_START 0
#define SEQ_KEY_LEN 1
#define SEQ_Q_ROWS 2
#define SEQ_KV_START 3

// The position of query row `query` of sequence b (what causal masks, windows and ALiBi measure from).
inline long query_position(const long query, __global const int* seq, const int b) {
    return (long)seq[4 * b + SEQ_Q_START] + query;
}

// The first key query `query` of sequence b may see (0 without a left window).
inline int first_key(const long query, __global const int* seq, const int b, const int window_left) {
    __global const int* s = seq + 4 * b;
    if (window_left < 0 || query >= s[SEQ_Q_ROWS]) {
        return 0;
    }
    return (int)max(0L, (long)s[SEQ_Q_START] + query - window_left);
}

// The end of the keys query `query` of sequence b may see: they are [first_key, visible_keys).
inline int visible_keys(const long query, __global const int* seq, const int b, const int causal,
                        const int window_left, const int window_right) {
    __global const int* s = seq + 4 * b;
    if (query >= s[SEQ_Q_ROWS]) {
        return 0;
    }
    const long p = (long)s[SEQ_Q_START] + query;
    long end = s[SEQ_KEY_LEN];
    if (causal) {
        end = min(end, p + 1);
    }
    if (window_right >= 0) {
        end = min(end, p + window_right + 1);
    }
    return (int)max(end, (long)first_key(query, seq, b, window_left));
}

// The score modifiers, the same trailing arguments of every attention kernel (host: ScoreMods):
//   window_left, window_right   keys before / after the query's position it may see (-1: no limit)
//   softcap                     C of s = C*tanh(s/C), or 0 for none
//   alibi [H], has_alibi        ALiBi slope per query head: s -= slope*|p - j|
//   sinks [H], has_sinks        a logit per query head that joins the softmax denominator, no value
// Absent arrays are a placeholder buffer with their flag 0.
#define SCORE_MOD_ARGS const int window_left, const int window_right, const float softcap, \
    __global const float* alibi, const int has_alibi, __global const float* sinks, const int has_sinks

// Softcap then ALiBi on one score (an attn_bias, additive like ALiBi, is added by the caller).
// p is the query's position and j the key's.
inline float modify_score(const float s, const float softcap, const float slope, const long p, const long j) {
    const float capped = softcap > 0.0f ? softcap * tanh(s / softcap) : s;
    return slope != 0.0f ? capped - slope * (float)(p > j ? p - j : j - p) : capped;
}

// The same on the scores of keys j0 .. j0+15 (one lane per key) of a query at position p: the
// callers test softcap > 0 and slope != 0 once per step, so plain attention pays nothing.
inline float16 softcap16(const float16 s, const float softcap) {
    return softcap * tanh(s / softcap);
}

inline float16 alibi16(const float16 s, const float slope, const long p, const long j0) {
    const float16 lanes = (float16)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f, 11.0f,
                                    12.0f, 13.0f, 14.0f, 15.0f);
    return s - slope * fabs((float16)((float)(p - j0)) - lanes);
}

// exp on 16 lanes from basic operations, as the Java path's FastExp computes it: x = n·ln2 + r with
// n = round(x·log2 e) (ln2 in two parts), exp(x) = 2^n·P(r), P the Taylor polynomial of degree 7;
// about 1 ulp. Arguments are clamped to [-87.3, 88] so that 2^n stays normal; below -87.3 (and
// -inf) the result is 0, and NaN stays NaN. Fewer operations than the driver's exp, whose
// accuracy guarantees (and special cases) the softmax does not need.
inline float16 exp16(const float16 x) {
    const float16 xc = select(select(x, (float16)(-87.3f), x < -87.3f), (float16)(88.0f), x > 88.0f);
    const float16 t = fma(xc, (float16)(1.44269504f), (float16)(12582912.0f)); // + 1.5·2^23 rounds
    const float16 n = t - 12582912.0f;
    float16 r = fma(n, (float16)(-0.693359375f), xc);
    r = fma(n, (float16)(2.12194440e-4f), r);
    float16 p = fma((float16)(1.0f / 5040.0f), r, (float16)(1.0f / 720.0f));
    p = fma(p, r, (float16)(1.0f / 120.0f));
    p = fma(p, r, (float16)(1.0f / 24.0f));
    p = fma(p, r, (float16)(1.0f / 6.0f));
    p = fma(p, r, (float16)(0.5f));
    p = fma(p, r, (float16)(1.0f));
    p = fma(p, r, (float16)(1.0f));
    const float16 two_n = as_float16((as_int16(t) - 0x4B400000 + 127) << 23);
    return select(p * two_n, (float16)(0.0f), x < -87.3f);
}

// The log-sum-exp of a finished row: m + log(l), -inf when nothing (no key, no sink) was summed.
inline float row_lse(const float m, const float l) {
    return l == 0.0f ? CLATTN_NEG_INF : m + log(l);
}

// The last query row up to `last` that exists in sequence b (rows past SEQ_Q_ROWS are padding):
// among real rows the one that sees the most keys (visible_keys grows with the row).
inline long last_real_row(const long last, __global const int* seq, const int b) {
    return min(last, (long)seq[4 * b + SEQ_Q_ROWS] - 1);
}

inline int kv_head(const int h, const int H, const int HKV) {
    return h / (H / HKV);
}

// Horizontal max and sum of a float16 as a tree of halves. The halves are built from components
// rather than with .lo / .hi, which unoptimised builds turn into shuffles with an undefined operand
// that Oclgrind's uninitialised-value check reports; optimised builds compile both forms alike.
inline float hmax16(const float16 v) {
    const float8 a = fmax((float8)(v.s0, v.s1, v.s2, v.s3, v.s4, v.s5, v.s6, v.s7),
                          (float8)(v.s8, v.s9, v.sa, v.sb, v.sc, v.sd, v.se, v.sf));
    const float4 b = fmax((float4)(a.s0, a.s1, a.s2, a.s3), (float4)(a.s4, a.s5, a.s6, a.s7));
    return fmax(fmax(b.s0, b.s2), fmax(b.s1, b.s3));
}

inline float hsum16(const float16 v) {
    const float8 a = (float8)(v.s0, v.s1, v.s2, v.s3, v.s4, v.s5, v.s6, v.s7)
                   + (float8)(v.s8, v.s9, v.sa, v.sb, v.sc, v.sd, v.se, v.sf);
    const float4 b = (float4)(a.s0, a.s1, a.s2, a.s3) + (float4)(a.s4, a.s5, a.s6, a.s7);
    return (b.s0 + b.s2) + (b.s1 + b.s3);
}

// The online-softmax update of one query row for one step of KV float16 score vectors s[0..KV)
// (hidden keys already -inf), as the CPU decode kernel runs it (flash_cpu.cl makes the same update
// over a row's scores of a whole chunk, with exp16):
//   m' = max(m, max s)   m_use = (m' == -inf) ? 0 : m'   (a fully hidden step gives 0, not NaN)
//   p  = exp(s - m_use), handed to STORE_P(v, p) for the values that follow
//   l  = l·exp(m - m_use) + sum p,  o[0..NC) *= exp(m - m_use)
// The rescaling is skipped when the maximum does not grow (the factor is exactly 1).
#define ONLINE_SOFTMAX_ROW(s, KV, m, l, o, NC, STORE_P)                         \
    {                                                                         \
        float step_max_ = CLATTN_NEG_INF;                                     \
        _Pragma("unroll")                                                     \
        for (int v_ = 0; v_ < (KV); v_++) {                                   \
            step_max_ = fmax(step_max_, hmax16((s)[v_]));                     \
        }                                                                     \
        const float m_new_ = fmax(m, step_max_);                              \
        const float m_use_ = m_new_ == CLATTN_NEG_INF ? 0.0f : m_new_;       \
        float p_sum_ = 0.0f;                                                  \
        _Pragma("unroll")                                                     \
        for (int v_ = 0; v_ < (KV); v_++) {                                   \
            const float16 p_ = exp((s)[v_] - m_use_);                         \
            p_sum_ += hsum16(p_);                                             \
            STORE_P(v_, p_)                                                   \
        }                                                                     \
        if (m_new_ > m) {                                                     \
            const float alpha_ = exp(m - m_use_);                             \
            l *= alpha_;                                                      \
            _Pragma("unroll")                                                 \
            for (int c_ = 0; c_ < (NC); c_++) {                               \
                (o)[c_] *= alpha_;                                            \
            }                                                                 \
            m = m_new_;                                                       \
        }                                                                     \
        l += p_sum_;                                                          \
    }

// Where element (k, c) of a weight matrix W [inner, ldw] lies in its buffer: row-major (w_panel 0),
// or in panels of w_panel columns, each [inner, w_panel] and contiguous, side by side (the host
// packs CPU devices' weights so: a decode step's GEMV then reads each work-item's columns as a few
// contiguous streams instead of one short run per row of W, 2 to 4 pages apart).
inline long weight_at(const int k, const int c, const int inner, const int ldw, const int w_panel) {
    return w_panel == 0 ? (long)k * ldw + c : ((long)(c / w_panel) * inner + k) * w_panel + c % w_panel;
}
