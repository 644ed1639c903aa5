package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.core.CacheDir;
import io.github.clattn.reference.Feature;
import io.github.clattn.reference.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The tuner on tiny workloads: what it stores, that layers use it, and what it ignores. */
class TunerTest {
    private static final Tuner.Workload TINY = new Tuner.Workload(40, 24, 2, 12);

    @TempDir
    Path dir;
    private String savedCacheDir;

    @BeforeEach
    void useTemporaryCache() {
        savedCacheDir = System.getProperty(CacheDir.PROPERTY);
        System.setProperty(CacheDir.PROPERTY, dir.toString());
    }

    @AfterEach
    void restoreCache() {
        System.setProperty(CacheDir.PROPERTY, savedCacheDir != null ? savedCacheDir : TestCacheDir.folder().toString());
    }

    @ParameterizedTest
    @EnumSource(KernelVariant.class)
    void tuningStoresTheFastestCandidateAndNewLayersUseIt(KernelVariant variant) throws Exception {
        Device device = TestDevices.openCl();
        List<Map<String, Integer>> gemm = variant == KernelVariant.CPU
                ? List.of(Map.of("GEMM_RM", 2, "GEMM_CV", 1), Map.of("GEMM_RM", 3, "GEMM_CV", 1))
                : List.of(Map.of("GEMM_TS", 4, "GEMM_WPT", 2), Map.of("GEMM_TS", 8, "GEMM_WPT", 4));
        List<Map<String, Integer>> flash = variant == KernelVariant.CPU
                ? List.of(Map.of("FLASH_QR", 2, "FLASH_KV", 1, "FLASH_RB", 2, "FLASH_KC", 16), Map.of("FLASH_QR", 3, "FLASH_RB", 1))
                : List.of(Map.of("FLASH_BQ", 8, "FLASH_BK", 8), Map.of("FLASH_BQ", 16, "FLASH_BK", 4));
        List<Map<String, Integer>> decode = variant == KernelVariant.CPU
                ? List.of(Map.of("DEC_QR", 2, "DEC_KV", 1), Map.of("DEC_QR", 4, "DEC_KV", 2))
                : List.of(Map.of("DEC_WG", 32), Map.of("DEC_WG", 64));
        List<List<Map<String, Integer>>> spaces = new ArrayList<>(List.of(gemm, flash, decode));
        if (variant.gemv() != null) {
            spaces.add(List.of(Map.of("GEMV_RM", 1, "GEMV_CV", 4), Map.of("GEMV_RM", 2, "GEMV_CV", 2)));
        }
        List<String> progress = new ArrayList<>();
        Tuner.Result result = Tuner.tune(device, variant, TINY, spaces, progress::add);

        assertThat(result.file()).isEqualTo(Tuner.file(device)).exists();
        assertThat(result.trials()).hasSize(2 * spaces.size()).allSatisfy(t -> assertThat(t.millis()).isPositive());
        assertThat(result.trials()).allSatisfy(t -> assertThat(t.timed()).isTrue());
        // each kernel's search keeps its fastest candidate's values; the last search's fastest is the result
        for (int s = 0; s < spaces.size(); s++) {
            Tuner.Trial fastest = fastest(result.trials().subList(2 * s, 2 * s + 2));
            for (String name : spaces.get(s).get(0).keySet()) {
                assertThat(result.best().get(name)).as(name).isEqualTo(fastest.params().get(name));
            }
            if (s == spaces.size() - 1) {
                assertThat(result.best()).isEqualTo(fastest.params());
            }
        }
        assertThat(progress).hasSizeGreaterThanOrEqualTo(2 * spaces.size() + 2).last().asString().contains("Best");

        assertThat(Tuner.stored(device)).contains(result.best());
        assertThat(Files.readString(result.file())).contains("format=" + Tuner.FORMAT);
        assertThat(Tuner.stored(device).orElseThrow().chosen()).as("every stored value runs as it was timed")
                .containsExactlyInAnyOrderElementsOf(result.best().values().keySet());
        assertThat(Tuner.paramsFor(device, variant)).isEqualTo(result.best());
        Problem c = Problem.builder(5, 2, 23, 23, 10, 2, 12).with(Feature.CAUSAL, Feature.OUTPUT_PROJECTION)
                .label("tuned " + result.best()).build();
        try (OpenClLayer layer = new OpenClLayer(c.weights(), c.options(), device, variant, null)) {
            assertThat(layer.kernelParams()).isEqualTo(result.best().fittedTo(device, 12));
        }
        PathUnderTest path = variant == KernelVariant.CPU ? PathUnderTest.FUSED_CPU : PathUnderTest.FUSED_GPU;
        path.runAndCheck(device, c);
    }

