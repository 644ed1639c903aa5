package io.github.clattn.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import ch.qos.logback.core.status.Status;
import java.net.URL;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Logback for the command line only. The library logs through SLF4J and ships no Logback
 * configuration; the CLI's lives under a name of its own ({@value #RESOURCE}) so that it never
 * takes over the logging of an application that has clattn on its class path.
 *
 * <p>Default: WARN and above on stderr, one line each, without stack traces. Verbose: DEBUG for
 * clattn (INFO for other libraries), with time, thread, logger and stack traces.
 */
final class CliLogging {
    static final String RESOURCE = "io/github/clattn/cli/logback-cli.xml";

    private CliLogging() {
    }

    /**
     * Points Logback's automatic configuration at the CLI's file, so that a logger created before
     * {@link #configure} (a library class initialised early) still writes WARN+ to stderr, never
     * Logback's default DEBUG-to-stdout. A configuration the user chose with
     * {@code -Dlogback.configurationFile} wins.
     */
    static void preferCliConfiguration() {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", RESOURCE);
        }
    }

    /** Resets Logback and applies the CLI configuration at the level {@code verbose} asks for. */
    static void configure(boolean verbose) {
        if (System.getProperty("logback.configurationFile") != null
                && !RESOURCE.equals(System.getProperty("logback.configurationFile"))) {
            return; // the user's own configuration
        }
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof LoggerContext)) {
            return; // another SLF4J provider is bound; leave it alone
        }
        LoggerContext context = (LoggerContext) factory;
        URL config = CliLogging.class.getClassLoader().getResource(RESOURCE);
        if (config == null) {
            return;
        }
        context.reset();
        context.putProperty("CLATTN_LEVEL", verbose ? "DEBUG" : "WARN");
        context.putProperty("OTHER_LEVEL", verbose ? "INFO" : "WARN");
        context.putProperty("CLATTN_PATTERN", verbose
                ? "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n"
                : "clattn: %level: %msg%n%nopex");
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(config);
        } catch (JoranException e) {
            System.err.println("clattn: warning: logging configuration " + RESOURCE + " failed: " + e.getMessage());
        }
        for (Status s : context.getStatusManager().getCopyOfStatusList()) {
            if (s.getLevel() == Status.ERROR) {
                System.err.println("clattn: warning: logging configuration " + RESOURCE + ": " + s.getMessage());
            }
        }
    }
}
