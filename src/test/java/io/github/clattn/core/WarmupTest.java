package io.github.clattn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The warm-up goes on while the rounds' timings spread or the JIT is still compiling, and stops at its cap. */
class WarmupTest {

    @Test
    void steadyCallsWithAnIdleJitStopAtTheMinimums() {
        AtomicInteger calls = new AtomicInteger();
        Warmup.Result r = Warmup.run(() -> spin(200_000, calls), 3, 0, 10_000, null, () -> 7);
        assertThat(r.settled()).isTrue();
        assertThat(r.calls()).isGreaterThanOrEqualTo(Warmup.WINDOW).isEqualTo(calls.get());
        // five rounds of at least 25 ms each
        assertThat(r.millis()).isGreaterThanOrEqualTo(Warmup.WINDOW * Warmup.ROUND_MILLIS);
    }

    @Test
    void goesOnWhileTheJitFinishesCompilations() {
        // the JIT finishes a compilation during every round of the first 300 ms, then none
        AtomicInteger calls = new AtomicInteger();
        long t0 = System.nanoTime();
        AtomicLong jit = new AtomicLong();
        Warmup.Result r = Warmup.run(() -> spin(200_000, calls), 3, 0, 10_000, null,
                () -> System.nanoTime() - t0 < 300_000_000L ? jit.incrementAndGet() : jit.get());
        assertThat(r.settled()).isTrue();
        // five rounds without a compilation after the last one (read when a round starts, at 275 ms or later)
        assertThat(r.millis()).isGreaterThanOrEqualTo(300 - Warmup.ROUND_MILLIS + Warmup.WINDOW * Warmup.ROUND_MILLIS);
    }

    @Test
    void shortCallsWaitForRoundsWithoutACompilationNotCallsWithout() {
        // calls of 0.2 ms; the JIT finishes a compilation after every 40th call (8 ms apart) for the
        // first 400 ms: five calls in a row often pass without one, five 25 ms rounds never do
        AtomicInteger calls = new AtomicInteger();
        long t0 = System.nanoTime();
        Warmup.Result r = Warmup.run(() -> spin(200_000, calls), 3, 0, 10_000, null,
                () -> System.nanoTime() - t0 < 400_000_000L ? calls.get() / 40 : -1);
        assertThat(r.settled()).isTrue();
        assertThat(r.millis()).isGreaterThanOrEqualTo(400 - Warmup.ROUND_MILLIS + Warmup.WINDOW * Warmup.ROUND_MILLIS);
        assertThat(r.calls()).isEqualTo(calls.get());
    }

    @Test
    void aCallThatThrowsEndsTheWarmupWithItsException() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> Warmup.runThrowing(() -> {
            if (calls.incrementAndGet() == 7) {
                throw new java.io.IOException("call 7 failed");
            }
        }, 1, 0, 10_000)).isInstanceOf(java.io.IOException.class).hasMessage("call 7 failed");
        assertThat(calls.get()).isEqualTo(7);
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
