package io.github.clattn.opencl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns, once per process, when an OpenCL driver is about to compile a program inside this JVM, or
 * PoCL has started its devices in it, without the JDK's signal-chaining library ({@code libjsig})
 * loaded.
 *
 * <p>PoCL compiles kernels in-process with LLVM/Clang. Clang's temporary output files are registered
 * with LLVM's {@code RemoveFileOnSignal}, which installs LLVM's handlers for SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGUSR2 and others ({@code SA_RESETHAND}) in place of the JVM's. The JVM raises SIGSEGV on
 * purpose (safepoint polls, implicit null checks): LLVM's handler then deletes the compiler's
 * temporary files (the build fails: "unable to rename temporary ...") and puts the JVM's handlers
 * back, and a second thread faulting in between meets the default action and the process dies with
 * no {@code hs_err} file. PoCL's device initialisation installs such handlers too, so a process that
 * only loads cached binaries is exposed as well (a forward call at D 4096 on PoCL, programs from the
 * binary cache, died so in most runs without libjsig, in none with it). With {@code libjsig}
 * preloaded the JVM's handlers stay first and chain LLVM's. {@code scripts/clattn} and the tests
 * preload it; an application that embeds clattn has to do the same. Without it the automatic device
 * choice passes over PoCL's devices ({@link #passOverReason(String)}); an explicit spec still takes
 * them. On systems without {@code /proc/self/maps} (not Linux) nothing is checked or passed over.
 */
final class SignalChaining {
    private static final Logger LOG = LoggerFactory.getLogger(SignalChaining.class);
    private static final Path MAPS = Path.of("/proc/self/maps");
    private static final AtomicBoolean CHECKED = new AtomicBoolean();
    private static final String POCL = "Portable Computing Language";

    private SignalChaining() {
    }

    /** Called just before a program is built from source in this process: the first call checks and may warn. */
    static void beforeInProcessCompile() {
        warnOnce("OpenCL kernels are being compiled inside this JVM");
    }

    /** After OpenCL enumeration, when a platform is PoCL's ({@code platformName}). */
    static void afterDevicesStarted(String platformName) {
        if (isPocl(platformName)) {
            warnOnce("PoCL (" + platformName + ") has started its devices inside this JVM");
        }
    }

    /** {@return whether {@code platformName} is PoCL's platform (it compiles and starts its devices in-process)} */
    static boolean isPocl(String platformName) {
        return platformName != null && platformName.contains(POCL);
    }

    /**
     * Why the automatic device choice passes over a device of {@code platformName} when libjsig's
     * state is {@code libjsigLoaded}: a PoCL device without libjsig, known not loaded (an explicit
     * spec still takes it; null, "cannot tell", passes nothing over).
     */
    static Optional<String> passOverReason(String platformName, Boolean libjsigLoaded) {
        if (!isPocl(platformName) || !Boolean.FALSE.equals(libjsigLoaded)) {
            return Optional.empty();
        }
        return Optional.of("libjsig is not loaded, and PoCL's in-process LLVM installs signal handlers that can then "
                + "kill this JVM (see the warning about libjsig); to let the automatic choice take it, " + fix());
    }

    /** {@link #passOverReason(String, Boolean)} for this process (its maps read once). */
    static Optional<String> passOverReason(String platformName) {
        return isPocl(platformName) ? passOverReason(platformName, LoadedOnce.LIBJSIG) : Optional.empty();
    }

    /** Whether libjsig is loaded in this process: its maps read once, for the WARN and the automatic choice. */
    private static final class LoadedOnce {
        static final Boolean LIBJSIG = libjsigLoaded(MAPS);
    }

    private static void warnOnce(String what) {
        if (!CHECKED.compareAndSet(false, true)) {
            return;
        }
        Boolean loaded = LoadedOnce.LIBJSIG;
        if (loaded == null || loaded) {
            return;
        }
        LOG.warn("{} without the JDK's signal-chaining library (libjsig is not loaded): a driver that runs "
                + "in-process (PoCL starts its devices and compiles with LLVM) installs its own signal handlers, and "
                + "the JVM may then die with SIGSEGV and no hs_err file, or a build fail with 'unable to rename "
                + "temporary ...'. To avoid it, {} (scripts/clattn does this).", what, fix());
    }

    /** What to do: the {@code LD_PRELOAD=} line for this JDK, or what to use where it has no libjsig. */
    private static String fix() {
        Path libjsig = libjsigPath();
        return Files.isRegularFile(libjsig)
                ? "start the JVM with " + preloadLine(libjsig)
                : "this JDK has no " + libjsig + "; use a JDK that ships lib/libjsig.so and preload it with LD_PRELOAD";
    }

    /** True when a loaded object's path contains "libjsig", false when none does, null when it cannot tell. */
    static Boolean libjsigLoaded(Path maps) {
        if (!Files.isReadable(maps)) {
            return null;
        }
        try (Stream<String> lines = Files.lines(maps, StandardCharsets.ISO_8859_1)) {
            return lines.anyMatch(l -> l.contains("libjsig"));
        } catch (IOException | RuntimeException e) {
            LOG.debug("Cannot read {}: {}", maps, e.toString());
            return null;
        }
    }

    /** {@code ${java.home}/lib/libjsig.so} of the running JDK. */
    static Path libjsigPath() {
        return Path.of(System.getProperty("java.home"), "lib", "libjsig.so");
    }

    /** The environment setting that preloads {@code libjsig}, e.g. {@code LD_PRELOAD=/usr/lib/jvm/.../lib/libjsig.so}. */
    static String preloadLine(Path libjsig) {
        return "LD_PRELOAD=" + libjsig;
    }
}
