package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.opencl.KernelVariant;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The score modifiers at their edges, on every path (Java, the OpenCL device with its own and the
 * GPU-style kernels, fused and with the weights): softcap keeps logits of 10^4 finite, a sink far
 * below changes nothing and one far above takes every row's mass without a NaN, a row that sees no
 * key has lse −∞ (the sink with one), the key mass sums to the rows that see a key, and bad modifiers
 * are refused naming the argument. Each output is checked against the float64 reference too.
 */
class ModifiersTest {
    static final int H = 4;
    static final int HKV = 2;
    static final int DK = 16;

    @AfterEach
    void clearVariant() {
        System.clearProperty(KernelVariant.PROPERTY);
    }

    /** device spec × whether the call asks for the weights (the staged path on OpenCL). */
    static Stream<Arguments> paths() {
        List<Arguments> all = new ArrayList<>();
        for (String spec : KvCacheTest.devices()) {
            all.add(Arguments.of(spec, false));
            all.add(Arguments.of(spec, true));
        }
        return all.stream();
    }

    /** Q [B,N,H*dk], K and V [B,M,Hkv*dk], uniform in ±{@code scale}. */
    private static ProjectedInput.Builder input(long seed, int batch, int n, int m, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        return ProjectedInput.builder(Tensors.uniform(r, batch * n * H * DK, scale),
                Tensors.uniform(r, batch * m * HKV * DK, scale), Tensors.uniform(r, batch * m * HKV * DK, 1.0),
                batch, n, m);
    }

    /** Runs {@code in} on the path, checks it against the float64 reference, returns it. */
    private static AttentionOutput run(String spec, boolean weights, AttentionOptions o, ProjectedInput.Builder in) {
        ProjectedInput call = in.returnWeights(weights).returnLse(true).returnKeyMass(true).build();
        try (ScaledDotProduct sdp = ScaledDotProduct.open(H, HKV, DK, o, KvCacheTest.device(spec))) {
            AttentionOutput got = sdp.forward(call);
            Float64Attention.compute(H, HKV, DK, o, call).compare(o + " on " + spec + (weights ? " (weights)" : ""), got)
                    .assertPassed();
            assertThat(got.lse()).hasSize(call.batch() * H * call.queryLength());
            assertThat(got.keyMass()).hasSize(call.batch() * H * call.keyLength());
            return got;
        }
    }

