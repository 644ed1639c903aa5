package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared pool: sizing, every task exactly once, failures reported, small work inline. */
class CpuThreadsTest {
    private int original;

    @BeforeEach
    void remember() {
        original = CpuThreads.threads();
    }

    @AfterEach
    void restore() {
        CpuThreads.setThreads(original);
    }

    @Test
    void rejectsANonPositiveSize() {
        assertThatThrownBy(() -> CpuThreads.setThreads(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("threads").hasMessageContaining("positive").hasMessageContaining("0");
        assertThat(CpuThreads.threads()).isEqualTo(original);
    }

    @Test
    void runsEveryTaskExactlyOnceOnSeveralThreads() {
        CpuThreads.setThreads(3);
        assertThat(CpuThreads.threads()).isEqualTo(3);
        int tasks = 5000;
        AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
        Set<String> threadNames = ConcurrentHashMap.newKeySet();
        CpuThreads.forEach(tasks, CpuThreads.INLINE_WORK, t -> {
            runs.incrementAndGet(t);
            threadNames.add(Thread.currentThread().getName());
            busyWork();
        });
        for (int t = 0; t < tasks; t++) {
            assertThat(runs.get(t)).as("runs of task %d", t).isEqualTo(1);
        }
        assertThat(threadNames).allMatch(name -> name.equals(Thread.currentThread().getName())
                || name.startsWith("clattn-cpu-"));
    }

    @Test
    void smallWorkRunsInlineInTaskOrder() {
        CpuThreads.setThreads(4);
        StringBuilder order = new StringBuilder();
        Thread caller = Thread.currentThread();
        CpuThreads.forEach(5, 10, t -> {
            assertThat(Thread.currentThread()).isSameAs(caller);
            order.append(t);
        });
        assertThat(order).hasToString("01234");
    }

    @Test
    void aFailingTaskIsRethrownToTheCaller() {
        CpuThreads.setThreads(2);
        IllegalStateException boom = new IllegalStateException("task 17 failed");
        assertThatThrownBy(() -> CpuThreads.forEach(100, CpuThreads.INLINE_WORK, t -> {
            if (t == 17) {
                throw boom;
            }
        })).isSameAs(boom);
        // the pool still works afterwards
        AtomicIntegerArray runs = new AtomicIntegerArray(10);
        CpuThreads.forEach(10, CpuThreads.INLINE_WORK, runs::incrementAndGet);
        assertThat(runs.toString()).isEqualTo("[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
    }

    private static double sink;

    private static void busyWork() {
        double x = 0;
        for (int i = 0; i < 200; i++) {
            x += Math.sqrt(i);
        }
        sink += x;
    }
}
