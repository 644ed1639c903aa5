package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;

/** Resolves a {@code --device} value through {@link Devices#select}, naming the option in errors. */
final class DeviceSpecs {
    private DeviceSpecs() {
    }

    /**
     * The device {@code spec} names. An unknown spec is a usage error (exit 2); a well-formed spec
     * that this machine cannot satisfy ({@code opencl} without OpenCL) is a runtime failure
     * (exit 1), with the library's install hint.
     */
    static Device select(String option, String spec) {
        try {
            return Devices.select(spec);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            if (message.startsWith("device: ")) {
                message = message.substring("device: ".length());
            }
            throw new UsageException(option + " " + spec + ": " + message);
        } catch (ClattnException e) {
            throw new CliFailure(option + " " + spec + ": " + e.getMessage(), e);
        }
    }
}
