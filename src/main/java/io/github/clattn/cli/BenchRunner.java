package io.github.clattn.cli;

import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Rope;
import io.github.clattn.core.ThreadCpu;
import io.github.clattn.core.Warmup;
import io.github.clattn.reference.Comparison;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Verdict;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The measuring half of {@code clattn bench}: per device the layer is opened once (program build
 * and weight upload: {@code open_ms}, {@code build_ms}); per size, the first call is timed on its
 * own ({@code first_call_ms}: buffer allocation, first launches), its outputs are checked against
 * the float64 reference on a sample of query rows, then warm-up calls run untimed and the timed
 * calls follow, wall clock, host-device transfers included. Each point goes to a listener as soon
 * as it is measured ({@link BenchReport} prints it).
 */
final class BenchRunner {
    private static final Logger LOG = LoggerFactory.getLogger(BenchRunner.class);

    /** What to measure: the layer's shape and features, and how to time it. */
    record Settings(int batch, int dModel, int heads, int kvHeads, Double ropeTheta, boolean causal,
                    boolean outputProjection, Integer contextLen, int warmup, long warmupMillis, int iterations, long seed,
                    int checkRows, BenchFeatures extras) {
        int headDim() {
            return dModel / heads;
        }

        EnumSet<Feature> features() {
            EnumSet<Feature> f = EnumSet.of(Feature.PROJECTION_BIAS);
            if (causal) {
                f.add(Feature.CAUSAL);
            }
            if (outputProjection) {
                f.add(Feature.OUTPUT_PROJECTION);
            }
            if (contextLen != null) {
                f.add(Feature.CROSS);
            }
            return f;
        }
    }

    /** One size of the sweep: N queries attending to M keys. */
    record Size(int seq, int contextLen) {
    }

    private final Settings settings;
    private final Progress progress;
    private final Map<Size, Float64Attention.Result> references = new LinkedHashMap<>();
    private AttentionWeights layer;

