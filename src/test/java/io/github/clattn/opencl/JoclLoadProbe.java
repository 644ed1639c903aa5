package io.github.clattn.opencl;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.jocl.CL;

/**
 * Child-JVM main for {@link JoclLoaderTest}. {@code raw}: touches JOCL directly (what JOCL alone
 * prints); {@code loader}: through {@link JoclLoader}, then prints the JOCL logger's state and
 * whether OpenCL answers; {@code loader-fine}: the same after the application asked for JOCL's
 * FINE records, which it must still receive.
 */
public final class JoclLoadProbe {
    private static final Logger JOCL = Logger.getLogger(JoclLoader.JOCL_LOGGER);

    private JoclLoadProbe() {
    }

    public static void main(String[] args) {
        String mode = args[0];
        if (mode.equals("loader-fine")) {
            JOCL.setLevel(Level.FINE);
            JOCL.addHandler(new Handler() {
                @Override
                public void publish(LogRecord record) {
                    System.out.println("APP_HANDLER=" + record.getLevel() + " " + record.getMessage());
                }

                @Override
                public void flush() {
                }

                @Override
                public void close() {
                }
            });
        }
        try {
            if (mode.equals("raw")) {
                CL.clGetPlatformIDs(0, null, new int[1]);
            } else {
                System.out.println("OUTCOME=" + JoclLoader.initialize());
                System.out.println("AGAIN=" + JoclLoader.initialize());
            }
            int[] count = new int[1];
            System.out.println("PLATFORM_STATUS=" + CL.clGetPlatformIDs(0, null, count) + " PLATFORMS=" + count[0]);
        } catch (LinkageError e) {
            System.out.println("THROWN=" + e);
        }
        System.out.println("LOGGER_LEVEL=" + JOCL.getLevel() + " LOGGER_FILTER=" + JOCL.getFilter());
        System.out.flush();
    }
}
