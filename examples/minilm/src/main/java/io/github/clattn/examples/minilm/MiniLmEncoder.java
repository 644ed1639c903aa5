package io.github.clattn.examples.minilm;

import static io.github.clattn.examples.minilm.MiniLmWeights.D;
import static io.github.clattn.examples.minilm.MiniLmWeights.FFN;
import static io.github.clattn.examples.minilm.MiniLmWeights.HEADS;
import static io.github.clattn.examples.minilm.MiniLmWeights.HEAD_DIM;

import io.github.clattn.Attention;
import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * all-MiniLM-L6-v2 as sentence embedder: a BERT encoder in plain Java whose self-attention
 * (Q/K/V projections, masked softmax attention over 12 heads, output projection) runs through
 * clattn, one {@link Attention} per layer, opened once and reused for every batch.
 *
 * <pre>
 *   x  = LayerNorm(word[id] + position[t] + tokenType[0])
 *   per layer:  a = clattn(x)  (= heads_out @ W_O + b_O, padded keys masked)
 *               h = LayerNorm(a + x)
 *               x = LayerNorm(GELU(h @ W_1 + b_1) @ W_2 + b_2 + h)
 *   embedding = normalize(mean of x over the sentence's tokens, [CLS] and [SEP] included)
 * </pre>
 *
 * The pooling matches langchain4j's {@code OnnxBertBiEncoder} with {@code PoolingMode.MEAN}: the
 * average of every token's last hidden state, then L2 normalisation. Thread-safe for concurrent
 * {@link #embed} calls (clattn's layers are; everything else is per call).
 */
final class MiniLmEncoder implements AutoCloseable {
    private final MiniLmWeights weights;
    private final List<Attention> attention = new ArrayList<>();
    private volatile String[] lastPaths;

    MiniLmEncoder(MiniLmWeights weights, String deviceSpec) {
        this.weights = weights;
        try {
            for (MiniLmWeights.Layer l : weights.layers) {
                AttentionWeights w = AttentionWeights.builder(D, HEADS, HEAD_DIM)
                        .projections(l.wQ(), l.wK(), l.wV())
                        .projectionBiases(l.bQ(), l.bK(), l.bV())
                        .outputProjection(l.wO(), l.bO())
                        .build();
                attention.add(Attention.open(w, AttentionOptions.DEFAULT, deviceSpec));
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** The clattn layers, one per encoder layer. */
    List<Attention> layers() {
        return attention;
    }

    /** The clattn path of each layer in the last {@link #embed} call. */
    String[] lastPaths() {
        return lastPaths == null ? null : lastPaths.clone();
    }

    /**
     * Embeds a batch of tokenized sentences (ids with [CLS]/[SEP], any lengths): one padded
     * {@code [B, N, D]} tensor, N the longest sentence, each sentence's length as clattn's
     * {@code keyValidLength}. The dense layers skip the padding rows; clattn masks the padded keys.
     */
    float[][] embed(int[][] ids) {
        int batch = ids.length;
        int n = 0;
        for (int[] s : ids) {
            if (s.length == 0 || s.length > weights.maxPositions) {
                throw new IllegalArgumentException("sentence of " + s.length + " tokens: expected 1 to "
                        + weights.maxPositions);
            }
            n = Math.max(n, s.length);
        }
        int[] lengths = new int[batch];
        int valid = 0;
        for (int b = 0; b < batch; b++) {
            lengths[b] = ids[b].length;
            valid += lengths[b];
        }
        int[] rows = new int[valid]; // the rows [b, t] of the padded tensor that hold a token
        int k = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                rows[k++] = b * n + t;
            }
        }

        float[] x = new float[batch * n * D];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                int id = ids[b][t];
                if (id < 0 || id >= weights.vocab) {
                    throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + weights.vocab);
                }
                int o = (b * n + t) * D;
                for (int j = 0; j < D; j++) {
                    x[o + j] = weights.wordEmbeddings[id * D + j] + weights.tokenTypeEmbeddings[j]
                            + weights.positionEmbeddings[t * D + j];
                }
            }
        }
        Ops.addLayerNorm(x, null, D, weights.embGamma, weights.embBeta, weights.embEps, rows);

        float[] inter = new float[batch * n * FFN];
        float[] ffnOut = new float[batch * n * D];
        String[] paths = new String[attention.size()];
        for (int li = 0; li < attention.size(); li++) {
            MiniLmWeights.Layer l = weights.layers.get(li);
            AttentionOutput r = attention.get(li).forward(AttentionInput.builder(x, batch, n)
                    .keyValidLength(lengths)
                    .build());
            paths[li] = r.path();
            float[] h = r.result(); // [B, N, D]: heads_out @ W_O + b_O (BERT's attention.output.dense)
            Ops.addLayerNorm(h, x, D, l.ln1Gamma(), l.ln1Beta(), l.ln1Eps(), rows);
            Ops.linear(h, D, l.w1(), l.b1(), FFN, inter, rows);
            Ops.gelu(inter, FFN, rows);
            Ops.linear(inter, FFN, l.w2(), l.b2(), D, ffnOut, rows);
            Ops.addLayerNorm(ffnOut, h, D, l.ln2Gamma(), l.ln2Beta(), l.ln2Eps(), rows);
            // Next layer's input; padding rows are zeroed so that every call sees the same values there.
            float[] next = new float[batch * n * D];
            for (int row : rows) {
                System.arraycopy(ffnOut, row * D, next, row * D, D);
            }
            x = next;
        }
        lastPaths = paths;

        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Ops.meanPoolNormalize(x, D, b * n, lengths[b]);
        }
        return out;
    }

    @Override
    public void close() {
        for (Attention a : attention) {
            a.close();
        }
    }

    @Override
    public String toString() {
        return "MiniLmEncoder" + Arrays.toString(attention.stream().map(Attention::device).toArray());
    }
}
