package io.github.clattn;

/**
 * Child-JVM main: runs every conformance case on the OpenCL device of this process (so a test
 * can vary the driver's environment) and exits 0 only if all pass, printing one line per case.
 */
public final class ConformanceProbe {
    private ConformanceProbe() {
    }

    public static void main(String[] args) {
        Device device = Devices.select("opencl");
        int failed = 0;
        for (String name : java.util.stream.Stream.concat(ConformanceCase.names().stream(),
                ConformanceCase.v2Names().stream()).toList()) {
            ConformanceCase c = ConformanceCase.load(name);
            try (Attention a = Attention.open(c.weights(), c.options(), device)) {
                AttentionOutput out = a.forward(c.input());
                c.check(out).assertPassed();
                System.out.println("PASS " + name + " " + out.path());
            } catch (AssertionError | RuntimeException e) {
                failed++;
                System.out.println("FAIL " + name + ": " + e.getMessage());
            }
        }
        System.out.println("FAILED=" + failed);
        System.exit(failed == 0 ? 0 : 1);
    }
}
