package io.github.clattn.opencl;

import java.util.List;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The fused path's kernels for one head width and one parameter set: {@code gemm}
 * (projections, {@code gemm_cpu.cl} or {@code gemm_gpu.cl}) and {@code flash} (attention,
 * {@code flash_cpu.cl} or {@code flash_gpu.cl}), with their launch geometry. The program comes
 * from the context's cache; the kernel objects belong to this instance (one per layer, since
 * kernel arguments are per-object state) and go with {@link #release()}. Not thread-safe.
 */
final class FusedKernels {
    /** Projection results laid out as plain row-major {@code C [rows, cols]}. */
    static final int PLAIN = 0;
    /** Projection results scattered into the flash kernels' Q / Kt / V layout (layout.cl). */
    static final int QKV = 1;
    /** Keys per row of Kt are padded to a multiple of this (KEY_ALIGN in layout.cl). */
    static final int KEY_ALIGN = 64;

    final KernelVariant variant;
    final KernelParams params;
    final int headDim;
    final double buildMillis;
    private final int computeUnits;
    private final cl_kernel gemm;
    private final cl_kernel flash;
    private final cl_kernel fillZero;

    FusedKernels(ClContext context, KernelVariant variant, KernelParams params, int headDim) {
        this.variant = variant;
        this.params = params.fittedTo(context.device, headDim);
        this.headDim = headDim;
        this.computeUnits = context.device.computeUnits();
        List<String> files = variant == KernelVariant.CPU
                ? List.of("layout.cl", "gemm_cpu.cl", "flash_cpu.cl")
                : List.of("layout.cl", "gemm_gpu.cl", "flash_gpu.cl");
        String options = "-cl-std=CL1.2 -DDK=" + headDim + " " + this.params.defines();
        long start = System.nanoTime();
        cl_program program = context.program(files, options);
        buildMillis = (System.nanoTime() - start) / 1e6;
        List<cl_kernel> made = new java.util.ArrayList<>();
        try {
            for (String name : new String[] {"gemm", "flash", "fill_zero"}) {
                made.add(Cl.createKernel(program, name));
            }
        } catch (RuntimeException e) {
            made.forEach(Cl::release);
            throw e;
        }
        gemm = made.get(0);
        flash = made.get(1);
        fillZero = made.get(2);
    }

    /** Sets the first {@code floats} floats of {@code buffer} to zero (once, when a padded buffer is made). */
    void zero(cl_command_queue queue, cl_mem buffer, long floats) {
        Cl.setArg(fillZero, 0, buffer);
        Cl.setArg(fillZero, 1, floats);
        Cl.launch(queue, fillZero, new long[] {floats}, null, false);
    }

    /** Weight matrices are stored with their column count rounded up to this (zero padding). */
    int columnAlign() {
        return variant == KernelVariant.CPU ? 16 * params.get("GEMM_CV") : 16;
    }

    static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    /**
     * {@code C = A · W[:, wCol .. wCol+cols) + bias[wCol ..]}, A {@code [rows, inner]}, W
     * {@code [inner, ldw]}. With {@link #PLAIN} C goes to {@code out0} as {@code [rows, cols]}; with
     * {@link #QKV} column c is column {@code colBase + c} of [Q | K | V] and row r is token
     * {@code r % tokens} of batch row {@code r / tokens}, scattered into out0 (Q), out1 (Kt), out2 (V).
     */
    cl_event gemm(cl_command_queue queue, cl_mem a, cl_mem w, cl_mem bias, int wCol, int ldw,
                  cl_mem out0, cl_mem out1, cl_mem out2, int rows, int inner, int cols,
                  int layout, int colBase, int tokens, int n, int m, int heads) {
        int i = 0;
        Cl.setArg(gemm, i++, a);
        Cl.setArg(gemm, i++, w);
        Cl.setArg(gemm, i++, bias);
        Cl.setArg(gemm, i++, out0);
        Cl.setArg(gemm, i++, out1);
        Cl.setArg(gemm, i++, out2);
        Cl.setArg(gemm, i++, rows);
        Cl.setArg(gemm, i++, inner);
        Cl.setArg(gemm, i++, cols);
        Cl.setArg(gemm, i++, ldw);
        Cl.setArg(gemm, i++, wCol);
        Cl.setArg(gemm, i++, layout);
        Cl.setArg(gemm, i++, colBase);
        Cl.setArg(gemm, i++, tokens);
        Cl.setArg(gemm, i++, n);
        Cl.setArg(gemm, i++, m);
        Cl.setArg(gemm, i++, heads);
        if (variant == KernelVariant.CPU) {
            long colsPerItem = 16L * params.get("GEMM_CV");
            long rowsPerItem = params.get("GEMM_RM");
            return Cl.launch(queue, gemm, new long[] {ceilDiv(rows, rowsPerItem), ceilDiv(cols, colsPerItem)},
                    new long[] {1, 1}, true);
        }
        long ts = params.get("GEMM_TS");
        long rts = ts / params.get("GEMM_WPT");
        return Cl.launch(queue, gemm, new long[] {ceilDiv(cols, ts) * ts, ceilDiv(rows, ts) * rts},
                new long[] {ts, rts}, true);
    }

    /** Fused attention of every (batch, head): Q, Kt, V in the layout of layout.cl → heads_out [B, N, H·dk]. */
    cl_event flash(cl_command_queue queue, cl_mem q, cl_mem kt, cl_mem v, cl_mem attnBias, cl_mem keyValidLength,
                   cl_mem headsOut, int batch, int n, int m, int heads, float scale, boolean causal, boolean hasBias,
                   boolean hasValidLength) {
        int i = 0;
        Cl.setArg(flash, i++, q);
        Cl.setArg(flash, i++, kt);
        Cl.setArg(flash, i++, v);
        Cl.setArg(flash, i++, attnBias);
        Cl.setArg(flash, i++, keyValidLength);
        Cl.setArg(flash, i++, headsOut);
        Cl.setArg(flash, i++, n);
        Cl.setArg(flash, i++, m);
        Cl.setArg(flash, i++, heads);
        Cl.setArg(flash, i++, scale);
        Cl.setArg(flash, i++, causal ? 1 : 0);
        Cl.setArg(flash, i++, hasBias ? 1 : 0);
        Cl.setArg(flash, i++, hasValidLength ? 1 : 0);
        long batchHeads = (long) batch * heads;
        int rowBlocks = rowBlocks(n, batchHeads);
        Cl.setArg(flash, i++, rowBlocks);
        if (variant == KernelVariant.CPU) {
            long rowsPerItem = (long) params.get("FLASH_QR") * rowBlocks;
            return Cl.launch(queue, flash, new long[] {ceilDiv(n, rowsPerItem), batchHeads},
                    new long[] {1, 1}, true);
        }
        long bq = params.get("FLASH_BQ");
        return Cl.launch(queue, flash, new long[] {ceilDiv(n, bq) * bq, batchHeads}, new long[] {bq, 1}, true);
    }

    /**
     * Row blocks per work-item of the CPU flash kernel: up to FLASH_RB (more rows share each key
     * chunk while it is in cache), fewer when that would leave under FLASH_WI_PER_CU work-items
     * per compute unit (short sequences would then keep only some cores busy).
     */
    int rowBlocks(long n, long batchHeads) {
        if (variant != KernelVariant.CPU) {
            return 1;
        }
        long items = n * batchHeads / params.get("FLASH_QR");
        long perUnit = (long) params.get("FLASH_WI_PER_CU") * Math.max(1, computeUnits);
        return (int) Math.max(1, Math.min(params.get("FLASH_RB"), items / perUnit));
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    void release() {
        Cl.release(fillZero);
        Cl.release(flash);
        Cl.release(gemm);
    }
}
