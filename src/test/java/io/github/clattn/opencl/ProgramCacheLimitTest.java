package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.core.CacheDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The program binary cache stays under its size limit: the least recently used binaries go first,
 * never the one just stored; a load counts as a use; temporary files a dead writer left behind go
 * once stale; nothing else in the folder is touched. No OpenCL device is needed.
 */
class ProgramCacheLimitTest {
    private static final Instant NOW = Instant.now();

    @TempDir
    Path dir;
    private String savedCacheDir;
    private String savedLimit;
    private Path programs;

    @BeforeEach
    void useTemporaryCache() throws Exception {
        savedCacheDir = System.getProperty(CacheDir.PROPERTY);
        savedLimit = System.getProperty(ProgramBinaryCache.MAX_MIB_PROPERTY);
        System.setProperty(CacheDir.PROPERTY, dir.toString());
        programs = Files.createDirectories(dir.resolve("programs"));
    }

    @AfterEach
    void restore() {
        System.setProperty(CacheDir.PROPERTY, savedCacheDir != null ? savedCacheDir : TestCacheDir.folder().toString());
        if (savedLimit != null) {
            System.setProperty(ProgramBinaryCache.MAX_MIB_PROPERTY, savedLimit);
        } else {
            System.clearProperty(ProgramBinaryCache.MAX_MIB_PROPERTY);
        }
    }

    /** A name as the cache gives its binaries: 40 hex digits, here starting with {@code tag}'s. */
    private static String bin(String tag) {
        return (tag + "0".repeat(40)).substring(0, 40) + ".bin";
    }

    /** A file of {@code bytes} bytes last used {@code ago} before now. */
    private Path file(String name, int bytes, Duration ago) throws Exception {
        Path p = Files.write(programs.resolve(name), new byte[bytes]);
        Files.setLastModifiedTime(p, FileTime.from(NOW.minus(ago)));
        return p;
    }

    private List<String> names() throws Exception {
        try (Stream<Path> files = Files.list(programs)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theLeastRecentlyUsedBinariesGoFirstAndNeverTheOneJustStored() throws Exception {
        file(bin("a"), 400, Duration.ofDays(3));
        file(bin("b"), 400, Duration.ofDays(2));
        file(bin("c"), 400, Duration.ofDays(1));
        Path keep = file(bin("d"), 400, Duration.ofDays(9)); // old, but just stored
        ProgramBinaryCache.prune(programs, 1000, keep);
        assertThat(names()).as("1600 bytes down to at most 1000, oldest first").containsExactly(bin("c"), bin("d"));

        ProgramBinaryCache.prune(programs, 100, keep);
        assertThat(names()).as("the kept file stays even above the limit").containsExactly(bin("d"));

        ProgramBinaryCache.prune(programs, 1000, keep);
        assertThat(names()).as("under the limit: nothing to do").containsExactly(bin("d"));
    }

    @Test
    void staleTemporaryFilesGoAndFilesTheCacheDidNotWriteStay() throws Exception {
        String stale = bin("e") + "1234.tmp";
        String fresh = bin("f") + "5678.tmp"; // a writer may still be busy with it
        file(stale, 10, ProgramBinaryCache.STALE_TEMPORARY.plusMinutes(5));
        file(fresh, 10, Duration.ofSeconds(5));
        file("notes.txt", 5000, Duration.ofDays(30));
        file("mine.bin", 5000, Duration.ofDays(30)); // not a name the cache gives
        file("other.tmp", 10, Duration.ofDays(30));
        Files.createDirectories(programs.resolve(bin("1")));
        file(bin("2"), 10, Duration.ofDays(1));
        ProgramBinaryCache.prune(programs, 1 << 20, null);
        assertThat(names()).containsExactlyInAnyOrder(bin("1"), bin("2"), fresh, "mine.bin", "notes.txt", "other.tmp");
        ProgramBinaryCache.prune(programs, 1, null);
        assertThat(names()).as("only the cache's binaries count and go")
                .containsExactlyInAnyOrder(bin("1"), fresh, "mine.bin", "notes.txt", "other.tmp");
    }

    @Test
    void storingKeepsTheFolderUnderTheLimitAndALoadCountsAsAUse() throws Exception {
        System.setProperty(ProgramBinaryCache.MAX_MIB_PROPERTY, "1");
        byte[] binary = new byte[300_000];
        new java.util.Random(7).nextBytes(binary);
        ProgramBinaryCache.store("used", binary);
        Path used = ProgramBinaryCache.file("used");
        Files.setLastModifiedTime(used, FileTime.from(NOW.minus(Duration.ofDays(5))));
        file(bin("01d"), 300_000, Duration.ofDays(4));
        assertThat(ProgramBinaryCache.load("used")).isEqualTo(binary);
        assertThat(Files.getLastModifiedTime(used).toInstant()).as("marked used by the load")
                .isAfter(NOW.minus(Duration.ofMinutes(1)));

        ProgramBinaryCache.store("new one", binary); // 3 × 300 KB fit in 1 MiB
        assertThat(names()).hasSize(3);
        ProgramBinaryCache.store("newest", binary); // 4 × 300 KB do not: the least recently used goes
        assertThat(names()).hasSize(3).doesNotContain(bin("01d"))
                .contains(ProgramBinaryCache.file("newest").getFileName().toString(), used.getFileName().toString());
        assertThat(ProgramBinaryCache.load("newest")).isEqualTo(binary);
    }

    @Test
    void theLimitIsAPositiveWholeNumberOfMebibytes() {
        System.clearProperty(ProgramBinaryCache.MAX_MIB_PROPERTY);
        assertThat(ProgramBinaryCache.maxBytes()).isEqualTo(ProgramBinaryCache.DEFAULT_MAX_MIB << 20);
        System.setProperty(ProgramBinaryCache.MAX_MIB_PROPERTY, " 64 ");
        assertThat(ProgramBinaryCache.maxBytes()).isEqualTo(64L << 20);
        for (String bad : List.of("0", "-5", "1.5", "lots", "99999999999999999999")) {
            System.setProperty(ProgramBinaryCache.MAX_MIB_PROPERTY, bad);
            assertThat(ProgramBinaryCache.maxBytes()).as("a bad value falls back to the default: " + bad)
                    .isEqualTo(ProgramBinaryCache.DEFAULT_MAX_MIB << 20);
            assertThat(ProgramBinaryCache.invalidLimit(bad)).isEqualTo(ProgramBinaryCache.MAX_MIB_PROPERTY
                    + ": expected a positive whole number of MiB, got '" + bad + "'");
        }
    }
}
