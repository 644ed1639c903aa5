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
        long bytes = (long) table.cos.length * Sizeof.cl_float;
        cl_mem cos = ws.buffer("rope_cos", bytes);
        cl_mem sin = ws.buffer("rope_sin", bytes);
        Cl.write(queue, cos, table.cos, table.cos.length);
        Cl.write(queue, sin, table.sin, table.sin.length);
        return new cl_mem[] {cos, sin};
    }

    /** The bytes {@link #upload} needs on the device for a table of {@code rows} rows of {@code half}. */
    static long tableBytes(long rows, int half) {
        return 2 * rows * half * Sizeof.cl_float;
    }

    /**
     * The attention stage into {@code call.headsOut()}: {@code decode} (keys split across the device,
     * partial results merged) when every sequence has one query row and there is no bias, else
     * {@code flash}. Events go to {@code stages} under "attention".
     */
    static void attend(FusedKernels k, Workspace ws, cl_command_queue queue, Stages stages,
                       FusedKernels.FlashCall call, int maxKeys) {
        if (call.queries() == 1 && !call.hasBias()) {
            int group = call.heads() / call.kvHeads();
            int splits = k.decodeSplits(call.batch(), call.kvHeads(), group, maxKeys);
            cl_mem partial = ws.buffer("decode_partial",
                    k.decodePartialFloats(call.batch(), call.heads(), splits) * Sizeof.cl_float);
            cl_event[] events = k.decode(queue, new FusedKernels.DecodeCall(call.q(), call.kt(), call.v(), call.seq(),
                    call.headsOut(), call.batch(), call.keyStride(), call.heads(), call.kvHeads(), call.scale(),
                    call.causal(), maxKeys), splits, partial);
            for (cl_event e : events) {
                stages.add("attention", e);
            }
            return;
        }
        stages.add("attention", k.flash(queue, call));
    }
}
