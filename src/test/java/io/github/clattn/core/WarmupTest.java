package io.github.clattn.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The warm-up goes on while the timings spread or the JIT is still compiling, and stops at its cap. */
class WarmupTest {

    @Test
    void steadyCallsWithAnIdleJitStopAtTheMinimums() {
        AtomicInteger calls = new AtomicInteger();
        Warmup.Result r = Warmup.run(() -> spin(200_000, calls), 3, 0, 10_000, null, () -> 7);
        assertThat(r.settled()).isTrue();
        assertThat(r.calls()).isGreaterThanOrEqualTo(Warmup.WINDOW).isEqualTo(calls.get());
    }

    @Test
    void goesOnWhileTheJitFinishesCompilations() {
        // the JIT finishes a compilation during each of the first 20 calls, then none
        AtomicInteger calls = new AtomicInteger();
        Warmup.Result r = Warmup.run(() -> spin(200_000, calls), 3, 0, 10_000, null, () -> Math.min(calls.get(), 20));
        assertThat(r.settled()).isTrue();
        // the first window without a compilation is calls 21..25 (later, if a preempted call spread the timings)
        assertThat(r.calls()).isGreaterThanOrEqualTo(20 + Warmup.WINDOW);
    }

    @Test
    void aJitThatNeverRestsHitsTheCap() {
        AtomicInteger calls = new AtomicInteger();
        long t0 = System.nanoTime();
        Warmup.Result r = Warmup.run(() -> spin(1_000_000, calls), 1, 0, 2_000, null, calls::get);
        assertThat(r.settled()).isFalse();
        assertThat((System.nanoTime() - t0) / 1e6).isGreaterThanOrEqualTo(2_000);
        assertThat(r.millis()).isGreaterThanOrEqualTo(2_000).isLessThan(10_000);
    }

    @Test
    void spreadTimingsAreNotSettled() {
        assertThat(Warmup.settled(new double[] {10, 10.1, 10.2, 9.9, 10})).isTrue();
        assertThat(Warmup.settled(new double[] {10, 10.1, 12, 9.9, 10})).isFalse();
        assertThat(Warmup.settled(new double[] {0, 0, 0, 0, 0})).isFalse();
    }

    @Test
    void zeroCallsSkipsTheWarmup() {
        AtomicInteger calls = new AtomicInteger();
        assertThat(Warmup.run(() -> spin(1, calls), 0, 1000, null).calls()).isZero();
        assertThat(calls.get()).isZero();
    }

    /** A call of about {@code nanos}, busy-waiting so its time is steady. */
    private static void spin(long nanos, AtomicInteger calls) {
        calls.incrementAndGet();
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }
}
