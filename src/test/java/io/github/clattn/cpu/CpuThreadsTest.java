package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.core.SystemProperties;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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

    @Test
    void intPropertyTakesWhatIsAtLeastTheMinimumAndReportsTheRest() {
        String name = "clattn.test.intProperty";
        List<String> reported = new ArrayList<>();
        try {
            System.clearProperty(name);
            assertThat(SystemProperties.intProperty(name, 7, 0, reported::add)).isEqualTo(7);
            System.setProperty(name, "  ");
            assertThat(SystemProperties.intProperty(name, 7, 0, reported::add)).isEqualTo(7);
            System.setProperty(name, " 0 ");
            assertThat(SystemProperties.intProperty(name, 7, 0, reported::add)).isZero();
            assertThat(SystemProperties.intProperty(name, 7, 1, reported::add)).isEqualTo(7);
            System.setProperty(name, "250");
            assertThat(SystemProperties.intProperty(name, 7, 1, reported::add)).isEqualTo(250);
            System.setProperty(name, "-3");
            assertThat(SystemProperties.intProperty(name, 7, 0, reported::add)).isEqualTo(7);
            System.setProperty(name, "fast");
            assertThat(SystemProperties.intProperty(name, 7, 0, reported::add)).isEqualTo(7);
            assertThat(reported).containsExactly(" 0 ", "-3", "fast");
        } finally {
            System.clearProperty(name);
        }
    }

    /**
     * After a region an idle worker spins for about SPIN_NANOS (so the next call's region finds it
     * awake), then parks (so an idle process burns no CPU): its CPU time over ten 30 ms idle gaps
     * lies between a fifth of ten spins and ten spins plus slack, far from both 0 and ten gaps.
     */
    @Test
    void anIdleWorkerSpinsForAboutTheSpinTimeThenParks() throws InterruptedException {
        assertThat(CpuThreads.SPIN_NANOS).isEqualTo(1000L * CpuThreads.DEFAULT_SPIN_MICROS);
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean.isThreadCpuTimeSupported() && bean.isThreadCpuTimeEnabled(),
                "the JVM does not measure thread CPU time");
        CpuThreads.setThreads(2);
        long worker = workerId(); // looked up once: listing the threads stops them all for a while
        long idle = 0;
        for (int gap = 0; gap < 10; gap++) {
            CpuThreads.forEach(64, CpuThreads.INLINE_WORK, t -> busyWork());
            long before = bean.getThreadCpuTime(worker);
            Thread.sleep(30);
            idle += bean.getThreadCpuTime(worker) - before;
        }
        assertThat(idle).as("worker CPU ns over ten idle gaps of 30 ms")
                .isBetween(10 * CpuThreads.SPIN_NANOS / 5, 10 * (CpuThreads.SPIN_NANOS + 3_000_000L));
    }

    /**
     * A caller that ran out of tasks spins the full SPIN_NANOS only while its call is the only one
     * in a parallel region; with another call in one (held inside a task here) it parks after
     * CROWDED_SPIN_NANOS, leaving the cores to the other calls.
     */
    @Test
    void aWaitingCallerSpinsLongOnlyWhenItsCallIsTheOnlyOneInARegion() throws Exception {
        CpuThreads.setThreads(2);
        assertThat(CpuThreads.CROWDED_SPIN_NANOS).isLessThan(CpuThreads.SPIN_NANOS);
        long[] alone = new long[1];
        CpuThreads.forEach(2, CpuThreads.INLINE_WORK, t -> {
            if (t == 0) {
                alone[0] = CpuThreads.waitSpinNanos();
            }
        });
        assertThat(alone[0]).isEqualTo(CpuThreads.SPIN_NANOS);

        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread other = new Thread(() -> CpuThreads.forEach(2, CpuThreads.INLINE_WORK, t -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        other.start();
        try {
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
            long[] crowded = new long[1];
            CpuThreads.forEach(2, CpuThreads.INLINE_WORK, t -> {
                if (t == 0) {
                    crowded[0] = CpuThreads.waitSpinNanos();
                }
            });
            assertThat(crowded[0]).isEqualTo(CpuThreads.CROWDED_SPIN_NANOS);
        } finally {
            release.countDown();
            other.join(10_000);
        }
        assertThat(CpuThreads.waitSpinNanos()).isEqualTo(CpuThreads.SPIN_NANOS);
    }

    /** The newest pool's worker: thread ids grow, and an old pool's worker may still be ending. */
    private static long workerId() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("clattn-cpu-1"))
                .mapToLong(Thread::getId).max().orElseThrow();
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
