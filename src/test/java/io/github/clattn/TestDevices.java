package io.github.clattn;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Devices under test. The OpenCL device is the first CPU OpenCL device (PoCL on CI), else any
 * OpenCL device. Without one the OpenCL tests are skipped with the reason, except under
 * {@code CI=true}, where they fail: CI must always exercise the OpenCL path.
 */
public final class TestDevices {
    private TestDevices() {
    }

    public static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    public static Device openCl() {
        List<Device> all = Devices.openCl();
        if (all.isEmpty()) {
            String why = "no OpenCL device: " + Devices.openClUnavailableReason().orElse("none found") + "; "
                    + Devices.INSTALL_HINT;
            if (ci()) {
                fail("CI=true but " + why);
            }
            Assumptions.abort(why);
        }
        return all.stream().filter(d -> d.type() == Device.Type.CPU).findFirst().orElse(all.get(0));
    }

    /** The devices every correctness test runs on: the Java path and the OpenCL device. */
    public static List<String> specs() {
        return List.of("java", "opencl");
    }

    public static Device bySpec(String spec) {
        return spec.equals("opencl") ? openCl() : Device.java();
    }
}
