package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.opencl.Cl;
import org.jocl.CL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every bad input named in the contract: a clear {@link IllegalArgumentException} or
 * {@link IllegalStateException} naming the argument with expected and actual values, raised
 * before anything reaches the device (checked by arming a fault on the next OpenCL call: a
 * call that reached the device would report the injected fault instead).
 */
class BadInputTest {
    static final int D = 6;
    static final int H = 2;
    static final int DK = 3;

    static java.util.List<String> devices() {
        return TestDevices.specs();
    }

    @AfterEach
    void disarm() {
        Cl.injectFault(0, 0);
    }

    static AttentionWeights weights() {
        return AttentionWeights.builder(D, H, DK).projections(new float[D * H * DK], new float[D * H * DK],
                new float[D * H * DK]).build();
    }

    static Attention open(String spec) {
        return Attention.open(weights(), AttentionOptions.DEFAULT, TestDevices.bySpec(spec));
    }

    /** Arms a fault on the next OpenCL call so any device work would fail differently. */
    static void armDeviceTripwire() {
        Cl.injectFault(1, CL.CL_OUT_OF_RESOURCES);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void wrongXLengthNamesXWithExpectedAndActual(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[2 * 3 * D - 1], 2, 3).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("x:").hasMessageContaining("expected 36").hasMessageContaining("got 35");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void contextOfWrongWidth(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[3 * D], 1, 3)
                    .context(new float[4 * (D + 1)], 4).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("context:").hasMessageContaining("expected 24").hasMessageContaining("got 28");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void validLengthOutsideRange(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            for (int bad : new int[] {-1, 4}) {
                assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[2 * 3 * D], 2, 3)
                        .keyValidLength(new int[] {1, bad}).build()))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("keyValidLength[1]").hasMessageContaining("[0, M=3]")
                        .hasMessageContaining("got " + bad);
            }
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[2 * 3 * D], 2, 3)
                    .keyValidLength(new int[] {1}).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("keyValidLength").hasMessageContaining("expected 2").hasMessageContaining("got 1");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void biasOfWrongShape(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[3 * D], 1, 3)
                    .attnBias(new float[3 * 4]).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("attnBias").hasMessageContaining("[N=3, M=3]").hasMessageContaining("got 12");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void overflowingSizes(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[6], 1 << 20, 1 << 20).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("x").hasMessageContaining("more than a Java array can hold");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void useAfterClose(String spec) {
        Attention a = open(spec);
        a.close();
        a.close(); // idempotent
        assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[D], 1, 1).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void emptyBatchOrSequenceNeverTouchesTheDevice(String spec) {
        try (Attention a = open(spec)) {
            armDeviceTripwire();
            AttentionOutput noBatch = a.forward(AttentionInput.builder(new float[0], 0, 5).build());
            assertThat(noBatch.headsOut()).isEmpty();
            AttentionOutput noTokens = a.forward(AttentionInput.builder(new float[0], 3, 0).returnWeights(true).build());
            assertThat(noTokens.headsOut()).isEmpty();
            assertThat(noTokens.weights()).isEmpty();
            assertThat(noTokens.batch()).isEqualTo(3);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void nullInput(String spec) {
        try (Attention a = open(spec)) {
            assertThatThrownBy(() -> a.forward(null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input");
        }
        assertThatThrownBy(() -> AttentionInput.builder(null, 1, 1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x").hasMessageContaining("null");
        assertThatThrownBy(() -> Attention.open(null, AttentionOptions.DEFAULT, Device.java()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights");
    }

    @org.junit.jupiter.api.Test
    void weightBuilderChecksEveryTensor() {
        float[] p = new float[D * H * DK];
        assertThatThrownBy(() -> AttentionWeights.builder(0, H, DK))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dModel").hasMessageContaining("got 0");
        assertThatThrownBy(() -> AttentionWeights.builder(D, -1, DK))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("heads").hasMessageContaining("got -1");
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("headDim");
        // H*dk not matching the weights: w_k made for 3 heads
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, DK).projections(p, new float[D * 3 * DK], p).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("w_k")
                .hasMessageContaining("expected 36").hasMessageContaining("got 54");
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, DK).projections(p, p, null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("w_v").hasMessageContaining("null");
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, DK).projections(p, p, p)
                .projectionBiases(new float[5], null, null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("b_q").hasMessageContaining("got 5");
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, DK).projections(p, p, p)
                .outputProjection(new float[7], null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("w_o");
        assertThatThrownBy(() -> AttentionWeights.builder(D, H, DK).projections(p, p, p)
                .outputProjection(p, new float[D + 1]).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("b_o");
        org.assertj.core.api.Assertions.assertThatCode(() -> AttentionWeights.builder(1 << 16, 1 << 10, 1 << 10))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> AttentionWeights.builder(1 << 16, 1 << 10, 1 << 10).projections(p, p, p).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("w_q");
        assertThatThrownBy(() -> new AttentionOptions(false, Double.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale");
    }

    @org.junit.jupiter.api.Test
    void bufferLargerThanDeviceMaximumIsRefusedNamingTheLimit() {
        Device device = TestDevices.openCl();
        // The staged path (weights requested) needs a [B,H,N,M] score buffer: make it exceed the
        // device's maximum allocation while every host array stays small.
        long maxFloats = device.info().maxAllocBytes() / 4;
        int n = (int) Math.min(Math.sqrt(maxFloats) + 2, 46000);
        if ((long) n * n <= maxFloats) {
            org.junit.jupiter.api.Assumptions.abort("device allows " + device.info().maxAllocBytes() + " bytes per buffer");
        }
        AttentionWeights w = AttentionWeights.builder(1, 1, 1).projections(new float[1], new float[1], new float[1]).build();
        try (Attention a = Attention.open(w, AttentionOptions.DEFAULT, device)) {
            int live = Cl.liveObjects();
            assertThatThrownBy(() -> a.forward(AttentionInput.builder(new float[n], 1, n).returnWeights(true).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("CL_DEVICE_MAX_MEM_ALLOC_SIZE")
                    .hasMessageContaining(Long.toString(device.info().maxAllocBytes()));
            assertThat(Cl.liveObjects()).as("nothing allocated for a refused call").isEqualTo(live);
        }
    }
}
