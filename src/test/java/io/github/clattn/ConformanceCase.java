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
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;

/**
 * One case of {@code shared/conformance}: inputs, options and float64-made expected outputs, read
 * with the project's own NPY reader. The cases of {@code manifest.json} are the encoder-era ones;
 * {@code manifest-v2.json} adds the decoder-era ones (grouped-query heads, RoPE, ...), each with
 * its {@code features}. The folder comes from the system property {@code clattn.conformance.dir}
 * (set by the pom to {@code ../shared/conformance}). Where it is absent the tests are skipped with
 * that reason, except under {@code CI=true}, where they fail.
 */
public record ConformanceCase(String name, List<String> features, AttentionWeights weights, AttentionOptions options,
                              AttentionInput input, float[] headsOut, float[] out, float[] weightsExpected,
                              float[] lse, float[] keyMass) {

    /** The decoder-era features this build implements: all of them. */
    public static final Set<String> SUPPORTED_V2 = Set.of("gqa", "mqa", "rope", "rope_partial", "causal", "cross",
            "padding", "window", "softcap", "alibi", "sinks");

    private static Path folder() {
        return Paths.get(System.getProperty("clattn.conformance.dir", "../shared/conformance")).toAbsolutePath()
                .normalize();
    }

    public static Path dir() {
        Path dir = folder();
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            String why = "conformance cases not found at " + dir + " (set -Dclattn.conformance.dir)";
            if (TestDevices.ci()) {
                fail("CI=true but " + why);
            }
            Assumptions.abort(why);
        }
        return dir;
    }

    /** The encoder-era case names, in manifest order. */
    public static List<String> names() {
        return names("manifest.json", null);
    }

    /** The decoder-era case names whose features this build implements, in manifest order. */
    public static List<String> v2Names() {
        return names("manifest-v2.json", SUPPORTED_V2);
    }

    /** The names of {@code manifest}'s cases, those with features within {@code supported} (null: all). */
    @SuppressWarnings("unchecked")
    private static List<String> names(String manifest, Set<String> supported) {
        Path file = folder().resolve(manifest);
        if (!Files.isRegularFile(file)) {
            return List.of("(conformance folder absent)");
        }
        List<String> names = new ArrayList<>();
        for (Map<String, Object> c : cases(file)) {
            List<String> f = (List<String>) c.getOrDefault("features", List.of());
            if (supported == null || supported.containsAll(f)) {
                names.add((String) c.get("name"));
            }
        }
        return names;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> cases(Path manifest) {
        Map<String, Object> m = (Map<String, Object>) TestJson.parse(read(manifest));
        return (List<Map<String, Object>>) m.get("cases");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The case's manifest entry, from either manifest. */
    private static Map<String, Object> entry(Path dir, String name) {
        for (String manifest : List.of("manifest.json", "manifest-v2.json")) {
            Path file = dir.resolve(manifest);
            if (!Files.isRegularFile(file)) {
                continue;
            }
            for (Map<String, Object> c : cases(file)) {
                if (name.equals(c.get("name"))) {
                    return c;
                }
            }
        }
        return fail("case " + name + " is in neither manifest of " + dir);
    }

    @SuppressWarnings("unchecked")
    public static ConformanceCase load(String name) {
        Path dir = dir();
        Map<String, Object> e = entry(dir, name);
        boolean causal = Boolean.TRUE.equals(e.get("causal"));
        double scale = e.get("scale") instanceof Number s ? s.doubleValue() : Double.NaN;
        int heads = ((Number) e.get("heads")).intValue();
        int kvHeads = e.get("kv_heads") instanceof Number k ? k.intValue() : heads;
        AttentionOptions options = new AttentionOptions(causal, scale);
        if (e.get("rope_theta") instanceof Number theta) {
            int dims = e.get("rope_dim") instanceof Number r ? r.intValue() : 0;
            options = options.withRope(new Rope(theta.doubleValue(), dims, Rope.Style.parse((String) e.get("rope_style"))));
        }
        int left = e.get("window_left") instanceof Number l ? l.intValue() : -1;
        int right = e.get("window_right") instanceof Number r ? r.intValue() : -1;
        if (left >= 0 || right >= 0) {
            options = options.withWindow(left, right);
        }
        if (e.get("softcap") instanceof Number cap) {
            options = options.withSoftcap(cap.doubleValue());
        }
        Path c = dir.resolve(name);
        options = options.withAlibiSlopes(floats(c, "alibi_slopes")).withSinks(floats(c, "sinks"));
        NpyArray x = npy(c, "x");
        int b = (int) x.dim(0);
        int n = (int) x.dim(1);
        int d = (int) x.dim(2);
        NpyArray wq = npy(c, "w_q");
        int hd = (int) wq.dim(1);
        AttentionWeights w = AttentionWeights.builder(d, heads, hd / heads).kvHeads(kvHeads)
                .projections(wq.floats(), npy(c, "w_k").floats(), npy(c, "w_v").floats())
                .projectionBiases(floats(c, "b_q"), floats(c, "b_k"), floats(c, "b_v"))
                .outputProjection(floats(c, "w_o"), floats(c, "b_o"))
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
        in.attnBias(floats(c, "attn_bias"));
        float[] lse = floats(c, "lse");
        float[] keyMass = floats(c, "key_mass");
        in.returnLse(lse != null).returnKeyMass(keyMass != null);
        List<String> features = (List<String>) e.getOrDefault("features", List.of());
        return new ConformanceCase(name, features, w, options, in.build(), npy(c, "heads_out").floats(),
                floats(c, "out"), floats(c, "weights"), lse, keyMass);
    }

    /** The case as a problem (layer, options, call), for the float64 reference and the paths. */
    public Problem problem() {
        return Problem.of(name, weights, options, input);
    }

    /**
     * {@code got} against the case's stored float64-made outputs: heads_out, out (and that there is
     * none without w_o), and the weights, lse and key mass when the call returned them.
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
        if (lse != null && got.lse() != null) {
            checks.add(Tolerance.lse(name + " lse", got.lse(), Tensors.widen(lse)));
        }
        if (keyMass != null && got.keyMass() != null) {
            checks.add(Tolerance.outputs(name + " key_mass", got.keyMass(), Tensors.widen(keyMass)));
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

    private static float[] floats(Path dir, String name) {
        NpyArray a = optional(dir, name);
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
