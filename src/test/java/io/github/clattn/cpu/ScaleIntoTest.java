package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernels#scaleInto}, which writes every normalised output row and rescales rows in place: each element is
 * {@code src * factor} rounded once, the same bits from the Vector API and the scalar kernels, at
 * every length around the vector width and at any offset, and nothing outside the range is touched.
 */
class ScaleIntoTest {

    @Test
    void everyElementIsOneProductAndNothingElseIsWritten() {
        Kernels vector = JavaAttentionTest.kernels("java-vector");
        SplittableRandom rnd = new SplittableRandom(7);
        int lanes = vector.lanes();
        for (int length : new int[] {0, 1, lanes - 1, lanes, lanes + 1, 2 * lanes + 3, 64, 65}) {
            for (int sOff : new int[] {0, 3}) {
                for (int dOff : new int[] {0, 5}) {
                    float[] src = new float[sOff + length + 7];
                    for (int i = 0; i < src.length; i++) {
                        src[i] = (float) (rnd.nextDouble() * 200 - 100);
                    }
                    float factor = (float) (1 / (rnd.nextDouble() * 50 + 0.5));
                    float[] byVector = filled(dOff + length + 9, Float.NaN);
                    float[] byScalar = filled(byVector.length, Float.NaN);
                    vector.scaleInto(src, sOff, byVector, dOff, length, factor);
                    ScalarKernels.INSTANCE.scaleInto(src, sOff, byScalar, dOff, length, factor);
                    String label = "length " + length + ", offsets " + sOff + "/" + dOff;
                    for (int i = 0; i < byVector.length; i++) {
                        boolean inside = i >= dOff && i < dOff + length;
                        float expected = inside ? src[sOff + i - dOff] * factor : Float.NaN;
                        int bits = Float.floatToRawIntBits(expected);
                        assertThat(Float.floatToRawIntBits(byVector[i])).as(label + ", vector, element " + i)
                                .isEqualTo(bits);
                        assertThat(Float.floatToRawIntBits(byScalar[i])).as(label + ", scalar, element " + i)
                                .isEqualTo(bits);
                    }
                }
            }
        }
    }

    @Test
    void inPlaceEveryElementIsOneProduct() {
        // the rescale of a row's sums and output: src and dst the same array at the same offset
        Kernels vector = JavaAttentionTest.kernels("java-vector");
        SplittableRandom rnd = new SplittableRandom(11);
        for (int length : new int[] {vector.lanes(), 4 * vector.lanes(), 4 * vector.lanes() + 5}) {
            float[] original = new float[length + 6];
            for (int i = 0; i < original.length; i++) {
                original[i] = (float) (rnd.nextDouble() * 200 - 100);
            }
            float alpha = (float) rnd.nextDouble();
            for (Kernels k : new Kernels[] {vector, ScalarKernels.INSTANCE}) {
                float[] a = original.clone();
                k.scaleInto(a, 3, a, 3, length, alpha);
                for (int i = 0; i < a.length; i++) {
                    float expected = i >= 3 && i < 3 + length ? original[i] * alpha : original[i];
                    assertThat(Float.floatToRawIntBits(a[i])).as("length %d, element %d", length, i)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    private static float[] filled(int length, float value) {
        float[] a = new float[length];
        Arrays.fill(a, value);
        return a;
    }
}
