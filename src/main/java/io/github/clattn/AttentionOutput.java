package io.github.clattn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The result of one forward call, row-major float32.
 *
 * <pre>
 *   headsOut  [B, N, H*dk]  the heads' outputs concatenated, before any output projection
 *   out       [B, N, D]     heads_out @ w_o + b_o; null when the layer has no output projection
 *   weights   [B, H, N, M]  attention probabilities; null unless the call asked for them
 *   lse       [B, H, N]     each row's log-sum-exp (sink included; −∞ with no visible key and no sink);
 *                           null unless asked for
 *   keyMass   [B, H, M]     the probability each key received, summed over the rows; null unless asked for
 * </pre>
 *
 * {@link #path()} names the implementation that ran (for example {@code opencl-staged} or
 * {@code java-vector}); {@link #stageMillis()} gives per-stage times in milliseconds (kernel times
 * from OpenCL profiling events, wall times on the Java path).
 *
 * <p>Each call returns new arrays, which belong to the caller. B = 0 or N = 0 gives empty arrays
 * and the path {@code empty}.
 */
public final class AttentionOutput {
    private final int batch;
    private final int queryLength;
    private final int contextLength;
    private final int heads;
    private final int headDim;
    private final int dModel;
    private final float[] headsOut;
    private final float[] out;
    private final float[] weights;
    private final float[] lse;
    private final float[] keyMass;
    private final String path;
    private final Map<String, Double> stageMillis;

    /**
     * A result without softmax statistics ({@code lse} and {@code keyMass} null). Backends create
     * results; applications read them.
     *
     * @param batch         B
     * @param queryLength   N
     * @param contextLength M
     * @param heads         H
     * @param headDim       dk
     * @param dModel        D (0 when there is no model width, as for {@link ScaledDotProduct})
     * @param headsOut      {@code [B, N, H*dk]}, not copied
     * @param out           {@code [B, N, D]}, or null without an output projection; not copied
     * @param weights       {@code [B, H, N, M]}, or null; not copied
     * @param path          the implementation that ran
     * @param stageMillis   milliseconds per stage, or null for none; copied
     */
    public AttentionOutput(int batch, int queryLength, int contextLength, int heads, int headDim, int dModel,
                           float[] headsOut, float[] out, float[] weights, String path, Map<String, Double> stageMillis) {
        this(batch, queryLength, contextLength, heads, headDim, dModel, headsOut, out, weights, null, null, path,
                stageMillis);
    }

    /**
     * A result with the softmax statistics a call asked for. Backends create results; applications
     * read them.
     *
     * @param batch         B
     * @param queryLength   N
     * @param contextLength M
     * @param heads         H
     * @param headDim       dk
     * @param dModel        D (0 when there is no model width, as for {@link ScaledDotProduct})
     * @param headsOut      {@code [B, N, H*dk]}, not copied
     * @param out           {@code [B, N, D]}, or null without an output projection; not copied
     * @param weights       {@code [B, H, N, M]}, or null; not copied
     * @param lse           {@code [B, H, N]}, or null; not copied
     * @param keyMass       {@code [B, H, M]}, or null; not copied
     * @param path          the implementation that ran
     * @param stageMillis   milliseconds per stage, or null for none; copied
     */
    public AttentionOutput(int batch, int queryLength, int contextLength, int heads, int headDim, int dModel,
                           float[] headsOut, float[] out, float[] weights, float[] lse, float[] keyMass, String path,
                           Map<String, Double> stageMillis) {
        this.batch = batch;
        this.queryLength = queryLength;
        this.contextLength = contextLength;
        this.heads = heads;
        this.headDim = headDim;
        this.dModel = dModel;
        this.headsOut = headsOut;
        this.out = out;
        this.weights = weights;
        this.lse = lse;
        this.keyMass = keyMass;
        this.path = path;
        this.stageMillis = stageMillis == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(stageMillis));
    }

    /** {@return B, the batch size} */
    public int batch() {
        return batch;
    }

    /** {@return N, the query rows per batch row} */
    public int queryLength() {
        return queryLength;
    }

    /** {@return M, the number of keys (a {@link KvCache} step: the longest sequence after it)} */
    public int contextLength() {
        return contextLength;
    }

    /** {@return H, the query heads} */
    public int heads() {
        return heads;
    }

    /** {@return dk, the width of one head} */
    public int headDim() {
        return headDim;
    }

    /** {@return D, the model width (0 for {@link ScaledDotProduct} results)} */
    public int dModel() {
        return dModel;
    }

    /** {@return the heads' outputs concatenated, {@code [B, N, H*dk]}, before any output projection} */
    public float[] headsOut() {
        return headsOut;
    }

    /** {@return {@code heads_out @ w_o + b_o}, {@code [B, N, D]}, or null without an output projection} */
    public float[] out() {
        return out;
    }

    /** {@return {@link #out()} when the layer has an output projection, else {@link #headsOut()}} */
    public float[] result() {
        return out != null ? out : headsOut;
    }

    /** {@return the attention probabilities {@code [B, H, N, M]}, or null when not requested} */
    public float[] weights() {
        return weights;
    }

    /**
     * {@return each row's log-sum-exp {@code [B, H, N]}, or null when not requested} Natural log, the
     * sink included; {@code -Infinity} for a row with no visible key and no sink.
     */
    public float[] lse() {
        return lse;
    }

    /** {@return the probability each key received, summed over the query rows, {@code [B, H, M]}, or null when not requested} */
    public float[] keyMass() {
        return keyMass;
    }

    /**
     * {@return the implementation that ran} {@code opencl-fused-cpu}, {@code opencl-fused-gpu},
     * {@code opencl-staged}, {@code java-vector}, {@code java-scalar}, or {@code empty} for B = 0 or
     * N = 0.
     */
    public String path() {
        return path;
    }

    /**
     * {@return milliseconds per stage ({@code projection}, {@code attention}, ...), in the order run;
     * unmodifiable, empty when nothing was measured}
     */
    public Map<String, Double> stageMillis() {
        return stageMillis;
    }
}
