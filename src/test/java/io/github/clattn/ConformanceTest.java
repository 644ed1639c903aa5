package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every case of {@code shared/conformance} on the Java path and on the OpenCL device. */
class ConformanceTest {

    static Stream<Arguments> cases() {
        return ConformanceCase.names().stream()
                .flatMap(name -> TestDevices.specs().stream().map(spec -> Arguments.of(name, spec)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesPyTorchReference(String caseName, String deviceSpec) {
        ConformanceCase c = ConformanceCase.load(caseName);
        Device device = TestDevices.bySpec(deviceSpec);
        try (Attention attention = Attention.open(c.weights(), c.options(), device)) {
            AttentionOutput got = attention.forward(c.input());
            String label = caseName + " on " + device;
            Tolerance.assertOutputClose(label + " heads_out", got.headsOut(), ConformanceCase.widen(c.headsOut()));
            if (c.out() != null) {
                Tolerance.assertOutputClose(label + " out", got.out(), ConformanceCase.widen(c.out()));
            } else {
                assertThat(got.out()).as(label + " out without w_o").isNull();
            }
            if (c.weightsExpected() != null) {
                Tolerance.assertWeightsClose(label + " weights", got.weights(), ConformanceCase.widen(c.weightsExpected()));
            }
            for (float v : got.headsOut()) {
                assertThat(Float.isFinite(v)).as(label + " heads_out finite").isTrue();
            }
        }
    }
}