    @Test
    void candidatesThatFitToTheSameKernelAreTimedOnce() {
        // head width 12: a work-item holds at most 256 / FLASH_QR groups, so FLASH_RB 64 and 128 (with
        // FLASH_QR 8) both build FLASH_RB 32
        Device device = TestDevices.openCl();
        List<List<Map<String, Integer>>> spaces = new ArrayList<>(List.of(
                List.of(Map.of("GEMM_RM", 2, "GEMM_CV", 1)),
                List.of(Map.of("FLASH_QR", 8, "FLASH_RB", 64), Map.of("FLASH_QR", 8, "FLASH_RB", 128)),
                List.of(Map.of("DEC_QR", 2, "DEC_KV", 1))));
        if (KernelVariant.CPU.gemv() != null) {
            spaces.add(List.of(Map.of("GEMV_RM", 1, "GEMV_CV", 4)));
        }
        Tuner.Result result = Tuner.tune(device, KernelVariant.CPU, TINY, spaces, line -> { });
        List<Tuner.Trial> flash = result.trials().stream().filter(t -> t.kernel().equals("flash")).toList();
        assertThat(flash).hasSize(2);
        Tuner.Trial timed = flash.stream().filter(Tuner.Trial::timed).findFirst().orElseThrow();
        Tuner.Trial skipped = flash.stream().filter(t -> !t.timed()).findFirst().orElseThrow();
        assertThat(timed.params().get("FLASH_RB")).isEqualTo(64);
        assertThat(skipped.params().get("FLASH_RB")).isEqualTo(128);
        assertThat(skipped.dropped()).contains("the same kernel as").contains("FLASH_RB=64");
        assertThat(result.best().get("FLASH_RB")).isEqualTo(64);
        assertThat(result.trials().stream().filter(Tuner.Trial::timed)).hasSize(spaces.size());
    }

    private static Tuner.Trial fastest(List<Tuner.Trial> trials) {
        return trials.stream().min((a, b) -> Double.compare(a.millis(), b.millis())).orElseThrow();
    }

