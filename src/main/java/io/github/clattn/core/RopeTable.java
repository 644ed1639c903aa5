package io.github.clattn.core;

import io.github.clattn.Rope;

/**
 * The cosines and sines of a {@link Rope} at a list of positions, computed in float64 and rounded
 * to float32 once, on the host: angles grow with the position (to about 10^5 radians at 100k
 * tokens), where float32 arithmetic would lose the angle. Both backends rotate with these tables.
 *
 * <pre>
 *   cos[row * half + c] = cos(position[row] · theta^(-2c/r)),  sin likewise,  c < half = r / 2
 *   pair c of a head:  neox (c, c + half)   gptj (2c, 2c + 1)
 *   (u, w) → (u·cos − w·sin, u·sin + w·cos)
 * </pre>
 */
public final class RopeTable {
    public final int half;
    public final Rope.Style style;
    public final float[] cos;
    public final float[] sin;

    private RopeTable(int half, Rope.Style style, float[] cos, float[] sin) {
        this.half = half;
        this.style = style;
        this.cos = cos;
        this.sin = sin;
    }

    /** The table of {@code rope} for heads of {@code headDim}, one row per position. */
    public static RopeTable of(Rope rope, int headDim, int[] positions) {
        int r = rope.rotatedDims(headDim);
        int half = r / 2;
        float[] cos = new float[positions.length * half];
        float[] sin = new float[positions.length * half];
        double[] inverseFrequency = new double[half];
        for (int c = 0; c < half; c++) {
            inverseFrequency[c] = Math.pow(rope.theta(), -2.0 * c / r);
        }
        for (int row = 0; row < positions.length; row++) {
            for (int c = 0; c < half; c++) {
                double angle = positions[row] * inverseFrequency[c];
                cos[row * half + c] = (float) Math.cos(angle);
                sin[row * half + c] = (float) Math.sin(angle);
            }
        }
        return new RopeTable(half, rope.style(), cos, sin);
    }

    /** Positions {@code first, first + 1, ..., first + count - 1}. */
    public static int[] range(int first, int count) {
        int[] p = new int[count];
        for (int i = 0; i < count; i++) {
            p[i] = first + i;
        }
        return p;
    }

    /** The channel of the first and of the second element of pair {@code c}. */
    public int first(int c) {
        return style == Rope.Style.NEOX ? c : 2 * c;
    }

    public int second(int c) {
        return style == Rope.Style.NEOX ? c + half : 2 * c + 1;
    }

    /**
     * Rotates one head in place: channel {@code d} of the head at {@code data[offset + d * stride]},
     * by row {@code row} of the table.
     */
    public void rotate(float[] data, int offset, int stride, int row) {
        int t = row * half;
        for (int c = 0; c < half; c++) {
            int a = offset + first(c) * stride;
            int b = offset + second(c) * stride;
            float u = data[a];
            float w = data[b];
            float cs = cos[t + c];
            float sn = sin[t + c];
            data[a] = u * cs - w * sn;
            data[b] = u * sn + w * cs;
        }
    }
}
