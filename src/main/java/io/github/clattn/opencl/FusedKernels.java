package io.github.clattn.opencl;

import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.List;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The fused path's kernels for one layout and one parameter set: {@code gemm} (projections),
 * {@code flash} (attention) and {@code decode} (one query per sequence, keys split) of a
 * {@link KernelVariant}, and the layout helpers {@code fill_zero}, {@code scatter_rows},
 * {@code rope}, {@code decode_combine} and {@code key_mass}, with their arguments and launch geometry. The program comes from the context's cache; the kernel objects
 * belong to this instance (one per layer, since kernel arguments are per-object state) and go
 * with {@link #release()}. Not thread-safe.
 */
final class FusedKernels {
    /** How a GEMM stores C: plain row-major, or scattered into the flash kernels' Q / Kt / V. */
    enum ProjectionLayout {
        PLAIN,
        ATTENTION
    }

    /**
     * A weight matrix on the device: {@code data [inner, ld]} and {@code bias [ld]}, zero-padded
     * columns; {@code data} row-major ({@code panel} 0) or in panels of {@code panel} columns, each
     * {@code [inner, panel]} and contiguous, side by side ({@code weight_at} in common.cl).
     */
    record Weights(cl_mem data, cl_mem bias, int ld, int panel) {
        /** Where element {@code (k, c)} of a matrix of {@code inner} rows lies in {@code data} (weight_at). */
        static long at(int k, int c, int inner, int ld, int panel) {
            return panel == 0 ? (long) k * ld + c : ((long) (c / panel) * inner + k) * panel + c % panel;
        }

        /** The same buffers read as {@code panel} says (the tuner's random weights suit either). */
        Weights withPanel(int panel) {
            return new Weights(data, bias, ld, panel);
        }
    }

    /** Where a GEMM writes C. */
    sealed interface Target permits Plain, Attention {
    }

    /** {@code C [rows, cols]} row-major into {@code out}. */
    record Plain(cl_mem out) implements Target {
    }

    /**
     * Column c of C is column {@code colBase + c} of [Q | K | V] and row r is token {@code r % tokens}
     * of batch row {@code r / tokens}, stored into the layout of layout.cl. With {@code append} (a
     * cache step) K and V rows go to their sequence's SEQ_KV_START + t, rows past SEQ_Q_ROWS dropped.
     */
    record Attention(cl_mem q, cl_mem kt, cl_mem v, int colBase, int tokens, int queries, long keyStride, int heads,
                     int kvHeads, cl_mem seq, boolean append) implements Target {
    }

    /** {@code C = A [rows, inner] · W[:, wCol .. wCol+cols) + bias[wCol ..]}, stored as {@code target} says. */
    record GemmCall(cl_mem a, int rows, int inner, Weights w, int wCol, int cols, Target target) {
    }

    /**
     * Attention of every (batch, query head): Q, Kt, V in the layout of layout.cl (Kt and V with
     * {@code kvHeads} heads and key stride {@code keyStride}), what each sequence sees in
     * {@code seq [B, 4]} (common.cl), heads_out {@code [B, N, H·dk]}, the score modifiers
     * {@code mods}. {@code attnBias} ({@code [N, biasColumns]}) is the placeholder buffer when
     * absent; {@code lse [B, H, N]} is written when not null.
     */
    record FlashCall(cl_mem q, cl_mem kt, cl_mem v, cl_mem attnBias, boolean hasBias, int biasColumns, cl_mem seq,
                     cl_mem headsOut, int batch, int queries, long keyStride, int heads, int kvHeads, float scale,
                     boolean causal, ScoreMods mods, cl_mem lse) {

        /** The same call writing every row's log-sum-exp into {@code lseOut}. */
        FlashCall withLse(cl_mem lseOut) {
            return new FlashCall(q, kt, v, attnBias, hasBias, biasColumns, seq, headsOut, batch, queries, keyStride,
                    heads, kvHeads, scale, causal, mods, lseOut);
        }
    }

    final KernelVariant variant;
    final KernelParams params;
    final FusedLayout layout;
    final double buildMillis;
    private final int computeUnits;
    private final cl_kernel gemm;
    private final cl_kernel gemmNarrow;
    private final cl_kernel flash;
    private final cl_kernel fillZero;
    private final cl_kernel scatter;
    private final cl_kernel decode;
    private final cl_kernel combine;
    private final cl_kernel keyMass;
    private final Device device;
    final RopeKernel rope;

    /** Builds (or loads) the program; {@code params} are fitted to the device and head width first. */
    FusedKernels(ClContext context, KernelVariant variant, KernelParams params, FusedLayout layout) {
        this.variant = variant;
        this.params = params.fittedTo(context.device, layout.headDim());
        this.layout = layout;
        this.computeUnits = context.device.info().computeUnits();
        this.device = context.device;
        String options = "-cl-std=CL1.2 " + layout.defines() + " " + this.params.defines();
        long start = System.nanoTime();
        cl_program program = context.program(variant.files(), options);
        buildMillis = (System.nanoTime() - start) / 1e6;
        List<cl_kernel> made = new ArrayList<>();
        try {
            for (String name : new String[] {"gemm", "flash", "fill_zero", "scatter_rows", "rope", "decode",
                "decode_combine", variant == KernelVariant.CPU ? "key_mass16" : "key_mass"}) {
                made.add(Cl.createKernel(program, name));
            }
            if (variant.gemv() != null) {
                made.add(Cl.createKernel(program, variant.gemv().kernel()));
            }
        } catch (RuntimeException e) {
            made.forEach(Cl::release);
            throw e;
        }
        gemm = made.get(0);
        flash = made.get(1);
        fillZero = made.get(2);
        scatter = made.get(3);
        rope = new RopeKernel(made.get(4));
        decode = made.get(5);
        combine = made.get(6);
        keyMass = made.get(7);
        gemmNarrow = made.size() > 8 ? made.get(8) : null;
    }

    /** Sets the first {@code floats} floats of {@code buffer} to zero (once, when a padded buffer is made). */
    void zero(cl_command_queue queue, cl_mem buffer, long floats) {
        Cl.setArg(fillZero, 0, buffer);
        Cl.setArg(fillZero, 1, floats);
        Cl.launch(queue, fillZero, new long[] {floats}, null, false);
    }

    /** The column panels this program's GEMM reads its weights in (0: row-major). */
    int weightPanel() {
        return variant.gemm().weightPanel();
    }

    /**
     * Enqueues one GEMM ({@code gemm_narrow} for a call of few rows, where the file has it); returns
     * its profiling event (the caller releases it).
     */
    cl_event gemm(cl_command_queue queue, GemmCall call) {
        int panel = call.w().panel();
        if (panel != 0 && (panel != FusedLayout.VECTOR || call.wCol() % panel != 0)) {
            throw new IllegalArgumentException("weights in panels of " + panel + " columns read from column "
                    + call.wCol() + ": the GEMMs read panels of " + FusedLayout.VECTOR + " from a panel's start");
        }
        boolean narrow = gemmNarrow != null && call.rows() <= variant.gemv().narrowRows(params);
        cl_kernel gemm = narrow ? gemmNarrow : this.gemm;
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
        Cl.setArg(gemm, i++, call.w().panel());
        if (call.target() instanceof Attention t) {
            Cl.setArg(gemm, i++, ProjectionLayout.ATTENTION.ordinal());
            Cl.setArg(gemm, i++, t.colBase());
            Cl.setArg(gemm, i++, t.tokens());
            Cl.setArg(gemm, i++, t.queries());
            Cl.setArg(gemm, i++, Math.toIntExact(t.keyStride()));
            Cl.setArg(gemm, i++, t.heads());
            Cl.setArg(gemm, i++, t.kvHeads());
            Cl.setArg(gemm, i++, t.seq());
            Cl.setArg(gemm, i++, t.append() ? 1 : 0);
        } else {
            Cl.setArg(gemm, i++, ProjectionLayout.PLAIN.ordinal());
            for (int unused = 0; unused < 6; unused++) {
                Cl.setArg(gemm, i++, 1);
            }
            Cl.setArg(gemm, i++, ((Plain) call.target()).out()); // seq: unused by a plain GEMM
            Cl.setArg(gemm, i++, 0);
        }
        KernelSpec.Launch launch = narrow ? variant.gemv().launch(params, call.rows(), call.cols())
                : variant.gemm().launch(params, call.rows(), call.cols());
        return Cl.launch(queue, gemm, launch.global(), launch.local(), true);
    }

    /** Enqueues the attention kernel; returns its profiling event (the caller releases it). */
    cl_event flash(cl_command_queue queue, FlashCall call) {
        int i = 0;
        Cl.setArg(flash, i++, call.q());
        Cl.setArg(flash, i++, call.kt());
        Cl.setArg(flash, i++, call.v());
        Cl.setArg(flash, i++, call.attnBias());
        Cl.setArg(flash, i++, call.biasColumns());
        Cl.setArg(flash, i++, call.hasBias() ? 1 : 0);
        Cl.setArg(flash, i++, call.seq());
        Cl.setArg(flash, i++, call.headsOut());
        Cl.setArg(flash, i++, call.queries());
        Cl.setArg(flash, i++, Math.toIntExact(call.keyStride()));
        Cl.setArg(flash, i++, call.heads());
        Cl.setArg(flash, i++, call.kvHeads());
        Cl.setArg(flash, i++, call.scale());
        Cl.setArg(flash, i++, call.causal() ? 1 : 0);
        long batchHeads = (long) call.batch() * call.heads();
        int rowBlocks = variant.flash().rowBlocks(params, call.queries(), batchHeads, computeUnits);
        Cl.setArg(flash, i++, rowBlocks);
        i = call.mods().set(flash, i);
        Cl.setArg(flash, i++, call.lse() != null ? call.lse() : call.headsOut());
        Cl.setArg(flash, i++, call.lse() != null ? 1 : 0);
        KernelSpec.Launch launch = variant.flash().launch(params, call.queries(), batchHeads, rowBlocks);
        return Cl.launch(queue, flash, launch.global(), launch.local(), true);
    }

    /**
     * Copies a row-major {@code A [rows, cols]} (pre-projected Q, K or V, {@code [B·L, heads·dk]})
     * into the layout as the projection GEMMs store results ({@code target} as for {@link #gemm}).
     */
    cl_event scatter(cl_command_queue queue, cl_mem a, int rows, int cols, Attention target) {
        int i = 0;
        Cl.setArg(scatter, i++, a);
        Cl.setArg(scatter, i++, target.q());
        Cl.setArg(scatter, i++, target.kt());
        Cl.setArg(scatter, i++, target.v());
        Cl.setArg(scatter, i++, rows);
        Cl.setArg(scatter, i++, cols);
        Cl.setArg(scatter, i++, target.colBase());
        Cl.setArg(scatter, i++, target.tokens());
        Cl.setArg(scatter, i++, target.queries());
        Cl.setArg(scatter, i++, Math.toIntExact(target.keyStride()));
        Cl.setArg(scatter, i++, target.heads());
        Cl.setArg(scatter, i++, target.kvHeads());
        Cl.setArg(scatter, i++, target.seq());
        Cl.setArg(scatter, i++, target.append() ? 1 : 0);
        return Cl.launch(queue, scatter, new long[] {cols, rows}, null, true);
    }

    /** The splits a decode step of {@code call} uses, its sequences having at most {@code maxKeys} keys. */
    int decodeSplits(FlashCall call, int maxKeys) {
        KernelSpec.Decode spec = variant.decode();
        int group = call.heads() / call.kvHeads();
        int headBlocks = (int) KernelSpec.ceilDiv(group, spec.headBlock(params, device, group, layout.headDim()));
        return spec.splits(params, decodeSpan(call, maxKeys), (long) call.batch() * call.kvHeads() * headBlocks,
                computeUnits);
    }

    /** Floats of the partial results of a decode step: [B, H, splits, 2 + DKP]. */
    long decodePartialFloats(int batch, int heads, int splits) {
        return (long) batch * heads * splits * (2 + layout.paddedHeadDim());
    }

    /**
     * The keys split across a decode step's work-items: the most one query sees, plus the keys
     * before its first one in the same KEY_ALIGN block (a window's start need not be aligned).
     */
    static int decodeSpan(FlashCall call, int maxKeys) {
        int span = call.mods().span(maxKeys, call.causal());
        return span < maxKeys ? Math.min(maxKeys, span + FusedLayout.KEY_ALIGN) : maxKeys;
    }

    /**
     * A decode step (one query per sequence, no bias; {@code maxKeys} the longest key list): the
     * split kernel into {@code partial} (sized by {@link #decodePartialFloats}), then the combine
     * into heads_out (and lse). Returns both events (the caller releases them).
     */
    cl_event[] decode(cl_command_queue queue, FlashCall call, int maxKeys, int splits, cl_mem partial) {
        KernelSpec.Decode spec = variant.decode();
        int group = call.heads() / call.kvHeads();
        int dk = layout.headDim();
        int headBlock = spec.headBlock(params, device, group, dk);
        // split_keys a multiple of KEY_ALIGN: every step reads whole vectors inside the key stride
        long perSplit = FusedLayout.roundUp(KernelSpec.ceilDiv(Math.max(1, decodeSpan(call, maxKeys)), splits),
                FusedLayout.KEY_ALIGN);
        int i = 0;
        Cl.setArg(decode, i++, call.q());
        Cl.setArg(decode, i++, call.kt());
        Cl.setArg(decode, i++, call.v());
        Cl.setArg(decode, i++, call.seq());
        Cl.setArg(decode, i++, partial);
        Cl.setArg(decode, i++, Math.toIntExact(call.keyStride()));
        Cl.setArg(decode, i++, call.heads());
        Cl.setArg(decode, i++, call.kvHeads());
        Cl.setArg(decode, i++, call.scale());
        Cl.setArg(decode, i++, call.causal() ? 1 : 0);
        Cl.setArg(decode, i++, splits);
        Cl.setArg(decode, i++, Math.toIntExact(perSplit));
        i = call.mods().set(decode, i);
        if (variant == KernelVariant.GPU) {
            long wg = params.get("DEC_WG");
            Cl.setArg(decode, i++, headBlock);
            Cl.setLocalArg(decode, i++, (long) headBlock * dk * Float.BYTES);
            Cl.setLocalArg(decode, i++, (long) headBlock * wg * Float.BYTES);
            Cl.setLocalArg(decode, i++, (long) headBlock * dk * Float.BYTES);
            Cl.setLocalArg(decode, i++, 3L * headBlock * Float.BYTES);
        }
        long headBlocks = KernelSpec.ceilDiv(group, headBlock);
        KernelSpec.Launch launch = spec.launch(params, splits, (long) call.batch() * call.kvHeads(), headBlocks);
        cl_event split = Cl.launch(queue, decode, launch.global(), launch.local(), true);
        try {
            i = 0;
            Cl.setArg(combine, i++, partial);
            Cl.setArg(combine, i++, call.headsOut());
            Cl.setArg(combine, i++, splits);
            Cl.setArg(combine, i++, call.heads());
            Cl.setArg(combine, i++, call.mods().sinks());
            Cl.setArg(combine, i++, call.mods().hasSinks() ? 1 : 0);
            Cl.setArg(combine, i++, call.lse() != null ? call.lse() : call.headsOut());
            Cl.setArg(combine, i++, call.lse() != null ? 1 : 0);
            cl_event merged = Cl.launch(queue, combine, new long[] {dk, (long) call.batch() * call.heads()}, null, true);
            return new cl_event[] {split, merged};
        } catch (RuntimeException e) {
            Cl.release(split);
            throw e;
        }
    }

    /**
     * {@code key_mass [B, H, keys]} into {@code out} (keymass.cl), once {@code call.lse()} holds every
     * row's log-sum-exp: the scores recomputed key by key. Returns the event (the caller releases it).
     */
    cl_event keyMass(cl_command_queue queue, FlashCall call, int keys, cl_mem out) {
        int i = 0;
        Cl.setArg(keyMass, i++, call.q());
        Cl.setArg(keyMass, i++, call.kt());
        Cl.setArg(keyMass, i++, call.attnBias());
        Cl.setArg(keyMass, i++, call.biasColumns());
        Cl.setArg(keyMass, i++, call.hasBias() ? 1 : 0);
        Cl.setArg(keyMass, i++, call.seq());
        Cl.setArg(keyMass, i++, call.lse());
        Cl.setArg(keyMass, i++, out);
        Cl.setArg(keyMass, i++, call.queries());
        Cl.setArg(keyMass, i++, keys);
        Cl.setArg(keyMass, i++, Math.toIntExact(call.keyStride()));
        Cl.setArg(keyMass, i++, call.heads());
        Cl.setArg(keyMass, i++, call.kvHeads());
        Cl.setArg(keyMass, i++, call.scale());
        Cl.setArg(keyMass, i++, call.causal() ? 1 : 0);
        call.mods().set(keyMass, i);
        // GPU: one work-item per key, groups of the driver's choice; CPU: KEY_ALIGN (64) keys per work-item
        long wide = FusedLayout.roundUp(Math.max(1, keys), FusedLayout.KEY_ALIGN);
        if (variant == KernelVariant.CPU) {
            wide /= FusedLayout.KEY_ALIGN;
        }
        return Cl.launch(queue, keyMass, new long[] {wide, (long) call.batch() * call.heads()}, null, true);
    }

    void release() {
        if (gemmNarrow != null) {
            Cl.release(gemmNarrow);
        }
        Cl.release(keyMass);
        Cl.release(combine);
        Cl.release(decode);
        rope.release();
        Cl.release(scatter);
        Cl.release(fillZero);
        Cl.release(flash);
        Cl.release(gemm);
    }
}
