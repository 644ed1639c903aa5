package io.github.clattn.core;

import io.github.clattn.AttentionOutput;
import io.github.clattn.ProjectedInput;

/** Attention on pre-projected tensors ({@link io.github.clattn.ScaledDotProduct}) bound to one device. */
public interface ProjectedBackend extends AutoCloseable {
    /** One call; the input is validated and not empty. */
    AttentionOutput forward(ProjectedInput input);

    /** A cache of {@code batch} sequences of up to {@code capacity} positions, without projections. */
    CacheBackend openCache(int batch, int capacity);

    @Override
    void close();
}
