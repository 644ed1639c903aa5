package io.github.clattn.opencl;

import io.github.clattn.AttentionOptions;
import org.jocl.CL;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A session's score modifiers as the kernels take them ({@code SCORE_MOD_ARGS} in common.cl): the
 * window, the softcap, and the per-head ALiBi slopes and sink logits on the device (the session's
 * placeholder buffer, flag off, where absent). Made once when a session starts; the buffers are
 * owned and released by the session.
 */
record ScoreMods(int windowLeft, int windowRight, float softcap, cl_mem alibi, boolean hasAlibi, cl_mem sinks,
                 boolean hasSinks) {

    /** The modifiers of {@code options}, their arrays uploaded as buffers owned by {@code session}. */
    static ScoreMods of(AttentionOptions options, DeviceSession session) {
        float[] slopes = options.alibiSlopes();
        float[] sinkLogits = options.sinks();
        cl_mem alibi = slopes == null ? session.none : session.own(constants(session, slopes));
        cl_mem sinks = sinkLogits == null ? session.none : session.own(constants(session, sinkLogits));
        return new ScoreMods(options.windowLeft(), options.windowRight(), (float) options.softcap(), alibi,
                slopes != null, sinks, sinkLogits != null);
    }

    private static cl_mem constants(DeviceSession session, float[] values) {
        return Cl.createBuffer(session.shared.context, CL.CL_MEM_READ_ONLY, (long) values.length * Sizeof.cl_float,
                values);
    }

    /** Sets the seven arguments from index {@code i}; returns the index after them. */
    int set(cl_kernel kernel, int i) {
        Cl.setArg(kernel, i++, windowLeft);
        Cl.setArg(kernel, i++, windowRight);
        Cl.setArg(kernel, i++, softcap);
        Cl.setArg(kernel, i++, alibi);
        Cl.setArg(kernel, i++, hasAlibi ? 1 : 0);
        Cl.setArg(kernel, i++, sinks);
        Cl.setArg(kernel, i++, hasSinks ? 1 : 0);
        return i;
    }

    /** No modifiers; {@code placeholder} stands in for the arrays. */
    static ScoreMods none(cl_mem placeholder) {
        return new ScoreMods(-1, -1, 0f, placeholder, false, placeholder, false);
    }

    /**
     * The most keys one query may see when sequences have at most {@code maxKeys}: with a left
     * window, {@code left + 1 + right} (causal attention sees nothing to the right).
     */
    int span(int maxKeys, boolean causal) {
        int right = causal ? 0 : windowRight;
        if (windowLeft < 0 || right < 0) {
            return maxKeys;
        }
        return (int) Math.min(maxKeys, (long) windowLeft + 1 + right);
    }
}
