package io.github.clattn.ort;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.core.ThreadAllocations;
import io.github.clattn.core.ThreadCpu;
import io.github.clattn.core.Warmup;
import io.github.clattn.cpu.CpuThreads;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * clattn (pure-Java path and OpenCL/PoCL) against ONNX Runtime (CPU execution provider) on the same
 * attention problems, in one process: same weights, same inputs, medians side by side.
 * Run through {@code scripts/compare-ort} (Maven profile {@code ort}); {@code --help} lists the options.
 */
public final class CompareOrt {
    /** By default a disagreement beyond TOLERANCE·max(1, |ref|) is a failure ({@code --tolerance}). */
    static final double TOLERANCE = 1e-4;
    /** Warm-up ends once the timings settle ({@link Warmup}), or after this long. */
    static final long WARMUP_CAP_MS = 10_000;
    /** The pause before each implementation's warm-up and before the timed rounds ({@link #settle}). */
    static final long SETTLE_MS = 300;
    /** The pause before each implementation's turn in a round of timed calls ({@link #timeInRounds}). */
    static final long SLOT_PAUSE_MS = 50;

    /** One shape of the comparison. */
    record Shape(int batch, int seq, int dModel, int heads, boolean causal, String label) {
        String describe() {
            return "B=" + batch + " N=" + seq + " D=" + dModel + " H=" + heads + (causal ? " causal" : "")
                    + (label.isEmpty() ? "" : " (" + label + ")");
        }
    }

    static final List<Shape> DEFAULT_SHAPES = List.of(
            new Shape(1, 128, 512, 8, false, ""),
            new Shape(1, 512, 512, 8, false, ""),
            new Shape(1, 1024, 512, 8, false, ""),
            new Shape(1, 2048, 512, 8, false, ""),
            new Shape(1, 4096, 512, 8, false, ""),
            new Shape(1, 2048, 512, 8, true, ""),
            new Shape(8, 128, 768, 12, false, "BERT-base"),
            new Shape(1, 1024, 768, 12, true, "GPT-2"));

    /** The figures of one implementation on one shape; {@code error} set when it could not run. */
    static final class Result {
        final String name;
        String error;
        String note;
        Timing timing;
        double setupMs = Double.NaN;
        String path;
        Reference64.Diff vsFloat64;
        /** clattn results only: against the best ORT graph, every element. */
        Reference64.Diff vsOrt;
        /** ORT results only: against clattn Java, every element. */
        Reference64.Diff vsClattnJava;
        float[] output;

        Result(String name) {
            this.name = name;
        }

        boolean ok() {
            return error == null && timing != null;
        }

        double median() {
            return ok() ? timing.median() : Double.NaN;
        }
    }

    /** Everything measured on one shape. */
    static final class ShapeResult {
        final Shape shape;
        final Result java = new Result("clattn java");
        final Result opencl = new Result("clattn opencl");
        final Map<OrtGraphs.Kind, Result> ort = new EnumMap<>(OrtGraphs.Kind.class);
        OrtGraphs.Kind best;
        final List<String> failures = new ArrayList<>();
        int checkRows;

        ShapeResult(Shape shape) {
            this.shape = shape;
        }

        double bestOrtMs() {
            return best == null ? Double.NaN : ort.get(best).median();
        }

        /** The largest absolute difference found by any check of this shape. */
        double maxAbsDiff() {
            double max = 0;
            for (Result r : all()) {
                for (Reference64.Diff d : new Reference64.Diff[] {r.vsFloat64, r.vsOrt, r.vsClattnJava}) {
                    if (d != null) {
                        max = Math.max(max, d.maxAbs());
                    }
                }
            }
            return max;
        }

        List<Result> all() {
            List<Result> all = new ArrayList<>(List.of(java, opencl));
            all.addAll(ort.values());
            return all;
        }
    }

    private final Options options;
    private final PrintStream out;
    private final PrintStream err;
    private final OrtEnvironment env;
    private Device openClDevice;
    private String openClSkip;

