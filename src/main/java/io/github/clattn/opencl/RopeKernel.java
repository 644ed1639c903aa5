package io.github.clattn.opencl;

import io.github.clattn.core.RopeTable;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The {@code rope} kernel of {@code rope.cl} (in both the fused and the staged program): rotary
 * position embedding in place on a strided layout, angles from host tables ({@link RopeTable}).
 */
final class RopeKernel {
    /**
     * Element (b, h, t, d) at {@code b*bStride + h*hStride + t'*tStride + d*dStride}; its table row
     * {@code b*tableBatchRows + t + tableOffset}; with {@code append}, t' = SEQ_KV_START[b] + t and
     * rows past SEQ_Q_ROWS are skipped.
     */
    record Strides(long b, long h, long t, long d) {
        /** Q of the fused layout, [B, H, N, DK]. */
        static Strides queries(int heads, long n, int dk) {
            return new Strides((long) heads * n * dk, n * dk, dk, 1);
        }

        /** Kt of the fused layout, [B, HKV, DK, KS]. */
        static Strides transposedKeys(int kvHeads, int dk, long keyStride) {
            return new Strides((long) kvHeads * dk * keyStride, (long) dk * keyStride, 1, keyStride);
        }

        /** Row-major [B, L, heads*dk] (the staged path, pre-projected inputs). */
        static Strides rowMajor(int heads, long l, int dk) {
            return new Strides(l * heads * dk, dk, (long) heads * dk, 1);
        }
    }

    private final cl_kernel kernel;

    RopeKernel(cl_kernel kernel) {
        this.kernel = kernel;
    }

    /**
     * Rotates {@code tokens} tokens of {@code heads} heads of every sequence.
     *
     * @param cos            the table's cosines on the device ({@code [rows, half]})
     * @param tableBatchRows rows per sequence in the table (0: one table for every sequence)
     */
    cl_event rotate(cl_command_queue queue, cl_mem buffer, Strides strides, int batch, int heads, int tokens,
                    RopeTable table, cl_mem cos, cl_mem sin, int tableBatchRows, int tableOffset, cl_mem seq,
                    boolean append) {
        int a = 0;
        Cl.setArg(kernel, a++, buffer);
        Cl.setArg(kernel, a++, cos);
        Cl.setArg(kernel, a++, sin);
        Cl.setArg(kernel, a++, tokens);
        Cl.setArg(kernel, a++, table.half);
        Cl.setArg(kernel, a++, table.style == io.github.clattn.Rope.Style.NEOX ? 1 : 0);
        Cl.setArg(kernel, a++, strides.b());
        Cl.setArg(kernel, a++, strides.h());
        Cl.setArg(kernel, a++, strides.t());
        Cl.setArg(kernel, a++, strides.d());
        Cl.setArg(kernel, a++, tableBatchRows);
        Cl.setArg(kernel, a++, tableOffset);
        Cl.setArg(kernel, a++, seq);
        Cl.setArg(kernel, a++, append ? 1 : 0);
        return Cl.launch(queue, kernel, new long[] {(long) tokens * table.half, heads, batch}, null, true);
    }

    void release() {
        Cl.release(kernel);
    }
}