    @Test
    void filesForAnotherDeviceOrDriverOrThatDoNotParseAreIgnored() throws Exception {
        Device device = TestDevices.openCl();
        Path f = Tuner.file(device);
        Files.createDirectories(f.getParent());
        String valid = "device=" + device.name().replace(":", "\\:") + "\ndriver=" + device.info().driverVersion()
                + "\nvariant=cpu\nGEMM_RM=4\nGEMM_CV=1\nFLASH_QR=2\nFLASH_RB=3\nFLASH_KC=32\n";
        Files.writeString(f, valid);
        KernelParams stored = Tuner.stored(device).orElseThrow();
        assertThat(stored.values()).containsEntry("GEMM_RM", 4).containsEntry("FLASH_RB", 3);
        assertThat(Tuner.paramsFor(device, KernelVariant.CPU)).isEqualTo(stored);
        assertThat(stored.chosen()).as("a file without format " + Tuner.FORMAT + " holds values fitted like defaults")
                .isEmpty();
        String budget = "accumulators=" + CpuKernelSpecs.accumulatorsOf(device) + "\n";
        Files.writeString(f, valid + "format= " + Tuner.FORMAT + " \n" + budget);
        assertThat(Tuner.stored(device).orElseThrow().chosen())
                .containsExactlyInAnyOrder("GEMM_RM", "GEMM_CV", "FLASH_QR", "FLASH_RB", "FLASH_KC");
        Files.writeString(f, valid + "format=" + Tuner.FORMAT + "\naccumulators=5\n");
        assertThat(Tuner.stored(device).orElseThrow().chosen()).as("written under another register budget").isEmpty();
        Files.writeString(f, valid + "format=" + Tuner.FORMAT + "\n");
        assertThat(Tuner.stored(device).orElseThrow().chosen()).as("no budget stored").isEmpty();
        assertThat(Tuner.paramsFor(device, KernelVariant.GPU)).as("stored for the other variant")
                .isEqualTo(KernelParams.defaults(KernelVariant.GPU));

        for (String bad : List.of(valid.replace("driver=", "driver=other "), valid.replace("device=", "device=other "),
                valid.replace("GEMM_RM=4", "GEMM_RM=four"), valid.replace("GEMM_RM=4", "GEMM_RM=0"),
                valid.replace("FLASH_KC=32", "FLASH_KC=20"), valid.replace("variant=cpu", "variant=fpga"),
                valid.replace("FLASH_QR=2", "FLASH_QR=16").replace("FLASH_KC=32", "FLASH_KC=1024"),
                "\u0000\u0001 garbage")) {
            Files.writeString(f, bad);
            assertThat(Tuner.stored(device)).as("stored from:\n" + bad).isEqualTo(Optional.empty());
            assertThat(Tuner.paramsFor(device, KernelVariant.CPU)).isEqualTo(KernelParams.defaults(KernelVariant.CPU));
        }
    }

    @Test
    void everyDefaultCandidateIsValid() {
        for (KernelVariant v : KernelVariant.values()) {
            for (KernelSpec spec : v.specs()) {
                List<Map<String, Integer>> space = spec.candidates();
                assertThat(space).as(v + " " + spec).isNotEmpty().hasSizeLessThanOrEqualTo(9);
                for (Map<String, Integer> candidate : space) {
                    KernelParams p = KernelParams.defaults(v).with(candidate);
                    assertThat(p.values()).containsAllEntriesOf(candidate);
                }
            }
        }
    }

    @Test
    void theRegisterBudgetCutsTheDefaultsButNotWhatWasChosen() {
        KernelParams defaults = KernelParams.defaults(KernelVariant.CPU);
        assertThat(defaults.withinBudget(16)).as("AVX-512: nothing to cut").isEqualTo(defaults);
        KernelParams avx2 = defaults.withinBudget(6);
        assertThat(avx2.values()).as("AVX2 defaults").containsEntry("GEMM_RM", 6).containsEntry("GEMM_CV", 1)
                .containsEntry("FLASH_ACC", 6).containsEntry("GEMV_RM", 1).containsEntry("GEMV_CV", 4);
        KernelParams tuned = defaults.with(Map.of("GEMM_RM", 8, "GEMM_CV", 2, "FLASH_ACC", 16, "GEMV_CV", 16));
        assertThat(tuned.withinBudget(6).values()).as("the tuner's choice runs as it was timed")
                .containsEntry("GEMM_RM", 8).containsEntry("GEMM_CV", 2).containsEntry("FLASH_ACC", 16)
                .containsEntry("GEMV_CV", 16);
        assertThat(defaults.with("GEMM_CV", 2).withinBudget(6).values()).as("a tile with one size chosen is chosen")
                .containsEntry("GEMM_RM", 8).containsEntry("GEMM_CV", 2).containsEntry("FLASH_ACC", 6);
        Map<String, String> file = Map.of("GEMM_RM", "8", "GEMM_CV", "2", "FLASH_ACC", "16");
        assertThat(KernelParams.of(KernelVariant.CPU, file, true).withinBudget(6).values())
                .containsEntry("GEMM_RM", 8).containsEntry("FLASH_ACC", 16);
        assertThat(KernelParams.of(KernelVariant.CPU, file, false).withinBudget(6).values()).as("an older file")
                .containsEntry("GEMM_RM", 6).containsEntry("GEMM_CV", 1).containsEntry("FLASH_ACC", 6);
        assertThat(tuned).as("equality looks at the values").isEqualTo(KernelParams.of(KernelVariant.CPU,
                Map.of("GEMM_RM", "8", "GEMM_CV", "2", "FLASH_ACC", "16", "GEMV_CV", "16"), false));
    }

