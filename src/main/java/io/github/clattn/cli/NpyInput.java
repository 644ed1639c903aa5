package io.github.clattn.cli;

import io.github.clattn.npy.Npy;
import io.github.clattn.npy.NpyArray;
import io.github.clattn.npy.NpyFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code .npy} file given to an option, read with the project's reader. Every problem becomes
 * a {@link UsageException} that names the option and the file and says what was expected.
 */
final class NpyInput {
    private static final Logger LOG = LoggerFactory.getLogger(NpyInput.class);

    final String option;
    final Path file;
    final NpyArray array;

    private NpyInput(String option, Path file, NpyArray array) {
        this.option = option;
        this.file = file;
        this.array = array;
    }

    /** Reads {@code file}, or returns null when the option was not given. */
    static NpyInput read(String option, Path file) {
        if (file == null) {
            return null;
        }
        if (!Files.exists(file)) {
            throw new UsageException(option + " " + file + ": file not found");
        }
        if (Files.isDirectory(file)) {
            throw new UsageException(option + " " + file + ": is a directory, expected a .npy file");
        }
        if (!Files.isReadable(file)) {
            throw new UsageException(option + " " + file + ": cannot be read (permission denied)");
        }
        try {
            NpyArray array = Npy.read(file);
            LOG.debug("{}: read {}", option, array);
            return new NpyInput(option, file, array);
        } catch (NpyFormatException e) {
            String message = e.getMessage();
            String prefix = file + ": ";
            if (message.startsWith(prefix)) {
                message = message.substring(prefix.length());
            }
            throw new UsageException(option + " " + file + ": " + message, e);
        } catch (IOException e) {
            throw new UsageException(option + " " + file + ": cannot be read (" + e + ")", e);
        }
    }

    long[] shape() {
        return array.shape();
    }

    long dim(int i) {
        return array.dim(i);
    }

    /** The float32 data; a file of another dtype is refused with a hint. */
    float[] floats() {
        if (!array.isFloat()) {
            throw problem("expected dtype float32 (<f4), got " + array.dtype()
                    + "; convert it with numpy: numpy.save(f, a.astype(numpy.float32))");
        }
        return array.floats();
    }

    /** Integer data (int32 or int64); a float file or a value outside int is refused. */
    int[] ints() {
        if (array.isFloat()) {
            throw problem("expected dtype int32 (<i4) or int64 (<i8), got " + array.dtype());
        }
        try {
            return array.ints();
        } catch (IllegalArgumentException e) {
            throw problem(e.getMessage().replace(array.source() + ": ", ""));
        }
    }

    /** Requires exactly {@code rank} dimensions; {@code layout} names them, as in "[B, N, D]". */
    NpyInput requireRank(int rank, String layout) {
        if (array.rank() != rank) {
            throw problem("expected a " + rank + "-D array " + layout + ", got shape " + Arrays.toString(array.shape()));
        }
        return this;
    }

    /** Requires dimension {@code axis} to equal {@code expected}; {@code why} says where the expectation comes from. */
    NpyInput requireDim(int axis, long expected, String layout, String why) {
        if (array.dim(axis) != expected) {
            throw problem("expected shape " + layout + " with dimension " + axis + " = " + expected + " (" + why
                    + "), got shape " + Arrays.toString(array.shape()));
        }
        return this;
    }

    /** Requires exactly {@code expected}; {@code layout} and {@code why} explain it. */
    NpyInput requireShape(long[] expected, String layout, String why) {
        if (!Arrays.equals(array.shape(), expected)) {
            throw problem("expected shape " + Arrays.toString(expected) + " = " + layout + " (" + why + "), got shape "
                    + Arrays.toString(array.shape()));
        }
        return this;
    }

    UsageException problem(String what) {
        return new UsageException(option + " " + file + ": " + what);
    }
}
