package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.opencl.KernelVariant;
import io.github.clattn.opencl.Tuner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn tune [--device SPEC] [--variant cpu|gpu]}: measures a small space of kernel tile
 * parameters on one OpenCL device and stores the fastest in the per-device tuning file, which every
 * layer opened later on that device and driver uses. One line per candidate on stdout.
 */
@Command(name = "tune", mixinStandardHelpOptions = true,
        header = "Find the fastest kernel tile sizes for an OpenCL device and store them.",
        description = {"Times a small set of tile parameters for the projection GEMM and the fused attention kernel "
                + "on the device (under a minute on a 2-core CPU with PoCL) and writes the fastest to the tuning file "
                + "in the cache folder (-Dclattn.cache.dir, else $XDG_CACHE_HOME/clattn, else ~/.cache/clattn). "
                + "Delete the file to return to the defaults.", ""})
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
        KernelVariant v = parseVariant(d);
        try {
            Tuner.tune(d, v, line -> { // one line per candidate, then "Best: ... -> file"
                out().println(line);
                out().flush();
            });
            return 0;
        } catch (ClattnException e) {
            throw new CliFailure("tuning " + d.spec() + " failed: " + e.getMessage(), e);
        }
    }

    private KernelVariant parseVariant(Device d) {
        if (variant == null) {
            return KernelVariant.chosen(d);
        }
        switch (variant.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "cpu":
                return KernelVariant.CPU;
            case "gpu":
                return KernelVariant.GPU;
            default:
                throw new UsageException("--variant " + variant + ": expected cpu or gpu");
        }
    }
}
