// rope.cl: rotary position embedding, in place, on any layout of queries or keys (the host gives
// the strides). Angles are never computed here: the host computes each position's cosines and
// sines in float64 (core.RopeTable) and passes them as tables, because a float32 angle at
// position 10^5 is off by about 10^-2 radians.
//
//   element (b, h, t, d) of buf at  b*b_stride + h*h_stride + t'*t_stride + d*d_stride
//       t' = t, or for a cache append (append != 0) SEQ_KV_START[b] + t, rows t >= SEQ_Q_ROWS skipped
//   its table row  b*table_b_rows + t + table_t_offset   (table_b_rows 0: one table for every sequence)
//   pair c < pairs = half the rotated channels: (c, c + pairs) when neox, else (2c, 2c + 1);  (u, w) -> (u cos - w sin, u sin + w cos)
//
// Layouts: Q [B,H,N,DK] (1 = d stride), Kt [B,HKV,DK,KS] (t stride 1, d stride KS), and the
// staged path's row-major [B,L,heads*dk].
// Launch: global (T * pairs, heads, B).

__kernel void rope(__global float* buf, __global const float* cos_table, __global const float* sin_table,
                   const int T, const int pairs, const int neox,
                   const long b_stride, const long h_stride, const long t_stride, const long d_stride,
                   const int table_b_rows, const int table_t_offset, __global const int* seq, const int append) {
    const int tc = (int)get_global_id(0);
    const int h = (int)get_global_id(1);
    const int b = (int)get_global_id(2);
    if (tc >= T * pairs) {
        return;
    }
    const int t = tc / pairs;
    const int c = tc % pairs;
    long tt = t;
    if (append) {
        if (t >= seq[4 * b + SEQ_Q_ROWS]) {
            return;
        }
        tt = seq[4 * b + SEQ_KV_START] + t;
    }
    const long row = (long)b * table_b_rows + t + table_t_offset;
    const float cs = cos_table[row * pairs + c];
    const float sn = sin_table[row * pairs + c];
    const long base = b * b_stride + h * h_stride + tt * t_stride;
    const long ia = base + (long)(neox ? c : 2 * c) * d_stride;
    const long ib = base + (long)(neox ? c + pairs : 2 * c + 1) * d_stride;
    const float u = buf[ia];
    const float w = buf[ib];
    buf[ia] = u * cs - w * sn;
    buf[ib] = u * sn + w * cs;
}
