package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything clattn knows about one tunable kernel, in one place (CLBlast's settings units): its
 * parameters (default, allowed values, whether the compiler sees them), the constraints between
 * them, how they are fitted to a device and a head width, the candidates the tuner tries, and the
 * launch geometry. The kernel file's {@code #ifndef NAME / #define NAME default} lines must give
 * the same defaults; a test reads the files and compares.
 */
abstract class KernelSpec {
    /**
     * One parameter.
     *
     * @param name     the {@code -D} name in the kernel file, or a host-side setting
     * @param value    the default
     * @param allowed  the values allowed; empty means any value in 1..1024
     * @param compiled true when the kernel compiler sees it as {@code -DNAME=value} (and it is part
     *                 of the program's cache key); false for host-only launch settings
     * @param meaning  one line for listings and the tuning file
     */
    record Param(String name, int value, List<Integer> allowed, boolean compiled, String meaning) {
        static Param compiled(String name, int value, String meaning) {
            return new Param(name, value, List.of(), true, meaning);
        }

        static Param compiled(String name, int value, List<Integer> allowed, String meaning) {
            return new Param(name, value, allowed, true, meaning);
        }

        static Param hostOnly(String name, int value, String meaning) {
            return new Param(name, value, List.of(), false, meaning);
        }
    }

    /** A launch: global and local sizes ({@code local} null lets the driver choose). */
    record Launch(long[] global, long[] local) {
    }

    /** The kernel's name in its file ({@code gemm} or {@code flash}): the role it plays in the fused path. */
    abstract String kernel();

    /** The kernel file, under {@code kernels/}. */
    abstract String file();

    abstract List<Param> params();

    /** Checks the constraints between this kernel's values; throws {@link IllegalArgumentException} naming the parameter. */
    void validate(Map<String, Integer> values) {
    }

    /** The values adjusted to what {@code device} can launch and to head width {@code headDim}; the map may be changed in place. */
    void fit(Map<String, Integer> values, Device device, int headDim) {
    }

    /**
     * The defaults cut to a device's budget of {@code accumulators} float16 register accumulators
     * per tile; values named in {@code chosen} (the tuner's candidates, a tuning file) are left as
     * they are. The map may be changed in place.
     */
    void withinBudget(Map<String, Integer> values, int accumulators, Set<String> chosen) {
    }

    /** The candidates the tuner tries: each a change to the current values. */
    abstract List<Map<String, Integer>> candidates();

    @Override
    public String toString() {
        return file();
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * One candidate per row of {@code values}, parameter {@code names.get(i)} taking {@code row[i]}
     * (every row as long as {@code names}).
     */
    static List<Map<String, Integer>> candidates(List<String> names, int[]... values) {
        List<Map<String, Integer>> list = new ArrayList<>();
        for (int[] row : values) {
            if (row.length != names.size()) {
                throw new IllegalArgumentException("candidate " + Arrays.toString(row) + ": expected a value for each of "
                        + names);
            }
            Map<String, Integer> candidate = new LinkedHashMap<>();
            for (int i = 0; i < row.length; i++) {
                candidate.put(names.get(i), row[i]);
            }
            list.add(Map.copyOf(candidate));
        }
        return list;
    }

    /** The projection GEMM. */
    abstract static class Gemm extends KernelSpec {
        @Override
        final String kernel() {
            return "gemm";
        }

        /** Weight columns are zero-padded to a multiple of this, so whole column blocks can be read. */
        abstract int columnAlign(KernelParams p);

        /**
         * The width of the column panels the layer stores its weights in for this GEMM (each panel
         * {@code [inner, width]} and contiguous; {@code weight_at} in common.cl), or 0 for row-major.
         */
        int weightPanel() {
            return 0;
        }

        /** The launch of {@code C [rows, cols]}. */
        abstract Launch launch(KernelParams p, long rows, long cols);
    }

    /**
     * The projection GEMM of a call with few rows (a decode step): memory-bound on W, so it has a
     * kernel of its own, {@code gemm_narrow}, in the GEMM's file.
     */
    abstract static class Gemv extends KernelSpec {
        @Override
        final String kernel() {
            return "gemm_narrow";
        }

        /** Calls of at most this many rows run {@code gemm_narrow}. */
        abstract int narrowRows(KernelParams p);

        /** The launch of {@code C [rows, cols]}. */
        abstract Launch launch(KernelParams p, long rows, long cols);
    }

    /** The split-key attention of one query per sequence (a decode step). */
    abstract static class Decode extends KernelSpec {
        @Override
        final String kernel() {
            return "decode";
        }

        /**
         * How many splits each sequence's keys are cut into: enough (batch·Hkv·head blocks·splits)
         * work-items or work-groups to fill {@code computeUnits} with this spec's target per unit,
         * no split shorter than its minimum of keys, one at least.
         */
        int splits(KernelParams p, long maxKeys, long groups, int computeUnits) {
            long wanted = ceilDiv((long) Math.max(1, computeUnits) * p.get(perUnitParam()), Math.max(1, groups));
            long most = Math.max(1, maxKeys / p.get("DEC_MIN_KEYS"));
            return (int) Math.max(1, Math.min(Math.min(wanted, most), 1024));
        }

        /** The host-only parameter naming the launch units wanted per compute unit. */
        abstract String perUnitParam();

        /** Query heads of a group taken by one launch unit (all of them on the CPU). */
        int headBlock(KernelParams p, Device device, int group, int headDim) {
            return group;
        }

        /** The launch of {@code splits} splits over {@code batchKvHeads} (sequence, K/V head) pairs. */
        abstract Launch launch(KernelParams p, long splits, long batchKvHeads, long headBlocks);
    }

    /** The fused attention kernel. */
    abstract static class Flash extends KernelSpec {
        @Override
        final String kernel() {
            return "flash";
        }

        /** The work-item geometry's extra argument (row blocks per work-item), 1 where unused. */
        int rowBlocks(KernelParams p, long n, long batchHeads, int computeUnits) {
            return 1;
        }

        /** The launch over {@code n} queries of {@code batchHeads} (batch, head) pairs. */
        abstract Launch launch(KernelParams p, long n, long batchHeads, int rowBlocks);
    }
}
