package io.github.clattn.cpu;

/**
 * Where a projection {@code C [rows, cols] = A · W + bias} writes its rows. Either row-major
 * ({@code data[r*rowStride + col]}, {@code rowStride >= cols}), or transposed per batch row for
 * the keys, so the score kernel can read 16 consecutive keys of one channel as a vector:
 *
 * <pre>
 *   row-major                  C [rows, rowStride]
 *   transposed per batch       Kᵀ [B, cols, paddedRows]    C[b*rowsPerBatch + key][col] at offset + ((b*cols + col)*paddedRows + key)
 *   head-major per batch       V [B, cols/dk, rowsPerBatch, rowStride]
 *                              C[b*rowsPerBatch + key][g*dk + c] at offset + (((b*cols/dk + g)*rowsPerBatch + key)*rowStride + c)
 * </pre>
 *
 * The padding keys {@code rowsPerBatch .. paddedRows-1} are never written: scores computed from
 * them are always masked.
 */
final class ProjectionTarget {
    final float[] data;
    final int cols;
    final int rowStride;
    final boolean transposed;
    final int rowsPerBatch;
    final int paddedRows;
    /** Columns per head of a head-major target, else 0. */
    final int headWidth;
    /** Index of element (0, 0) in {@link #data} of a transposed or head-major target (0 for row-major). */
    final int offset;

    private ProjectionTarget(float[] data, int cols, int rowStride, boolean transposed, int rowsPerBatch,
                             int paddedRows, int headWidth, int offset) {
        this.offset = offset;
        this.data = data;
        this.cols = cols;
        this.rowStride = rowStride;
        this.transposed = transposed;
        this.rowsPerBatch = rowsPerBatch;
        this.paddedRows = paddedRows;
        this.headWidth = headWidth;
    }

    static ProjectionTarget rowMajor(float[] data, int cols) {
        return rowMajor(data, cols, cols);
    }

    static ProjectionTarget rowMajor(float[] data, int cols, int rowStride) {
        return new ProjectionTarget(data, cols, rowStride, false, 0, 0, 0, 0);
    }

    static ProjectionTarget transposedPerBatch(float[] data, int offset, int cols, int rowsPerBatch, int paddedRows) {
        return new ProjectionTarget(data, cols, 0, true, rowsPerBatch, paddedRows, 0, offset);
    }

    /** Head-major: each head's rows of one batch row are one run of {@code rowsPerBatch} rows of {@code rowStride}. */
    static ProjectionTarget headMajor(float[] data, int offset, int cols, int headWidth, int rowStride,
                                      int rowsPerBatch) {
        return new ProjectionTarget(data, cols, rowStride, false, rowsPerBatch, 0, headWidth, offset);
    }

    /**
     * Where element {@code (r, col0)} lies in {@link #data} when rows {@code [r, r+rows)}, columns
     * {@code [col0, col0+width)}, can be written in place, each row {@link #rowStride} after the
     * last: row-major, or head-major with the block inside one head of one batch row. Else -1.
     */
    int directIndex(int r, int rows, int col0, int width) {
        if (transposed || col0 + width > cols) {
            return -1;
        }
        if (headWidth == 0) {
            return r * rowStride + col0;
        }
        if (col0 % headWidth + width > headWidth || (r + rows - 1) / rowsPerBatch != r / rowsPerBatch) {
            return -1;
        }
        return headMajorIndex(r, col0);
    }

    /**
     * Stores rows {@code [r, r+rows)}, columns from {@code col0}, of a tile whose row {@code rr} is
     * {@code tile[tileOff + rr*ldt ..)} of {@code width} columns (those past {@link #cols} dropped).
     * Into Kᵀ a key block of one batch row is stored a column at a time: each column's keys are one
     * run there.
     */
    void storeTile(int r, int rows, int col0, float[] tile, int tileOff, int ldt, int width) {
        if (transposed && (r + rows - 1) / rowsPerBatch == r / rowsPerBatch) {
            int count = Math.min(width, cols - col0);
            int base = transposedIndex(r, col0);
            for (int jj = 0; jj < count; jj++) {
                int to = base + jj * paddedRows;
                for (int rr = 0, from = tileOff + jj; rr < rows; rr++, from += ldt) {
                    data[to + rr] = tile[from];
                }
            }
            return;
        }
        for (int rr = 0; rr < rows; rr++) {
            storeRow(r + rr, col0, tile, tileOff + rr * ldt, width);
        }
    }

    /** Stores {@code tile[tileOff .. tileOff + min(width, cols-col0))} as row {@code r}, columns from {@code col0}. */
    private void storeRow(int r, int col0, float[] tile, int tileOff, int width) {
        int count = Math.min(width, cols - col0);
        if (!transposed && headWidth == 0) {
            System.arraycopy(tile, tileOff, data, r * rowStride + col0, count);
            return;
        }
        if (headWidth > 0) {
            for (int done = 0; done < count; ) { // the columns may run into the next head
                int col = col0 + done;
                int piece = Math.min(count - done, headWidth - col % headWidth);
                System.arraycopy(tile, tileOff + done, data, headMajorIndex(r, col), piece);
                done += piece;
            }
            return;
        }
        int base = transposedIndex(r, col0);
        for (int jj = 0; jj < count; jj++) {
            data[base + jj * paddedRows] = tile[tileOff + jj];
        }
    }

    /** Index of element (r, col) of a head-major target: key r of its batch row, in head col/headWidth. */
    private int headMajorIndex(int r, int col) {
        int b = r / rowsPerBatch;
        int g = col / headWidth;
        return offset + ((b * (cols / headWidth) + g) * rowsPerBatch + r - b * rowsPerBatch) * rowStride
                + col - g * headWidth;
    }

    /** Index of element (r, col) of a Kᵀ target: channel col of key r of its batch row. */
    private int transposedIndex(int r, int col) {
        int b = r / rowsPerBatch;
        return offset + (b * cols + col) * paddedRows + r - b * rowsPerBatch;
    }
}
