package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ProjectedInput;
import io.github.clattn.core.ThreadAllocations;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Float64Attention;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Tolerance;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The decode and key-mass passes reuse their thread's buffers: what a larger call left in them
 * never reaches the next call's result, and a decode step allocates about its output, not a block
 * of scores per task.
 */
class ScratchReuseTest {
    private int threadsBefore;

    @BeforeEach
    void oneThread() {
        threadsBefore = CpuThreads.threads();
        CpuThreads.setThreads(1); // every task on this thread: one set of buffers, reused task after task
    }

    @AfterEach
    void restore() {
        CpuThreads.setThreads(threadsBefore);
    }

    /** One decode step's K/V, query and float64 heads_out. */
    private record Step(int kvHeads, int group, int dk, int keys, KeyValues kv, AttentionPass.Queries queries,
                        double[] want) {
        static Step of(Kernels kernels, long seed, int kvHeads, int group, int dk, int keys) {
            SplittableRandom rng = new SplittableRandom(seed);
            int heads = kvHeads * group;
            float[] q = Tensors.uniform(rng, heads * dk, 1);
            float[] k = Tensors.uniform(rng, keys * kvHeads * dk, 1);
            float[] v = Tensors.uniform(rng, keys * kvHeads * dk, 1);
            KeyValues kv = new KeyValues(kernels, 1, kvHeads, dk, keys, null, null);
            kv.put(k, v, keys, new int[] {0}, new int[] {keys});
            float scale = (float) (1 / Math.sqrt(dk));
            AttentionPass.Queries queries = new AttentionPass.Queries(1, 1, heads, q, new int[] {keys - 1},
                    new int[] {keys}, new int[] {1}, false, scale, AttentionPass.Modifiers.NONE);
            double[] want = Float64Attention.compute(heads, kvHeads, dk, AttentionOptions.causal(false),
                    ProjectedInput.builder(q, k, v, 1, 1, keys).build()).headsOut();
            return new Step(kvHeads, group, dk, keys, kv, queries, want);
        }

        float[] run(Kernels kernels) {
            float[] out = new float[kvHeads * group * dk];
            JavaAttention.attend(kernels, queries, kv, null, 0, out, null, 0);
            return out;
        }
    }

    @Test
    void whatALargerStepLeftInTheBuffersNeverReachesTheNext() {
        Kernels kernels = JavaKernels.select();
        // 2 K/V heads of 4 query heads, dk 40, 3000 keys: 11 splits each
        Step small = Step.of(kernels, 1, 2, 4, 40, 3000);
        // more heads per block, wider heads, 32 splits: every buffer grows and is filled with other values
        Step large = Step.of(kernels, 2, 1, 8, 96, 9000);
        assertThat(DecodePass.splits(small.keys(), small.kvHeads())).isEqualTo(11);
        assertThat(DecodePass.splits(large.keys(), large.kvHeads())).isEqualTo(DecodePass.MAX_SPLITS);

        float[] first = small.run(kernels);
        Tolerance.outputs("decode heads_out, first", first, small.want()).assertPassed();
        Tolerance.outputs("decode heads_out, larger step", large.run(kernels), large.want()).assertPassed();
        float[] again = small.run(kernels);
        assertThat(again).as("the first step again, after the larger one").isEqualTo(first);
    }

    @Test
    void theKeyMassAfterALargerCallIsTheSame() {
        Problem small = Problem.builder(11, 1, 40, 300, 32, 2, 16)
                .with(Feature.CROSS, Feature.KEY_MASS, Feature.WINDOW).build();
        Problem large = Problem.builder(12, 2, 70, 900, 96, 2, 48)
                .with(Feature.CROSS, Feature.KEY_MASS, Feature.CAUSAL).build();
        AttentionOutput first = JavaAttentionTest.run("java-vector", small.weights(), small.options(), small.input());
        small.check(first).assertPassed();
        large.check(JavaAttentionTest.run("java-vector", large.weights(), large.options(), large.input()))
                .assertPassed();
        AttentionOutput again = JavaAttentionTest.run("java-vector", small.weights(), small.options(), small.input());
        assertThat(again.keyMass()).as("key_mass of the first call again, after the larger one")
                .isEqualTo(first.keyMass());
        assertThat(again.headsOut()).isEqualTo(first.headsOut());
    }

    @Test
    void aStepAllocatesAboutItsOutput() {
        assumeTrue(ThreadAllocations.current() >= 0, "this JVM does not count a thread's allocations");
        // the scalar kernels: no Vector API objects before C2 has compiled them, only what the pass allocates
        Kernels kernels = ScalarKernels.INSTANCE;
        Step step = Step.of(kernels, 3, 2, 4, 40, 3000);
        step.run(kernels); // the buffers grow once
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long before = ThreadAllocations.current();
            step.run(kernels);
            least = Math.min(least, ThreadAllocations.current() - before);
        }
        // 22 tasks used to take a block of scores, outputs and queries each: 17 KiB at dk 40
        int output = 8 * 40 * Float.BYTES;
        assertThat(least).as("bytes one step allocated besides its output (%d)", output).isLessThan(output + 8192);
    }
}
