package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.Verification;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn verify [--device SPEC]... [--json]}: the self-check of {@link Devices#verify} on
 * each device: one line per case with its error as a fraction of the tolerance, then a verdict
 * line per device. Exit 0 when every case passed, 1 otherwise.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        header = "Check every kernel variant of a device against a float64 reference.",
        description = {"Runs a fixed, seeded battery of attention problems (every feature combination, sizes that are "
                + "not multiples of any tile, more than 65536 keys) on every kernel variant the device can run, and "
                + "compares each result with a float64 computation within the conformance tolerance. Drivers "
                + "miscompile: run it once on a new device or driver. Exit status 0 when every case passes, 1 when "
                + "any fails.", ""},
        footerHeading = "%nExamples:%n",
        footer = {"  clattn verify --device opencl", "  clattn verify --device cpu --json"})
final class VerifyCommand extends CliCommand {
    @Option(names = "--device", paramLabel = "SPEC",
            description = "A device to check (repeatable): cpu, opencl, opencl:I or part of a name. Default: every "
                    + "OpenCL device and the Java path.")
    List<String> deviceSpecs;

    @Option(names = "--json", description = "One JSON array on stdout, an object per case: case, device, path, "
            + "max_abs_err, tolerance, passed.")
    boolean json;

    private static final String ROW = "%-58s %-9s %-17s %10s %10s %8s  %s%n";

    @Override
    int execute() {
        List<Device> devices = new ArrayList<>();
        if (deviceSpecs == null || deviceSpecs.isEmpty()) {
            devices.addAll(Devices.list());
        } else {
            LinkedHashSet<Device> chosen = new LinkedHashSet<>();
            for (String spec : deviceSpecs) {
                chosen.add(DeviceSpecs.select("--device", spec));
            }
            devices.addAll(chosen);
        }
        if (!json) {
            out().printf(Locale.ROOT, ROW, "case", "device", "path", "max|err|", "tolerance", "err/tol", "");
            out().flush();
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        List<String> verdicts = new ArrayList<>();
        boolean passed = true;
        for (Device device : devices) {
            Verification v;
            try {
                v = Devices.verify(device, c -> {
                    if (json) {
                        rows.add(toJson(c));
                    } else {
                        out().printf(Locale.ROOT, ROW, c.name(), c.device(), c.path(), sci(c.maxAbsError()),
                                sci(c.tolerance()), String.format(Locale.ROOT, "%.3f", c.fractionOfTolerance()),
                                c.passed() ? "ok" : "FAIL " + c.detail().replace('\n', ' '));
                        out().flush();
                    }
                });
            } catch (ClattnException e) {
                throw new CliFailure("verify " + device.spec() + ": " + e.getMessage(), e);
            }
            passed &= v.passed();
            verdicts.add(v.verdict());
            if (!json) {
                out().println("verify: " + v.verdict());
                out().flush();
            }
        }
        if (json) {
            out().println(Json.arrayOfLines(rows));
            out().flush();
        }
        if (!passed) {
            err().println(name() + ": " + String.join("; ", verdicts.stream().filter(s -> s.startsWith("FAIL")).toList()));
            err().flush();
            return Main.EXIT_FAILURE;
        }
        return 0;
    }

    private static String sci(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2e", v) : String.valueOf(v);
    }

    private static Map<String, Object> toJson(Verification.Case c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("case", c.name());
        m.put("device", c.device());
        m.put("path", c.path());
        m.put("max_abs_err", c.maxAbsError());
        m.put("tolerance", c.tolerance());
        m.put("passed", c.passed());
        return m;
    }
}
