package io.github.clattn;

import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 200 seeded random configurations, each on the Java path and the OpenCL device, against the
 * float64 reference. Configuration i uses flag combination {@code i % 128}, so every combination
 * of the seven features appears; a failure message starts with the seed that reproduces it
 * ({@code RandomProblem.draw(seed, flags)}).
 */
class RandomSweepTest {
    static final long BASE_SEED = 0x5EED_A77EL;
    static final int CONFIGS = 200;

    static Stream<Arguments> configs() {
        return LongStream.range(0, CONFIGS).boxed()
                .map(i -> Arguments.of(BASE_SEED + i, (int) (i % RandomProblem.ALL_FLAGS)));
    }

    @ParameterizedTest(name = "seed {0} flags {1}")
    @MethodSource("configs")
    void matchesReferenceOnEveryDevice(long seed, int flags) {
        RandomProblem p = RandomProblem.draw(seed, flags);
        Reference.Result want = Reference.compute(p.weights(), p.options(), p.input());
        for (String spec : TestDevices.specs()) {
            Device device = TestDevices.bySpec(spec);
            try (Attention attention = Attention.open(p.weights(), p.options(), device)) {
                p.assertMatches(attention.forward(p.input()), want, device.toString());
            }
        }
    }
}
