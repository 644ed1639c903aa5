package io.github.clattn.reference;

import io.github.clattn.AttentionOutput;
import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.Verification;
import io.github.clattn.core.Backend;
import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.Backends;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The battery behind {@link io.github.clattn.Devices#verify}: fixed, seeded problems run on every
 * kernel variant of a device and compared with {@link Float64Attention}. It covers
 * <ul>
 *   <li>every combination of the layer {@link Feature}s (the weights one takes OpenCL's staged path),
 *       each with a well-spread half of the decoder features (grouped-query heads, RoPE), at small
 *       sizes that are not multiples of any vector, tile, block or chunk;</li>
 *   <li>sequences long enough for several chunks, work-items and tiles per head, at dk = 64;</li>
 *   <li>more than 2¹⁶ keys.</li>
 * </ul>
 * Drivers miscompile, and a silently wrong attention kernel is the worst failure an attention
 * library can have: this is the check a user runs on a new driver.
 */
public final class SelfCheck {
    /** Keys of the long case: more than 2^16. */
    static final int LONG_KEYS = 70_001;

    private SelfCheck() {
    }

    /** The battery, the same on every device. */
    public static List<Problem> battery() {
        List<Problem> problems = new ArrayList<>();
        int[][] shapes = {{2, 37, 53, 24, 3, 13}, {1, 19, 70, 33, 2, 64}, {2, 7, 5, 20, 1, 13}, {1, 70, 23, 24, 2, 64}};
        List<Set<Feature>> combos = Feature.sweep(Feature.LAYER, Feature.DECODER);
        for (int i = 0; i < combos.size(); i++) {
            Set<Feature> f = combos.get(i);
            int[] s = shapes[i % shapes.length];
            int m = f.contains(Feature.CROSS) ? s[2] : s[1];
            problems.add(Problem.builder(1000 + i, s[0], s[1], m, s[3], s[4], s[5]).with(f).build());
        }
        problems.add(Problem.builder(7001, 1, 197, 197, 64, 2, 64)
                .with(Feature.CAUSAL, Feature.KEY_PADDING, Feature.PROJECTION_BIAS).label("long").build());
        problems.add(Problem.builder(7002, 1, 5, LONG_KEYS, 16, 2, 13)
                .with(Feature.CROSS, Feature.CAUSAL, Feature.PROJECTION_BIAS).label(">2^16 keys").build());
        // decode steps (one query per sequence): the split-key kernels, grouped heads, RoPE at a long position
        problems.add(Problem.builder(7003, 2, 1, 1500, 32, 8, 64).kvHeads(2)
                .with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING, Feature.ROPE).label("decode").build());
        problems.add(Problem.builder(7004, 1, 1, 70, 24, 3, 13).kvHeads(1)
                .with(Feature.CROSS, Feature.PROJECTION_BIAS).label("decode mqa").build());
        return problems;
    }

    /** Runs the battery on every variant of {@code device}; {@code progress} (may be null) sees each case. */
    public static Verification run(Device device, Consumer<Verification.Case> progress) {
        BackendProvider provider = Backends.of(device);
        List<Problem> problems = battery();
        List<Float64Attention.Result> references = new ArrayList<>();
        for (Problem p : problems) {
            references.add(p.reference());
        }
        List<Verification.Case> cases = new ArrayList<>();
        for (String variant : provider.variants(device)) {
            for (int i = 0; i < problems.size(); i++) {
                Problem p = problems.get(i);
                String name = describe(p) + " " + variant;
                Verification.Case c;
                try (Backend layer = provider.open(p.weights(), p.options(), device, variant)) {
                    AttentionOutput got = layer.forward(p.input().validate(p.weights().dModel()));
                    Verdict v = references.get(i).compare(name, got);
                    Comparison worst = v.worst();
                    c = new Verification.Case(name, device.spec(), got.path(), worst.maxAbsError(), worst.tolerance(),
                            v.passed(), v.passed() ? "" : v.report());
                } catch (ClattnException | IllegalArgumentException e) {
                    c = new Verification.Case(name, device.spec(), "-", Double.NaN, Double.NaN, false,
                            "failed to run: " + e.getMessage());
                }
                cases.add(c);
                if (progress != null) {
                    progress.accept(c);
                }
            }
        }
        return new Verification(device, cases);
    }

    /** {@code causal+cross B=2 N=37 M=53 D=24 H=3 dk=13}: features and sizes, without the seed. */
    static String describe(Problem p) {
        return String.format(Locale.ROOT, "%s%s B=%d N=%d M=%d D=%d H=%d dk=%d", p.label().isEmpty() ? "" : p.label() + " ",
                Feature.describe(p.features()), p.batch(), p.queryLength(), p.contextLength(), p.weights().dModel(),
                p.weights().heads(), p.weights().headDim());
    }
}
