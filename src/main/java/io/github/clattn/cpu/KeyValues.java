package io.github.clattn.cpu;

import io.github.clattn.core.RopeTable;
import io.github.clattn.core.Shapes;

/**
 * K and V as the Java path's attention reads them, for {@code batch} sequences of up to
 * {@code capacity} keys each and {@code kvHeads} K/V heads of {@code dk}:
 *
 * <pre>
 *   Kᵀ  kt [B, Hkv*dk, keyStride]           channel c of K/V head g of key j: kt[(b*Hkv*dk + g*dk + c)*keyStride + j]
 *   V   v  [B, Hkv, capacity, valueStride]  v[((b*Hkv + g)*capacity + j)*valueStride + c]   (+ one vector of slack)
 * </pre>
 *
 * {@code keyStride} is the capacity rounded up to the kernels' key step (whole register blocks may
 * be read past the last key), {@code valueStride} the head width rounded to whole vectors: the
 * values of one head are one contiguous run, which the weighted-values kernel streams (1.2 times
 * faster on a 2-core Zen 5 than rows of every head, 2 KiB apart at H·dk = 512). A forward call's
 * projections write straight into a temporary one; a {@link JavaCache} keeps one.
 */
final class KeyValues {
    final int batch;
    final int kvHeads;
    final int dk;
    final int capacity;
    final int keyStride;
    final int valueStride;
    final float[] kt;
    final float[] v;

    KeyValues(Kernels kernels, int batch, int kvHeads, int dk, int capacity, float[] ktBuffer, float[] vBuffer) {
        this.batch = batch;
        this.kvHeads = kvHeads;
        this.dk = dk;
        this.capacity = capacity;
        this.keyStride = kernels.keyStride(capacity);
        this.valueStride = valueStride(kernels, dk);
        int ktLength = ktLength(kernels, batch, kvHeads, dk, capacity);
        int vLength = vLength(kernels, batch, kvHeads, dk, capacity);
        this.kt = ktBuffer != null && ktBuffer.length >= ktLength ? ktBuffer : new float[ktLength];
        this.v = vBuffer != null && vBuffer.length >= vLength ? vBuffer : new float[vLength];
    }

    static int ktLength(Kernels kernels, int batch, int kvHeads, int dk, int capacity) {
        return Shapes.arrayLength("K", "[B, Hkv*dk, capacity rounded up]", batch, (long) kvHeads * dk,
                kernels.keyStride(capacity));
    }

    /** V is read in whole vectors of channels: the slack keeps the last head's read in bounds. */
    static int vLength(Kernels kernels, int batch, int kvHeads, int dk, int capacity) {
        return Shapes.arrayLength("V", "[B, Hkv, capacity, dk rounded up] + slack",
                (long) batch * kvHeads * capacity * valueStride(kernels, dk) + kernels.lanes());
    }

    /** Floats per key of one head's values: the head width rounded to whole vectors. */
    private static int valueStride(Kernels kernels, int dk) {
        return PackedMatrix.roundUp(dk, kernels.lanes());
    }

    int kvWidth() {
        return kvHeads * dk;
    }

    /** Index in {@link #kt} of channel 0 of K/V head {@code g} of sequence {@code b}, key 0. */
    int ktBase(int b, int g) {
        return (b * kvHeads * dk + g * dk) * keyStride;
    }

    /** Index in {@link #v} of channel 0 of K/V head {@code g} of sequence {@code b}, key 0. */
    int vBase(int b, int g) {
        return (b * kvHeads + g) * capacity * valueStride;
    }

    /** Where a projection writes V: row {@code b*capacity + j}, column {@code g*dk + c} to its place above. */
    ProjectionTarget valueTarget() {
        return ProjectionTarget.headMajor(v, kvWidth(), dk, valueStride, capacity);
    }

    long bytes() {
        return ((long) kt.length + v.length) * Float.BYTES;
    }

    /**
     * Stores rows of row-major K and V ({@code [B*chunk, Hkv*dk]}, row t of sequence b at
     * {@code b*chunk + t}): row t goes to key {@code starts[b] + t} for {@code t < lengths[b]}.
     */
    void put(float[] kRows, float[] vRows, int chunk, int[] starts, int[] lengths) {
        int w = kvWidth();
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                int src = (b * chunk + t) * w;
                int key = starts[b] + t;
                for (int g = 0; g < kvHeads; g++) {
                    System.arraycopy(vRows, src + g * dk, v, vBase(b, g) + key * valueStride, dk);
                }
                int kt0 = b * w * keyStride + key;
                for (int c = 0; c < w; c++) {
                    kt[kt0 + c * keyStride] = kRows[src + c];
                }
            }
        }
    }

    /**
     * Rotates the keys {@code starts[b] .. starts[b] + lengths[b] - 1} of every sequence in place,
     * key {@code starts[b] + t} by row {@code tableRow(b, t)} of {@code table}.
     */
    void rotateKeys(RopeTable table, int[] starts, int[] lengths, java.util.function.IntBinaryOperator tableRow) {
        for (int b = 0; b < batch; b++) {
            for (int g = 0; g < kvHeads; g++) {
                int base = ktBase(b, g);
                for (int t = 0; t < lengths[b]; t++) {
                    table.rotate(kt, base + starts[b] + t, keyStride, tableRow.applyAsInt(b, t));
                }
            }
        }
    }
}
