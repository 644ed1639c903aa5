package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn tune [--device SPEC] [--variant cpu|gpu|vector]}: measures a small space of kernel
 * tile parameters on one device (an OpenCL device, or the Java path: register blocks and block
 * sizes) and stores the fastest in the per-device tuning file, which every layer opened later on
 * that device and driver uses (on the Java path: that CPU model, vector width, thread count and
 * Java release). Every candidate is checked against the float64 reference before it is timed; one
 * that computes wrong results is dropped. One line per candidate on stdout.
 */
@Command(name = "tune", mixinStandardHelpOptions = true,
        header = "Find the fastest kernel tile sizes for an OpenCL device or the Java path and store them.",
        description = {"Checks, then times, a small set of tile parameters for the projection GEMM and the fused "
                + "attention kernel on the device (about 90 s on a 2-core CPU with PoCL; on the Java path the "
                + "register blocks and the key and query blocks, about 15 s) and writes the fastest to "
                + "the tuning file in the cache folder (-Dclattn.cache.dir, else $XDG_CACHE_HOME/clattn, else "
                + "~/.cache/clattn). A candidate whose results differ from the float64 reference is dropped. Delete "
                + "the file to return to the defaults.", ""})
final class TuneCommand extends CliCommand {
    @Option(names = "--device", paramLabel = "SPEC", defaultValue = "opencl",
            description = "The device to tune: opencl (the best OpenCL device, default), opencl:I, part of a name, "
                    + "or cpu (the Java path).")
    String device;

    @Option(names = "--variant", paramLabel = "cpu|gpu|vector",
            description = "Kernel variant to tune (default: the one chosen for the device type; vector on the Java "
                    + "path).")
    String variant;

    @Override
    int execute() {
        Device d = DeviceSpecs.select("--device", device);
        // the Java path's scalar kernels have nothing to tune: only its vector ones are offered
        List<String> tunable = d.isJava()
                ? Devices.variants(d).stream().filter("vector"::equals).toList() : Devices.variants(d);
        if (tunable.isEmpty()) {
            throw new UsageException("--device " + device + ": the Java path runs its scalar kernels here, which have "
                    + "nothing to tune (start the JVM with --add-modules jdk.incubator.vector for the vector ones)");
        }
        String v = d.isJava() ? "vector" : null;
        if (variant != null) {
            v = variant.trim().toLowerCase(Locale.ROOT);
            if (!tunable.contains(v)) {
                throw new UsageException("--variant " + variant + ": expected " + String.join(" or ", tunable));
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
