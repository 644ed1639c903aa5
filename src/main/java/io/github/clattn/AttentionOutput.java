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
 * {@code java}); {@link #stageMillis()} gives per-stage device times where the backend measured
 * them (OpenCL profiling events), in milliseconds.
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

    public AttentionOutput(int batch, int queryLength, int contextLength, int heads, int headDim, int dModel,
                           float[] headsOut, float[] out, float[] weights, String path, Map<String, Double> stageMillis) {
        this(batch, queryLength, contextLength, heads, headDim, dModel, headsOut, out, weights, null, null, path,
                stageMillis);
    }

    /** With the softmax statistics a call asked for ({@code lse}, {@code keyMass}; null when not). */
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

    public int batch() {
        return batch;
    }

    public int queryLength() {
        return queryLength;
    }

    public int contextLength() {
        return contextLength;
    }

    public int heads() {
        return heads;
    }

    public int headDim() {
        return headDim;
    }

    public int dModel() {
        return dModel;
    }

    /** {@code [B, N, H*dk]}. */
    public float[] headsOut() {
        return headsOut;
    }

    /** {@code [B, N, D]}, or null without an output projection. */
    public float[] out() {
        return out;
    }

    /** {@code out} when the layer has an output projection, else {@code headsOut}. */
    public float[] result() {
        return out != null ? out : headsOut;
    }

    /** {@code [B, H, N, M]}, or null when not requested. */
    public float[] weights() {
        return weights;
    }

    /** {@code [B, H, N]}, or null when not requested. */
    public float[] lse() {
        return lse;
    }

    /** {@code [B, H, M]}, or null when not requested. */
    public float[] keyMass() {
        return keyMass;
    }

    /** Where the call ran: {@code opencl-fused-cpu}, {@code opencl-fused-gpu}, {@code opencl-staged}, {@code java-vector}, {@code java-scalar}. */
    public String path() {
        return path;
    }

    public Map<String, Double> stageMillis() {
        return stageMillis;
    }
}
