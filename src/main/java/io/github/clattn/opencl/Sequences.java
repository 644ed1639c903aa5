package io.github.clattn.opencl;

import io.github.clattn.core.RopeTable;

/**
 * What each sequence of one call may see, as the kernels read it ({@code seq [B, 4]}, common.cl):
 * the position of its first query row, its number of keys, its real query rows, and where its
 * chunk's keys and values go. The rule of visibility itself is {@code visible_keys} in common.cl.
 */
final class Sequences {
    static final int Q_START = 0;
    static final int KEY_LEN = 1;
    static final int Q_ROWS = 2;
    static final int KV_START = 3;

    private Sequences() {
    }

    /** A forward call: query i at i + (M - N), keys [0, min(M, keyValidLength[b])), every row. */
    static int[] forward(int batch, int n, int m, int[] keyValidLength) {
        int[] seq = new int[4 * batch];
        for (int b = 0; b < batch; b++) {
            seq[4 * b + Q_START] = m - n;
            seq[4 * b + KEY_LEN] = keyValidLength == null ? m : Math.min(m, keyValidLength[b]);
            seq[4 * b + Q_ROWS] = n;
            seq[4 * b + KV_START] = 0;
        }
        return seq;
    }

    /**
     * A cache call: query row t of sequence b at {@code queryStarts[b] + t}, keys
     * {@code [0, keyLengths[b])}, {@code rows[b]} real rows, its new keys and values stored from
     * {@code kvStarts[b]}.
     */
    static int[] cache(int[] queryStarts, int[] keyLengths, int[] rows, int[] kvStarts) {
        int batch = rows.length;
        int[] seq = new int[4 * batch];
        for (int b = 0; b < batch; b++) {
            seq[4 * b + Q_START] = queryStarts[b];
            seq[4 * b + KEY_LEN] = keyLengths[b];
            seq[4 * b + Q_ROWS] = rows[b];
            seq[4 * b + KV_START] = kvStarts[b];
        }
        return seq;
    }

    /** The largest key count of any sequence. */
    static int maxKeys(int[] seq) {
        int max = 0;
        for (int b = 0; b < seq.length / 4; b++) {
            max = Math.max(max, seq[4 * b + KEY_LEN]);
        }
        return max;
    }

    /** One table row per (sequence, row t) at position {@code starts[b] + t}: {@code [B * chunk, half]}. */
    static RopeTable perRow(io.github.clattn.Rope rope, int headDim, int[] starts, int chunk) {
        int[] positions = new int[starts.length * chunk];
        for (int b = 0; b < starts.length; b++) {
            for (int t = 0; t < chunk; t++) {
                positions[b * chunk + t] = starts[b] + t;
            }
        }
        return RopeTable.of(rope, headDim, positions);
    }
}
