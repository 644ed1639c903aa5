/**
 * clattn: scaled dot-product attention on OpenCL devices and on a pure-Java path.
 *
 * <p>The API is the package {@code io.github.clattn}; everything else (the backends, the float64
 * reference, the command line) is internal. Backends are found through {@code ServiceLoader}.
 */
module io.github.clattn {
    requires org.slf4j;
    requires jocl;
    // JOCL logs through java.util.logging; opencl.JoclLoader filters one of its records.
    requires java.logging;
    // core.Warmup asks the JIT whether it is still compiling (bench, the Java path's tuner).
    requires java.management;
    requires static jdk.incubator.vector;

    // The command line only: optional dependencies of the library.
    requires static info.picocli;
    requires static ch.qos.logback.classic;
    requires static ch.qos.logback.core;
    requires static org.knowm.xchart;
    requires static java.desktop;

    exports io.github.clattn;

    opens io.github.clattn.cli to info.picocli;

    uses io.github.clattn.core.BackendProvider;
    provides io.github.clattn.core.BackendProvider with
            io.github.clattn.opencl.OpenClProvider,
            io.github.clattn.cpu.JavaProvider;
}
