// layout.cl: where the fused path keeps Q, K and V, shared by the projection GEMMs (which write
// them) and the flash-attention kernels (which read them). Prepended after common.cl to every
// fused program.
//
//   Q  [B, H, N, DK]           one contiguous row of DK per (batch, head, query)
//   Kt [B, HKV, DK, KS]        keys transposed: for a fixed d, KS consecutive keys, so 16 keys'
//                              d-th components are one vload16; KS (key_stride) is the key
//                              capacity rounded up to KEY_ALIGN
//   V  [B, HKV, KS, DKP]       one row per key, padded to DKP floats (a whole float16)
//   heads_out [B, N, H*DK]     the contract's layout, ready for the output projection
//
// K and V have HKV heads (HKV divides H; query head h reads kv_head(h), common.cl). Padding
// (keys past the last written one in Kt, columns DK..DKP-1 of V) is zero-filled when a buffer
// is created and never written afterwards; kernels either mask it away or drop the lanes it
// produces.
//
// Defined by the host, never here: DK (head width), DKP (DK rounded up to 16) and KEY_ALIGN
// (the multiple key strides are rounded to), computed once in Java (opencl.FusedLayout) so that
// the host's buffer sizes and the kernels' indexing cannot disagree.

#if !defined(DK) || !defined(DKP) || !defined(KEY_ALIGN)
#error "layout.cl needs DK, DKP and KEY_ALIGN from the host (FusedLayout.defines())"
#endif

// The keys a decode step's split s sees, [*j_begin, *j_end): the query (row 0 of sequence b)
// sees [start, end) (first_key, visible_keys); split s takes split_keys of them from start rounded
// down to KEY_ALIGN, so every step reads whole vectors inside the key stride and a window's keys
// are split, not the whole cache. Also gives start (lanes before it are masked) and the position.
inline void decode_range(__global const int* seq, const int b, const int causal, const int window_left,
                         const int window_right, const int s, const int split_keys, int* start, int* j_begin,
                         int* j_end, long* pos) {
    const int end = visible_keys(0, seq, b, causal, window_left, window_right);
    *start = first_key(0, seq, b, window_left);
    *pos = query_position(0, seq, b);
    *j_begin = min(end, *start / KEY_ALIGN * KEY_ALIGN + s * split_keys);
    *j_end = min(end, *j_begin + split_keys);
}

// Where column gc of [Q | K | V] (widths H*DK, HKV*DK, HKV*DK) belongs: its section (0 Q,
// 1 K, 2 V), head within the section and dimension within the head.
inline void qkv_locate(const int gc, const int H, const int HKV, int* section, int* head, int* d) {
    const int qw = H * DK;
    const int kvw = HKV * DK;
    const int s = gc < qw ? 0 : (gc < qw + kvw ? 1 : 2);
    const int g = gc - (s == 0 ? 0 : (s == 1 ? qw : qw + kvw));
    *section = s;
    *head = g / DK;
    *d = g % DK;
}

// The element of Q, Kt or V holding dimension d of head `head` of token t of batch row b.
inline long qkv_offset(const int section, const int b, const int head, const int d, const long t,
                       const int N, const int key_stride, const int H, const int HKV) {
    if (section == 0) {
        return (((long)b * H + head) * N + t) * DK + d;
    }
    if (section == 1) {
        return (((long)b * HKV + head) * DK + d) * key_stride + t;
    }
    return (((long)b * HKV + head) * key_stride + t) * DKP + d;
}

// Where token t of batch row b of a K or V section goes: t itself, or with append (a cache step)
// SEQ_KV_START + t, and nowhere (-1) for padding rows t >= SEQ_Q_ROWS.
inline long kv_token(const long t, const int b, __global const int* seq, const int append) {
    if (!append) {
        return t;
    }
    return t < seq[4 * b + SEQ_Q_ROWS] ? seq[4 * b + SEQ_KV_START] + t : -1;
}

