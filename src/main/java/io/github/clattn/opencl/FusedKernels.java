package io.github.clattn.opencl;

import java.util.ArrayList;
import java.util.List;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The fused path's kernels for one layout and one parameter set: {@code gemm} (projections) and
 * {@code flash} (attention) of a {@link KernelVariant}, and {@code fill_zero}, with their
 * arguments and launch geometry. The program comes from the context's cache; the kernel objects
 * belong to this instance (one per layer, since kernel arguments are per-object state) and go
 * with {@link #release()}. Not thread-safe.
 */
final class FusedKernels {
    /** How a GEMM stores C: plain row-major, or scattered into the flash kernels' Q / Kt / V. */
    enum ProjectionLayout {
        PLAIN,
        ATTENTION
    }

    /** A weight matrix on the device: {@code data [inner, ld]} and {@code bias [ld]}, zero-padded columns. */
    record Weights(cl_mem data, cl_mem bias, int ld) {
    }

    /** Where a GEMM writes C. */
    sealed interface Target permits Plain, Attention {
    }

    /** {@code C [rows, cols]} row-major into {@code out}. */
    record Plain(cl_mem out) implements Target {
    }

    /**
     * Column c of C is column {@code colBase + c} of [Q | K | V] and row r is token {@code r % tokens}
     * of batch row {@code r / tokens}, stored into the layout of layout.cl.
     */
    record Attention(cl_mem q, cl_mem kt, cl_mem v, int colBase, int tokens, int queries, long keyStride, int heads,
                     int kvHeads) implements Target {
    }

    /** {@code C = A [rows, inner] · W[:, wCol .. wCol+cols) + bias[wCol ..]}, stored as {@code target} says. */
    record GemmCall(cl_mem a, int rows, int inner, Weights w, int wCol, int cols, Target target) {
    }

    /**
     * Attention of every (batch, query head): Q, Kt, V in the layout of layout.cl (Kt and V with
     * {@code kvHeads} heads and key stride {@code keyStride}), heads_out {@code [B, N, H·dk]}.
     * {@code attnBias} and {@code keyValidLength} are the placeholder buffer when absent.
     */
    record FlashCall(cl_mem q, cl_mem kt, cl_mem v, cl_mem attnBias, boolean hasBias, cl_mem keyValidLength,
                     boolean hasValidLength, cl_mem headsOut, int batch, int queries, int keys, long keyStride,
                     int heads, int kvHeads, float scale, boolean causal) {
    }

    final KernelVariant variant;
    final KernelParams params;
    final FusedLayout layout;
    final double buildMillis;
    private final int computeUnits;
    private final cl_kernel gemm;
    private final cl_kernel flash;
    private final cl_kernel fillZero;

    /** Builds (or loads) the program; {@code params} are fitted to the device and head width first. */
    FusedKernels(ClContext context, KernelVariant variant, KernelParams params, FusedLayout layout) {
        this.variant = variant;
        this.params = params.fittedTo(context.device, layout.headDim());
        this.layout = layout;
        this.computeUnits = context.device.info().computeUnits();
        String options = "-cl-std=CL1.2 " + layout.defines() + " " + this.params.defines();
        long start = System.nanoTime();
        cl_program program = context.program(variant.files(), options);
        buildMillis = (System.nanoTime() - start) / 1e6;
        List<cl_kernel> made = new ArrayList<>();
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
        return variant.gemm().columnAlign(params);
    }

    /** Enqueues one GEMM; returns its profiling event (the caller releases it). */
    cl_event gemm(cl_command_queue queue, GemmCall call) {
        int i = 0;
        Cl.setArg(gemm, i++, call.a());
        Cl.setArg(gemm, i++, call.w().data());
        Cl.setArg(gemm, i++, call.w().bias());
        if (call.target() instanceof Attention t) {
            Cl.setArg(gemm, i++, t.q());
            Cl.setArg(gemm, i++, t.kt());
            Cl.setArg(gemm, i++, t.v());
        } else {
            cl_mem out = ((Plain) call.target()).out();
            Cl.setArg(gemm, i++, out);
            Cl.setArg(gemm, i++, out);
            Cl.setArg(gemm, i++, out);
        }
        Cl.setArg(gemm, i++, call.rows());
        Cl.setArg(gemm, i++, call.inner());
        Cl.setArg(gemm, i++, call.cols());
        Cl.setArg(gemm, i++, call.w().ld());
        Cl.setArg(gemm, i++, call.wCol());
        if (call.target() instanceof Attention t) {
            Cl.setArg(gemm, i++, ProjectionLayout.ATTENTION.ordinal());
            Cl.setArg(gemm, i++, t.colBase());
            Cl.setArg(gemm, i++, t.tokens());
            Cl.setArg(gemm, i++, t.queries());
            Cl.setArg(gemm, i++, Math.toIntExact(t.keyStride()));
            Cl.setArg(gemm, i++, t.heads());
            Cl.setArg(gemm, i++, t.kvHeads());
        } else {
            Cl.setArg(gemm, i++, ProjectionLayout.PLAIN.ordinal());
            for (int unused = 0; unused < 6; unused++) {
                Cl.setArg(gemm, i++, 1);
            }
        }
        KernelSpec.Launch launch = variant.gemm().launch(params, call.rows(), call.cols());
        return Cl.launch(queue, gemm, launch.global(), launch.local(), true);
    }

    /** Enqueues the attention kernel; returns its profiling event (the caller releases it). */
    cl_event flash(cl_command_queue queue, FlashCall call) {
        int i = 0;
        Cl.setArg(flash, i++, call.q());
        Cl.setArg(flash, i++, call.kt());
        Cl.setArg(flash, i++, call.v());
        Cl.setArg(flash, i++, call.attnBias());
        Cl.setArg(flash, i++, call.keyValidLength());
        Cl.setArg(flash, i++, call.headsOut());
        Cl.setArg(flash, i++, call.queries());
        Cl.setArg(flash, i++, call.keys());
        Cl.setArg(flash, i++, Math.toIntExact(call.keyStride()));
        Cl.setArg(flash, i++, call.heads());
        Cl.setArg(flash, i++, call.kvHeads());
        Cl.setArg(flash, i++, call.scale());
        Cl.setArg(flash, i++, call.causal() ? 1 : 0);
        Cl.setArg(flash, i++, call.hasBias() ? 1 : 0);
        Cl.setArg(flash, i++, call.hasValidLength() ? 1 : 0);
        long batchHeads = (long) call.batch() * call.heads();
        int rowBlocks = variant.flash().rowBlocks(params, call.queries(), batchHeads, computeUnits);
        Cl.setArg(flash, i++, rowBlocks);
        KernelSpec.Launch launch = variant.flash().launch(params, call.queries(), batchHeads, rowBlocks);
        return Cl.launch(queue, flash, launch.global(), launch.local(), true);
    }

    void release() {
        Cl.release(fillZero);
        Cl.release(flash);
        Cl.release(gemm);
    }
}
