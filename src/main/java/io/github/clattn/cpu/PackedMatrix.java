package io.github.clattn.cpu;

import io.github.clattn.core.Shapes;

/**
 * A weight matrix {@code W [inner, cols]} (row-major, applied as {@code x @ W}) cut into column
 * panels of {@code panelWidth} columns, each panel stored k-major so a GEMM micro-kernel reads it
 * as one contiguous stream:
 *
 * <pre>
 *   data [panels, inner, panelWidth]   data[(p*inner + k)*panelWidth + jj] = W[k][p*panelWidth + jj]
 *   bias [panels*panelWidth]           the column bias (zeros when the layer has none)
 * </pre>
 *
 * Columns past {@code cols} in the last panel are zero. Packed once when a layer is created;
 * immutable afterwards.
 */
final class PackedMatrix {
    final int inner;
    final int cols;
    final int panelWidth;
    final int panels;
    final float[] data;
    final float[] bias;

    private PackedMatrix(int inner, int cols, int panelWidth, float[] data, float[] bias) {
        this.inner = inner;
        this.cols = cols;
        this.panelWidth = panelWidth;
        this.panels = ceilDiv(cols, panelWidth);
        this.data = data;
        this.bias = bias;
    }

    /** Packs {@code w [inner, cols]} and the optional {@code bias [cols]} into panels of {@code panelWidth}. */
    static PackedMatrix pack(float[] w, float[] bias, int inner, int cols, int panelWidth) {
        int panels = ceilDiv(cols, panelWidth);
        float[] data = new float[Shapes.arrayLength("packed weights", "[panels, inner, panelWidth]", panels, inner,
                panelWidth)];
        for (int p = 0; p < panels; p++) {
            int col0 = p * panelWidth;
            int width = Math.min(panelWidth, cols - col0);
            for (int k = 0; k < inner; k++) {
                System.arraycopy(w, k * cols + col0, data, (p * inner + k) * panelWidth, width);
            }
        }
        float[] packedBias = new float[panels * panelWidth];
        if (bias != null) {
            System.arraycopy(bias, 0, packedBias, 0, cols);
        }
        return new PackedMatrix(inner, cols, panelWidth, data, packedBias);
    }

    /** Index of panel {@code p}'s first element in {@link #data}. */
    int panelOffset(int p) {
        return p * inner * panelWidth;
    }

    /**
     * {@code dst[dstOff + c*ldDst + r] = src[srcOff + r*ldSrc + c]} for {@code r < rows, c < cols}:
     * the queries the score kernels read ({@link Kernels#scores}) and the rows of A the vector
     * projection blocks read, in groups of {@link Kernels#ROW_BLOCK}.
     */
    static void transpose(float[] src, int srcOff, int ldSrc, int rows, int cols, float[] dst, int dstOff, int ldDst) {
        for (int r = 0; r < rows; r++) {
            final int from = srcOff + r * ldSrc;
            for (int c = 0, to = dstOff + r; c < cols; c++, to += ldDst) {
                dst[to] = src[from + c];
            }
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int multiple) {
        return ceilDiv(a, multiple) * multiple;
    }
}
