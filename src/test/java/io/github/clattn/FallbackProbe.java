package io.github.clattn;

/**
 * Child-JVM main for {@link FallbackTest}: prints what the automatic choice did, whether its
 * result matches the reference, and what an explicit OpenCL choice did.
 */
public final class FallbackProbe {
    private FallbackProbe() {
    }

    public static void main(String[] args) {
        RandomProblem p = RandomProblem.of(7, RandomProblem.CAUSAL, 2, 9, 9, 10, 2, 3, 1f);
        try (Attention attention = Attention.open(p.weights(), p.options())) {
            System.out.println("AUTO=" + attention.device().spec());
            AttentionOutput out = attention.forward(p.input());
            Tolerance.assertOutputClose("fallback", out.headsOut(),
                    Reference.compute(p.weights(), p.options(), p.input()).headsOut());
            System.out.println("AUTO_RESULT=ok path=" + out.path());
        }
        // a second automatic choice must not warn again
        Devices.auto();
        try {
            Attention.open(p.weights(), p.options(), "opencl").close();
            System.out.println("EXPLICIT=opened");
        } catch (ClattnException e) {
            System.out.println("EXPLICIT_THROWS=" + e.getMessage());
        }
    }
}
