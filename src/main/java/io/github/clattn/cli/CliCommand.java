package io.github.clattn.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Base of the subcommands: the picocli writers (stdout for results, stderr for notes and
 * progress) and the translation of an out-of-memory error into a one-line failure.
 */
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() throws Exception {
        try {
            return execute();
        } catch (OutOfMemoryError e) {
            throw new CliFailure("out of memory (" + e.getMessage() + "); give Java a larger heap, e.g. "
                    + "CLATTN_JAVA_OPTS=-Xmx16g scripts/clattn ..., or use smaller sizes", e);
        }
    }

    /** Runs the command; returns the exit status. */
    abstract int execute() throws Exception;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** The command's name as typed, for messages ("clattn bench"). */
    String name() {
        return spec.qualifiedName();
    }
}
