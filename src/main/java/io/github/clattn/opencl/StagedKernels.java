package io.github.clattn.opencl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The staged path's kernels ({@code projection.cl}, {@code scores.cl}, {@code softmax.cl},
 * {@code weighting.cl}), the reference-shaped path run when a call asks for the weights, with
 * their arguments and launch geometry (one work-item per output element; the driver picks the
 * work-groups). Built all or nothing. Not thread-safe; one instance per layer.
 */
final class StagedKernels {
    static final List<String> FILES = List.of("projection.cl", "scores.cl", "softmax.cl", "weighting.cl", "rope.cl");
    private static final String OPTIONS = "-cl-std=CL1.2";

    /**
     * Sizes, masks and modifiers of the attention stages: Q [B, N, H·dk], K and V [B, M, Hkv·dk],
     * seq [B, 4] (common.cl); {@code lse [B, H, N]} is written by the softmax when not null.
     */
    record Shape(int batch, int queries, int keys, int heads, int kvHeads, int headDim, float scale, boolean causal,
                 cl_mem attnBias, boolean hasBias, cl_mem seq, ScoreMods mods, cl_mem lse) {
    }

    final double buildMillis;
    private final cl_kernel project;
    private final cl_kernel scores;
    private final cl_kernel softmax;
    private final cl_kernel weighting;
    final RopeKernel rope;

    StagedKernels(ClContext context) {
        long start = System.nanoTime();
        cl_program program = context.program(FILES, OPTIONS);
        buildMillis = (System.nanoTime() - start) / 1e6;
        List<cl_kernel> made = new ArrayList<>();
        try {
            for (String name : new String[] {"project", "scores", "softmax_rows", "weight_values", "rope"}) {
                made.add(Cl.createKernel(program, name));
            }
        } catch (RuntimeException e) {
            made.forEach(Cl::release);
            throw e;
        }
        project = made.get(0);
        scores = made.get(1);
        softmax = made.get(2);
        weighting = made.get(3);
        rope = new RopeKernel(made.get(4));
    }

    /** {@code C [rows, cols] = A [rows, inner] · W[:, wCol ..) + bias[wCol ..]}. */
    cl_event project(cl_command_queue queue, cl_mem a, int rows, int inner, FusedKernels.Weights w, int wCol, int cols,
                     cl_mem c) {
        int i = 0;
        Cl.setArg(project, i++, a);
        Cl.setArg(project, i++, w.data());
        Cl.setArg(project, i++, w.bias());
        Cl.setArg(project, i++, c);
        Cl.setArg(project, i++, rows);
        Cl.setArg(project, i++, inner);
        Cl.setArg(project, i++, cols);
        Cl.setArg(project, i++, w.ld());
        Cl.setArg(project, i++, wCol);
        Cl.setArg(project, i++, w.panel());
        return Cl.launch(queue, project, new long[] {cols, rows}, null, true);
    }

    /** {@code S [B, H, N, M]}: scaled, biased, masked scores. */
    cl_event scores(cl_command_queue queue, cl_mem q, cl_mem k, cl_mem s, Shape shape) {
        int a = 0;
        Cl.setArg(scores, a++, q);
        Cl.setArg(scores, a++, k);
        Cl.setArg(scores, a++, shape.attnBias());
        Cl.setArg(scores, a++, shape.seq());
        Cl.setArg(scores, a++, s);
        Cl.setArg(scores, a++, shape.queries());
        Cl.setArg(scores, a++, shape.keys());
        Cl.setArg(scores, a++, shape.heads());
        Cl.setArg(scores, a++, shape.kvHeads());
        Cl.setArg(scores, a++, shape.headDim());
        Cl.setArg(scores, a++, shape.scale());
        Cl.setArg(scores, a++, shape.causal() ? 1 : 0);
        Cl.setArg(scores, a++, shape.hasBias() ? 1 : 0);
        shape.mods().set(scores, a);
        return Cl.launch(queue, scores, new long[] {shape.keys(), shape.queries(), (long) shape.batch() * shape.heads()},
                null, true);
    }

    /** Row softmax of S in place, with the sinks: the weights (and lse). */
    cl_event softmax(cl_command_queue queue, cl_mem s, Shape shape) {
        long rows = (long) shape.batch() * shape.heads() * shape.queries();
        int a = 0;
        Cl.setArg(softmax, a++, s);
        Cl.setArg(softmax, a++, rows);
        Cl.setArg(softmax, a++, shape.keys());
        Cl.setArg(softmax, a++, shape.queries());
        Cl.setArg(softmax, a++, shape.heads());
        Cl.setArg(softmax, a++, shape.mods().sinks());
        Cl.setArg(softmax, a++, shape.mods().hasSinks() ? 1 : 0);
        Cl.setArg(softmax, a++, shape.lse() != null ? shape.lse() : s);
        Cl.setArg(softmax, a++, shape.lse() != null ? 1 : 0);
        return Cl.launch(queue, softmax, new long[] {rows}, null, true);
    }

    /** {@code heads_out [B, N, H·dk] = P · V} over the visible keys. */
    cl_event weighting(cl_command_queue queue, cl_mem p, cl_mem v, cl_mem headsOut, Shape shape) {
        int a = 0;
        Cl.setArg(weighting, a++, p);
        Cl.setArg(weighting, a++, v);
        Cl.setArg(weighting, a++, headsOut);
        Cl.setArg(weighting, a++, shape.seq());
        Cl.setArg(weighting, a++, shape.queries());
        Cl.setArg(weighting, a++, shape.keys());
        Cl.setArg(weighting, a++, shape.heads());
        Cl.setArg(weighting, a++, shape.kvHeads());
        Cl.setArg(weighting, a++, shape.headDim());
        Cl.setArg(weighting, a++, shape.causal() ? 1 : 0);
        Cl.setArg(weighting, a++, shape.mods().windowLeft());
        Cl.setArg(weighting, a++, shape.mods().windowRight());
        return Cl.launch(queue, weighting,
                new long[] {shape.headDim(), shape.queries(), (long) shape.batch() * shape.heads()}, null, true);
    }

    /**
     * {@code key_mass [B, H, M]} from the weights {@code p [B, H, N, M]} read back: each key's
     * probabilities summed over the rows, in float64.
     */
    static float[] keyMass(float[] p, int batch, int heads, int queries, int keys) {
        float[] mass = new float[batch * heads * keys];
        double[] acc = new double[keys];
        for (int bh = 0; bh < batch * heads; bh++) {
            Arrays.fill(acc, 0);
            for (int i = 0; i < queries; i++) {
                int row = (bh * queries + i) * keys;
                for (int j = 0; j < keys; j++) {
                    acc[j] += p[row + j];
                }
            }
            for (int j = 0; j < keys; j++) {
                mass[bh * keys + j] = (float) acc[j];
            }
        }
        return mass;
    }

    void release() {
        rope.release();
        Cl.release(weighting);
        Cl.release(softmax);
        Cl.release(scores);
        Cl.release(project);
    }
}
