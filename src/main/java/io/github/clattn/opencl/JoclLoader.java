package io.github.clattn.opencl;

import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.jocl.CL;

/**
 * Initialises JOCL without its native "Could not load libOpenCL.so, error ..." line.
 *
 * <p>JOCL 2.0.5 opens the OpenCL library in {@code CL}'s static initialiser: {@code LibInitializer}
 * logs {@value #CANDIDATE} (java.util.logging, logger {@value #JOCL_LOGGER}, level FINE) and then
 * calls the native {@code CL.initNativeLibrary}, which reports a failed {@code dlopen} through
 * JOCL's native logger, with C stdio on the process's <em>stdout</em> (where it would land in the
 * middle of {@code --json} output), before Java gets an {@code UnsatisfiedLinkError}. clattn reports
 * that failure itself, in its own words, so this class lowers JOCL's native log level to
 * {@code LOG_QUIET} for that one native call: a filter on the JUL logger sees the record just
 * before the call, on the same thread, and quiets JOCL there. When the library loads, the level goes
 * back to {@code LOG_ERROR} (JOCL's default), so JOCL's later native errors still print.
 *
 * <p>The filter passes on exactly the records the logger would have published without it, and the
 * logger's level and filter are restored afterwards.
 */
final class JoclLoader {
    /** The java.util.logging logger JOCL's {@code LibInitializer} writes to. */
    static final String JOCL_LOGGER = "org.jocl.LibTracker";
    /** The start of the record it writes just before opening each candidate library. */
    static final String CANDIDATE = "Trying library candidate";

    /** What {@link #initialize()} did to JOCL's native log level. */
    enum Outcome {
        /** Quiet while the OpenCL library was opened, then back to {@code LOG_ERROR}. */
        QUIETED,
        /** No candidate was announced (CL was initialised before, or another JOCL version): untouched. */
        UNTOUCHED
    }

    private JoclLoader() {
    }

    /**
     * Runs {@code CL}'s static initialiser, if it has not run yet, as described above. Throws what
     * it throws: {@link UnsatisfiedLinkError} when JOCL's or the OpenCL library cannot be loaded
     * (then {@link NoClassDefFoundError} on later calls).
     */
    static synchronized Outcome initialize() {
        Logger jul = Logger.getLogger(JOCL_LOGGER); // held here, so JOCL's LibInitializer gets this instance
        Level previousLevel = jul.getLevel();
        Filter previousFilter = jul.getFilter();
        Quieter quieter = new Quieter(previousFilter, publishedLevel(jul));
        if (!jul.isLoggable(Level.FINE)) {
            jul.setLevel(Level.FINE);
        }
        jul.setFilter(quieter);
        boolean loaded = false;
        try {
            Class.forName(CL.class.getName(), true, CL.class.getClassLoader());
            loaded = true;
        } catch (ClassNotFoundException e) {
            throw new NoClassDefFoundError(e.getMessage());
        } finally {
            jul.setFilter(previousFilter);
            jul.setLevel(previousLevel);
            if (quieter.quieted && loaded) {
                CL.setLogLevel(CL.LogLevel.LOG_ERROR);
            }
        }
        return quieter.quieted ? Outcome.QUIETED : Outcome.UNTOUCHED;
    }

    /**
     * Why {@code libOpenCL.so} does not load, as {@link System#loadLibrary} sees it (its
     * {@code java.library.path} holds {@code LD_LIBRARY_PATH} and the system folders): the detail
     * JOCL's quieted line would have given, for DEBUG logs after a failed load.
     */
    static String probe() {
        try {
            System.loadLibrary("OpenCL");
            return "it loads from java.library.path (" + System.getProperty("java.library.path") + ")";
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return e.getMessage();
        }
    }

    /** The level below which the logger published nothing before {@link #initialize()} touched it. */
    private static Level publishedLevel(Logger logger) {
        for (Logger l = logger; l != null; l = l.getParent()) {
            if (l.getLevel() != null) {
                return l.getLevel();
            }
        }
        return Level.INFO; // LogManager's default for the root logger
    }

    /** Quiets JOCL on the candidate record; lets through what the logger published before. */
    private static final class Quieter implements Filter {
        private final Filter previous;
        private final Level published;
        boolean quieted;

        Quieter(Filter previous, Level published) {
            this.previous = previous;
            this.published = published;
        }

        @Override
        public boolean isLoggable(LogRecord record) {
            String message = record.getMessage();
            if (!quieted && message != null && message.startsWith(CANDIDATE)) {
                try {
                    // CL is being initialised by this very thread, which may call into it; JOCL's own
                    // native library is loaded by now, so the native setter links.
                    CL.setLogLevel(CL.LogLevel.LOG_QUIET);
                    quieted = true;
                } catch (LinkageError | RuntimeException e) {
                    // leave JOCL as it is: a stray line is better than a failed initialisation
                }
            }
            return published.intValue() != Level.OFF.intValue()
                    && record.getLevel().intValue() >= published.intValue()
                    && (previous == null || previous.isLoggable(record));
        }
    }
}
