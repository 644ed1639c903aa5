package io.github.clattn.cli;

/**
 * Bad input from the user: an option value, a missing or malformed file, shapes that do not
 * agree. The command exits with status 2 and prints the message as one line; the message names
 * the option or file and says what was expected.
 */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
