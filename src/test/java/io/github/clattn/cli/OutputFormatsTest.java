package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.TestJson;
import io.github.clattn.npy.Npy;
import io.github.clattn.npy.NpyArray;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writers behind the CLI's outputs: .npy streams, JSON and all-or-nothing output files. */
class OutputFormatsTest {
    @TempDir
    Path tmp;

    @Test
    void npyStreamRoundTripsWithA64ByteAlignedHeader() throws IOException {
        float[] data = new float[3 * 70000]; // more than one write chunk
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f - 7;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Npy.write(bytes, data, 3, 70000);
        byte[] image = bytes.toByteArray();
        int headerLen = (image[8] & 0xff) | (image[9] & 0xff) << 8;
        assertThat((10 + headerLen) % 64).isZero();
        assertThat(image).hasSize(10 + headerLen + data.length * 4);
        NpyArray back = Npy.read(new ByteArrayInputStream(image), "stream", image.length);
        assertThat(back.shape()).containsExactly(3, 70000);
        assertThat(back.floats()).containsExactly(data);
        assertThatThrownBy(() -> Npy.write(new ByteArrayOutputStream(), data, 2, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 2]");
    }

    @Test
    void npyPathWriteStillWorksAndLeavesNoTemporaryFile() throws IOException {
        Path f = tmp.resolve("a.npy");
        Npy.write(f, new float[] {1, 2, 3}, 3);
        assertThat(Npy.read(f).floats()).containsExactly(1, 2, 3);
        assertThat(RunCommandTest.leftovers(tmp)).isEmpty();
    }

    @Test
    void jsonEscapesTextAndWritesNonFiniteNumbersAsNull() {
        String json = Json.arrayOfLines(List.of(Map.of("name", "a \"quoted\"\\ name\n\u0001"),
                new java.util.LinkedHashMap<>(Map.of("nan", Double.NaN)), Map.of("list", List.of(1, 2.5, true))));
        List<Map<String, Object>> back = TestJson.parseArrayOfObjects(json);
        assertThat(back.get(0)).containsEntry("name", "a \"quoted\"\\ name\n\u0001");
        assertThat(back.get(1)).containsEntry("nan", null);
        assertThat(back.get(2).get("list")).isEqualTo(List.of(1.0, 2.5, true));
        assertThat(Json.round(123.456789, 4)).isEqualTo(123.5);
    }

    @Test
    void outputFilesAreAllOrNothing() throws IOException {
        Path a = tmp.resolve("a.bin");
        Path b = tmp.resolve("b.bin");
        Files.writeString(a, "old a");
        try (OutputFiles outputs = new OutputFiles()) {
            outputs.reserve("--a", a);
            outputs.reserve("--b", b);
            outputs.write("--a", a, s -> s.write("new a".getBytes()));
            try {
                outputs.write("--b", b, s -> {
                    s.write("half".getBytes());
                    throw new IOException("disk full");
                });
            } catch (CliFailure e) {
                assertThat(e).hasMessageContaining("--b").hasMessageContaining("disk full");
            }
        }
        assertThat(Files.readString(a)).as("the first output is not committed either").isEqualTo("old a");
        assertThat(b).doesNotExist();
        assertThat(RunCommandTest.leftovers(tmp)).isEmpty();
    }

    @Test
    void benchChartSkipsASizeThatFailedOnOneDevice() throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        Charts.write(Charts.benchChart("t", List.of(
                new Charts.Line("a", new java.util.ArrayList<>(List.of(64, 128, 256)), new java.util.ArrayList<>(List.of(1.0, 2.0, 3.0))),
                new Charts.Line("b", new java.util.ArrayList<>(List.of(64, 256)), new java.util.ArrayList<>(List.of(0.5, 4.0))))),
                "png", png);
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new ByteArrayInputStream(png.toByteArray()));
        assertThat(image.getWidth()).isEqualTo(900);
        assertThat(image.getHeight()).isEqualTo(560);
    }

    @Test
    void heatMapsOfAllZeroWeightsStillHaveAScale() throws IOException {
        // A fully masked batch row: every weight is zero.
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        Charts.writeWeightsGrid(new float[3 * 5 * 4], 3, 5, 4, png);
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new ByteArrayInputStream(png.toByteArray()));
        assertThat(image.getWidth()).as("3 heads: 2 panels wide").isEqualTo(2 * 480);
        assertThat(image.getHeight()).as("and 2 high").isEqualTo(2 * 480);
    }

    @Test
    void niceBlockSizes() {
        assertThat(List.of(1, 2, 3, 6, 9, 11, 49, 51, 101)).extracting(Charts::niceAtLeast)
                .containsExactly(1, 2, 5, 10, 10, 20, 50, 100, 200);
    }
}
