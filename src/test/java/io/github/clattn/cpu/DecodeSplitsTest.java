package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.AttentionOutput;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The Java decode pass's key splits: the rule, and results that do not depend on the pool size. */
class DecodeSplitsTest {
    @Test
    void asFewSplitsAsGiveTheTargetTasksWithEnoughKeysEach() {
        // a Llama-3-8B step (B = 1, 8 K/V heads): 8 splits once there are keys for them
        assertThat(DecodePass.splits(8192, 8)).isEqualTo(8);
        assertThat(DecodePass.splits(4096, 8)).isEqualTo(8);
        assertThat(DecodePass.splits(1024, 8)).isEqualTo(4); // at least 256 keys per split
        assertThat(DecodePass.splits(255, 8)).isEqualTo(1);
        assertThat(DecodePass.splits(0, 8)).isEqualTo(1);
        // many pairs already give the tasks: one split
        assertThat(DecodePass.splits(100_000, 64)).isEqualTo(1);
        assertThat(DecodePass.splits(100_000, 1000)).isEqualTo(1);
        // one pair (MQA, B = 1): capped at MAX_SPLITS
        assertThat(DecodePass.splits(1 << 20, 1)).isEqualTo(DecodePass.MAX_SPLITS);
        assertThat(DecodePass.splits(3000, 1)).isEqualTo(11);
        // -Dclattn.decode.tasks: another target, the same rule
        assertThat(DecodePass.splits(8192, 8, 256)).isEqualTo(32);
        assertThat(DecodePass.splits(8192, 8, 16)).isEqualTo(2);
        // never depends on anything but the keys and the pairs
        assertThat(DecodePass.splits(5000, 3)).isEqualTo(Math.min(DecodePass.MAX_SPLITS,
                Math.min((DecodePass.TARGET_TASKS + 2) / 3, 5000 / DecodePass.MIN_SPLIT_KEYS)));
    }

    @Test
    void theTargetComesFromThePropertyWhenItIsAPositiveInteger() {
        String before = System.getProperty(DecodePass.TASKS_PROPERTY);
        try {
            System.clearProperty(DecodePass.TASKS_PROPERTY);
            assertThat(DecodePass.targetTasks()).isEqualTo(DecodePass.TARGET_TASKS);
            System.setProperty(DecodePass.TASKS_PROPERTY, " 128 ");
            assertThat(DecodePass.targetTasks()).isEqualTo(128);
            for (String bad : new String[] {"0", "-3", "many", ""}) {
                System.setProperty(DecodePass.TASKS_PROPERTY, bad);
                assertThat(DecodePass.targetTasks()).as(bad).isEqualTo(DecodePass.TARGET_TASKS);
            }
        } finally {
            if (before == null) {
                System.clearProperty(DecodePass.TASKS_PROPERTY);
            } else {
                System.setProperty(DecodePass.TASKS_PROPERTY, before);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java-vector", "java-scalar"})
    void aDecodeStepIsBitwiseTheSameOnAnyPoolSize(String path) {
        int original = CpuThreads.threads();
        try {
            // one query per sequence over 3000 keys, grouped heads: several splits per (sequence, K/V head)
            Problem c = Problem.builder(91, 2, 1, 3000, 32, 4, 8).kvHeads(1)
                    .with(Feature.CROSS, Feature.CAUSAL, Feature.KEY_PADDING, Feature.ROPE).build();
            List<AttentionOutput> runs = new ArrayList<>();
            for (int threads : new int[] {1, 2, 3, 7}) {
                CpuThreads.setThreads(threads);
                runs.add(JavaAttentionTest.run(path, c.weights(), c.options(), c.input()));
            }
            c.check(runs.get(0)).assertPassed();
            for (int i = 1; i < runs.size(); i++) {
                assertThat(runs.get(i).headsOut()).as(path + " " + c + " run " + i + " vs 1 thread")
                        .isEqualTo(runs.get(0).headsOut());
            }
        } finally {
            CpuThreads.setThreads(original);
        }
    }
}
