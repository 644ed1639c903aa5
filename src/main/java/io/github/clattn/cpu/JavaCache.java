package io.github.clattn.cpu;

import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.core.CacheBackend;
import io.github.clattn.core.RopeTable;
import io.github.clattn.core.Shapes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A key/value cache on the Java path: {@link KeyValues} of {@code batch} sequences sized by the
 * capacity, kept for the cache's life. Appends copy projected rows into place (rotating keys at
 * their positions); attention runs the same passes as a forward call, with each sequence's own
 * positions and length. With a layer, a step projects x with the layer's weights first.
 */
final class JavaCache implements CacheBackend {
    private final Kernels kernels;
    private final int heads;
    private final int kvHeads;
    private final int dk;
    private final AttentionOptions options;
    private final float scale;
    private final int batch;
    private final KeyValues kv;
    private final JavaAttention layer;

    JavaCache(Kernels kernels, int heads, int kvHeads, int dk, AttentionOptions options, int batch, int capacity,
              JavaAttention layer) {
        this.kernels = kernels;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.dk = dk;
        this.options = options;
        this.scale = options.effectiveScale(dk);
        this.batch = batch;
        this.kv = new KeyValues(kernels, batch, kvHeads, dk, capacity, null, null);
        this.layer = layer;
    }

    @Override
    public void append(float[] k, float[] v, int chunk, int[] starts, int[] lengths) {
        kv.put(k, v, chunk, starts, lengths);
        if (options.rope() != null) {
            RopeTable table = RopeTable.of(options.rope(), dk, positions(chunk, starts));
            kv.rotateKeys(table, starts, lengths, (b, t) -> b * chunk + t);
        }
    }

    /** Position of row t of sequence b, at {@code b * chunk + t}: {@code starts[b] + t}. */
    private int[] positions(int chunk, int[] starts) {
        int[] p = new int[batch * chunk];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < chunk; t++) {
                p[b * chunk + t] = starts[b] + t;
            }
        }
        return p;
    }

    @Override
    public AttentionOutput attend(float[] q, int chunk, int[] queryStarts, int[] keyLengths, int[] rows) {
        Map<String, Double> millis = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        float[] headsOut = attendRows(q.clone(), chunk, queryStarts, keyLengths, rows);
        millis.put("attention", (System.nanoTime() - t0) / 1e6);
        return new AttentionOutput(batch, chunk, max(keyLengths), heads, dk, 0, headsOut, null, null, path(), millis);
    }

    /** Rotates {@code q} (the caller's copy) at its positions, then attends; heads_out [B*chunk, H*dk]. */
    private float[] attendRows(float[] q, int chunk, int[] queryStarts, int[] keyLengths, int[] rows) {
        if (options.rope() != null) {
            RopeTable table = RopeTable.of(options.rope(), dk, positions(chunk, queryStarts));
            JavaAttention.rotateQueries(table, q, batch, chunk, heads, dk, (b, t) -> b * chunk + t);
        }
        float[] headsOut = new float[Shapes.arrayLength("heads_out", "[B, C, H*dk]", batch, chunk, (long) heads * dk)];
        AttentionPass.Queries queries = new AttentionPass.Queries(batch, chunk, heads, q, queryStarts, keyLengths, rows,
                options.causal(), scale, AttentionPass.Modifiers.of(options));
        JavaAttention.attend(kernels, queries, kv, null, 0, headsOut, null, 0);
        return headsOut;
    }

    @Override
    public AttentionOutput step(float[] x, int chunk, int[] starts, int[] lengths) {
        if (layer == null) {
            throw new UnsupportedOperationException("this cache has no layer: use append and attend");
        }
        Map<String, Double> millis = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        int rowCount = batch * chunk;
        float[] q = new float[rowCount * heads * dk];
        float[] k = new float[rowCount * kvHeads * dk];
        float[] v = new float[rowCount * kvHeads * dk];
        layer.projectRows(x, rowCount, q, k, v);
        append(k, v, chunk, starts, lengths);
        long t1 = System.nanoTime();
        millis.put("projection", (t1 - t0) / 1e6);
        int[] keyLengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            keyLengths[b] = starts[b] + lengths[b];
        }
        float[] headsOut = attendRows(q, chunk, starts, keyLengths, lengths);
        long t2 = System.nanoTime();
        millis.put("attention", (t2 - t1) / 1e6);
        float[] out = layer.outputProjection(headsOut, rowCount, millis, t2);
        if (out != null) {
            int d = layer.w.dModel();
            for (int b = 0; b < batch; b++) {
                java.util.Arrays.fill(out, (b * chunk + lengths[b]) * d, (b + 1) * chunk * d, 0f); // padding rows
            }
        }
        return new AttentionOutput(batch, chunk, max(keyLengths), heads, dk, layer.w.dModel(), headsOut, out, null,
                path(), millis);
    }

    private static int max(int[] a) {
        int m = 0;
        for (int v : a) {
            m = Math.max(m, v);
        }
        return m;
    }

    @Override
    public long bytes() {
        return kv.bytes();
    }

    @Override
    public String path() {
        return kernels.path();
    }

    @Override
    public void close() {
        // heap arrays: the garbage collector reclaims them with this object
    }
}
