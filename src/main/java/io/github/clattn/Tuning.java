package io.github.clattn;

import java.nio.file.Path;
import java.util.List;

/**
 * The outcome of tuning a device's kernels ({@link Devices#tune}): the parameters chosen, the file
 * they were stored in (every layer opened later on that device and driver uses them), and one line
 * per candidate tried, dropped ones included.
 *
 * @param device  the device tuned
 * @param variant the kernel variant tuned ({@code cpu} or {@code gpu} on OpenCL)
 * @param best    the chosen parameters, as {@code NAME=value} pairs
 * @param file    where they were stored
 * @param trials  one line per candidate: its parameters and median time, or why it was dropped
 */
public record Tuning(Device device, String variant, String best, Path file, List<String> trials) {
    /**
     * Copies {@code trials}.
     *
     * @param device  the device tuned
     * @param variant the kernel variant tuned
     * @param best    the chosen parameters, as {@code NAME=value} pairs
     * @param file    where they were stored
     * @param trials  one line per candidate
     * @throws NullPointerException {@code trials} is null or holds null
     */
    public Tuning {
        trials = List.copyOf(trials);
    }
}
