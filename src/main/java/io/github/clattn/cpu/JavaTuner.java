package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import io.github.clattn.ClattnException;
import io.github.clattn.core.CacheDir;
import io.github.clattn.core.Warmup;
import io.github.clattn.reference.CheckedProblem;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Verdict;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the fastest {@link JavaParams} of the Java path's vector kernels on this CPU and stores
 * them in {@code <cache>/tuning/java_<cpu>.properties} ({@link CacheDir}); every Java layer opened
 * later in a JVM on the same CPU model, vector width, thread count and Java feature release uses
 * them (see {@link #stored}). Without a file a layer uses {@link JavaParams#defaults}.
 *
 * <p>One search per parameter, in {@link JavaParams#ALLOWED}'s order, over its allowed values with
 * the best of the searches before (the register blocks first, then the blocks of keys and
 * queries). Every candidate is first <b>validated</b>: a layer with it computes
 * {@link Problem#tunerValidation}'s problems within the conformance tolerance of the float64
 * reference, or it is dropped with a WARN and never stored. The survivors are then warmed up until
 * the JIT has compiled them and timed in {@value #ROUNDS} interleaved rounds of whole forward
 * calls ({@code B=1, N=M=1024, D=512, H=8}; the fastest of {@value #CALLS_PER_ROUND} calls per
 * round); the median over the rounds decides, and a candidate replaces the value chosen so far only
 * when it is more than 5 % faster (less is within the run-to-run noise of a shared machine).
 *
 * <p>Thread-safe (tuning runs hold a lock; reading a stored file does not).
 */
public final class JavaTuner {
    private static final Logger LOG = LoggerFactory.getLogger(JavaTuner.class);
    private static final int ROUNDS = 7;
    /** How much faster than the current choice a candidate must be to replace it: below it is noise. */
    private static final double MARGIN = 0.05;
    private static final int CALLS_PER_ROUND = 3;
    /** Warm-up per candidate: at least this long and {@value #WARMUP_CALLS} calls, then until settled. */
    private static final long WARMUP_MILLIS = 400;
    private static final int WARMUP_CALLS = 10;
    /** How much longer than its least time a warm-up may go on. */
    private static final long WARMUP_EXTRA_MILLIS = 1500;
    private static final Object LOCK = new Object();

    /** One candidate: the parameters, the median time of a call and its rate, or why it was dropped. */
    record Trial(JavaParams params, double millis, double gflops, String dropped) {
        @Override
        public String toString() {
            if (dropped != null) {
                return String.format(Locale.ROOT, "java  %-52s dropped: %s", params, dropped);
            }
            return String.format(Locale.ROOT, "java  %-52s %9.3f ms %8.1f GFLOP/s", params, millis, gflops);
        }
    }

    /** The outcome of a tuning run: the parameters chosen, the file they went to, every trial. */
    record Result(JavaParams best, Path file, List<Trial> trials) {
    }

    /** The sizes one tuning run times, and the warm-up before its first search (tests use tiny ones). */
    record Workload(int tokens, int dModel, int heads, long firstWarmupMillis) {
        static final Workload DEFAULT = new Workload(1024, 512, 8, 2000);

        int headDim() {
            return dModel / heads;
        }

        /** Projections and attention of one call. */
        double flops() {
            return 2.0 * tokens * dModel * 3.0 * dModel + 4.0 * heads * (double) tokens * tokens * headDim();
        }
    }

    private JavaTuner() {
    }

    /** Tunes the vector kernels of this JVM with every parameter's allowed values and stores the result. */
    public static Result tune(Consumer<String> progress) {
        Kernels vector = JavaKernels.named("vector");
        return tune(Workload.DEFAULT, JavaParams.ALLOWED, vector::withParams, progress);
    }

    /**
     * Tunes with the given values per parameter (tests give few), building each candidate's
     * kernels with {@code kernelsFor} (a test seam for a kernel that computes wrong results).
     */
    static Result tune(Workload work, Map<String, List<Integer>> space, Function<JavaParams, Kernels> kernelsFor,
                       Consumer<String> progress) {
        synchronized (LOCK) {
            Kernels start = kernelsFor.apply(JavaParams.defaults(JavaKernels.named("vector").lanes()));
            progress.accept("Tuning the Java path's vector kernels (" + start.lanes() + " float lanes, "
                    + CpuThreads.threads() + " threads) on " + cpuName());
            List<Trial> trials = new ArrayList<>();
            Map<JavaParams, String> validated = new HashMap<>();
            // the float64 references once per run, not once per candidate
            List<CheckedProblem> problems = CheckedProblem.of(Problem.tunerValidation(work.headDim()));
            Function<JavaParams, String> failure = p -> validated.computeIfAbsent(p,
                    q -> validate(kernelsFor.apply(q), problems));
            JavaParams best = start.params();
            Timing timing = new Timing(work);
            // the JIT compiles the kernels in stages; the first compiled forms can be much slower
            timing.warmUp(timing.layer(start), work.firstWarmupMillis());
            for (Map.Entry<String, List<Integer>> parameter : space.entrySet()) {
                best = search(timing, best, parameter.getKey(), parameter.getValue(), kernelsFor, failure, trials,
                        progress);
            }
            if (!failure.apply(best).isEmpty()) {
                throw new ClattnException("tuning the Java path: no candidate computes correctly (see the WARN lines); "
                        + "nothing was stored. Run 'clattn verify --device cpu' and report the JVM and CPU.");
            }
            Path f = file(start.lanes());
            store(best, start.lanes(), trials, f);
            progress.accept("Best: " + best + " -> " + f);
            return new Result(best, f, List.copyOf(trials));
        }
    }

    /** The best value of one parameter, the others as in {@code start}; {@code start} if nothing beats it. */
    private static JavaParams search(Timing timing, JavaParams start, String name, List<Integer> values,
                                     Function<JavaParams, Kernels> kernelsFor, Function<JavaParams, String> failure,
                                     List<Trial> trials, Consumer<String> progress) {
        List<JavaParams> candidates = new ArrayList<>();
        for (int value : values) {
            JavaParams p = start.with(name, value);
            String wrong = failure.apply(p);
            if (!wrong.isEmpty()) {
                LOG.warn("Tuning the Java path: candidate {} computes wrong results, dropped: {}", p, wrong);
                Trial t = new Trial(p, Double.NaN, Double.NaN, "wrong results: " + firstLine(wrong));
                trials.add(t);
                progress.accept(t.toString());
            } else if (!candidates.contains(p)) {
                candidates.add(p);
            }
        }
        List<JavaAttention> layers = new ArrayList<>();
        for (JavaParams p : candidates) {
            layers.add(timing.layer(kernelsFor.apply(p)));
        }
        for (JavaAttention layer : layers) {
            timing.warmUp(layer, WARMUP_MILLIS);
        }
        double[][] millis = new double[layers.size()][ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            for (int c = 0; c < layers.size(); c++) {
                millis[c][round] = timing.time(layers.get(c));
            }
        }
        double[] medians = new double[layers.size()];
        for (int c = 0; c < layers.size(); c++) {
            Arrays.sort(millis[c]);
            medians[c] = millis[c][ROUNDS / 2];
            Trial t = new Trial(candidates.get(c), medians[c], timing.work.flops() / (medians[c] * 1e6), null);
            trials.add(t);
            progress.accept(t.toString());
        }
        // the start stays unless another candidate is faster by more than the margin
        int at = candidates.indexOf(start);
        JavaParams best = at >= 0 ? start : null;
        double bar = at >= 0 ? medians[at] * (1 - MARGIN) : Double.POSITIVE_INFINITY;
        for (int c = 0; c < layers.size(); c++) {
            if (medians[c] < bar) {
                bar = medians[c];
                best = candidates.get(c);
            }
        }
        return best != null ? best : start;
    }

    /** Empty when {@code kernels} compute every validation problem correctly, else the failed comparisons. */
    private static String validate(Kernels kernels, List<CheckedProblem> problems) {
        StringBuilder failures = new StringBuilder();
        for (CheckedProblem checked : problems) {
            Problem problem = checked.problem();
            try {
                Verdict v = checked.check(new JavaAttention(problem.weights(), problem.options(), kernels)
                        .forward(problem.input()));
                if (!v.passed()) {
                    failures.append(v.report()).append('\n');
                }
            } catch (RuntimeException e) {
                failures.append(problem.label()).append(": ").append(e).append('\n');
            }
        }
        return failures.toString().trim();
    }

    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }

    /** A layer and an input of the workload; times whole forward calls. */
    private static final class Timing {
        final Workload work;
        private final AttentionWeights weights;
        private final AttentionInput input;

        Timing(Workload work) {
            this.work = work;
            SplittableRandom rng = new SplittableRandom(7);
            int d = work.dModel();
            double scale = Math.sqrt(3.0 / d);
            this.weights = AttentionWeights.builder(d, work.heads(), work.headDim())
                    .projections(Tensors.uniform(rng, d * d, scale), Tensors.uniform(rng, d * d, scale),
                            Tensors.uniform(rng, d * d, scale))
                    .build();
            this.input = AttentionInput.builder(Tensors.uniform(rng, work.tokens() * d, 1.0), 1, work.tokens()).build();
        }

        JavaAttention layer(Kernels kernels) {
            return new JavaAttention(weights, AttentionOptions.DEFAULT, kernels);
        }

        /**
         * Calls until the timings settle and the JIT is idle ({@link Warmup}): at least {@code millis},
         * at most {@code millis} plus {@value #WARMUP_EXTRA_MILLIS} ms (a loaded machine never settles).
         */
        void warmUp(JavaAttention layer, long millis) {
            Warmup.run(() -> layer.forward(input), WARMUP_CALLS, millis, millis + WARMUP_EXTRA_MILLIS);
        }

        /** The least wall time of {@value #CALLS_PER_ROUND} calls, in ms: other load only adds time. */
        double time(JavaAttention layer) {
            double[] ms = new double[CALLS_PER_ROUND];
            for (int i = 0; i < ms.length; i++) {
                long t0 = System.nanoTime();
                layer.forward(input);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return Arrays.stream(ms).min().orElseThrow();
        }
    }

    /**
     * The CPU's model name: {@code model name} of {@code /proc/cpuinfo} on Linux, else the
     * {@code PROCESSOR_IDENTIFIER} environment variable (Windows), else the architecture.
     */
    static String cpuName() {
        return CpuName.NAME;
    }

    /** Read once per process. */
    private static final class CpuName {
        static final String NAME = read();
    }

    private static String read() {
        try {
            Path info = Path.of("/proc/cpuinfo");
            if (Files.isReadable(info)) {
                for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                    if (line.startsWith("model name")) {
                        return line.substring(line.indexOf(':') + 1).trim();
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read /proc/cpuinfo: {}", e.toString());
        }
        String id = System.getenv("PROCESSOR_IDENTIFIER");
        return id != null && !id.isBlank() ? id.trim() : System.getProperty("os.arch", "unknown");
    }

    /**
     * What a stored file must match to be used: the CPU model, the float lanes of the vector
     * kernels, the threads and the Java feature release (the JIT that compiles the kernels).
     */
    static Map<String, String> machine(int lanes) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cpu", cpuName());
        m.put("lanes", Integer.toString(lanes));
        m.put("threads", Integer.toString(CpuThreads.threads()));
        m.put("java", Integer.toString(Runtime.version().feature()));
        return m;
    }

    /** The tuning file of this machine for vector kernels of {@code lanes} floats (it may not exist). */
    static Path file(int lanes) {
        Map<String, String> m = machine(lanes);
        String key = "java_" + m.get("cpu") + "_" + lanes + "lanes_" + m.get("threads") + "threads_java" + m.get("java");
        return CacheDir.path().resolve("tuning").resolve(key.replaceAll("[^A-Za-z0-9._+-]+", "_") + ".properties");
    }

    /**
     * The parameters stored for this machine, or empty when there is no file, it was written for
     * another CPU, vector width, thread count or Java release, or it does not parse (logged at DEBUG).
     */
    static Optional<JavaParams> stored(int lanes) {
        Path f = file(lanes);
        try {
            Optional<Properties> read = CacheDir.readProperties(f);
            if (read.isEmpty()) {
                return Optional.empty();
            }
            Properties p = read.get();
            for (Map.Entry<String, String> e : machine(lanes).entrySet()) {
                if (!e.getValue().equals(p.getProperty(e.getKey()))) {
                    LOG.debug("Ignoring tuning file {}: written for {}={}, this JVM has {}", f, e.getKey(),
                            p.getProperty(e.getKey()), e.getValue());
                    return Optional.empty();
                }
            }
            Map<String, Integer> values = new HashMap<>();
            for (String name : JavaParams.ALLOWED.keySet()) {
                String v = p.getProperty(name);
                if (v == null) {
                    throw new IllegalArgumentException(name + ": missing");
                }
                values.put(name, Integer.valueOf(v.trim()));
            }
            return Optional.of(JavaParams.of(values));
        } catch (IOException | IllegalArgumentException e) {
            LOG.debug("Ignoring unreadable tuning file {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    private static void store(JavaParams best, int lanes, List<Trial> trials, Path f) {
        Properties p = new Properties();
        machine(lanes).forEach(p::setProperty);
        best.values().forEach((k, v) -> p.setProperty(k, Integer.toString(v)));
        try {
            CacheDir.writeProperties(f, "clattn Java path tuning by JavaTuner", trials.stream().map(Trial::toString).toList(),
                    p);
        } catch (IOException e) {
            throw new ClattnException("cannot write the tuning file " + f + ": " + e.getMessage(), e);
        }
    }
}
