package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.clattn.core.Backend;
import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.Backends;
import io.github.clattn.core.ProjectedBackend;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
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
        assumeFalse(Backends.all().stream().anyMatch(p -> p.passOver(cl).isPresent()),
                "this JVM runs without libjsig: the automatic choice passes over PoCL (SignalChainingTest covers it)");
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

    @Test
    void automaticChoicePassesOverWhatItsBackendRulesOut() {
        Device gpu = fakeDevice(0, "Fake GPU", Device.Type.GPU);
        Device accelerator = fakeDevice(1, "Fake accelerator", Device.Type.ACCELERATOR);
        Device cpu = fakeDevice(2, "Fake CPU", Device.Type.CPU);
        List<Device> all = List.of(gpu, accelerator, cpu);
        assertThat(Devices.best(List.of(new FakeBackend(all, Set.of())))).contains(gpu);
        assertThat(Devices.best(List.of(new FakeBackend(all, Set.of(gpu))))).contains(accelerator);
        assertThat(Devices.best(List.of(new FakeBackend(all, Set.of(gpu, accelerator))))).contains(cpu);
        assertThat(Devices.best(List.of(new FakeBackend(all, Set.copyOf(all))))).isEmpty();
        assertThat(Devices.best(List.of())).isEmpty();
    }

    private static Device fakeDevice(int index, String name, Device.Type type) {
        return Device.of("fake", index, name, type, new DeviceInfo("Fake platform", "nobody", "OpenCL 3.0", "1", 1,
                1 << 20, 1 << 10, 1 << 20, 1));
    }

    /** A backend of fixed devices, ranked GPU, accelerator, CPU, that passes over {@code ruledOut}. */
    private record FakeBackend(List<Device> devices, Set<Device> ruledOut) implements BackendProvider {
        @Override
        public String name() {
            return "fake";
        }

        @Override
        public int listOrder() {
            return 0;
        }

        @Override
        public Optional<String> unavailableReason() {
            return Optional.empty();
        }

        @Override
        public int rank(Device device) {
            return device.type() == Device.Type.GPU ? 0 : device.type() == Device.Type.ACCELERATOR ? 1 : 2;
        }

        @Override
        public Optional<String> passOver(Device device) {
            return ruledOut.contains(device) ? Optional.of("ruled out by the test") : Optional.empty();
        }

        @Override
        public Optional<Device> select(String spec) {
            return Optional.empty();
        }

        @Override
        public List<String> specForms() {
            return List.of();
        }

        @Override
        public List<String> variants(Device device) {
            return List.of("only");
        }

        @Override
        public Backend open(AttentionWeights weights, AttentionOptions options, Device device, String variant) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ProjectedBackend openProjected(int heads, int kvHeads, int headDim, AttentionOptions options,
                                              Device device, String variant) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Tuning tune(Device device, String variant, Consumer<String> progress) {
            throw new UnsupportedOperationException();
        }
    }
}
