package io.github.clattn.cli;

import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn bench}: times the attention forward call on each device and size.
 *
 * <p>Per device the layer is opened once (program build and weight upload: {@code open_ms},
 * {@code build_ms}); per size, the first call is timed on its own ({@code first_call_ms}: buffer
 * allocation, first launches), its heads_out is checked against a float64 reference on a sample
 * of query rows ({@link SampledReference}), then {@code --warmup} calls run untimed and
 * {@code --iterations} calls are timed, wall clock, host-device transfers included.
 *
 * <p>FLOPs: projections {@code 2·B·(N+2M)·D·H·dk}, attention {@code 4·B·H·N·M·dk} (a causal mask
 * is counted in full), output projection {@code 2·B·N·H·dk·D} when present.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Time attention across devices and sequence lengths; table, JSON, CSV and charts.",
        description = {"Time attention on every device (or those given with --device) across sequence lengths. "
                + "Each (device, size) is first checked against a float64 reference; then warm-up calls run untimed "
                + "and --iterations calls are timed: the wall time of one forward call, host-device transfers "
                + "included, with the kernel time per stage on OpenCL devices.", ""},
        footerHeading = "%nExamples:%n",
        footer = {"  clattn bench",
            "  clattn bench --seq 128,1024,2048 --d-model 512 --heads 8 --json > bench.json",
            "  clattn bench --device opencl --device cpu --plot bench.png"})
final class BenchCommand extends CliCommand {
    private static final Logger LOG = LoggerFactory.getLogger(BenchCommand.class);

