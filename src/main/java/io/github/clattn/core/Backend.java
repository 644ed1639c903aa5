package io.github.clattn.core;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;

/**
 * One attention layer bound to one device by a {@link BackendProvider}. The caller
 * ({@link io.github.clattn.Attention}) has validated the input, handled empty inputs and holds the
 * object open; implementations are safe to call from several threads and release everything they
 * hold in {@link #close()}.
 */
public interface Backend extends AutoCloseable {
    AttentionOutput forward(AttentionInput input);

    /** A cache of {@code batch} sequences of up to {@code capacity} positions that this layer's projections fill. */
    CacheBackend openCache(int batch, int capacity);

    /** Wall time spent building or loading device programs for this layer, in milliseconds (0 if none). */
    default double buildMillis() {
        return 0;
    }

    @Override
    void close();
}
