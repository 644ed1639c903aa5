package io.github.clattn.core;

import io.github.clattn.Device;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * clattn's per-user cache folder, holding program binaries ({@code programs/}) and tuned kernel
 * parameters ({@code tuning/}). It is the system property {@value #PROPERTY} when set, else
 * {@code $XDG_CACHE_HOME/clattn}, else {@code ~/.cache/clattn}; it is read on every use, so a
 * property set before a layer is opened takes effect. Files are written to a temporary name and
 * moved into place, so a reader never sees half a file.
 */
public final class CacheDir {
    /** System property naming the cache folder. */
    public static final String PROPERTY = "clattn.cache.dir";

    private CacheDir() {
    }

    /** The cache folder now in effect (it may not exist yet). */
    public static Path path() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            return Paths.get(p);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Paths.get(xdg, "clattn");
        }
        return Paths.get(System.getProperty("user.home"), ".cache", "clattn");
    }

    /** A file-name-safe form of a device's name and driver version, the key of its files. */
    public static String deviceKey(Device device) {
        String raw = device.name() + "_" + device.info().driverVersion();
        return raw.replaceAll("[^A-Za-z0-9._+-]+", "_");
    }

    /**
     * The properties of a tuning file, or empty when there is none.
     *
     * @param file the file
     * @return its properties, or empty when it is not a regular file
     * @throws IOException it exists but cannot be read
     */
    public static Optional<Properties> readProperties(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        return Optional.of(p);
    }

    /**
     * Writes a tuning file atomically: a first comment line {@code title} with the time, one comment
     * line per entry of {@code notes}, then {@code values}.
     *
     * @param file   the file
     * @param title  what wrote it
     * @param notes  comment lines (the trials of a tuning run)
     * @param values the properties
     * @throws IOException it cannot be written
     */
    public static void writeProperties(Path file, String title, List<String> notes, Properties values)
            throws IOException {
        StringBuilder text = new StringBuilder();
        text.append("# ").append(title).append(", written ").append(Instant.now()).append('\n');
        for (String note : notes) {
            text.append("# ").append(note).append('\n');
        }
        StringWriter w = new StringWriter();
        values.store(w, null);
        text.append(w);
        writeAtomically(file, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The bytes of {@code file}. Through {@link FileInputStream}, not {@code Files.readAllBytes}: a
     * channel read goes through a temporary direct buffer of the whole read, which the JDK then
     * keeps per thread (a 27 MB program binary left 27 MB of native memory for good).
     */
    public static byte[] readAll(Path file) throws IOException {
        try (InputStream in = new FileInputStream(file.toFile())) {
            return in.readAllBytes();
        }
    }

    /**
     * Writes {@code data} to {@code target} through a temporary file in the same folder (with a
     * {@link FileOutputStream}, for the reason {@link #readAll} gives).
     */
    public static void writeAtomically(Path target, byte[] data) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            try (OutputStream out = new FileOutputStream(tmp.toFile())) {
                out.write(data);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static String sha256(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