    private CompareOrt(Options options, PrintStream out, PrintStream err) {
        this.options = options;
        this.out = out;
        this.err = err;
        this.env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "compare-ort");
    }

    public static void main(String[] args) {
        int status;
        // scripts/compare-ort has the report written to a file and prints it itself, so that its
        // stdout holds the report alone whatever Maven prints around the program.
        String outputFile = System.getProperty("clattn.ort.outputFile", "");
        PrintStream report = System.out;
        try {
            if (!outputFile.isEmpty()) {
                report = new PrintStream(Files.newOutputStream(Path.of(outputFile)), true, StandardCharsets.UTF_8);
            }
            status = run(args, report);
        } catch (UsageException e) {
            System.err.println("compare-ort: " + e.getMessage());
            System.err.println("compare-ort: see --help");
            status = 2;
        } catch (Throwable t) {
            System.err.println("compare-ort: failed: " + t);
            t.printStackTrace();
            status = 1;
        }
        report.flush();
        if (report != System.out) {
            report.close();
        }
        System.out.flush();
        System.err.flush();
        // The launcher lets Maven accept the statuses 0-2 and reads the real one here, so that a
        // failed check does not come with a Maven error report on stdout.
        String statusFile = System.getProperty("clattn.ort.statusFile", "");
        if (!statusFile.isEmpty()) {
            try {
                Files.writeString(Path.of(statusFile), status + "\n", StandardCharsets.US_ASCII);
            } catch (IOException e) {
                System.err.println("compare-ort: cannot write the status file " + statusFile + ": " + e);
            }
        }
        System.exit(status);
    }

    static int run(String[] args, PrintStream report) throws Exception {
        Options options = Options.parse(args);
        if (options.help) {
            report.print(Options.HELP);
            return 0;
        }
        return new CompareOrt(options, report, System.err).compare();
    }

    private int compare() throws Exception {
        String loadBefore = loadAverage();
        chooseOpenCl();
        List<ShapeResult> results = new ArrayList<>();
        int index = 0;
        for (Shape shape : options.shapes) {
            index++;
            err.printf(Locale.ROOT, "compare-ort: [%d/%d] %s%n", index, options.shapes.size(), shape.describe());
            results.add(measure(shape));
        }
        String loadAfter = loadAverage();
        Map<String, String> machine = machine(loadBefore, loadAfter);
        if (options.json) {
            out.println(json(results, machine));
        } else {
            printTable(results, machine);
        }
        boolean failed = results.stream().anyMatch(r -> !r.failures.isEmpty());
        if (failed) {
            err.println("compare-ort: FAILED:");
            for (ShapeResult r : results) {
                for (String f : r.failures) {
                    err.println("  " + r.shape.describe() + ": " + f);
                }
            }
        }
        return failed ? 1 : 0;
    }

    private void chooseOpenCl() {
        if (options.noOpenCl) {
            openClSkip = "skipped (--no-opencl)";
            return;
        }
        Optional<String> reason = Devices.openClUnavailableReason();
        if (reason.isPresent()) {
            openClSkip = "skipped: no OpenCL (" + reason.get() + "; to use OpenCL, " + Devices.INSTALL_HINT + ")";
            return;
        }
        try {
            openClDevice = Devices.select("opencl");
        } catch (ClattnException | IllegalArgumentException e) {
            openClSkip = "skipped: no OpenCL device (" + e.getMessage() + ")";
        }
    }

    // ---- one shape ----

    private ShapeResult measure(Shape s) {
        ShapeResult r = new ShapeResult(s);
        int d = s.dModel();
        int hd = d; // H·dk with dk = D/H
        // Weights of variance 1/D and inputs of unit variance: Q, K and V have unit variance, the
        // scaled scores a standard deviation of about 1 (a softmax neither flat nor one-hot).
        SplittableRandom rnd = new SplittableRandom(options.seed ^ (0x9E3779B97F4A7C15L * (s.seq() * 31L + s.batch())));
        double a = Math.sqrt(3.0 / d);
        float[] wQ = uniform(rnd, d * hd, a);
        float[] wK = uniform(rnd, d * hd, a);
        float[] wV = uniform(rnd, d * hd, a);
        float[] x = uniform(rnd, s.batch() * s.seq() * d, Math.sqrt(3.0));
        OrtGraphs.Problem p = new OrtGraphs.Problem(s.batch(), s.seq(), d, s.heads(), s.causal(), wQ, wK, wV);

        Reference64 ref = Reference64.compute(p, x, options.checkRows);
        r.checkRows = ref.rows.size();

        List<Slot> slots = new ArrayList<>();
        try {
            openClattn(slots, r.java, p, x, "cpu");
            if (openClDevice != null) {
                openClattn(slots, r.opencl, p, x, openClDevice.spec());
            } else {
                r.opencl.error = openClSkip;
            }
            for (OrtGraphs.Kind kind : OrtGraphs.Kind.values()) {
                if (options.times(kind, s.causal())) {
                    Result o = new Result("ORT " + kind.label);
                    r.ort.put(kind, o);
                    openOrt(slots, o, kind, p, x);
                }
            }
            for (Slot slot : slots) {
                settle();
                slot.warmUp(options.warmupMs);
            }
            settle();
            timeInRounds(slots);
            for (Slot slot : slots) {
                slot.finish();
            }
        } finally {
            for (Slot slot : slots) {
                slot.close();
            }
        }
        for (Result res : r.all()) {
            progress(res);
        }

        // Checks: everything against float64 on the sampled rows; clattn against the ORT graphs on
        // every element.
        for (Result res : r.all()) {
            if (res.output != null) {
                res.vsFloat64 = ref.compare(res.output, options.tolerance);
                if (!res.vsFloat64.ok()) {
                    r.failures.add(res.name + " disagrees with float64: " + describe(res.vsFloat64));
                    res.note = join(res.note, "DISAGREES with float64");
                }
            }
        }
        for (Map.Entry<OrtGraphs.Kind, Result> e : r.ort.entrySet()) {
            Result o = e.getValue();
            if (o.ok() && o.vsFloat64.ok() && (r.best == null || o.median() < r.ort.get(r.best).median())) {
                r.best = e.getKey();
            }
            if (o.output != null && r.java.output != null) {
                o.vsClattnJava = Reference64.compareAll(r.java.output, o.output, options.tolerance);
                if (!o.vsClattnJava.ok()) {
                    r.failures.add("clattn java and " + o.name + " disagree: " + describe(o.vsClattnJava));
                }
            }
        }
        if (r.best != null) {
            float[] best = r.ort.get(r.best).output;
            for (Result c : List.of(r.java, r.opencl)) {
                if (c.output != null) {
                    c.vsOrt = Reference64.compareAll(c.output, best, options.tolerance);
                    if (!c.vsOrt.ok()) {
                        r.failures.add(c.name + " and ORT " + r.best.label + " disagree: " + describe(c.vsOrt));
                    }
                }
            }
        } else {
            r.failures.add("no ONNX Runtime graph ran and agreed with float64");
        }
        if (r.java.error != null) {
            r.failures.add("clattn java failed: " + r.java.error);
        }
        if (openClDevice != null && r.opencl.error != null) {
            r.failures.add("clattn opencl failed: " + r.opencl.error);
        }
        // The outputs are not needed any more; keep the heap small for the next shape.
        for (Result res : r.all()) {
            res.output = null;
        }
        return r;
    }

    private void progress(Result res) {
        if (res.ok()) {
            err.printf(Locale.ROOT, "compare-ort:     %-16s median %s (%d warm-up calls in %.0f ms%s)%n", res.name,
                    ms(res.median()), res.timing.warmupCalls(), res.timing.warmupMs(),
                    res.timing.stable() ? "" : ", not stable after the cap");
        } else {
            err.printf(Locale.ROOT, "compare-ort:     %-16s %s%n", res.name, res.error);
        }
    }

    /**
     * Before each implementation's warm-up and before the timed rounds: a full GC and a pause of
     * {@value #SETTLE_MS} ms, so none is timed while the previous one's threads may still spin
     * (ORT's intra-op threads spin-wait by default) or while its garbage is collected.
     */
    private static void settle() {
        System.gc();
        try {
            Thread.sleep(SETTLE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Times the open implementations in {@code options.rounds} rounds: in each, every implementation
     * in turn (the order rotated by one each round) gets a pause of {@value #SLOT_PAUSE_MS} ms (ORT's
     * intra-op threads spin for a few tens of ms after a run), untimed calls for
     * {@value Slot#REWARM_MS} ms (at least one) and then its share of the timed calls. So every
     * implementation is timed across the same stretch of time, and a spell of a busier machine
     * falls on all of them alike instead of on whichever ran during it.
     */
    private void timeInRounds(List<Slot> slots) {
        int perRound = (options.iterations + options.rounds - 1) / options.rounds;
        for (int round = 0; round < options.rounds; round++) {
            for (int i = 0; i < slots.size(); i++) {
                Slot slot = slots.get((round + i) % slots.size());
                if (slot.failed()) {
                    continue;
                }
                pause(SLOT_PAUSE_MS);
                slot.time(perRound);
            }
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** clattn through its public API, on "cpu" (the Java path) or an OpenCL device spec, opened as a slot. */
    private void openClattn(List<Slot> slots, Result res, OrtGraphs.Problem p, float[] x, String deviceSpec) {
        AttentionWeights w = AttentionWeights.builder(p.dModel(), p.heads(), p.headDim())
                .projections(p.wQ(), p.wK(), p.wV()).build();
        AttentionInput input = AttentionInput.builder(x, p.batch(), p.seq()).build();
        long t0 = System.nanoTime();
        Attention attention;
        try {
            attention = Attention.open(w, AttentionOptions.causal(p.causal()), deviceSpec);
        } catch (RuntimeException | LinkageError e) {
            res.error = "failed: " + e;
            return;
        }
        res.setupMs = (System.nanoTime() - t0) / 1e6;
        AttentionOutput[] last = new AttentionOutput[1];
        slots.add(new Slot(res, () -> last[0] = attention.forward(input), () -> {
            res.path = last[0].path();
            return last[0].headsOut();
        }, attention::close, attention.device().isJava() ? attention.device().info().computeUnits() : 0));
    }

    /**
     * One ORT graph: a session with the comparison's options, opened as a slot. Each call copies x
     * into the input tensor's direct buffer, runs the session into a pre-allocated (pinned) output
     * tensor and copies the result out to a float[] (clattn's calls likewise take and return float[]).
     */
    private void openOrt(List<Slot> slots, Result res, OrtGraphs.Kind kind, OrtGraphs.Problem p, float[] x) {
        byte[] model;
        try {
            model = OrtGraphs.build(kind, p);
        } catch (RuntimeException e) {
            res.error = "could not write the model: " + e;
            return;
        }
        if (kind == OrtGraphs.Kind.MHA && p.causal()) {
            res.note = "causal: attention_bias [1,1,N,N] with -inf above the diagonal";
        } else if (kind == OrtGraphs.Kind.MHA_UNIDIRECTIONAL) {
            res.note = "causal: unidirectional=1";
        }
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            OrtSession.SessionOptions so = sessionOptions();
            resources.add(so);
            long t0 = System.nanoTime();
            OrtSession session;
            try {
                session = env.createSession(model, so);
            } catch (OrtException e) {
                res.error = "failed to load: " + oneLine(e.getMessage());
                closeAll(resources);
                return;
            }
            resources.add(0, session);
            res.setupMs = (System.nanoTime() - t0) / 1e6;
            int outLen = p.batch() * p.seq() * p.projected();
            FloatBuffer inBuf = directFloats(x.length);
            FloatBuffer outBuf = directFloats(outLen);
            float[] result = new float[outLen];
            OnnxTensor xt = OnnxTensor.createTensor(env, inBuf, new long[] {p.batch(), p.seq(), p.dModel()});
            resources.add(0, xt);
            OnnxTensor ot = OnnxTensor.createTensor(env, outBuf, new long[] {p.batch(), p.seq(), p.projected()});
            resources.add(0, ot);
            Map<String, OnnxTensor> inputs = Map.of(OrtGraphs.INPUT, xt);
            Map<String, OnnxTensor> outputs = Map.of(OrtGraphs.OUTPUT, ot);
            res.path = "ORT CPU EP";
            slots.add(new Slot(res, () -> {
                inBuf.clear();
                inBuf.put(x);
                OrtSession.Result run = session.run(inputs, outputs);
                run.close(); // the pinned output is not the result's to close
                outBuf.clear();
                outBuf.get(result);
            }, () -> result, () -> closeAll(resources), 0));
        } catch (Exception e) {
            res.error = "failed: " + oneLine(String.valueOf(e));
            closeAll(resources);
        }
    }

    /** Closes each in order; what one throws is dropped (the figures are taken by then). */
    private static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable c : resources) {
            try {
                c.close();
            } catch (Exception e) {
                // nothing to report: the session or tensor is gone either way
            }
        }
    }

    private OrtSession.SessionOptions sessionOptions() throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(options.ortThreads);
        so.setInterOpNumThreads(1);
        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        if (options.ortNoSpin) {
            so.addConfigEntry("session.intra_op.allow_spinning", "0");
        }
        return so;
    }

    private static FloatBuffer directFloats(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static float[] uniform(SplittableRandom rnd, int count, double halfWidth) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * halfWidth);
        }
        return v;
    }

    // ---- timing ----

    /**
     * The first call, the warm-up and the timed calls of one implementation on one shape (see
     * {@link Slot}). {@code allocatedMbPerCall}: Java heap allocated per timed call by every live
     * thread (the calling thread and clattn's worker threads; NaN where the JVM cannot count it), and
     * {@code gcCount}/{@code gcMs}: collections during the timed calls. A clattn call allocates
     * little more than its outputs; much more means C2 compiled a Vector API kernel with its vectors
     * boxed (VectorKernels), which runs several times slower. {@code cpuBusy}: for the Java path, the
     * share of its pool's threads' time spent on a CPU during the timed calls ({@link ThreadCpu}),
     * else NaN.
     */
    record Timing(double firstMs, int warmupCalls, double warmupMs, boolean stable, double[] timedMs,
                  double allocatedMbPerCall, long gcCount, long gcMs, double cpuBusy) {
        static long totalGcCount() {
            return ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .mapToLong(GarbageCollectorMXBean::getCollectionCount).filter(c -> c > 0).sum();
        }

        static long totalGcMillis() {
            return ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .mapToLong(GarbageCollectorMXBean::getCollectionTime).filter(c -> c > 0).sum();
        }

        double median() {
            return CompareOrt.median(timedMs);
        }

        double min() {
            return Arrays.stream(timedMs).min().orElse(Double.NaN);
        }

        double max() {
            return Arrays.stream(timedMs).max().orElse(Double.NaN);
        }
    }

    /**
     * One implementation opened on one shape: its call, what gives the output of the last call, and
     * its clean-up; and the figures its timing gathers. A call that throws ends its timing: the
     * result gets the error, and the slot is skipped in later rounds.
     */
    private static final class Slot {
        /** Untimed calls before each turn's timed ones, at least this long. */
        static final long REWARM_MS = 25;
        final Result res;
        final Warmup.Call call;
        final Supplier<float[]> output;
        final AutoCloseable closer;
        final int javaThreads;
        double firstMs;
        Warmup.Result warm;
        final List<Double> timed = new ArrayList<>();
        long bytes;
        boolean bytesKnown = true;
        long gcCount;
        long gcMs;
        long cpuNanos;
        long wallNanos;

        Slot(Result res, Warmup.Call call, Supplier<float[]> output, AutoCloseable closer,
             int javaThreads) {
            this.res = res;
            this.call = call;
            this.output = output;
            this.closer = closer;
            this.javaThreads = javaThreads;
        }

        boolean failed() {
            return res.error != null;
        }

        /**
         * One untimed first call; then the warm-up of {@link Warmup} (rounds of calls for at least
         * {@code warmupMs}, until the last rounds agree and the JIT finished no compilation during
         * them, or max(10 s, warmupMs) have passed).
         */
        void warmUp(long warmupMs) {
            try {
                long t0 = System.nanoTime();
                call.run();
                firstMs = (System.nanoTime() - t0) / 1e6;
                warm = Warmup.runThrowing(call, 1, warmupMs, Math.max(WARMUP_CAP_MS, warmupMs));
            } catch (Exception | LinkageError e) {
                res.error = "failed: " + e;
            }
        }

        /**
         * Untimed calls for {@value #REWARM_MS} ms (at least one: the threads and caches are back in
         * use after the pause), then {@code calls} timed ones, their heap, GC and CPU figures added up.
         */
        void time(int calls) {
            try {
                long rewarm = System.nanoTime();
                do {
                    call.run();
                } while (System.nanoTime() - rewarm < REWARM_MS * 1_000_000L);
                long gc0 = Timing.totalGcCount();
                long gcMs0 = Timing.totalGcMillis();
                long bytes0 = ThreadAllocations.liveThreads();
                long cpu0 = javaThreads > 0 ? ThreadCpu.nanos() : -1;
                long wall0 = System.nanoTime();
                for (int i = 0; i < calls; i++) {
                    long c0 = System.nanoTime();
                    call.run();
                    timed.add((System.nanoTime() - c0) / 1e6);
                }
                long wall = System.nanoTime() - wall0;
                long cpu = javaThreads > 0 ? ThreadCpu.nanos() : -1;
                long b = ThreadAllocations.liveThreads() - bytes0;
                bytesKnown &= bytes0 >= 0 && b >= 0;
                bytes += b;
                gcCount += Timing.totalGcCount() - gc0;
                gcMs += Timing.totalGcMillis() - gcMs0;
                if (cpu0 < 0 || cpu < 0) {
                    cpuNanos = -1;
                } else if (cpuNanos >= 0) {
                    cpuNanos += cpu - cpu0;
                }
                wallNanos += wall;
            } catch (Exception | LinkageError e) {
                res.error = "failed: " + e;
            }
        }

        /** The result's timing and output, unless a call failed. */
        void finish() {
            if (failed() || timed.isEmpty()) {
                res.timing = null;
                return;
            }
            double[] ms = timed.stream().mapToDouble(Double::doubleValue).toArray();
            res.timing = new Timing(firstMs, warm.calls(), warm.millis(), warm.settled(), ms,
                    bytesKnown ? bytes / 1e6 / ms.length : Double.NaN, gcCount, gcMs,
                    javaThreads > 0 ? ThreadCpu.busy(cpuNanos, wallNanos, javaThreads) : Double.NaN);
            res.output = output.get();
        }

        void close() {
            try {
                closer.close();
            } catch (Exception e) {
                res.error = res.error != null ? res.error : "failed to close: " + e;
            }
        }
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int k = s.length / 2;
        return s.length % 2 == 1 ? s[k] : (s[k - 1] + s[k]) / 2;
    }

    // ---- output ----

    private void printTable(List<ShapeResult> results, Map<String, String> machine) {
        out.printf(Locale.ROOT, "clattn vs %s: one forward call x -> Q/K/V projections (no biases) -> "
                + "softmax(QK^T/sqrt(dk) [+ causal mask])V -> heads_out [B,N,H*dk], no output projection.%n",
                machine.get("onnxruntime"));
        int perRound = (options.iterations + options.rounds - 1) / options.rounds;
        out.printf(Locale.ROOT, "Median of %d timed calls per implementation, after its warm-up (>= %d ms, "
                + "then until the last %d rounds of calls agree within %.0f%% and the JIT is idle, at most %d s; "
                + "a full GC and a %d ms pause before each), taken in %d rounds: in each, every implementation in "
                + "turn (a rotating order) gets a %d ms pause, untimed calls for %d ms and %d timed calls. In ms; "
                + "input and output copies included on both sides.%n%n",
                perRound * options.rounds, options.warmupMs, Warmup.WINDOW, Warmup.SPREAD * 100,
                Math.max(WARMUP_CAP_MS, options.warmupMs) / 1000, SETTLE_MS, options.rounds, SLOT_PAUSE_MS,
                Slot.REWARM_MS, perRound);
        String cl = openClDevice != null && !openClDevice.info().platform().contains("Portable Computing Language")
                ? "OpenCL" : "PoCL";
        out.println("| shape | clattn Java | clattn " + cl + " | ORT best (which graph) | Java vs ORT | " + cl
                + " vs ORT | max abs diff |");
        out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (ShapeResult r : results) {
            double ortMs = r.bestOrtMs();
            out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", r.shape.describe(),
                    cell(r.java), cell(r.opencl),
                    r.best == null ? "failed" : ms(ortMs) + " (" + r.best.label + ")",
                    ratio(ortMs, r.java.median()), ratio(ortMs, r.opencl.median()),
                    r.failures.isEmpty() ? sci(r.maxAbsDiff()) : sci(r.maxAbsDiff()) + " FAILED");
        }
        out.println();
        out.println("X vs ORT = ORT best median / X median (above 1: clattn is faster). max abs diff: the largest "
                + "|difference| of any check of the shape (every implementation against float64 on sampled rows; "
                + "clattn against the ORT graphs on every element); tolerance " + sci(options.tolerance) + "*max(1,|ref|).");
        out.println();
        out.println("Every implementation, per shape (median ms; setup = opening the layer / creating the session; "
                + "err = max abs error against float64):");
        for (ShapeResult r : results) {
            out.println("  " + r.shape.describe() + "  (float64 check on " + r.checkRows + " rows)");
            for (Result res : r.all()) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "    %-16s ", res.name));
                if (res.ok()) {
                    line.append(String.format(Locale.ROOT, "%10s  min %s  max %s  first %s  setup %s  warm-up %d calls%s",
                            ms(res.median()), ms(res.timing.min()), ms(res.timing.max()), ms(res.timing.firstMs()),
                            ms(res.setupMs), res.timing.warmupCalls(), res.timing.stable() ? "" : " (not stable)"));
                    line.append(String.format(Locale.ROOT, "  heap %s MB/call, %d GC (%d ms)",
                            Double.isNaN(res.timing.allocatedMbPerCall()) ? "n/a"
                                    : String.format(Locale.ROOT, "%.2f", res.timing.allocatedMbPerCall()),
                            res.timing.gcCount(), res.timing.gcMs()));
                    if (!Double.isNaN(res.timing.cpuBusy())) {
                        line.append(String.format(Locale.ROOT, "  CPU busy %.0f%%", 100 * res.timing.cpuBusy()));
                    }
                    if (res.vsFloat64 != null) {
                        line.append("  err ").append(sci(res.vsFloat64.maxAbs()));
                    }
                    if (res.vsOrt != null) {
                        line.append("  vs ORT ").append(sci(res.vsOrt.maxAbs()));
                    }
                    if (res.vsClattnJava != null) {
                        line.append("  vs clattn java ").append(sci(res.vsClattnJava.maxAbs()));
                    }
                    if (res.path != null && !res.path.startsWith("ORT")) {
                        line.append("  path ").append(res.path);
                    }
                } else {
                    line.append(res.error);
                }
                if (res.note != null) {
                    line.append("  [").append(res.note).append("]");
                }
                out.println(line);
            }
            for (String f : r.failures) {
                out.println("    FAILED: " + f);
            }
        }
        out.println();
        out.println("ORT graphs: Attention = " + OrtGraphs.Kind.ATTENTION.description + " and a zero bias "
                + "(unidirectional=1 when causal); MHA = " + OrtGraphs.Kind.MHA.description + " (causal: attention_bias "
                + "[1,1,N,N], -inf above the diagonal); MHA unidir = the same graph made causal by unidirectional=1 "
                + "instead (causal shapes only); ONNX ops = " + OrtGraphs.Kind.OPS.description
                + " (causal: Add of an [N,N] mask, -inf above the diagonal). ORT best = the fastest graph that agreed "
                + "with float64.");
        out.println();
        out.println("Machine:");
        for (Map.Entry<String, String> e : machine.entrySet()) {
            out.printf(Locale.ROOT, "  %-22s %s%n", e.getKey(), e.getValue());
        }
    }

    private static String cell(Result r) {
        if (r.ok()) {
            return ms(r.median());
        }
        return r.error != null && r.error.startsWith("skipped") ? "n/a" : "failed";
    }

    static String ms(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (v < 10) {
            return String.format(Locale.ROOT, "%.3f ms", v);
        }
        if (v < 100) {
            return String.format(Locale.ROOT, "%.2f ms", v);
        }
        return String.format(Locale.ROOT, "%.1f ms", v);
    }

    static String ratio(double ortMs, double clattnMs) {
        if (Double.isNaN(ortMs) || Double.isNaN(clattnMs)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f×", ortMs / clattnMs);
    }

    static String sci(double v) {
        return String.format(Locale.ROOT, "%.1e", v);
    }

    private String describe(Reference64.Diff d) {
        return String.format(Locale.ROOT, "max abs diff %.3e, %d of %d elements beyond %s*max(1,|ref|)", d.maxAbs(),
                d.beyondTolerance(), d.compared(), sci(options.tolerance));
    }

    private static String join(String a, String b) {
        return a == null ? b : a + "; " + b;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\n\\s*", " ").trim();
    }

    // ---- JSON ----

    private String json(List<ShapeResult> results, Map<String, String> machine) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < results.size(); i++) {
            ShapeResult r = results.get(i);
            Json o = new Json();
            o.put("shape", r.shape.describe());
            o.put("label", r.shape.label());
            o.put("batch", r.shape.batch());
            o.put("seq", r.shape.seq());
            o.put("d_model", r.shape.dModel());
            o.put("heads", r.shape.heads());
            o.put("head_dim", r.shape.dModel() / r.shape.heads());
            o.put("causal", r.shape.causal());
            o.put("clattn_java_ms", r.java.median());
            o.put("clattn_opencl_ms", r.opencl.median());
            o.put("ort_best_ms", r.bestOrtMs());
            o.put("ort_best_graph", r.best == null ? null : r.best.key());
            o.put("java_vs_ort", r.java.median() > 0 ? r.bestOrtMs() / r.java.median() : Double.NaN);
            o.put("opencl_vs_ort", r.opencl.median() > 0 ? r.bestOrtMs() / r.opencl.median() : Double.NaN);
            o.put("max_abs_diff", r.maxAbsDiff());
            o.put("check_rows", r.checkRows);
            o.put("tolerance", options.tolerance);
            o.put("rounds", options.rounds);
            o.put("ok", r.failures.isEmpty());
            o.putRaw("failures", Json.strings(r.failures));
            o.putRaw("clattn_java", resultJson(r.java));
            o.putRaw("clattn_opencl", resultJson(r.opencl));
            Json ort = new Json();
            for (Map.Entry<OrtGraphs.Kind, Result> e : r.ort.entrySet()) {
                ort.putRaw(e.getKey().key(), resultJson(e.getValue()));
            }
            o.putRaw("ort", ort.toString());
            Json m = new Json();
            machine.forEach(m::put);
            o.putRaw("machine", m.toString());
            sb.append(i == 0 ? "\n" : ",\n").append(o);
        }
        return sb.append("\n]").toString();
    }

    private String resultJson(Result r) {
        Json o = new Json();
        o.put("ok", r.ok());
        o.put("error", r.error);
        o.put("note", r.note);
        if (r.timing != null) {
            o.put("median_ms", r.timing.median());
            o.put("min_ms", r.timing.min());
            o.put("max_ms", r.timing.max());
            o.put("first_call_ms", r.timing.firstMs());
            o.put("iterations", r.timing.timedMs().length);
            o.put("warmup_calls", r.timing.warmupCalls());
            o.put("warmup_ms", r.timing.warmupMs());
            o.put("warmup_stable", r.timing.stable());
            o.put("heap_mb_per_call", r.timing.allocatedMbPerCall()); // NaN: null
            o.put("gc_count", r.timing.gcCount());
            o.put("gc_ms", r.timing.gcMs());
            o.put("cpu_busy", r.timing.cpuBusy()); // NaN: null
        }
        o.put("setup_ms", r.setupMs);
        o.put("path", r.path);
        if (r.vsFloat64 != null) {
            o.put("max_abs_err_vs_float64", r.vsFloat64.maxAbs());
        }
        if (r.vsOrt != null) {
            o.put("max_abs_diff_vs_ort_best", r.vsOrt.maxAbs());
        }
        if (r.vsClattnJava != null) {
            o.put("max_abs_diff_vs_clattn_java", r.vsClattnJava.maxAbs());
        }
        return o.toString();
    }

    /** A flat JSON object writer (insertion order). */
    static final class Json {
        private final StringBuilder sb = new StringBuilder();

        private void key(String k) {
            sb.append(sb.length() == 0 ? "" : ", ").append(quote(k)).append(": ");
        }

        void put(String k, String v) {
            key(k);
            sb.append(v == null ? "null" : quote(v));
        }

        void put(String k, boolean v) {
            key(k);
            sb.append(v);
        }

        void put(String k, long v) {
            key(k);
            sb.append(v);
        }

        void put(String k, double v) {
            key(k);
            sb.append(Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.6g", v));
        }

        void putRaw(String k, String json) {
            key(k);
            sb.append(json);
        }

        static String strings(List<String> values) {
            StringBuilder a = new StringBuilder("[");
            for (int i = 0; i < values.size(); i++) {
                a.append(i == 0 ? "" : ", ").append(quote(values.get(i)));
            }
            return a.append(']').toString();
        }

        static String quote(String s) {
            StringBuilder q = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"': q.append("\\\""); break;
                    case '\\': q.append("\\\\"); break;
                    case '\n': q.append("\\n"); break;
                    case '\r': q.append("\\r"); break;
                    case '\t': q.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        } else {
                            q.append(c);
                        }
                }
            }
            return q.append('"').toString();
        }

        @Override
        public String toString() {
            return "{" + sb + "}";
        }
    }

    // ---- the machine ----

    private Map<String, String> machine(String loadBefore, String loadAfter) {
        Map<String, String> m = new LinkedHashMap<>();
        String cpuinfo = readOrEmpty("/proc/cpuinfo");
        String model = "unknown";
        int logical = 0;
        TreeSet<String> avx512 = new TreeSet<>();
        for (String line : cpuinfo.split("\n")) {
            if (line.startsWith("model name") && model.equals("unknown")) {
                model = line.substring(line.indexOf(':') + 1).trim();
            } else if (line.startsWith("processor")) {
                logical++;
            } else if (line.startsWith("flags") && avx512.isEmpty()) {
                for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
                    if (f.startsWith("avx512")) {
                        avx512.add(f);
                    }
                }
            }
        }
        m.put("cpu", model);
        m.put("cores", Runtime.getRuntime().availableProcessors() + " available to the JVM"
                + (logical > 0 ? ", " + logical + " in /proc/cpuinfo" : ""));
        m.put("avx512", avx512.isEmpty() ? "no" : "yes (" + String.join(" ", avx512) + ")");
        m.put("memory", memTotal());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vm.name") + ", "
                + System.getProperty("java.vendor") + "), max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        m.put("opencl", openClDevice == null ? openClSkip
                : openClDevice.name() + " [" + openClDevice.info().platform() + "], " + openClDevice.info().version()
                        + ", driver " + openClDevice.info().driverVersion() + ", " + openClDevice.info().computeUnits() + " compute units");
        m.put("onnxruntime", "ONNX Runtime " + env.getVersion() + " (Java API, CPU execution provider)");
        m.put("threads", "clattn Java path " + CpuThreads.threads() + " (clattn.threads); ORT intra-op "
                + options.ortThreads + (options.ortThreadsDefault ? " (= available cores)" : " (--ort-threads)")
                + ", inter-op 1, sequential, ALL_OPT, spinning " + (options.ortNoSpin ? "off" : "on (default)")
                + "; PoCL: "
                + (openClDevice == null ? "-" : openClDevice.info().computeUnits() + " compute units"
                        + (System.getenv("POCL_MAX_PTHREAD_COUNT") != null
                                ? ", POCL_MAX_PTHREAD_COUNT=" + System.getenv("POCL_MAX_PTHREAD_COUNT") : "")));
        m.put("load average", "before " + loadBefore + ", after " + loadAfter + " (1, 5, 15 min)");
        m.put("seed", Long.toString(options.seed));
        return m;
    }

    private static String memTotal() {
        for (String line : readOrEmpty("/proc/meminfo").split("\n")) {
            if (line.startsWith("MemTotal:")) {
                String[] f = line.trim().split("\\s+");
                try {
                    return String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(f[1]) / 1024.0 / 1024.0);
                } catch (RuntimeException e) {
                    return line;
                }
            }
        }
        return "unknown";
    }

    private static String loadAverage() {
        String s = readOrEmpty("/proc/loadavg").trim();
        if (s.isEmpty()) {
            return "unknown";
        }
        String[] f = s.split("\\s+");
        return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : s;
    }

    private static String readOrEmpty(String file) {
        try {
            return Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    // ---- options ----

    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static final class Options {
        static final String HELP = String.join("\n",
                "Usage: scripts/compare-ort [options]",
                "",
                "clattn (Java path and OpenCL) against ONNX Runtime on the same attention problems: one forward",
                "call x -> Q/K/V projections (no biases) -> softmax(QK^T/sqrt(dk) [+ causal mask]) V -> heads_out",
                "[B,N,H*dk], no output projection; medians in ms, outputs checked against each other and float64.",
                "clattn runs through its public API on \"cpu\" (the Java path) and \"opencl\" (the best OpenCL",
                "device: PoCL on a machine without a GPU; the column is named after it). ONNX",
                "Runtime (CPU execution provider) runs three graphs written by this program, weights as",
                "initializers: Attention (com.microsoft.Attention, packed QKV weights), MHA (3 MatMul +",
                "com.microsoft.MultiHeadAttention) and ONNX ops (standard operators only); the fastest graph",
                "that agrees with float64 is the table's ORT figure. Each timed call includes copying the input",
                "in and the output out (float[] to float[]) on both sides.",
                "",
                "Without shape options: the 8 default shapes (B,N,D,H): (1,128,512,8) (1,512,512,8) (1,1024,512,8)",
                "(1,2048,512,8) (1,4096,512,8) (1,2048,512,8,causal) (8,128,768,12) BERT-base",
                "(1,1024,768,12,causal) GPT-2.",
                "",
                "Shape options (any of them replaces the default shapes; the others default to B 1,",
                "N 128,512,1024,2048,4096, D 512, H 8):",
                "  --batch B            batch size",
                "  --seq N[,N...]       sequence lengths",
                "  --d-model D          model width (D = H * dk)",
                "  --heads H            heads (must divide D)",
                "  --causal             causal mask",
                "",
                "Other options:",
                "  --iterations I       timed calls per implementation and shape (default 20), taken in rounds",
                "  --rounds R           rounds of timed calls (default 10): in each, every implementation in",
                "                       turn (a rotating order) gets a 50 ms pause, 25 ms of untimed calls and",
                "                       ceil(I/R) timed calls, so all are timed across the same stretch of time",
                "  --warmup-ms MS       least warm-up per implementation and shape (default 1000); warm-up goes on",
                "                       until the medians of the last 5 rounds of >= 25 ms agree within 5%",
                "                       and the JIT finished no compilation during them, at most max(10 s, MS)",
                "  --json               one JSON array on stdout, an object per shape with every figure",
                "  --ort-threads T      ONNX Runtime intra-op threads (default: the available cores)",
                "  --mha-causal MODE    how the MultiHeadAttention graph is made causal: both (default: timed",
                "                       both ways), bias (an additive attention_bias with -inf above the",
                "                       diagonal) or unidirectional (the op's unidirectional=1)",
                "  --ort-no-spin        ONNX Runtime threads do not spin while waiting for work",
                "                       (session.intra_op.allow_spinning=0; can help on a loaded machine)",
                "  --check-rows R       query rows checked against float64 per shape (default 16)",
                "  --tolerance T        a difference beyond T*max(1,|ref|) fails the check (default 1e-4)",
                "  --no-opencl          skip clattn on OpenCL",
                "  --seed S             seed of the random weights and inputs (default 42)",
                "  -h, --help           this help",
                "",
                "Exit status: 0 all checks passed, 1 a check failed (outputs disagree beyond",
                "T*max(1,|ref|), or an implementation failed), 2 bad options.",
                "");

        boolean help;
        boolean json;
        boolean noOpenCl;
        boolean ortNoSpin;
        int iterations = 20;
        int rounds = 10;
        long warmupMs = 1000;
        long seed = 42;
        int checkRows = 16;
        double tolerance = TOLERANCE;
        int ortThreads = Runtime.getRuntime().availableProcessors();
        boolean ortThreadsDefault = true;
        /** null: both. */
        OrtGraphs.MhaCausal mhaCausal;
        List<Shape> shapes = DEFAULT_SHAPES;

        static Options parse(String[] args) throws UsageException {
            Options o = new Options();
            Integer batch = null;
            Integer dModel = null;
            Integer heads = null;
            int[] seqs = null;
            boolean causal = false;
            boolean custom = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    value = a.substring(eq + 1);
                    a = a.substring(0, eq);
                }
                switch (a) {
                    case "-h":
                    case "--help":
                        o.help = true;
                        break;
                    case "--json":
                        o.json = true;
                        break;
                    case "--no-opencl":
                        o.noOpenCl = true;
                        break;
                    case "--ort-no-spin":
                        o.ortNoSpin = true;
                        break;
                    case "--causal":
                        causal = true;
                        custom = true;
                        break;
                    case "--batch":
                        batch = positive(a, value != null ? value : next(args, ++i, a));
                        custom = true;
                        break;
                    case "--seq":
                        seqs = positives(a, value != null ? value : next(args, ++i, a));
                        custom = true;
                        break;
                    case "--d-model":
                        dModel = positive(a, value != null ? value : next(args, ++i, a));
                        custom = true;
                        break;
                    case "--heads":
                        heads = positive(a, value != null ? value : next(args, ++i, a));
                        custom = true;
                        break;
                    case "--iterations":
                        o.iterations = positive(a, value != null ? value : next(args, ++i, a));
                        break;
                    case "--rounds":
                        o.rounds = positive(a, value != null ? value : next(args, ++i, a));
                        break;
                    case "--warmup-ms":
                        o.warmupMs = nonNegative(a, value != null ? value : next(args, ++i, a));
                        break;
                    case "--check-rows":
                        o.checkRows = positive(a, value != null ? value : next(args, ++i, a));
                        break;
                    case "--ort-threads":
                        o.ortThreads = positive(a, value != null ? value : next(args, ++i, a));
                        o.ortThreadsDefault = false;
                        break;
                    case "--tolerance":
                        String t = value != null ? value : next(args, ++i, a);
                        try {
                            o.tolerance = Double.parseDouble(t);
                        } catch (NumberFormatException e) {
                            o.tolerance = Double.NaN;
                        }
                        if (!(o.tolerance > 0) || Double.isInfinite(o.tolerance)) {
                            throw new UsageException("--tolerance: expected a positive number, got '" + t + "'");
                        }
                        break;
                    case "--seed":
                        String s = value != null ? value : next(args, ++i, a);
                        try {
                            o.seed = Long.parseLong(s);
                        } catch (NumberFormatException e) {
                            throw new UsageException("--seed: expected an integer, got '" + s + "'");
                        }
                        break;
                    case "--mha-causal":
                        String m = value != null ? value : next(args, ++i, a);
                        if (m.equals("both")) {
                            o.mhaCausal = null;
                        } else if (m.equals("bias")) {
                            o.mhaCausal = OrtGraphs.MhaCausal.BIAS;
                        } else if (m.equals("unidirectional")) {
                            o.mhaCausal = OrtGraphs.MhaCausal.UNIDIRECTIONAL;
                        } else {
                            throw new UsageException("--mha-causal: expected both, bias or unidirectional, got '" + m + "'");
                        }
                        break;
                    default:
                        throw new UsageException("unknown option '" + args[i] + "'");
                }
            }
            if (custom) {
                int b = batch == null ? 1 : batch;
                int d = dModel == null ? 512 : dModel;
                int h = heads == null ? 8 : heads;
                if (d % h != 0) {
                    throw new UsageException("--d-model " + d + " is not a multiple of --heads " + h);
                }
                int[] ns = seqs == null ? new int[] {128, 512, 1024, 2048, 4096} : seqs;
                List<Shape> shapes = new ArrayList<>();
                for (int n : ns) {
                    if ((long) b * n * d > Integer.MAX_VALUE / 4 || (long) d * 3 * d > Integer.MAX_VALUE / 4) {
                        throw new UsageException("shape B=" + b + " N=" + n + " D=" + d + " is too large for one Java array");
                    }
                    shapes.add(new Shape(b, n, d, h, causal, ""));
                }
                o.shapes = List.copyOf(shapes);
            }
            return o;
        }

        /** Whether graph {@code kind} is timed on a shape. */
        boolean times(OrtGraphs.Kind kind, boolean causal) {
            switch (kind) {
                case MHA:
                    return !causal || mhaCausal != OrtGraphs.MhaCausal.UNIDIRECTIONAL;
                case MHA_UNIDIRECTIONAL:
                    return causal && mhaCausal != OrtGraphs.MhaCausal.BIAS;
                default:
                    return true;
            }
        }

        private static String next(String[] args, int i, String option) throws UsageException {
            if (i >= args.length) {
                throw new UsageException(option + ": a value is missing");
            }
            return args[i];
        }

        private static int positive(String option, String v) throws UsageException {
            try {
                int n = Integer.parseInt(v.trim());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException(option + ": expected a positive integer, got '" + v + "'");
        }

        private static long nonNegative(String option, String v) throws UsageException {
            try {
                long n = Long.parseLong(v.trim());
                if (n >= 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException(option + ": expected a non-negative integer, got '" + v + "'");
        }

        private static int[] positives(String option, String v) throws UsageException {
            String[] parts = v.split(",");
            int[] out = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                out[i] = positive(option, parts[i]);
            }
            return out;
        }
    }
}
