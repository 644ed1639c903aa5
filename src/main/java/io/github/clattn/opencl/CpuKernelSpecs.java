package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The CPU-style kernels ({@code gemm_cpu.cl}, {@code flash_cpu.cl}): register blocks, no local memory. */
final class CpuKernelSpecs {
    private CpuKernelSpecs() {
    }

    /**
     * The most float16 accumulators a register tile may hold on a device whose preferred float
     * vector is {@code width} wide: 16 from 16 lanes up (a float16 is one of 32 registers: AVX-512),
     * 6 at 8 (two of 16 registers each: AVX2), 4 at 2 to 7; no limit below 16 where the device
     * gives no vector hint (0 or 1, as Oclgrind reports).
     */
    static int accumulatorsFor(int width) {
        return width >= 16 || width <= 1 ? 16 : width >= 8 ? 6 : 4;
    }

    /** {@link #accumulatorsFor} of {@code device}'s preferred float vector width. */
    static int accumulatorsOf(Device device) {
        return accumulatorsFor(OpenClRuntime.preferredFloatWidth(device));
    }

    /**
     * A tile of {@code rows} × {@code vectors} float16 accumulators cut to {@code budget} where the
     * budget is below 16 (a float16 takes more than one register): fewer vectors first, then fewer
     * rows ({8, 2} → {6, 1} at 6; {1, 16} → {1, 6}). With 32 registers (a budget of 16) the tile
     * stays as asked: 24 accumulators still leave room there, and the tuner times such tiles.
     * Returns {rows, vectors}.
     */
    static int[] tileWithin(int rows, int vectors, int budget) {
        if (budget >= 16 || rows * vectors <= budget) {
            return new int[] {rows, vectors};
        }
        int v = Math.max(1, Math.min(vectors, budget / rows));
        return new int[] {Math.min(rows, budget / v), v};
    }

    /** Puts {@code rowsParam} × {@code vectorsParam} within {@code budget}, unless either was chosen. */
    private static void fitTile(Map<String, Integer> values, String rowsParam, String vectorsParam, int budget,
                                Set<String> chosen) {
        if (chosen.contains(rowsParam) || chosen.contains(vectorsParam)) {
            return;
        }
        int[] tile = tileWithin(values.get(rowsParam), values.get(vectorsParam), budget);
        values.put(rowsParam, tile[0]);
        values.put(vectorsParam, tile[1]);
    }

    /** {@code gemm_cpu.cl}: a work-item owns GEMM_RM rows × 16·GEMM_CV columns of C. */
    static final class Gemm extends KernelSpec.Gemm {
        @Override
        String file() {
            return "gemm_cpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("GEMM_RM", 8, "rows of C per work-item"),
                    Param.compiled("GEMM_CV", 2, "float16 column vectors per work-item; by default GEMM_RM·GEMM_CV is "
                            + "cut to 6 where the device's preferred float vector is 8 wide (AVX2), 4 at 2-7"));
        }

        @Override
        int columnAlign(KernelParams p) {
            return 16 * p.get("GEMM_CV");
        }

        /**
         * Panels of one float16 column: a work-item's 16·CV columns are CV contiguous streams. Row-major,
         * a decode step's {@code gemm_narrow} read a 1 KiB run per row of W, each in another page, at
         * half the bandwidth the Java path's packed panels get (Llama-3-8B layer, 2-core EPYC: Q/K/V
         * projection 4.2-5.1 ms row-major, 2.3-3.5 ms in panels; the GEMM of a forward call unchanged).
         */
        @Override
        int weightPanel() {
            return FusedLayout.VECTOR;
        }

        @Override
        List<Map<String, Integer>> candidates() {
            // 4×1 and 6×1 (4 and 6 float16 accumulators) for CPUs whose float16 takes two registers (AVX2)
            return candidates(List.of("GEMM_RM", "GEMM_CV"),
                    new int[][] {{4, 2}, {6, 2}, {8, 2}, {12, 2}, {8, 1}, {8, 3}, {4, 1}, {6, 1}});
        }

        /**
         * Within the device's accumulator budget ({@link #tileWithin}): the default 8×2 becomes 6×1
         * where a float16 takes two of 16 registers (AVX2), so the tile does not spill; a tile the
         * tuner chose stays. The layer pads the weights to the fitted {@link #columnAlign}
         * (OpenClLayer.layout).
         */
        @Override
        void withinBudget(Map<String, Integer> v, int accumulators, Set<String> chosen) {
            fitTile(v, "GEMM_RM", "GEMM_CV", accumulators, chosen);
        }

