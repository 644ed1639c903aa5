package io.github.clattn.cli;

import io.github.clattn.ClattnException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code clattn} command line: {@code devices}, {@code run}, {@code bench}, {@code verify},
 * {@code tune}, and {@code generate-completion} (picocli's bash/zsh completion script).
 *
 * <p>Exit status: 0 success; 1 a runtime failure (a device or file-system error, a benchmark
 * result outside the tolerance); 2 a usage error or bad input (an unknown option, a missing or
 * malformed file, shapes that do not agree, an unknown device spec). Either failure prints one
 * line on stderr naming the option or file; {@code --verbose} adds the stack trace and DEBUG logs.
 * Results go to stdout; logs and progress only ever to stderr.
 *
 * <p>Tests and embedders use {@link #commandLine()} and {@code execute(args)}; only
 * {@link #main} configures Logback (from the CLI's own resource) and exits the JVM.
 */
@Command(name = "clattn",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Multi-head scaled dot-product attention on OpenCL devices and on a pure-Java path.",
        subcommands = {DevicesCommand.class, RunCommand.class, BenchCommand.class, VerifyCommand.class, TuneCommand.class,
            HelpCommand.class, AutoComplete.GenerateCompletion.class},
        synopsisSubcommandLabel = "COMMAND",
        footerHeading = "%n",
        footer = {"Start with 'clattn devices', then 'clattn bench'.", "",
            "Device specs (--device): cpu or java (the pure-Java path), opencl (the best OpenCL device), opencl:I "
                + "(the I-th OpenCL device that 'clattn devices' lists), or part of a device name.", "",
            "Exit status: 0 ok, 1 runtime failure, 2 usage error or bad input."})
public final class Main implements Runnable {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Shared by every subcommand ({@code clattn bench -v} and {@code clattn -v bench} both work). */
    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Log at DEBUG level and print stack traces on stderr.")
    boolean verbose;

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        CliLogging.preferCliConfiguration();
        CommandLine cli = commandLine();
        CommandLine.IExecutionStrategy run = cli.getExecutionStrategy();
        // Logging is configured once the arguments are parsed (-v known) and before any command runs.
        cli.setExecutionStrategy(parsed -> {
            CliLogging.configure(isVerbose(parsed));
            return run.execute(parsed);
        });
        int status;
        try {
            status = cli.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("clattn: out of memory (" + e.getMessage() + "); give Java a larger heap, e.g. "
                    + "CLATTN_JAVA_OPTS=-Xmx16g scripts/clattn ..., or use smaller sizes");
            status = EXIT_FAILURE;
        }
        System.exit(status);
    }

    /** A configured command line: error handlers and exit codes set; writers default to stdout/stderr. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler(Main::usageError);
        cli.setExecutionExceptionHandler(Main::failure);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        return cli;
    }

    @Override
    public void run() {
        // "clattn" alone: show what it can do, as a usage error (no command given).
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: expected one of "
                + String.join(", ", spec.subcommands().keySet()));
    }

    /** Picocli parse errors (unknown option, bad value, missing required option): exit 2, one line. */
    private static int usageError(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        StringBuilder line = new StringBuilder(name).append(": ").append(e.getMessage());
        if (e instanceof UnmatchedArgumentException) {
            List<String> suggestions = ((UnmatchedArgumentException) e).getSuggestions();
            if (!suggestions.isEmpty()) {
                line.append("; did you mean ").append(String.join(" or ", suggestions.subList(0,
                        Math.min(3, suggestions.size())))).append('?');
            }
        }
        line.append(" (see '").append(name).append(" --help')");
        err.println(line);
        if (isVerbose(cmd.getParseResult())) {
            e.printStackTrace(err);
        }
        err.flush();
        return EXIT_USAGE;
    }

    /** Exceptions thrown by a command: exit 2 for bad input, 1 for runtime failures; one line each. */
    private static int failure(Exception e, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        String name = cmd.getCommandSpec().qualifiedName();
        boolean verbose = isVerbose(parsed);
        int status = exitStatus(e);
        String message = describe(e);
        if (status == EXIT_FAILURE && !verbose && !(e instanceof CliFailure)) {
            message += " (--verbose prints the stack trace)";
        }
        err.println(name + ": " + message);
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return status;
    }

    static int exitStatus(Throwable e) {
        if (e instanceof UsageException || e instanceof IllegalArgumentException) {
            return EXIT_USAGE;
        }
        return EXIT_FAILURE;
    }

    private static String describe(Throwable e) {
        if (e instanceof UsageException || e instanceof CliFailure || e instanceof IllegalArgumentException) {
            return e.getMessage();
        }
        if (e instanceof ClattnException) {
            return "device failure: " + e.getMessage();
        }
        if (e instanceof IOException) {
            return "I/O failure: " + e;
        }
        return "unexpected failure: " + e;
    }

    /** True when -v/--verbose was given anywhere on the command line. */
    static boolean isVerbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** clattn's, JOCL's and Java's versions and whether the Vector API is there ({@link VersionInfo}). */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return VersionInfo.lines();
        }
    }
}
