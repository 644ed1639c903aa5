package io.github.clattn.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
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
 * The move is two-phased: every existing target is first renamed aside, so a target that cannot be
 * replaced (a sticky folder, a file of another user) is found before any is; a failure in either
 * phase puts every earlier file back.
 */
final class OutputFiles implements AutoCloseable {
    /** Writes the content of one file. */
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Renames a file, replacing the target (a seam for the tests' failures). */
    interface Mover {
        void move(Path from, Path to) throws IOException;
    }

    private final Map<Path, Path> staged = new LinkedHashMap<>();
    private final Map<Path, String> options = new LinkedHashMap<>();
    private final Mover mover;

    OutputFiles() {
        this(OutputFiles::move);
    }

    OutputFiles(Mover mover) {
        this.mover = mover;
    }

    /**
     * Checks before any work that {@code file} can be an output: its folder exists and it is not a
     * folder itself; another option does not name the same file.
     */
    void reserve(String option, Path file) {
        if (file == null) {
            return;
        }
        Path target = target(file);
        Path dir = target.getParent();
        if (Files.isDirectory(target)) {
            throw new UsageException(option + " " + file + ": is a directory, expected a file name");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UsageException(option + " " + file + ": the folder " + dir + " does not exist");
        }
        if (Files.exists(target) && !Files.isWritable(target)) {
            throw new UsageException(option + " " + file + ": the file exists and is read-only; make it writable or "
                    + "choose another name");
        }
        String other = options.putIfAbsent(target, option);
        if (other != null) {
            throw new UsageException(option + " " + file + ": the same file as " + other + "; give each output its own file");
        }
    }

    /** Refuses an input {@code file} that an output option names too: the output would replace it. */
    void notAnOutput(String option, Path file) {
        if (file == null) {
            return;
        }
        String output = options.get(target(file));
        if (output != null) {
            throw new UsageException(option + " " + file + ": also given as " + output + ", which would replace this "
                    + "input; write the output to another file");
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
        Path target = target(file);
        Path tmp = null;
        try {
            // Not Files.createTempFile: its owner-only permissions would stay on the moved file.
            tmp = sibling(target, ".tmp");
            staged.put(target, tmp);
            tmp.toFile().deleteOnExit(); // also gone after Ctrl-C during the write
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                content.writeTo(out);
            }
        } catch (IOException e) {
            throw new CliFailure(option + " " + file + ": cannot write (" + e + ")", e);
        }
    }

    /**
     * Moves every written file into place, replacing existing files: all of them, or (on a
     * failure, which throws) none, every earlier target back as it was.
     */
    void commit() {
        Map<Path, Path> asides = new LinkedHashMap<>();
        List<Path> placed = new ArrayList<>();
        Path current = null;
        try {
            for (Path target : staged.keySet()) {
                current = target;
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    Path aside = sibling(target, ".old");
                    mover.move(target, aside);
                    asides.put(target, aside);
                }
            }
            for (Map.Entry<Path, Path> e : staged.entrySet()) {
                current = e.getKey();
                mover.move(e.getValue(), e.getKey());
                placed.add(e.getKey());
            }
        } catch (IOException ex) {
            undo(placed, asides);
            throw new CliFailure(options.getOrDefault(current, "output") + " " + current
                    + ": cannot move the finished file into place (" + ex + "); no output file was changed", ex);
        }
        placed.forEach(staged::remove);
        asides.values().forEach(OutputFiles::deleteQuietly);
    }

    /** Takes the placed files out and puts the renamed targets back (best effort). */
    private void undo(List<Path> placed, Map<Path, Path> asides) {
        placed.forEach(OutputFiles::deleteQuietly);
        for (Map.Entry<Path, Path> e : asides.entrySet()) {
            try {
                mover.move(e.getValue(), e.getKey());
            } catch (IOException ignored) {
                // the previous content stays under its hidden name beside the target
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException notAtomic) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The absolute, normalised path outputs are keyed and written by. */
    private static Path target(Path file) {
        return file.toAbsolutePath().normalize();
    }

    /** A hidden name beside {@code target}: {@code .NAME.RANDOM.SUFFIX}. */
    private static Path sibling(Path target, String suffix) {
        return target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + suffix);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // best effort: the name starts with a dot
        }
    }

    @Override
    public void close() {
        staged.values().forEach(OutputFiles::deleteQuietly);
        staged.clear();
    }
}
