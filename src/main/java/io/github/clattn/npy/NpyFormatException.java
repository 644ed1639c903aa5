package io.github.clattn.npy;

import java.io.IOException;

/** A {@code .npy} file that is malformed or holds something clattn does not read; the message names the file. */
public class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public NpyFormatException(String message) {
        super(message);
    }
}
