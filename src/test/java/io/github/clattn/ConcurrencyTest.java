package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Determinism and concurrency: the same input on the same device gives bitwise-identical outputs,
 * run after run; 8 threads × 50 calls of mixed shapes, on one layer and on separate layers sharing
 * a device, each give exactly the single-threaded result.
 */
class ConcurrencyTest {
    static final int THREADS = 8;
    static final int CALLS = 50;

    static List<String> devices() {
        return TestDevices.specs();
    }

    private static Problem problem(int i) {
        int n = new int[] {1, 17, 5, 40, 64, 3}[i % 6];
        int m = new int[] {9, 33, 2, 64}[i % 4];
        Problem.Builder b = Problem.builder(100 + i % 6, 1 + i % 2, n, n == m ? m + 1 : m, 12, 3, 7)
                .with(Feature.CROSS, Feature.KEY_PADDING, Feature.ATTN_BIAS, Feature.OUTPUT_PROJECTION);
        return (i % 2 == 0 ? b.with(Feature.CAUSAL) : b).build();
    }

    /** The same layer weights for every problem, so one layer can serve all shapes. */
    private static AttentionInput input(int i) {
        return problem(i).input();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void repeatedCallsAreBitwiseIdentical(String spec) {
        Problem p = problem(3);
        try (Attention a = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            float[] first = a.forward(p.input()).out();
            for (int i = 0; i < 5; i++) {
                assertThat(a.forward(p.input()).out()).isEqualTo(first);
            }
        }
        try (Attention again = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
            try (Attention a = Attention.open(p.weights(), p.options(), TestDevices.bySpec(spec))) {
                assertThat(again.forward(p.input()).out()).isEqualTo(a.forward(p.input()).out());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void eightThreadsOnOneLayerGetTheSingleThreadedResults(String spec) throws Exception {
        Problem layer = problem(0);
        try (Attention a = Attention.open(layer.weights(), layer.options(), TestDevices.bySpec(spec))) {
            List<float[]> expected = new ArrayList<>();
            for (int s = 0; s < 6; s++) {
                expected.add(a.forward(input(s)).out());
            }
            hammer(t -> a, expected);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void eightThreadsOnSeparateLayersSharingADevice(String spec) throws Exception {
        Problem layer = problem(0);
        Device device = TestDevices.bySpec(spec);
        List<float[]> expected = new ArrayList<>();
        try (Attention single = Attention.open(layer.weights(), layer.options(), device)) {
            for (int s = 0; s < 6; s++) {
                expected.add(single.forward(input(s)).out());
            }
        }
        List<Attention> layers = new ArrayList<>();
        try {
            for (int t = 0; t < THREADS; t++) {
                layers.add(Attention.open(layer.weights(), layer.options(), device));
            }
            hammer(layers::get, expected);
        } finally {
            layers.forEach(Attention::close);
        }
    }

    private static void hammer(java.util.function.IntFunction<Attention> layerOfThread, List<float[]> expected)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    Attention a = layerOfThread.apply(thread);
                    for (int c = 0; c < CALLS; c++) {
                        int s = (thread * 7 + c) % 6;
                        assertThat(a.forward(input(s)).out()).as("thread %d call %d shape %d", thread, c, s)
                                .isEqualTo(expected.get(s));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
