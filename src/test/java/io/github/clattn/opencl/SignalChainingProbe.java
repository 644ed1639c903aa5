package io.github.clattn.opencl;

import io.github.clattn.Attention;
import io.github.clattn.Device;
import io.github.clattn.reference.Problem;
import java.nio.file.Path;
import java.util.List;

/**
 * Child-JVM main for {@link SignalChainingTest}: opens two layers whose programs differ (head
 * widths 3 and 5) on the OpenCL device given as the argument, so at least two programs are built
 * from source with an empty clattn cache, and prints what happened and what the automatic choice
 * takes.
 */
public final class SignalChainingProbe {
    private SignalChainingProbe() {
    }

    public static void main(String[] args) {
        Device device = io.github.clattn.Devices.select(args[0]);
        for (Problem p : List.of(Problem.builder(3, 1, 5, 5, 6, 2, 3).build(),
                Problem.builder(4, 1, 5, 5, 10, 2, 5).build())) {
            try (Attention attention = Attention.open(p.weights(), p.options(), device)) {
                p.check(attention.forward(p.input())).assertPassed();
            }
        }
        System.out.println("SOURCE_BUILDS=" + ClContext.sourceBuilds());
        System.out.println("LIBJSIG_LOADED=" + SignalChaining.libjsigLoaded(Path.of("/proc/self/maps")));
        System.out.println("AUTO=" + io.github.clattn.Devices.auto().spec());
    }
}
