// layout.cl: where the fused path keeps Q, K and V, shared by the projection GEMMs (which write
// them) and the flash-attention kernels (which read them). Prepended after common.cl to every
// fused program.
//
//   Q  [B, H, N, DK]    one contiguous row of DK per (batch, head, query)
//   Kt [B, H, DK, MP]   keys transposed: for a fixed d, MP consecutive keys (MP = M rounded up
//                       to KEY_ALIGN), so 16 keys' d-th components are one vload16
//   V  [B, H, M, DKP]   one row per key, padded to DKP = DK rounded up to 16 floats
//   heads_out [B, N, H*DK]  the contract's layout, ready for the output projection
//
// Padding (keys M..MP-1 of Kt, columns DK..DKP-1 of V) is zero-filled when a buffer is created
// and never written afterwards; kernels either mask it away or drop the lanes it produces.
//
// Parameters (-D): DK, the head width. Everything else is a kernel argument.

#ifndef DK
#define DK 64 // head width dk; the host always passes the layer's value
#endif
#define KEY_ALIGN 64                       // Kt rows are padded to a multiple of this many keys
#define DKP (((DK) + 15) / 16 * 16)        // V row length: DK rounded up to a float16

inline long padded_keys(const int M) {
    return ((long)M + KEY_ALIGN - 1) / KEY_ALIGN * KEY_ALIGN;
}

// Where the projection writes column `col` of [Q | K | V] (global column index in 0 .. 3*H*DK-1)
// for token `t` of batch row `b`; L is N for the Q section and M for K and V.
//   col = section * H*DK + head * DK + d
inline long qkv_offset(const int section, const int b, const int head, const int d, const long t,
                       const int N, const int M, const int H) {
    if (section == 0) {
        return (((long)b * H + head) * N + t) * DK + d;
    }
    if (section == 1) {
        return (((long)b * H + head) * DK + d) * padded_keys(M) + t;
    }
    return (((long)b * H + head) * M + t) * DKP + d;
}

// Stores one element of a projection result. layout 0: plain row-major C [rows, cols] in out0.
// layout 1: column col of this launch is global column col_base + col of [Q | K | V]; row is
// token row % L of batch row row / L; the section picks out0 (Q), out1 (Kt) or out2 (V).
inline void store_projected(const float value, const int row, const int col, const int cols,
                            __global float* out0, __global float* out1, __global float* out2,
                            const int layout, const int col_base, const int L,
                            const int N, const int M, const int H) {
    if (layout == 0) {
        out0[(long)row * cols + col] = value;
        return;
    }
    const int hd = H * DK;
    const int gc = col_base + col;
    const int section = gc / hd;
    const int head = (gc % hd) / DK;
    const int d = gc % DK;
    __global float* out = section == 0 ? out0 : (section == 1 ? out1 : out2);
    out[qkv_offset(section, row / L, head, d, row % L, N, M, H)] = value;
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
