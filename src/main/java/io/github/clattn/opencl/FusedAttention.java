package io.github.clattn.opencl;

import io.github.clattn.core.RopeTable;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_mem;

/**
 * The steps the fused routines share once Q, K and V are in place (a layer's forward call,
 * attention on pre-projected tensors, a cache step): RoPE from host tables, and the attention
 * itself, the flash kernel or, with one query per sequence and no bias, the split-key decode.
 */
final class FusedAttention {
    private FusedAttention() {
    }

    /** Uploads a RoPE table to the workspace: its cosines and sines on the device. */
    static cl_mem[] upload(Workspace ws, cl_command_queue queue, RopeTable table) {
        return new cl_mem[] {ws.upload("rope_cos", queue, table.cos, table.cos.length),
                ws.upload("rope_sin", queue, table.sin, table.sin.length)};
    }

    /** The bytes {@link #upload} needs on the device for a table of {@code rows} rows of {@code half}. */
    static long tableBytes(long rows, int half) {
        return 2 * rows * half * Sizeof.cl_float;
    }

    /**
     * The attention stage into {@code call.headsOut()} (and {@code call.lse()}): {@code decode} (keys
     * split across the device, partial results merged) when every sequence has one query row and
     * there is no bias, else {@code flash}. Events go to {@code stages} under "attention".
     */
    static void attend(FusedKernels k, Workspace ws, cl_command_queue queue, Stages stages,
                       FusedKernels.FlashCall call, int maxKeys) {
        if (call.queries() == 1 && !call.hasBias()) {
            int splits = k.decodeSplits(call, maxKeys);
            cl_mem partial = ws.buffer("decode_partial",
                    k.decodePartialFloats(call.batch(), call.heads(), splits) * Sizeof.cl_float);
            for (cl_event e : k.decode(queue, call, maxKeys, splits, partial)) {
                stages.add("attention", e);
            }
            return;
        }
        stages.add("attention", k.flash(queue, call));
    }

    /**
     * The softmax statistics a call asked for, on the device: {@code lse [B, H, N]} (also made, not
     * returned, when only the key mass is asked for: its pass needs it) and {@code key_mass [B, H, M]};
     * null where not needed.
     */
    record Stats(cl_mem lse, boolean returnLse, cl_mem keyMass, int rows, int keyFloats) {

        /** Device bytes {@link #of} takes. */
        static long bytes(int batch, int heads, int queries, int keys, boolean lse, boolean keyMass) {
            long rows = lse || keyMass ? (long) batch * heads * queries : 0;
            return (rows + (keyMass ? (long) batch * heads * keys : 0)) * Sizeof.cl_float;
        }

        static Stats of(Workspace ws, int batch, int heads, int queries, int keys, boolean lse, boolean keyMass) {
            int rows = batch * heads * queries;
            int keyFloats = Math.multiplyExact(batch * heads, keys);
            cl_mem lseBuf = lse || keyMass ? ws.buffer("lse", (long) rows * Sizeof.cl_float) : null;
            cl_mem massBuf = keyMass ? ws.buffer("key_mass", (long) keyFloats * Sizeof.cl_float) : null;
            return new Stats(lseBuf, lse, massBuf, rows, keyFloats);
        }

        float[] readLse(DeviceSession session) {
            return returnLse ? session.read(lse, rows) : null;
        }

        float[] readKeyMass(DeviceSession session) {
            return keyMass != null ? session.read(keyMass, keyFloats) : null;
        }
    }

    /**
     * {@link #attend} with the statistics of {@code stats}: lse from the attention kernel, then the
     * key mass (keymass.cl, a second pass over {@code keys} keys, stage "key_mass").
     */
    static void attend(FusedKernels k, Workspace ws, cl_command_queue queue, Stages stages,
                       FusedKernels.FlashCall call, int maxKeys, Stats stats, int keys) {
        FusedKernels.FlashCall withLse = call.withLse(stats.lse());
        attend(k, ws, queue, stages, withLse, maxKeys);
        if (stats.keyMass() != null) {
            stages.add("key_mass", k.keyMass(queue, withLse, keys, stats.keyMass()));
        }
    }
}
