package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Attention;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ForkedJvm;
import io.github.clattn.reference.Problem;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link BoxedKernelWatch}: which passes count as boxed, the streak that triggers a fresh copy of
 * the kernels, and, in a child JVM whose JIT never compiles the Vector API to vector instructions
 * ({@code -XX:TieredStopAtLevel=1}: C1 only, so every pass allocates as boxed kernels do), the
 * replacements themselves, up to the limit, with every result still matching the control.
 */
class BoxedKernelWatchTest {

    @Test
    void aPassCountsAsBoxedOnlyWhenItAllocatedMuchWhileTheJitWasIdle() {
        long work = 1_000_000_000L; // 10 MB at 0.01 byte per multiply-add
        assertThat(BoxedKernelWatch.boxed(150_000_000L, work, false)).isTrue();
        assertThat(BoxedKernelWatch.boxed(150_000_000L, work, true)).as("the JIT compiled meanwhile").isFalse();
        assertThat(BoxedKernelWatch.boxed(9_000_000L, work, false)).as("below 0.01 byte per multiply-add").isFalse();
        assertThat(BoxedKernelWatch.boxed(BoxedKernelWatch.MIN_BYTES, 1000, false)).as("at most 1 MiB").isFalse();
        assertThat(BoxedKernelWatch.boxed(BoxedKernelWatch.MIN_BYTES + 1, 1000, false)).isTrue();
    }

    @Test
    void theStreakCountsBoxedPassesInARowAndRestartsAfterAGoodOne() {
        Kernels k = new VectorKernels();
        long s = 1_000_000_000L;
        assertThat(k.boxedPass(true, 10 * s)).as("first of the streak").isZero();
        assertThat(k.boxedPass(true, 11 * s)).as("second: fewer than MIN_STREAK").isZero();
        assertThat(k.boxedPass(true, 13 * s)).isEqualTo(3 * s);
        assertThat(k.boxedPass(false, 14 * s)).isZero();
        assertThat(k.boxedPass(true, 15 * s)).as("a new streak").isZero();
        assertThat(k.boxedPass(true, 16 * s)).isZero();
        assertThat(k.boxedPass(true, 18 * s)).isEqualTo(3 * s);
        assertThat(ScalarKernels.INSTANCE.boxedPass(true, 18 * s)).isZero();
    }

    @Test
    void onlyTheCurrentCopyIsReplaced() {
        JavaParams d = new VectorKernels().params(); // a parameter set no other test's calls use
        VectorKernels k = new VectorKernels(new JavaParams(d.gemmRows(), d.pvRows(), 128, 32));
        for (boolean manyBlocks : new boolean[] {true, false}) {
            Kernels copy = manyBlocks ? k.manyBlocks() : k.oneBlock();
            Kernels other = manyBlocks ? k.oneBlock() : k.manyBlocks();
            assertThat(k.renewCopy(k)).as("the class itself is not a copy").isFalse();
            assertThat(copy.renewCopy(copy)).as("a copy does not replace copies").isFalse();
            int before = VectorKernels.renewals();
            if (before < VectorKernels.MAX_RENEWALS) {
                assertThat(k.renewCopy(copy)).isTrue();
                assertThat(manyBlocks ? k.manyBlocks() : k.oneBlock()).isNotSameAs(copy);
                assertThat(manyBlocks ? k.oneBlock() : k.manyBlocks()).as("the other copy stays").isSameAs(other);
                assertThat(k.renewCopy(copy)).as("already replaced").isFalse();
                assertThat(VectorKernels.renewals()).isEqualTo(before + 1);
            }
        }
    }

    @Test
    void kernelsThatAlwaysAllocateAreRenewedUpToTheLimitAndStayCorrect() throws IOException, InterruptedException {
        ForkedJvm.Result child = ForkedJvm.run(BoxedKernelWatchTest.class, Map.of(),
                List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "--add-modules", "jdk.incubator.vector"));
        String output = child.stdout() + child.stderr();
        assertThat(child.exitCode()).as("child JVM exit code; output:%n%s", output).isZero();
        assertThat(child.stdout()).as(output).contains("path: java-vector")
                .contains("renewals: " + VectorKernels.MAX_RENEWALS)
                .contains("distinct copies: " + (VectorKernels.MAX_RENEWALS + 1))
                .contains("distinct copy classes: " + (VectorKernels.MAX_RENEWALS + 1)) // each compiled apart
                .contains("every call matches the control");
        assertThat(child.stderr()).as(output).contains("they are compiled afresh");
    }

    /**
     * The child: calls whose keys span several key blocks until the watch has made its last copy
     * (or 120 s), then a few more; every result checked against the control.
     */
    public static void main(String[] args) {
        Problem c = Problem.builder(7, 1, 300, 300, 64, 1, 64).build();
        long deadline = System.nanoTime() + 120_000_000_000L;
        int calls = 0;
        int extra = 3;
        Kernels kernels = JavaKernels.select(); // the layer's kernels: the same instance, no tuning file in tests
        java.util.Set<Kernels> copies = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        try (Attention attention = Attention.open(c.weights(), c.options(), "java")) {
            while (extra > 0 && System.nanoTime() < deadline) {
                AttentionOutput got = attention.forward(c.input());
                c.check(got).assertPassed();
                copies.add(kernels.manyBlocks());
                if (calls++ == 0) {
                    System.out.println("path: " + got.path());
                }
                if (VectorKernels.renewals() == VectorKernels.MAX_RENEWALS) {
                    extra--;
                }
            }
        }
        System.out.println("calls: " + calls);
        System.out.println("renewals: " + VectorKernels.renewals());
        System.out.println("distinct copies: " + copies.size());
        System.out.println("distinct copy classes: " + copies.stream().map(Object::getClass).distinct().count());
        System.out.println("every call matches the control");
    }
}
