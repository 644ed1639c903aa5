package io.github.clattn.opencl;

import io.github.clattn.core.CacheDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered for every test class (junit-platform.properties, META-INF/services): before the
 * first test of the run, points {@link CacheDir#PROPERTY} at a fresh temporary folder (deleted
 * when the JVM exits) unless the build already set it, so no test reads or writes the user's
 * real cache ({@code ~/.cache/clattn}).
 */
public final class TestCacheDir implements BeforeAllCallback {
    private static Path folder;

    @Override
    public void beforeAll(ExtensionContext context) {
        folder();
    }

    /** The cache folder of this test run. */
    public static synchronized Path folder() {
        if (folder == null) {
            String set = System.getProperty(CacheDir.PROPERTY);
            if (set != null && !set.isBlank()) {
                folder = Path.of(set);
            } else {
                try {
                    folder = Files.createTempDirectory("clattn-test-cache");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                System.setProperty(CacheDir.PROPERTY, folder.toString());
                Path doomed = folder;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(doomed)));
            }
        }
        return folder;
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temporary folder
        }
    }
}
