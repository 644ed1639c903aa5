package io.github.clattn.cpu;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the kernels of the Java path: the vectorized ones when {@code jdk.incubator.vector} is in
 * the boot layer (the JVM was started with {@code --add-modules jdk.incubator.vector}) and the
 * class behind them links, else the scalar ones. The module is probed once per process;
 * {@value #VECTOR_PROPERTY}{@code =false} forces the scalar kernels for layers created while it
 * is set (tests use it to run both paths in one JVM). The vector kernels run with the parameters
 * {@code clattn tune --device cpu} stored for this machine ({@link JavaTuner}), else the defaults.
 */
final class JavaKernels {
    /** System property: {@code false} selects the scalar kernels even when the Vector API is present. */
    static final String VECTOR_PROPERTY = "clattn.java.vector";

    private static final Logger LOG = LoggerFactory.getLogger(JavaKernels.class);

    private JavaKernels() {
    }

    /** The kernels a layer created now uses. */
    static Kernels select() {
        if ("false".equalsIgnoreCase(System.getProperty(VECTOR_PROPERTY, "").trim())) {
            LOG.debug("Java path: scalar kernels (-D{}=false)", VECTOR_PROPERTY);
            return ScalarKernels.INSTANCE;
        }
        Kernels vector = Probe.OUTCOME.kernels();
        if (vector != null) {
            LOG.debug("Java path: Vector API kernels, {} float lanes", vector.lanes());
            return tuned(vector);
        }
        LOG.debug("Java path: scalar kernels ({})", Probe.OUTCOME.reason());
        return ScalarKernels.INSTANCE;
    }

    /** The kernels of a variant: {@code vector} or {@code scalar}. */
    static Kernels named(String variant) {
        switch (variant) {
            case "scalar":
                return ScalarKernels.INSTANCE;
            case "vector":
                if (Probe.OUTCOME.kernels() == null) {
                    throw new IllegalArgumentException("variant: vector kernels unavailable: " + Probe.OUTCOME.reason());
                }
                return tuned(Probe.OUTCOME.kernels());
            default:
                throw new IllegalArgumentException("variant: expected vector or scalar, got '" + variant + "'");
        }
    }

    /** The vector kernels with the parameters stored for this machine by {@link JavaTuner}, if any. */
    private static Kernels tuned(Kernels vector) {
        return JavaTuner.stored(vector.lanes()).map(p -> {
            LOG.debug("Java path: tuned parameters {} ({})", p, JavaTuner.file(vector.lanes()));
            return vector.withParams(p);
        }).orElse(vector);
    }

    /** Why the vectorized kernels are unavailable in this JVM, or empty when they are available. */
    static Optional<String> vectorUnavailableReason() {
        return Probe.OUTCOME.kernels() == null ? Optional.of(Probe.OUTCOME.reason()) : Optional.empty();
    }

    /** Runs once, on first use: the Vector API classes are only touched after the module check. */
    private static final class Probe {
        record Outcome(Kernels kernels, String reason) {
        }

        static final Outcome OUTCOME = probe();

        private static Outcome probe() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return new Outcome(null,
                        "module jdk.incubator.vector not loaded; start the JVM with --add-modules jdk.incubator.vector");
            }
            try {
                Class<?> c = Class.forName("io.github.clattn.cpu.VectorKernels");
                return new Outcome((Kernels) c.getDeclaredConstructor().newInstance(), "");
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                LOG.debug("Vector API probe failed", e);
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                return new Outcome(null, "Vector API kernels unavailable: " + cause);
            }
        }
    }
}
