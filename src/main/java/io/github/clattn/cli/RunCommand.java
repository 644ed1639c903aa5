package io.github.clattn.cli;

import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import io.github.clattn.Device;
import io.github.clattn.Rope;
import io.github.clattn.npy.Npy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code clattn run}: attention on {@code .npy} files, with the names and semantics of
 * {@code shared/conformance/README.md}. Every input is read and every shape checked against the
 * others before a device is touched; outputs are written all or nothing ({@link OutputFiles}).
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Compute attention from .npy files; write .npy outputs and weight heat maps.",
        description = {"Compute multi-head attention from .npy files (float32; --key-valid-len int32 or int64), "
                + "with the semantics of the conformance cases. Shapes:",
            "  x [B,N,D]   context [B,M,D]   w_q [D,H*dk]   w_k, w_v [D,Hkv*dk]   b_q [H*dk]   b_k, b_v [Hkv*dk]",
            "  w_o [H*dk,D]   b_o [D]   key_valid_len [B]   attn_bias [N,M]   (Hkv = H unless --kv-heads)",
            "  outputs: heads_out [B,N,H*dk]   out [B,N,D]   weights [B,H,N,M]", ""},
        footerHeading = "%nExample:%n",
        footer = {"  clattn run --x x.npy --w-q w_q.npy --w-k w_k.npy --w-v w_v.npy --heads 4 \\",
            "             --out heads_out.npy --weights-png weights.png"})
