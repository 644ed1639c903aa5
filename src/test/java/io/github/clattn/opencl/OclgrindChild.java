package io.github.clattn.opencl;

import io.github.clattn.Device;
import io.github.clattn.Devices;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The process {@link OclgrindTest} starts with only the Oclgrind ICD visible: runs every kernel
 * variant on tiny shapes (none a multiple of any tile) against the float64 reference, or, with
 * the argument {@code selfcheck}, a deliberately broken kernel that Oclgrind must report.
 *
 * <p>Exit status: 0 all results match, 1 a result is outside the tolerance, 2 anything else
 * went wrong, 3 the only OpenCL device is not Oclgrind. Oclgrind's own findings go to its log,
 * which the parent reads.
 */
public final class OclgrindChild {
    /**
     * Small tiles so that tiny shapes still take several work-items, work-groups, chunks and
     * tiles, and every CPU flash work-item takes FLASH_RB row blocks.
     */
    static final Map<KernelVariant, KernelParams> SMALL = Map.of(
            KernelVariant.CPU, KernelParams.defaults(KernelVariant.CPU).with("GEMM_RM", 3).with("GEMM_CV", 1)
                    .with("FLASH_QR", 1).with("FLASH_KV", 1).with("FLASH_RB", 2).with("FLASH_KC", 16)
                    .with("FLASH_WI_PER_CU", 1),
            KernelVariant.GPU, KernelParams.defaults(KernelVariant.GPU).with("GEMM_TS", 4).with("GEMM_WPT", 2)
                    .with("FLASH_BQ", 4).with("FLASH_BK", 8));

    private OclgrindChild() {
    }

    public static void main(String[] args) {
        int status;
        // Oclgrind opens (and truncates) its log for every context it creates: one context for
        // the whole run keeps every finding in the log.
        ClContext context = null;
        try {
            context = ClContext.acquire(oclgrind());
            status = args.length > 0 && args[0].equals("selfcheck") ? selfCheck() : run();
            context.release();
        } catch (Throwable t) {
            t.printStackTrace();
            status = 2;
        }
        System.out.flush();
        System.exit(status);
    }

    private static Device oclgrind() {
        List<Device> all = Devices.openCl();
        if (all.size() != 1 || !all.get(0).name().contains("Oclgrind")) {
            System.out.println("expected the Oclgrind device alone, found " + all);
            System.exit(3);
        }
        return all.get(0);
    }

