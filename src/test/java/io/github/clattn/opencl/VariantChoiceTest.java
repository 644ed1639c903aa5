package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.Attention;
import io.github.clattn.AttentionOptions;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The variant follows the device type unless {@value KernelVariant#PROPERTY} forces one. */
class VariantChoiceTest {
    @AfterEach
    void clear() {
        System.clearProperty(KernelVariant.PROPERTY);
    }

    @Test
    void cpuDevicesGetCpuKernelsAndThePropertyOverrides() {
        Device device = TestDevices.openCl();
        KernelVariant natural = device.type() == Device.Type.CPU ? KernelVariant.CPU : KernelVariant.GPU;
        assertThat(KernelVariant.forDevice(device)).isEqualTo(natural);
        Problem c = Problem.builder(3, 1, 9, 9, 8, 2, 4).with(Feature.CAUSAL).build();
        try (Attention a = Attention.open(c.weights(), c.options(), device)) {
            assertThat(a.forward(c.input()).path()).isEqualTo("opencl-fused-" + natural.label());
        }
        for (KernelVariant forced : KernelVariant.values()) {
            System.setProperty(KernelVariant.PROPERTY, forced.label());
            try (Attention a = Attention.open(c.weights(), c.options(), device)) {
                assertThat(a.forward(c.input()).path()).isEqualTo("opencl-fused-" + forced.label());
            }
        }
    }

    @Test
    void anUnknownVariantIsRefusedByName() {
        System.setProperty(KernelVariant.PROPERTY, "fpga");
        Device device = TestDevices.openCl();
        Problem c = Problem.builder(3, 1, 2, 2, 4, 1, 4).build();
        assertThatThrownBy(() -> Attention.open(c.weights(), AttentionOptions.DEFAULT, device).close())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(KernelVariant.PROPERTY)
                .hasMessageContaining("fpga");
    }
}
