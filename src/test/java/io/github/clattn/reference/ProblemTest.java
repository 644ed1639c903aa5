package io.github.clattn.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one problem descriptor: reproducible from its seed, every feature honoured, its FLOP count. */
class ProblemTest {

    @Test
    void theSameSeedGivesTheSameTensorsAndAnotherSeedOthers() {
        Problem a = Problem.builder(5, 2, 7, 9, 6, 2, 3).with(Feature.values()).build();
        Problem b = Problem.builder(5, 2, 7, 9, 6, 2, 3).with(Feature.values()).build();
        Problem c = Problem.builder(6, 2, 7, 9, 6, 2, 3).with(Feature.values()).build();
        assertThat(b.weights().wQ()).isEqualTo(a.weights().wQ());
        assertThat(b.input().x()).isEqualTo(a.input().x());
        assertThat(b.input().attnBias()).isEqualTo(a.input().attnBias());
        assertThat(b.toString()).isEqualTo(a.toString()).contains("seed=5").contains("features=");
        assertThat(c.input().x()).isNotEqualTo(a.input().x());
        assertThat(Problem.random(9, Set.of(Feature.CROSS), 300).toString())
                .isEqualTo(Problem.random(9, Set.of(Feature.CROSS), 300).toString());
    }

    @Test
    void everyFeatureShowsInTheLayerOrTheCall() {
        Problem none = Problem.builder(1, 2, 7, 7, 6, 2, 3).build();
        assertThat(none.options().causal()).isFalse();
        assertThat(none.input().isCrossAttention()).isFalse();
        assertThat(none.input().keyValidLength()).isNull();
        assertThat(none.input().attnBias()).isNull();
        assertThat(none.weights().bQ()).isNull();
        assertThat(none.weights().hasOutputProjection()).isFalse();
        assertThat(none.options().scale()).isNaN();
        assertThat(none.input().returnWeights()).isFalse();

        Problem all = Problem.builder(1, 2, 7, 9, 6, 2, 3).with(Feature.values()).build();
        assertThat(all.options().causal()).isTrue();
        assertThat(all.input().isCrossAttention()).isTrue();
        assertThat(all.contextLength()).isEqualTo(9);
        assertThat(all.input().keyValidLength()).hasSize(2);
        assertThat(java.util.Arrays.stream(all.input().keyValidLength()).boxed()).allSatisfy(v -> assertThat(v).isBetween(0, 9));
        assertThat(all.input().attnBias()).hasSize(63);
        assertThat(all.weights().bQ()).hasSize(6);
        assertThat(all.weights().hasOutputProjection()).isTrue();
        assertThat(all.options().scale()).isBetween(0.05, 1.05);
        assertThat(all.input().returnWeights()).isTrue();
        assertThat(all.withReturnWeights(false).features()).doesNotContain(Feature.WEIGHTS);
    }

    @Test
    void selfAttentionNeedsEqualLengthsAndALayerCanBeShared() {
        assertThatThrownBy(() -> Problem.builder(1, 1, 4, 5, 6, 2, 3).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CROSS");
        Problem first = Problem.builder(3, 1, 4, 4, 6, 2, 3).with(Feature.PROJECTION_BIAS).build();
        Problem other = Problem.builder(3, 1, 9, 9, 6, 2, 3).with(Feature.PROJECTION_BIAS).build();
        assertThat(other.weights().wK()).as("one seed, one layer, any lengths").isEqualTo(first.weights().wK());
        Problem shared = Problem.builder(4, 1, 9, 9, 6, 2, 3).layer(first.weights()).build();
        assertThat(shared.weights()).isSameAs(first.weights());
        assertThatThrownBy(() -> Problem.builder(4, 1, 9, 9, 8, 2, 3).layer(first.weights()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer");
    }

    @Test
    void flopsAndBytesCountWhatACallDoes() {
        Problem p = Problem.builder(1, 2, 10, 20, 16, 2, 8).with(Feature.CROSS, Feature.OUTPUT_PROJECTION).build();
        double hd = 16;
        double expected = 2 * 2 * (10 * hd + 2 * 20 * hd) * 16 + 4.0 * 2 * 2 * 10 * 20 * 8 + 2 * 2 * 10 * hd * 16;
        assertThat(p.flops()).isEqualTo(expected);
        long floats = 2 * 10 * 16 + 2 * 20 * 16 + 3 * 16 * 16 + 16 * 16 + 2 * 10 * 16 + 2 * 10 * 16;
        assertThat(p.bytes()).isEqualTo(floats * 4);
    }

    @Test
    void combinationsCoverEverySubsetOnceAndNamesRoundTrip() {
        List<Set<Feature>> all = Feature.combinations(List.of(Feature.values()));
        assertThat(all).hasSize(1 << Feature.values().length);
        assertThat(new HashSet<>(all)).hasSize(all.size());
        for (Set<Feature> f : all) {
            assertThat(Feature.parse(Feature.describe(f))).isEqualTo(f);
        }
        assertThat(Feature.describe(EnumSet.noneOf(Feature.class))).isEqualTo("none");
        assertThatThrownBy(() -> Feature.parse("causal+nonsense")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nonsense");
    }
}
