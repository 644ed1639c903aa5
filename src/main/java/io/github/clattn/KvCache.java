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
 * changes. {@link #close()} releases the storage; later calls throw. Closing the {@link Attention}
 * or {@link ScaledDotProduct} that opened a cache closes the cache too, on every device (a call
 * running on it finishes first).
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
    /** Why the cache closed without its own {@link #close()}: its owner's close; else null. */
    private volatile String closedBy;
    private volatile Runnable onClose;

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
     * {@code capacity} positions; {@code options} give the causal rule, the scale, the RoPE and the
     * score modifiers. Closing the cache releases everything it opened.
     *
     * @param heads    H, the query heads
     * @param kvHeads  Hkv, the key/value heads; divides H
     * @param headDim  dk, the width of one head
     * @param batch    B, the number of sequences
     * @param capacity the most positions each sequence can hold
     * @param options  causal rule, scale, RoPE and score modifiers
     * @return an empty cache; close it
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, {@code options} is null or does not fit the
     *                                  head width, or the cache exceeds the device's maximum allocation
     * @throws ClattnException          the device could not allocate the cache
     */
    public static KvCache open(int heads, int kvHeads, int headDim, int batch, int capacity, AttentionOptions options) {
        return open(heads, kvHeads, headDim, batch, capacity, options, Devices.auto());
    }

    /**
     * As {@link #open(int, int, int, int, int, AttentionOptions)} on {@code device}.
     *
     * @param heads    H, the query heads
     * @param kvHeads  Hkv, the key/value heads; divides H
     * @param headDim  dk, the width of one head
     * @param batch    B, the number of sequences
     * @param capacity the most positions each sequence can hold
     * @param options  causal rule, scale, RoPE and score modifiers
     * @param device   a device from {@link Devices}
     * @return an empty cache; close it
     * @throws IllegalArgumentException a size is not positive, {@code kvHeads} does not divide
     *                                  {@code heads}, an argument is null, an option does not fit the
     *                                  head width, or the cache exceeds the device's maximum allocation
     * @throws ClattnException          the device fails to start or to allocate the cache
     */
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

    /** {@return B, the number of sequences} */
    public int batch() {
        return batch;
    }

    /** {@return the most positions a sequence can hold} */
    public int capacity() {
        return capacity;
    }

    /** {@return the current length of every sequence, {@code [B]} (a copy)} */
    public int[] lengths() {
        return lengths.clone();
    }

    /**
     * {@return the current length of sequence {@code seq}}
     *
     * @param seq a sequence in {@code [0, B)}
     * @throws IllegalArgumentException {@code seq} is out of range
     */
    public int length(int seq) {
        checkSequence(seq);
        return lengths[seq];
    }

    /** {@return the bytes of key/value storage held: device memory on OpenCL, heap on the Java path} */
    public long bytes() {
        return backend.bytes();
    }

    /** {@return the implementation steps run on, as {@link AttentionOutput#path()} reports it} */
    public String path() {
        return backend.path();
    }

    /**
     * A chunk of {@code chunkLength} tokens for every sequence: {@code x [B, C, D]} (layer caches
     * only). The same as {@link #prefill(float[], int, int[])} with {@code counts} null.
     *
     * @param x           the chunk's embeddings, {@code [B, C, D]} row-major
     * @param chunkLength C, positive
     * @return {@code out [B, C, D]} (heads_out {@code [B, C, H*dk]} without an output projection)
     * @throws IllegalArgumentException {@code chunkLength} is not positive or {@code x} is null or
     *                                  not of length {@code B*C*D}
     * @throws IllegalStateException    the cache has no layer (opened by {@link #open} or
     *                                  {@link ScaledDotProduct#openCache}), a sequence would exceed the
     *                                  capacity (nothing changes), the cache is closed, or another
     *                                  thread is using it
     * @throws ClattnException          the device failed
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
     * @param x           the chunk's embeddings, {@code [B, C, D]} row-major
     * @param chunkLength C, positive
     * @param counts      {@code [B]}, each in {@code [0, C]}: the rows each sequence takes; null for all C
     * @return {@code out [B, C, D]} (heads_out {@code [B, C, H*dk]} without an output projection); the
     *         rows a sequence did not take are zero
     * @throws IllegalArgumentException {@code chunkLength} is not positive, {@code x} is null or not
     *                                  of length {@code B*C*D}, or {@code counts} is not {@code [B]}
     *                                  of values in {@code [0, C]}
     * @throws IllegalStateException    the cache has no layer, a sequence would exceed the capacity
     *                                  (nothing changes), the cache is closed, or another thread is
     *                                  using it
     * @throws ClattnException          the device failed
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

    /**
     * One token per sequence (layer caches only): {@link #prefill(float[], int, int[])} with C = 1
     * and every sequence taking its row.
     *
     * @param x the new tokens' embeddings, {@code [B, 1, D]} row-major
     * @return {@code out [B, 1, D]} (heads_out {@code [B, 1, H*dk]} without an output projection)
     * @throws IllegalArgumentException {@code x} is null or not of length {@code B*D}
     * @throws IllegalStateException    the cache has no layer, a sequence is full (nothing changes),
     *                                  the cache is closed, or another thread is using it
     * @throws ClattnException          the device failed
     */
    public AttentionOutput decode(float[] x) {
        return prefill(x, 1, null);
    }

    /**
     * Appends pre-projected keys and values {@code k, v [B, C, Hkv, dk]}: sequence b takes its first
     * {@code counts[b]} rows (null: all C), at its next positions; keys are rotated there when the
     * cache has RoPE.
     *
     * @param k           the keys, {@code [B, C, Hkv, dk]} row-major
     * @param v           the values, {@code [B, C, Hkv, dk]} row-major
     * @param chunkLength C, positive
     * @param counts      {@code [B]}, each in {@code [0, C]}: the rows each sequence takes; null for all C
     * @throws IllegalArgumentException {@code chunkLength} is not positive, {@code k} or {@code v} is
     *                                  null or not of length {@code B*C*Hkv*dk}, or {@code counts} is
     *                                  not {@code [B]} of values in {@code [0, C]}
     * @throws IllegalStateException    a sequence would exceed the capacity (nothing changes), the
     *                                  cache is closed, or another thread is using it
     * @throws ClattnException          the device failed
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

    /**
     * {@link #append(float[], float[], int, int[])} of all C rows of every sequence.
     *
     * @param k           the keys, {@code [B, C, Hkv, dk]} row-major
     * @param v           the values, {@code [B, C, Hkv, dk]} row-major
     * @param chunkLength C, positive
     * @throws IllegalArgumentException {@code chunkLength} is not positive, or {@code k} or {@code v}
     *                                  is null or not of length {@code B*C*Hkv*dk}
     * @throws IllegalStateException    a sequence would exceed the capacity (nothing changes), the
     *                                  cache is closed, or another thread is using it
     * @throws ClattnException          the device failed
     */
    public void append(float[] k, float[] v, int chunkLength) {
        append(k, v, chunkLength, null);
    }

    /**
     * Attention of pre-projected queries {@code q [B, C, H, dk]} over everything appended: query t of
     * sequence b is the query of position {@code length(b) - C + t} (the last C appended), rotated
     * there when the cache has RoPE, and sees the keys up to and including that position (all of
     * the sequence's keys when not causal). A position before 0 sees nothing and gives zeros.
     * Nothing is appended.
     *
     * @param q           the queries, {@code [B, C, H, dk]} row-major
     * @param chunkLength C, positive
     * @return heads_out {@code [B, C, H*dk]}
     * @throws IllegalArgumentException {@code chunkLength} is not positive, or {@code q} is null or
     *                                  not of length {@code B*C*H*dk}
     * @throws IllegalStateException    the cache is closed, or another thread is using it
     * @throws ClattnException          the device failed
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

    /**
     * Rolls sequence {@code seq} back to {@code length} positions; the next token goes to position
     * {@code length}. Nothing is freed or cleared.
     *
     * @param seq    a sequence in {@code [0, B)}
     * @param length the new length, in {@code [0, length(seq)]}
     * @throws IllegalArgumentException {@code seq} or {@code length} is out of range
     * @throws IllegalStateException    the cache is closed, or another thread is using it
     */
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

    /**
     * Empties sequence {@code seq}.
     *
     * @param seq a sequence in {@code [0, B)}
     * @throws IllegalArgumentException {@code seq} is out of range
     * @throws IllegalStateException    the cache is closed, or another thread is using it
     */
    public void reset(int seq) {
        truncate(seq, 0);
    }

    /** {@return whether {@link #close()} has run} */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Releases the storage (and the attention object a standalone cache opened). Idempotent.
     *
     * @throws IllegalStateException another thread is using the cache
     */
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
                Runnable hook = onClose;
                if (hook != null) {
                    hook.run();
                }
            }
        } finally {
            user.set(null);
        }
    }

    /** Runs {@code hook} when {@link #close()} closes this cache (its owner stops tracking it). */
    void onClose(Runnable hook) {
        this.onClose = hook;
    }

    /**
     * Closes this cache because the object that opened it closes or drops its device objects
     * ({@code why}, for later calls' errors). A call running on another thread finishes first (the
     * OpenCL storage waits for it; the Java path's heap arrays need no release). Idempotent.
     */
    void ownerClosed(String why) {
        if (closed) {
            return;
        }
        closedBy = why;
        closed = true;
        backend.close();
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
            String by = closedBy;
            throw new IllegalStateException(by == null ? "KvCache is closed: open a new one"
                    : "KvCache is closed: " + by + "; open a new one");
        }
    }

    void exit() {
        user.set(null);
    }
}
