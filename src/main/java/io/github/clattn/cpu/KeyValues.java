package io.github.clattn.cpu;

import io.github.clattn.core.RopeTable;
import io.github.clattn.core.Shapes;

/**
 * K and V as the Java path's attention reads them, for {@code batch} sequences of up to
 * {@code capacity} keys each and {@code kvHeads} K/V heads of {@code dk}:
 *
 * <pre>
 *   Kᵀ  kt [B, Hkv*dk, keyStride]           channel c of K/V head g of key j: kt[LEAD + (b*Hkv*dk + g*dk + c)*keyStride + j]
 *   V   v  [B, Hkv, capacity, valueStride]  v[LEAD + ((b*Hkv + g)*capacity + j)*valueStride + c]   (+ one vector of slack)
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
    /**
     * Floats before the first key of {@link #kt} and {@link #v}: where an array starts on a 64-byte
     * boundary, as G1 places every array of half a heap region or more, element {@code LEAD} does
     * too, and with it every row (the strides are whole vectors of 64 bytes, or 32 with AVX2).
     * Measured on a 2-core Zen 5 with such arrays: the weighted-values kernel 12.5 µs on aligned
     * values against 15.7 on values 16 bytes off (every vector load split across two cache lines).
     * Smaller arrays start wherever the JVM puts them; the lead costs them nothing.
     */
    static final int LEAD = alignedLead(arrayBaseOffset());

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
        return Shapes.arrayLength("K", "lead + [B, Hkv*dk, capacity rounded up]",
                LEAD + Shapes.product("K", "[B, Hkv*dk, capacity rounded up]", batch, (long) kvHeads * dk,
                        kernels.keyStride(capacity)));
    }

    /** V is read in whole vectors of channels: the slack keeps the last head's read in bounds. */
    static int vLength(Kernels kernels, int batch, int kvHeads, int dk, int capacity) {
        return Shapes.arrayLength("V", "lead + [B, Hkv, capacity, dk rounded up] + slack",
                LEAD + Shapes.product("V", "[B, Hkv, capacity, dk rounded up]", batch, kvHeads, capacity,
                        valueStride(kernels, dk)) + kernels.lanes());
    }

    /** Floats per key of one head's values: the head width rounded to whole vectors. */
    private static int valueStride(Kernels kernels, int dk) {
        return PackedMatrix.roundUp(dk, kernels.lanes());
    }

    /** Floats from an array element at {@code baseOffset} bytes past the array's start to the next 64-byte boundary. */
    static int alignedLead(int baseOffset) {
        return Math.floorMod(-baseOffset, 64) / Float.BYTES;
    }

    /**
     * Bytes from a float array's start to its element 0 ({@code sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET},
     * read by reflection), or 16 (HotSpot with compressed class pointers) where it is not there.
     */
    private static int arrayBaseOffset() {
        try {
            return Class.forName("sun.misc.Unsafe").getField("ARRAY_FLOAT_BASE_OFFSET").getInt(null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return 16;
        }
    }

    int kvWidth() {
        return kvHeads * dk;
    }

    /** Index in {@link #kt} of channel 0 of K/V head {@code g} of sequence {@code b}, key 0. */
    int ktBase(int b, int g) {
        return LEAD + (b * kvHeads * dk + g * dk) * keyStride;
    }

    /** Index in {@link #v} of channel 0 of K/V head {@code g} of sequence {@code b}, key 0. */
    int vBase(int b, int g) {
        return LEAD + (b * kvHeads + g) * capacity * valueStride;
    }

    /** Where a projection writes K: row {@code b*capacity + j}, column {@code g*dk + c} to its place above. */
    ProjectionTarget keyTarget() {
        return ProjectionTarget.transposedPerBatch(kt, LEAD, kvWidth(), capacity, keyStride);
    }

    /** Where a projection writes V: row {@code b*capacity + j}, column {@code g*dk + c} to its place above. */
    ProjectionTarget valueTarget() {
        return ProjectionTarget.headMajor(v, LEAD, kvWidth(), dk, valueStride, capacity);
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
                int kt0 = ktBase(b, 0) + key;
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
