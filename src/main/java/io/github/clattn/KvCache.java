package io.github.clattn;

import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.ProjectedBackend;
import io.github.clattn.core.Shapes;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A key/value cache session for autoregressive decoding: the keys and values of {@code batch}
 * sequences, up to {@link #capacity()} positions each, kept on the device of the layer or
 * {@link ScaledDotProduct} that opened it (device buffers on OpenCL, arrays on the Java path).
 * Each sequence has its own length ({@link #lengths()}); a token's position is its index in its
 * sequence (RoPE rotates there; the causal rule is bottom-right aligned on it).
 *
 * <p>Two ways to use it:
 * <ul>
 *   <li>Opened from a layer ({@link Attention#openCache}): {@link #prefill} projects a chunk
 *       {@code x [B, C, D]}, rotates and appends its keys and values, and attends its queries over
 *       everything cached; {@link #decode} is the same for one token per sequence.</li>
 *   <li>Without projections ({@link #open}, {@link ScaledDotProduct#openCache}), for engines that
 *       compute Q, K and V themselves (quantized weights, QK-norm, their own RoPE scaling):
 *       {@link #append} stores pre-projected {@code k, v [B, C, Hkv, dk]} (rotated by the cache's
 *       RoPE, if any), {@link #attend} runs pre-projected queries {@code q [B, C, H, dk]} over
 *       everything appended, the last C positions' queries.</li>
 * </ul>
 * {@link #truncate} rolls a sequence back (speculative decoding, beam search); {@link #reset}
 * empties it. Appending past the capacity throws {@link IllegalStateException} before anything
 * changes. {@link #close()} releases the storage; later calls throw.
 *
 * <p>Not thread-safe: a session belongs to one thread at a time, and a call made while another
 * thread is inside one throws {@link IllegalStateException}. Several sessions of one layer may run
 * in parallel, each on its own thread.
 */
public final class KvCache implements AutoCloseable {
    private final CacheBackend backend;
    private final ProjectedBackend owned;
    private final int batch;
    private final int capacity;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int dModel;
    private final int[] lengths;
    private final AtomicReference<Thread> user = new AtomicReference<>();
    private volatile boolean closed;

    KvCache(CacheBackend backend, ProjectedBackend owned, int batch, int capacity, int heads, int kvHeads, int headDim,
            int dModel) {
        this.backend = backend;
        this.owned = owned;
        this.batch = batch;
        this.capacity = capacity;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dModel = dModel;
        this.lengths = new int[batch];
    }

    /**
     * A cache without projections on the automatic device: {@code heads} query heads and
     * {@code kvHeads} K/V heads of {@code headDim}, {@code batch} sequences of up to
     * {@code capacity} positions; {@code options} give the causal rule, the scale and the RoPE.
     */
    public static KvCache open(int heads, int kvHeads, int headDim, int batch, int capacity, AttentionOptions options) {
        return open(heads, kvHeads, headDim, batch, capacity, options, Devices.auto());
    }

    /** As {@link #open(int, int, int, int, int, AttentionOptions)} on {@code device}. */
    public static KvCache open(int heads, int kvHeads, int headDim, int batch, int capacity, AttentionOptions options,
                               Device device) {
        ScaledDotProduct sdp = ScaledDotProduct.open(heads, kvHeads, headDim, options, device);
        try {
            return sdp.openCache(batch, capacity, true);
        } catch (RuntimeException | Error e) {
            sdp.close();
            throw e;
        }
    }

    static void checkSizes(int batch, int capacity) {
        Shapes.positive("batch", batch);
        Shapes.positive("capacity", capacity);
    }

    public int batch() {
        return batch;
    }

    /** The most positions a sequence can hold. */
    public int capacity() {
        return capacity;
    }

    /** The current length of every sequence (a copy). */
    public int[] lengths() {
        return lengths.clone();
    }

    /** The current length of sequence {@code seq}. */
    public int length(int seq) {
        checkSequence(seq);
        return lengths[seq];
    }

    /** Bytes of key/value storage held: device memory on OpenCL, heap on the Java path. */
    public long bytes() {
        return backend.bytes();
    }

    /** The implementation steps run on, as {@link AttentionOutput#path()} reports it. */
    public String path() {
        return backend.path();
    }

    /**
     * A chunk of {@code chunkLength} tokens for every sequence: {@code x [B, C, D]} (layer caches only).
     *
     * @return {@code [B, C, D]} (heads_out {@code [B, C, H*dk]} without an output projection)
     */
    public AttentionOutput prefill(float[] x, int chunkLength) {
        return prefill(x, chunkLength, null);
    }

    /**
     * A chunk of up to {@code chunkLength} tokens per sequence, {@code x [B, C, D]}: sequence b takes
     * its first {@code counts[b]} rows (null: all C), the rest of its rows are ignored and give zeros.
     * Projects, rotates and appends the chunk's keys and values, then attends each new token over its
     * sequence up to and including itself (causally when the layer is causal).
     *
     * @throws IllegalStateException a sequence would exceed the capacity (nothing changes), the cache is
     *                               closed, or another thread is using it
     */
    public AttentionOutput prefill(float[] x, int chunkLength, int[] counts) {
        enter();
        try {
            if (dModel == 0) {
                throw new IllegalStateException("prefill: this cache was opened without a layer; use append and attend");
            }
            Shapes.positive("chunkLength", chunkLength);
            Shapes.length("x", x, Shapes.arrayLength("x", "[B, C, D]", batch, chunkLength, dModel),
                    "[B=" + batch + ", C=" + chunkLength + ", D=" + dModel + "]");
            int[] take = counts(counts, chunkLength);
            int[] starts = lengths.clone();
            AttentionOutput out = backend.step(x, chunkLength, starts, take);
            grow(take);
            return out;
        } finally {
            exit();
        }
    }

    /** One token per sequence, {@code x [B, 1, D]}; returns {@code [B, 1, D]} (layer caches only). */
    public AttentionOutput decode(float[] x) {
        return prefill(x, 1, null);
    }

    /**
     * Appends pre-projected keys and values {@code k, v [B, C, Hkv, dk]}: sequence b takes its first
     * {@code counts[b]} rows (null: all C), at its next positions; keys are rotated there when the
     * cache has RoPE.
     *
     * @throws IllegalStateException a sequence would exceed the capacity (nothing changes), the cache is
     *                               closed, or another thread is using it
     */
    public void append(float[] k, float[] v, int chunkLength, int[] counts) {
        enter();
        try {
            Shapes.positive("chunkLength", chunkLength);
            int n = Shapes.arrayLength("k", "[B, C, Hkv, dk]", batch, chunkLength, kvHeads, headDim);
            String shape = "[B=" + batch + ", C=" + chunkLength + ", Hkv=" + kvHeads + ", dk=" + headDim + "]";
            Shapes.length("k", k, n, shape);
            Shapes.length("v", v, n, shape);
            int[] take = counts(counts, chunkLength);
            backend.append(k, v, chunkLength, lengths.clone(), take);
            grow(take);
        } finally {
            exit();
        }
    }

    /** {@link #append(float[], float[], int, int[])} of all C rows of every sequence. */
    public void append(float[] k, float[] v, int chunkLength) {
        append(k, v, chunkLength, null);
    }

    /**
     * Attention of pre-projected queries {@code q [B, C, H, dk]} over everything appended: query t of
     * sequence b is the query of position {@code length(b) - C + t} (the last C appended), rotated
     * there when the cache has RoPE, and sees the keys up to and including that position (all of
     * the sequence's keys when not causal). A position before 0 sees nothing and gives zeros.
     *
     * @return heads_out {@code [B, C, H*dk]}
     */
    public AttentionOutput attend(float[] q, int chunkLength) {
        enter();
        try {
            Shapes.positive("chunkLength", chunkLength);
            Shapes.length("q", q, Shapes.arrayLength("q", "[B, C, H, dk]", batch, chunkLength, heads, headDim),
                    "[B=" + batch + ", C=" + chunkLength + ", H=" + heads + ", dk=" + headDim + "]");
            int[] starts = new int[batch];
            int[] rows = new int[batch];
            for (int b = 0; b < batch; b++) {
                starts[b] = lengths[b] - chunkLength;
                rows[b] = chunkLength;
            }
            return backend.attend(q, chunkLength, starts, lengths.clone(), rows);
        } finally {
            exit();
        }
    }

    /** Rolls sequence {@code seq} back to {@code length} positions (at most its current length). */
    public void truncate(int seq, int length) {
        enter();
        try {
            checkSequence(seq);
            if (length < 0 || length > lengths[seq]) {
                throw new IllegalArgumentException("length: expected a value in [0, " + lengths[seq]
                        + "] (the current length of sequence " + seq + "), got " + length);
            }
            lengths[seq] = length;
        } finally {
            exit();
        }
    }

    /** Empties sequence {@code seq}. */
    public void reset(int seq) {
        truncate(seq, 0);
    }

    public boolean isClosed() {
        return closed;
    }

    /** Releases the storage (and the attention object a standalone cache opened). Idempotent. */
    @Override
    public void close() {
        if (!user.compareAndSet(null, Thread.currentThread())) {
            throw new IllegalStateException("KvCache: close() while another thread is using this cache");
        }
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                backend.close();
            } finally {
                if (owned != null) {
                    owned.close();
                }
            }
        } finally {
            user.set(null);
        }
    }

    /** Each sequence's rows of this chunk: all C, or counts[b] in [0, C]; checks the capacity. */
    private int[] counts(int[] counts, int chunkLength) {
        int[] take = new int[batch];
        if (counts == null) {
            Arrays.fill(take, chunkLength);
        } else {
            if (counts.length != batch) {
                throw new IllegalArgumentException("counts: expected " + batch + " entries (one per sequence), got "
                        + counts.length);
            }
            for (int b = 0; b < batch; b++) {
                if (counts[b] < 0 || counts[b] > chunkLength) {
                    throw new IllegalArgumentException("counts[" + b + "]: expected a value in [0, C=" + chunkLength
                            + "], got " + counts[b]);
                }
                take[b] = counts[b];
            }
        }
        for (int b = 0; b < batch; b++) {
            if ((long) lengths[b] + take[b] > capacity) {
                throw new IllegalStateException("KvCache: sequence " + b + " holds " + lengths[b] + " of " + capacity
                        + " positions; appending " + take[b] + " more exceeds the capacity (nothing was changed; "
                        + "truncate, reset or open a larger cache)");
            }
        }
        return take;
    }

    private void grow(int[] take) {
        for (int b = 0; b < batch; b++) {
            lengths[b] += take[b];
        }
    }

    private void checkSequence(int seq) {
        if (seq < 0 || seq >= batch) {
            throw new IllegalArgumentException("seq: expected a sequence in [0, " + batch + "), got " + seq);
        }
    }

    /** Claims the session for this thread; a second thread inside it, or a closed cache, throws. */
    void enter() {
        Thread me = Thread.currentThread();
        if (!user.compareAndSet(null, me)) {
            Thread other = user.get();
            throw new IllegalStateException("KvCache: used by two threads at once (" + me.getName() + " while "
                    + (other == null ? "another thread" : other.getName()) + " is inside a call); a session "
                    + "belongs to one thread at a time");
        }
        if (closed) {
            user.set(null);
            throw new IllegalStateException("KvCache is closed: open a new one");
        }
    }

    void exit() {
        user.set(null);
    }
}
