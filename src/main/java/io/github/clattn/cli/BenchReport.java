package io.github.clattn.cli;

import io.github.clattn.Device;
import io.github.clattn.core.Warmup;
import io.github.clattn.reference.Tolerance;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The reporting half of {@code clattn bench}: an aligned table (printed a row at a time, as points
 * are measured), or one JSON array, or CSV rows; the GFLOP/s chart; and the verdict (exit 1 when a
 * point failed or missed the tolerance).
 */
final class BenchReport {
    enum Format { TABLE, JSON, CSV }

    private static final String ROW = "%-10s %6s %6s %10s %9s %9s %9s %10s %9s %9s %8s  %-14s %s%n";

    private final BenchRunner.Settings settings;
    private final Format format;
    private final PrintWriter out;
    private final Progress progress;
    private final List<BenchResult> results = new ArrayList<>();
    /** The device of the table's previous row: its program build time is shown once. */
    private Device lastTableDevice;

    BenchReport(BenchRunner.Settings settings, Format format, PrintWriter out, Progress progress) {
        this.settings = settings;
        this.format = format;
        this.out = out;
        this.progress = progress;
    }

    List<BenchResult> results() {
        return results;
    }

    /** The table's header (nothing for JSON and CSV). */
    void header(List<Device> devices) {
        if (format != Format.TABLE) {
            return;
        }
        int dk = settings.headDim();
        out.printf(Locale.ROOT, "clattn bench: batch %d, d_model %d, %d heads of %d%s, %s, %s%s%s%n", settings.batch(),
                settings.dModel(), settings.heads(), dk,
                settings.kvHeads() == settings.heads() ? "" : ", " + settings.kvHeads() + " K/V heads",
                settings.contextLen() == null ? "self-attention (M = N)"
                        : "cross-attention (M = " + settings.contextLen() + ")",
                settings.causal() ? "causal" : "not causal",
                (settings.ropeTheta() == null ? "" : String.format(Locale.ROOT, ", RoPE theta %.0f", settings.ropeTheta()))
                        + settings.extras().describe(),
                settings.outputProjection() ? ", with output projection" : "");
        int warmup = settings.warmup();
        out.printf(Locale.ROOT, "timing: first call, then warm-up calls (at least %d and %d ms, until the last %d rounds of "
                + "%d ms agree within %.0f%% and the JIT is idle) untimed, then the median, min and max of %d timed call%s (wall time in ms, transfers "
                + "included; GFLOP/s from the median)%n", warmup, warmup > 0 ? settings.warmupMillis() : 0,
                Warmup.WINDOW, Warmup.ROUND_MILLIS, 100 * Warmup.SPREAD, settings.iterations(), settings.iterations() == 1 ? "" : "s");
        out.printf(Locale.ROOT, "check: outputs against float64 on up to %d query rows per point, tolerance "
                + "%s*max(1,|ref|)%n", settings.checkRows(), Tolerance.OUTPUT_RTOL);
        for (Device d : devices) {
            out.printf(Locale.ROOT, "  %-9s %s%n", d.spec(), d.isJava()
                    ? d.name() + ", " + d.info().computeUnits() + " threads, Java " + d.info().driverVersion()
                    : d.name() + " (" + d.info().platform() + ", driver " + d.info().driverVersion() + ")");
        }
        out.println();
        out.printf(Locale.ROOT, ROW, "device", "N", "M", "median ms", "min ms", "max ms", "GFLOP/s", "max|err|",
                "build ms", "1st call", "CPU busy", "path", "kernel time per stage, ms (median)");
        out.flush();
    }

    /** Takes one measured point; the table prints it at once. */
    void add(BenchResult r) {
        results.add(r);
        if (format != Format.TABLE) {
            return;
        }
        progress.clear();
        if (r.failed()) {
            out.printf(Locale.ROOT, "%-10s %6d %6d  FAILED: %s%n", r.device().spec(), r.size().seq(),
                    r.size().contextLen(), r.error());
        } else {
            StringBuilder stages = new StringBuilder();
            r.stageMs().forEach((k, v) -> stages.append(stages.length() == 0 ? "" : ", ")
                    .append(k).append(' ').append(fixed(v)));
            out.printf(Locale.ROOT, ROW, r.device().spec(), r.size().seq(), r.size().contextLen(), fixed(r.medianMs()),
                    fixed(r.minMs()), fixed(r.maxMs()), String.format(Locale.ROOT, "%.2f", r.gflops()),
                    String.format(Locale.ROOT, "%.1e%s", r.maxAbsErr(), r.checkPassed() ? "" : "!"),
                    r.device().isJava() || r.device().equals(lastTableDevice) ? "-"
                            : String.format(Locale.ROOT, "%.1f", r.buildMs()),
                    String.format(Locale.ROOT, "%.1f", r.firstCallMs()),
                    Double.isNaN(r.cpuBusy()) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * r.cpuBusy()), r.path(),
                    stages.length() == 0 ? "-" : stages.toString());
        }
        lastTableDevice = r.device();
        out.flush();
    }

    /** JSON or CSV, once every point is in. */
    void finish() {
        progress.clear();
        if (format == Format.JSON) {
            List<Map<String, Object>> rows = new ArrayList<>();
            results.forEach(r -> rows.add(r.toJson()));
            out.println(Json.arrayOfLines(rows));
        } else if (format == Format.CSV) {
            printCsv();
        }
        out.flush();
    }

    /** Milliseconds with three significant decimals below 10, fewer above. */
    private static String fixed(double ms) {
        if (ms < 10) {
            return String.format(Locale.ROOT, "%.3f", ms);
        }
        return String.format(Locale.ROOT, ms < 100 ? "%.2f" : "%.1f", ms);
    }

    private void printCsv() {
        if (results.isEmpty()) {
            return;
        }
        // Columns: every scalar JSON field, then one column per stage seen on any device.
        LinkedHashSet<String> stageNames = new LinkedHashSet<>();
        results.forEach(r -> stageNames.addAll(r.stageMs().keySet()));
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

    /** The GFLOP/s chart, a line per device, in {@code format} (png or svg). */
    void chart(String chartFormat, OutputStream stream) throws java.io.IOException {
        Charts.write(Charts.benchChart(chartTitle(), chartLines()), chartFormat, stream);
    }

    private String chartTitle() {
        return String.format(Locale.ROOT, "clattn attention: B=%d, D=%d, H=%d (dk=%d), %s%s", settings.batch(),
                settings.dModel(), settings.heads(), settings.headDim(),
                settings.contextLen() == null ? "M=N" : "M=" + settings.contextLen(), settings.causal() ? ", causal" : "");
    }

    private List<Charts.Line> chartLines() {
        Map<Device, Charts.Line> lines = new LinkedHashMap<>();
        for (BenchResult r : results) {
            if (r.failed()) {
                continue;
            }
            Device d = r.device();
            Charts.Line line = lines.computeIfAbsent(d, k -> new Charts.Line(k.isJava()
                    ? "java (pure-Java path, " + k.info().computeUnits() + " threads)" : k.spec() + " " + k.name(),
                    new ArrayList<>(), new ArrayList<>()));
            line.seq().add(r.size().seq());
            line.gflops().add(r.gflops());
        }
        return new ArrayList<>(lines.values());
    }

    /** 0, or 1 with one line on {@code err} when a point failed or missed the tolerance. */
    int verdict(PrintWriter err, String command) {
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
        err.println(command + ": " + bad.size() + " of " + results.size() + " points failed: " + String.join("; ", bad));
        err.flush();
        return Main.EXIT_FAILURE;
    }
}