        /** Rows vary fastest, so consecutive work-items reuse one panel of W from cache. */
        @Override
        Launch launch(KernelParams p, long rows, long cols) {
            return new Launch(new long[] {ceilDiv(rows, p.get("GEMM_RM")), ceilDiv(cols, 16L * p.get("GEMM_CV"))},
                    new long[] {1, 1});
        }

    }

    /**
     * {@code gemm_narrow} in {@code gemm_cpu.cl}: a work-item owns GEMV_RM rows × 16·GEMV_CV columns,
     * GEMV_CV contiguous streams of W's panels. Before the panels (W row-major) the default was 1×16,
     * the widest runs per row; in panels 16 streams per work-item were too many (the tuner: 4096² in
     * 2.76 ms at 1×16, 2.07 at 1×4; a Llama-3-8B decode step as fast or up to 3.3 ms faster at 1×4
     * in three alternating pairs), and 1×4 gives a step 4 times the work-items to share among the cores.
     */
    static final class Gemv extends KernelSpec.Gemv {
        @Override
        String file() {
            return "gemm_cpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("GEMV_RM", 1, "rows of C per work-item of gemm_narrow"),
                    Param.compiled("GEMV_CV", 4, "float16 column vectors per work-item of gemm_narrow"),
                    Param.hostOnly("GEMV_ROWS", 4, "calls of at most this many rows run gemm_narrow"));
        }

        @Override
        List<Map<String, Integer>> candidates() {
            return candidates(List.of("GEMV_RM", "GEMV_CV"),
                    new int[][] {{1, 16}, {1, 8}, {2, 8}, {1, 4}, {2, 4}, {4, 4}});
        }

        /** Within the device's accumulator budget, as {@link Gemm#withinBudget} (1×4 fits every budget). */
        @Override
        void withinBudget(Map<String, Integer> v, int accumulators, Set<String> chosen) {
            fitTile(v, "GEMV_RM", "GEMV_CV", accumulators, chosen);
        }

        @Override
        int narrowRows(KernelParams p) {
            return p.get("GEMV_ROWS");
        }

        @Override
        Launch launch(KernelParams p, long rows, long cols) {
            return new Launch(new long[] {ceilDiv(rows, p.get("GEMV_RM")), ceilDiv(cols, 16L * p.get("GEMV_CV"))},
                    new long[] {1, 1});
        }
    }

    /**
     * {@code flash_cpu.cl}: a work-item owns up to FLASH_RB groups of FLASH_QR query rows and
     * streams their keys in chunks of FLASH_KC; each group takes a chunk in three register-blocked
     * phases (scores 16·FLASH_KV keys at a time, softmax, values) with its state in private memory.
     */
    static final class Flash extends KernelSpec.Flash {
        /**
         * Most float16 vectors of running output per work-item (FLASH_RB·FLASH_QR·DKP/16): 16 KB,
         * and as much again for the work-item's queries.
         */
        static final int MAX_STATE_VECTORS = 256;
        /** Most scores of one group and chunk (FLASH_QR·FLASH_KC floats, private memory): 32 KB. */
        static final int MAX_SCORES = 8192;

        @Override
        String file() {
            return "flash_cpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("FLASH_QR", 8, "query rows per group, which share each chunk's scores"),
                    Param.compiled("FLASH_KV", 2, List.of(1, 2, 4), "float16 key vectors per score tile"),
                    Param.compiled("FLASH_RB", 4, "most groups per work-item, fewer for wide heads"),
                    Param.compiled("FLASH_KC", 256, "keys per chunk shared by the groups"),
                    Param.compiled("FLASH_ACC", 16, List.of(4, 6, 8, 16), "float16 accumulators per register tile; "
                            + "by default at most 6 where the device's preferred float vector is 8 wide (AVX2), 4 at 2-7"),
                    Param.hostOnly("FLASH_WI_PER_CU", 64, "fewest work-items per compute unit before a launch "
                            + "gives each work-item fewer than FLASH_RB groups"));
        }

        @Override
        void validate(Map<String, Integer> v) {
            int kv = v.get("FLASH_KV");
            if (v.get("FLASH_KC") % (16 * kv) != 0) {
                throw new IllegalArgumentException("FLASH_KC: expected a multiple of 16·FLASH_KV = " + 16 * kv + ", got "
                        + v.get("FLASH_KC"));
            }
            if (v.get("FLASH_QR") * v.get("FLASH_KC") > MAX_SCORES) {
                throw new IllegalArgumentException("FLASH_QR, FLASH_KC: expected FLASH_QR·FLASH_KC <= " + MAX_SCORES
                        + " (a group's scores of one chunk, in private memory), got " + v.get("FLASH_QR") + "·"
                        + v.get("FLASH_KC"));
            }
        }

        /**
         * Wide heads get fewer groups per work-item, so that a work-item's running output and
         * queries (private memory) stay within {@value #MAX_STATE_VECTORS} float16 vectors each,
         * or one group's where a single group holds more.
         */
        @Override
        void fit(Map<String, Integer> v, Device device, int headDim) {
            int vectorsPerGroup = v.get("FLASH_QR") * ((headDim + 15) / 16);
            v.put("FLASH_RB", Math.max(1, Math.min(v.get("FLASH_RB"), MAX_STATE_VECTORS / vectorsPerGroup)));
        }

        /**
         * The default tile's accumulators within about three quarters of the vector registers
         * ({@link #accumulatorsFor}); a FLASH_ACC the tuner chose stays (on one emulated AVX2 core the
         * spills of 16 accumulators cost less than the budget's smaller tile).
         */
        @Override
        void withinBudget(Map<String, Integer> v, int accumulators, Set<String> chosen) {
            if (!chosen.contains("FLASH_ACC")) {
                v.put("FLASH_ACC", Math.min(v.get("FLASH_ACC"), accumulators));
            }
        }

        @Override
        List<Map<String, Integer>> candidates() {
            return candidates(List.of("FLASH_QR", "FLASH_KV", "FLASH_RB", "FLASH_KC", "FLASH_ACC"),
                    new int[][] {{8, 2, 4, 256, 16}, {8, 2, 2, 256, 16}, {8, 2, 8, 256, 16}, {8, 2, 4, 512, 16},
                        {16, 2, 2, 256, 16}, {4, 4, 8, 128, 16}, {8, 2, 4, 256, 8}, {8, 1, 4, 256, 6},
                        {8, 2, 4, 256, 4}});
        }

        /**
         * Up to FLASH_RB (more rows share each key chunk while it is in cache), fewer when that
         * would leave under FLASH_WI_PER_CU work-items per compute unit (short sequences would
         * then keep only some cores busy).
         */
        @Override
        int rowBlocks(KernelParams p, long n, long batchHeads, int computeUnits) {
            long items = n * batchHeads / p.get("FLASH_QR");
            long perUnit = (long) p.get("FLASH_WI_PER_CU") * Math.max(1, computeUnits);
            return (int) Math.max(1, Math.min(p.get("FLASH_RB"), items / perUnit));
        }

        @Override
        Launch launch(KernelParams p, long n, long batchHeads, int rowBlocks) {
            long rowsPerItem = (long) p.get("FLASH_QR") * rowBlocks;
            return new Launch(new long[] {ceilDiv(n, rowsPerItem), batchHeads}, new long[] {1, 1});
        }
    }

    /** {@code decode_cpu.cl}: a work-item per (split, sequence, K/V head), DEC_QR heads of the group per block. */
    static final class Decode extends KernelSpec.Decode {
        @Override
        String file() {
            return "decode_cpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("DEC_QR", 4, "query heads of a group per register block"),
                    Param.compiled("DEC_KV", 2, List.of(1, 2, 4), "float16 key vectors per step"),
                    Param.hostOnly("DEC_WI_PER_CU", 4, "work-items wanted per compute unit when choosing the splits"),
                    Param.hostOnly("DEC_MIN_KEYS", 256, "fewest keys per split"));
        }

        @Override
        String perUnitParam() {
            return "DEC_WI_PER_CU";
        }

        @Override
        List<Map<String, Integer>> candidates() {
            return candidates(List.of("DEC_QR", "DEC_KV", "DEC_WI_PER_CU"),
                    new int[][] {{4, 2, 4}, {4, 1, 4}, {2, 2, 4}, {4, 4, 4}, {4, 2, 8}, {8, 1, 4}});
        }

        @Override
        Launch launch(KernelParams p, long splits, long batchKvHeads, long headBlocks) {
            return new Launch(new long[] {splits, batchKvHeads}, new long[] {1, 1});
        }
    }
}
