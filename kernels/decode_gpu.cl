// decode_gpu.cl: attention of one query per sequence (a decode step), the keys split across
// work-groups (flash-decoding), for GPUs.
//
// A work-group of DEC_WG work-items takes one (split s, sequence b, K/V head g, block of up to
// `head_block` of the group's G = H/HKV query heads) and walks the split's keys
// share of the keys the query sees (split as in decode_cpu.cl) in tiles of DEC_WG keys:
//   1. work-item k scores key j0 + k against every head of the block (coalesced reads of Kt rows),
//      with the score modifiers of common.cl, into p_loc [heads][DEC_WG];
//   2. work-item h (< heads) takes the tile's max, rescales its running state, turns its row of
//      p_loc into exp(s - m) and adds them to l;
//   3. every work-item owns output dims d = lid, lid + DEC_WG, ... and adds p * V[j][d] for the
//      tile's keys (coalesced reads of V rows) into o_loc [heads][DK].
// It writes the partial state (m, l, o) per (b, h, s) as decode_cpu.cl does; decode_combine
// (layout.cl) merges the splits. __local use: heads * (DK + DEC_WG + 3) + ... floats (host-sized).
// Launch: local (DEC_WG, 1, 1), global (splits * DEC_WG, B*HKV, ceil(G / head_block)).

#ifndef DEC_WG
#define DEC_WG 64 // work-items per group = keys per tile
#endif

__kernel __attribute__((reqd_work_group_size(DEC_WG, 1, 1)))
void decode(__global const float* Q, __global const float* Kt, __global const float* V,
            __global const int* seq, __global float* partial, const int key_stride, const int H,
            const int HKV, const float scale, const int causal, const int splits, const int split_keys,
            SCORE_MOD_ARGS, const int head_block, __local float* q_loc, __local float* p_loc,
            __local float* o_loc, __local float* stats) {
    const int lid = (int)get_local_id(0);
    const int s = (int)get_group_id(0);
    const int bg = (int)get_group_id(1);
    const int b = bg / HKV;
    const int g = bg % HKV;
    const int G = H / HKV;
    const int h_first = (int)get_group_id(2) * head_block;
    const int heads = min(head_block, G - h_first);
    int start, j_begin, j_end;
    long pos;
    decode_range(seq, b, causal, window_left, window_right, s, split_keys, &start, &j_begin, &j_end, &pos);
    const __global float* kt = Kt + (long)bg * DK * key_stride;
    const __global float* vh = V + (long)bg * key_stride * DKP;
    __local float* m_loc = stats;
    __local float* l_loc = stats + head_block;
    __local float* a_loc = stats + 2 * head_block;

    for (int e = lid; e < heads * DK; e += DEC_WG) {
        const int hh = e / DK;
        q_loc[e] = Q[((long)b * H + g * G + h_first + hh) * DK + e % DK];
        o_loc[e] = 0.0f;
    }
    if (lid < heads) {
        m_loc[lid] = CLATTN_NEG_INF;
        l_loc[lid] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (int j0 = j_begin; j0 < j_end; j0 += DEC_WG) {
        const int j = j0 + lid;
        const int seen = j >= start && j < j_end;
        for (int hh = 0; hh < heads; hh++) {
            float acc = 0.0f;
            if (seen) {
                for (int d = 0; d < DK; d++) {
                    acc = fma(q_loc[hh * DK + d], kt[(long)d * key_stride + j], acc);
                }
            }
            const float slope = has_alibi ? alibi[g * G + h_first + hh] : 0.0f;
            p_loc[hh * DEC_WG + lid] = seen ? modify_score(acc * scale, softcap, slope, pos, j) : CLATTN_NEG_INF;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int tile = min(DEC_WG, j_end - j0);
        if (lid < heads) {
            __local float* row = p_loc + lid * DEC_WG;
            float tile_max = CLATTN_NEG_INF;
            for (int k = 0; k < tile; k++) {
                tile_max = fmax(tile_max, row[k]);
            }
            const float m_old = m_loc[lid];
            const float m_new = fmax(m_old, tile_max);
            const float m_use = m_new == CLATTN_NEG_INF ? 0.0f : m_new;
            const float alpha = exp(m_old - m_use);
            float sum = 0.0f;
            for (int k = 0; k < tile; k++) {
                row[k] = exp(row[k] - m_use);
                sum += row[k];
            }
            l_loc[lid] = l_loc[lid] * alpha + sum;
            m_loc[lid] = m_new;
            a_loc[lid] = alpha;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int d = lid; d < DK; d += DEC_WG) {
            for (int hh = 0; hh < heads; hh++) {
                float acc = o_loc[hh * DK + d] * a_loc[hh];
                for (int k = max(0, start - j0); k < tile; k++) {
                    acc = fma(p_loc[hh * DEC_WG + k], vh[(long)(j0 + k) * DKP + d], acc);
                }
                o_loc[hh * DK + d] = acc;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int hh = 0; hh < heads; hh++) {
        __global float* out = partial + (((long)b * H + g * G + h_first + hh) * splits + s) * (2 + DKP);
        if (lid == 0) {
            out[0] = m_loc[hh];
            out[1] = l_loc[hh];
        }
        for (int d = lid; d < DK; d += DEC_WG) {
            out[2 + d] = o_loc[hh * DK + d];
        }
    }
}
