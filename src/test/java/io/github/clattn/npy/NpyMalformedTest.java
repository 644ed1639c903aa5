package io.github.clattn.npy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code .npy} reader: round trips, every malformed file refused with one clear line naming
 * the file, and a seeded fuzz of mutated valid files that sees only clean errors or correct data.
 */
class NpyMalformedTest {

    static byte[] file(String descr, String fortran, String shape, byte[] data) {
        String header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
        int pad = (64 - (10 + header.length() + 1) % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static NpyArray read(byte[] bytes) throws IOException {
        return Npy.read(new ByteArrayInputStream(bytes), "t.npy", bytes.length);
    }

    @Test
    void roundTripThroughAFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("a.npy");
        float[] data = {1f, -2.5f, Float.NaN, 4f, 5f, 6f};
        Npy.write(f, data, 2, 3);
        NpyArray a = Npy.read(f);
        assertThat(a.shape()).containsExactly(2, 3);
        assertThat(a.floats()).containsExactly(data);
        Npy.write(f, new float[] {7f}, 1);
        assertThat(Npy.read(f).floats()).containsExactly(7f);
        try (var files = Files.list(dir)) {
            assertThat(files).as("no temporary file left behind").hasSize(1);
        }
    }

    @Test
    void readsInt32AndInt64() throws IOException {
        ByteBuffer i4 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(5).putInt(0);
        assertThat(read(file("<i4", "False", "(2,)", i4.array())).ints()).containsExactly(5, 0);
        ByteBuffer i8 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(3).putLong(9);
        assertThat(read(file("<i8", "False", "(2,)", i8.array())).ints()).containsExactly(3, 9);
        assertThatThrownBy(() -> read(file("<i4", "False", "(1,)", new byte[4])).floats())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("t.npy").hasMessageContaining("float32");
    }

    @Test
    void refusesEachMalformedFileWithOneLineNamingIt() {
        byte[] good = file("<f4", "False", "(2, 2)", floats(1, 2, 3, 4));
        assertRefused(Arrays.copyOf(good, good.length - 3), "truncated");
        assertRefused(Arrays.copyOf(good, 5), "truncated");
        byte[] badMagic = good.clone();
        badMagic[1] = 'X';
        assertRefused(badMagic, "not a .npy file");
        assertRefused(file("<f8", "False", "(2, 2)", new byte[32]), "unsupported dtype <f8");
        assertRefused(file(">f4", "False", "(2, 2)", floats(1, 2, 3, 4)), "big-endian");
        assertRefused(file("<f4", "True", "(2, 2)", floats(1, 2, 3, 4)), "Fortran");
        assertRefused(file("<f4", "False", "(100000, 100000, 100000)", floats(1)), "more than a Java array");
        assertRefused(file("<f4", "False", "(4611686018427387904, 4)", floats(1)), "overflows");
        assertRefused(file("<f4", "False", "(1000000000,)", floats(1)), "truncated");
        assertRefused(file("<f4", "False", "(-3,)", floats(1)), "negative");
        assertRefused(file("<f4", "False", "(two,)", floats(1)), "malformed shape");
        byte[] version9 = good.clone();
        version9[6] = 9;
        assertRefused(version9, "version 9");
    }

    private static void assertRefused(byte[] bytes, String expected) {
        assertThatThrownBy(() -> read(bytes)).isInstanceOf(NpyFormatException.class)
                .hasMessageStartingWith("t.npy: ").hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void fuzzedFilesGiveCleanErrorsOrCorrectData() {
        Random r = new Random(0xF022);
        float[] values = new float[24];
        for (int i = 0; i < values.length; i++) {
            values[i] = i - 7.5f;
        }
        byte[] good = file("<f4", "False", "(2, 3, 4)", floats(values));
        int clean = 0;
        for (int trial = 0; trial < 5000; trial++) {
            byte[] b = good.clone();
            int mutations = 1 + r.nextInt(4);
            for (int k = 0; k < mutations; k++) {
                switch (r.nextInt(3)) {
                    case 0 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                    case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length));
                    default -> b[r.nextInt(Math.min(b.length, 80))] ^= (byte) (1 << r.nextInt(8));
                }
                if (b.length == 0) {
                    break;
                }
            }
            try {
                NpyArray a = read(b);
                // Accepted: then what it returns must be what the bytes say, never garbage sizes.
                assertThat(a.size()).isEqualTo(a.isFloat() ? a.floats().length : a.ints().length);
                assertThat(a.size() * 4).isLessThanOrEqualTo(b.length);
                clean++;
            } catch (NpyFormatException e) {
                assertThat(e.getMessage()).as("trial %d", trial).startsWith("t.npy: ").doesNotContain("\n");
            } catch (IllegalArgumentException e) {
                // ints() of a value that does not fit an int: a clean error too
                assertThat(e.getMessage()).startsWith("t.npy");
            } catch (IOException | RuntimeException e) {
                throw new AssertionError("trial " + trial + " (seed 0xF022) gave an unclean " + e, e);
            }
        }
        assertThat(clean).as("some mutations (e.g. in the data) still read").isPositive();
    }
}
