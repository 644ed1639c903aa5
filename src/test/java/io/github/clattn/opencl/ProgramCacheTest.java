package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.TestDevices;
import io.github.clattn.core.CacheDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jocl.cl_program;

/**
 * The on-disk program binary cache: a second context loads the binary instead of compiling,
 * and a missing, truncated, corrupt, foreign or driver-rejected file falls back to a source
 * build that rewrites it. Each test compiles a program with a unique unused {@code -D}, so
 * neither this cache nor the driver's own cache has seen it.
 */
class ProgramCacheTest {
    private static final List<String> FILES = List.of("layout.cl", "gemm_cpu.cl", "flash_cpu.cl");

    @TempDir
    Path dir;
    private String savedCacheDir;
    private String options;

    @BeforeEach
    void useTemporaryCache() {
        savedCacheDir = System.getProperty(CacheDir.PROPERTY);
        System.setProperty(CacheDir.PROPERTY, dir.toString());
        options = "-cl-std=CL1.2 " + new FusedLayout(5, 1, 1, 5, 16, 16).defines() + " -DCLATTN_TEST_SALT_"
                + UUID.randomUUID().toString().replace('-', '_');
    }

    @AfterEach
    void restoreCache() {
        System.setProperty(CacheDir.PROPERTY, savedCacheDir != null ? savedCacheDir : TestCacheDir.folder().toString());
    }

    /** Makes the program in a fresh context; returns +1 binary loads or +1 source builds as {loads, builds}. */
    private int[] makeProgram() {
        int loads = ClContext.binaryLoads();
        int builds = ClContext.sourceBuilds();
        ClContext context = ClContext.acquire(TestDevices.openCl());
        try {
            cl_program p = context.program(FILES, options);
            // The program is usable: its kernels can be created.
            Cl.release(Cl.createKernel(p, "flash"));
        } finally {
            context.release();
        }
        return new int[] {ClContext.binaryLoads() - loads, ClContext.sourceBuilds() - builds};
    }

    private Path binaryFile() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("programs"))) {
            List<Path> bins = files.filter(p -> p.toString().endsWith(".bin")).toList();
            assertThat(bins).as("program binaries in the cache").hasSize(1);
            return bins.get(0);
        }
    }

    @Test
    void aSecondContextLoadsTheBinaryInsteadOfCompiling() throws Exception {
        assertThat(makeProgram()).as("{binary loads, source builds}, first time").containsExactly(0, 1);
        Path bin = binaryFile();
        assertThat(Files.size(bin)).isGreaterThan(100);
        assertThat(makeProgram()).as("{binary loads, source builds}, second time").containsExactly(1, 0);
    }

    @Test
    void damagedFilesFallBackToSourceAndAreRewritten() throws Exception {
        makeProgram();
        Path bin = binaryFile();
        byte[] good = Files.readAllBytes(bin);
        List<UnaryOperator<byte[]>> damages = List.of(
                b -> Arrays.copyOf(b, b.length / 2),                  // truncated
                b -> Arrays.copyOf(b, 5),                             // truncated inside the header
                b -> new byte[0],                                     // empty
                b -> flip(b, b.length - 10),                          // binary corrupt (checksum)
                b -> flip(b, 3),                                      // magic corrupt
                b -> flip(b, 20),                                     // key corrupt
                b -> "not a program binary at all".getBytes());
        for (UnaryOperator<byte[]> damage : damages) {
            Files.write(bin, damage.apply(good.clone()));
            assertThat(makeProgram()).as("{loads, builds} after damage").containsExactly(0, 1);
            assertThat(Files.readAllBytes(binaryFile())).as("rewritten file").hasSize(good.length);
            assertThat(makeProgram()).as("{loads, builds} after the rewrite").containsExactly(1, 0);
        }
    }

    @Test
    void aBinaryTheDriverRejectsFallsBackToSource() throws Exception {
        ClContext context = ClContext.acquire(TestDevices.openCl());
        String key;
        try {
            key = context.binaryKey(FILES, options);
        } finally {
            context.release();
        }
        byte[] junk = new byte[4096];
        new java.util.Random(1).nextBytes(junk);
        ProgramBinaryCache.store(key, junk);
        assertThat(ProgramBinaryCache.load(key)).as("stored junk passes the file checks").isEqualTo(junk);
        assertThat(makeProgram()).as("{loads, builds} with a junk binary").containsExactly(0, 1);
        assertThat(makeProgram()).as("{loads, builds} after the rewrite").containsExactly(1, 0);
    }

    @Test
    void anUnwritableCacheIsNotAnError() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        System.setProperty(CacheDir.PROPERTY, file.resolve("below-a-file").toString());
        assertThat(makeProgram()).as("{loads, builds} without a usable cache").containsExactly(0, 1);
        assertThat(makeProgram()).as("{loads, builds} again: nothing was stored").containsExactly(0, 1);
    }

    @Test
    void theCacheFolderFollowsThePropertyThenXdgThenHome() {
        assertThat(CacheDir.path()).isEqualTo(dir);
        System.clearProperty(CacheDir.PROPERTY);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path expected = xdg != null && !xdg.isBlank() ? Path.of(xdg, "clattn")
                : Path.of(System.getProperty("user.home"), ".cache", "clattn");
        assertThat(CacheDir.path()).isEqualTo(expected);
    }

    private static byte[] flip(byte[] b, int at) {
        b[at] ^= 0x5a;
        return b;
    }
}
