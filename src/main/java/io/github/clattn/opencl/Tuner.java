package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.core.CacheDir;
import io.github.clattn.reference.CheckedProblem;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Verdict;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.jocl.CL;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the fastest parameters ({@link KernelParams}) of a variant's kernels on one device and
 * stores them in {@code <cache>/tuning/<device>_<driver>.properties} ({@link CacheDir}); every layer
 * opened later on that device and driver uses them. Without a file the library uses each
 * {@link KernelSpec}'s defaults.
 *
 * <p>One search per {@link KernelSpec} of the variant, in order (the GEMM first: the projection
 * {@code 1024 × 512 · 512 × 1536}; then the flash kernel, {@code B=1, H=8, N=M=1024, dk=64}), over
 * the spec's candidates, the best of each search kept for the next. Every candidate is first
 * <b>validated</b>: a whole layer with its parameters computes a problem with every mask, sizes
 * that are not multiples of any tile and the workload's head width, compared with the float64
 * reference; a candidate that fails is dropped with a WARN and can never be stored (llm.c's
 * "validate every kernel before timing it"). The survivors are built first, then run in
 * {@value #ROUNDS} interleaved rounds after a warm-up round, timed from profiling events; the median
 * decides. Candidates run as given; only the defaults are cut to the device's register budget
 * ({@link KernelSpec#withinBudget}), so the file holds the values that were timed and a layer runs
 * them as stored ({@link #timedAsStored}: a file of {@code format} {@value #FORMAT} written under the
 * device's budget; an older file's values are fitted like defaults).
 *
 * <p>Thread-safe (tuning runs hold a lock; loading a stored file does not).
 */
final class Tuner {
    private static final Logger LOG = LoggerFactory.getLogger(Tuner.class);
    private static final int ROUNDS = 5;
    private static final Object LOCK = new Object();
    /** The tuning file's {@code format}: its values are the ones timed, run as they are. */
    static final String FORMAT = "2";

    /** One candidate: which kernel, the parameters, the median time and its rate, or why it was dropped. */
    record Trial(String kernel, KernelParams params, double millis, double gflops, String dropped) {
        @Override
        public String toString() {
            if (dropped != null) {
                return String.format(Locale.ROOT, "%-5s %-40s dropped: %s", kernel, params, dropped);
            }
            return String.format(Locale.ROOT, "%-5s %-40s %9.3f ms %8.1f GFLOP/s", kernel, params, millis, gflops);
        }

        boolean timed() {
            return dropped == null;
        }
    }

    /** The outcome of a tuning run: the parameters chosen, the file they went to, every trial. */
    record Result(Device device, KernelParams best, Path file, List<Trial> trials) {
    }

    /** The sizes one tuning run measures (tests use tiny ones). */
    record Workload(int tokens, int dModel, int heads, int headDim) {
        static final Workload DEFAULT = new Workload(1024, 512, 8, 64);

        /** The side of the square W a {@link KernelSpec.Gemv} is timed on: large enough not to fit in cache. */
        int gemvSize() {
            return Math.min(4096, 8 * dModel);
        }

        double flops(KernelSpec spec) {
            if (spec instanceof KernelSpec.Gemv) {
                return 2.0 * gemvSize() * gemvSize();
            }
            if (spec instanceof KernelSpec.Gemm) {
                return 2.0 * tokens * dModel * 3.0 * heads * headDim;
            }
            if (spec instanceof KernelSpec.Decode) {
                return 4.0 * heads * (double) tokens * headDim; // one query per head over every key
            }
            return 4.0 * heads * (double) tokens * tokens * headDim;
        }
    }

    private Tuner() {
    }

    /** Tunes {@code variant} on {@code device} with every spec's own candidates and stores the result. */
    static Result tune(Device device, KernelVariant variant, Consumer<String> progress) {
        List<List<Map<String, Integer>>> spaces = new ArrayList<>();
        variant.specs().forEach(s -> spaces.add(s.candidates()));
        return tune(device, variant, Workload.DEFAULT, spaces, progress);
    }

    /** The tuning file of {@code device} (it may not exist). */
    static Path file(Device device) {
        return CacheDir.path().resolve("tuning").resolve(CacheDir.deviceKey(device) + ".properties");
    }

    /**
     * The parameters stored for {@code device}, or empty when there is no file, it was written
     * for another device or driver, or it does not parse (logged at DEBUG).
     */
    static Optional<KernelParams> stored(Device device) {
        Path f = file(device);
        try {
            Optional<Properties> read = CacheDir.readProperties(f);
            if (read.isEmpty()) {
                return Optional.empty();
            }
            Properties p = read.get();
            if (!device.name().equals(p.getProperty("device"))
                    || !device.info().driverVersion().equals(p.getProperty("driver"))) {
                LOG.debug("Ignoring tuning file {}: written for another device or driver", f);
                return Optional.empty();
            }
            KernelVariant variant = KernelVariant.valueOf(p.getProperty("variant", "").trim().toUpperCase(Locale.ROOT));
            Map<String, String> raw = new HashMap<>();
            p.stringPropertyNames().forEach(k -> raw.put(k, p.getProperty(k)));
            return Optional.of(KernelParams.of(variant, raw, timedAsStored(p, CpuKernelSpecs.accumulatorsOf(device))));
        } catch (IOException | IllegalArgumentException e) {
            LOG.debug("Ignoring unreadable tuning file {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    /**
     * Whether a tuning file's values are the ones its run timed, to be run as stored: a file of
     * format {@value #FORMAT} or later written under the same register budget. An older file may
     * hold a default tile that the budget cut when it was timed, and a file written under another
     * budget holds defaults cut to that one: their values are fitted like defaults.
     */
    static boolean timedAsStored(Properties file, int accumulators) {
        try {
            return Integer.parseInt(file.getProperty("format", "").trim()) >= Integer.parseInt(FORMAT)
                    && Integer.parseInt(file.getProperty("accumulators", "").trim()) == accumulators;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** What a layer uses: the stored parameters when they are for {@code variant}, else the defaults. */
    static KernelParams paramsFor(Device device, KernelVariant variant) {
        return stored(device).filter(p -> p.variant() == variant).orElseGet(() -> KernelParams.defaults(variant));
    }

    /** Tunes with the given search spaces, one per spec of the variant, in spec order. */
    static Result tune(Device device, KernelVariant variant, Workload work, List<List<Map<String, Integer>>> spaces,
                       Consumer<String> progress) {
        return tune(device, variant, work, spaces, progress, CpuKernelSpecs.accumulatorsOf(device));
    }

    /** {@link #tune}, with the defaults cut to a budget of {@code accumulators} (the device's, but for tests). */
    static Result tune(Device device, KernelVariant variant, Workload work, List<List<Map<String, Integer>>> spaces,
                       Consumer<String> progress, int accumulators) {
        synchronized (LOCK) {
            List<Trial> trials = new ArrayList<>();
            progress.accept("Tuning " + variant.label() + " kernels on " + device);
            // the defaults as they run on this device, so the file holds what was timed
            KernelParams best = KernelParams.defaults(variant).withinBudget(accumulators);
            Validation validation = new Validation(device, work, accumulators);
            try (Bench bench = new Bench(device, work)) {
                List<KernelSpec> specs = variant.specs();
                for (int s = 0; s < specs.size(); s++) {
                    best = search(bench, validation, specs.get(s), best, spaces.get(s), trials, progress);
                }
            }
            if (!validation.passes(best)) {
                throw new ClattnException("tuning " + device + ": no candidate of the " + variant.label()
                        + " kernels computes correctly on this device (see the WARN lines); nothing was stored. "
                        + "Run 'clattn verify' and report the driver.");
            }
            Path f = file(device);
            store(device, best, accumulators, trials, f);
            progress.accept("Best: " + best + " -> " + f);
            return new Result(device, best, f, List.copyOf(trials));
        }
    }

    /**
     * Validates every candidate, builds the ones that pass, then times them in interleaved rounds
     * (one run of each per round, after a warm-up round), so a change in machine load hits all
     * candidates alike; the median over the rounds decides. The start passes through only if it
     * validates too.
     */
    private static KernelParams search(Bench bench, Validation validation, KernelSpec spec, KernelParams start,
                                       List<Map<String, Integer>> space, List<Trial> trials, Consumer<String> progress) {
        String kernel = spec.kernel();
        List<FusedKernels> built = new ArrayList<>();
        List<KernelParams> requested = new ArrayList<>();
        // candidates that fit to one kernel on this device (its launch limits, the head width) are timed once
        Map<KernelParams, KernelParams> kernels = new HashMap<>();
        try {
            for (Map<String, Integer> candidate : space) {
                KernelParams p = start;
                try {
                    p = start.with(candidate);
                    KernelParams same = kernels.putIfAbsent(p.fittedTo(bench.device, bench.work.headDim()), p);
                    if (same != null) {
                        Trial t = new Trial(kernel, p, Double.NaN, Double.NaN,
                                "the same kernel as " + same + " on this device");
                        trials.add(t);
                        progress.accept(t.toString());
                        continue;
                    }
                    String failure = validation.failure(p);
                    if (failure != null) {
                        LOG.warn("Tuning {}: candidate {} computes wrong results on {}, dropped: {}", kernel, p,
                                bench.device, failure);
                        Trial t = new Trial(kernel, p, Double.NaN, Double.NaN, "wrong results: " + firstLine(failure));
                        trials.add(t);
                        progress.accept(t.toString());
                        continue;
                    }
                    built.add(bench.build(p));
                    requested.add(p);
                } catch (ClattnException | IllegalArgumentException e) {
                    Trial t = new Trial(kernel, p, Double.NaN, Double.NaN, e.getMessage());
                    trials.add(t);
                    progress.accept(t.toString());
                }
            }
            double[][] millis = new double[built.size()][ROUNDS];
            for (int round = -1; round < ROUNDS; round++) {
                for (int c = 0; c < built.size(); c++) {
                    double ms = bench.run(spec, built.get(c));
                    if (round >= 0) {
                        millis[c][round] = ms;
                    }
                }
            }
            KernelParams best = validation.passes(start) ? start : null;
            double bestMillis = Double.POSITIVE_INFINITY;
            for (int c = 0; c < built.size(); c++) {
                Arrays.sort(millis[c]);
                double median = millis[c][ROUNDS / 2];
                // The parameters as requested: a layer fits them to its own head width again.
                Trial t = new Trial(kernel, requested.get(c), median, bench.work.flops(spec) / (median * 1e6), null);
                trials.add(t);
                progress.accept(t.toString());
                if (median < bestMillis) {
                    bestMillis = median;
                    best = requested.get(c);
                }
            }
            return best != null ? best : start;
        } finally {
            built.forEach(FusedKernels::release);
        }
    }

    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }

    private static void store(Device device, KernelParams best, int accumulators, List<Trial> trials, Path f) {
        Properties p = new Properties();
        p.setProperty("device", device.name());
        p.setProperty("driver", device.info().driverVersion());
        p.setProperty("variant", best.variant().label());
        p.setProperty("format", FORMAT);
        p.setProperty("accumulators", Integer.toString(accumulators));
        best.values().forEach((k, v) -> p.setProperty(k, Integer.toString(v)));
        try {
            CacheDir.writeProperties(f, "clattn kernel tuning by Tuner", trials.stream().map(Trial::toString).toList(), p);
        } catch (IOException e) {
            throw new ClattnException("cannot write the tuning file " + f + ": " + e.getMessage(), e);
        }
    }

    /**
     * The check every candidate passes before it is timed: a layer with the candidate's parameters
     * computes {@link Problem#tunerValidation}'s problems (the flash kernel with every mask and bias,
     * and the split-key kernel in a decode step), each matching the float64 reference within the
     * conformance tolerance.
     */
    private static final class Validation {
        private final Device device;
        private final List<CheckedProblem> problems;
        private final Map<KernelParams, String> outcomes = new HashMap<>();
        private final int accumulators;

        Validation(Device device, Workload work, int accumulators) {
            this.device = device;
            this.accumulators = accumulators;
            // the float64 references once per run, not once per candidate
            this.problems = CheckedProblem.of(Problem.tunerValidation(work.headDim()));
        }

        /** Null when {@code params} computes correctly, else the failed comparisons. */
        String failure(KernelParams params) {
            // keyed by what runs: equal values with different chosen names may fit differently
            return outcomes.computeIfAbsent(params.withinBudget(accumulators), p -> {
                StringBuilder failures = new StringBuilder();
                for (CheckedProblem checked : problems) {
                    Problem problem = checked.problem();
                    try (OpenClLayer layer = new OpenClLayer(problem.weights(), problem.options(), device, p.variant(),
                            p)) {
                        Verdict v = checked.check(layer.forward(problem.input()));
                        if (!v.passed()) {
                            failures.append(v.report()).append('\n');
                        }
                    }
                }
                return failures.toString().trim();
            }).transform(s -> s.isEmpty() ? null : s);
        }

        boolean passes(KernelParams params) {
            return failure(params) == null;
        }
    }

    /** Device buffers with random inputs for one workload; times one kernel of one parameter set. */
    private static final class Bench implements AutoCloseable {
        private final Device device;
        private final Workload work;
        private final ClContext context;
        private final FusedLayout layout;
        private final List<cl_mem> buffers = new ArrayList<>();
        private cl_command_queue queue;
        private FusedKernels.Weights w;
        private cl_mem x;
        private cl_mem q;
        private cl_mem kt;
        private cl_mem v;
        private cl_mem headsOut;
        private cl_mem none;
        private cl_mem seq;
        private cl_mem decodeSeq;
        private cl_mem partial;
        private FusedKernels.Weights gemvW;
        private cl_mem gemvX;
        private cl_mem gemvOut;

        Bench(Device device, Workload work) {
            this.device = device;
            this.work = work;
            int hd = work.heads() * work.headDim();
            // Columns padded generously so that every candidate's column block stays inside.
            int ldw = (int) FusedLayout.roundUp(3L * hd, 64) + 64;
            this.layout = new FusedLayout(work.dModel(), work.heads(), work.heads(), work.headDim(), ldw, ldw);
            this.context = ClContext.acquire(device);
            try {
                queue = Cl.createQueue(context.context, context.deviceId, true);
                SplittableRandom rng = new SplittableRandom(7);
                x = buffer((long) work.tokens() * work.dModel(), rng, 1.0);
                w = new FusedKernels.Weights(buffer((long) work.dModel() * ldw, rng, 1.0 / Math.sqrt(work.dModel())),
                        buffer(ldw, rng, 0.1), ldw, 0);
                q = buffer(layout.qBytes(1, work.tokens()) / Float.BYTES, rng, 1.0);
                kt = buffer(layout.ktBytes(1, work.tokens()) / Float.BYTES, rng, 1.0);
                v = buffer(layout.vBytes(1, work.tokens()) / Float.BYTES, rng, 1.0);
                headsOut = buffer(layout.qBytes(1, work.tokens()) / Float.BYTES, null, 0);
                none = buffer(1, null, 0);
                int n = work.tokens();
                seq = intBuffer(Sequences.forward(1, n, n, null));
                decodeSeq = intBuffer(Sequences.cache(new int[] {n - 1}, new int[] {n}, new int[] {1}, new int[1]));
                // room for the most splits any candidate may ask for
                partial = buffer((long) work.heads() * 1024 * (2 + layout.paddedHeadDim()), null, 0);
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private cl_mem buffer(long floats, SplittableRandom rng, double scale) {
            float[] host = rng != null ? Tensors.uniform(rng, Math.toIntExact(floats), scale)
                    : new float[Math.toIntExact(Math.max(1, floats))];
            cl_mem m = Cl.createBuffer(context.context, CL.CL_MEM_READ_WRITE, floats * Sizeof.cl_float, host);
            buffers.add(m);
            return m;
        }

        private cl_mem intBuffer(int[] host) {
            cl_mem m = Cl.createBuffer(context.context, host);
            buffers.add(m);
            return m;
        }

        FusedKernels build(KernelParams params) {
            return new FusedKernels(context, params.variant(), params, layout);
        }

        /** One run of {@code spec}'s kernel: its execution time from the profiling event, in ms. */
        double run(KernelSpec spec, FusedKernels k) {
            int n = work.tokens();
            long keyStride = layout.keyStride(n);
            float scale = new AttentionOptions(false, Double.NaN).effectiveScale(work.headDim());
            cl_event[] events;
            if (spec instanceof KernelSpec.Gemm) {
                events = new cl_event[] {k.gemm(queue, new FusedKernels.GemmCall(x, n, work.dModel(),
                        w.withPanel(k.weightPanel()), 0, 3 * layout.qWidth(), new FusedKernels.Attention(q, kt, v, 0,
                        n, n, keyStride, work.heads(), work.heads(), seq, false)))};
            } else if (spec instanceof KernelSpec.Gemv) {
                // one row through a W too large for the caches, as a decode step's projection
                int size = work.gemvSize();
                if (gemvW == null) {
                    gemvW = new FusedKernels.Weights(buffer((long) size * size, new SplittableRandom(9),
                            1.0 / Math.sqrt(size)), buffer(size, null, 0), size, 0);
                    gemvX = buffer(size, new SplittableRandom(10), 1.0);
                    gemvOut = buffer(size, null, 0);
                }
                events = new cl_event[] {k.gemm(queue, new FusedKernels.GemmCall(gemvX, 1, size,
                        gemvW.withPanel(k.weightPanel()), 0, size, new FusedKernels.Plain(gemvOut)))};
            } else if (spec instanceof KernelSpec.Decode) {
                // one query per head of a grouped layer (Hkv = H/4 where possible) over every key
                int kvHeads = work.heads() % 4 == 0 ? work.heads() / 4 : work.heads();
                FusedKernels.FlashCall call = new FusedKernels.FlashCall(q, kt, v, none, false, 1, decodeSeq, headsOut,
                        1, 1, keyStride, work.heads(), kvHeads, scale, true, ScoreMods.none(none), null);
                events = k.decode(queue, call, n, k.decodeSplits(call, n), partial);
            } else {
                events = new cl_event[] {k.flash(queue, new FusedKernels.FlashCall(q, kt, v, none, false, n, seq,
                        headsOut, 1, n, keyStride, work.heads(), work.heads(), scale, false, ScoreMods.none(none),
                        null))};
            }
            try {
                Cl.finish(queue);
                double ms = 0;
                for (cl_event e : events) {
                    ms += Cl.eventMillis(e);
                }
                return ms;
            } finally {
                for (cl_event e : events) {
                    Cl.release(e);
                }
            }
        }

        @Override
        public void close() {
            for (int i = buffers.size() - 1; i >= 0; i--) {
                Cl.release(buffers.get(i));
            }
            buffers.clear();
            if (queue != null) {
                Cl.release(queue);
            }
            context.release();
        }
    }
}
