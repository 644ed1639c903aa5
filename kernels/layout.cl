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

// Stores one element of a projection result. layout 0: plain row-major C [rows, cols] in out0.
// layout 1: column col of this launch is global column col_base + col of [Q | K | V]; row is
// token row % L of batch row row / L; the section picks out0 (Q), out1 (Kt) or out2 (V).
inline void store_projected(const float value, const int row, const int col, const int cols,
                            __global float* out0, __global float* out1, __global float* out2,
                            const int layout, const int col_base, const int L,
                            const int N, const int key_stride, const int H, const int HKV) {
    if (layout == 0) {
        out0[(long)row * cols + col] = value;
        return;
    }
    int section, head, d;
    qkv_locate(col_base + col, H, HKV, &section, &head, &d);
    __global float* out = section == 0 ? out0 : (section == 1 ? out1 : out2);
    out[qkv_offset(section, row / L, head, d, row % L, N, key_stride, H, HKV)] = value;
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
