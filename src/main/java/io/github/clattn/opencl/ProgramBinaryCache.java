package io.github.clattn.opencl;

import io.github.clattn.core.CacheDir;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
 * <pre>
 *   "CLATTNPB" | int version | int keyBytes | key (UTF-8) | long binaryBytes | long crc32 | binary
 * </pre>
 */
final class ProgramBinaryCache {
    private static final Logger LOG = LoggerFactory.getLogger(ProgramBinaryCache.class);
    private static final byte[] MAGIC = "CLATTNPB".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

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
        }
    }

    private static long crc32(byte[] data) {
        CRC32 c = new CRC32();
        c.update(data);
        return c.getValue();
    }
}
