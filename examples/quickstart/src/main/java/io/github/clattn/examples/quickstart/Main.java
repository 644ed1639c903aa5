package io.github.clattn.examples.quickstart;

import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.KvCache;
import io.github.clattn.Rope;
import java.io.IOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * clattn as a third party uses it: a decoder-like attention layer (D = 256, 8 query heads sharing 2
 * key/value heads of 32, RoPE, causal, output projection) on the automatic device. One forward call
 * over two sequences of 40 tokens; then a KV cache: the first 24 tokens as a prompt (prefill), the
 * other 16 decoded one at a time. Every result is checked against {@link Reference}, the example's
 * own float64 computation, and the decoded tokens against the same rows of the forward call.
 *
 * <pre>
 *   java --add-modules=jdk.incubator.vector -cp ... io.github.clattn.examples.quickstart.Main [--device SPEC]
 * </pre>
 *
 * Exit status 0 when every check passes, 1 when one fails, 2 on a usage error.
 */
public final class Main {
    static final int D_MODEL = 256;
    static final int HEADS = 8;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 32;
    static final double ROPE_THETA = 10_000;
    static final int BATCH = 2;
    static final int PROMPT = 24;
    static final int DECODE_STEPS = 16;
    static final int LENGTH = PROMPT + DECODE_STEPS;
    static final long SEED = 13;
    /** The conformance tolerance: max |got - want| <= 2e-5 · max(1, max |want|). */
    static final double RTOL = 2e-5;

    private Main() {
    }

