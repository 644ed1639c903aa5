package io.github.clattn.npy;

import java.util.Arrays;

/**
 * A tensor read from a {@code .npy} file: its dtype, C-order shape and data. Float data is held
 * as {@code float[]} (float32 files), integer data as {@code long[]} (int32 and int64 files).
 */
public final class NpyArray {
    private final String source;
    private final String dtype;
    private final long[] shape;
    private final float[] floats;
    private final long[] integers;

    NpyArray(String source, String dtype, long[] shape, float[] floats, long[] integers) {
        this.source = source;
        this.dtype = dtype;
        this.shape = shape;
        this.floats = floats;
        this.integers = integers;
    }

    /** Where the array came from (a file name), for messages. */
    public String source() {
        return source;
    }

    /** The NumPy dtype string, such as {@code <f4} or {@code <i8}. */
    public String dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long size() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public boolean isFloat() {
        return floats != null;
    }

    /** The float32 data; throws naming the file when the dtype is not float32. */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalArgumentException(source + ": expected dtype float32 (<f4), got " + dtype);
        }
        return floats;
    }

    /** Integer data as int, each value checked to fit; throws naming the file for a float dtype. */
    public int[] ints() {
        if (integers == null) {
            throw new IllegalArgumentException(source + ": expected an integer dtype (int32 or int64), got " + dtype);
        }
        int[] out = new int[integers.length];
        for (int i = 0; i < out.length; i++) {
            long v = integers[i];
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(source + ": value " + v + " at index " + i + " does not fit in an int");
            }
            out[i] = (int) v;
        }
        return out;
    }

    /** Requires exactly {@code rank} dimensions; throws naming the file. */
    public NpyArray requireRank(int rank, String meaning) {
        if (shape.length != rank) {
            throw new IllegalArgumentException(source + ": expected a " + rank + "-D array " + meaning + ", got shape "
                    + Arrays.toString(shape));
        }
        return this;
    }

    @Override
    public String toString() {
        return source + " " + dtype + " " + Arrays.toString(shape);
    }
}
