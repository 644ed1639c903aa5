package io.github.clattn.cli;

import io.github.clattn.Device;
import io.github.clattn.Devices;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn devices [--json]}: every OpenCL platform and device with the properties the library
 * reports, then the pure-Java path, each with the spec that selects it. Without OpenCL, the Java
 * path alone and, on stderr, why OpenCL is missing and how to install a driver.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        header = "List the OpenCL devices and the Java path, with the spec that selects each.",
        description = {"Every OpenCL platform and device with the properties clattn uses, then the pure-Java "
                + "path. Without OpenCL, stderr says why and how to install a driver.", ""})
final class DevicesCommand extends CliCommand {
    @Option(names = "--json", description = "One JSON array on stdout, an object per device.")
    boolean json;

    @Override
    int execute() {
        List<Device> openCl = Devices.openCl();
        Device best = openCl.isEmpty() ? null : Devices.select("opencl");
        List<Device> all = new ArrayList<>(openCl);
        all.add(Device.java());
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Device d : all) {
                rows.add(describe(d, d.equals(best)));
            }
            out().println(Json.arrayOfLines(rows));
        } else {
            printText(out(), openCl, best);
        }
        out().flush();
        Optional<String> reason = Devices.openClUnavailableReason();
        if (openCl.isEmpty()) {
            err().println(name() + ": no OpenCL device (" + reason.orElse("none found") + "); only the Java path is "
                    + "available. To use OpenCL, " + Devices.INSTALL_HINT + ", then run 'clattn devices' again");
            err().flush();
        }
        return 0;
    }

    /** The JSON object of one device; also used by {@code bench} as its {@code device_info}. */
    static Map<String, Object> describe(Device d, boolean best) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("spec", d.spec());
        m.put("kind", d.backend());
        m.put("name", d.name());
        m.put("platform", d.info().platform());
        m.put("vendor", d.info().vendor());
        m.put("type", d.type().name().toLowerCase(Locale.ROOT));
        m.put("version", d.info().version());
        m.put("driver_version", d.info().driverVersion());
        m.put("compute_units", d.info().computeUnits());
        m.put("global_mem_bytes", d.info().globalMemBytes());
        m.put("local_mem_bytes", d.info().localMemBytes());
        m.put("max_alloc_bytes", d.info().maxAllocBytes());
        m.put("max_work_group_size", d.info().maxWorkGroupSize());
        m.put("best_opencl", best);
        return m;
    }

    private static void printText(PrintWriter out, List<Device> openCl, Device best) {
        if (openCl.isEmpty()) {
            out.println("OpenCL: none (see the note on stderr)");
        }
        String platform = null;
        for (Device d : openCl) {
            if (!d.info().platform().equals(platform)) {
                platform = d.info().platform();
                out.println("OpenCL platform: " + platform);
            }
            out.printf(Locale.ROOT, "  %-10s %s%s%n", d.spec(), d.name(), d.equals(best) ? "   (best: --device opencl)" : "");
            out.printf(Locale.ROOT, "  %-10s %s, vendor %s, %s, driver %s%n", "",
                    d.type().name(), d.info().vendor(), d.info().version(), d.info().driverVersion());
            out.printf(Locale.ROOT, "  %-10s %d compute units, %s global memory, %s largest buffer, %s local memory, "
                            + "work-groups up to %d%n", "", d.info().computeUnits(), bytes(d.info().globalMemBytes()),
                    bytes(d.info().maxAllocBytes()), bytes(d.info().localMemBytes()), d.info().maxWorkGroupSize());
        }
        Device java = Device.java();
        out.println("Java path:");
        out.printf(Locale.ROOT, "  %-10s %s   (also: --device cpu)%n", java.spec(), java.name());
        out.printf(Locale.ROOT, "  %-10s Java %s (%s), %d threads, %s maximum heap%n", "", java.info().driverVersion(),
                java.info().vendor(), java.info().computeUnits(), bytes(java.info().globalMemBytes()));
        out.println();
        out.println("Select one with --device SPEC: cpu (the Java path), opencl (the best OpenCL device), opencl:I,");
        out.println("or part of a device name (case-insensitive).");
    }

    /** 1.5 GiB, 512 KiB: binary units with at most one decimal. */
    static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v))
                + " " + units[u];
    }
}