// Stores one element of a projection result. layout 0: plain row-major C [rows, cols] in out0.
// layout 1: column col of this launch is global column col_base + col of [Q | K | V]; row is
// token row % L of batch row row / L; the section picks out0 (Q), out1 (Kt) or out2 (V); K and V
// of a cache step go to their sequence's next positions (kv_token).
inline void store_projected(const float value, const int row, const int col, const int cols,
                            __global float* out0, __global float* out1, __global float* out2,
                            const int layout, const int col_base, const int L,
                            const int N, const int key_stride, const int H, const int HKV,
                            __global const int* seq, const int append) {
    if (layout == 0) {
        out0[(long)row * cols + col] = value;
        return;
    }
    int section, head, d;
    qkv_locate(col_base + col, H, HKV, &section, &head, &d);
    const int b = row / L;
    const long t = section == 0 ? row % L : kv_token(row % L, b, seq, append);
    if (t < 0) {
        return;
    }
    __global float* out = section == 0 ? out0 : (section == 1 ? out1 : out2);
    out[qkv_offset(section, b, head, d, t, N, key_stride, H, HKV)] = value;
}

// Copies a row-major A [rows, cols] (pre-projected Q, K or V: [B*L, heads*DK]) into the layout,
// as the projection GEMMs store their results. Launch: global (cols, rows).
__kernel void scatter_rows(__global const float* A, __global float* out0, __global float* out1,
                           __global float* out2, const int rows, const int cols, const int col_base,
                           const int L, const int N, const int key_stride, const int H, const int HKV,
                           __global const int* seq, const int append) {
    const int col = (int)get_global_id(0);
    const int row = (int)get_global_id(1);
    if (col >= cols || row >= rows) {
        return;
    }
    store_projected(A[(long)row * cols + col], row, col, cols, out0, out1, out2, 1, col_base, L, N, key_stride,
                    H, HKV, seq, append);
}

// Zeroes count floats of buf: the padding of a new Kt or V buffer. A kernel rather than
// clEnqueueFillBuffer so that memory checkers that only track kernel stores (Oclgrind 21.10)
// see the padding as initialised. Launch: global count (rounded up to any local size).
__kernel void fill_zero(__global float* buf, const long count) {
    const size_t i = get_global_id(0);
    if (i < (size_t)count) {
        buf[i] = 0.0f;
    }
}

// Merges the splits of a decode step (decode_cpu.cl, decode_gpu.cl): partial [B, H, splits, 2+DKP]
// holds (m, l, o) per split; with m = max(max_s m_s, sink), l = sum_s l_s e^(m_s - m) + e^(sink - m):
//   heads_out [B, 1, H*DK] = sum_s o_s e^(m_s - m) / l   (zeros when no split saw a key)
//   lse [B, H] = m + log(l)                              (when want_lse; -inf when l is 0)
// where the sink term is there only with has_sinks (the head's sink logit, a key with no value).
// Launch: global (DK, B*H).
__kernel void decode_combine(__global const float* partial, __global float* heads_out, const int splits,
                             const int H, __global const float* sinks, const int has_sinks, __global float* lse,
                             const int want_lse) {
    const int d = (int)get_global_id(0);
    const long bh = (long)get_global_id(1);
    if (d >= DK) {
        return;
    }
    const __global float* p = partial + bh * splits * (2 + DKP);
    const float sink = has_sinks ? sinks[bh % H] : CLATTN_NEG_INF;
    float m = sink;
    for (int s = 0; s < splits; s++) {
        m = fmax(m, p[s * (2 + DKP)]);
    }
    float l = 0.0f;
    float o = 0.0f;
    if (m != CLATTN_NEG_INF) {
        l = has_sinks ? exp(sink - m) : 0.0f;
        for (int s = 0; s < splits; s++) {
            const float ms = p[s * (2 + DKP)];
            if (ms == CLATTN_NEG_INF) {
                continue;
            }
            const float w = exp(ms - m);
            l = fma(p[s * (2 + DKP) + 1], w, l);
            o = fma(p[s * (2 + DKP) + 2 + d], w, o);
        }
    }
    heads_out[bh * DK + d] = l == 0.0f ? 0.0f : o / l;
    if (want_lse && d == 0) {
        lse[bh] = row_lse(m, l);
    }
}
