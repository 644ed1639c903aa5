package io.github.clattn.cli;

/**
 * A runtime failure the command explains in one line (a file that cannot be written, a device
 * that failed, memory that ran out). The command exits with status 1.
 */
final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