    @Option(names = "--device", paramLabel = "SPEC",
            description = "A device to time (repeatable): cpu, opencl, opencl:I or part of a name. Default: every "
                    + "OpenCL device and the Java path.")
    List<String> deviceSpecs;
    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--seq", paramLabel = "N", split = ",", splitSynopsisLabel = ",", defaultValue = "128,256,512,1024",
            description = "Query sequence lengths (default ${DEFAULT-VALUE}).")
    List<Integer> seq;
    @Option(names = "--context-len", paramLabel = "M",
            description = "Keys per query (cross-attention over a context of M tokens); default: M = N (self-attention).")
    Integer contextLen;
    @Option(names = "--d-model", paramLabel = "D", defaultValue = "256", description = "Model width (default ${DEFAULT-VALUE}).")
    int dModel;
    @Option(names = "--heads", paramLabel = "H", defaultValue = "4",
            description = "Heads (default ${DEFAULT-VALUE}); head width dk = D / H.")
    int heads;
    @Option(names = "--causal", description = "Causal mask (FLOPs still counted in full).")
    boolean causal;
    @Option(names = "--output-projection", description = "Include the output projection W_O (and its FLOPs).")
    boolean outputProjection;
    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2",
            description = "Untimed calls after the first call (default ${DEFAULT-VALUE}).")
    int warmup;
    @Option(names = "--warmup-ms", paramLabel = "MS", defaultValue = "1000",
            description = "With --warmup > 0, keep warming up until this much time has passed too, so the JIT has "
                    + "compiled the Java path's kernels before timing (default ${DEFAULT-VALUE}).")
    long warmupMillis;
    @Option(names = "--iterations", paramLabel = "I", defaultValue = "5", description = "Timed calls (default ${DEFAULT-VALUE}).")
    int iterations;
    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Format format = new Format();
    @Option(names = "--plot", paramLabel = "FILE.png|FILE.svg", description = "Chart of GFLOP/s against N, a line per device.")
    Path plot;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of the random inputs (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--check-rows", paramLabel = "R", defaultValue = "16",
            description = "Query rows checked in float64 per point (default ${DEFAULT-VALUE}; all rows when there are fewer).")
    int checkRows;

    /** Output format: an aligned table unless one of these. */
    static final class Format {
        @Option(names = "--json", description = "One JSON array on stdout, an object per (device, size).")
        boolean json;
        @Option(names = "--csv", description = "The same fields as CSV rows on stdout.")
        boolean csv;
    }

    /** One size of the sweep: N queries attending to M keys. */
    record Size(int seq, int contextLen) {
    }

    @Override
    int execute() throws Exception {
        checkOptions();
        try (OutputFiles outputs = new OutputFiles()) {
            String plotFormat = null;
            if (plot != null) {
                plotFormat = OutputFiles.requireExtension("--plot", plot, "png", "svg");
                outputs.reserve("--plot", plot);
            }
            List<Device> devices = devices();
            List<Size> sizes = new ArrayList<>();
            for (int n : seq) {
                sizes.add(new Size(n, contextLen == null ? n : contextLen));
            }
            AttentionWeights weights = randomWeights();
            AttentionOptions options = AttentionOptions.causal(causal);
            boolean table = !format.json && !format.csv;
            PrintWriter out = out();
            if (table) {
                printHeader(out, devices);
            }
            Progress progress = new Progress(err(), Progress.stderrIsTerminal(),
                    devices.size() * sizes.size() * (1 + warmup + iterations));
            Map<Size, SampledReference> references = new HashMap<>();
            List<BenchResult> results = new ArrayList<>();
            for (Device device : devices) {
                runDevice(device, sizes, weights, options, references, progress, results, table ? out : null);
            }
            progress.clear();
            if (format.json) {
                List<Map<String, Object>> rows = new ArrayList<>();
                results.forEach(r -> rows.add(r.toJson()));
                out.println(Json.arrayOfLines(rows));
            } else if (format.csv) {
                printCsv(out, results);
            }
            out.flush();
            if (plot != null) {
                String fmt = plotFormat;
                outputs.write("--plot", plot, s -> Charts.write(Charts.benchChart(chartTitle(), chartLines(results)), fmt, s));
                outputs.commit();
                if (table) {
                    out.println("chart: " + plot);
                    out.flush();
                }
            }
            return verdict(results);
        }
    }

    private void checkOptions() {
        positive("--batch", batch);
        positive("--d-model", dModel);
        positive("--heads", heads);
        positive("--iterations", iterations);
        positive("--check-rows", checkRows);
        if (warmupMillis < 0) {
            throw new UsageException("--warmup-ms: expected a time >= 0, got " + warmupMillis);
        }
        if (warmup < 0) {
            throw new UsageException("--warmup: expected a count >= 0, got " + warmup);
        }
        if (seq.isEmpty()) {
            throw new UsageException("--seq: expected at least one sequence length");
        }
        for (int n : seq) {
            positive("--seq", n);
        }
        if (contextLen != null) {
            positive("--context-len", contextLen);
        }
        if (dModel % heads != 0) {
            throw new UsageException("--d-model " + dModel + ": expected a multiple of --heads " + heads
                    + " (head width dk = D / H)");
        }
        // The fused paths hold no [B,H,N,M] scores, so only the per-token arrays must fit a Java array.
        for (int n : seq) {
            int m = contextLen == null ? n : contextLen;
            long rows = (long) batch * Math.max(n, m) * dModel;
            if (rows > Integer.MAX_VALUE - 8) {
                throw new UsageException("--seq " + n + ": B*max(N,M)*D = " + rows
                        + " inputs, more than a Java array holds (" + (Integer.MAX_VALUE - 8) + "); use a smaller size");
            }
        }
    }

    private static void positive(String option, int value) {
        if (value <= 0) {
            throw new UsageException(option + ": expected a positive number, got " + value);
        }
    }

    /** The devices to time: those given, in order and without repeats, or every device. */
    private List<Device> devices() {
        if (deviceSpecs == null || deviceSpecs.isEmpty()) {
            List<Device> all = Devices.list();
            if (Devices.openCl().isEmpty()) {
                err().println(name() + ": no OpenCL device (" + Devices.openClUnavailableReason().orElse("none found")
                        + "); timing the Java path only. To use OpenCL, " + Devices.INSTALL_HINT);
                err().flush();
            }
            return all;
        }
        LinkedHashSet<Device> chosen = new LinkedHashSet<>();
        for (String spec : deviceSpecs) {
            chosen.add(DeviceSpecs.select("--device", spec));
        }
        return new ArrayList<>(chosen);
    }

    private void runDevice(Device device, List<Size> sizes, AttentionWeights weights, AttentionOptions options,
                           Map<Size, SampledReference> references, Progress progress, List<BenchResult> results,
                           PrintWriter table) {
        progress.label(device.spec() + ": opening (program build, upload)");
        long openStart = System.nanoTime();
        Attention attention;
        try {
            attention = Attention.open(weights, options, device);
        } catch (ClattnException | IllegalArgumentException e) {
            LOG.debug("Opening {} failed", device, e);
            for (Size size : sizes) {
                BenchResult failed = failure(device, size, 0, 0, "cannot open the layer: " + e.getMessage());
                results.add(failed);
                for (int i = 0; i < 1 + warmup + iterations; i++) {
                    progress.advance();
                }
                printRow(table, progress, failed);
            }
            return;
        }
        double openMs = (System.nanoTime() - openStart) / 1e6;
        try (attention) {
            double buildMs = attention.buildMillis();
            LOG.debug("Opened {} in {} ms (program build {} ms)", device, openMs, buildMs);
            for (Size size : sizes) {
                BenchResult r;
                try {
                    r = measure(attention, device, size, openMs, buildMs, references, progress);
                } catch (ClattnException | IllegalArgumentException e) {
                    LOG.debug("{} at N={} M={} failed", device, size.seq(), size.contextLen(), e);
                    r = failure(device, size, openMs, buildMs, e.getMessage());
                }
                results.add(r);
                printRow(table, progress, r);
            }
        }
    }

    private BenchResult measure(Attention attention, Device device, Size size, double openMs, double buildMs,
                                Map<Size, SampledReference> references, Progress progress) {
        String where = device.spec() + " N=" + size.seq() + (contextLen == null ? "" : " M=" + size.contextLen());
        AttentionInput input = randomInput(size);

        progress.label(where + ": first call");
        long t = System.nanoTime();
        AttentionOutput first = attention.forward(input);
        double firstMs = (System.nanoTime() - t) / 1e6;
        progress.advance();

        progress.label(where + ": float64 check");
        SampledReference reference = references.computeIfAbsent(size, s -> SampledReference.compute(
                attention.weights(), attention.options(), input,
                SampledReference.sample(input.batch(), input.queryLength(), checkRows)));
        double err = reference.maxAbsError(first.headsOut(), size.seq());

        progress.label(where + ": warm-up");
        long warmupStart = System.nanoTime();
        for (int i = 0; i < warmup || (warmup > 0 && (System.nanoTime() - warmupStart) / 1e6 < warmupMillis); i++) {
            attention.forward(input);
            if (i < warmup) {
                progress.advance();
            }
        }
        progress.label(where + ": timing");
        double[] ms = new double[iterations];
        Map<String, double[]> stages = new LinkedHashMap<>();
        String path = first.path();
        for (int i = 0; i < iterations; i++) {
            t = System.nanoTime();
            AttentionOutput o = attention.forward(input);
            ms[i] = (System.nanoTime() - t) / 1e6;
            path = o.path();
            for (Map.Entry<String, Double> e : o.stageMillis().entrySet()) {
                stages.computeIfAbsent(e.getKey(), k -> new double[iterations])[i] = e.getValue();
            }
            progress.advance();
        }
        Map<String, Double> stageMedians = new LinkedHashMap<>();
        stages.forEach((k, v) -> stageMedians.put(k, median(v)));
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        return new BenchResult(device, size, batch, dModel, heads, causal, outputProjection, flops(size), openMs,
                buildMs, firstMs, median(ms), sorted[0], sorted[sorted.length - 1], stageMedians, path, err,
                reference.tolerance(), reference.rows().size(), warmup, iterations, null);
    }

    private BenchResult failure(Device device, Size size, double openMs, double buildMs, String error) {
        return new BenchResult(device, size, batch, dModel, heads, causal, outputProjection, flops(size), openMs,
                buildMs, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Map.of(), null, Double.NaN, Double.NaN, 0,
                warmup, iterations, error);
    }

    /** FLOPs of one forward call, as the issue counts them. */
    double flops(Size size) {
        double b = batch;
        double n = size.seq();
        double m = size.contextLen();
        double hd = dModel; // H * dk with dk = D / H
        double f = 2 * b * (n + 2 * m) * dModel * hd + 4 * b * heads * n * m * (hd / heads);
        if (outputProjection) {
            f += 2 * b * n * hd * dModel;
        }
        return f;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int k = s.length / 2;
        return s.length % 2 == 1 ? s[k] : (s[k - 1] + s[k]) / 2;
    }

    /** Weights with variance 1/D (so Q, K, V have unit scale), biases small; all from the seed. */
    private AttentionWeights randomWeights() {
        SplittableRandom rnd = new SplittableRandom(seed);
        int hd = dModel;
        double a = Math.sqrt(3.0 / dModel);
        AttentionWeights.Builder w = AttentionWeights.builder(dModel, heads, dModel / heads)
                .projections(uniform(rnd, dModel * hd, a), uniform(rnd, dModel * hd, a), uniform(rnd, dModel * hd, a))
                .projectionBiases(uniform(rnd, hd, 0.1), uniform(rnd, hd, 0.1), uniform(rnd, hd, 0.1));
        if (outputProjection) {
            w.outputProjection(uniform(rnd, hd * dModel, Math.sqrt(3.0 / hd)), uniform(rnd, dModel, 0.1));
        }
        return w.build();
    }

    /** The activations of one size, from the seed and the size (the same on every device). */
    private AttentionInput randomInput(Size size) {
        SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (size.seq() * 31L + size.contextLen())));
        AttentionInput.Builder in = AttentionInput.builder(uniform(rnd, batch * size.seq() * dModel, 1.0), batch, size.seq());
        if (contextLen != null) {
            in.context(uniform(rnd, batch * size.contextLen() * dModel, 1.0), size.contextLen());
        }
        return in.build();
    }

    private static float[] uniform(SplittableRandom rnd, int count, double halfWidth) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) ((rnd.nextDouble() * 2 - 1) * halfWidth);
        }
        return a;
    }

    // ---- output ----

    /** The device of the table's previous row: its program build time is shown once. */
    private Device lastTableDevice;

    private static final String ROW = "%-10s %6s %6s %10s %9s %9s %9s %10s %9s %9s  %-14s %s%n";

    private void printHeader(PrintWriter out, List<Device> devices) {
        out.printf(Locale.ROOT, "clattn bench: batch %d, d_model %d, %d heads of %d, %s, %s%s%n", batch, dModel, heads,
                dModel / heads, contextLen == null ? "self-attention (M = N)" : "cross-attention (M = " + contextLen + ")",
                causal ? "causal" : "not causal", outputProjection ? ", with output projection" : "");
        out.printf(Locale.ROOT, "timing: first call and %d warm-up call%s (at least %d ms) untimed, then the median, min "
                + "and max of %d timed call%s (wall time in ms, transfers included; GFLOP/s from the median)%n", warmup,
                warmup == 1 ? "" : "s", warmup > 0 ? warmupMillis : 0, iterations, iterations == 1 ? "" : "s");
        out.printf(Locale.ROOT, "check: heads_out against float64 on up to %d query rows per point, tolerance "
                + "2e-5*max(1,|ref|)%n", checkRows);
        for (Device d : devices) {
            out.printf(Locale.ROOT, "  %-9s %s%n", d.spec(), d.isJava()
                    ? d.name() + ", " + d.computeUnits() + " threads, Java " + d.driverVersion()
                    : d.name() + " (" + d.platformName() + ", driver " + d.driverVersion() + ")");
        }
        out.println();
        out.printf(Locale.ROOT, ROW, "device", "N", "M", "median ms", "min ms", "max ms", "GFLOP/s", "max|err|",
                "build ms", "1st call", "path", "kernel time per stage, ms (median)");
        out.flush();
    }

    private void printRow(PrintWriter table, Progress progress, BenchResult r) {
        if (table == null) {
            return;
        }
        progress.clear();
        if (r.failed()) {
            table.printf(Locale.ROOT, "%-10s %6d %6d  FAILED: %s%n", r.device().spec(), r.size().seq(),
                    r.size().contextLen(), r.error());
        } else {
            StringBuilder stages = new StringBuilder();
            r.stageMs().forEach((k, v) -> stages.append(stages.length() == 0 ? "" : ", ")
                    .append(k).append(' ').append(fixed(v)));
            table.printf(Locale.ROOT, ROW, r.device().spec(), r.size().seq(), r.size().contextLen(), fixed(r.medianMs()),
                    fixed(r.minMs()), fixed(r.maxMs()), String.format(Locale.ROOT, "%.2f", r.gflops()),
                    String.format(Locale.ROOT, "%.1e%s", r.maxAbsErr(), r.checkPassed() ? "" : "!"),
                    r.device().isJava() || r.device().equals(lastTableDevice) ? "-"
                            : String.format(Locale.ROOT, "%.1f", r.buildMs()),
                    String.format(Locale.ROOT, "%.1f", r.firstCallMs()), r.path(),
                    stages.length() == 0 ? "-" : stages.toString());
        }
        lastTableDevice = r.device();
        table.flush();
    }

    /** Milliseconds with three significant decimals below 10, fewer above. */
    private static String fixed(double ms) {
        if (ms < 10) {
            return String.format(Locale.ROOT, "%.3f", ms);
        }
        return String.format(Locale.ROOT, ms < 100 ? "%.2f" : "%.1f", ms);
    }

    private static void printCsv(PrintWriter out, List<BenchResult> results) {
        // Columns: every scalar JSON field, then one column per stage seen on any device.
        LinkedHashSet<String> stageNames = new LinkedHashSet<>();
        results.forEach(r -> stageNames.addAll(r.stageMs().keySet()));
        if (results.isEmpty()) {
            return;
        }
        List<String> columns = new ArrayList<>();
        for (String k : results.get(0).toJson().keySet()) {
            if (!k.equals("stage_ms")) {
                columns.add(k);
            }
        }
        for (String s : stageNames) {
            columns.add("stage_" + s + "_ms");
        }
        out.println(String.join(",", columns));
        for (BenchResult r : results) {
            Map<String, Object> json = r.toJson();
            List<String> cells = new ArrayList<>();
            for (String c : columns) {
                Object v;
                if (c.startsWith("stage_") && c.endsWith("_ms") && !json.containsKey(c)) {
                    Double stage = r.stageMs().get(c.substring("stage_".length(), c.length() - "_ms".length()));
                    v = stage == null ? null : Json.round(stage, 4);
                } else {
                    v = json.get(c);
                }
                cells.add(csv(v));
            }
            out.println(String.join(",", cells));
        }
    }

    private static String csv(Object v) {
        if (v == null) {
            return "";
        }
        String s = v instanceof Double ? Json.write(v) : v.toString();
        if (s.equals("null")) {
            return "";
        }
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }

    private String chartTitle() {
        return String.format(Locale.ROOT, "clattn attention: B=%d, D=%d, H=%d (dk=%d), %s%s", batch, dModel, heads,
                dModel / heads, contextLen == null ? "M=N" : "M=" + contextLen, causal ? ", causal" : "");
    }

    private static List<Charts.Line> chartLines(List<BenchResult> results) {
        Map<Device, Charts.Line> lines = new LinkedHashMap<>();
        for (BenchResult r : results) {
            if (r.failed()) {
                continue;
            }
            Device d = r.device();
            Charts.Line line = lines.computeIfAbsent(d, k -> new Charts.Line(k.isJava()
                    ? "java (pure-Java path, " + k.computeUnits() + " threads)" : k.spec() + " " + k.name(),
                    new ArrayList<>(), new ArrayList<>()));
            line.seq().add(r.size().seq());
            line.gflops().add(r.gflops());
        }
        return new ArrayList<>(lines.values());
    }

    /** 0, or 1 with one line on stderr when a point failed or missed the tolerance. */
    private int verdict(List<BenchResult> results) {
        List<String> bad = new ArrayList<>();
        for (BenchResult r : results) {
            String at = r.device().spec() + " N=" + r.size().seq() + " M=" + r.size().contextLen();
            if (r.failed()) {
                bad.add(at + " failed: " + r.error());
            } else if (!r.checkPassed()) {
                bad.add(String.format(Locale.ROOT, "%s max|err| %.2e exceeds the tolerance %.2e", at, r.maxAbsErr(),
                        r.tolerance()));
            }
        }
        if (bad.isEmpty()) {
            return 0;
        }
        err().println(name() + ": " + bad.size() + " of " + results.size() + " points failed: " + String.join("; ", bad));
        err().flush();
        return Main.EXIT_FAILURE;
    }
}
