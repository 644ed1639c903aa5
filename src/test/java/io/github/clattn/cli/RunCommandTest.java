package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.AttentionOptions;
import io.github.clattn.ConformanceCase;
import io.github.clattn.Device;
import io.github.clattn.Rope;
import io.github.clattn.TestDevices;
import io.github.clattn.npy.Npy;
import io.github.clattn.npy.NpyArray;
import io.github.clattn.opencl.Cl;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Tolerance;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.jocl.CL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code clattn run}: every conformance case reproduced through the command line on the Java path
 * and on the OpenCL device, then every bad input the issue lists, each with its exit code, its
 * one-line message and no output file left behind.
 */
class RunCommandTest {
    /** conformance file name → run option. */
    private static final String[][] INPUTS = {
        {"x", "--x"}, {"context", "--context"}, {"w_q", "--w-q"}, {"w_k", "--w-k"}, {"w_v", "--w-v"},
        {"b_q", "--b-q"}, {"b_k", "--b-k"}, {"b_v", "--b-v"}, {"w_o", "--w-o"}, {"b_o", "--b-o"},
        {"key_valid_len", "--key-valid-len"}, {"attn_bias", "--attn-bias"}, {"alibi_slopes", "--alibi-slopes"},
        {"sinks", "--sinks"},
    };

    @TempDir
    Path tmp;

    static Stream<Arguments> cases() {
        return Stream.concat(ConformanceCase.names().stream(), ConformanceCase.v2Names().stream())
                .flatMap(name -> TestDevices.specs().stream().map(spec -> Arguments.of(name, spec)));
    }

    /** The run arguments of a conformance case, with outputs in {@code outDir}. */
    private static List<String> caseArgs(ConformanceCase c, String device, Path outDir) {
        Path dir = ConformanceCase.dir().resolve(c.name());
        List<String> args = new ArrayList<>(List.of("run"));
        for (String[] in : INPUTS) {
            Path f = dir.resolve(in[0] + ".npy");
            if (Files.exists(f)) {
                args.add(in[1]);
                args.add(f.toString());
            }
        }
        args.addAll(List.of("--heads", Integer.toString(c.weights().heads()), "--device", device,
                "--out", outDir.resolve("out.npy").toString(), "--heads-out", outDir.resolve("heads_out.npy").toString()));
        if (!Double.isNaN(c.options().scale())) {
            args.addAll(List.of("--scale", Double.toString(c.options().scale())));
        }
        if (c.options().causal()) {
            args.add("--causal");
        }
        if (c.weights().kvHeads() != c.weights().heads()) {
            args.addAll(List.of("--kv-heads", Integer.toString(c.weights().kvHeads())));
        }
        Rope rope = c.options().rope();
        if (rope != null) {
            args.addAll(List.of("--rope-theta", Double.toString(rope.theta()), "--rope-style", rope.style().label()));
            if (rope.dims() != 0) {
                args.addAll(List.of("--rope-dim", Integer.toString(rope.dims())));
            }
        }
        AttentionOptions o = c.options();
        if (o.windowLeft() >= 0) {
            args.addAll(List.of("--window-left", Integer.toString(o.windowLeft())));
        }
        if (o.windowRight() >= 0) {
            args.addAll(List.of("--window-right", Integer.toString(o.windowRight())));
        }
        if (o.softcap() > 0) {
            args.addAll(List.of("--softcap", Double.toString(o.softcap())));
        }
        if (c.weightsExpected() != null) {
            args.addAll(List.of("--weights-out", outDir.resolve("weights.npy").toString()));
        }
        if (c.lse() != null) {
            args.addAll(List.of("--lse-out", outDir.resolve("lse.npy").toString()));
        }
        if (c.keyMass() != null) {
            args.addAll(List.of("--key-mass-out", outDir.resolve("key_mass.npy").toString()));
        }
        return args;
    }

