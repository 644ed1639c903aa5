package io.github.clattn.core;

import java.util.function.Consumer;

/** clattn's numeric system properties, read one way everywhere. */
public final class SystemProperties {
    private SystemProperties() {
    }

    /**
     * The system property {@code name} as an integer of at least {@code min} (surrounding blanks
     * allowed), or {@code fallback} when it is unset or blank; any other value is given to
     * {@code invalid} (to report it) and gives {@code fallback}.
     *
     * @param name     the property
     * @param fallback the value when it is unset, blank or invalid
     * @param min      the smallest valid value
     * @param invalid  told each invalid value, as written
     * @return the value to use
     */
    public static int intProperty(String name, int fallback, int min, Consumer<String> invalid) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        invalid.accept(value);
        return fallback;
    }
}
