package io.github.clattn.cpu;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.ProjectedInput;
import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.ProjectedBackend;
import io.github.clattn.core.RopeTable;
import io.github.clattn.core.Shapes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Attention on the caller's Q, K and V on the Java path: K and V copied into the attention layout
 * ({@link KeyValues}), RoPE when the options have it, then the passes of a forward call.
 */
final class JavaProjected implements ProjectedBackend {
    private final Kernels kernels;
    private final int heads;
    private final int kvHeads;
    private final int dk;
    private final AttentionOptions options;

    JavaProjected(Kernels kernels, int heads, int kvHeads, int dk, AttentionOptions options) {
        this.kernels = kernels;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.dk = dk;
        this.options = options.validateFor(heads, dk);
    }

    @Override
    public AttentionOutput forward(ProjectedInput in) {
        int b = in.batch();
        int n = in.queryLength();
        int m = in.keyLength();
        Map<String, Double> millis = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        KeyValues kv = new KeyValues(kernels, b, kvHeads, dk, m, null, null);
        int[] zeros = new int[b];
        int[] all = JavaAttention.filled(b, m);
        kv.put(in.k(), in.v(), m, zeros, all);
        float[] q = in.q();
        if (options.rope() != null) {
            int first = Math.min(0, m - n);
            RopeTable table = RopeTable.of(options.rope(), dk, RopeTable.range(first, m - first));
            q = q.clone();
            JavaAttention.rotateQueries(table, q, b, n, heads, dk, (batch, i) -> i + m - n - first);
            kv.rotateKeys(table, zeros, all, (batch, j) -> j - first);
        }
        long t1 = System.nanoTime();
        millis.put("layout", (t1 - t0) / 1e6);
        float[] headsOut = new float[Shapes.arrayLength("heads_out", "[B, N, H*dk]", b, n, (long) heads * dk)];
        float[] weights = in.returnWeights()
                ? new float[Shapes.arrayLength("weights", "[B, H, N, M]", b, heads, n, m)] : null;
        float[] lse = in.returnLse() ? new float[b * heads * n] : null;
        float[] keyMass = in.returnKeyMass() ? new float[Shapes.arrayLength("keyMass", "[B, H, M]", b, heads, m)] : null;
        JavaAttention.attend(kernels, AttentionPass.Queries.forward(b, n, m, heads, q, in.keyValidLength(),
                options.causal(), options.effectiveScale(dk), AttentionPass.Modifiers.of(options)), kv, in.attnBias(),
                m, headsOut, weights, m, lse, keyMass);
        millis.put("attention", (System.nanoTime() - t1) / 1e6);
        return new AttentionOutput(b, n, m, heads, dk, 0, headsOut, null, weights, lse, keyMass, kernels.path(), millis);
    }

    @Override
    public CacheBackend openCache(int batch, int capacity) {
        return new JavaCache(kernels, heads, kvHeads, dk, options, batch, capacity, null);
    }

    @Override
    public void close() {
        // nothing held
    }
}
