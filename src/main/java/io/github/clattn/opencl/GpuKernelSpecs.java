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
}