    @Test
    void aTuningFileHoldsTheDefaultsAsTheyRanUnderTheBudget() throws Exception {
        // FLASH_ACC and the GEMV tile are in none of these searches: the file holds the defaults cut
        // to a budget of 6 (as on AVX2), which is how they ran
        Device device = TestDevices.openCl();
        List<List<Map<String, Integer>>> spaces = new ArrayList<>(List.of(
                List.of(Map.of("GEMM_RM", 2, "GEMM_CV", 1)),
                List.of(Map.of("FLASH_QR", 2, "FLASH_KV", 1, "FLASH_RB", 2, "FLASH_KC", 16)),
                List.of(Map.of("DEC_QR", 2, "DEC_KV", 1))));
        if (KernelVariant.CPU.gemv() != null) {
            spaces.add(List.of(Map.of("GEMV_ROWS", 4)));
        }
        Tuner.Result result = Tuner.tune(device, KernelVariant.CPU, TINY, spaces, line -> { }, 6);
        assertThat(result.best().get("FLASH_ACC")).isEqualTo(6);
        String file = Files.readString(result.file());
        assertThat(file).contains("FLASH_ACC=6").contains("accumulators=6").contains("format=" + Tuner.FORMAT);
        assertThat(Tuner.timedAsStored(propertiesOf(file), 6)).isTrue();
        assertThat(Tuner.timedAsStored(propertiesOf(file), 16)).as("under another budget").isFalse();
        assertThat(Tuner.timedAsStored(propertiesOf(file.replace("format=" + Tuner.FORMAT, "format=3")), 6))
                .as("a later format").isTrue();
        assertThat(Tuner.timedAsStored(propertiesOf(file.replace("format=" + Tuner.FORMAT, "format=1")), 6)).isFalse();
        assertThat(Tuner.timedAsStored(propertiesOf(file.replace("format=" + Tuner.FORMAT, "format=two")), 6)).isFalse();
    }

    private static java.util.Properties propertiesOf(String text) throws Exception {
        java.util.Properties p = new java.util.Properties();
        p.load(new java.io.StringReader(text));
        return p;
    }

    @Test
    void parametersAreCheckedAndFittedToTheDevice() {
        assertThatThrownBy(() -> KernelParams.defaults(KernelVariant.CPU).with("GEMM_TS", 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("GEMM_TS");
        assertThatThrownBy(() -> KernelParams.defaults(KernelVariant.GPU).with("GEMM_WPT", 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("GEMM_WPT");
        assertThatThrownBy(() -> KernelParams.defaults(KernelVariant.CPU).with(Map.of("FLASH_QR", 64, "FLASH_KC", 256)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FLASH_QR·FLASH_KC <= 8192");
        assertThatThrownBy(() -> KernelParams.defaults(KernelVariant.CPU).with("FLASH_ACC", 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FLASH_ACC: expected one of [4, 6, 8, 16]");
        Device device = TestDevices.openCl();
        KernelParams wide = KernelParams.defaults(KernelVariant.CPU).with("FLASH_RB", 8).fittedTo(device, 256);
        assertThat(wide.get("FLASH_RB")).as("a 256-wide head's groups per work-item").isEqualTo(2);
        assertThat(KernelParams.defaults(KernelVariant.CPU).with("FLASH_RB", 8).fittedTo(device, 64).get("FLASH_RB"))
                .isEqualTo(8);
        KernelParams big = KernelParams.defaults(KernelVariant.GPU).with("FLASH_BK", 1024);
        KernelParams fitted = big.fittedTo(device, 256);
        assertThat(2L * fitted.get("FLASH_BK") * 256 * Float.BYTES).isLessThanOrEqualTo(device.info().localMemBytes());
        assertThat((long) fitted.get("FLASH_BQ")).isLessThanOrEqualTo(device.info().maxWorkGroupSize());
    }
}
