package io.github.clattn.opencl;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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
 * Finds the fastest tile parameters ({@link KernelParams}) of the fused kernels on one device
 * and stores them in {@code <cache>/tuning/<device>_<driver>.properties} ({@link CacheDir});
 * every layer opened later on that device and driver uses them. Without a file the library
 * uses {@link KernelParams#defaults}.
 *
 * <p>The search is short: the projection GEMM ({@code 1024 × 512 · 512 × 1536}, the Q/K/V
 * projection of a 512-wide layer) over a handful of register or tile blockings, then the flash
 * kernel ({@code B=1, H=8, N=M=1024, dk=64}) over a handful of row or tile blockings, the best
 * GEMM parameters kept. All candidates of a kernel are built first, then run in
 * {@value #ROUNDS} interleaved rounds after a warm-up round, timed from profiling events; the
 * median decides. On a 2-core CPU with PoCL it takes well under a minute.
 *
 * <p>Entry point for the command line: {@link #tune(Device, Consumer)}. Thread-safe (tuning
 * runs hold a lock; loading a stored file does not).
 */
public final class Tuner {
    private static final Logger LOG = LoggerFactory.getLogger(Tuner.class);
    private static final int ROUNDS = 5;
    private static final Object LOCK = new Object();

    /** One timed candidate: which kernel, the parameters, the median time and its rate. */
    public record Trial(String kernel, KernelParams params, double millis, double gflops) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-5s %-40s %9.3f ms %8.1f GFLOP/s", kernel, params, millis, gflops);
        }
    }

    /** The outcome of a tuning run: the parameters chosen, the file they went to, every trial. */
    public record Result(Device device, KernelParams best, Path file, List<Trial> trials) {
    }

    /** The sizes one tuning run measures (package-private so tests can use tiny ones). */
    record Workload(int tokens, int dModel, int heads, int headDim) {
        static final Workload DEFAULT = new Workload(1024, 512, 8, 64);

        double gemmFlops() {
            return 2.0 * tokens * dModel * 3.0 * heads * headDim;
        }

        double flashFlops() {
            return 4.0 * heads * (double) tokens * tokens * headDim;
        }
    }

    private Tuner() {
    }

    /** Tunes the kernel variant that suits {@code device} with the default search and stores the result. */
    public static Result tune(Device device, Consumer<String> progress) {
        return tune(device, KernelVariant.chosen(device), progress);
    }

    /** Tunes {@code variant} on {@code device} with the default search and stores the result. */
    public static Result tune(Device device, KernelVariant variant, Consumer<String> progress) {
        return tune(device, variant, Workload.DEFAULT, candidates(variant, "gemm"), candidates(variant, "flash"),
                progress);
    }

    /** The tuning file of {@code device} (it may not exist). */
    public static Path file(Device device) {
        return CacheDir.path().resolve("tuning").resolve(CacheDir.deviceKey(device) + ".properties");
    }

    /**
     * The parameters stored for {@code device}, or empty when there is no file, it was written
     * for another device or driver, or it does not parse (logged at DEBUG).
     */
    public static Optional<KernelParams> stored(Device device) {
        Path f = file(device);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
            if (!device.name().equals(p.getProperty("device")) || !device.driverVersion().equals(p.getProperty("driver"))) {
                LOG.debug("Ignoring tuning file {}: written for another device or driver", f);
                return Optional.empty();
            }
            KernelVariant variant = KernelVariant.valueOf(p.getProperty("variant", "").trim().toUpperCase(Locale.ROOT));
            Map<String, String> raw = new HashMap<>();
            p.stringPropertyNames().forEach(k -> raw.put(k, p.getProperty(k)));
            return Optional.of(KernelParams.of(variant, raw));
        } catch (IOException | IllegalArgumentException e) {
            LOG.debug("Ignoring unreadable tuning file {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    /** What a layer uses: the stored parameters when they are for {@code variant}, else the defaults. */
    static KernelParams paramsFor(Device device, KernelVariant variant) {
        return stored(device).filter(p -> p.variant() == variant).orElseGet(() -> KernelParams.defaults(variant));
    }

    /** The default search space of one kernel ({@code gemm} or {@code flash}) of a variant. */
    static List<Map<String, Integer>> candidates(KernelVariant variant, String kernel) {
        List<Map<String, Integer>> list = new ArrayList<>();
        if (variant == KernelVariant.CPU && kernel.equals("gemm")) {
            int[][] rowsVectors = {{4, 2}, {6, 2}, {8, 2}, {12, 2}, {8, 1}, {8, 3}};
            for (int[] c : rowsVectors) {
                list.add(Map.of("GEMM_RM", c[0], "GEMM_CV", c[1]));
            }
        } else if (variant == KernelVariant.CPU) {
            int[][] rowsKeysBlocksChunk = {{4, 2, 8, 64}, {6, 2, 8, 64}, {8, 2, 4, 64}, {8, 1, 4, 64}, {6, 2, 4, 128},
                {4, 4, 8, 64}};
            for (int[] c : rowsKeysBlocksChunk) {
                list.add(Map.of("FLASH_QR", c[0], "FLASH_KV", c[1], "FLASH_RB", c[2], "FLASH_KC", c[3]));
            }
        } else if (kernel.equals("gemm")) {
            for (int ts : new int[] {16, 32}) {
                for (int wpt : new int[] {2, 4, 8}) {
                    list.add(Map.of("GEMM_TS", ts, "GEMM_WPT", wpt));
                }
            }
        } else {
            for (int bq : new int[] {32, 64, 128}) {
                for (int bk : new int[] {16, 32, 64}) {
                    list.add(Map.of("FLASH_BQ", bq, "FLASH_BK", bk));
                }
            }
        }
        return list;
    }

    static Result tune(Device device, KernelVariant variant, Workload work, List<Map<String, Integer>> gemmSpace,
                       List<Map<String, Integer>> flashSpace, Consumer<String> progress) {
        synchronized (LOCK) {
            List<Trial> trials = new ArrayList<>();
            progress.accept("Tuning " + variant.label() + " kernels on " + device);
            KernelParams best = KernelParams.defaults(variant);
            try (Bench bench = new Bench(device, work)) {
                best = search(bench, "gemm", best, gemmSpace, trials, progress);
                best = search(bench, "flash", best, flashSpace, trials, progress);
            }
            Path f = file(device);
            store(device, best, trials, f);
            progress.accept("Best: " + best + " -> " + f);
            return new Result(device, best, f, List.copyOf(trials));
        }
    }

    /**
     * Builds every candidate, then times them in interleaved rounds (one run of each per round,
     * after a warm-up round), so a change in machine load hits all candidates alike; the median
     * over the rounds decides.
     */
    private static KernelParams search(Bench bench, String kernel, KernelParams start, List<Map<String, Integer>> space,
                                       List<Trial> trials, Consumer<String> progress) {
        List<FusedKernels> built = new ArrayList<>();
        List<KernelParams> requested = new ArrayList<>();
        try {
            for (Map<String, Integer> candidate : space) {
                KernelParams p = start;
                try {
                    p = start.with(candidate);
                    built.add(bench.build(p));
                    requested.add(p);
                } catch (ClattnException | IllegalArgumentException e) {
                    progress.accept(String.format(Locale.ROOT, "%-5s %-40s skipped: %s", kernel, p, e.getMessage()));
                }
            }
            double[][] millis = new double[built.size()][ROUNDS];
            for (int round = -1; round < ROUNDS; round++) {
                for (int c = 0; c < built.size(); c++) {
                    double ms = bench.run(kernel, built.get(c));
                    if (round >= 0) {
                        millis[c][round] = ms;
                    }
                }
            }
            KernelParams best = start;
            double bestMillis = Double.POSITIVE_INFINITY;
            for (int c = 0; c < built.size(); c++) {
                Arrays.sort(millis[c]);
                double median = millis[c][ROUNDS / 2];
                // The parameters as requested: a layer fits them to its own head width again.
                Trial t = new Trial(kernel, requested.get(c), median, bench.flops(kernel) / (median * 1e6));
                trials.add(t);
                progress.accept(t.toString());
                if (median < bestMillis) {
                    bestMillis = median;
                    best = requested.get(c);
                }
            }
            return best;
        } finally {
            built.forEach(FusedKernels::release);
        }
    }

    private static void store(Device device, KernelParams best, List<Trial> trials, Path f) {
        StringBuilder text = new StringBuilder();
        text.append("# clattn kernel tuning, written ").append(Instant.now()).append(" by Tuner\n");
        for (Trial t : trials) {
            text.append("# ").append(t).append('\n');
        }
        Properties p = new Properties();
        p.setProperty("device", device.name());
        p.setProperty("driver", device.driverVersion());
        p.setProperty("variant", best.variant().label());
        best.values().forEach((k, v) -> p.setProperty(k, Integer.toString(v)));
        StringWriter w = new StringWriter();
        try {
            p.store(w, null);
            text.append(w);
            CacheDir.writeAtomically(f, text.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ClattnException("cannot write the tuning file " + f + ": " + e.getMessage(), e);
        }
    }

    /** Device buffers with random inputs for one workload; times one kernel of one parameter set. */
    private static final class Bench implements AutoCloseable {
        private final Device device;
        private final Workload work;
        private final ClContext context;
        private final List<cl_mem> buffers = new ArrayList<>();
        private cl_command_queue queue;
        private cl_mem x;
        private cl_mem w;
        private cl_mem bias;
        private cl_mem q;
        private cl_mem kt;
        private cl_mem v;
        private cl_mem headsOut;
        private cl_mem none;
        private int ldw;

        Bench(Device device, Workload work) {
            this.device = device;
            this.work = work;
            this.context = ClContext.acquire(device);
            try {
                queue = Cl.createQueue(context.context, context.deviceId, true);
                int hd = work.heads() * work.headDim();
                // Columns padded generously so that every candidate's column block stays inside.
                int ldw = (int) FusedKernels.roundUp(3L * hd, 64) + 64;
                SplittableRandom rng = new SplittableRandom(7);
                x = buffer((long) work.tokens() * work.dModel(), rng, 1.0);
                w = buffer((long) work.dModel() * ldw, rng, 1.0 / Math.sqrt(work.dModel()));
                bias = buffer(ldw, rng, 0.1);
                long mp = FusedKernels.roundUp(work.tokens(), FusedKernels.KEY_ALIGN);
                long dkp = FusedKernels.roundUp(work.headDim(), 16);
                long perHead = (long) work.heads() * work.tokens();
                q = buffer(perHead * work.headDim(), rng, 1.0);
                kt = buffer((long) work.heads() * work.headDim() * mp, rng, 1.0);
                v = buffer(perHead * dkp, rng, 1.0);
                headsOut = buffer(perHead * work.headDim(), null, 0);
                none = buffer(1, null, 0);
                this.ldw = ldw;
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private cl_mem buffer(long floats, SplittableRandom rng, double scale) {
            float[] host = null;
            if (rng != null) {
                host = new float[Math.toIntExact(floats)];
                for (int i = 0; i < host.length; i++) {
                    host[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
                }
            } else {
                host = new float[Math.toIntExact(Math.max(1, floats))];
            }
            cl_mem m = Cl.createBuffer(context.context, CL.CL_MEM_READ_WRITE, floats * Sizeof.cl_float, host);
            buffers.add(m);
            return m;
        }

        FusedKernels build(KernelParams params) {
            return new FusedKernels(context, params.variant(), params, work.headDim());
        }

        double flops(String kernel) {
            return kernel.equals("gemm") ? work.gemmFlops() : work.flashFlops();
        }

        /** One run of {@code kernel}: its execution time from the profiling event, in ms. */
        double run(String kernel, FusedKernels k) {
            cl_event e;
            if (kernel.equals("gemm")) {
                int hd = work.heads() * work.headDim();
                e = k.gemm(queue, x, w, bias, 0, ldw, q, kt, v, work.tokens(), work.dModel(), 3 * hd,
                        FusedKernels.QKV, 0, work.tokens(), work.tokens(), work.tokens(), work.heads());
            } else {
                e = k.flash(queue, q, kt, v, none, none, headsOut, 1, work.tokens(), work.tokens(), work.heads(),
                        (float) (1 / Math.sqrt(work.headDim())), false, false, false);
            }
            try {
                Cl.finish(queue);
                return Cl.eventMillis(e);
            } finally {
                Cl.release(e);
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
