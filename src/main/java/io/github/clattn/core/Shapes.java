package io.github.clattn.core;

/**
 * Argument checks shared by the API and the backends. Every message names the argument and
 * gives the expected and the actual value, so a caller can fix the call from the message alone.
 */
public final class Shapes {
    private Shapes() {
    }

    /** Requires {@code value > 0}. */
    public static int positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": expected a positive size, got " + value);
        }
        return value;
    }

    /** Requires {@code value >= 0}. */
    public static int nonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": expected a size >= 0, got " + value);
        }
        return value;
    }

    /** The product of the dimensions as a long; throws when it does not fit in a Java array. */
    public static int arrayLength(String name, String shape, long... dims) {
        long n = product(name, shape, dims);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + ": shape " + shape + " = " + n
                    + " elements, more than a Java array can hold (" + (Integer.MAX_VALUE - 8) + ")");
        }
        return (int) n;
    }

    /** The product of the dimensions; throws naming the shape when it overflows a long. */
    public static long product(String name, String shape, long... dims) {
        long n = 1;
        for (long d : dims) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(name + ": shape " + shape + " overflows a 64-bit element count", e);
            }
        }
        return n;
    }

    /** Requires a non-null array of exactly {@code expected} elements. */
    public static float[] length(String name, float[] array, int expected, String shape) {
        if (array == null) {
            throw new IllegalArgumentException(name + ": expected a float[] of shape " + shape + ", got null");
        }
        if (array.length != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " floats (shape " + shape
                    + "), got " + array.length);
        }
        return array;
    }

    /** Like {@link #length} but null is allowed (an absent optional tensor). */
    public static float[] optionalLength(String name, float[] array, int expected, String shape) {
        return array == null ? null : length(name, array, expected, shape);
    }

    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
        return value;
    }
}