    BenchRunner(Settings settings, Progress progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /** The problem of one size: the same layer for every size and device, inputs from the seed and the size. */
    Problem problem(Size size) {
        Problem.Builder b = Problem.builder(settings.seed() + 31L * size.seq() + size.contextLen(), settings.batch(),
                size.seq(), size.contextLen(), settings.dModel(), settings.heads(), settings.headDim())
                .kvHeads(settings.kvHeads()).with(settings.features());
        if (layer == null) {
            layer = Problem.builder(settings.seed(), 1, 1, 1, settings.dModel(), settings.heads(), settings.headDim())
                    .kvHeads(settings.kvHeads()).with(settings.features()).with(Feature.CROSS).build().weights();
        }
        Problem p = b.layer(layer).build();
        AttentionOptions o = settings.extras().apply(p.options(), settings.heads(), settings.seed());
        if (settings.ropeTheta() != null) {
            o = o.withRope(new Rope(settings.ropeTheta(), 0, Rope.Style.NEOX));
        }
        AttentionInput in = p.input().toBuilder().returnLse(settings.extras().lse())
                .returnKeyMass(settings.extras().keyMass()).build();
        return Problem.of(p.toString(), p.weights(), o, in);
    }

    /** Measures every size on {@code device}, handing each point to {@code listener}. */
    void runDevice(Device device, List<Size> sizes, Consumer<BenchResult> listener) {
        progress.label(device.spec() + ": opening (program build, upload)");
        long openStart = System.nanoTime();
        Attention attention;
        Problem first = problem(sizes.get(0));
        AttentionOptions options = first.options();
        try {
            attention = Attention.open(first.weights(), options, device);
        } catch (ClattnException | IllegalArgumentException e) {
            LOG.debug("Opening {} failed", device, e);
            for (Size size : sizes) {
                for (int i = 0; i < 1 + settings.warmup() + settings.iterations(); i++) {
                    progress.advance();
                }
                listener.accept(failure(device, size, problem(size), 0, 0, "cannot open the layer: " + e.getMessage()));
            }
            return;
        }
        double openMs = (System.nanoTime() - openStart) / 1e6;
        try (attention) {
            double buildMs = attention.buildMillis();
            LOG.debug("Opened {} in {} ms (program build {} ms)", device, openMs, buildMs);
            for (Size size : sizes) {
                Problem p = problem(size);
                BenchResult r;
                try {
                    r = measure(attention, device, size, p, openMs, buildMs);
                } catch (ClattnException | IllegalArgumentException e) {
                    LOG.debug("{} at N={} M={} failed", device, size.seq(), size.contextLen(), e);
                    r = failure(device, size, p, openMs, buildMs, e.getMessage());
                }
                listener.accept(r);
            }
        }
    }

    private BenchResult measure(Attention attention, Device device, Size size, Problem p, double openMs,
                                double buildMs) {
        String where = device.spec() + " N=" + size.seq() + (settings.contextLen() == null ? "" : " M=" + size.contextLen());

        progress.label(where + ": first call");
        long t = System.nanoTime();
        AttentionOutput first = attention.forward(p.input());
        double firstMs = (System.nanoTime() - t) / 1e6;
        progress.advance();

        progress.label(where + ": float64 check");
        Float64Attention.Result reference = references.computeIfAbsent(size, s -> Float64Attention.compute(p.weights(),
                p.options(), p.input(), Float64Attention.sample(p.batch(), p.queryLength(), settings.checkRows())));
        Verdict verdict = reference.compare(where, first);
        Comparison worst = verdict.worst();

        progress.label(where + ": warm-up");
        int[] advanced = {0};
        Warmup.Result warm = Warmup.run(() -> attention.forward(p.input()), settings.warmup(), settings.warmupMillis(),
                () -> {
                    if (advanced[0]++ < settings.warmup()) {
                        progress.advance();
                    }
                });
        progress.label(where + ": timing");
        int iterations = settings.iterations();
        double[] ms = new double[iterations];
        Map<String, double[]> stages = new LinkedHashMap<>();
        String path = first.path();
        ThreadCpu.Span cpu = ThreadCpu.start();
        for (int i = 0; i < iterations; i++) {
            t = System.nanoTime();
            AttentionOutput o = attention.forward(p.input());
            ms[i] = (System.nanoTime() - t) / 1e6;
            path = o.path();
            for (Map.Entry<String, Double> e : o.stageMillis().entrySet()) {
                stages.computeIfAbsent(e.getKey(), k -> new double[iterations])[i] = e.getValue();
            }
            progress.advance();
        }
        double cpuBusy = BenchRunner.cpuBusy(device, cpu);
        Map<String, Double> stageMedians = new LinkedHashMap<>();
        stages.forEach((k, v) -> stageMedians.put(k, median(v)));
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        return new BenchResult(device, size, settings, settings.batch(), settings.dModel(), settings.heads(),
                settings.causal(),
                settings.outputProjection(), p.flops(), openMs, buildMs, firstMs, median(ms), sorted[0],
                sorted[sorted.length - 1], stageMedians, path, worst.maxAbsError(), worst.tolerance(),
                reference.rows().size(), settings.warmup(), iterations, warm, cpuBusy, null);
    }

    private BenchResult failure(Device device, Size size, Problem p, double openMs, double buildMs, String error) {
        return new BenchResult(device, size, settings, settings.batch(), settings.dModel(), settings.heads(),
                settings.causal(),
                settings.outputProjection(), p.flops(), openMs, buildMs, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                Map.of(), null, Double.NaN, Double.NaN, 0, settings.warmup(), settings.iterations(),
                new Warmup.Result(0, 0, false), Double.NaN, error);
    }

    /**
     * The Java path's busy share since {@code span} began, over its pool's threads
     * ({@link ThreadCpu}); NaN on OpenCL devices, whose driver threads are not Java threads.
     */
    static double cpuBusy(Device device, ThreadCpu.Span span) {
        return device.isJava() ? span.busy(device.info().computeUnits()) : Double.NaN;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int k = s.length / 2;
        return s.length % 2 == 1 ? s[k] : (s[k - 1] + s[k]) / 2;
    }

    static List<Size> sizes(List<Integer> seq, Integer contextLen) {
        List<Size> sizes = new ArrayList<>();
        for (int n : seq) {
            sizes.add(new Size(n, contextLen == null ? n : contextLen));
        }
        return sizes;
    }
}
