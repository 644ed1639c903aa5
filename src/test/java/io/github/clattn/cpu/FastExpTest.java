package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
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

    @Test
    void expAndSumAddsOnlyWhenEveryScoreIsWithinTheLimitOfTheShift() {
        Kernels vector = JavaAttentionTest.kernels("java-vector");
        int width = 4 * vector.keyStep();
        float shift = 3.5f;
        float limit = 14f;
        Random rnd = new Random(5);
        float[] within = new float[width];
        for (int j = 0; j < width; j++) {
            within[j] = shift + (float) (rnd.nextDouble() * 30 - 20); // x in [-20, 10)
        }
        within[7] = shift + limit; // exactly at the limit: still within
        within[9] = Float.NEGATIVE_INFINITY;
        float[] above = within.clone();
        above[width - 3] = Math.nextUp(shift + limit) + 0.001f; // the one score past the limit
        for (Kernels k : new Kernels[] {vector, ScalarKernels.INSTANCE}) {
            String name = k == vector ? "vector" : "scalar";
            float[] s = within.clone();
            float[] sums = new float[k.lanes()];
            Arrays.fill(sums, 0.25f);
            assertThat(k.expAndSum(s, 0, width, shift, limit, sums, 0)).as(name + " within").isTrue();
            double total = 0;
            for (int j = 0; j < width; j++) {
                assertThat(s[j]).as(name + " p[%d]", j).isEqualTo(FastExp.exp(within[j] - shift));
                total += s[j];
            }
            double added = -0.25 * k.lanes();
            for (float x : sums) {
                added += x;
            }
            assertThat(added).as(name + " sums").isCloseTo(total, org.assertj.core.data.Offset.offset(1e-6 * total));

            float[] t = above.clone();
            float[] unchanged = new float[k.lanes()];
            Arrays.fill(unchanged, 0.25f);
            float[] sums2 = unchanged.clone();
            assertThat(k.expAndSum(t, 0, width, shift, limit, sums2, 0)).as(name + " above").isFalse();
            assertThat(sums2).as(name + " sums left alone").isEqualTo(unchanged);

            float[] nan = within.clone();
            nan[11] = Float.NaN;
            float[] sums3 = new float[k.lanes()];
            assertThat(k.expAndSum(nan, 0, width, shift, Float.POSITIVE_INFINITY, sums3, 0))
                    .as(name + " no limit").isTrue();
            float sum3 = 0;
            for (float x : sums3) {
                sum3 += x;
            }
            assertThat(sum3).as(name + " a NaN reaches the sums").isNaN();
        }
        float[] a = above.clone();
        float[] b = above.clone();
        vector.expAndSum(a, 0, width, shift, limit, new float[vector.lanes()], 0);
        ScalarKernels.INSTANCE.expAndSum(b, 0, width, shift, limit, new float[1], 0);
        assertThat(a).as("the same bits on both paths").isEqualTo(b);
        assertThatThrownBy(() -> FastExp.limitBits(-1f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("limit");
    }
}