    /** The tiny problems every kernel runs; none of their sizes is a multiple of any tile. */
    static List<Problem> cases() {
        List<Problem> cases = new ArrayList<>();
        // Self-attention with every mask, biases and W_O; dk = 3 (one partial float16).
        cases.add(Problem.builder(11, 2, 5, 5, 7, 2, 3).with(Feature.CAUSAL, Feature.KEY_PADDING, Feature.ATTN_BIAS,
                Feature.OUTPUT_PROJECTION, Feature.PROJECTION_BIAS).build());
        // Cross-attention, M > 16 and not a multiple of 16, dk = 17 (two float16, the second partial).
        cases.add(Problem.builder(12, 1, 3, 19, 5, 1, 17).with(Feature.CROSS, Feature.CAUSAL, Feature.ATTN_BIAS).build());
        // More queries than keys, causal (early rows see nothing), key padding.
        cases.add(Problem.builder(13, 2, 9, 6, 6, 3, 3).with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING,
                Feature.OUTPUT_PROJECTION).build());
        // Longer keys: two work-items of default CPU row blocks, several 64-key chunks, full and
        // partial steps, several GPU tiles; dk = 20.
        cases.add(Problem.builder(14, 1, 40, 70, 9, 2, 20).with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING,
                Feature.ATTN_BIAS, Feature.PROJECTION_BIAS).build());
        // Every score modifier with grouped heads, lse and the key-mass pass (keymass.cl).
        cases.add(Problem.builder(15, 2, 21, 37, 8, 4, 5).kvHeads(2).with(Feature.CROSS, Feature.CAUSAL,
                Feature.KEY_PADDING, Feature.ATTN_BIAS, Feature.WINDOW, Feature.SOFTCAP, Feature.ALIBI, Feature.SINKS,
                Feature.LSE, Feature.KEY_MASS).build());
        // One query per sequence: the split-key decode kernels and decode_combine, with modifiers.
        cases.add(Problem.builder(16, 2, 1, 45, 8, 4, 6).kvHeads(1).with(Feature.CROSS, Feature.CAUSAL,
                Feature.KEY_PADDING, Feature.WINDOW, Feature.ALIBI, Feature.SINKS, Feature.LSE, Feature.KEY_MASS).build());
        // dk = 32 (a whole column block of the default CPU GEMM is one head): the first 8 rows of
        // K go to Kt as a tile, the rows that straddle the two sequences element by element.
        cases.add(Problem.builder(17, 2, 12, 12, 6, 1, 32).with(Feature.PROJECTION_BIAS).build());
        return cases;
    }

    /** Runs per child: every case on 2 variants × 2 parameter sets, and on the staged path. */
    static int expectedRuns() {
        return cases().size() * 5;
    }

    /**
     * Cases × paths × parameter sets; prints one line each. Every layer stays open until the end:
     * Oclgrind 21.10 reuses a released buffer's identity for the next allocation and, when the
     * new buffer is larger, reports reads past the old size as uninitialised even after they
     * were written.
     */
    private static int run() {
        Device device = oclgrind();
        List<Problem> cases = cases();
        List<OpenClLayer> layers = new ArrayList<>();
        int failures = 0;
        try {
            for (KernelVariant variant : KernelVariant.values()) {
                for (KernelParams params : List.of(KernelParams.defaults(variant), SMALL.get(variant))) {
                    for (Problem c : cases) {
                        failures += check(device, c, variant, params, false, layers);
                    }
                }
            }
            for (Problem c : cases) {
                failures += check(device, c, KernelVariant.CPU, null, true, layers);
            }
        } finally {
            layers.forEach(OpenClLayer::close);
        }
        System.out.println(failures == 0 ? "ALL MATCH" : failures + " MISMATCHES");
        return failures == 0 ? 0 : 1;
    }

    private static int check(Device device, Problem c, KernelVariant variant, KernelParams params, boolean staged,
                             List<OpenClLayer> layers) {
        String label = (staged ? "staged" : variant.label() + " " + params) + " | " + c;
        OpenClLayer layer = new OpenClLayer(c.weights(), c.options(), device, variant, params);
        layers.add(layer);
        try {
            Problem call = c.withReturnWeights(staged);
            var got = layer.forward(call.input());
            call.reference().compare(label, got).assertPassed();
            System.out.println("match " + got.path() + " " + label);
            return 0;
        } catch (AssertionError e) {
            System.out.println("MISMATCH " + e.getMessage());
            return 1;
        }
    }

    /**
     * A kernel with an out-of-bounds read, a read of uninitialised local memory and a local-memory
     * race, launched once: proof that Oclgrind reports each and that the parent's log check fails.
     */
    private static int selfCheck() {
        Device device = oclgrind();
        // The index n comes at run time, so the compiler cannot fold the faults away.
        String source = "__kernel void broken(__global const float* in, __global float* out, const int n) {\n"
                + "  __local float scratch[8];\n"
                + "  const int i = get_local_id(0);\n"
                + "  scratch[i % 2] = in[i];\n" // items 0 and 2 (1 and 3) write one word: a data race
                + "  barrier(CLK_LOCAL_MEM_FENCE);\n"
                + "  out[i] = scratch[n - 1 - i] + in[i + n];\n" // scratch[2..3] never written; in[] has n floats
                + "}\n";
        ClContext context = ClContext.acquire(device);
        cl_command_queue queue = null;
        cl_program program = null;
        cl_kernel kernel = null;
        cl_mem in = null;
        cl_mem out = null;
        try {
            queue = Cl.createQueue(context.context, context.deviceId, false);
            program = Cl.createProgram(context.context, new String[] {source});
            Cl.build(program, context.deviceId, "");
            kernel = Cl.createKernel(program, "broken");
            in = Cl.createBuffer(context.context, CL.CL_MEM_READ_ONLY, 4L * Sizeof.cl_float, new float[] {1, 2, 3, 4});
            out = Cl.createBuffer(context.context, CL.CL_MEM_WRITE_ONLY, 4L * Sizeof.cl_float, null);
            Cl.setArg(kernel, 0, in);
            Cl.setArg(kernel, 1, out);
            Cl.setArg(kernel, 2, 4);
            Cl.launch(queue, kernel, new long[] {4}, new long[] {4}, false);
            Cl.finish(queue);
            System.out.println("broken kernel ran");
            return 0;
        } finally {
            Cl.release(out);
            Cl.release(in);
            Cl.release(kernel);
            Cl.release(program);
            Cl.release(queue);
            context.release();
        }
    }
}
