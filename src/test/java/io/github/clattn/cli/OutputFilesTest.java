package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * All or nothing across several output files: a move that fails at any step of the commit (moving
 * a target aside, or a finished file into place) leaves every target as it was and no hidden file
 * behind; a commit that succeeds replaces them all.
 */
class OutputFilesTest {

    @Test
    void aFailedMoveAtAnyStepLeavesEveryTargetAsItWas(@TempDir Path dir) throws IOException {
        // three outputs, two of which exist: the commit makes 2 moves aside, then 3 into place
        for (int failAt = 1; failAt <= 5; failAt++) {
            Path a = write(dir.resolve("a.npy"), "old a");
            Path b = dir.resolve("b.npy");
            Files.deleteIfExists(b);
            Path c = write(dir.resolve("c.npy"), "old c");
            AtomicInteger moves = new AtomicInteger();
            int failing = failAt;
            OutputFiles.Mover failingMove = (from, to) -> {
                if (moves.incrementAndGet() == failing) {
                    throw new IOException("injected failure at move " + failing);
                }
                Files.move(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            };
            try (OutputFiles outputs = new OutputFiles(failingMove)) {
                stage(outputs, a, b, c);
                assertThatThrownBy(outputs::commit).isInstanceOf(CliFailure.class)
                        .hasMessageContaining("injected failure").hasMessageContaining("no output file was changed");
            }
            assertThat(read(a)).as("failure at move %d", failAt).isEqualTo("old a");
            assertThat(b).as("failure at move %d", failAt).doesNotExist();
            assertThat(read(c)).as("failure at move %d", failAt).isEqualTo("old c");
            assertThat(names(dir)).as("failure at move %d", failAt).containsExactlyInAnyOrder("a.npy", "c.npy");
        }
    }

    @Test
    void aCommitReplacesEveryTargetAndLeavesNoHiddenFile(@TempDir Path dir) throws IOException {
        Path a = write(dir.resolve("a.npy"), "old a");
        Path b = dir.resolve("b.npy");
        Path c = write(dir.resolve("c.npy"), "old c");
        try (OutputFiles outputs = new OutputFiles()) {
            stage(outputs, a, b, c);
            outputs.commit();
        }
        assertThat(read(a)).isEqualTo("new a.npy");
        assertThat(read(b)).isEqualTo("new b.npy");
        assertThat(read(c)).isEqualTo("new c.npy");
        assertThat(names(dir)).containsExactlyInAnyOrder("a.npy", "b.npy", "c.npy");
    }

    @Test
    void anOutputThatNamesAnInputIsRefused(@TempDir Path dir) throws IOException {
        Path in = write(dir.resolve("x.npy"), "input");
        OutputFiles outputs = new OutputFiles();
        outputs.reserve("--out", dir.resolve("sub/../x.npy"));
        assertThatThrownBy(() -> outputs.notAnOutput("--x", in)).isInstanceOf(UsageException.class)
                .hasMessageContaining("--x").hasMessageContaining("also given as --out");
        outputs.notAnOutput("--w-q", dir.resolve("other.npy"));
        outputs.notAnOutput("--b-q", null);
    }

    private static void stage(OutputFiles outputs, Path... files) {
        for (Path f : files) {
            outputs.reserve("--" + f.getFileName(), f);
            outputs.write("--" + f.getFileName(), f, out -> out.write(("new " + f.getFileName())
                    .getBytes(StandardCharsets.UTF_8)));
        }
    }

    private static Path write(Path file, String text) throws IOException {
        return Files.writeString(file, text);
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
