package io.github.clattn.cli;

import io.github.clattn.Device;
import io.github.clattn.Devices;
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
            List<BenchRunner.Size> sizes = BenchRunner.sizes(seq, contextLen);
            BenchRunner.Settings settings = new BenchRunner.Settings(batch, dModel, heads, causal, outputProjection,
                    contextLen, warmup, warmupMillis, iterations, seed, checkRows);
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
}