    public static void main(String[] args) throws IOException {
        String device = "auto";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--device") && i + 1 < args.length) {
                device = args[++i];
            } else {
                System.err.println("usage: Main [--device SPEC]   (SPEC: auto (default), java, opencl, opencl:I, gpu, ...)");
                System.exit(args[i].equals("-h") || args[i].equals("--help") ? 0 : 2);
            }
        }
        System.exit(run(device));
    }

    static int run(String deviceSpec) throws IOException {
        Checks checks = new Checks();
        describeSetup(checks);

        AttentionWeights weights = randomWeights(new SplittableRandom(SEED));
        AttentionOptions options = AttentionOptions.causal(true).withRope(Rope.neox(ROPE_THETA));
        float[] x = uniform(new SplittableRandom(SEED + 1), BATCH * LENGTH * D_MODEL, 1);
        double[] want = Reference.forward(weights, ROPE_THETA, x, BATCH, LENGTH);
        System.out.printf(Locale.ROOT, "layer: D=%d, H=%d, Hkv=%d, dk=%d, causal, RoPE neox theta=%.0f, biases, output "
                + "projection; %d sequences of %d tokens (seed %d)%n", D_MODEL, HEADS, KV_HEADS, HEAD_DIM, ROPE_THETA,
                BATCH, LENGTH, SEED);

        long opened = System.nanoTime();
        try (Attention layer = deviceSpec.equals("auto") ? Attention.open(weights, options)
                : Attention.open(weights, options, deviceSpec)) {
            System.out.printf(Locale.ROOT, "device: %s (%s)%n", layer.device(),
                    deviceSpec.equals("auto") ? "the automatic choice" : "--device " + deviceSpec);
            System.out.printf(Locale.ROOT, "open:    %8.1f ms (programs built or loaded in %.1f ms)%n",
                    millis(opened), layer.buildMillis());

            // 1. One forward call over every token: out [B, L, D]. The first call of a layer also
            //    allocates its device buffers, so it is timed apart from a second one.
            AttentionInput input = AttentionInput.builder(x, BATCH, LENGTH).build();
            long start = System.nanoTime();
            AttentionOutput full = layer.forward(input);
            double firstCall = millis(start);
            start = System.nanoTime();
            AttentionOutput again = layer.forward(input);
            System.out.printf(Locale.ROOT, "forward: %8.1f ms first call, %.1f ms the next; path %s; stages %s%n",
                    firstCall, millis(start), again.path(), formatStages(again));
            checks.against("forward vs float64", full.result(), want);

            // 2. The same tokens through a KV cache: prefill the prompt, then decode one token per step.
            try (KvCache cache = layer.openCache(BATCH, LENGTH)) {
                start = System.nanoTime();
                AttentionOutput prompt = cache.prefill(rows(x, 0, PROMPT), PROMPT);
                System.out.printf(Locale.ROOT, "prefill: %8.1f ms, path %s, %d tokens per sequence%n", millis(start),
                        prompt.path(), PROMPT);

                float[] decoded = new float[BATCH * DECODE_STEPS * D_MODEL];
                String decodePath = null;
                double firstStep = 0;
                start = System.nanoTime();
                for (int step = 0; step < DECODE_STEPS; step++) {
                    AttentionOutput next = cache.decode(rows(x, PROMPT + step, PROMPT + step + 1)); // [B, 1, D]
                    decodePath = next.path();
                    for (int b = 0; b < BATCH; b++) {
                        System.arraycopy(next.result(), b * D_MODEL, decoded, (b * DECODE_STEPS + step) * D_MODEL,
                                D_MODEL);
                    }
                    if (step == 0) {
                        firstStep = millis(start);
                        start = System.nanoTime();
                    }
                }
                System.out.printf(Locale.ROOT, "decode:  %8.1f ms first step, %.2f ms per step after it; path %s; "
                        + "%d steps; cache lengths %s, %d KiB%n", firstStep, millis(start) / (DECODE_STEPS - 1),
                        decodePath, DECODE_STEPS, Arrays.toString(cache.lengths()), cache.bytes() / 1024);

                checks.against("prefill vs float64", prompt.result(), rows(want, 0, PROMPT));
                checks.against("decode vs float64", decoded, rows(want, PROMPT, LENGTH));
                checks.against("decode vs forward", decoded, toDouble(rows(full.result(), PROMPT, LENGTH)));
            }
        }
        System.out.println(checks.failures == 0 ? "quickstart: all checks pass"
                : "quickstart: " + checks.failures + " check(s) FAILED");
        return checks.failures == 0 ? 0 : 1;
    }

    /**
     * Where clattn came from and what the JVM was given: the library is a jar (from the local Maven
     * repository, not a build folder), its kernels are read from that jar, and which of the
     * documented JVM settings are in effect.
     */
    private static void describeSetup(Checks checks) throws IOException {
        Path library = codeSource(Attention.class);
        System.out.println("clattn:  " + library);
        checks.require("clattn is a jar", Files.isRegularFile(library) && library.toString().endsWith(".jar"));

        URL kernel = Attention.class.getClassLoader().getResource("io/github/clattn/kernels/flash_cpu.cl");
        System.out.println("kernels: " + kernel);
        checks.require("the kernels are read from the clattn jar", kernel != null && kernel.getProtocol().equals("jar")
                && library.equals(jarOf(kernel)));

        boolean vectorApi = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        boolean libjsig = Files.isReadable(Path.of("/proc/self/maps"))
                && Files.readString(Path.of("/proc/self/maps")).contains("libjsig");
        System.out.printf("JVM:     Java %s; --add-modules jdk.incubator.vector: %s; libjsig preloaded: %s%n",
                System.getProperty("java.version"), vectorApi ? "yes" : "no", libjsig ? "yes" : "no");
        System.out.println("classpath:");
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            System.out.println("  " + Path.of(entry).getFileName());
        }
        System.out.println("devices:");
        for (Device d : Devices.list()) {
            System.out.println("  " + d.spec() + "  " + d);
        }
        if (Devices.openCl().isEmpty()) {
            System.out.println("  (no OpenCL: " + Devices.openClUnavailableReason().orElse("no device found") + ")");
        }
    }

    private static Path codeSource(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The jar file a {@code jar:} URL points into. */
    private static Path jarOf(URL resource) throws IOException {
        try {
            return Path.of(((JarURLConnection) resource.openConnection()).getJarFileURL().toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    /** Weights of a GQA layer, uniform in ±1/sqrt(fan-in), with every optional tensor present. */
    static AttentionWeights randomWeights(SplittableRandom random) {
        int hd = HEADS * HEAD_DIM;
        int kvd = KV_HEADS * HEAD_DIM;
        double in = 1 / Math.sqrt(D_MODEL);
        return AttentionWeights.builder(D_MODEL, HEADS, HEAD_DIM)
                .kvHeads(KV_HEADS)
                .projections(uniform(random, D_MODEL * hd, in), uniform(random, D_MODEL * kvd, in),
                        uniform(random, D_MODEL * kvd, in))
                .projectionBiases(uniform(random, hd, in), uniform(random, kvd, in), uniform(random, kvd, in))
                .outputProjection(uniform(random, hd * D_MODEL, 1 / Math.sqrt(hd)), uniform(random, D_MODEL, in))
                .build();
    }

    static float[] uniform(SplittableRandom random, int n, double bound) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextDouble(-bound, bound);
        }
        return a;
    }

    /** Tokens {@code [from, to)} of every sequence of {@code a [B, L, D]}: {@code [B, to - from, D]}. */
    static float[] rows(float[] a, int from, int to) {
        float[] r = new float[BATCH * (to - from) * D_MODEL];
        for (int b = 0; b < BATCH; b++) {
            System.arraycopy(a, (b * LENGTH + from) * D_MODEL, r, b * (to - from) * D_MODEL, (to - from) * D_MODEL);
        }
        return r;
    }

    static double[] rows(double[] a, int from, int to) {
        double[] r = new double[BATCH * (to - from) * D_MODEL];
        for (int b = 0; b < BATCH; b++) {
            System.arraycopy(a, (b * LENGTH + from) * D_MODEL, r, b * (to - from) * D_MODEL, (to - from) * D_MODEL);
        }
        return r;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static String formatStages(AttentionOutput out) {
        StringBuilder s = new StringBuilder();
        out.stageMillis().forEach((stage, ms) -> s.append(s.length() == 0 ? "" : ", ")
                .append(String.format(Locale.ROOT, "%s %.2f ms", stage, ms)));
        return s.length() == 0 ? "-" : s.toString();
    }

    private static double millis(long since) {
        return (System.nanoTime() - since) / 1e6;
    }

    /** Counts failed checks; a comparison prints its worst error and its first mismatches. */
    static final class Checks {
        int failures;

        void require(String what, boolean ok) {
            if (!ok) {
                System.out.println("FAILED: " + what);
                failures++;
            }
        }

        /** {@code max |got - want| <= RTOL · max(1, max |want|)}; NaN or infinity fails. */
        void against(String what, float[] got, double[] want) {
            if (got.length != want.length) {
                System.out.printf("%-20s FAILED: %d values, expected %d%n", what, got.length, want.length);
                failures++;
                return;
            }
            double scale = 1;
            for (double w : want) {
                scale = Math.max(scale, Math.abs(w));
            }
            double tolerance = RTOL * scale;
            double worst = 0;
            int mismatches = 0;
            StringBuilder first = new StringBuilder();
            for (int i = 0; i < got.length; i++) {
                double error = Math.abs(got[i] - want[i]);
                worst = Math.max(worst, error); // NaN stays NaN
                if (!(error <= tolerance) && ++mismatches <= 5) { // NaN fails too
                    first.append(String.format(Locale.ROOT, "%n    [row %d, col %d] got %.8f, want %.8f",
                            i / D_MODEL, i % D_MODEL, got[i], want[i]));
                }
            }
            System.out.printf(Locale.ROOT, "%-20s max|err| %.2e, tolerance %.1e: %s%s%n", what, worst, tolerance,
                    mismatches == 0 ? "ok" : "FAILED, " + mismatches + " of " + got.length + " values", first);
            if (mismatches > 0) {
                failures++;
            }
        }
    }
}
