// flash_gpu.cl: fused attention for GPUs: a work-group of FLASH_BQ work-items takes FLASH_BQ
// query rows of one (batch, head), one row each, and walks the keys in tiles of FLASH_BK that
// the whole group stages in __local memory; no score matrix is ever stored.
//
// Per tile and per query row (online softmax; see flash_cpu.cl for the same recurrence):
//   s_j = scale * q·k_j, softcap, + attn_bias[i, j], ALiBi   for the tile's keys j the row may see
//   m' = max(m, max_j s_j), m_use = (m' == -inf) ? 0 : m', p_j = exp(s_j - m_use)
//   l = l·exp(m - m_use) + sum_j p_j,  o = o·exp(m - m_use) + sum_j p_j·v_j
// then heads_out = o / l, or zeros where l = 0.
//
// A row only touches the keys it may see ([start, end), first_key and visible_keys in
// common.cl), so hidden keys and values never reach its output; the group walks from its first
// row's start to its last row's end, so causal tiles above the diagonal and tiles behind a left
// window are skipped. The tile loop bounds are the same for the whole group, so every work-item
// reaches every barrier. A sink starts each row's state as a key of score sinks[h] and no value.
//
// Layout (layout.cl): Q [B,H,N,DK], Kt [B,HKV,DK,KS], V [B,HKV,KS,DKP], heads_out [B,N,H*DK];
// query head h reads K/V head kv_head(h).
// Launch: local (FLASH_BQ), global (ceil(N / FLASH_BQ) · FLASH_BQ, B*H).
// __local use: 2 · FLASH_BK · DK floats (the host shrinks FLASH_BK to fit the device).

#ifndef FLASH_BQ
#define FLASH_BQ 64 // query rows per work-group = work-group size
#endif
#ifndef FLASH_BK
#define FLASH_BK 32 // keys per tile staged in __local memory
#endif

__kernel __attribute__((reqd_work_group_size(FLASH_BQ, 1, 1)))
void flash(__global const float* Q, __global const float* Kt, __global const float* V,
           __global const float* attn_bias, const int bias_cols, const int has_bias,
           __global const int* seq, __global float* heads_out, const int N, const int key_stride,
           const int H, const int HKV, const float scale, const int causal,
           const int row_blocks /* flash_cpu.cl only; the same signature for both variants */,
           SCORE_MOD_ARGS, __global float* lse, const int want_lse) {
    __local float k_tile[DK][FLASH_BK];
    __local float v_tile[FLASH_BK][DK];
    const int lid = (int)get_local_id(0);
    const int i0 = (int)get_group_id(0) * FLASH_BQ;
    const int bh = (int)get_group_id(1);
    const int b = bh / H;
    const int head = bh % H;
    const long kvh = (long)b * HKV + kv_head(head, H, HKV);
    const __global float* kt = Kt + kvh * DK * key_stride;
    const __global float* vh = V + kvh * key_stride * DKP;
    const long i = (long)i0 + lid;
    const int active = i < N;
    // The group's last real row sees the most keys (visible_keys grows with the query index).
    const long i_last = last_real_row(min((long)i0 + FLASH_BQ - 1, (long)N - 1), seq, b);
    const int group_end = i_last < i0 ? 0 : visible_keys(i_last, seq, b, causal, window_left, window_right);
    const int group_start = first_key(i0, seq, b, window_left);
    const int end = active ? visible_keys(i, seq, b, causal, window_left, window_right) : 0;
    const int start = active ? first_key(i, seq, b, window_left) : 0;
    const long pos = query_position(i, seq, b);
    const float slope = has_alibi ? alibi[head] : 0.0f;

    float q[DK];
    float o[DK];
    for (int d = 0; d < DK; d++) {
        q[d] = active ? Q[((long)bh * N + i) * DK + d] : 0.0f;
        o[d] = 0.0f;
    }
    const __global float* bias_row = attn_bias + (has_bias && active ? i * bias_cols : 0);
    float m = has_sinks ? sinks[head] : CLATTN_NEG_INF;
    float l = has_sinks ? 1.0f : 0.0f;

    for (int j0 = group_start; j0 < group_end; j0 += FLASH_BK) {
        barrier(CLK_LOCAL_MEM_FENCE); // the previous tile is no longer read
        for (int e = lid; e < DK * FLASH_BK; e += FLASH_BQ) {
            const int kd = e / FLASH_BK;
            const int kj = e % FLASH_BK;
            k_tile[kd][kj] = j0 + kj < group_end ? kt[(long)kd * key_stride + j0 + kj] : 0.0f;
            const int vj = e / DK;
            const int vd = e % DK;
            v_tile[vj][vd] = j0 + vj < group_end ? vh[(long)(j0 + vj) * DKP + vd] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int from = max(0, start - j0);       // this row's visible keys in the tile:
        const int count = min(FLASH_BK, end - j0); // [from, count)
        if (count > from) {
            float s[FLASH_BK];
            float tile_max = CLATTN_NEG_INF;
            for (int jj = from; jj < count; jj++) {
                float acc = 0.0f;
                for (int d = 0; d < DK; d++) {
                    acc = fma(q[d], k_tile[d][jj], acc);
                }
                const float capped = modify_score(acc * scale, softcap, 0.0f, pos, j0 + jj);
                s[jj] = modify_score(capped + (has_bias ? bias_row[j0 + jj] : 0.0f), 0.0f, slope, pos, j0 + jj);
                tile_max = fmax(tile_max, s[jj]);
            }
            const float m_new = fmax(m, tile_max);
            const float m_use = m_new == CLATTN_NEG_INF ? 0.0f : m_new;
            const float alpha = exp(m - m_use);
            l *= alpha;
            for (int d = 0; d < DK; d++) {
                o[d] *= alpha;
            }
            for (int jj = from; jj < count; jj++) {
                const float p = exp(s[jj] - m_use);
                l += p;
                for (int d = 0; d < DK; d++) {
                    o[d] = fma(p, v_tile[jj][d], o[d]);
                }
            }
            m = m_new;
        }
    }

    if (active) {
        __global float* out = heads_out + ((long)b * N + i) * ((long)H * DK) + (long)head * DK;
        const float inv = 1.0f / l;
        if (want_lse) {
            lse[(long)bh * N + i] = row_lse(m, l);
        }
        for (int d = 0; d < DK; d++) {
            out[d] = l == 0.0f ? 0.0f : o[d] * inv;
        }
    }
}
