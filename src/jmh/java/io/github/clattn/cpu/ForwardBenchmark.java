package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOptions;
import io.github.clattn.AttentionOutput;
import io.github.clattn.AttentionWeights;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole forward call of the benchmark layer (B = 1, D = 512, H = 8, no output
 * projection) on the shared pool ({@code -Dclattn.threads} sizes it), for comparing changes
 * end to end. The figures for the README come from {@code scripts/clattn bench}, not from here.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ForwardBenchmark {
    @Param({"128", "1024"})
    public int n;

    @Param({"false", "true"})
    public boolean causal;

    private JavaAttention attention;
    private AttentionInput input;

    @Setup
    public void setup() {
        int d = 512;
        int h = 8;
        Random rnd = new Random(1);
        AttentionWeights w = AttentionWeights.builder(d, h, d / h)
                .projections(uniform(rnd, d * d, 0.05), uniform(rnd, d * d, 0.05), uniform(rnd, d * d, 0.05)).build();
        attention = new JavaAttention(w, AttentionOptions.causal(causal));
        input = AttentionInput.builder(uniform(rnd, n * d, 1), 1, n).build();
    }

    private static float[] uniform(Random rnd, int count, double amplitude) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) ((rnd.nextDouble() * 2 - 1) * amplitude);
        }
        return x;
    }

    @Benchmark
    public AttentionOutput forward() {
        return attention.forward(input);
    }
}
