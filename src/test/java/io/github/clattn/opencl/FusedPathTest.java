package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ConformanceCase;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every conformance case and a seeded random sweep on the three OpenCL paths (fused CPU-style,
 * fused GPU-style, staged) of the OpenCL test device, against the float64 reference.
 *
 * <p>The sweep's seed is {@code -Dclattn.test.seed} (default fixed); every failure message
 * starts with the case's description, seed included, which is enough to reproduce it.
 */
class FusedPathTest {
    private static final long SEED = Long.getLong("clattn.test.seed", 20_240_611L);

    private static ClContext keepAlive;
    private int liveBefore;

    @BeforeAll
    static void keepProgramsBuilt() {
        // Holding the context keeps every program built by one test for the next.
        keepAlive = ClContext.acquire(TestDevices.openCl());
    }

    @AfterAll
    static void release() {
        if (keepAlive != null) {
            keepAlive.release();
        }
    }

    @BeforeEach
    void countObjects() {
        liveBefore = liveExceptPrograms();
    }

    @AfterEach
    void noLeaks() {
        assertThat(liveExceptPrograms()).as("live OpenCL objects after the test (programs stay with the context)")
                .isEqualTo(liveBefore);
    }

    static int liveExceptPrograms() {
        return Cl.liveObjects() - Cl.liveObjectsByKind().getOrDefault("program", 0);
    }

