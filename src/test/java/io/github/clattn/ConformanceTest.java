package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of {@code shared/conformance} ({@code manifest.json}, and the decoder-era cases of
 * {@code manifest-v2.json} whose features this build implements) on the Java path and on the OpenCL
 * device.
 */
class ConformanceTest {

    static Stream<Arguments> cases() {
        return Stream.concat(ConformanceCase.names().stream(), ConformanceCase.v2Names().stream())
                .flatMap(name -> TestDevices.specs().stream().map(spec -> Arguments.of(name, spec)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesPyTorchReference(String caseName, String deviceSpec) {
        ConformanceCase c = ConformanceCase.load(caseName);
        Device device = TestDevices.bySpec(deviceSpec);
        try (Attention attention = Attention.open(c.weights(), c.options(), device)) {
            AttentionOutput got = attention.forward(c.input());
            c.check(got).assertPassed();
            assertThat(got.weights()).as(caseName + " weights were asked for").isNotNull();
            for (float v : got.headsOut()) {
                assertThat(Float.isFinite(v)).as(caseName + " on " + device + " heads_out finite").isTrue();
            }
        }
    }
}