    /** "cpu" (the CLI's name for the Java path) or the OpenCL device under test's spec. */
    private static String cliSpec(String testSpec) {
        return testSpec.equals("java") ? "cpu" : TestDevices.openCl().spec();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void reproducesTheConformanceCase(String name, String testSpec) throws IOException {
        ConformanceCase c = ConformanceCase.load(name);
        Cli.Result r = Cli.run(caseArgs(c, cliSpec(testSpec), tmp));
        String label = name + " via clattn run on " + testSpec;
        assertThat(r.exit()).as(label + "\n" + r).isZero();
        assertThat(r.err()).as(label).isEmpty();
        assertThat(r.out()).as(label).contains("wrote " + tmp.resolve("out.npy"));

        NpyArray headsOut = Npy.read(tmp.resolve("heads_out.npy"));
        int b = c.input().batch();
        int n = c.input().queryLength();
        int m = c.input().contextLength();
        int h = c.weights().heads();
        assertThat(headsOut.shape()).as(label).containsExactly(b, n, c.weights().projectedDim());
        Tolerance.outputs(label + " heads_out", headsOut.floats(), Tensors.widen(c.headsOut())).assertPassed();

        NpyArray out = Npy.read(tmp.resolve("out.npy"));
        float[] expectedOut = c.out() != null ? c.out() : c.headsOut();
        assertThat(out.shape()).as(label + " --out is out with --w-o, else heads_out")
                .containsExactly(b, n, c.out() != null ? c.weights().dModel() : c.weights().projectedDim());
        Tolerance.outputs(label + " --out", out.floats(), Tensors.widen(expectedOut)).assertPassed();

        if (c.weightsExpected() != null) {
            NpyArray weights = Npy.read(tmp.resolve("weights.npy"));
            assertThat(weights.shape()).as(label).containsExactly(b, h, n, m);
            Tolerance.weights(label + " weights", weights.floats(), Tensors.widen(c.weightsExpected())).assertPassed();
        }
        if (c.lse() != null) {
            NpyArray lse = Npy.read(tmp.resolve("lse.npy"));
            assertThat(lse.shape()).as(label).containsExactly(b, h, n);
            Tolerance.lse(label + " lse", lse.floats(), Tensors.widen(c.lse())).assertPassed();
        }
        if (c.keyMass() != null) {
            NpyArray mass = Npy.read(tmp.resolve("key_mass.npy"));
            assertThat(mass.shape()).as(label).containsExactly(b, h, m);
            Tolerance.outputs(label + " key_mass", mass.floats(), Tensors.widen(c.keyMass())).assertPassed();
        }
        assertThat(leftovers(tmp)).as(label + ": no temporary file left").isEmpty();
    }

    @Test
    void weightsPngHasOnePanelPerHead() throws IOException {
        ConformanceCase c = ConformanceCase.load("batched_heads");
        List<String> args = caseArgs(c, "cpu", tmp);
        Path png = tmp.resolve("weights.png");
        args.addAll(List.of("--weights-png", png.toString()));
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).as(r.toString()).isZero();
        byte[] bytes = Files.readAllBytes(png);
        assertThat(Arrays.copyOf(bytes, 8)).containsExactly(0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A);
        BufferedImage image = ImageIO.read(png.toFile());
        // 4 heads: a 2x2 grid of square panels.
        assertThat(image.getWidth()).isEqualTo(image.getHeight()).isGreaterThan(400);
        assertThat(distinctColours(image)).as("heat map colours, not a blank image").isGreaterThan(50);
        assertThat(r.out()).contains("wrote " + png, "4 heads");
    }

    @Test
    void weightsPngOfALongSequenceAveragesBlocks() throws IOException {
        ConformanceCase c = ConformanceCase.load("long_seq");
        List<String> args = caseArgs(c, "cpu", tmp);
        Path png = tmp.resolve("long.png");
        args.addAll(List.of("--weights-png", png.toString()));
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(ImageIO.read(png.toFile()).getWidth()).isGreaterThan(400);
    }