    private static void assertFinite(String what, float[] values) {
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.isFinite(values[i])).as(what + "[" + i + "] = " + values[i]).isTrue();
        }
    }

    @ParameterizedTest(name = "{0} weights={1}")
    @MethodSource("paths")
    void softcapKeepsLogitsOfTenThousandFinite(String spec, boolean weights) {
        // q·k/sqrt(dk) ~ 1e4 before the cap of 30
        AttentionOptions o = AttentionOptions.causal(true).withSoftcap(30);
        AttentionOutput got = run(spec, weights, o, input(1, 2, 33, 33, 60));
        assertFinite("heads_out", got.headsOut());
        assertFinite("lse", got.lse());
        for (float l : got.lse()) {
            assertThat(l).as("lse of logits capped at 30, at most 33 keys").isLessThan(30 + (float) Math.log(33) + 1e-3f);
        }
    }

    @ParameterizedTest(name = "{0} weights={1}")
    @MethodSource("paths")
    void aSinkFarBelowChangesNothingAndOneFarAboveTakesEveryRowsMass(String spec, boolean weights) {
        AttentionOptions plain = AttentionOptions.causal(true).withWindow(9, -1);
        AttentionOutput without = run(spec, weights, plain, input(2, 2, 40, 40, 1));
        float[] low = new float[H];
        float[] high = new float[H];
        for (int h = 0; h < H; h++) {
            low[h] = -1e30f;
            high[h] = 1e4f + h;
        }
        AttentionOutput below = run(spec, weights, plain.withSinks(low), input(2, 2, 40, 40, 1));
        assertThat(below.headsOut()).containsExactly(without.headsOut());
        assertThat(below.lse()).containsExactly(without.lse());

        AttentionOutput above = run(spec, weights, plain.withSinks(high), input(2, 2, 40, 40, 1));
        for (float v : above.headsOut()) {
            assertThat(v).as("the sink takes all the mass and has no value").isZero();
        }
        for (int i = 0; i < above.lse().length; i++) {
            int h = (i / 40) % H;
            assertThat(above.lse()[i]).isEqualTo(high[h]);
        }
        for (float v : above.keyMass()) {
            assertThat(v).isZero();
        }
    }

    @ParameterizedTest(name = "{0} weights={1}")
    @MethodSource("paths")
    void aRowWithoutKeysHasLseMinusInfinityOrItsSinkAndZeroOutput(String spec, boolean weights) {
        int n = 6;
        int m = 21;
        ProjectedInput.Builder in = input(3, 2, n, m, 1).keyValidLength(new int[] {0, m});
        AttentionOutput none = run(spec, weights, AttentionOptions.DEFAULT, in);
        float[] sinks = {0.5f, -1.5f, 2f, 0f};
        AttentionOutput sunk = run(spec, weights, AttentionOptions.DEFAULT.withSinks(sinks), in);
        for (int h = 0; h < H; h++) {
            for (int i = 0; i < n; i++) {
                assertThat(none.lse()[h * n + i]).as("batch 0 sees no key: lse").isEqualTo(Float.NEGATIVE_INFINITY);
                assertThat(sunk.lse()[h * n + i]).as("batch 0 sees no key: lse is the sink").isEqualTo(sinks[h]);
                assertThat(Float.isFinite(none.lse()[(H + h) * n + i])).isTrue();
            }
            for (int j = 0; j < m; j++) {
                assertThat(none.keyMass()[h * m + j]).isZero();
                assertThat(sunk.keyMass()[h * m + j]).isZero();
            }
        }
        for (int i = 0; i < n * H * DK; i++) {
            assertThat(none.headsOut()[i]).isZero();
            assertThat(sunk.headsOut()[i]).isZero();
        }
    }

    @ParameterizedTest(name = "{0} weights={1}")
    @MethodSource("paths")
    void theKeyMassSumsToTheRowsThatSeeAKey(String spec, boolean weights) {
        int n = 30;
        int m = 50;
        // causal from position 20 on, a window of (5, 3), and batch row 1 padded to 12 keys: its
        // queries at positions 20 + i see keys [15 + i, 12) -- none
        ProjectedInput.Builder in = input(4, 2, n, m, 1).keyValidLength(new int[] {m, 12});
        AttentionOptions o = AttentionOptions.causal(true).withWindow(5, 3).withAlibiSlopes(new float[] {0.5f, 0.25f,
            0.125f, 0.0625f});
        AttentionOutput got = run(spec, weights, o, in);
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < H; h++) {
                double sum = 0;
                for (int j = 0; j < m; j++) {
                    sum += got.keyMass()[(b * H + h) * m + j];
                }
                assertThat(sum).as("b=%d h=%d", b, h).isCloseTo(b == 0 ? n : 0, org.assertj.core.data.Offset.offset(1e-4));
            }
        }
        AttentionOutput sunk = run(spec, weights, o.withSinks(new float[] {0f, 0f, 0f, 0f}), in);
        double total = 0;
        for (float v : sunk.keyMass()) {
            total += v;
        }
        assertThat(total).as("a sink takes part of each row's mass").isLessThan(H * n - 1.0);
    }

    @Test
    void badModifiersAreRefusedNamingTheArgument() {
        AttentionOptions o = AttentionOptions.DEFAULT;
        assertThatThrownBy(() -> o.withWindow(-2, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("window").hasMessageContaining("-2");
        assertThatThrownBy(() -> o.withSoftcap(-1)).hasMessageContaining("softcap");
        assertThatThrownBy(() -> o.withSoftcap(0)).hasMessageContaining("softcap").hasMessageContaining("> 0");
        assertThatThrownBy(() -> o.withSoftcap(Double.NaN)).hasMessageContaining("softcap");
        assertThatThrownBy(() -> o.withSoftcap(Double.POSITIVE_INFINITY)).hasMessageContaining("softcap");
        assertThatThrownBy(() -> o.withAlibiSlopes(new float[] {1f, Float.NaN}))
                .hasMessageContaining("alibiSlopes[1]");
        assertThatThrownBy(() -> o.withSinks(new float[] {Float.NEGATIVE_INFINITY})).hasMessageContaining("sinks[0]");
        for (String spec : KvCacheTest.devices()) {
            assertThatThrownBy(() -> ScaledDotProduct.open(H, HKV, DK, o.withAlibiSlopes(new float[3]),
                    KvCacheTest.device(spec))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("alibiSlopes: expected 4");
            assertThatThrownBy(() -> ScaledDotProduct.open(H, HKV, DK, o.withSinks(new float[5]),
                    KvCacheTest.device(spec))).hasMessageContaining("sinks: expected 4");
        }
    }

    @Test
    void standardAlibiSlopesFollowThePaper() {
        assertThat(AttentionOptions.standardAlibiSlopes(4)).containsExactly(0.25f, 0.0625f, 0.015625f, 0.00390625f);
        float[] eight = AttentionOptions.standardAlibiSlopes(8);
        assertThat(eight[0]).isEqualTo(0.5f);
        assertThat(eight[7]).isEqualTo(1f / 256);
        // 6 heads: the 4 slopes of 4, then slopes 1 and 3 (1-based) of 8
        assertThat(AttentionOptions.standardAlibiSlopes(6)).containsExactly(0.25f, 0.0625f, 0.015625f, 0.00390625f,
                0.5f, 0.125f);
    }
}
