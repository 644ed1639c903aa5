package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The top-level command: help, version, usage errors and the CLI's own logging configuration. */
class MainTest {

    @Test
    void helpListsTheCommandsOnStdout() {
        Cli.Result r = Cli.run("--help");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("devices", "run", "bench", "--verbose", "Exit status");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void everySubcommandHasHelp() {
        // picocli formats descriptions with String.format and warns on System.err (not the
        // command's err writer) when one does not parse, e.g. a lone '%'
        PrintStream saved = System.err;
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        try {
            for (String cmd : Main.commandLine().getSubcommands().keySet()) {
                Cli.Result r = Cli.run(cmd, "--help");
                assertThat(r.exit()).as(cmd + ": " + r).isZero();
                assertThat(r.out()).as(cmd).contains("Usage: clattn " + cmd);
                assertThat(r.err()).as(cmd).isEmpty();
            }
        } finally {
            System.setErr(saved);
        }
        assertThat(stderr.toString(StandardCharsets.UTF_8)).as("System.err during --help").isEmpty();
        String bench = Cli.run("help", "bench").out();
        assertThat(bench).contains("--seq", "--plot", "--json", "--csv");
        assertThat(bench.replaceAll("\\s+", " ")).contains("rounds of 25 ms until the medians of the last 5 rounds agree within 5% and the JIT finished no compilation during them (at most 10 s)");
    }

    @Test
    void versionNamesTheProjectAndJava() {
        Cli.Result r = Cli.run("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("clattn ").contains("Java " + System.getProperty("java.version"));
    }

    @Test
    void noCommandIsAUsageError() {
        Cli.Result r = Cli.run();
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("missing command", "devices", "bench", "clattn --help");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void unknownCommandAndOptionAreOneLineUsageErrors() {
        Cli.Result cmd = Cli.run("benchmark");
        assertThat(cmd.exit()).isEqualTo(2);
        assertThat(cmd.errLines()).hasSize(1);
        assertThat(cmd.err()).contains("benchmark", "did you mean bench");

        Cli.Result opt = Cli.run("bench", "--seqs", "8");
        assertThat(opt.exit()).isEqualTo(2);
        assertThat(opt.errLines()).hasSize(1);
        assertThat(opt.err()).contains("clattn bench", "--seqs", "--seq");
    }

    @Test
    void verboseIsAcceptedBeforeOrAfterTheCommand() {
        assertThat(Cli.run("-v", "devices").exit()).isZero();
        assertThat(Cli.run("devices", "--verbose").exit()).isZero();
    }

    @Test
    void theLibraryJarCarriesNoRootLogbackConfiguration() {
        // A logback.xml at the class-path root would take over the logging of any application using clattn.
        assertThat(getClass().getClassLoader().getResource("logback.xml")).isNull();
        assertThat(getClass().getClassLoader().getResource(CliLogging.RESOURCE)).isNotNull();
    }

    @Test
    void cliLoggingIsWarnByDefaultAndDebugWhenVerbose() throws Exception {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        String previous = System.getProperty("logback.configurationFile");
        try {
            System.clearProperty("logback.configurationFile");
            CliLogging.configure(false);
            assertThat(context.getLogger("io.github.clattn").getLevel()).isEqualTo(Level.WARN);
            assertThat(context.getLogger("io.github.clattn").iteratorForAppenders().hasNext()).isFalse();
            assertThat(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender("STDERR")).isNotNull();
            CliLogging.configure(true);
            assertThat(context.getLogger("io.github.clattn").getLevel()).isEqualTo(Level.DEBUG);
        } finally {
            if (previous != null) {
                System.setProperty("logback.configurationFile", previous);
            }
            // Back to the tests' own configuration (logback-test.xml).
            context.reset();
            new ContextInitializer(context).autoConfig();
        }
    }
}
