package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.opencl.Cl;
import io.github.clattn.opencl.KernelVariant;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tolerance;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The key/value cache against one full causal forward: prefilling each sequence in random chunk
 * sizes (ragged across the batch) and then decoding token by token gives, row by row, the outputs
 * of the whole sequences computed at once (float64 reference), for grouped-query ratios 1, 2, 4, 8
 * and multi-query, with and without RoPE, on the Java path and both OpenCL kernel variants.
 * Truncating then decoding again equals never having decoded the truncated tokens. Bad input,
 * capacity, concurrency and lifecycle rules.
 */
class KvCacheTest {
    static final int D = 24;
    static final int DK = 8;

    @AfterEach
    void clearVariant() {
        System.clearProperty(KernelVariant.PROPERTY);
    }

    /** "java", "opencl" (its default variant) and "opencl-gpu" (the GPU-style kernels forced). */
    static List<String> devices() {
        return List.of("java", "opencl", "opencl-gpu");
    }

    static Device device(String spec) {
        if (spec.equals("opencl-gpu")) {
            System.setProperty(KernelVariant.PROPERTY, "gpu");
            return TestDevices.openCl();
        }
        return TestDevices.bySpec(spec);
    }

    static Stream<Arguments> shapes() {
        List<Arguments> all = new ArrayList<>();
        int[][] headsAndKv = {{8, 8}, {8, 4}, {8, 2}, {8, 1}, {4, 1}};
        for (String spec : devices()) {
            for (int[] hk : headsAndKv) {
                for (boolean rope : new boolean[] {false, true}) {
                    all.add(Arguments.of(spec, hk[0], hk[1], rope));
                }
            }
        }
        return all.stream();
    }

    /** A causal layer of H heads and Hkv K/V heads, W_O and biases, RoPE when asked. */
    static Problem layer(long seed, int heads, int kvHeads, boolean rope, int batch, int length) {
        Problem.Builder b = Problem.builder(seed, batch, length, length, D, heads, DK).kvHeads(kvHeads)
                .with(Feature.CAUSAL, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION, Feature.KEY_PADDING);
        Problem p = b.build();
        if (rope) {
            p = Problem.of(p.toString(), p.weights(), p.options().withRope(new Rope(10_000, 0, Rope.Style.NEOX)),
                    p.input());
        }
        return p;
    }

    @ParameterizedTest(name = "{0} H={1} Hkv={2} rope={3}")
    @MethodSource("shapes")
    void chunkedPrefillThenDecodeEqualsOneFullForward(String spec, int heads, int kvHeads, boolean rope) {
        SplittableRandom r = new SplittableRandom(heads * 31L + kvHeads + (rope ? 7 : 0));
        Problem p = layer(11 + heads + kvHeads, heads, kvHeads, rope, 3, 45);
        prefillThenDecode(spec, p, new int[] {45, 30, 37}, new int[] {20, 9, 31}, r, 12, 64,
                spec + " H=" + heads + " Hkv=" + kvHeads + " rope=" + rope);
    }

    static Stream<Arguments> modifiers() {
        List<Arguments> all = new ArrayList<>();
        for (String spec : devices()) {
            all.add(Arguments.of(spec, "window"));
            all.add(Arguments.of(spec, "window+sinks+alibi"));
            all.add(Arguments.of(spec, "softcap+sinks"));
        }
        return all.stream();
    }

