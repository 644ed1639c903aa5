package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Attention;
import io.github.clattn.AttentionOutput;
import io.github.clattn.Reference;
import io.github.clattn.Tolerance;
import io.github.clattn.ForkedJvm;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector}, as a library user's may be:
 * the Java path must detect that, run its scalar kernels and still match the control. The check
 * runs in a child JVM ({@link #main}) on the test classpath.
 */
class ScalarFallbackTest {

    @Test
    void aJvmWithoutTheVectorModuleRunsTheScalarPathCorrectly() throws IOException, InterruptedException {
        ForkedJvm.Result child = ForkedJvm.run(ScalarFallbackTest.class, Map.of(), List.of("-Xmx512m"));
        String output = child.stdout() + child.stderr();
        assertThat(child.exitCode()).as("child JVM exit code; output:%n%s", output).isZero();
        assertThat(child.stdout()).contains("vector module present: false").contains("path: java-scalar")
                .contains("matches the control");
    }

    /** The child: random conformance-like cases through the public API, checked against the control. */
    public static void main(String[] args) {
        boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        System.out.println("vector module present: " + module);
        System.out.println("reason: " + JavaKernels.vectorUnavailableReason().orElse("(available)"));
        for (long seed = 0; seed < 6; seed++) {
            RandomCase c = RandomCase.of(500 + seed, 2, 65, seed % 2 == 0 ? 65 : 130, 20, 3, 13, seed % 3 != 0,
                    seed % 2 == 1, true, seed % 2 == 0, true, true, seed < 3);
            try (Attention attention = Attention.open(c.weights(), c.options(), "java")) {
                AttentionOutput got = attention.forward(c.input());
                System.out.println("path: " + got.path());
                Reference.Result want = Reference.compute(c.weights(), c.options(), c.input());
                Tolerance.assertOutputClose(c + " heads_out", got.headsOut(), want.headsOut());
                Tolerance.assertOutputClose(c + " out", got.out(), want.out());
                if (c.returnWeights()) {
                    Tolerance.assertWeightsClose(c + " weights", got.weights(), want.weights());
                }
                System.out.println(c + " matches the control");
            }
        }
    }
}
