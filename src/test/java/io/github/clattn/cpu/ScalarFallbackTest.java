package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.Attention;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ForkedJvm;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.io.IOException;
import java.util.EnumSet;
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
            EnumSet<Feature> f = EnumSet.of(Feature.KEY_PADDING, Feature.PROJECTION_BIAS, Feature.OUTPUT_PROJECTION);
            if (seed % 3 != 0) {
                f.add(Feature.CAUSAL);
            }
            if (seed % 2 == 1) {
                f.add(Feature.CROSS);
            } else {
                f.add(Feature.ATTN_BIAS);
            }
            if (seed < 3) {
                f.add(Feature.WEIGHTS);
            }
            Problem c = Problem.builder(500 + seed, 2, 65, seed % 2 == 0 ? 65 : 130, 20, 3, 13).with(f).build();
            try (Attention attention = Attention.open(c.weights(), c.options(), "java")) {
                AttentionOutput got = attention.forward(c.input());
                System.out.println("path: " + got.path());
                c.check(got).assertPassed();
                System.out.println(c + " matches the control");
            }
        }
    }
}