    /**
     * The score modifiers in cache steps: contexts of several hundred keys, so that a decode step's
     * keys are split across work-items (a window's keys, not the whole cache), against one full
     * forward call.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("modifiers")
    void modifiersInCacheStepsEqualOneFullForward(String spec, String mods) {
        Problem base = layer(77, 8, 2, true, 3, 600);
        AttentionOptions o = base.options();
        if (mods.contains("window")) {
            o = o.withWindow(200, -1);
        }
        if (mods.contains("sinks")) {
            o = o.withSinks(new float[] {0.5f, -1f, 2f, 0f, -3f, 1f, 0.25f, -0.5f});
        }
        if (mods.contains("alibi")) {
            o = o.withAlibiSlopes(AttentionOptions.standardAlibiSlopes(8));
        }
        if (mods.contains("softcap")) {
            o = o.withSoftcap(2.5);
        }
        Problem p = Problem.of(base + " " + mods, base.weights(), o, base.input());
        prefillThenDecode(spec, p, new int[] {600, 460, 600}, new int[] {590, 450, 597}, new SplittableRandom(3), 96,
                640, spec + " " + mods);
    }

    /**
     * Prefills each sequence's prompt in ragged chunks of random sizes (at most {@code maxChunk}),
     * then decodes one token at a time until each reaches its length, and compares every row's
     * output with one forward call over the whole sequences.
     */
    private static void prefillThenDecode(String spec, Problem p, int[] lengths, int[] prompt, SplittableRandom r,
                                          int maxChunk, int capacity, String label) {
        int batch = p.batch();
        int total = p.queryLength();
        AttentionInput full = AttentionInput.builder(p.input().x(), batch, total).keyValidLength(lengths).build();
        Float64Attention.Result want = Float64Attention.compute(p.weights(), p.options(), full);
        try (Attention layer = Attention.open(p.weights(), p.options(), device(spec));
             KvCache cache = layer.openCache(batch, capacity)) {
            float[] got = new float[batch * total * D];
            int[] done = new int[batch];
            while (!allReached(done, prompt)) {
                int chunk = 1 + r.nextInt(maxChunk);
                int[] counts = new int[batch];
                for (int b = 0; b < batch; b++) {
                    counts[b] = Math.min(prompt[b] - done[b], r.nextInt(chunk + 1));
                }
                step(cache, p, chunk, done, counts, got);
            }
            assertThat(cache.lengths()).containsExactly(prompt);
            // decode: one token per sequence until each reaches its length (finished ones take none)
            while (!allReached(done, lengths)) {
                int[] counts = new int[batch];
                for (int b = 0; b < batch; b++) {
                    counts[b] = done[b] < lengths[b] ? 1 : 0;
                }
                if (java.util.Arrays.stream(counts).allMatch(c -> c == 1)) {
                    AttentionOutput o = cache.decode(rows(p, 1, done, counts));
                    collect(o, 1, done, counts, got);
                } else {
                    step(cache, p, 1, done, counts, got);
                }
            }
            assertThat(cache.lengths()).containsExactly(lengths);
            assertThat(cache.path()).startsWith(spec.startsWith("opencl") ? "opencl" : "java");
            compareRows(label, got, want, lengths, total);
        }
    }

    /** The same call on every key, without the problem's random key padding. */
    private static Problem unpadded(Problem p) {
        return p.withInput(AttentionInput.builder(p.input().x(), p.batch(), p.queryLength()).build());
    }

    private static boolean allReached(int[] done, int[] target) {
        for (int b = 0; b < done.length; b++) {
            if (done[b] < target[b]) {
                return false;
            }
        }
        return true;
    }

    /** x [B, chunk, D]: sequence b's next counts[b] tokens, padding after them. */
    private static float[] rows(Problem p, int chunk, int[] done, int[] counts) {
        int total = p.queryLength();
        float[] x = new float[p.batch() * chunk * D];
        for (int b = 0; b < p.batch(); b++) {
            for (int t = 0; t < chunk; t++) {
                int token = t < counts[b] ? done[b] + t : Math.min(done[b], total - 1); // padding: any real row
                System.arraycopy(p.input().x(), (b * total + token) * D, x, (b * chunk + t) * D, D);
            }
        }
        return x;
    }

    private static void step(KvCache cache, Problem p, int chunk, int[] done, int[] counts, float[] got) {
        AttentionOutput o = cache.prefill(rows(p, chunk, done, counts), chunk, counts);
        assertThat(o.queryLength()).isEqualTo(chunk);
        for (int b = 0; b < counts.length; b++) {
            for (int t = counts[b]; t < chunk; t++) {
                for (int c = 0; c < D; c++) {
                    assertThat(o.out()[(b * chunk + t) * D + c]).as("padding row %d of sequence %d", t, b).isZero();
                }
            }
        }
        collect(o, chunk, done, counts, got);
    }