    private static int distinctColours(BufferedImage image) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }

    // ---- bad input: exit 2, one line naming the option and file, nothing written ----

    private Path inputs() throws IOException {
        Path dir = ConformanceCase.dir().resolve("two_heads");
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (String f : new String[] {"x", "w_q", "w_k", "w_v"}) {
            Files.copy(dir.resolve(f + ".npy"), in.resolve(f + ".npy"));
        }
        return in;
    }

    /** A valid two_heads run with {@code option} replaced by {@code value} (or added). */
    private List<String> argsWith(Path in, String... overrides) {
        List<String> args = new ArrayList<>(List.of("run", "--x", in.resolve("x.npy").toString(),
                "--w-q", in.resolve("w_q.npy").toString(), "--w-k", in.resolve("w_k.npy").toString(),
                "--w-v", in.resolve("w_v.npy").toString(), "--heads", "2", "--device", "cpu",
                "--out", tmp.resolve("out.npy").toString(), "--heads-out", tmp.resolve("heads_out.npy").toString()));
        for (int i = 0; i < overrides.length; i += 2) {
            int at = args.indexOf(overrides[i]);
            if (at >= 0) {
                args.set(at + 1, overrides[i + 1]);
            } else {
                args.add(overrides[i]);
                args.add(overrides[i + 1]);
            }
        }
        return args;
    }

    /** Runs, expects exit 2 and one line mentioning every fragment, and no output. */
    private Cli.Result usageError(List<String> args, String... fragments) throws IOException {
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.errLines()).as(r.toString()).hasSize(1);
        assertThat(r.err()).as(r.toString()).startsWith("clattn run: ").contains(fragments).doesNotContain("\tat ");
        assertThat(r.out()).isEmpty();
        assertThat(tmp.resolve("out.npy")).doesNotExist();
        assertThat(tmp.resolve("heads_out.npy")).doesNotExist();
        assertThat(leftovers(tmp)).isEmpty();
        return r;
    }

    @Test
    void missingFile() throws IOException {
        Path in = inputs();
        Path missing = in.resolve("nope.npy");
        usageError(argsWith(in, "--w-k", missing.toString()), "--w-k", missing.toString(), "file not found");
    }

    @Test
    void unreadableFile() throws IOException {
        Path in = inputs();
        usageError(argsWith(in, "--x", in.toString()), "--x", in.toString(), "is a directory");
        Path locked = in.resolve("x.npy");
        if (locked.toFile().setReadable(false, false) && !Files.isReadable(locked)) {
            // Only when the tests do not run as root (root reads anything).
            usageError(argsWith(in), "--x", locked.toString(), "permission denied");
        }
        locked.toFile().setReadable(true, false);
    }

    @Test
    void truncatedData() throws IOException {
        Path in = inputs();
        Path x = in.resolve("x.npy");
        byte[] whole = Files.readAllBytes(x);
        Files.write(x, Arrays.copyOf(whole, whole.length - 10));
        usageError(argsWith(in), "--x", x.toString(), "truncated", "needs 448 data bytes");
    }

    @Test
    void truncatedHeader() throws IOException {
        Path in = inputs();
        Path x = in.resolve("x.npy");
        Files.write(x, Arrays.copyOf(Files.readAllBytes(x), 40));
        usageError(argsWith(in), "--x", x.toString(), "truncated");
    }

    @Test
    void notANpyFile() throws IOException {
        Path in = inputs();
        Path x = in.resolve("x.npy");
        Files.writeString(x, "x,y\n1,2\n");
        usageError(argsWith(in), "--x", x.toString(), "not a .npy file");
    }

    @Test
    void malformedHeader() throws IOException {
        Path in = inputs();
        Path x = in.resolve("x.npy");
        writeRawNpy(x, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, seven, 16), }", new byte[0]);
        usageError(argsWith(in), "--x", x.toString(), "malformed shape");
    }

    @Test
    void wrongDtypes() throws IOException {
        Path in = inputs();
        Path x = in.resolve("x.npy");
        writeRawNpy(x, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 7, 16), }", new byte[7 * 16 * 8]);
        usageError(argsWith(in), "--x", x.toString(), "unsupported dtype <f8", "float32");

        Path ints = in.resolve("ints.npy");
        writeRawNpy(ints, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 7, 16), }", new byte[7 * 16 * 4]);
        usageError(argsWith(inputs2(in), "--x", ints.toString()), "--x", ints.toString(), "expected dtype float32", "<i4");

        Path floatLengths = in.resolve("valid.npy");
        Npy.write(floatLengths, new float[] {3}, 1);
        usageError(argsWith(in, "--key-valid-len", floatLengths.toString()), "--key-valid-len", "int32", "<f4");
    }

    @Test
    void anOutputThatNamesAnInputIsRefusedAndTheInputKept() throws IOException {
        Path in = inputs();
        Path wv = in.resolve("w_v.npy");
        byte[] before = Files.readAllBytes(wv);
        usageError(argsWith(in, "--heads-out", in.resolve("sub/../w_v.npy").toString()), "--w-v",
                "also given as --heads-out");
        assertThat(Files.readAllBytes(wv)).isEqualTo(before);
    }

    /** The inputs again after a test replaced x.npy. */
    private Path inputs2(Path in) throws IOException {
        Files.copy(ConformanceCase.dir().resolve("two_heads").resolve("x.npy"), in.resolve("x.npy"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return in;
    }

    @Test
    void keyValidLengthInt64IsAccepted() throws IOException {
        Path in = inputs();
        Path valid = in.resolve("valid.npy");
        byte[] data = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(3).array();
        writeRawNpy(valid, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data);
        Cli.Result r = Cli.run(argsWith(in, "--key-valid-len", valid.toString()));
        assertThat(r.exit()).as(r.toString()).isZero();
    }

    @Test
    void badScoreModifiers() throws IOException {
        Path in = inputs(); // two heads
        usageError(argsWith(in, "--window-left", "-2"), "--window-left -2", ">= 0, or -1");
        usageError(argsWith(in, "--window-right", "-5"), "--window-right -5");
        usageError(argsWith(in, "--softcap", "0"), "--softcap", "> 0");
        usageError(argsWith(in, "--softcap", "NaN"), "--softcap", "NaN");
        Path three = in.resolve("slopes3.npy");
        Npy.write(three, new float[] {0.5f, 0.25f, 0.125f}, 3);
        usageError(argsWith(in, "--alibi-slopes", three.toString()), "--alibi-slopes", three.toString(), "[H]",
                "H = 2 from --heads", "got shape [3]");
        Path nan = in.resolve("sinks_nan.npy");
        Npy.write(nan, new float[] {0f, Float.NaN}, 2);
        usageError(argsWith(in, "--sinks", nan.toString()), "--sinks", nan.toString(), "head 1", "NaN", "finite");
        Path two = in.resolve("slopes2.npy");
        Npy.write(two, new float[] {0.5f, 0.25f}, 2);
        List<String> both = argsWith(in, "--alibi-slopes", two.toString());
        both.add("--alibi");
        usageError(both, "--alibi", "not both");
    }

    @Test
    void shapesThatDoNotAgree() throws IOException {
        Path in = inputs();
        Path wk = in.resolve("w_k_bad.npy");
        Npy.write(wk, new float[16 * 8], 16, 8);
        usageError(argsWith(in, "--w-k", wk.toString()), "--w-k", wk.toString(), "[16, 16]", "got shape [16, 8]");

        usageError(argsWith(in, "--heads", "3"), "--w-q", "16 columns", "--heads 3");

        Path x2 = in.resolve("x2d.npy");
        Npy.write(x2, new float[7 * 16], 7, 16);
        usageError(argsWith(in, "--x", x2.toString()), "--x", x2.toString(), "3-D array [B, N, D]", "[7, 16]");

        Path ctx = in.resolve("ctx.npy");
        Npy.write(ctx, new float[5 * 8], 1, 5, 8);
        usageError(argsWith(in, "--context", ctx.toString()), "--context", ctx.toString(), "D = 16");

        Path bias = in.resolve("bias.npy");
        Npy.write(bias, new float[7 * 6], 7, 6);
        usageError(argsWith(in, "--attn-bias", bias.toString()), "--attn-bias", bias.toString(), "[7, 7]", "[7, 6]");

        Path valid = in.resolve("valid.npy");
        writeRawNpy(valid, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", new byte[8]);
        usageError(argsWith(in, "--key-valid-len", valid.toString()), "--key-valid-len", "[1]", "[2]");

        Path tooLong = in.resolve("valid9.npy");
        byte[] nine = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(9).array();
        writeRawNpy(tooLong, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", nine);
        usageError(argsWith(in, "--key-valid-len", tooLong.toString()), "--key-valid-len", "value 9", "[0, M=7]");

        Path bo = in.resolve("b_o.npy");
        Npy.write(bo, new float[16], 16);
        usageError(argsWith(in, "--b-o", bo.toString()), "--b-o", "needs --w-o");
    }

    @Test
    void unknownDeviceSpec() throws IOException {
        Path in = inputs();
        usageError(argsWith(in, "--device", "no-such-device"), "--device no-such-device", "no device matches");
        usageError(argsWith(in, "--device", "opencl:99"), "--device opencl:99", "out of range");
    }

    @Test
    void badOptionValuesAndOutputs() throws IOException {
        Path in = inputs();
        usageError(argsWith(in, "--scale", "0"), "--scale", "finite non-zero");
        usageError(argsWith(in, "--scale", "abc"), "--scale", "abc");
        usageError(argsWith(in, "--heads-out", tmp.resolve("out.npy").toString()), "--heads-out", "same file as --out");
        Path nowhere = tmp.resolve("no/such/dir/out.npy");
        usageError(argsWith(in, "--out", nowhere.toString()), "--out", "does not exist");
        usageError(argsWith(in, "--weights-png", tmp.resolve("w.jpg").toString()), "--weights-png", ".png");
        List<String> missing = new ArrayList<>(argsWith(in));
        int at = missing.indexOf("--w-v");
        missing.remove(at + 1);
        missing.remove(at);
        usageError(missing, "Missing required option", "--w-v");
    }

    @Test
    void verboseAddsTheStackTrace() throws IOException {
        Path in = inputs();
        List<String> args = argsWith(in, "--w-k", in.resolve("nope.npy").toString());
        args.add("--verbose");
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines().get(0)).contains("--w-k", "file not found");
        assertThat(r.err()).contains("UsageException", "\tat io.github.clattn.cli.");
    }

    @Test
    void aDeviceFailureIsExitOneAndWritesNothing() throws IOException {
        Device openCl = TestDevices.openCl();
        Path in = inputs();
        Path existing = tmp.resolve("out.npy");
        Files.writeString(existing, "keep me");
        int liveBefore = Cl.liveObjects();
        Cli.Result r;
        try {
            Cl.injectFault(8, CL.CL_OUT_OF_RESOURCES);
            r = Cli.run(argsWith(in, "--device", openCl.spec()));
        } finally {
            Cl.injectFault(0, 0);
        }
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.errLines()).as(r.toString()).hasSize(1);
        assertThat(r.err()).contains("clattn run: ", "CL_OUT_OF_RESOURCES", "--verbose");
        assertThat(Files.readString(existing)).as("an existing output is left as it was").isEqualTo("keep me");
        assertThat(tmp.resolve("heads_out.npy")).doesNotExist();
        assertThat(leftovers(tmp)).isEmpty();
        assertThat(Cl.liveObjects()).as("every OpenCL object released").isEqualTo(liveBefore);
    }

    @Test
    void outputsReplaceExistingFilesAndAreReadableByOthers() throws IOException {
        Path in = inputs();
        Files.writeString(tmp.resolve("out.npy"), "old");
        Cli.Result r = Cli.run(argsWith(in));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(Npy.read(tmp.resolve("out.npy")).shape()).containsExactly(1, 7, 16);
        java.util.Set<java.nio.file.attribute.PosixFilePermission> perms =
                Files.getPosixFilePermissions(tmp.resolve("out.npy"));
        assertThat(perms).as("the umask's permissions, not a temporary file's owner-only ones")
                .contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ);
    }

    /** A .npy file with the given header dictionary and data bytes (padded as NumPy pads). */
    static void writeRawNpy(Path file, String dict, byte[] data) throws IOException {
        int total = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - total % 64) % 64) + "\n";
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(10 + header.length() + data.length)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        buf.put(header.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)).put(data);
        Files.write(file, buf.array());
    }

    /** Temporary files (".name.xxxx.tmp") left in {@code dir}. */
    static List<String> leftovers(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".tmp") || n.startsWith(".")).map(n -> n.toLowerCase(Locale.ROOT)).toList();
        }
    }
}
