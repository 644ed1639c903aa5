package io.github.clattn.opencl;

import io.github.clattn.core.CacheDir;
import io.github.clattn.core.SystemProperties;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Program binaries on disk, one file per key under {@code <cache>/programs/}. The key names the
 * device, driver version, build options and a hash of the sources; the file repeats the whole
 * key and a CRC-32 of the binary, so a file that is truncated, corrupt or from another key is
 * ignored (the caller builds from source and stores a fresh one). Failing to read or write the
 * cache is never an error, only a DEBUG line.
 *
 * <p>The folder is kept under {@value #MAX_MIB_PROPERTY} MiB (default {@value #DEFAULT_MAX_MIB}):
 * every tuning candidate, build option and kernel source version leaves a binary (PoCL's staged
 * program alone is 27 MB), so without a bound the folder grows with every upgrade. After each store
 * the least recently used binaries go first (a load marks its file used by its modification time),
 * never the one just written; temporary files that a writer killed mid-write left behind are removed
 * after {@link #STALE_TEMPORARY}. Another process may delete a file this one is about to read: the
 * read then fails its checks or finds nothing, and the program is built from source.
 *
 * <pre>
 *   "CLATTNPB" | int version | int keyBytes | key (UTF-8) | long binaryBytes | long crc32 | binary
 * </pre>
 */
final class ProgramBinaryCache {
    private static final Logger LOG = LoggerFactory.getLogger(ProgramBinaryCache.class);
    private static final byte[] MAGIC = "CLATTNPB".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    /** System property: the most MiB of program binaries the cache keeps (a positive integer). */
    static final String MAX_MIB_PROPERTY = "clattn.cache.programsMiB";
    static final int DEFAULT_MAX_MIB = 256;
    /** A temporary file older than this was left by a writer that died before moving it into place. */
    static final Duration STALE_TEMPORARY = Duration.ofHours(1);
    private static volatile String warnedFor;
    private static final AtomicBoolean PRUNED_BEFORE = new AtomicBoolean();
    private static final AtomicBoolean WARNED_TOO_SMALL = new AtomicBoolean();
    /** The names {@link #file} gives, and those of the temporary files {@link CacheDir#writeAtomically} writes them through. */
    private static final Pattern BINARY = Pattern.compile("[0-9a-f]{40}\\.bin");
    private static final Pattern TEMPORARY = Pattern.compile("[0-9a-f]{40}\\.bin.*\\.tmp");

    private ProgramBinaryCache() {
    }

    static Path file(String key) {
        return CacheDir.path().resolve("programs").resolve(CacheDir.sha256(key).substring(0, 40) + ".bin");
    }

    /** The binary stored for {@code key}, or null when there is none or it does not check out. */
    static byte[] load(String key) {
        Path f = file(key);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            ByteBuffer in = ByteBuffer.wrap(CacheDir.readAll(f));
            byte[] magic = new byte[MAGIC.length];
            in.get(magic);
            if (!Arrays.equals(magic, MAGIC) || in.getInt() != VERSION) {
                LOG.debug("Ignoring {}: not a clattn program binary of version {}", f, VERSION);
                return null;
            }
            int keyBytes = in.getInt();
            if (keyBytes < 0 || keyBytes > in.remaining()) {
                LOG.debug("Ignoring {}: bad key length {}", f, keyBytes);
                return null;
            }
            byte[] storedKey = new byte[keyBytes];
            in.get(storedKey);
            if (!key.equals(new String(storedKey, StandardCharsets.UTF_8))) {
                LOG.debug("Ignoring {}: stored for another key", f);
                return null;
            }
            long size = in.getLong();
            long crc = in.getLong();
            if (size <= 0 || size != in.remaining()) {
                LOG.debug("Ignoring {}: binary length {} but {} bytes follow", f, size, in.remaining());
                return null;
            }
            byte[] binary = new byte[(int) size];
            in.get(binary);
            if (crc32(binary) != crc) {
                LOG.debug("Ignoring {}: checksum mismatch", f);
                return null;
            }
            markUsed(f);
            return binary;
        } catch (IOException | BufferUnderflowException e) {
            LOG.debug("Ignoring unreadable program binary {}: {}", f, e.toString());
            return null;
        }
    }

    /** Stores {@code binary} for {@code key}, replacing any file atomically. */
    static void store(String key, byte[] binary) {
        Path f = file(key);
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + 4 + k.length + 8 + 8 + binary.length);
        out.put(MAGIC).putInt(VERSION).putInt(k.length).put(k).putLong(binary.length).putLong(crc32(binary)).put(binary);
        try {
            CacheDir.writeAtomically(f, out.array());
            LOG.debug("Stored program binary {} ({} bytes)", f, binary.length);
        } catch (IOException | RuntimeException e) {
            LOG.debug("Could not store program binary {}: {}", f, e.toString());
            return;
        }
        prune(f.getParent(), maxBytes(), f);
    }

    /** The least recently used file is the oldest by modification time: a load makes its file the newest. */
    private static void markUsed(Path f) {
        try {
            Files.setLastModifiedTime(f, FileTime.from(Instant.now()));
        } catch (IOException | RuntimeException e) {
            LOG.debug("Could not mark {} as used: {}", f, e.toString());
        }
    }

    /** {@value #MAX_MIB_PROPERTY} in bytes; the default, with one WARN per bad value, when it is not a positive integer. */
    static long maxBytes() {
        long mib = SystemProperties.intProperty(MAX_MIB_PROPERTY, DEFAULT_MAX_MIB, 1, value -> {
            if (!value.equals(warnedFor)) {
                warnedFor = value;
                LOG.warn("{}; keeping at most {} MiB of program binaries", invalidLimit(value), DEFAULT_MAX_MIB);
            }
        });
        return mib << 20;
    }

    /** What the WARN says of a {@value #MAX_MIB_PROPERTY} that is not a positive integer. */
    static String invalidLimit(String value) {
        return MAX_MIB_PROPERTY + ": expected a positive whole number of MiB, got '" + value + "'";
    }

    /**
     * Removes the least recently used binaries of {@code folder} ({@code <40 hex digits>.bin}) until
     * they add up to at most {@code maxBytes}, never {@code keep}, and the temporary files of their
     * writes older than {@link #STALE_TEMPORARY}. Other files, links and folders are left alone; a
     * file that cannot be read or deleted is skipped, and one another process removed first counts as
     * removed.
     */
    static void prune(Path folder, long maxBytes, Path keep) {
        record Binary(Path path, long size, FileTime used) {
        }
        List<Binary> binaries = new ArrayList<>();
        long total = 0;
        Instant staleBefore = Instant.now().minus(STALE_TEMPORARY);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(folder)) {
            for (Path p : files) {
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException | RuntimeException e) {
                    continue; // gone meanwhile
                }
                String name = p.getFileName().toString();
                if (!a.isRegularFile()) {
                    continue;
                }
                if (TEMPORARY.matcher(name).matches()) {
                    if (a.lastModifiedTime().toInstant().isBefore(staleBefore)) {
                        delete(p);
                    }
                } else if (BINARY.matcher(name).matches()) {
                    binaries.add(new Binary(p, a.size(), a.lastModifiedTime()));
                    total += a.size();
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("Could not list {} to keep it under {} bytes: {}", folder, maxBytes, e.toString());
            return;
        }
        if (total <= maxBytes) {
            return;
        }
        binaries.sort(Comparator.comparing(Binary::used));
        int removed = 0;
        long freed = 0;
        long kept = 0;
        for (Binary b : binaries) {
            if (b.path().equals(keep)) {
                kept = b.size();
                continue;
            }
            if (total <= maxBytes) {
                break;
            }
            if (delete(b.path())) {
                total -= b.size();
                freed += b.size();
                removed++;
            }
        }
        if (kept > maxBytes && WARNED_TOO_SMALL.compareAndSet(false, true)) {
            LOG.warn("{} is {} MiB, below the {} KiB of one program binary: each new binary removes all the others",
                    MAX_MIB_PROPERTY, maxBytes >> 20, kept >> 10);
        }
        if (removed > 0) {
            // INFO the first time in a process, then DEBUG (a tuning run stores a binary per candidate)
            String line = "Removed {} least recently used program binaries ({} KiB) from {}: it keeps at most {} MiB ({})";
            Object[] args = {removed, freed >> 10, folder, maxBytes >> 20, MAX_MIB_PROPERTY};
            if (PRUNED_BEFORE.compareAndSet(false, true)) {
                LOG.info(line, args);
            } else {
                LOG.debug(line, args);
            }
        }
    }

    /** True when {@code p} is gone afterwards: deleted here, or by another process first. */
    private static boolean delete(Path p) {
        try {
            Files.deleteIfExists(p);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.debug("Could not delete {}: {}", p, e.toString());
            return !Files.exists(p, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static long crc32(byte[] data) {
        CRC32 c = new CRC32();
        c.update(data);
        return c.getValue();
    }
}
