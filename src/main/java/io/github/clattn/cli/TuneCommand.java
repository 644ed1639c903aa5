package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn tune [--device SPEC] [--variant cpu|gpu]}: measures a small space of kernel tile
 * parameters on one device and stores the fastest in the per-device tuning file, which every layer
 * opened later on that device and driver uses. Every candidate is checked against the float64
 * reference before it is timed; one that computes wrong results is dropped. One line per
 * candidate on stdout.
 */
@Command(name = "tune", mixinStandardHelpOptions = true,
        header = "Find the fastest kernel tile sizes for an OpenCL device and store them.",
        description = {"Checks, then times, a small set of tile parameters for the projection GEMM and the fused "
                + "attention kernel on the device (under a minute on a 2-core CPU with PoCL) and writes the fastest to "
                + "the tuning file in the cache folder (-Dclattn.cache.dir, else $XDG_CACHE_HOME/clattn, else "
                + "~/.cache/clattn). A candidate whose results differ from the float64 reference is dropped. Delete "
                + "the file to return to the defaults.", ""})
final class TuneCommand extends CliCommand {
    @Option(names = "--device", paramLabel = "SPEC", defaultValue = "opencl",
            description = "The OpenCL device to tune: opencl (the best one, default), opencl:I or part of a name.")
    String device;

    @Option(names = "--variant", paramLabel = "cpu|gpu",
            description = "Kernel variant to tune (default: the one chosen for the device type).")
    String variant;

    @Override
    int execute() {
        Device d = DeviceSpecs.select("--device", device);
        if (d.isJava()) {
            throw new UsageException("--device " + device + ": the Java path has no kernels to tune; "
                    + "choose an OpenCL device (see 'clattn devices')");
        }
        String v = null;
        if (variant != null) {
            v = variant.trim().toLowerCase(Locale.ROOT);
            if (!Devices.variants(d).contains(v)) {
                throw new UsageException("--variant " + variant + ": expected " + String.join(" or ", Devices.variants(d)));
            }
        }
        try {
            Devices.tune(d, v, line -> { // one line per candidate, then "Best: ... -> file"
                out().println(line);
                out().flush();
            });
            return 0;
        } catch (ClattnException e) {
            throw new CliFailure("tuning " + d.spec() + " failed: " + e.getMessage(), e);
        }
    }
}
