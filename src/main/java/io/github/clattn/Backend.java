package io.github.clattn;

/**
 * Internal: one implementation of the attention forward pass bound to one device. Not part of
 * the public API; use {@link Attention}. The caller has already validated the input, handled
 * empty inputs and holds the object open; implementations must be safe to call from several
 * threads and must release everything they hold in {@link #close()}.
 */
public interface Backend extends AutoCloseable {
    AttentionOutput forward(AttentionInput input);

    /** Wall time spent building or loading device programs for this layer, in milliseconds (0 if none). */
    default double buildMillis() {
        return 0;
    }

    @Override
    void close();
}
