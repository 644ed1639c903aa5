package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Masks, fully masked rows and large logits, on the Java path and the OpenCL device. */
class MaskingTest {

    static java.util.List<String> devices() {
        return TestDevices.specs();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void fullyMaskedRowsGiveZerosNotNaN(String spec) {
        // Cross-causal with M < N: the first N - M query rows see no key at all; batch row 1 has
        // no valid key either. Every such row must be exactly zero, weights and output.
        Problem p = Problem.builder(11, 2, 9, 4, 12, 3, 5).with(Feature.CAUSAL, Feature.CROSS, Feature.WEIGHTS).build();
        AttentionInput in = AttentionInput.builder(p.input().x(), 2, 9).context(p.input().context(), 4)
                .keyValidLength(new int[] {4, 0}).returnWeights(true).build();
        Device device = TestDevices.bySpec(spec);
        try (Attention attention = Attention.open(p.weights(), p.options(), device)) {
            AttentionOutput out = attention.forward(in);
            int hd = 15;
            for (int batch = 0; batch < 2; batch++) {
                for (int i = 0; i < 9; i++) {
                    boolean fullyMasked = batch == 1 || i < 9 - 4;
                    for (int c = 0; c < hd; c++) {
                        float v = out.headsOut()[(batch * 9 + i) * hd + c];
                        assertThat(Float.isNaN(v)).as("NaN at b=%d i=%d", batch, i).isFalse();
                        if (fullyMasked) {
                            assertThat(v).as("fully masked row b=%d i=%d on %s", batch, i, device).isZero();
                        }
                    }
                }
            }
            for (float w : out.weights()) {
                assertThat(Float.isNaN(w)).isFalse();
            }
            p.withInput(in).check(out).assertPassed();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void biasOfMinusInfinityMasksWholeRow(String spec) {
        Problem p = Problem.builder(12, 1, 5, 5, 8, 2, 3).build();
        float[] bias = new float[25];
        java.util.Arrays.fill(bias, 0, 5, Float.NEGATIVE_INFINITY); // row 0 sees nothing
        AttentionInput in = AttentionInput.builder(p.input().x(), 1, 5).attnBias(bias).returnWeights(true).build();
        try (Attention attention = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput out = attention.forward(in);
            for (int c = 0; c < 6; c++) {
                assertThat(out.headsOut()[c]).isZero();
            }
            p.withInput(in).check(out).assertPassed();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void largeLogitsStayFinite(String spec) {
        // x scaled by 1e3: scores around 1e5, exp overflows unless the row max is subtracted.
        Problem p = Problem.builder(13, 2, 33, 33, 20, 2, 9).with(Feature.CAUSAL, Feature.WEIGHTS).xScale(1e3f).build();
        try (Attention attention = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput out = attention.forward(p.input());
            for (float v : out.headsOut()) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            for (float w : out.weights()) {
                assertThat(w).isBetween(0f, 1f);
            }
            p.withReturnWeights(false).reference().compare("large logits", out).comparisons().get(0).assertPassed();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void causalIsBottomRightAlignedForCrossAttention(String spec) {
        // M > N: query i sees keys 0 .. i + (M - N); the last query sees every key.
        Problem p = Problem.builder(14, 1, 3, 7, 10, 1, 6).with(Feature.CAUSAL, Feature.CROSS, Feature.WEIGHTS).build();
        try (Attention attention = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            AttentionOutput out = attention.forward(p.input());
            float[] w = out.weights();
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 7; j++) {
                    if (j > i + 4) {
                        assertThat(w[i * 7 + j]).as("hidden key %d of query %d", j, i).isZero();
                    } else {
                        assertThat(w[i * 7 + j]).as("visible key %d of query %d", j, i).isPositive();
                    }
                }
            }
            p.check(out).assertPassed();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void explicitScaleOverridesDefault(String spec) {
        Problem p = Problem.builder(15, 1, 6, 6, 8, 2, 4).with(Feature.WEIGHTS).build();
        AttentionOptions scaled = new AttentionOptions(false, 2.0);
        try (Attention a = Attention.open(p.weights(), scaled, TestDevices.bySpec(spec));
             Attention b = Attention.open(p.weights(), AttentionOptions.DEFAULT, TestDevices.bySpec(spec))) {
            AttentionOutput withScale = a.forward(p.input());
            Problem.of("scale 2", p.weights(), scaled, p.input()).check(withScale).assertPassed();
            assertThat(withScale.weights()).isNotEqualTo(b.forward(p.input()).weights());
        }
    }
}
