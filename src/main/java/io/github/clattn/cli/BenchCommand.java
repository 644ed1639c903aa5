package io.github.clattn.cli;

import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.core.Warmup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn bench}: times the attention forward call on each device and size. The options and
 * their checks live here; {@link BenchRunner} measures (open, first call, float64 check, warm-up,
 * timed calls) and {@link BenchReport} prints (table, JSON, CSV, chart, verdict).
 *
 * <p>FLOPs ({@link io.github.clattn.reference.Problem#flops()}): projections
 * {@code 2·B·(N+2M)·D·H·dk}, attention {@code 4·B·H·N·M·dk} (a causal mask is counted in full),
 * output projection {@code 2·B·N·H·dk·D} when present.
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

    @Option(names = "--device", paramLabel = "SPEC",
            description = "A device to time (repeatable): cpu, opencl, opencl:I or part of a name. Default: every "
                    + "OpenCL device and the Java path.")
    List<String> deviceSpecs;
    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--seq", paramLabel = "N", split = ",", splitSynopsisLabel = ",",
            description = "Query sequence lengths (default 128,256,512,1024; not with --decode or --prefill-chunk).")
    List<Integer> seq;
    @Option(names = "--context-len", paramLabel = "M", split = ",", splitSynopsisLabel = ",",
            description = "Keys per query: one M for cross-attention over a context of M tokens (default M = N, "
                    + "self-attention); with --decode or --prefill-chunk the cached context lengths to time "
                    + "(default 512,4096).")
    List<Integer> contextLen;
    @Option(names = "--d-model", paramLabel = "D",
            description = "Model width (default 256; 4096 with --decode or --prefill-chunk).")
    Integer dModel;
    @Option(names = "--heads", paramLabel = "H",
            description = "Heads (default 4; 32 with --decode or --prefill-chunk); head width dk = D / H.")
    Integer heads;
    @Option(names = "--kv-heads", paramLabel = "HKV",
            description = "Key/value heads, a divisor of --heads (default: --heads; 8 with --decode or --prefill-chunk).")
    Integer kvHeads;
    @Option(names = "--rope-theta", paramLabel = "T",
            description = "Rotary position embedding with base T (default: none; 500000 with --decode or --prefill-chunk).")
    Double ropeTheta;
    @Option(names = "--causal", description = "Causal mask (FLOPs still counted in full).")
    boolean causal;
    @Option(names = "--window-left", paramLabel = "L",
            description = "Sliding window: a query at p sees keys j >= p - L (FLOPs still counted in full).")
    Integer windowLeft;
    @Option(names = "--window-right", paramLabel = "R", description = "Sliding window: a query at p sees keys j <= p + R.")
    Integer windowRight;
    @Option(names = "--softcap", paramLabel = "C", description = "Logit softcap C*tanh(s/C).")
    Double softcap;
    @Option(names = "--alibi", description = "ALiBi with the standard slopes.")
    boolean alibi;
    @Option(names = "--sinks", description = "An attention sink per head (random logits from --seed).")
    boolean sinks;
    @Option(names = "--lse", description = "The calls also return each row's log-sum-exp.")
    boolean lse;
    @Option(names = "--key-mass", description = "The calls also return key_mass (a second pass over the keys).")
    boolean keyMass;
    @Option(names = "--output-projection", negatable = true,
            description = "Include the output projection W_O (and its FLOPs; default: off, on with --decode or "
                    + "--prefill-chunk).")
    Boolean outputProjection;
    @Option(names = "--decode",
            description = "Time one decode step of a layer with a KV cache of --context-len tokens (default a "
                    + "Llama-3-8B layer: D 4096, H 32, Hkv 8, dk 128, RoPE theta 500000, B 1): ms per step, tokens/s, "
                    + "bytes read per step and GB/s beside this machine's STREAM bandwidth.")
    boolean decode;
    @Option(names = "--prefill-chunk", paramLabel = "C",
            description = "Time prefilling a prompt of --context-len tokens into a KV cache in chunks of C tokens.")
    Integer prefillChunk;
    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2",
            description = "Untimed calls after the first call (default ${DEFAULT-VALUE}).")
    int warmup;
    @Option(names = "--warmup-ms", paramLabel = "MS", defaultValue = "1000",
            description = "With --warmup > 0, warm up for at least this long, and on in rounds of " + Warmup.ROUND_MILLIS + " ms until the "
                    + "medians of the last 5 rounds agree within 5%% and the JIT finished no compilation during them (at most 10 s), "
                    + "so the JIT has compiled the Java path's kernels before timing "
                    + "(default ${DEFAULT-VALUE}).")
    long warmupMillis;
    @Option(names = "--iterations", paramLabel = "I", defaultValue = "20", description = "Timed calls (default ${DEFAULT-VALUE}).")
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

    @Override
    int execute() throws Exception {
        if (decode || prefillChunk != null) {
            return executeCache();
        }
        if (kvHeads == null) {
            kvHeads = heads();
        }
        if (seq == null) {
            seq = List.of(128, 256, 512, 1024);
        }
        checkOptions();
        try (OutputFiles outputs = new OutputFiles()) {
            String plotFormat = null;
            if (plot != null) {
                plotFormat = OutputFiles.requireExtension("--plot", plot, "png", "svg");
                outputs.reserve("--plot", plot);
            }
            List<Device> devices = devices();
            Integer cross = contextLen == null ? null : contextLen.get(0);
            List<BenchRunner.Size> sizes = BenchRunner.sizes(seq, cross);
            BenchRunner.Settings settings = new BenchRunner.Settings(batch, dModel(), heads(), kvHeads, ropeTheta, causal,
                    Boolean.TRUE.equals(outputProjection), cross, warmup, warmupMillis, iterations, seed, checkRows,
                    extras());
            Progress progress = new Progress(err(), Progress.stderrIsTerminal(),
                    devices.size() * sizes.size() * (1 + warmup + iterations));
            BenchReport report = new BenchReport(settings, format.json ? BenchReport.Format.JSON
                    : format.csv ? BenchReport.Format.CSV : BenchReport.Format.TABLE, out(), progress);
            report.header(devices);
            BenchRunner runner = new BenchRunner(settings, progress);
            for (Device device : devices) {
                runner.runDevice(device, sizes, report::add);
            }
            report.finish();
            if (plot != null) {
                String fmt = plotFormat;
                outputs.write("--plot", plot, s -> report.chart(fmt, s));
                outputs.commit();
                if (!format.json && !format.csv) {
                    out().println("chart: " + plot);
                    out().flush();
                }
            }
            return report.verdict(err(), name());
        }
    }

    private BenchFeatures extras() {
        return BenchFeatures.of(windowLeft, windowRight, softcap, alibi, sinks, lse, keyMass);
    }

    private int dModel() {
        return dModel != null ? dModel : decode || prefillChunk != null ? 4096 : 256;
    }

    private int heads() {
        return heads != null ? heads : decode || prefillChunk != null ? 32 : 4;
    }

    /** {@code --decode} and {@code --prefill-chunk}: a layer with a KV cache ({@link DecodeBench}). */
    private int executeCache() throws Exception {
        if (decode && prefillChunk != null) {
            throw new UsageException("--decode and --prefill-chunk: give one of them");
        }
        if (seq != null) {
            throw new UsageException("--seq: not used with --decode or --prefill-chunk (a step is one token per "
                    + "sequence, a prefill step one chunk); give the cached lengths with --context-len");
        }
        if (plot != null || format.csv) {
            throw new UsageException((plot != null ? "--plot" : "--csv") + ": not available with --decode or "
                    + "--prefill-chunk (use --json)");
        }
        if (lse || keyMass) {
            throw new UsageException((lse ? "--lse" : "--key-mass") + ": not available with --decode or "
                    + "--prefill-chunk (cache steps return heads_out and out only)");
        }
        int d = dModel();
        int h = heads();
        int hkv = kvHeads != null ? kvHeads : dModel == null && heads == null ? 8 : h;
        Double theta = ropeTheta != null ? ropeTheta : dModel == null && heads == null ? 500_000.0 : null;
        List<Integer> contexts = contextLen != null ? contextLen : List.of(512, 4096);
        positive("--batch", batch);
        positive("--d-model", d);
        positive("--heads", h);
        positive("--iterations", iterations);
        if (prefillChunk != null) {
            positive("--prefill-chunk", prefillChunk);
        }
        for (int m : contexts) {
            positive("--context-len", m);
        }
        if (d % h != 0) {
            throw new UsageException("--d-model " + d + ": expected a multiple of --heads " + h + " (dk = D / H)");
        }
        requireWeightsFit(d);
        if (hkv <= 0 || h % hkv != 0) {
            throw new UsageException("--kv-heads: expected a divisor of --heads " + h + ", got " + hkv);
        }
        if (theta != null && !(theta > 1 && Double.isFinite(theta))) {
            throw new UsageException("--rope-theta: expected a finite number > 1, got " + theta);
        }
        if (warmup < 0 || warmupMillis < 0) {
            throw new UsageException("--warmup and --warmup-ms: expected values >= 0");
        }
        DecodeBench.Settings settings = new DecodeBench.Settings(batch, d, h, hkv, d / h, theta,
                outputProjection == null || outputProjection, contexts, prefillChunk, warmup, warmupMillis, iterations,
                seed, extras());
        List<Device> devices = devices();
        Progress progress = new Progress(err(), Progress.stderrIsTerminal(), devices.size() * contexts.size() * iterations);
        progress.label("measuring the memory bandwidth (STREAM triad)");
        double bound = MemoryBandwidth.triadGbPerSecond(Runtime.getRuntime().availableProcessors());
        DecodeBench bench = new DecodeBench(settings, progress, bound);
        if (!format.json) {
            bench.header(out(), devices);
        }
        AttentionWeights weights = bench.weights();
        List<DecodeBench.Point> points = new ArrayList<>();
        for (Device device : devices) {
            bench.runDevice(device, weights, points, p -> {
                if (!format.json) {
                    bench.row(out(), p);
                }
            });
        }
        progress.clear();
        if (format.json) {
            out().println(Json.arrayOfLines(DecodeBench.json(points)));
            out().flush();
        }
        List<String> bad = new ArrayList<>();
        for (DecodeBench.Point p : points) {
            if (p.failed() || !p.checkPassed()) {
                bad.add(p.device().spec() + " context " + p.contextLen() + (p.failed() ? " failed: " + p.error()
                        : String.format(java.util.Locale.ROOT, " max|err| %.2e exceeds %.2e", p.maxAbsErr(), p.tolerance())));
            }
        }
        if (!bad.isEmpty()) {
            err().println(name() + ": " + bad.size() + " of " + points.size() + " points failed: " + String.join("; ", bad));
            err().flush();
            return Main.EXIT_FAILURE;
        }
        return 0;
    }

    private void checkOptions() {
        int dModel = dModel();
        int heads = heads();
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
            if (contextLen.size() != 1) {
                throw new UsageException("--context-len: expected one length M for cross-attention (several only with "
                        + "--decode or --prefill-chunk), got " + contextLen);
            }
            positive("--context-len", contextLen.get(0));
        }
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new UsageException("--kv-heads: expected a divisor of --heads " + heads + ", got " + kvHeads);
        }
        if (ropeTheta != null && !(ropeTheta > 1 && Double.isFinite(ropeTheta))) {
            throw new UsageException("--rope-theta: expected a finite number > 1, got " + ropeTheta);
        }
        if (dModel % heads != 0) {
            throw new UsageException("--d-model " + dModel + ": expected a multiple of --heads " + heads
                    + " (head width dk = D / H)");
        }
        requireWeightsFit(dModel);
        // The fused paths hold no [B,H,N,M] scores, so only the per-token arrays must fit a Java array.
        for (int n : seq) {
            int m = contextLen == null ? n : contextLen.get(0);
            long rows = (long) batch * Math.max(n, m) * dModel;
            if (rows > Integer.MAX_VALUE - 8) {
                throw new UsageException("--seq " + n + ": B*max(N,M)*D = " + rows
                        + " inputs, more than a Java array holds (" + (Integer.MAX_VALUE - 8) + "); use a smaller size");
            }
        }
    }

    /** W_Q (and W_O) are [D, H·dk] = D × D floats: one Java array each. */
    private static void requireWeightsFit(int dModel) {
        long weights = (long) dModel * dModel;
        if (weights > Integer.MAX_VALUE - 8) {
            throw new UsageException("--d-model " + dModel + ": a weight matrix is D*D = " + weights
                    + " floats, more than a Java array holds (" + (Integer.MAX_VALUE - 8) + "); use a smaller --d-model");
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
}
