package io.github.clattn;

import static org.junit.jupiter.api.Assertions.fail;

import io.github.clattn.npy.Npy;
import io.github.clattn.npy.NpyArray;
import io.github.clattn.reference.Comparison;
import io.github.clattn.reference.Problem;
import io.github.clattn.reference.Tensors;
import io.github.clattn.reference.Tolerance;
import io.github.clattn.reference.Verdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * One case of {@code shared/conformance}: inputs, flags and float64-made expected outputs, read
 * with the project's own NPY reader. The folder comes from the system property
 * {@code clattn.conformance.dir} (set by the pom to {@code ../shared/conformance}). Where it is
 * absent the tests are skipped with that reason, except under {@code CI=true}, where they fail.
 */
public record ConformanceCase(String name, boolean causal, double scale, AttentionWeights weights,
                              AttentionInput input, float[] headsOut, float[] out, float[] weightsExpected) {

    public static Path dir() {
        String p = System.getProperty("clattn.conformance.dir", "../shared/conformance");
        Path dir = Paths.get(p).toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            String why = "conformance cases not found at " + dir + " (set -Dclattn.conformance.dir)";
            if (TestDevices.ci()) {
                fail("CI=true but " + why);
            }
            Assumptions.abort(why);
        }
        return dir;
    }

    /** The case names in manifest order. */
    public static List<String> names() {
        String p = System.getProperty("clattn.conformance.dir", "../shared/conformance");
        Path manifest = Paths.get(p).resolve("manifest.json");
        if (!Files.isRegularFile(manifest)) {
            return List.of("(conformance folder absent)");
        }
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]+)\"").matcher(read(manifest));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ConformanceCase load(String name) {
        Path dir = dir();
        String manifest = read(dir.resolve("manifest.json"));
        int at = manifest.indexOf("\"name\": \"" + name + "\"");
        if (at < 0) {
            fail("case " + name + " is not in " + dir.resolve("manifest.json"));
        }
        int end = manifest.indexOf('}', at);
        String entry = manifest.substring(at, end);
        boolean causal = entry.matches("(?s).*\"causal\"\\s*:\\s*true.*");
        Matcher sm = Pattern.compile("\"scale\"\\s*:\\s*([0-9.eE+-]+)").matcher(entry);
        double scale = sm.find() ? Double.parseDouble(sm.group(1)) : Double.NaN;
        Path c = dir.resolve(name);
        NpyArray x = npy(c, "x");
        int b = (int) x.dim(0);
        int n = (int) x.dim(1);
        int d = (int) x.dim(2);
        NpyArray wq = npy(c, "w_q");
        int hd = (int) wq.dim(1);
        Matcher hm = Pattern.compile("\"heads\"\\s*:\\s*(\\d+)").matcher(entry);
        int h = hm.find() ? Integer.parseInt(hm.group(1)) : 1;
        AttentionWeights w = AttentionWeights.builder(d, h, hd / h)
                .projections(wq.floats(), npy(c, "w_k").floats(), npy(c, "w_v").floats())
                .projectionBiases(floats(c, "b_q", false), floats(c, "b_k", false), floats(c, "b_v", false))
                .outputProjection(floats(c, "w_o", false), floats(c, "b_o", false))
                .build();
        AttentionInput.Builder in = AttentionInput.builder(x.floats(), b, n).returnWeights(true);
        NpyArray ctx = optional(c, "context");
        if (ctx != null) {
            in.context(ctx.floats(), (int) ctx.dim(1));
        }
        NpyArray valid = optional(c, "key_valid_len");
        if (valid != null) {
            in.keyValidLength(valid.ints());
        }
        in.attnBias(floats(c, "attn_bias", false));
        return new ConformanceCase(name, causal, scale, w, in.build(), npy(c, "heads_out").floats(),
                floats(c, "out", false), floats(c, "weights", false));
    }

    public AttentionOptions options() {
        return new AttentionOptions(causal, scale);
    }

    /** The case as a problem (layer, options, call), for the float64 reference and the paths. */
    public Problem problem() {
        return Problem.of(name, weights, options(), input);
    }

    /**
     * {@code got} against the case's stored float64-made outputs: heads_out, out (and that there is
     * none without w_o), and the weights when the call returned them.
     */
    public Verdict check(AttentionOutput got) {
        List<Comparison> checks = new ArrayList<>();
        checks.add(Tolerance.outputs(name + " heads_out", got.headsOut(), Tensors.widen(headsOut)));
        if (out != null) {
            checks.add(Tolerance.outputs(name + " out", got.out(), Tensors.widen(out)));
        } else if (got.out() != null) {
            checks.add(Tolerance.outputs(name + " out (the case has no w_o)", got.out(), new double[0]));
        }
        if (weightsExpected != null && got.weights() != null) {
            checks.add(Tolerance.weights(name + " weights", got.weights(), Tensors.widen(weightsExpected)));
        }
        return new Verdict(name, got.path(), checks);
    }

    private static NpyArray npy(Path dir, String name) {
        NpyArray a = optional(dir, name);
        if (a == null) {
            fail(dir.resolve(name + ".npy") + " is missing");
        }
        return a;
    }

    private static float[] floats(Path dir, String name, boolean required) {
        NpyArray a = required ? npy(dir, name) : optional(dir, name);
        return a == null ? null : a.floats();
    }

    private static NpyArray optional(Path dir, String name) {
        Path f = dir.resolve(name + ".npy");
        if (!Files.exists(f)) {
            return null;
        }
        try {
            return Npy.read(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