    static Stream<Arguments> conformance() {
        return Stream.concat(ConformanceCase.names().stream(), ConformanceCase.v2Names().stream())
                .flatMap(name -> Stream.of(PathUnderTest.values()).map(p -> Arguments.of(name, p)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("conformance")
    void conformanceCase(String name, PathUnderTest path) {
        ConformanceCase c = ConformanceCase.load(name);
        path.runAndCheck(TestDevices.openCl(), c.problem());
    }

    /** The layer features (the weights one is each path's own choice): every combination, 128. */
    static final List<Feature> LAYER_FEATURES = List.of(Feature.CAUSAL, Feature.CROSS, Feature.KEY_PADDING,
            Feature.ATTN_BIAS, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION, Feature.SCALE);

    /** One random problem per combination of the layer features, each on all three paths. */
    static Stream<Arguments> sweep() {
        SplittableRandom rng = new SplittableRandom(SEED);
        List<Arguments> cases = new ArrayList<>();
        for (Set<Feature> f : Feature.sweep(LAYER_FEATURES, Feature.DECODER)) {
            cases.add(Arguments.of(rng.nextLong(), Feature.describe(f)));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "[{index}] seed {0} {1}")
    @MethodSource("sweep")
    void randomSweep(long seed, String features) {
        Problem c = Problem.random(seed, Feature.parse(features), 300);
        Device device = TestDevices.openCl();
        for (PathUnderTest path : PathUnderTest.values()) {
            path.runAndCheck(device, c);
        }
    }

    static Stream<Arguments> variantsAndTiles() {
        KernelParams cpuWide = KernelParams.defaults(KernelVariant.CPU).with("FLASH_QR", 2).with("FLASH_KV", 4)
                .with("FLASH_RB", 3).with("FLASH_KC", 64).with("FLASH_WI_PER_CU", 1);
        return Stream.concat(Stream.of(KernelVariant.values()).flatMap(v -> Stream.of(
                Arguments.of(v, KernelParams.defaults(v)), Arguments.of(v, OclgrindChild.SMALL.get(v)))),
                Stream.of(Arguments.of(KernelVariant.CPU, cpuWide)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("variantsAndTiles")
    void lengthsAroundTileEdges(KernelVariant variant, KernelParams params) {
        // Every N from 1 to 70 against M = 71 - N, with masks: all tails of 16-key steps, of key
        // chunks, of row blocks and of work-groups, in default and in small tiles (where every
        // CPU work-item takes several row blocks).
        Device device = TestDevices.openCl();
        PathUnderTest path = variant == KernelVariant.CPU ? PathUnderTest.FUSED_CPU : PathUnderTest.FUSED_GPU;
        for (int n = 1; n <= 70; n++) {
            int m = 71 - n;
            Problem c = Problem.builder(SEED + n, 2, n, m, 9, 3, 7).label(params.toString())
                    .with(Feature.CAUSAL, Feature.CROSS, Feature.KEY_PADDING, Feature.ATTN_BIAS).build();
            path.runAndCheck(device, c, params);
        }
    }

    @ParameterizedTest(name = "FLASH_ACC={0}")
    @ValueSource(ints = {4, 6, 8, 16})
    void everyRegisterBudgetAcrossHeadWidths(int acc) {
        // The score and value tiles a budget gives (rows 1-8, 1-5 vectors of o per tile), on head
        // widths of 1 to 6 float16 vectors, with both score steps, masks and a bias, tails of rows
        // and keys.
        Device device = TestDevices.openCl();
        for (int kv : new int[] {1, 2, 4}) {
            KernelParams params = KernelParams.defaults(KernelVariant.CPU).with("FLASH_ACC", acc).with("FLASH_KV", kv)
                    .with("FLASH_KC", 128).with("FLASH_WI_PER_CU", 1);
            for (int dk : new int[] {16, 40, 48, 64, 80, 96}) {
                Problem c = Problem.builder(SEED + 31L * dk + kv, 1, 37, 75, 2 * dk, 2, dk).label(params + " dk " + dk)
                        .with(Feature.CAUSAL, Feature.CROSS, Feature.KEY_PADDING, Feature.ATTN_BIAS).build();
                PathUnderTest.FUSED_CPU.runAndCheck(device, c, params);
            }
        }
    }

    @Test
    void accumulatorBudgetFollowsTheDevicesVectorWidth() {
        assertThat(CpuKernelSpecs.accumulatorsFor(16)).isEqualTo(16);
        assertThat(CpuKernelSpecs.accumulatorsFor(32)).isEqualTo(16);
        assertThat(CpuKernelSpecs.accumulatorsFor(8)).isEqualTo(6);
        assertThat(CpuKernelSpecs.accumulatorsFor(4)).isEqualTo(4);
        assertThat(CpuKernelSpecs.accumulatorsFor(1)).as("no vector hint").isEqualTo(16);
        assertThat(CpuKernelSpecs.accumulatorsFor(0)).as("no vector hint").isEqualTo(16);
        Device device = TestDevices.openCl();
        int budget = CpuKernelSpecs.accumulatorsOf(device);
        assertThat(KernelParams.defaults(KernelVariant.CPU).fittedTo(device, 64).get("FLASH_ACC")).isEqualTo(budget);
        assertThat(KernelParams.defaults(KernelVariant.CPU).with("FLASH_ACC", 4).fittedTo(device, 64).get("FLASH_ACC"))
                .as("a smaller budget is kept").isEqualTo(4);
    }

    @Test
    void projectionTilesStayWithinTheAccumulatorBudget() {
        assertThat(CpuKernelSpecs.tileWithin(8, 2, 16)).as("AVX-512: as asked").containsExactly(8, 2);
        assertThat(CpuKernelSpecs.tileWithin(12, 2, 16)).as("AVX-512: the tuner's wide tiles too").containsExactly(12, 2);
        assertThat(CpuKernelSpecs.tileWithin(8, 2, 6)).as("AVX2").containsExactly(6, 1);
        assertThat(CpuKernelSpecs.tileWithin(4, 2, 6)).containsExactly(4, 1);
        assertThat(CpuKernelSpecs.tileWithin(4, 1, 6)).as("within the budget").containsExactly(4, 1);
        assertThat(CpuKernelSpecs.tileWithin(1, 16, 6)).as("gemm_narrow").containsExactly(1, 6);
        assertThat(CpuKernelSpecs.tileWithin(2, 8, 4)).containsExactly(2, 2);
        assertThat(CpuKernelSpecs.tileWithin(8, 3, 4)).containsExactly(4, 1);
        for (int budget : new int[] {4, 6, 16}) {
            for (int rows = 1; rows <= 16; rows++) {
                for (int vectors = 1; vectors <= 16; vectors++) {
                    int[] t = CpuKernelSpecs.tileWithin(rows, vectors, budget);
                    assertThat(t[0]).isBetween(1, rows);
                    assertThat(t[1]).isBetween(1, vectors);
                    assertThat(t[0] * t[1]).as(rows + "x" + vectors + " at " + budget)
                            .isLessThanOrEqualTo(Math.max(budget == 16 ? rows * vectors : budget, 1));
                }
            }
        }
        Device device = TestDevices.openCl();
        int budget = CpuKernelSpecs.accumulatorsOf(device);
        KernelParams fitted = KernelParams.defaults(KernelVariant.CPU).fittedTo(device, 64);
        int[] gemm = CpuKernelSpecs.tileWithin(8, 2, budget);
        int[] gemv = CpuKernelSpecs.tileWithin(1, 4, budget);
        assertThat(List.of(fitted.get("GEMM_RM"), fitted.get("GEMM_CV"), fitted.get("GEMV_RM"), fitted.get("GEMV_CV")))
                .containsExactly(gemm[0], gemm[1], gemv[0], gemv[1]);
    }

    @ParameterizedTest(name = "GEMM_RM={0} GEMM_CV={1}")
    @CsvSource({"8, 2", "8, 1", "4, 2", "4, 3", "3, 2", "4, 1", "6, 1", "6, 2", "12, 2", "12, 1"})
    void kIsStoredRightFromWholeAndPartTiles(int rm, int cv) {
        // dk = 48 and 96: column blocks of one head (K stored as whole tiles by GEMM_RM 4, 6, 8, 12),
        // and blocks across heads; 2 sequences of 13 tokens: tiles within a sequence and tiles
        // that straddle the two, and a last partial tile.
        Device device = TestDevices.openCl();
        KernelParams params = KernelParams.defaults(KernelVariant.CPU).with(Map.of("GEMM_RM", rm, "GEMM_CV", cv));
        for (int dk : new int[] {48, 96}) {
            Problem c = Problem.builder(SEED + dk, 2, 13, 13, 10, 3, dk).kvHeads(3).label(params.toString())
                    .with(Feature.CAUSAL, Feature.PROJECTION_BIAS).build();
            PathUnderTest.FUSED_CPU.runAndCheck(device, c, params);
        }
    }

    @Test
    void pathIsStagedOnlyWhenWeightsAreRequested() {
        Problem c = Problem.builder(SEED, 1, 5, 5, 8, 2, 4).with(Feature.CAUSAL).build();
        Device device = TestDevices.openCl();
        try (OpenClLayer layer = new OpenClLayer(c.weights(), c.options(), device, KernelVariant.chosen(device), null)) {
            String fused = "opencl-fused-" + KernelVariant.forDevice(device).label();
            assertThat(layer.forward(c.input()).path()).isEqualTo(fused);
            var staged = layer.forward(c.withReturnWeights(true).input());
            assertThat(staged.path()).isEqualTo("opencl-staged");
            assertThat(staged.stageMillis()).containsKeys("projection", "scores", "softmax", "weighting");
            var again = layer.forward(c.input());
            assertThat(again.path()).isEqualTo(fused);
            assertThat(again.stageMillis()).containsOnlyKeys("projection", "attention");
            assertThat(again.stageMillis().values()).allSatisfy(ms -> assertThat(ms).isGreaterThanOrEqualTo(0.0));
        }
    }

    @ParameterizedTest(name = "{0} heads of {1}: W_Q | W_K | W_V in panels of {2}")
    @CsvSource({"2, 8, 16", "3, 7, 0", "2, 40, 16", "1, 20, 0"})
    void cpuWeightsAreInPanelsWhereTheKeyBlockStartsOnOne(int heads, int dk, int qkvPanel) {
        // The CPU variant stores W_O in panels of 16 columns, and [W_Q | W_K | W_V] too where K | V
        // (which a cross-attention call projects alone, from column H·dk) starts on a panel; the GPU
        // variant row-major. Fused and staged calls read either right.
        Device device = TestDevices.openCl();
        Problem c = Problem.builder(SEED + 97L * heads + dk, 2, 9, 13, 24, heads, dk)
                .with(Feature.CROSS, Feature.KEY_PADDING, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION).build();
        for (PathUnderTest path : PathUnderTest.values()) {
            Problem call = path.call(c);
            try (OpenClLayer layer = new OpenClLayer(call.weights(), call.options(), device, path.variant(), null)) {
                boolean cpu = path.variant() == KernelVariant.CPU;
                assertThat(layer.wQkv.panel()).as("W_Q | W_K | W_V panel on " + path).isEqualTo(cpu ? qkvPanel : 0);
                assertThat(layer.wO.panel()).as("W_O panel on " + path).isEqualTo(cpu ? 16 : 0);
                AttentionOutput got = layer.forward(call.input());
                assertThat(got.path()).isEqualTo(path.pathName);
                call.check(got).assertPassed();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(PathUnderTest.class)
    void nanOrInfInHiddenKeysAndValuesNeverReachesTheOutput(PathUnderTest path) {
        // Cross-attention with key padding: batch row 0 sees 9 of 21 keys; the context rows past
        // that are NaN or Inf, so are their keys and values.
        Problem c = Problem.builder(SEED, 2, 7, 21, 6, 2, 5).with(Feature.CROSS, Feature.ATTN_BIAS).build();
        float[] ctx = c.input().context().clone();
        for (int j = 9; j < 21; j++) {
            for (int e = 0; e < 6; e++) {
                ctx[j * 6 + e] = j % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
            }
        }
        AttentionInput in = AttentionInput.builder(c.input().x(), 2, 7).context(ctx, 21)
                .keyValidLength(new int[] {9, 21}).attnBias(c.input().attnBias()).build();
        // Batch row 1 sees every key, NaN included: only row 0 must stay finite.
        float[] x1 = in.x();
        AttentionInput row0 = AttentionInput.builder(java.util.Arrays.copyOf(x1, 7 * 6), 1, 7)
                .context(java.util.Arrays.copyOf(ctx, 21 * 6), 21).keyValidLength(new int[] {9})
                .attnBias(in.attnBias()).build();
        AttentionOutput got = path.runAndCheck(TestDevices.openCl(), c.withInput(row0));
        for (float v : got.headsOut()) {
            assertThat(Float.isFinite(v)).as(path + " heads_out finite").isTrue();
        }

        // Causal self-attention with token 5 of 11 NaN: rows 0..4 cannot see it and match the
        // reference; rows 5.. see it and are NaN, as in the reference.
        Problem s = Problem.builder(SEED + 1, 1, 11, 11, 6, 2, 5).with(Feature.CAUSAL).build();
        float[] x = s.input().x().clone();
        for (int e = 0; e < 6; e++) {
            x[5 * 6 + e] = Float.NaN;
        }
        Problem causal = path.call(s.withInput(AttentionInput.builder(x, 1, 11).build()));
        AttentionOutput out;
        try (OpenClLayer layer = new OpenClLayer(s.weights(), s.options(), TestDevices.openCl(), path.variant(), null)) {
            out = layer.forward(causal.input());
        }
        double[] want = causal.reference().headsOut();
        int hd = 10;
        Tolerance.outputs(path + " rows before the NaN token", java.util.Arrays.copyOf(out.headsOut(), 5 * hd),
                java.util.Arrays.copyOf(want, 5 * hd)).assertPassed();
        for (int i = 5 * hd; i < 11 * hd; i++) {
            assertThat(Double.isNaN(want[i])).as("reference row " + i / hd + " is NaN").isTrue();
            assertThat(Float.isNaN(out.headsOut()[i])).as(path + " row " + i / hd + " is NaN").isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(PathUnderTest.class)
    void repeatedCallsAreBitwiseIdentical(PathUnderTest path) {
        Problem c = Problem.builder(SEED, 2, 70, 70, 12, 3, 7).with(Feature.CAUSAL, Feature.KEY_PADDING,
                Feature.OUTPUT_PROJECTION).build();
        AttentionInput in = path.call(c).input();
        try (OpenClLayer a = new OpenClLayer(c.weights(), c.options(), TestDevices.openCl(), path.variant(), null);
             OpenClLayer b = new OpenClLayer(c.weights(), c.options(), TestDevices.openCl(), path.variant(), null)) {
            AttentionOutput first = a.forward(in);
            for (int i = 0; i < 3; i++) {
                assertThat(a.forward(in).out()).isEqualTo(first.out());
                assertThat(b.forward(in).out()).isEqualTo(first.out());
            }
        }
    }
}
