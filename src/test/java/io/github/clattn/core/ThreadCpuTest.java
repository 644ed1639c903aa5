package io.github.clattn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** A spinning thread is on a CPU nearly all the time, a sleeping one is not; busy is CPU over wall times threads. */
class ThreadCpuTest {

    @Test
    void aSpinningThreadIsBusyASleepingOneIsNot() throws InterruptedException {
        assertThat(ThreadCpu.nanos()).as("HotSpot measures thread CPU time").isPositive();
        ThreadCpu.Span spin = ThreadCpu.start();
        long until = System.nanoTime() + 50_000_000L;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        // the spinning thread alone: near 1 of one thread (less if the machine preempted it)
        assertThat(spin.busy(1)).isGreaterThan(0.3).isLessThan(1.5);
        ThreadCpu.Span sleep = ThreadCpu.start();
        Thread.sleep(50);
        assertThat(sleep.busy(1)).as("nobody computes while this thread sleeps").isLessThan(0.3);
        // a short span reads true too: thread clocks have nanosecond resolution
        ThreadCpu.Span shortSpin = ThreadCpu.start();
        long shortUntil = System.nanoTime() + 2_000_000L;
        while (System.nanoTime() < shortUntil) {
            Thread.onSpinWait();
        }
        assertThat(shortSpin.busy(1)).as("2 ms of spinning").isGreaterThan(0.1).isLessThan(1.5);
    }

    @Test
    void busyIsCpuOverWallTimesThreadsAndNaNWhenUnknown() {
        assertThat(ThreadCpu.busy(1_000_000_000L, 1_000_000_000L, 2)).isCloseTo(0.5, within(1e-12));
        assertThat(ThreadCpu.busy(3_000_000L, 1_000_000L, 4)).isCloseTo(0.75, within(1e-12));
        assertThat(ThreadCpu.busy(-1, 1_000_000L, 2)).isNaN();
        assertThat(ThreadCpu.busy(5, 0, 2)).isNaN();
        assertThat(ThreadCpu.busy(5, 10, 0)).isNaN();
    }
}
