package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Verdict;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.EnumSet;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The vector kernels' two separately compiled copies ({@link Kernels#manyBlocks}, {@link
 * Kernels#oneBlock}): hidden classes of their own, each made once per parameter set, computing the
 * same bits as the original; the attention pass runs on the first when the keys span several key
 * blocks, else on the second.
 */
class ManyBlocksCopyTest {

    @Test
    void theCopyIsAHiddenClassMadeOncePerParameterSet() {
        Kernels original = JavaKernels.named("vector");
        Kernels copy = original.manyBlocks();
        assertThat(copy.getClass()).isNotSameAs(original.getClass());
        assertThat(copy.getClass().isHidden()).isTrue();
        assertThat(copy.getClass().getName()).startsWith(original.getClass().getName() + "/");
        assertThat(copy.path()).isEqualTo("java-vector");
        assertThat(copy.params()).isEqualTo(original.params());
        assertThat(copy.manyBlocks()).isSameAs(copy);
        assertThat(original.manyBlocks()).isSameAs(copy);

        JavaParams other = original.params().with(JavaParams.GEMM_ROWS, 4);
        Kernels otherCopy = original.withParams(other).manyBlocks();
        assertThat(otherCopy.params()).isEqualTo(other);
        assertThat(otherCopy).isNotSameAs(copy);
        assertThat(otherCopy.getClass().isHidden()).isTrue();
        if (VectorKernels.renewals() == 0) { // a renewal gives the later copies of its kind a class of their own
            assertThat(otherCopy.getClass()).as("one class serves every parameter set").isSameAs(copy.getClass());
        }

        Kernels one = original.oneBlock();
        assertThat(one.getClass().isHidden()).isTrue();
        assertThat(one.getClass()).as("compiled apart: a class of its own").isNotSameAs(copy.getClass())
                .isNotSameAs(original.getClass());
        assertThat(one.params()).isEqualTo(original.params());
        assertThat(one.oneBlock()).isSameAs(one);
        assertThat(original.oneBlock()).isSameAs(one);
    }

    @Test
    void theScalarKernelsAreTheirOwnCopy() {
        Kernels scalar = JavaKernels.named("scalar");
        assertThat(scalar.manyBlocks()).isSameAs(scalar);
        assertThat(scalar.oneBlock()).isSameAs(scalar);
    }

    @Test
    void theCopiesComputeTheSameBits() {
        Kernels original = JavaKernels.named("vector");
        for (Kernels copy : new Kernels[] {original.manyBlocks(), original.oneBlock()}) {
            SplittableRandom random = new SplittableRandom(0x5EED);
            int dk = 64;
            int width = 4 * original.keyStep();
            int ldkt = original.keyStride(width);
            float[] q = fill(random, 8 * dk);
            float[] kt = fill(random, dk * ldkt);
            float[] a = new float[8 * width];
            float[] b = new float[8 * width];
            original.scores(q, 0, 8, kt, 0, ldkt, dk, width, 0.125f, a, width);
            copy.scores(q, 0, 8, kt, 0, ldkt, dk, width, 0.125f, b, width);
            assertThat(b).isEqualTo(a);

            float[] v = fill(random, width * dk);
            float[] oa = new float[8 * dk];
            float[] ob = new float[8 * dk];
            original.weightedValues(a, 0, width, 8, width, v, 0, dk, dk, oa, 0, dk);
            copy.weightedValues(a, 0, width, 8, width, v, 0, dk, dk, ob, 0, dk);
            assertThat(ob).isEqualTo(oa);
        }
    }

    @Test
    void attentionRunsOnTheCopyForItsNumberOfKeyBlocksAndMatchesTheReference() {
        Kernels vector = JavaKernels.named("vector");
        AtomicInteger onMany = new AtomicInteger();
        AtomicInteger onOne = new AtomicInteger();
        AtomicInteger onOriginal = new AtomicInteger();
        Kernels kernels = counting(vector, onOriginal, counting(vector.manyBlocks(), onMany, null, null),
                counting(vector.oneBlock(), onOne, null, null));
        int block = vector.params().keyBlock();

        Problem several = Problem.builder(0xB10C, 1, 40, 3 * block + 17, 64, 2, 32).label("several key blocks")
                .with(EnumSet.of(Feature.CROSS, Feature.LSE)).build();
        Verdict v = several.check(new JavaAttention(several.weights(), several.options(), kernels)
                .forward(several.input()));
        assertThat(v.passed()).as(v.report()).isTrue();
        assertThat(onMany.get()).isPositive();
        assertThat(onOne.get()).isZero();
        assertThat(onOriginal.get()).isZero();

        onMany.set(0);
        Problem one = Problem.builder(0xB10D, 1, 40, block, 64, 2, 32).label("one key block")
                .with(EnumSet.of(Feature.CROSS)).build();
        v = one.check(new JavaAttention(one.weights(), one.options(), kernels).forward(one.input()));
        assertThat(v.passed()).as(v.report()).isTrue();
        assertThat(onOne.get()).isPositive();
        assertThat(onMany.get()).isZero();
        assertThat(onOriginal.get()).isZero();
    }

    /**
     * {@code target}, counting its score calls; {@code manyBlocks()} and {@code oneBlock()} give
     * {@code many} and {@code one} (itself when null).
     */
    private static Kernels counting(Kernels target, AtomicInteger scoreCalls, Kernels many, Kernels one) {
        Kernels[] self = new Kernels[1];
        self[0] = (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("manyBlocks")) {
                        return many != null ? many : self[0];
                    }
                    if (method.getName().equals("oneBlock")) {
                        return one != null ? one : self[0];
                    }
                    if (method.getName().equals("scores")) {
                        scoreCalls.incrementAndGet();
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        return self[0];
    }

    private static float[] fill(SplittableRandom random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        return x;
    }
}
