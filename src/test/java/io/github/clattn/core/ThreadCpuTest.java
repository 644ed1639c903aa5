package io.github.clattn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.junit.jupiter.api.Test;

/**
 * The Java threads' CPU time counts a spinning thread's time to the nanosecond, a sleeping thread
 * adds none, and the busy share is CPU over wall times threads. The spins are measured in this
 * thread's own CPU time, so a loaded machine that preempts the test does not fail it.
 */
class ThreadCpuTest {
    private static final ThreadMXBean BEAN = ManagementFactory.getThreadMXBean();

    @Test
    void aSpinningThreadsTimeCountsAndASleepingOneAddsNone() throws InterruptedException {
        assertThat(ThreadCpu.nanos()).as("HotSpot measures thread CPU time").isPositive();
        ThreadCpu.Span spin = ThreadCpu.start();
        spinCpu(50_000_000L);
        assertThat(ThreadCpu.nanos() - spin.cpuNanos()).as("50 ms of this thread's CPU time")
                .isGreaterThanOrEqualTo(50_000_000L);
        assertThat(spin.busy(1)).isPositive().isLessThan(2.0);

        // a short span reads true: thread clocks have nanosecond resolution (a process clock in
        // 10 ms ticks would read 0 or 10 ms here)
        ThreadCpu.Span shortSpin = ThreadCpu.start();
        spinCpu(2_000_000L);
        assertThat(ThreadCpu.nanos() - shortSpin.cpuNanos()).as("2 ms of this thread's CPU time")
                .isBetween(2_000_000L, 5_000_000L);

        ThreadCpu.Span sleep = ThreadCpu.start();
        Thread.sleep(50);
        assertThat(sleep.busy(1)).as("no Java thread computes while this one sleeps").isLessThan(0.5);
    }

    @Test
    void busyIsCpuOverWallTimesThreadsAndNaNWhenUnknown() {
        assertThat(ThreadCpu.busy(1_000_000_000L, 1_000_000_000L, 2)).isCloseTo(0.5, within(1e-12));
        assertThat(ThreadCpu.busy(3_000_000L, 1_000_000L, 4)).isCloseTo(0.75, within(1e-12));
        assertThat(ThreadCpu.busy(-1, 1_000_000L, 2)).isNaN();
        assertThat(ThreadCpu.busy(5, 0, 2)).isNaN();
        assertThat(ThreadCpu.busy(5, 10, 0)).isNaN();
    }

    /** Spins until this thread has spent {@code nanos} more on a CPU. */
    private static void spinCpu(long nanos) {
        long until = BEAN.getCurrentThreadCpuTime() + nanos;
        while (BEAN.getCurrentThreadCpuTime() < until) {
            Thread.onSpinWait();
        }
    }
}
