package io.github.clattn.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a command's output files all or nothing: each is written to a temporary file beside
 * its target, and only when every one is complete are they moved into place. {@link #close()}
 * deletes whatever was not committed, so a failure leaves no partial or temporary file behind.
 */
final class OutputFiles implements AutoCloseable {
    /** Writes the content of one file. */
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<Path, Path> staged = new LinkedHashMap<>();
    private final Map<Path, String> options = new LinkedHashMap<>();

    /**
     * Checks before any work that {@code file} can be an output: its folder exists and it is not a
     * folder itself; another option does not name the same file.
     */
    void reserve(String option, Path file) {
        if (file == null) {
            return;
        }
        Path target = file.toAbsolutePath().normalize();
        Path dir = target.getParent();
        if (Files.isDirectory(target)) {
            throw new UsageException(option + " " + file + ": is a directory, expected a file name");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UsageException(option + " " + file + ": the folder " + dir + " does not exist");
        }
        String other = options.putIfAbsent(target, option);
        if (other != null) {
            throw new UsageException(option + " " + file + ": the same file as " + other + "; give each output its own file");
        }
    }

    /** Requires {@code file}'s name to end in one of {@code extensions} (case-insensitive). */
    static String requireExtension(String option, Path file, String... extensions) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String ext : extensions) {
            if (name.endsWith("." + ext)) {
                return ext;
            }
        }
        throw new UsageException(option + " " + file + ": expected a file name ending in ." + String.join(" or .", extensions));
    }

    /** Writes {@code content} to a temporary file beside {@code file}; {@link #commit()} moves it into place. */
    void write(String option, Path file, Content content) {
        Path target = file.toAbsolutePath().normalize();
        Path tmp = null;
        try {
            // Not Files.createTempFile: its owner-only permissions would stay on the moved file.
            tmp = target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
            staged.put(target, tmp);
            tmp.toFile().deleteOnExit(); // also gone after Ctrl-C during the write
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                content.writeTo(out);
            }
        } catch (IOException e) {
            throw new CliFailure(option + " " + file + ": cannot write (" + e + ")", e);
        }
    }

    /** Moves every written file into place, replacing existing files. */
    void commit() {
        List<Path> done = new ArrayList<>();
        for (Map.Entry<Path, Path> e : staged.entrySet()) {
            try {
                try {
                    Files.move(e.getValue(), e.getKey(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException notAtomic) {
                    Files.move(e.getValue(), e.getKey(), StandardCopyOption.REPLACE_EXISTING);
                }
                done.add(e.getKey());
            } catch (IOException ex) {
                throw new CliFailure(options.getOrDefault(e.getKey(), "output") + " " + e.getKey()
                        + ": cannot move the finished file into place (" + ex + ")", ex);
            }
        }
        done.forEach(staged::remove);
    }

    @Override
    public void close() {
        for (Path tmp : staged.values()) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: the temporary name starts with a dot and ends in .tmp
            }
        }
        staged.clear();
    }
}
