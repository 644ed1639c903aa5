package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Device listing and every way of choosing one. */
class DevicesTest {

    @AfterEach
    void clearOverride() {
        System.clearProperty(Devices.DEVICE_PROPERTY);
    }

    @Test
    void listsOpenClDevicesThenJava() {
        Device cl = TestDevices.openCl();
        assertThat(Devices.openClUnavailableReason()).as("OpenCL works, so there is no reason it is unavailable")
                .isEmpty();
        List<Device> all = Devices.list();
        assertThat(all.get(all.size() - 1).isJava()).isTrue();
        assertThat(all).contains(cl);
        for (Device d : Devices.openCl()) {
            assertThat(d.name()).isNotBlank();
            assertThat(d.backend()).isEqualTo("opencl");
            assertThat(d.info().vendor()).isNotBlank();
            assertThat(d.info().driverVersion()).isNotBlank();
            assertThat(d.info().version()).startsWith("OpenCL");
            assertThat(d.info().computeUnits()).isPositive();
            assertThat(d.info().globalMemBytes()).isPositive();
            assertThat(d.info().localMemBytes()).isPositive();
            assertThat(d.info().maxAllocBytes()).isPositive().isLessThanOrEqualTo(d.info().globalMemBytes());
            assertThat(Devices.select(d.spec())).isEqualTo(d);
        }
    }

    @Test
    void selectsBySpec() {
        Device cl = TestDevices.openCl();
        assertThat(Devices.select("java").isJava()).isTrue();
        assertThat(Devices.select("CPU").isJava()).as("cpu names the Java path").isTrue();
        assertThat(Devices.select("opencl").backend()).isEqualTo("opencl");
        assertThat(Devices.select("opencl:" + cl.index())).isEqualTo(cl);
        String part = cl.name().substring(0, Math.min(6, cl.name().length())).toUpperCase();
        assertThat(Devices.select(part).backend()).isEqualTo("opencl");
        if (cl.type() == Device.Type.CPU) {
            assertThat(Devices.select("opencl-cpu").type()).isEqualTo(Device.Type.CPU);
        }
        if (Devices.openCl().stream().noneMatch(d -> d.type() == Device.Type.GPU)) {
            assertThatThrownBy(() -> Devices.select("gpu")).isInstanceOf(ClattnException.class)
                    .hasMessageContaining("GPU");
        }
    }

    @Test
    void badSpecsNameTheChoices() {
        TestDevices.openCl();
        assertThatThrownBy(() -> Devices.select("opencl:99")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("opencl:99").hasMessageContaining("opencl:0");
        assertThatThrownBy(() -> Devices.select("opencl:x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("integer");
        assertThatThrownBy(() -> Devices.select("no-such-device")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-such-device").hasMessageContaining("java");
        assertThatThrownBy(() -> Devices.select(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("device");
    }

    @Test
    void automaticChoicePrefersOpenClAndHonoursOverride() {
        Device cl = TestDevices.openCl();
        Device auto = Devices.auto();
        assertThat(auto.backend()).isEqualTo("opencl");
        assertThat(auto.automatic()).isTrue();
        if (Devices.openCl().stream().noneMatch(d -> d.type() == Device.Type.GPU || d.type() == Device.Type.ACCELERATOR)) {
            assertThat(auto).isEqualTo(cl);
        }
        System.setProperty(Devices.DEVICE_PROPERTY, "java");
        assertThat(Devices.auto().isJava()).isTrue();
        System.setProperty(Devices.DEVICE_PROPERTY, "nonsense-device");
        assertThatThrownBy(Devices::auto).isInstanceOf(IllegalArgumentException.class);
    }
}