final class RunCommand extends CliCommand {
    @Option(names = "--x", required = true, paramLabel = "X.npy", description = "Queries' embeddings [B,N,D] (also keys and values without --context).")
    Path x;
    @Option(names = "--w-q", required = true, paramLabel = "WQ.npy", description = "Query projection [D,H*dk].")
    Path wQ;
    @Option(names = "--w-k", required = true, paramLabel = "WK.npy", description = "Key projection [D,H*dk].")
    Path wK;
    @Option(names = "--w-v", required = true, paramLabel = "WV.npy", description = "Value projection [D,H*dk].")
    Path wV;
    @Option(names = "--heads", required = true, paramLabel = "H", description = "Number of heads; H*dk is the columns of --w-q.")
    int heads;
    @Option(names = "--context", paramLabel = "C.npy", description = "Keys' and values' embeddings [B,M,D] (cross-attention).")
    Path context;
    @Option(names = "--b-q", paramLabel = "BQ.npy", description = "Query bias [H*dk].")
    Path bQ;
    @Option(names = "--b-k", paramLabel = "BK.npy", description = "Key bias [H*dk].")
    Path bK;
    @Option(names = "--b-v", paramLabel = "BV.npy", description = "Value bias [H*dk].")
    Path bV;
    @Option(names = "--w-o", paramLabel = "WO.npy", description = "Output projection [H*dk,D]; then --out receives out.")
    Path wO;
    @Option(names = "--b-o", paramLabel = "BO.npy", description = "Output bias [D] (needs --w-o).")
    Path bO;
    @Option(names = "--key-valid-len", paramLabel = "L.npy", description = "int32/int64 [B]: keys j >= L[b] are masked.")
    Path keyValidLen;
    @Option(names = "--attn-bias", paramLabel = "A.npy", description = "Additive mask [N,M] added to the scaled scores.")
    Path attnBias;
    @Option(names = "--causal", description = "Query i sees key j only if j <= i + (M - N).")
    boolean causal;
    @Option(names = "--scale", paramLabel = "S", description = "Score scale (default 1/sqrt(dk)).")
    Double scale;
    @Option(names = "--kv-heads", paramLabel = "HKV",
            description = "Key/value heads (grouped-query attention; a divisor of --heads; default: --heads). "
                    + "--w-k and --w-v are then [D, HKV*dk].")
    Integer kvHeads;
    @Option(names = "--rope-theta", paramLabel = "T", description = "Rotary position embedding of Q and K with base T "
            + "(e.g. 10000; 500000 for Llama 3); query i at position i + M - N, key j at j.")
    Double ropeTheta;
    @Option(names = "--rope-dim", paramLabel = "R",
            description = "Channels of each head RoPE rotates (even, <= dk; default: all of dk). Needs --rope-theta.")
    Integer ropeDim;
    @Option(names = "--rope-style", paramLabel = "neox|gptj",
            description = "RoPE channel pairs: neox (c, c + R/2; default) or gptj (2c, 2c + 1). Needs --rope-theta.")
    String ropeStyle;
    @Option(names = "--window-left", paramLabel = "L", description = "Sliding window: query at p sees keys j >= p - L "
            + "(Mistral: W - 1 with --causal; default -1, no limit).")
    Integer windowLeft;
    @Option(names = "--window-right", paramLabel = "R",
            description = "Sliding window: query at p sees keys j <= p + R (default -1, no limit).")
    Integer windowRight;
    @Option(names = "--softcap", paramLabel = "C", description = "Logit softcap: s = C*tanh(s/C) after the scale (Gemma 2: 50).")
    Double softcap;
    @Option(names = "--alibi-slopes", paramLabel = "S.npy", description = "ALiBi: float32 [H] slopes, s -= S[h]*|p - j|.")
    Path alibiSlopes;
    @Option(names = "--alibi", description = "ALiBi with the paper's standard slopes for H heads.")
    boolean alibi;
    @Option(names = "--sinks", paramLabel = "K.npy",
            description = "Attention sinks: float32 [H] logits in each head's softmax denominator (gpt-oss).")
    Path sinks;
    @Option(names = "--device", paramLabel = "SPEC", defaultValue = "auto",
            description = "cpu (Java path), opencl, opencl:I, or part of a device name; default: ${DEFAULT-VALUE} "
                    + "(the best OpenCL device, else the Java path; PoCL only with libjsig preloaded, as "
                    + "scripts/clattn does).")
    String device;
    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "Receives out with --w-o, else heads_out.")
    Path out;
    @Option(names = "--heads-out", paramLabel = "HO.npy", description = "Receives heads_out [B,N,H*dk].")
    Path headsOut;
    @Option(names = "--weights-out", paramLabel = "P.npy", description = "Receives the attention weights [B,H,N,M].")
    Path weightsOut;
    @Option(names = "--weights-png", paramLabel = "IMG.png", description = "Draws the weights of batch row 0 as heat maps, one panel per head.")
    Path weightsPng;
    @Option(names = "--lse-out", paramLabel = "LSE.npy",
            description = "Receives each row's log-sum-exp [B,H,N] (natural log, sink included; -inf: no key).")
    Path lseOut;
    @Option(names = "--key-mass-out", paramLabel = "KM.npy",
            description = "Receives the attention each key received, summed over the rows [B,H,M].")
    Path keyMassOut;

    @Override
    int execute() throws Exception {
        try (OutputFiles outputs = new OutputFiles()) {
            outputs.reserve("--out", out);
            outputs.reserve("--heads-out", headsOut);
            outputs.reserve("--weights-out", weightsOut);
            outputs.reserve("--weights-png", weightsPng);
            outputs.reserve("--lse-out", lseOut);
            outputs.reserve("--key-mass-out", keyMassOut);
            outputs.notAnOutput("--x", x);
            outputs.notAnOutput("--w-q", wQ);
            outputs.notAnOutput("--w-k", wK);
            outputs.notAnOutput("--w-v", wV);
            outputs.notAnOutput("--context", context);
            outputs.notAnOutput("--b-q", bQ);
            outputs.notAnOutput("--b-k", bK);
            outputs.notAnOutput("--b-v", bV);
            outputs.notAnOutput("--w-o", wO);
            outputs.notAnOutput("--b-o", bO);
            outputs.notAnOutput("--key-valid-len", keyValidLen);
            outputs.notAnOutput("--attn-bias", attnBias);
            outputs.notAnOutput("--alibi-slopes", alibiSlopes);
            outputs.notAnOutput("--sinks", sinks);
            if (weightsPng != null) {
                OutputFiles.requireExtension("--weights-png", weightsPng, "png");
            }
            Problem p = readAndCheck();
            Device chosen = DeviceSpecs.select("--device", device);
            AttentionOutput result;
            long start = System.nanoTime();
            double buildMs;
            Device ranOn;
            try (Attention attention = Attention.open(p.weights, p.options, chosen)) {
                result = attention.forward(p.input);
                buildMs = attention.buildMillis();
                ranOn = attention.device();
            }
            double totalMs = (System.nanoTime() - start) / 1e6;

            int b = result.batch();
            int n = result.queryLength();
            int m = result.contextLength();
            int h = result.heads();
            int hd = h * result.headDim();
            List<String> wrote = new ArrayList<>();
            boolean projected = result.out() != null;
            long[] outShape = projected ? new long[] {b, n, result.dModel()} : new long[] {b, n, hd};
            outputs.write("--out", out, s -> Npy.write(s, result.result(), outShape));
            wrote.add(describe(out, projected ? "out" : "heads_out", outShape));
            if (headsOut != null) {
                outputs.write("--heads-out", headsOut, s -> Npy.write(s, result.headsOut(), b, n, hd));
                wrote.add(describe(headsOut, "heads_out", new long[] {b, n, hd}));
            }
            if (weightsOut != null) {
                outputs.write("--weights-out", weightsOut, s -> Npy.write(s, result.weights(), b, h, n, m));
                wrote.add(describe(weightsOut, "weights", new long[] {b, h, n, m}));
            }
            if (lseOut != null) {
                outputs.write("--lse-out", lseOut, s -> Npy.write(s, result.lse(), b, h, n));
                wrote.add(describe(lseOut, "lse", new long[] {b, h, n}));
            }
            if (keyMassOut != null) {
                outputs.write("--key-mass-out", keyMassOut, s -> Npy.write(s, result.keyMass(), b, h, m));
                wrote.add(describe(keyMassOut, "key_mass", new long[] {b, h, m}));
            }
            if (weightsPng != null) {
                outputs.write("--weights-png", weightsPng, s -> Charts.writeWeightsGrid(result.weights(), h, n, m, s));
                wrote.add(weightsPng + "  heat maps of batch 0, " + h + (h == 1 ? " head" : " heads"));
            }
            outputs.commit();

            out().printf(Locale.ROOT, "attention on %s, path %s: B=%d N=%d M=%d D=%d H=%d dk=%d%s, %.1f ms%s%n",
                    ranOn, result.path(), b, n, m, result.dModel(), h, result.headDim(), causal ? ", causal" : "",
                    totalMs, buildMs > 0 ? String.format(Locale.ROOT, " (%.1f ms of it building the program)", buildMs) : "");
            for (String line : wrote) {
                out().println("wrote " + line);
            }
            out().flush();
            return 0;
        }
    }

    private static String describe(Path file, String what, long[] shape) {
        return file + "  " + what + " float32 " + Arrays.toString(shape);
    }

    /** The layer, its options and the call's input, built from the files once every shape agrees. */
    private static final class Problem {
        AttentionWeights weights;
        AttentionOptions options;
        AttentionInput input;
    }

    private Problem readAndCheck() {
        if (heads <= 0) {
            throw new UsageException("--heads: expected a positive number of heads, got " + heads);
        }
        if (scale != null && (!Double.isFinite(scale) || scale == 0)) {
            throw new UsageException("--scale: expected a finite non-zero number, got " + scale);
        }
        if (bO != null && wO == null) {
            throw new UsageException("--b-o " + bO + ": an output bias needs --w-o (the output projection)");
        }
        if (kvHeads != null && (kvHeads <= 0 || heads % kvHeads != 0)) {
            throw new UsageException("--kv-heads: expected a divisor of --heads " + heads + ", got " + kvHeads);
        }
        Rope rope = rope();

        NpyInput xIn = NpyInput.read("--x", x).requireRank(3, "[B, N, D]");
        int b = intDim(xIn, 0);
        int n = intDim(xIn, 1);
        int d = intDim(xIn, 2);
        String bnd = "[B=" + b + ", N=" + n + ", D=" + d + "]";

        NpyInput wqIn = NpyInput.read("--w-q", wQ).requireRank(2, "[D, H*dk]")
                .requireDim(0, d, "[D, H*dk]", "D = " + d + " from --x " + x);
        int hd = intDim(wqIn, 1);
        if (hd == 0 || hd % heads != 0) {
            throw wqIn.problem("has " + hd + " columns (H*dk), expected a positive multiple of --heads " + heads);
        }
        int dk = hd / heads;
        int hkv = kvHeads == null ? heads : kvHeads;
        int kvd = hkv * dk;
        String kvLayout = kvHeads == null ? "[D, H*dk]" : "[D, Hkv*dk]";
        long[] projShape = {d, kvd};
        String why = "D from --x, " + (kvHeads == null ? "H*dk from --w-q" : "Hkv from --kv-heads, dk from --w-q");
        NpyInput wkIn = NpyInput.read("--w-k", wK).requireShape(projShape, kvLayout, why);
        NpyInput wvIn = NpyInput.read("--w-v", wV).requireShape(projShape, kvLayout, why);
        long[] biasShape = {hd};
        long[] kvBiasShape = {kvd};
        String kvBiasLayout = kvHeads == null ? "[H*dk]" : "[Hkv*dk]";
        String kvBiasWhy = kvHeads == null ? "H*dk from --w-q" : "Hkv*dk from --kv-heads and --w-q";
        NpyInput bqIn = optional("--b-q", bQ, biasShape, "[H*dk]", "H*dk from --w-q");
        NpyInput bkIn = optional("--b-k", bK, kvBiasShape, kvBiasLayout, kvBiasWhy);
        NpyInput bvIn = optional("--b-v", bV, kvBiasShape, kvBiasLayout, kvBiasWhy);
        NpyInput woIn = optional("--w-o", wO, new long[] {hd, d}, "[H*dk, D]", "H*dk from --w-q, D from --x");
        NpyInput boIn = optional("--b-o", bO, new long[] {d}, "[D]", "D from --x");

        int m = n;
        NpyInput ctxIn = NpyInput.read("--context", context);
        if (ctxIn != null) {
            ctxIn.requireRank(3, "[B, M, D]").requireDim(0, b, "[B, M, D]", "B = " + b + " from --x " + x)
                    .requireDim(2, d, "[B, M, D]", "D = " + d + " from --x " + x);
            m = intDim(ctxIn, 1);
            if (m == 0 && b > 0 && n > 0) {
                throw ctxIn.problem("has no keys (M = 0); every query needs at least one key");
            }
        }
        NpyInput validIn = NpyInput.read("--key-valid-len", keyValidLen);
        int[] valid = null;
        if (validIn != null) {
            validIn.requireShape(new long[] {b}, "[B]", "B = " + b + " from --x " + x);
            valid = validIn.ints();
            for (int i = 0; i < valid.length; i++) {
                if (valid[i] < 0 || valid[i] > m) {
                    throw validIn.problem("value " + valid[i] + " at index " + i + " is outside [0, M=" + m + "]");
                }
            }
        }
        NpyInput biasIn = optional("--attn-bias", attnBias, new long[] {n, m}, "[N, M]",
                "N from --x" + (ctxIn != null ? ", M from --context" : ", M = N without --context"));
        boolean wantWeights = weightsOut != null || weightsPng != null;
        if (wantWeights) {
            long count = (long) b * heads * n * m;
            if (count > Integer.MAX_VALUE - 8) {
                throw new UsageException((weightsOut != null ? "--weights-out" : "--weights-png") + ": the weights "
                        + "[B, H, N, M] = [" + b + ", " + heads + ", " + n + ", " + m + "] have " + count
                        + " values, more than one Java array holds; leave the option out or split the batch");
            }
        }
        if (weightsPng != null && (b == 0 || n == 0 || m == 0)) {
            throw new UsageException("--weights-png " + weightsPng + ": the input is empty (" + bnd + ", M=" + m
                    + "), there are no weights to draw");
        }

        if (rope != null) {
            try {
                rope.rotatedDims(dk);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--rope-dim " + rope.dims() + ": expected an even number <= dk = " + dk
                        + " (dk from --w-q and --heads)" + (dk % 2 != 0 && rope.dims() == 0
                        ? "; dk is odd, so give an even --rope-dim" : ""));
            }
        }
        Problem p = new Problem();
        p.weights = AttentionWeights.builder(d, heads, dk).kvHeads(hkv)
                .projections(wqIn.floats(), wkIn.floats(), wvIn.floats())
                .projectionBiases(floats(bqIn), floats(bkIn), floats(bvIn))
                .outputProjection(floats(woIn), floats(boIn))
                .build();
        p.options = modifiers(new AttentionOptions(causal, scale == null ? Double.NaN : scale).withRope(rope));
        if (keyMassOut != null && (long) b * heads * m > Integer.MAX_VALUE - 8) {
            throw new UsageException("--key-mass-out: key_mass [B, H, M] = [" + b + ", " + heads + ", " + m
                    + "] is more than one Java array holds; leave the option out or split the batch");
        }
        AttentionInput.Builder in = AttentionInput.builder(xIn.floats(), b, n).keyValidLength(valid)
                .attnBias(floats(biasIn)).returnWeights(wantWeights).returnLse(lseOut != null)
                .returnKeyMass(keyMassOut != null);
        if (ctxIn != null) {
            in.context(ctxIn.floats(), m);
        }
        p.input = in.build().validate(d);
        return p;
    }

    /** {@code options} with the window, softcap, ALiBi and sinks the options ask for, each checked. */
    private AttentionOptions modifiers(AttentionOptions options) {
        AttentionOptions o = options;
        if (windowLeft != null || windowRight != null) {
            int left = windowLeft == null ? -1 : windowLeft;
            int right = windowRight == null ? -1 : windowRight;
            if (left < -1 || right < -1) {
                throw new UsageException((left < -1 ? "--window-left " + left : "--window-right " + right)
                        + ": expected a number of keys >= 0, or -1 for no limit");
            }
            o = o.withWindow(left, right);
        }
        if (softcap != null) {
            if (!(softcap > 0) || softcap.isInfinite()) {
                throw new UsageException("--softcap: expected a finite number > 0, got " + softcap);
            }
            o = o.withSoftcap(softcap);
        }
        if (alibi && alibiSlopes != null) {
            throw new UsageException("--alibi: give either --alibi (standard slopes) or --alibi-slopes FILE, not both");
        }
        if (alibi) {
            o = o.withAlibiSlopes(AttentionOptions.standardAlibiSlopes(heads));
        }
        o = o.withAlibiSlopes(alibiSlopes != null ? perHead("--alibi-slopes", alibiSlopes, "slope") : o.alibiSlopes());
        if (sinks != null) {
            o = o.withSinks(perHead("--sinks", sinks, "sink logit"));
        }
        return o;
    }

    /** A float32 [H] file of finite values. */
    private float[] perHead(String option, Path file, String what) {
        NpyInput in = NpyInput.read(option, file).requireShape(new long[] {heads}, "[H]", "H = " + heads
                + " from --heads");
        float[] values = in.floats();
        for (int h = 0; h < values.length; h++) {
            if (!Float.isFinite(values[h])) {
                throw in.problem("the " + what + " of head " + h + " is " + values[h] + ", expected a finite number");
            }
        }
        return values;
    }

    /** The RoPE the options ask for, or null; checks the options that need --rope-theta. */
    private Rope rope() {
        if (ropeTheta == null) {
            if (ropeDim != null || ropeStyle != null) {
                throw new UsageException((ropeDim != null ? "--rope-dim" : "--rope-style")
                        + ": needs --rope-theta (the RoPE base, e.g. 10000)");
            }
            return null;
        }
        if (!(ropeTheta > 1) || ropeTheta.isInfinite()) {
            throw new UsageException("--rope-theta: expected a finite number > 1, got " + ropeTheta);
        }
        if (ropeDim != null && (ropeDim <= 0 || ropeDim % 2 != 0)) {
            throw new UsageException("--rope-dim: expected a positive even number of channels, got " + ropeDim);
        }
        Rope.Style style;
        try {
            style = ropeStyle == null ? Rope.Style.NEOX : Rope.Style.parse(ropeStyle);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--rope-style: expected neox or gptj, got '" + ropeStyle + "'");
        }
        return new Rope(ropeTheta, ropeDim == null ? 0 : ropeDim, style);
    }

    private static NpyInput optional(String option, Path file, long[] shape, String layout, String why) {
        NpyInput in = NpyInput.read(option, file);
        return in == null ? null : in.requireShape(shape, layout, why);
    }

    private static float[] floats(NpyInput in) {
        return in == null ? null : in.floats();
    }

    private static int intDim(NpyInput in, int axis) {
        long v = in.dim(axis);
        if (v > Integer.MAX_VALUE - 8) {
            throw in.problem("dimension " + axis + " = " + v + " is larger than clattn supports");
        }
        return (int) v;
    }
}
