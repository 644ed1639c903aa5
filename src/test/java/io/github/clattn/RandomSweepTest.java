package io.github.clattn;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Verdict;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One seeded random problem per combination of the layer {@link Feature}s (256), each with a
 * well-spread half of the decoder features (grouped-query heads, RoPE), sizes drawn from the
 * seed too (none a multiple of any tile, half of them on a vector or block edge), each on the Java
 * path and the OpenCL device against the float64 reference. A failure message starts with the
 * problem's description, seed included, which rebuilds it ({@code Problem.random(seed, features, 300)}).
 */
class RandomSweepTest {
    static final long BASE_SEED = 0x5EED_A77EL;
    static final List<Set<Feature>> COMBINATIONS = Feature.sweep(Feature.LAYER, Feature.DECODER);

    static Stream<Arguments> configs() {
        return IntStream.range(0, COMBINATIONS.size())
                .mapToObj(i -> Arguments.of(BASE_SEED + i, Feature.describe(COMBINATIONS.get(i))));
    }

    @ParameterizedTest(name = "seed {0} {1}")
    @MethodSource("configs")
    void matchesReferenceOnEveryDevice(long seed, String features) {
        Problem p = Problem.random(seed, Feature.parse(features), 300);
        var want = p.reference();
        for (String spec : TestDevices.specs()) {
            Device device = TestDevices.bySpec(spec);
            try (Attention attention = Attention.open(p.weights(), p.options(), device)) {
                Verdict v = want.compare(p + " on " + device, attention.forward(p.input()));
                v.assertPassed();
            }
        }
    }
}
