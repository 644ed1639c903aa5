package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.opencl.KernelVariant;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Tolerance;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attention on the caller's own Q, K and V: it equals the layer on the same tensors (with every
 * mask, GQA and RoPE, fused and with the weights), the float64 reference, and a standalone cache
 * fed with pre-projected keys and values equals one forward call. Bad shapes are refused by name.
 */
class ScaledDotProductTest {
    @AfterEach
    void clearVariant() {
        System.clearProperty(KernelVariant.PROPERTY);
    }

    static List<String> devices() {
        return KvCacheTest.devices();
    }

    /** Q [B,N,H*dk], K and V [B,M,Hkv*dk] of a layer, in float32, as a caller would compute them. */
    static float[][] project(Problem p) {
        AttentionWeights w = p.weights();
        AttentionInput in = p.input();
        float[] ctx = in.keyValueSource();
        int d = w.dModel();
        return new float[][] {
            matmul(in.x(), p.batch() * p.queryLength(), d, w.wQ(), w.bQ(), w.projectedDim()),
            matmul(ctx, p.batch() * p.contextLength(), d, w.wK(), w.bK(), w.kvDim()),
            matmul(ctx, p.batch() * p.contextLength(), d, w.wV(), w.bV(), w.kvDim())};
    }

    private static float[] matmul(float[] a, int rows, int inner, float[] w, float[] bias, int cols) {
        float[] c = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                double acc = bias == null ? 0 : bias[j];
                for (int k = 0; k < inner; k++) {
                    acc += (double) a[r * inner + k] * w[k * cols + j];
                }
                c[r * cols + j] = (float) acc;
            }
        }
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void preProjectedTensorsGiveTheLayersOutputsAndTheReference(String spec) {
        Device device = KvCacheTest.device(spec);
        for (boolean weights : new boolean[] {false, true}) {
            Problem p = Problem.builder(31, 2, 13, 29, 20, 6, 8).kvHeads(2).with(Feature.CROSS, Feature.CAUSAL,
                    Feature.KEY_PADDING, Feature.ATTN_BIAS, Feature.PROJECTION_BIAS, Feature.SCALE, Feature.ROPE)
                    .build().withReturnWeights(weights);
            float[][] qkv = project(p);
            ProjectedInput in = ProjectedInput.builder(qkv[0], qkv[1], qkv[2], 2, 13, 29)
                    .keyValidLength(p.input().keyValidLength()).attnBias(p.input().attnBias()).returnWeights(weights)
                    .build();
            try (ScaledDotProduct sdp = ScaledDotProduct.open(6, 2, 8, p.options(), device);
                 Attention layer = Attention.open(p.weights(), p.options(), device)) {
                AttentionOutput got = sdp.forward(in);
                AttentionOutput viaLayer = layer.forward(p.input());
                String label = spec + (weights ? " with weights" : "");
                assertThat(got.path()).as(label).contains(weights && spec.startsWith("opencl") ? "staged" : "");
                Tolerance.outputs(label + " SDP vs layer", got.headsOut(), Tensors.widen(viaLayer.headsOut()))
                        .assertPassed();
                Float64Attention.Result want = Float64Attention.compute(6, 2, 8, p.options(), in);
                Tolerance.outputs(label + " SDP vs float64", got.headsOut(), want.headsOut()).assertPassed();
                if (weights) {
                    Tolerance.weights(label + " weights", got.weights(), want.weights()).assertPassed();
                }
                assertThat(in.q()).as("the caller's q is not rotated in place").isEqualTo(project(p)[0]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void aStandaloneCacheOfAppendedKeysEqualsOneForward(String spec) {
        Problem p = Problem.builder(41, 2, 21, 21, 16, 4, 8).kvHeads(1).with(Feature.CAUSAL, Feature.PROJECTION_BIAS,
                Feature.ROPE).build();
        float[][] qkv = project(p);
        int hq = 4 * 8;
        int hkv = 8;
        Device device = KvCacheTest.device(spec);
        double[] want = Float64Attention.compute(4, 1, 8, p.options(),
                ProjectedInput.builder(qkv[0], qkv[1], qkv[2], 2, 21, 21).build()).headsOut();
        try (KvCache cache = KvCache.open(4, 1, 8, 2, 32, p.options(), device)) {
            float[] got = new float[2 * 21 * hq];
            int[][] chunks = {{0, 5}, {5, 16}, {16, 17}, {17, 18}, {18, 21}};
            for (int[] c : chunks) {
                int len = c[1] - c[0];
                float[] k = new float[2 * len * hkv];
                float[] v = new float[2 * len * hkv];
                float[] q = new float[2 * len * hq];
                for (int b = 0; b < 2; b++) {
                    System.arraycopy(qkv[1], (b * 21 + c[0]) * hkv, k, b * len * hkv, len * hkv);
                    System.arraycopy(qkv[2], (b * 21 + c[0]) * hkv, v, b * len * hkv, len * hkv);
                    System.arraycopy(qkv[0], (b * 21 + c[0]) * hq, q, b * len * hq, len * hq);
                }
                cache.append(k, v, len);
                AttentionOutput o = cache.attend(q, len);
                for (int b = 0; b < 2; b++) {
                    System.arraycopy(o.headsOut(), b * len * hq, got, (b * 21 + c[0]) * hq, len * hq);
                }
            }
            Tolerance.outputs(spec + " standalone cache", got, want).assertPassed();
            assertThat(cache.lengths()).containsExactly(21, 21);
            assertThatThrownBy(() -> cache.prefill(new float[2 * 16], 1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("append and attend");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void badShapesAreRefusedByName(String spec) {
        try (ScaledDotProduct sdp = ScaledDotProduct.open(4, 2, 8, AttentionOptions.DEFAULT, KvCacheTest.device(spec))) {
            assertThatThrownBy(() -> sdp.forward(ProjectedInput.builder(new float[2 * 3 * 32], new float[2 * 5 * 16 + 1],
                    new float[2 * 5 * 16], 2, 3, 5).build())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("k").hasMessageContaining("Hkv=2").hasMessageContaining("expected 160");
            assertThatThrownBy(() -> sdp.forward(ProjectedInput.builder(new float[2 * 3 * 32], new float[160],
                    new float[160], 2, 3, 5).keyValidLength(new int[] {6, 1}).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyValidLength[0]");
            assertThat(sdp.forward(ProjectedInput.builder(new float[0], new float[0], new float[0], 0, 3, 5).build())
                    .headsOut()).isEmpty();
        }
    }
}
