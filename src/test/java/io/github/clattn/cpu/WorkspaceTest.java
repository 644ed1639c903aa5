package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The per-thread Q, Kᵀ and V workspace of {@link JavaAttention}: the next call on a thread finds
 * the arrays of the last one, whether they were small enough to be held strongly or held only
 * softly (N = 4096, D = 512 needs 24 MiB), grows only what is too short, and another thread never
 * gets them.
 */
class WorkspaceTest {

    @Test
    void theThreadsNextCallFindsItsArraysSmallOrLarge() {
        int large = JavaAttention.WORKSPACE_KEPT_STRONGLY / 2; // three of these: more than is held strongly
        for (int length : new int[] {1000, large}) {
            JavaAttention.Workspace.take(0, 0, 0); // not released: what earlier calls on this thread left is dropped
            JavaAttention.Workspace first = JavaAttention.Workspace.take(length, length, length);
            float[] q = first.q;
            float[] kt = first.kt;
            float[] v = first.v;
            first.release();
            JavaAttention.Workspace again = JavaAttention.Workspace.take(length, length - 1, length);
            assertThat(again.q).as("Q of %d floats", length).isSameAs(q);
            assertThat(again.kt).as("Kᵀ of %d floats", length).isSameAs(kt);
            assertThat(again.v).as("V of %d floats", length).isSameAs(v);
            again.release();

            JavaAttention.Workspace elsewhere = CompletableFuture.supplyAsync(
                    () -> JavaAttention.Workspace.take(length, length, length)).join();
            assertThat(elsewhere.q).as("another thread's Q").isNotSameAs(q);

            JavaAttention.Workspace grown = JavaAttention.Workspace.take(length, length + 1, length);
            assertThat(grown.q).isSameAs(q);
            assertThat(grown.kt).as("a Kᵀ too short is replaced").isNotSameAs(kt).hasSize(length + 1);
            assertThat(grown.v).isSameAs(v);
            grown.release();
            JavaAttention.Workspace.take(0, 0, 0);
        }
    }
}
