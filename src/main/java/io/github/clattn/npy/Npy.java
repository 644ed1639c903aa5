package io.github.clattn.npy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0), little-endian,
 * C order: float32 ({@code <f4}), int32 ({@code <i4}) and int64 ({@code <i8}). Anything else
 * (other dtypes, big-endian, Fortran order, truncated data, a declared size larger than the file)
 * is refused with an {@link NpyFormatException} naming the file, before any large allocation.
 * Writing goes to a temporary file that is moved into place, so a reader never sees half a file.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 20;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** Reads a file; see the class comment for what is accepted. */
    public static NpyArray read(Path file) throws IOException {
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (IOException e) {
            throw new NpyFormatException(file + ": cannot read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString(), fileSize);
        }
    }

    /** Reads from a stream of {@code available} bytes (-1 when unknown); {@code name} is used in messages. */
    public static NpyArray read(InputStream in, String name, long available) throws IOException {
        byte[] magic = readFully(in, 8, name, "the 8-byte .npy preamble");
        for (int i = 0; i < MAGIC.length; i++) {
            if (magic[i] != MAGIC[i]) {
                throw new NpyFormatException(name + ": not a .npy file (the magic string \\x93NUMPY is missing)");
            }
        }
        int major = magic[6] & 0xff;
        int headerLenBytes;
        if (major == 1) {
            headerLenBytes = 2;
        } else if (major == 2 || major == 3) {
            headerLenBytes = 4;
        } else {
            throw new NpyFormatException(name + ": unsupported .npy format version " + major + "." + (magic[7] & 0xff)
                    + " (expected 1.0, 2.0 or 3.0)");
        }
        ByteBuffer lenBuf = ByteBuffer.wrap(readFully(in, headerLenBytes, name, "the header length"))
                .order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = headerLenBytes == 2 ? lenBuf.getShort() & 0xffff : lenBuf.getInt() & 0xffffffffL;
        if (headerLen > MAX_HEADER) {
            throw new NpyFormatException(name + ": header length " + headerLen + " is larger than the " + MAX_HEADER
                    + " bytes allowed");
        }
        String header = new String(readFully(in, (int) headerLen, name, "the header"),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = match(DESCR, header, name, "'descr'");
        String fortran = match(FORTRAN, header, name, "'fortran_order'");
        long[] shape = parseShape(match(SHAPE, header, name, "'shape'"), name);
        if (fortran.equals("True")) {
            throw new NpyFormatException(name + ": Fortran-order arrays are not supported; save with "
                    + "numpy.ascontiguousarray first");
        }
        int itemSize;
        switch (descr) {
            case "<f4":
            case "<i4":
                itemSize = 4;
                break;
            case "<i8":
                itemSize = 8;
                break;
            case ">f4":
            case ">i4":
            case ">i8":
                throw new NpyFormatException(name + ": big-endian dtype " + descr + " is not supported (expected <f4, <i4 or <i8)");
            default:
                throw new NpyFormatException(name + ": unsupported dtype " + descr + " (clattn reads float32 <f4 for "
                        + "activations and weights, int32 <i4 or int64 <i8 for integer inputs; convert it with numpy: "
                        + "numpy.save(f, a.astype(numpy.float32)))");
        }
        long count = 1;
        for (long d : shape) {
            count = multiplyOrFail(count, d, name, shape);
        }
        long bytes = multiplyOrFail(count, itemSize, name, shape);
        if (count > Integer.MAX_VALUE - 8) {
            throw new NpyFormatException(name + ": shape " + java.util.Arrays.toString(shape) + " has " + count
                    + " elements, more than a Java array holds");
        }
        if (available >= 0) {
            long dataAvailable = available - 8 - headerLenBytes - headerLen;
            if (dataAvailable < bytes) {
                throw new NpyFormatException(name + ": truncated: shape " + java.util.Arrays.toString(shape) + " of "
                        + descr + " needs " + bytes + " data bytes, the file has " + Math.max(dataAvailable, 0));
            }
        }
        byte[] data = readFully(in, (int) bytes, name, "the data of shape " + java.util.Arrays.toString(shape));
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) count;
        if (descr.equals("<f4")) {
            float[] f = new float[n];
            buf.asFloatBuffer().get(f);
            return new NpyArray(name, descr, shape, f, null);
        }
        long[] ints = new long[n];
        if (itemSize == 4) {
            for (int i = 0; i < n; i++) {
                ints[i] = buf.getInt();
            }
        } else {
            buf.asLongBuffer().get(ints);
        }
        return new NpyArray(name, descr, shape, null, ints);
    }

    private static long multiplyOrFail(long a, long b, String name, long[] shape) throws NpyFormatException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new NpyFormatException(name + ": shape " + java.util.Arrays.toString(shape) + " overflows a 64-bit size");
        }
    }

    private static String match(Pattern p, String header, String name, String key) throws NpyFormatException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new NpyFormatException(name + ": malformed header, no " + key + " entry: " + printable(header));
        }
        return m.group(1);
    }

    /** The header as one short printable line, for messages. */
    private static String printable(String header) {
        String line = header.trim().replaceAll("[^\\x20-\\x7e]", "?");
        return line.length() > 120 ? line.substring(0, 120) + "..." : line;
    }

    private static long[] parseShape(String text, String name) throws NpyFormatException {
        List<Long> dims = new ArrayList<>();
        for (String part : text.split(",")) {
            String t = part.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (t.endsWith("L")) {
                t = t.substring(0, t.length() - 1);
            }
            long v;
            try {
                v = Long.parseLong(t);
            } catch (NumberFormatException e) {
                throw new NpyFormatException(name + ": malformed shape entry '" + printable(part) + "'");
            }
            if (v < 0) {
                throw new NpyFormatException(name + ": negative dimension " + v + " in shape");
            }
            dims.add(v);
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static byte[] readFully(InputStream in, int n, String name, String what) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new NpyFormatException(name + ": truncated: expected " + n + " bytes of " + what + ", got " + b.length);
        }
        return b;
    }

    /** Writes float32 {@code data} of {@code shape} atomically (temporary file, then move). */
    public static void write(Path file, float[] data, long... shape) throws IOException {
        byte[] header = header(data, shape);
        Path dir = file.toAbsolutePath().getParent();
        // Not Files.createTempFile: its owner-only permissions would stay on the moved file.
        Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeBody(out, header, data);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Writes float32 {@code data} of {@code shape} as a complete {@code .npy} image to {@code out}
     * (format 1.0, {@code <f4}, C order), for callers that manage the file themselves. The stream is
     * not closed.
     */
    public static void write(OutputStream out, float[] data, long... shape) throws IOException {
        writeBody(out, header(data, shape), data);
    }

    /** The preamble and the padded header dictionary (total a multiple of 64 bytes). */
    private static byte[] header(float[] data, long[] shape) {
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape: expected dimensions >= 0, got " + java.util.Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, d);
        }
        if (count != data.length) {
            throw new IllegalArgumentException("data: expected " + count + " floats for shape "
                    + java.util.Arrays.toString(shape) + ", got " + data.length);
        }
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        String shapeText = shape.length == 1 ? "(" + shape[0] + ",)" : "(" + (dims.length() > 0
                ? dims.substring(0, dims.length() - 2) : "") + ")";
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        dict = dict + " ".repeat(pad) + "\n";
        ByteBuffer pre = ByteBuffer.allocate(10 + dict.length()).order(ByteOrder.LITTLE_ENDIAN);
        pre.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) dict.length());
        pre.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        return pre.array();
    }

    /** Streams the data in chunks, so a large array needs no second full-size copy. */
    private static void writeBody(OutputStream out, byte[] header, float[] data) throws IOException {
        out.write(header);
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = chunk.capacity() / 4;
        for (int start = 0; start < data.length; start += perChunk) {
            int n = Math.min(perChunk, data.length - start);
            chunk.clear();
            chunk.asFloatBuffer().put(data, start, n);
            out.write(chunk.array(), 0, n * 4);
        }
    }
}
