package io.github.clattn.core;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Tuning;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A way to compute attention: it lists its devices, ranks them for the automatic choice, reads the
 * device specs that name them, opens layers and tunes its kernels. Providers are found with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/io.github.clattn.core.BackendProvider},
 * mirrored by {@code provides} in {@code module-info.java}): a new backend is one package and one
 * line there. Implementations are stateless apart from what they enumerate once, and thread-safe.
 */
public interface BackendProvider {
    /** The backend's name, the prefix of its device specs and of {@link Device#backend()}: {@code opencl}, {@code java}. */
    String name();

    /** Where its devices come in {@link io.github.clattn.Devices#list()}: lower first. */
    int listOrder();

    /** True for the pure-Java path, the one every automatic failure falls back to. */
    default boolean isFallback() {
        return false;
    }

    /** Every device of this backend; empty when it is unavailable (see {@link #unavailableReason()}). */
    List<Device> devices();

    /** Why this backend has no device (library, driver or device missing), or empty. */
    Optional<String> unavailableReason();

    /**
     * The automatic choice takes the device of lowest rank over every provider but the fallback,
     * among those its provider does not {@link #passOver}.
     */
    int rank(Device device);

    /**
     * Why the automatic choice must pass over {@code device} in this process although it works
     * (an explicit spec still takes it), or empty when it may take it.
     */
    default Optional<String> passOver(Device device) {
        return Optional.empty();
    }

    /**
     * The device a spec names, when the spec is one of this backend's own forms ({@code opencl:1},
     * {@code gpu}); empty when the spec is not for this backend. A spec of this backend that names
     * nothing throws {@link IllegalArgumentException} (malformed, out of range) or
     * {@link io.github.clattn.ClattnException} (this machine lacks such a device).
     */
    Optional<Device> select(String spec);

    /** The spec forms {@link #select} reads, for messages: {@code opencl, opencl:I, gpu}. */
    List<String> specForms();

    /**
     * The kernel variants {@code device} can run, the default first: {@code cpu} and {@code gpu}
     * kernel shapes on OpenCL, {@code vector} and {@code scalar} kernels on the Java path.
     */
    List<String> variants(Device device);

    /** The variant a layer opened without one uses on {@code device}. */
    default String defaultVariant(Device device) {
        return variants(device).get(0);
    }

    /**
     * Opens a layer on {@code device}; {@code variant} null means {@link #defaultVariant}.
     *
     * @throws IllegalArgumentException the variant is not one of {@link #variants}, or a buffer
     *                                  would exceed the device's limits
     * @throws io.github.clattn.ClattnException the device failed
     */
    Backend open(AttentionWeights weights, AttentionOptions options, Device device, String variant);

    /**
     * Opens attention on pre-projected tensors ({@code heads} query heads, {@code kvHeads} K/V heads
     * of {@code headDim}) on {@code device}; {@code variant} null means {@link #defaultVariant}.
     */
    ProjectedBackend openProjected(int heads, int kvHeads, int headDim, AttentionOptions options, Device device,
                                   String variant);

    /** Finds the fastest kernel parameters of {@code variant} on {@code device} and stores them. */
    Tuning tune(Device device, String variant, Consumer<String> progress);
}
