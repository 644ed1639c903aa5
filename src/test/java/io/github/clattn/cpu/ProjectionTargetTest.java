package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernels#project} into each kind of {@link ProjectionTarget}, by the Vector API and the scalar
 * kernels: every element of {@code A·W + bias} lands where the target's layout puts it, within float32
 * rounding of a float64 reference, and nothing else is written. The shapes put row blocks across batch
 * rows and panels across heads, so both the in-place stores and the tile stores are taken.
 */
class ProjectionTargetTest {

    private enum Kind { ROW_MAJOR, TRANSPOSED, HEAD_MAJOR }

    @Test
    void everyElementLandsInItsPlaceAndNothingElseIsWritten() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (Kernels kernels : new Kernels[] {JavaAttentionTest.kernels("java-vector"), ScalarKernels.INSTANCE}) {
            for (int rowsPerBatch : new int[] {5, 37, 64, 100}) {
                for (int headWidth : new int[] {20, 48, 64, 80}) {
                    for (Kind kind : Kind.values()) {
                        check(kernels, kind, 3, rowsPerBatch, 2, headWidth, 24, rnd);
                    }
                }
            }
        }
    }

    @Test
    void projectingSeveralMatricesOfTheSameRowsGivesTheBitsOfProjectingEachApart() {
        SplittableRandom rnd = new SplittableRandom(12);
        Kernels kernels = JavaAttentionTest.kernels("java-vector");
        int rows = 70;
        int inner = 40;
        int[] cols = {96, 40, 40};
        float[] a = random(rows * inner, rnd);
        PackedMatrix[] ws = new PackedMatrix[cols.length];
        ProjectionTarget[] apart = new ProjectionTarget[cols.length];
        ProjectionTarget[] together = new ProjectionTarget[cols.length];
        for (int i = 0; i < cols.length; i++) {
            ws[i] = PackedMatrix.pack(random(inner * cols[i], rnd), random(cols[i], rnd), inner, cols[i],
                    kernels.panelWidth());
            apart[i] = ProjectionTarget.rowMajor(new float[rows * cols[i]], cols[i]);
            together[i] = ProjectionTarget.rowMajor(new float[rows * cols[i]], cols[i]);
        }
        for (int r0 = 0; r0 < rows; r0 += 64) {
            int r1 = Math.min(rows, r0 + 64);
            for (int i = 0; i < cols.length; i++) {
                kernels.project(a, r0, r1, ws[i], 0, ws[i].panels, apart[i]);
            }
            kernels.projectEach(a, r0, r1, ws, together);
        }
        for (int i = 0; i < cols.length; i++) {
            assertThat(together[i].data).as("matrix " + i).isEqualTo(apart[i].data);
        }
        PackedMatrix other = PackedMatrix.pack(new float[(inner + 1) * 8], null, inner + 1, 8, kernels.panelWidth());
        assertThatThrownBy(() -> kernels.projectEach(a, 0, 8, new PackedMatrix[] {ws[0], other},
                new ProjectionTarget[] {apart[0], apart[1]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ws[1]");
    }

    private static void check(Kernels kernels, Kind kind, int batch, int rowsPerBatch, int heads, int headWidth,
                              int inner, SplittableRandom rnd) {
        int rows = batch * rowsPerBatch;
        int cols = heads * headWidth;
        float[] a = random(rows * inner, rnd);
        float[] w = random(inner * cols, rnd);
        float[] bias = random(cols, rnd);
        int offset = 3;
        int paddedRows = rowsPerBatch + 7;
        int rowStride = kind == Kind.ROW_MAJOR ? cols + 5 : headWidth + 4;
        int length = switch (kind) {
            case ROW_MAJOR -> rows * rowStride;
            case TRANSPOSED -> offset + batch * cols * paddedRows;
            case HEAD_MAJOR -> offset + batch * heads * rowsPerBatch * rowStride;
        };
        float[] data = new float[length + 40];
        java.util.Arrays.fill(data, Float.NaN);
        ProjectionTarget target = switch (kind) {
            case ROW_MAJOR -> ProjectionTarget.rowMajor(data, cols, rowStride);
            case TRANSPOSED -> ProjectionTarget.transposedPerBatch(data, offset, cols, rowsPerBatch, paddedRows);
            case HEAD_MAJOR -> ProjectionTarget.headMajor(data, offset, cols, headWidth, rowStride, rowsPerBatch);
        };
        PackedMatrix packed = PackedMatrix.pack(w, bias, inner, cols, kernels.panelWidth());
        for (int r0 = 0; r0 < rows; r0 += JavaAttention.PROJECTION_ROWS) {
            kernels.project(a, r0, Math.min(rows, r0 + JavaAttention.PROJECTION_ROWS), packed, 0, packed.panels,
                    target);
        }
        boolean[] written = new boolean[data.length];
        String label = kernels.path() + " " + kind + " rows/batch " + rowsPerBatch + " head width " + headWidth;
        for (int r = 0; r < rows; r++) {
            int b = r / rowsPerBatch;
            int key = r - b * rowsPerBatch;
            for (int col = 0; col < cols; col++) {
                double sum = bias[col];
                double magnitude = Math.abs(bias[col]);
                for (int k = 0; k < inner; k++) {
                    double term = (double) a[r * inner + k] * w[k * cols + col];
                    sum += term;
                    magnitude += Math.abs(term);
                }
                int g = col / headWidth;
                int at = switch (kind) {
                    case ROW_MAJOR -> r * rowStride + col;
                    case TRANSPOSED -> offset + (b * cols + col) * paddedRows + key;
                    case HEAD_MAJOR -> offset + ((b * heads + g) * rowsPerBatch + key) * rowStride
                            + col - g * headWidth;
                };
                written[at] = true;
                assertThat((double) data[at]).as(label + ", row " + r + ", column " + col)
                        .isCloseTo(sum, org.assertj.core.api.Assertions.within(
                                2 * (inner + 1) * 0x1p-24 * magnitude + 1e-30));
            }
        }
        for (int i = 0; i < data.length; i++) {
            if (!written[i]) {
                assertThat(data[i]).as(label + ", element " + i + " belongs to no output").isNaN();
            }
        }
    }

    private static float[] random(int length, SplittableRandom rnd) {
        float[] x = new float[length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }
}
