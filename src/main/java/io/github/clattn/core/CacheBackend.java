package io.github.clattn.core;

import io.github.clattn.AttentionOutput;

/**
 * The device side of a {@link io.github.clattn.KvCache}: K and V of {@code batch} sequences, each up
 * to {@code capacity} positions, in the layout of its backend. The API object validates every
 * argument, owns the sequence lengths and serializes use; implementations only compute. Positions
 * past a sequence's length hold stale data that is never read.
 */
public interface CacheBackend extends AutoCloseable {
    /**
     * Stores pre-projected keys and values {@code k, v [B, C, Hkv, dk]}: row t of sequence b, for
     * {@code t < lengths[b]}, goes to position {@code starts[b] + t}, keys rotated there by the
     * cache's RoPE. Rows past {@code lengths[b]} are ignored.
     */
    void append(float[] k, float[] v, int chunk, int[] starts, int[] lengths);

    /**
     * Attention of pre-projected queries {@code q [B, C, H, dk]}: query t of sequence b sits at
     * position {@code queryStarts[b] + t} (rotated there) and sees keys {@code [0, keyLengths[b])},
     * causally when the cache's options say so; rows {@code t >= rows[b]} give zeros.
     * Returns heads_out {@code [B, C, H*dk]}.
     */
    AttentionOutput attend(float[] q, int chunk, int[] queryStarts, int[] keyLengths, int[] rows);

    /**
     * A layer's step: projects {@code x [B, C, D]}, appends K and V of rows {@code t < lengths[b]} at
     * {@code starts[b] + t}, attends their queries over everything stored, applies W_O. Returns
     * {@code [B, C, D]} (or heads_out without W_O), zeros in rows past {@code lengths[b]}.
     *
     * @throws UnsupportedOperationException a cache opened without a layer
     */
    AttentionOutput step(float[] x, int chunk, int[] starts, int[] lengths);

    /** Bytes of K and V storage this cache holds (device memory on OpenCL, heap on the Java path). */
    long bytes();

    /** The implementation, as {@link AttentionOutput#path()} reports it. */
    String path();

    @Override
    void close();
}
