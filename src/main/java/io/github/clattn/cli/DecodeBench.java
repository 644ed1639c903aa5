package io.github.clattn.cli;

import io.github.clattn.Attention;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.KvCache;
import io.github.clattn.ProjectedInput;
import io.github.clattn.Rope;
import io.github.clattn.core.ThreadCpu;
import io.github.clattn.core.Warmup;
import io.github.clattn.reference.Comparison;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Tolerance;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code clattn bench --decode} and {@code --prefill-chunk}: a decoder layer with a
 * {@link KvCache}, timed as a language model uses it.
 *
 * <p>Decode: for each context length M the cache is filled with M random keys and values (appended
 * pre-projected, rotated by the layer's RoPE), then one decode step (project one token per sequence,
 * append its K and V, attend over M + 1 keys, W_O) is checked against float64 and timed, rolled back
 * with {@code truncate} after each call so every step sees M keys. A step reads the layer's weights
 * and the whole K/V cache once: the bytes per step and the resulting GB/s are reported beside this
 * machine's STREAM triad bandwidth ({@link MemoryBandwidth}), measured in the same run.
 *
 * <p>Prefill: a prompt of M tokens per sequence prefilled in chunks of C, timed whole.
 */
final class DecodeBench {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeBench.class);
    /** Keys and values appended per call while filling the cache. */
    private static final int FILL_CHUNK = 512;

    /** The layer and the timing. */
    record Settings(int batch, int dModel, int heads, int kvHeads, int headDim, Double ropeTheta,
                    boolean outputProjection, List<Integer> contexts, Integer prefillChunk, int warmup,
                    long warmupMillis, int iterations, long seed, BenchFeatures extras) {
        String mode() {
            return prefillChunk == null ? "decode" : "prefill";
        }

        AttentionOptions options() {
            AttentionOptions o = extras.apply(AttentionOptions.causal(true), heads, seed);
            return ropeTheta == null ? o : o.withRope(new Rope(ropeTheta, 0, Rope.Style.NEOX));
        }

        /** Bytes of weights one step reads: W_Q, W_K, W_V (and W_O), float32. */
        long weightBytes() {
            long qw = (long) heads * headDim;
            long kvw = (long) kvHeads * headDim;
            return 4L * (dModel * (qw + 2 * kvw) + (outputProjection ? qw * dModel : 0));
        }

        /** Bytes of K and V a step reads for {@code context} cached tokens per sequence. */
        long cacheBytes(long context) {
            return 4L * 2 * batch * context * kvHeads * headDim;
        }
    }

    /** One (device, context length) point. */
    record Point(Device device, Settings settings, int contextLen, double medianMs, double minMs, double maxMs,
                 double boundGbPerS, double maxAbsErr, double tolerance, String path, long cacheBytes,
                 Map<String, Double> stageMs, Warmup.Result warm, double cpuBusy, String error) {
        boolean failed() {
            return error != null;
        }

        boolean checked() {
            return !Double.isNaN(tolerance);
        }

        boolean checkPassed() {
            return !failed() && (!checked() || maxAbsErr <= tolerance);
        }

        /** Tokens per second: a decode step makes B; a prefill takes B·M. */
        double tokensPerSecond() {
            double tokens = settings.mode().equals("decode") ? settings.batch() : (double) settings.batch() * contextLen;
            return tokens / (medianMs / 1e3);
        }

        long bytesPerStep() {
            return settings.weightBytes() + settings.cacheBytes(settings.extras().keysSeen(contextLen));
        }

        double gbPerSecond() {
            return bytesPerStep() / (medianMs / 1e3) / 1e9;
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            Settings s = settings;
            m.put("device", device.name());
            m.put("spec", device.spec());
            m.put("mode", s.mode());
            m.put("batch", s.batch());
            m.put("d_model", s.dModel());
            m.put("heads", s.heads());
            m.put("kv_heads", s.kvHeads());
            m.put("head_dim", s.headDim());
            m.put("rope_theta", s.ropeTheta());
            m.put("output_projection", s.outputProjection());
            s.extras().putJson(m);
            m.put("context_len", contextLen);
            m.put("prefill_chunk", s.prefillChunk());
            m.put("median_ms", failed() ? null : Json.round(medianMs, 5));
            m.put("min_ms", failed() ? null : Json.round(minMs, 5));
            m.put("max_ms", failed() ? null : Json.round(maxMs, 5));
            m.put("tokens_per_s", failed() ? null : Json.round(tokensPerSecond(), 5));
            m.put("bytes_per_step", s.mode().equals("decode") ? bytesPerStep() : null);
            m.put("gb_per_s", failed() || !s.mode().equals("decode") ? null : Json.round(gbPerSecond(), 4));
            m.put("bound_gb_per_s", Json.round(boundGbPerS, 4));
            m.put("fraction_of_bound", failed() || !s.mode().equals("decode") ? null
                    : Json.round(gbPerSecond() / boundGbPerS, 3));
            m.put("cache_bytes", cacheBytes);
            m.put("max_abs_err", checked() && !failed() ? Json.round(maxAbsErr, 3) : null);
            m.put("tolerance", checked() ? Json.round(tolerance, 3) : null);
            m.put("check_passed", checkPassed());
            m.put("path", path);
            Map<String, Object> stages = new LinkedHashMap<>();
            stageMs.forEach((k, v) -> stages.put(k, Json.round(v, 4)));
            m.put("stage_ms", stages.isEmpty() ? null : stages);
            m.put("warmup", s.warmup());
            m.put("warmup_calls", warm.calls());
            m.put("warmup_ms", Json.round(warm.millis(), 4));
            m.put("warmup_settled", warm.settled());
            m.put("iterations", s.iterations());
            m.put("cpu_busy", failed() || Double.isNaN(cpuBusy) ? null : Json.round(cpuBusy, 3));
            m.put("error", error);
            return m;
        }
    }

    private final Settings settings;
    private final Progress progress;
    private final double bound;

    DecodeBench(Settings settings, Progress progress, double boundGbPerS) {
        this.settings = settings;
        this.progress = progress;
        this.bound = boundGbPerS;
    }

    /** The layer: random W_Q, W_K, W_V (and W_O) of the settings, no biases (as Llama). */
    AttentionWeights weights() {
        Problem.Builder b = Problem.builder(settings.seed(), 1, 1, 1, settings.dModel(), settings.heads(),
                settings.headDim()).kvHeads(settings.kvHeads());
        if (settings.outputProjection()) {
            b.with(Feature.OUTPUT_PROJECTION);
        }
        return b.build().weights();
    }

    void runDevice(Device device, AttentionWeights weights, List<Point> out, java.util.function.Consumer<Point> listener) {
        progress.label(device.spec() + ": opening (program build, upload)");
        try (Attention layer = Attention.open(weights, settings.options(), device)) {
            for (int m : settings.contexts()) {
                Point p;
                try {
                    p = settings.prefillChunk() == null ? decode(layer, device, m) : prefill(layer, device, m);
                } catch (ClattnException | IllegalArgumentException | IllegalStateException e) {
                    LOG.debug("{} at context {} failed", device, m, e);
                    p = failure(device, m, e.getMessage());
                }
                out.add(p);
                listener.accept(p);
            }
        } catch (ClattnException | IllegalArgumentException e) {
            for (int m : settings.contexts()) {
                Point p = failure(device, m, "cannot open the layer: " + e.getMessage());
                out.add(p);
                listener.accept(p);
            }
        }
    }

    private Point failure(Device device, int m, String error) {
        return new Point(device, settings, m, Double.NaN, Double.NaN, Double.NaN, bound, Double.NaN, Double.NaN, null,
                0, Map.of(), new Warmup.Result(0, 0, false), Double.NaN, error);
    }

    private Point decode(Attention layer, Device device, int m) {
        int b = settings.batch();
        int hkv = settings.kvHeads();
        int dk = settings.headDim();
        int kvd = hkv * dk;
        String where = device.spec() + " context " + m;
        SplittableRandom rng = new SplittableRandom(settings.seed() * 31 + m);
        try (KvCache cache = layer.openCache(b, m + 1)) {
            progress.label(where + ": filling the cache");
            float[] keys = new float[b * m * kvd];
            float[] values = new float[b * m * kvd];
            for (int t0 = 0; t0 < m; t0 += FILL_CHUNK) {
                int c = Math.min(FILL_CHUNK, m - t0);
                float[] k = Tensors.uniform(rng, b * c * kvd, 1);
                float[] v = Tensors.uniform(rng, b * c * kvd, 1);
                cache.append(k, v, c);
                for (int s = 0; s < b; s++) {
                    System.arraycopy(k, s * c * kvd, keys, (s * m + t0) * kvd, c * kvd);
                    System.arraycopy(v, s * c * kvd, values, (s * m + t0) * kvd, c * kvd);
                }
            }
            float[] x = Tensors.uniform(rng, b * settings.dModel(), 1);

            progress.label(where + ": first step and float64 check");
            AttentionOutput first = cache.decode(x);
            cache.truncate(0, m);
            for (int s = 1; s < b; s++) {
                cache.truncate(s, m);
            }
            Comparison check = checkDecode(layer.weights(), x, keys, values, m, first);

            progress.label(where + ": warm-up");
            Runnable rollBack = () -> {
                for (int s = 0; s < b; s++) {
                    cache.truncate(s, m);
                }
            };
            Warmup.Result warm = Warmup.run(() -> cache.decode(x), settings.warmup(), settings.warmupMillis(), rollBack);
            progress.label(where + ": timing");
            double[] ms = new double[settings.iterations()];
            Map<String, double[]> stages = new LinkedHashMap<>();
            ThreadCpu.Span cpu = ThreadCpu.start();
            for (int i = 0; i < ms.length; i++) {
                long t = System.nanoTime();
                AttentionOutput o = cache.decode(x);
                ms[i] = (System.nanoTime() - t) / 1e6;
                for (Map.Entry<String, Double> e : o.stageMillis().entrySet()) {
                    stages.computeIfAbsent(e.getKey(), k -> new double[ms.length])[i] = e.getValue();
                }
                rollBack.run();
                progress.advance();
            }
            double cpuBusy = BenchRunner.cpuBusy(device, cpu);
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            Map<String, Double> stageMedians = new LinkedHashMap<>();
            stages.forEach((k, v) -> stageMedians.put(k, BenchRunner.median(v)));
            return new Point(device, settings, m, BenchRunner.median(ms), sorted[0], sorted[sorted.length - 1], bound,
                    check.maxAbsError(), check.tolerance(), first.path(), cache.bytes(), stageMedians, warm, cpuBusy,
                    null);
        }
    }

    /**
     * The first step's heads_out against float64: the token's q, k, v projected in float64, the
     * cached keys and values as appended, RoPE at their positions.
     */
    private Comparison checkDecode(AttentionWeights w, float[] x, float[] keys, float[] values, int m,
                                   AttentionOutput got) {
        int b = settings.batch();
        int d = settings.dModel();
        int kvd = w.kvDim();
        int hd = w.projectedDim();
        float[] q = new float[b * hd];
        float[] kAll = new float[b * (m + 1) * kvd];
        float[] vAll = new float[b * (m + 1) * kvd];
        for (int s = 0; s < b; s++) {
            System.arraycopy(project(x, s * d, d, w.wQ(), hd), 0, q, s * hd, hd);
            System.arraycopy(keys, s * m * kvd, kAll, s * (m + 1) * kvd, m * kvd);
            System.arraycopy(values, s * m * kvd, vAll, s * (m + 1) * kvd, m * kvd);
            System.arraycopy(project(x, s * d, d, w.wK(), kvd), 0, kAll, (s * (m + 1) + m) * kvd, kvd);
            System.arraycopy(project(x, s * d, d, w.wV(), kvd), 0, vAll, (s * (m + 1) + m) * kvd, kvd);
        }
        Float64Attention.Result want = Float64Attention.compute(w.heads(), w.kvHeads(), w.headDim(), settings.options(),
                ProjectedInput.builder(q, kAll, vAll, b, 1, m + 1).build());
        return Tolerance.outputs("decode heads_out", got.headsOut(), want.headsOut());
    }

    /** {@code x[offset .. offset+inner) · W} in float64, rounded to float. */
    private static float[] project(float[] x, int offset, int inner, float[] w, int cols) {
        double[] acc = new double[cols];
        for (int k = 0; k < inner; k++) {
            double a = x[offset + k];
            for (int c = 0; c < cols; c++) {
                acc[c] += a * w[k * cols + c];
            }
        }
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = (float) acc[c];
        }
        return out;
    }

    private Point prefill(Attention layer, Device device, int m) {
        int b = settings.batch();
        int chunk = settings.prefillChunk();
        String where = device.spec() + " prompt " + m;
        float[] x = Tensors.uniform(new SplittableRandom(settings.seed() * 31 + m), b * m * settings.dModel(), 1);
        try (KvCache cache = layer.openCache(b, m)) {
            Runnable whole = () -> {
                for (int s = 0; s < b; s++) {
                    cache.reset(s);
                }
                for (int t0 = 0; t0 < m; t0 += chunk) {
                    int c = Math.min(chunk, m - t0);
                    float[] part = new float[b * c * settings.dModel()];
                    for (int s = 0; s < b; s++) {
                        System.arraycopy(x, (s * m + t0) * settings.dModel(), part, s * c * settings.dModel(),
                                c * settings.dModel());
                    }
                    cache.prefill(part, c);
                }
            };
            progress.label(where + ": warm-up");
            Warmup.Result warm = Warmup.run(whole, settings.warmup(), settings.warmupMillis(), null);
            progress.label(where + ": timing");
            double[] ms = new double[settings.iterations()];
            ThreadCpu.Span cpu = ThreadCpu.start();
            for (int i = 0; i < ms.length; i++) {
                long t = System.nanoTime();
                whole.run();
                ms[i] = (System.nanoTime() - t) / 1e6;
                progress.advance();
            }
            double cpuBusy = BenchRunner.cpuBusy(device, cpu);
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            return new Point(device, settings, m, BenchRunner.median(ms), sorted[0], sorted[sorted.length - 1], bound,
                    Double.NaN, Double.NaN, cache.path(), cache.bytes(), Map.of(), warm, cpuBusy, null);
        }
    }

    /** The table's header. */
    void header(PrintWriter out, List<Device> devices) {
        Settings s = settings;
        out.printf(Locale.ROOT, "clattn bench --%s: batch %d, d_model %d, %d heads of %d, %d K/V heads, %s, causal%s%s%n",
                s.prefillChunk() == null ? "decode" : "prefill-chunk " + s.prefillChunk(), s.batch(), s.dModel(),
                s.heads(), s.headDim(), s.kvHeads(), s.ropeTheta() == null ? "no RoPE"
                        : String.format(Locale.ROOT, "RoPE theta %.0f", s.ropeTheta()),
                (s.outputProjection() ? ", output projection" : "") + s.extras().describe(),
                s.prefillChunk() == null ? "" : "; each point prefills the whole prompt");
        out.printf(Locale.ROOT, "memory bandwidth (STREAM triad over 3 x 128 MiB, %d threads): %.1f GB/s%n",
                Runtime.getRuntime().availableProcessors(), bound);
        if (s.prefillChunk() == null) {
            out.printf(Locale.ROOT, "a decode step reads the weights (%.1f MB) and the K/V cache (%.1f MB per 1000 "
                    + "tokens); check: heads_out of the first step against float64%n", s.weightBytes() / 1e6,
                    s.cacheBytes(1000) / 1e6);
        }
        for (Device d : devices) {
            out.printf(Locale.ROOT, "  %-9s %s%n", d.spec(), d.isJava()
                    ? d.name() + ", " + d.info().computeUnits() + " threads, Java " + d.info().driverVersion()
                    : d.name() + " (" + d.info().platform() + ", driver " + d.info().driverVersion() + ")");
        }
        out.println();
        out.printf(Locale.ROOT, "%-10s %8s %10s %9s %9s %10s %9s %8s %9s %10s  %s%n", "device", "context",
                "median ms", "min ms", "max ms", "tokens/s", "MB/step", "GB/s", "of bound", "max|err|", "path");
        out.flush();
    }

    void row(PrintWriter out, Point p) {
        progress.clear();
        if (p.failed()) {
            out.printf(Locale.ROOT, "%-10s %8d  FAILED: %s%n", p.device().spec(), p.contextLen(), p.error());
        } else {
            boolean decode = settings.prefillChunk() == null;
            out.printf(Locale.ROOT, "%-10s %8d %10.3f %9.3f %9.3f %10.1f %9s %8s %9s %10s  %s%n", p.device().spec(),
                    p.contextLen(), p.medianMs(), p.minMs(), p.maxMs(), p.tokensPerSecond(),
                    decode ? String.format(Locale.ROOT, "%.1f", p.bytesPerStep() / 1e6) : "-",
                    decode ? String.format(Locale.ROOT, "%.1f", p.gbPerSecond()) : "-",
                    decode ? String.format(Locale.ROOT, "%.0f%%", 100 * p.gbPerSecond() / bound) : "-",
                    p.checked() ? String.format(Locale.ROOT, "%.1e%s", p.maxAbsErr(), p.checkPassed() ? "" : "!") : "-",
                    p.path() + stageText(p.stageMs()));
        }
        out.flush();
    }

    private static String stageText(Map<String, Double> stages) {
        StringBuilder b = new StringBuilder();
        stages.forEach((k, v) -> b.append(b.length() == 0 ? "  " : ", ").append(k).append(' ')
                .append(String.format(Locale.ROOT, "%.2f", v)));
        return b.toString();
    }

    static List<Map<String, Object>> json(List<Point> points) {
        List<Map<String, Object>> rows = new ArrayList<>();
        points.forEach(p -> rows.add(p.toJson()));
        return rows;
    }
}
