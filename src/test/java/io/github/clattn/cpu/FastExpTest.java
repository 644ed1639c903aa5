package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** The polynomial {@code exp}: accuracy against {@link Math#exp}, special values, same bits on both paths. */
class FastExpTest {

    @Test
    void isWithinTwoUlpsOfMathExpOverTheSoftmaxRange() {
        double worst = 0;
        float worstAt = 0;
        for (float x = -87f; x <= 88f; x += 0.000731f) {
            double want = Math.exp(x);
            double ulps = Math.abs(FastExp.exp(x) - want) / Math.ulp((float) want);
            if (ulps > worst) {
                worst = ulps;
                worstAt = x;
            }
        }
        assertThat(worst).as("max error in ulps (at x=%s)", worstAt).isLessThanOrEqualTo(2.0);
    }

    @Test
    void handlesTheValuesTheSoftmaxFeedsIt() {
        assertThat(FastExp.exp(0f)).isEqualTo(1f);
        assertThat(FastExp.exp(Float.NEGATIVE_INFINITY)).isEqualTo(0f);
        assertThat(FastExp.exp(-100f)).isEqualTo(0f);
        assertThat(FastExp.exp(Float.NaN)).isNaN();
        assertThat(FastExp.exp(-87f)).isCloseTo((float) Math.exp(-87), Percentage.withPercentage(1e-4));
    }

    @Test
    void vectorAndScalarKernelsGiveTheSameBits() {
        Random rnd = new Random(3);
        float[] x = new float[1037]; // not a multiple of any vector length
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 97 == 0 ? Float.NEGATIVE_INFINITY : (float) (rnd.nextDouble() * -90);
        }
        float[] vector = new float[x.length];
        float[] scalar = new float[x.length];
        JavaAttentionTest.kernels("java-vector").exp(x, 0, vector, 0, x.length);
        ScalarKernels.INSTANCE.exp(x, 0, scalar, 0, x.length);
        assertThat(vector).isEqualTo(scalar);
        for (int i = 0; i < x.length; i++) {
            assertThat(scalar[i]).as("exp(%s)", x[i]).isEqualTo(FastExp.exp(x[i]));
        }
    }
}
