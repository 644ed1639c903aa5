package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both kernel sets of the Java path against the float64 control ({@link Problem#check}) with the
 * conformance tolerance: random shapes and flags, sizes on every vector and tile edge, every flag
 * combination, fully masked rows, NaN and ∞ behind masks, and bitwise determinism across pool
 * sizes.
 */
class JavaAttentionTest {
    private static final int[] EDGE_LENGTHS = {1, 17, 63, 64, 65, 129, 257};

    /** The kernels under test, by name: the Vector API ones must be available in the test JVM. */
    static Kernels kernels(String path) {
        if (path.equals("java-scalar")) {
            return ScalarKernels.INSTANCE;
        }
        assertThat(JavaKernels.vectorUnavailableReason()).as("surefire starts the JVM with --add-modules "
                + "jdk.incubator.vector").isEmpty();
        return JavaKernels.named("vector");
    }

    /** A problem of given sizes and features. */
    static Problem problem(long seed, int batch, int n, int m, int dModel, int heads, int headDim, Feature... features) {
        EnumSet<Feature> f = EnumSet.noneOf(Feature.class);
        f.addAll(List.of(features));
        if (m != n) {
            f.add(Feature.CROSS);
        }
        return Problem.builder(seed, batch, n, m, dModel, heads, headDim).with(f).build();
    }

    /** {@code feature} when {@code on}, else nothing (for building feature lists from flags). */
    static Feature[] when(boolean on, Feature feature) {
        return on ? new Feature[] {feature} : new Feature[0];
    }

    static Feature[] all(Feature[]... parts) {
        return Stream.of(parts).flatMap(Stream::of).toArray(Feature[]::new);
    }

    static AttentionOutput run(String path, AttentionWeights w, AttentionOptions o, AttentionInput in) {
        JavaAttention attention = new JavaAttention(w, o, kernels(path));
        AttentionOutput got = attention.forward(in.validate(w.dModel()));
        assertThat(got.path()).isEqualTo(path);
        return got;
    }

    /** Runs {@code c} on {@code path} and checks every output against the control. */
    static AttentionOutput check(String path, Problem c) {
        AttentionOutput got = run(path, c.weights(), c.options(), c.input());
        c.check(got).assertPassed();
        String label = path + " [" + c + "]";
        if (!c.weights().hasOutputProjection()) {
            assertThat(got.out()).as(label + " out without w_o").isNull();
        }
        if (!c.input().returnWeights()) {
            assertThat(got.weights()).as(label + " weights not requested").isNull();
        }
        return got;
    }

    static Stream<Arguments> randomCases() {
        return Stream.of("java-vector", "java-scalar")
                .flatMap(path -> LongStream.range(0, 40).mapToObj(seed -> Arguments.of(path, seed)));
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("randomCases")
    void randomShapesAndFlagsMatchTheControl(String path, long seed) {
        // a different feature combination for each seed, spread over all 256
        Set<Feature> features = Feature.sweep(Feature.LAYER, Feature.DECODER).get((int) (seed * 101 % 256));
        check(path, Problem.random(7000 + seed, features, 300));
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void everyLengthOnAVectorOrTileEdgeMatchesTheControl(String path) {
        long seed = 1000;
        for (int n : EDGE_LENGTHS) {
            for (int m : EDGE_LENGTHS) {
                seed++;
                boolean odd = (seed & 1) == 1;
                // dk = 24 and H*dk = 48: neither a multiple of 16 floats nor of the 32-column panel
                check(path, problem(seed, 1, n, m, 12, 2, 24, all(new Feature[] {Feature.CAUSAL, Feature.CROSS,
                    Feature.OUTPUT_PROJECTION}, when(odd, Feature.KEY_PADDING), when(!odd, Feature.ATTN_BIAS),
                    when(odd, Feature.PROJECTION_BIAS), when(n * m < 5000, Feature.WEIGHTS))));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void everyFlagCombinationMatchesTheControl(String path) {
        List<Set<Feature>> combinations = Feature.sweep(Feature.LAYER, Feature.DECODER);
        for (int i = 0; i < combinations.size(); i++) {
            Set<Feature> f = combinations.get(i);
            int m = f.contains(Feature.CROSS) ? 129 : 65;
            check(path, Problem.builder(2000 + i, 2, 65, m, 20, 3, 13).with(f).build());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void laterKeyBlocksWithHigherScoresRescaleTheEarlierOnes(String path) {
        // M spans four key blocks; a bias rising with j makes every block raise the running max
        int n = 21;
        int m = 3 * AttentionPass.KEY_BLOCK + 50;
        Problem c = problem(4000, 1, n, m, 16, 2, 16, Feature.CAUSAL, Feature.PROJECTION_BIAS,
                Feature.OUTPUT_PROJECTION);
        float[] rising = new float[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                rising[i * m + j] = 6f * j / m;
            }
        }
        AttentionInput in = AttentionInput.builder(c.input().x(), 1, n).context(c.input().context(), m)
                .keyValidLength(new int[] {m - 7}).attnBias(rising).build();
        AttentionOutput got = run(path, c.weights(), c.options(), in);
        c.withInput(in).check(got).assertPassed();
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void laterKeyBlocksFarAboveTheRowsShiftAreRedoneWithANewOne(String path) {
        // no bias, every key visible: blocks after the first run exp against the row's shift, and a
        // block whose scores lie more than SHIFT_LIMIT above it is made again with a new shift.
        // Context rows growing 80-fold with j put the last blocks' scores far above the first's.
        int n = 40;
        int m = 4 * AttentionPass.KEY_BLOCK + 32;
        Problem c = problem(4200, 2, n, m, 32, 2, 16, Feature.PROJECTION_BIAS);
        float[] context = c.input().context().clone();
        int d = 32;
        for (int row = 0; row < 2 * m; row++) {
            float grow = 1f + 79f * (row % m) / m;
            for (int k = 0; k < d; k++) {
                context[row * d + k] *= grow;
            }
        }
        AttentionInput in = AttentionInput.builder(c.input().x(), 2, n).context(context, m).returnLse(true).build();
        Problem grown = c.withInput(in);
        AttentionOutput got = run(path, grown.weights(), grown.options(), in);
        grown.check(got).assertPassed();
        assertThat(run(path, grown.weights(), grown.options(), in).headsOut()).as("a second call")
                .isEqualTo(got.headsOut());
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void groupsThatStartAtAnUnalignedFirstLiveRowMatchTheControl(String path) {
        // causal cross-attention, query i at position 500 + i: in the key block from 512 on, the
        // rows 0..11 of the first task see nothing more, so its groups start at row 12 and the
        // queries are transposed again from there (AttentionPass: packed != first)
        int m = 2 * AttentionPass.KEY_BLOCK + 88;
        assertThat(m - 100 + 12).isEqualTo(2 * AttentionPass.KEY_BLOCK);
        check(path, problem(4100, 1, 100, m, 32, 2, 16, Feature.CAUSAL, Feature.PROJECTION_BIAS));
        check(path, problem(4101, 1, 100, m, 32, 2, 16, Feature.CAUSAL, Feature.KEY_PADDING, Feature.ATTN_BIAS));
    }

    @ParameterizedTest
    @ValueSource(ints = {8, 4})
    void bothRegisterBlockHeightsMatchTheControl(int gemmRows) {
        // 8-row blocks, then 4- and 1-row tails, of the transposed rows of x and of Qᵀ (N = 77 = 8·9 + 4 + 1)
        JavaParams p = JavaParams.defaults(kernels("java-vector").lanes()).with(JavaParams.GEMM_ROWS, gemmRows);
        Kernels k = kernels("java-vector").withParams(p);
        for (int seed = 0; seed < 3; seed++) {
            Problem c = problem(4200 + seed, 2, 77, 77 + 300 * seed, 40, 2, 20, Feature.PROJECTION_BIAS,
                    Feature.OUTPUT_PROJECTION, seed == 1 ? Feature.CAUSAL : Feature.KEY_PADDING);
            AttentionOutput got = new JavaAttention(c.weights(), c.options(), k).forward(c.input().validate(40));
            assertThat(got.path()).isEqualTo("java-vector");
            c.check(got).assertPassed();
        }
    }

    @Test
    void headWidthsAroundTheVectorLengthMatchTheControl() {
        for (int dk : new int[] {1, 8, 15, 16, 17, 31, 32, 48, 64, 65, 80, 128}) {
            for (String path : List.of("java-vector", "java-scalar")) {
                check(path, problem(3000 + dk, 1, 70, 70, 19, 2, dk, Feature.CAUSAL, Feature.KEY_PADDING,
                        Feature.ATTN_BIAS, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION, Feature.WEIGHTS));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void fullyMaskedRowsGiveZeroOutputAndWeights(String path) {
        // cross causal with N = 6 > M = 3: queries 0..2 see no key; batch row 0 has no valid key;
        // query 4's bias hides every key
        SplittableRandom rnd = new SplittableRandom(7);
        int n = 6;
        int m = 3;
        int d = 10;
        int h = 2;
        int dk = 5;
        float[] bias = Tensors.uniform(rnd, n * m, 1);
        for (int j = 0; j < m; j++) {
            bias[4 * m + j] = Float.NEGATIVE_INFINITY;
        }
        AttentionWeights w = AttentionWeights.builder(d, h, dk)
                .projections(Tensors.uniform(rnd, d * h * dk, 0.3), Tensors.uniform(rnd, d * h * dk, 0.3),
                        Tensors.uniform(rnd, d * h * dk, 0.3))
                .projectionBiases(null, null, Tensors.uniform(rnd, h * dk, 1))
                .outputProjection(Tensors.uniform(rnd, h * dk * d, 0.3), Tensors.uniform(rnd, d, 1))
                .build();
        AttentionInput in = AttentionInput.builder(Tensors.uniform(rnd, 2 * n * d, 1), 2, n)
                .context(Tensors.uniform(rnd, 2 * m * d, 1), m).keyValidLength(new int[] {0, 3}).attnBias(bias)
                .returnWeights(true).build();
        AttentionOptions o = AttentionOptions.causal(true);
        AttentionOutput got = run(path, w, o, in);
        int hd = h * dk;
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < n; i++) {
                boolean masked = b == 0 || i < n - m || i == 4;
                for (int c = 0; c < hd; c++) {
                    float value = got.headsOut()[(b * n + i) * hd + c];
                    if (masked) {
                        assertThat(value).as(path + " heads_out[%d,%d,%d] of a fully masked row", b, i, c).isEqualTo(0f);
                    } else {
                        assertThat(value).as(path + " heads_out[%d,%d,%d] of a visible row", b, i, c).isNotEqualTo(0f);
                    }
                }
                for (int head = 0; head < h; head++) {
                    for (int j = 0; j < m; j++) {
                        float p = got.weights()[((b * h + head) * n + i) * m + j];
                        if (masked) {
                            assertThat(p).as(path + " weight of a fully masked row").isEqualTo(0f);
                        }
                    }
                }
            }
        }
        Problem.of(path + " fully masked rows", w, o, in).check(got).assertPassed();
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void nanAndInfinityBehindTheMasksNeverReachTheOutput(String path) {
        for (boolean causal : new boolean[] {false, true}) {
            for (boolean weights : new boolean[] {false, true}) {
                SplittableRandom rnd = new SplittableRandom(causal ? 11 : 12);
                int b = 2;
                int n = 37;
                int m = 70;
                int d = 24;
                int[] valid = {33, 65};
                float[] context = Tensors.uniform(rnd, b * m * d, 1);
                for (int batch = 0; batch < b; batch++) {
                    for (int j = valid[batch]; j < m; j++) {
                        for (int c = 0; c < d; c++) {
                            context[(batch * m + j) * d + c] = j % 3 == 0 ? Float.NaN
                                    : j % 3 == 1 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                        }
                    }
                }
                float[] bias = Tensors.uniform(rnd, n * m, 1);
                for (int i = 0; i < n; i++) {
                    for (int j = valid[0]; j < m; j++) {
                        bias[i * m + j] = Float.NaN; // hidden for batch row 0
                    }
                }
                Problem base = problem(40, b, n, m, d, 2, 20, all(when(causal, Feature.CAUSAL),
                        new Feature[] {Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION}, when(weights, Feature.WEIGHTS)));
                // both batch rows, no bias; then batch row 0 alone with NaN bias on its hidden keys
                AttentionInput twoRows = AttentionInput.builder(base.input().x(), b, n).context(context, m)
                        .keyValidLength(valid).returnWeights(weights).build();
                AttentionInput withBias = AttentionInput.builder(Arrays.copyOf(base.input().x(), n * d), 1, n)
                        .context(Arrays.copyOf(context, m * d), m).keyValidLength(new int[] {valid[0]})
                        .attnBias(bias).returnWeights(weights).build();
                for (AttentionInput input : List.of(twoRows, withBias)) {
                    AttentionOutput got = run(path, base.weights(), base.options(), input);
                    for (float x : got.headsOut()) {
                        assertThat(Float.isFinite(x)).as(path + " heads_out finite").isTrue();
                    }
                    for (float x : got.out()) {
                        assertThat(Float.isFinite(x)).as(path + " out finite").isTrue();
                    }
                    base.withInput(input).check(got).assertPassed();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void resultsAreBitwiseIdenticalForAnyThreadCount(String path) {
        int original = CpuThreads.threads();
        try {
            for (boolean weights : new boolean[] {false, true}) {
                Problem c = problem(77, 2, 257, 300, 64, 4, 16, all(new Feature[] {Feature.CAUSAL, Feature.KEY_PADDING,
                    Feature.ATTN_BIAS, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION}, when(weights, Feature.WEIGHTS)));
                List<AttentionOutput> runs = new ArrayList<>();
                for (int threads : new int[] {1, 2, 3, 7}) {
                    CpuThreads.setThreads(threads);
                    runs.add(run(path, c.weights(), c.options(), c.input()));
                }
                for (int i = 1; i < runs.size(); i++) {
                    String label = path + " " + c + " run " + i + " vs 1 thread";
                    assertThat(runs.get(i).headsOut()).as(label + " heads_out").isEqualTo(runs.get(0).headsOut());
                    assertThat(runs.get(i).out()).as(label + " out").isEqualTo(runs.get(0).out());
                    assertThat(runs.get(i).weights()).as(label + " weights").isEqualTo(runs.get(0).weights());
                }
            }
        } finally {
            CpuThreads.setThreads(original);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void buffersKeptFromACallWithNaNDoNotChangeTheNextCall(String path) throws Exception {
        Problem small = problem(61, 1, 40, 45, 16, 2, 8, Feature.CAUSAL, Feature.PROJECTION_BIAS, Feature.WEIGHTS);
        // a fresh thread has no kept buffers
        AttentionOutput[] fresh = new AttentionOutput[1];
        Thread thread = new Thread(() -> fresh[0] = run(path, small.weights(), small.options(), small.input()));
        thread.start();
        thread.join();
        // leave NaN everywhere in this thread's kept Q, Kᵀ and V, then run the small case on it
        int d = small.weights().dModel();
        int m = 70;
        float[] nan = new float[m * d];
        Arrays.fill(nan, Float.NaN);
        AttentionInput poisoned = AttentionInput.builder(nan, 1, m).build();
        run(path, small.weights(), small.options(), poisoned);
        AttentionOutput reused = run(path, small.weights(), small.options(), small.input());
        assertThat(reused.headsOut()).isEqualTo(fresh[0].headsOut());
        assertThat(reused.weights()).isEqualTo(fresh[0].weights());
    }

    @Test
    void vectorPropertyFalseSelectsTheScalarKernels() {
        Problem c = problem(5, 1, 9, 9, 8, 1, 8);
        String before = System.getProperty(JavaKernels.VECTOR_PROPERTY);
        try {
            System.setProperty(JavaKernels.VECTOR_PROPERTY, "false");
            JavaAttention scalar = new JavaAttention(c.weights(), c.options());
            assertThat(scalar.path()).isEqualTo("java-scalar");
            assertThat(scalar.forward(c.input()).path()).isEqualTo("java-scalar");
            System.clearProperty(JavaKernels.VECTOR_PROPERTY);
            assertThat(new JavaAttention(c.weights(), c.options()).path()).isEqualTo("java-vector");
        } finally {
            if (before == null) {
                System.clearProperty(JavaKernels.VECTOR_PROPERTY);
            } else {
                System.setProperty(JavaKernels.VECTOR_PROPERTY, before);
            }
        }
    }

    @Test
    void concurrentCallsOnOneLayerGiveTheSameResults() throws Exception {
        Problem c = problem(9, 1, 130, 130, 32, 2, 16, Feature.CAUSAL, Feature.KEY_PADDING, Feature.ATTN_BIAS,
                Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION);
        JavaAttention attention = new JavaAttention(c.weights(), c.options(), kernels("java-vector"));
        float[] expected = attention.forward(c.input()).out();
        List<Thread> threads = new ArrayList<>();
        List<float[]> results = Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                for (int k = 0; k < 5; k++) {
                    results.add(attention.forward(c.input()).out());
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join(60_000);
        }
        assertThat(results).hasSize(20).allSatisfy(r -> assertThat(r).isEqualTo(expected));
    }
}
