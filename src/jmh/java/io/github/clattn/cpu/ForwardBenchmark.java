package io.github.clattn.cpu;

import io.github.clattn.AttentionInput;
import io.github.clattn.AttentionOutput;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
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
        Problem.Builder b = Problem.builder(1, 1, n, n, 512, 8, 64);
        Problem p = (causal ? b.with(Feature.CAUSAL) : b).build();
        attention = new JavaAttention(p.weights(), p.options());
        input = p.input();
    }

    @Benchmark
    public AttentionOutput forward() {
        return attention.forward(input);
    }
}
