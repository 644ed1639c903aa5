package io.github.clattn;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;

/**
 * Child-JVM main for {@link FallbackTest}: prints what the automatic choice did, whether its
 * result matches the reference, and what an explicit OpenCL choice did.
 */
public final class FallbackProbe {
    private FallbackProbe() {
    }

    public static void main(String[] args) {
        Problem p = Problem.builder(7, 2, 9, 9, 10, 2, 3).with(Feature.CAUSAL).build();
        try (Attention attention = Attention.open(p.weights(), p.options())) {
            System.out.println("AUTO=" + attention.device().spec());
            AttentionOutput out = attention.forward(p.input());
            p.check(out).assertPassed();
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
