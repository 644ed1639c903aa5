package io.github.clattn.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal, redrawn at most ten
 * times a second. {@link #clear()} before printing a result line keeps the two apart.
 */
final class Progress {
    private static final int WIDTH = 28;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter err;
    private final boolean enabled;
    private final int total;
    private int done;
    private String label = "";
    private long lastDraw;
    private boolean drawn;

    Progress(PrintWriter err, boolean enabled, int total) {
        this.err = err;
        this.enabled = enabled;
        this.total = Math.max(1, total);
    }

    /**
     * Whether stderr is a terminal. The launcher passes {@code -Dclattn.stderr.tty} from
     * {@code [ -t 2 ]}; without it, a console (stdin and stdout on a terminal) stands in.
     */
    static boolean stderrIsTerminal() {
        String told = System.getProperty("clattn.stderr.tty");
        if (told != null) {
            return Boolean.parseBoolean(told);
        }
        return System.console() != null;
    }

    /** Names what runs now, redrawn on the next {@link #advance()}. */
    void label(String text) {
        label = text;
        draw(true);
    }

    /** One unit of work done. */
    void advance() {
        done = Math.min(total, done + 1);
        draw(false);
    }

    /** Erases the bar (before a line of results is printed). */
    void clear() {
        if (enabled && drawn) {
            err.print("\r\033[K");
            err.flush();
            drawn = false;
        }
    }

    private void draw(boolean force) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (!force && drawn && now - lastDraw < REDRAW_NANOS) {
            return;
        }
        lastDraw = now;
        int filled = (int) ((long) WIDTH * done / total);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        err.print(String.format(Locale.ROOT, "\r\033[K[%s] %3d%%  %s", bar, 100L * done / total, label));
        err.flush();
        drawn = true;
    }
}