    private static void collect(AttentionOutput o, int chunk, int[] done, int[] counts, float[] got) {
        int total = got.length / (counts.length * D);
        for (int b = 0; b < counts.length; b++) {
            for (int t = 0; t < counts[b]; t++) {
                System.arraycopy(o.out(), (b * chunk + t) * D, got, (b * total + done[b] + t) * D, D);
            }
            done[b] += counts[b];
        }
    }

    /** The rows each sequence really has (past its length the reference has padding rows). */
    private static void compareRows(String label, float[] got, Float64Attention.Result want, int[] lengths, int total) {
        List<Float> g = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        for (int b = 0; b < lengths.length; b++) {
            for (int i = 0; i < lengths[b]; i++) {
                for (int c = 0; c < D; c++) {
                    g.add(got[(b * total + i) * D + c]);
                    w.add(want.out()[(b * total + i) * D + c]);
                }
            }
        }
        float[] gotRows = new float[g.size()];
        double[] wantRows = new double[w.size()];
        for (int i = 0; i < gotRows.length; i++) {
            gotRows[i] = g.get(i);
            wantRows[i] = w.get(i);
        }
        Tolerance.outputs(label + " out", gotRows, wantRows).assertPassed();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void truncateThenDecodeAgainEqualsNeverHavingDecodedTheTruncatedTokens(String spec) {
        Problem p = layer(5, 4, 2, true, 1, 30);
        Problem other = layer(6, 4, 2, true, 1, 30); // different tokens, same layer shape
        try (Attention layer = Attention.open(p.weights(), p.options(), device(spec));
             KvCache cache = layer.openCache(1, 40)) {
            cache.prefill(java.util.Arrays.copyOf(p.input().x(), 20 * D), 20);
            // speculate 6 tokens from another sequence, then reject them
            for (int t = 0; t < 6; t++) {
                cache.decode(java.util.Arrays.copyOfRange(other.input().x(), t * D, (t + 1) * D));
            }
            assertThat(cache.length(0)).isEqualTo(26);
            cache.truncate(0, 20);
            assertThat(cache.lengths()).containsExactly(20);
            float[] got = new float[10 * D];
            for (int t = 20; t < 30; t++) {
                AttentionOutput o = cache.decode(java.util.Arrays.copyOfRange(p.input().x(), t * D, (t + 1) * D));
                System.arraycopy(o.out(), 0, got, (t - 20) * D, D);
            }
            double[] want = java.util.Arrays.copyOfRange(unpadded(p).reference().out(), 20 * D, 30 * D);
            Tolerance.outputs(spec + " decoded after truncate", got, want).assertPassed();
            cache.reset(0);
            assertThat(cache.length(0)).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void groupedHeadsEqualRepeatedKeyValueHeads(String spec) {
        Problem gqa = Problem.builder(21, 2, 19, 19, D, 8, DK).kvHeads(2).with(Feature.CAUSAL, Feature.PROJECTION_BIAS,
                Feature.KEY_PADDING).build();
        AttentionWeights w = gqa.weights();
        // W_K, W_V, b_k, b_v with each K/V head's columns repeated for every query head of its group
        int group = 4;
        AttentionWeights mha = AttentionWeights.builder(D, 8, DK)
                .projections(w.wQ(), repeat(w.wK(), D, 2, group), repeat(w.wV(), D, 2, group))
                .projectionBiases(w.bQ(), w.bK() == null ? null : repeat(w.bK(), 1, 2, group), repeat(w.bV(), 1, 2, group))
                .build();
        Device device = device(spec);
        try (Attention a = Attention.open(w, gqa.options(), device);
             Attention b = Attention.open(mha, gqa.options(), device)) {
            AttentionOutput grouped = a.forward(gqa.input());
            AttentionOutput repeated = b.forward(gqa.input());
            Tolerance.outputs(spec + " GQA vs repeated K/V", grouped.headsOut(),
                    io.github.clattn.reference.Tensors.widen(repeated.headsOut())).assertPassed();
            gqa.check(grouped).assertPassed();
        }
    }

    /** Each of {@code heads} column blocks of {@code DK} repeated {@code times} times, row by row. */
    private static float[] repeat(float[] m, int rows, int heads, int times) {
        float[] out = new float[rows * heads * times * DK];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads * times; h++) {
                System.arraycopy(m, (r * heads + h / times) * DK, out, (r * heads * times + h) * DK, DK);
            }
        }
        return out;
    }

    @Test
    void badInputIsRefusedNamingTheArgumentAndChangesNothing() {
        float[] w = new float[D * 8 * DK];
        assertThatThrownBy(() -> AttentionWeights.builder(D, 8, DK).kvHeads(3).projections(w, new float[D * 3 * DK],
                new float[D * 3 * DK]).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kvHeads").hasMessageContaining("divisor of heads=8").hasMessageContaining("3");
        assertThatThrownBy(() -> ScaledDotProduct.open(8, 3, DK, AttentionOptions.DEFAULT, Device.java()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kvHeads");
        assertThatThrownBy(() -> new Rope(10_000, 3, Rope.Style.NEOX)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rope_dim").hasMessageContaining("even").hasMessageContaining("3");
        assertThatThrownBy(() -> ScaledDotProduct.open(8, 8, DK, AttentionOptions.DEFAULT.withRope(
                new Rope(10_000, 16, Rope.Style.NEOX)), Device.java())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rope_dim").hasMessageContaining("dk = 8").hasMessageContaining("16");
        assertThatThrownBy(() -> new Rope(0.5, 0, Rope.Style.GPTJ)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("theta");

        Problem p = layer(3, 4, 2, false, 2, 10);
        for (String spec : List.of("java", "opencl")) {
            try (Attention layer = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec));
                 KvCache cache = layer.openCache(2, 8)) {
                cache.prefill(new float[2 * 5 * D], 5, new int[] {5, 3});
                // a chunk longer than the remaining capacity: nothing changes
                assertThatThrownBy(() -> cache.prefill(new float[2 * 4 * D], 4))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("sequence 0")
                        .hasMessageContaining("capacity").hasMessageContaining("nothing was changed");
                assertThat(cache.lengths()).containsExactly(5, 3);
                cache.prefill(new float[2 * 3 * D], 3, new int[] {3, 3});
                assertThat(cache.lengths()).containsExactly(8, 6);
                assertThatThrownBy(() -> cache.decode(new float[2 * D])).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("sequence 0");
                assertThat(cache.lengths()).containsExactly(8, 6);
                // lengths outside [0, length] or counts outside [0, C]
                assertThatThrownBy(() -> cache.truncate(1, 7)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("length").hasMessageContaining("[0, 6]").hasMessageContaining("7");
                assertThatThrownBy(() -> cache.truncate(0, -1)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("[0, 8]");
                assertThatThrownBy(() -> cache.truncate(2, 0)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("seq").hasMessageContaining("[0, 2)");
                assertThatThrownBy(() -> cache.prefill(new float[2 * 2 * D], 2, new int[] {3, 0}))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("counts[0]")
                        .hasMessageContaining("[0, C=2]");
                assertThatThrownBy(() -> cache.prefill(new float[7], 1)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("x").hasMessageContaining("expected 48");
                assertThatThrownBy(() -> cache.append(new float[1], new float[1], 1))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k");
                assertThat(cache.lengths()).containsExactly(8, 6);
                cache.close();
                cache.close();
                assertThatThrownBy(() -> cache.decode(new float[2 * D])).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("closed");
            }
            assertThatThrownBy(() -> {
                try (Attention layer = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
                    layer.openCache(0, 8);
                }
            }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void aSessionUsedByTwoThreadsAtOnceIsRefusedButSessionsRunInParallel(String spec) throws Exception {
        Problem p = layer(9, 4, 2, true, 1, 24);
        try (Attention layer = Attention.open(p.weights(), p.options(), device(spec))) {
            KvCache cache = layer.openCache(1, 32);
            Thread holder = new Thread(cache::enter, "holder");
            holder.start();
            holder.join();
            assertThatThrownBy(() -> cache.decode(new float[D])).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("two threads").hasMessageContaining("holder");
            cache.exit();
            cache.decode(java.util.Arrays.copyOf(p.input().x(), D));
            cache.close();

            // four sessions of one layer, each on its own thread, each decoding its own sequence
            double[] want = unpadded(p).reference().out();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[]>> results = new ArrayList<>();
                for (int s = 0; s < 4; s++) {
                    results.add(pool.submit(() -> {
                        try (KvCache mine = layer.openCache(1, 32)) {
                            float[] got = new float[24 * D];
                            for (int t = 0; t < 24; t++) {
                                System.arraycopy(mine.decode(java.util.Arrays.copyOfRange(p.input().x(), t * D,
                                        (t + 1) * D)).out(), 0, got, t * D, D);
                            }
                            return got;
                        }
                    }));
                }
                for (Future<float[]> f : results) {
                    Tolerance.outputs(spec + " parallel session", f.get(), want).assertPassed();
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void closingTheLayerReleasesItsSessionsAndAThousandSessionsLeakNothing() {
        Problem p = layer(10, 4, 2, true, 2, 8);
        Device device = TestDevices.openCl();
        int before = Cl.liveObjects();
        long bytesBefore = Cl.liveBufferBytes();
        try (Attention layer = Attention.open(p.weights(), p.options(), device)) {
            int warm = Cl.liveObjects();
            for (int s = 0; s < 1000; s++) {
                try (KvCache cache = layer.openCache(2, 16 + s % 5)) {
                    if (s % 100 == 0) {
                        cache.prefill(java.util.Arrays.copyOf(p.input().x(), 2 * 3 * D), 3);
                        cache.decode(new float[2 * D]);
                    }
                }
            }
            assertThat(Cl.liveObjects()).as("after 1000 sessions: %s", Cl.liveObjectsByKind()).isEqualTo(warm);
            KvCache open = layer.openCache(2, 100);
            // K and V: B * Hkv * dk * KS + B * Hkv * KS * DKP floats, KS = 100 rounded up to 64 keys
            assertThat(open.bytes()).isEqualTo(4L * (2 * 2 * DK * 128 + 2 * 2 * 128 * 16));
            layer.close();
            assertThatThrownBy(() -> open.decode(new float[2 * D])).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
        assertThat(Cl.liveObjects()).as("%s", Cl.liveObjectsByKind()).isEqualTo(before);
        assertThat(Cl.liveBufferBytes()).isEqualTo(bytesBefore);
    }
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void closingTheLayerOrTheScaledDotProductClosesTheirCachesOnEveryDevice(String spec) {
        Problem p = layer(11, 4, 2, true, 2, 8);
        Device device = device(spec);
        float[] prompt = java.util.Arrays.copyOf(p.input().x(), 2 * 3 * D);
        Attention layer = Attention.open(p.weights(), p.options(), device);
        KvCache open = layer.openCache(2, 16);
        KvCache closedFirst = layer.openCache(2, 16);
        open.prefill(prompt, 3);
        closedFirst.close();
        layer.close();
        assertThat(open.isClosed()).isTrue();
        assertThat(open.lengths()).containsExactly(3, 3);
        assertThatThrownBy(() -> open.decode(new float[2 * D])).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("its Attention was closed");
        assertThatThrownBy(() -> open.truncate(0, 1)).isInstanceOf(IllegalStateException.class);
        assertThat(open.lengths()).as("nothing changed").containsExactly(3, 3);
        open.close();
        closedFirst.close();

        int h = 4;
        int hkv = 2;
        try (KvCache standalone = KvCache.open(h, hkv, DK, 1, 8, AttentionOptions.DEFAULT, device)) {
            ScaledDotProduct sdp = ScaledDotProduct.open(h, hkv, DK, AttentionOptions.DEFAULT, device);
            KvCache fromSdp = sdp.openCache(1, 8);
            float[] kv = new float[hkv * DK];
            fromSdp.append(kv, kv, 1);
            standalone.append(kv, kv, 1);
            sdp.close();
            assertThat(fromSdp.isClosed()).isTrue();
            assertThatThrownBy(() -> fromSdp.attend(new float[h * DK], 1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("its ScaledDotProduct was closed");
            fromSdp.close();
            assertThat(standalone.isClosed()).as("a standalone cache owns its own object").isFalse();
            assertThat(standalone.attend(new float[h * DK], 1).headsOut()).hasSize(h * DK);
        }
    }
}
