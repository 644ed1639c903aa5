package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The GPU-style kernels ({@code gemm_gpu.cl}, {@code flash_gpu.cl}): work-groups tiling through local memory. */
final class GpuKernelSpecs {
    private GpuKernelSpecs() {
    }

    /** {@code gemm_gpu.cl}: a work-group computes a GEMM_TS × GEMM_TS block, GEMM_WPT outputs per work-item. */
    static final class Gemm extends KernelSpec.Gemm {
        @Override
        String file() {
            return "gemm_gpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("GEMM_TS", 16, "tile edge of a work-group"),
                    Param.compiled("GEMM_WPT", 4, "outputs per work-item; divides GEMM_TS"));
        }

        @Override
        void validate(Map<String, Integer> v) {
            if (v.get("GEMM_TS") % v.get("GEMM_WPT") != 0) {
                throw new IllegalArgumentException("GEMM_WPT: expected a divisor of GEMM_TS=" + v.get("GEMM_TS") + ", got "
                        + v.get("GEMM_WPT"));
            }
        }

        /** Work-groups no larger than the device allows. */
        @Override
        void fit(Map<String, Integer> v, Device device, int headDim) {
            long maxGroup = Math.max(1, device.info().maxWorkGroupSize());
            while ((long) v.get("GEMM_TS") * (v.get("GEMM_TS") / v.get("GEMM_WPT")) > maxGroup && v.get("GEMM_TS") > 1) {
                v.put("GEMM_TS", v.get("GEMM_TS") / 2);
                v.put("GEMM_WPT", Math.max(1, Math.min(v.get("GEMM_WPT"), v.get("GEMM_TS"))));
            }
            while (v.get("GEMM_TS") % v.get("GEMM_WPT") != 0) {
                v.put("GEMM_WPT", v.get("GEMM_WPT") - 1);
            }
        }

        @Override
        int columnAlign(KernelParams p) {
            return 16;
        }

        @Override
        List<Map<String, Integer>> candidates() {
            List<Map<String, Integer>> list = new ArrayList<>();
            for (int ts : new int[] {16, 32}) {
                for (int wpt : new int[] {2, 4, 8}) {
                    list.add(Map.of("GEMM_TS", ts, "GEMM_WPT", wpt));
                }
            }
            return list;
        }

        @Override
        Launch launch(KernelParams p, long rows, long cols) {
            long ts = p.get("GEMM_TS");
            long rts = ts / p.get("GEMM_WPT");
            return new Launch(new long[] {ceilDiv(cols, ts) * ts, ceilDiv(rows, ts) * rts}, new long[] {ts, rts});
        }
    }

    /** {@code flash_gpu.cl}: FLASH_BQ query rows per work-group, keys in __local tiles of FLASH_BK. */
    static final class Flash extends KernelSpec.Flash {
        @Override
        String file() {
            return "flash_gpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("FLASH_BQ", 64, "query rows per work-group"),
                    Param.compiled("FLASH_BK", 32, "keys per __local tile"));
        }

        /**
         * Work-groups no larger than the device allows, and the two __local tiles
         * ({@code 2 · FLASH_BK · dk} floats) within its local memory, leaving room for the driver.
         */
        @Override
        void fit(Map<String, Integer> v, Device device, int headDim) {
            long maxGroup = Math.max(1, device.info().maxWorkGroupSize());
            while (v.get("FLASH_BQ") > maxGroup && v.get("FLASH_BQ") > 1) {
                v.put("FLASH_BQ", v.get("FLASH_BQ") / 2);
            }
            long localBytes = device.info().localMemBytes() > 0 ? device.info().localMemBytes() : 16 * 1024;
            while (2L * v.get("FLASH_BK") * headDim * Float.BYTES > localBytes - 1024 && v.get("FLASH_BK") > 1) {
                v.put("FLASH_BK", v.get("FLASH_BK") / 2);
            }
        }

        @Override
        List<Map<String, Integer>> candidates() {
            List<Map<String, Integer>> list = new ArrayList<>();
            for (int bq : new int[] {32, 64, 128}) {
                for (int bk : new int[] {16, 32, 64}) {
                    list.add(Map.of("FLASH_BQ", bq, "FLASH_BK", bk));
                }
            }
            return list;
        }

        @Override
        Launch launch(KernelParams p, long n, long batchHeads, int rowBlocks) {
            long bq = p.get("FLASH_BQ");
            return new Launch(new long[] {ceilDiv(n, bq) * bq, batchHeads}, new long[] {bq, 1});
        }
    }

    /**
     * {@code decode_gpu.cl}: a work-group of DEC_WG per (split, sequence, K/V head, block of heads),
     * keys in tiles of DEC_WG; the block of heads sized so its __local state fits the device.
     */
    static final class Decode extends KernelSpec.Decode {
        @Override
        String file() {
            return "decode_gpu.cl";
        }

        @Override
        List<Param> params() {
            return List.of(Param.compiled("DEC_WG", 64, "work-items per group = keys per tile"),
                    Param.hostOnly("DEC_WG_PER_CU", 4, "work-groups wanted per compute unit when choosing the splits"),
                    Param.hostOnly("DEC_MIN_KEYS", 256, "fewest keys per split"));
        }

        @Override
        String perUnitParam() {
            return "DEC_WG_PER_CU";
        }

        @Override
        void fit(Map<String, Integer> v, Device device, int headDim) {
            long maxGroup = Math.max(1, device.info().maxWorkGroupSize());
            while (v.get("DEC_WG") > maxGroup && v.get("DEC_WG") > 1) {
                v.put("DEC_WG", v.get("DEC_WG") / 2);
            }
        }

        /** Heads per work-group: their q, p and o rows (DK + DEC_WG + DK floats each) within local memory. */
        @Override
        int headBlock(KernelParams p, Device device, int group, int headDim) {
            long localBytes = device.info().localMemBytes() > 0 ? device.info().localMemBytes() : 16 * 1024;
            long perHead = (2L * headDim + p.get("DEC_WG") + 3) * Float.BYTES;
            return (int) Math.max(1, Math.min(group, (localBytes - 1024) / perHead));
        }

        @Override
        List<Map<String, Integer>> candidates() {
            List<Map<String, Integer>> list = new ArrayList<>();
            for (int wg : new int[] {32, 64, 128}) {
                for (int perUnit : new int[] {2, 4, 8}) {
                    list.add(Map.of("DEC_WG", wg, "DEC_WG_PER_CU", perUnit));
                }
            }
            return list;
        }

        @Override
        Launch launch(KernelParams p, long splits, long batchKvHeads, long headBlocks) {
            long wg = p.get("DEC_WG");
            return new Launch(new long[] {splits * wg, batchKvHeads, headBlocks}, new long[] {wg, 1, 1});
        }
    }
}
