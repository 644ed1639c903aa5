package io.github.clattn.cpu;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Tuning;
import io.github.clattn.core.Backend;
import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.ProjectedBackend;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The pure-Java backend: one device (this JVM's cores), always available, the fallback of every
 * automatic choice. Its variants are the kernel sets: {@code vector} (the Vector API, when the
 * JVM has {@code jdk.incubator.vector}) and {@code scalar}.
 */
public final class JavaProvider implements BackendProvider {
    @Override
    public String name() {
        return Device.JAVA;
    }

    @Override
    public int listOrder() {
        return 100;
    }

    @Override
    public boolean isFallback() {
        return true;
    }

    @Override
    public List<Device> devices() {
        return List.of(Device.java());
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    @Override
    public int rank(Device device) {
        return 100;
    }

    @Override
    public Optional<Device> select(String spec) {
        return spec.equals("java") || spec.equals("cpu") ? Optional.of(Device.java()) : Optional.empty();
    }

    @Override
    public List<String> specForms() {
        return List.of("java", "cpu");
    }

    /** {@code vector} first when the Vector API kernels load (and are not switched off), then {@code scalar}. */
    @Override
    public List<String> variants(Device device) {
        return JavaKernels.vectorUnavailableReason().isEmpty() ? List.of("vector", "scalar") : List.of("scalar");
    }

    @Override
    public String defaultVariant(Device device) {
        return JavaKernels.select().path().substring("java-".length());
    }

    @Override
    public Backend open(AttentionWeights weights, AttentionOptions options, Device device, String variant) {
        return new JavaAttention(weights, options, variant == null ? JavaKernels.select() : JavaKernels.named(variant));
    }

    @Override
    public ProjectedBackend openProjected(int heads, int kvHeads, int headDim, AttentionOptions options, Device device,
                                          String variant) {
        return new JavaProjected(variant == null ? JavaKernels.select() : JavaKernels.named(variant), heads, kvHeads,
                headDim, options);
    }

    /** Tunes the {@code vector} kernels ({@link JavaTuner}); the scalar ones have nothing to tune. */
    @Override
    public Tuning tune(Device device, String variant, Consumer<String> progress) {
        if (!"vector".equals(variant)) {
            throw new IllegalArgumentException("variant: only the Java path's vector kernels have parameters to tune, "
                    + "got '" + variant + "'" + JavaKernels.vectorUnavailableReason().map(r -> " (" + r + ")").orElse(""));
        }
        JavaTuner.Result r = JavaTuner.tune(progress);
        return new Tuning(device, variant, r.best().toString(), r.file(),
                r.trials().stream().map(JavaTuner.Trial::toString).toList());
    }
}
