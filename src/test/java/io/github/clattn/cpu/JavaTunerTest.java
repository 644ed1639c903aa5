package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.core.CacheDir;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Java path's tuner on a tiny workload: it validates every candidate, drops a wrong one, stores
 * the best for this machine, and layers opened afterwards use it; a file for another machine, or
 * one that does not parse, is ignored.
 */
class JavaTunerTest {
    private static final JavaTuner.Workload TINY = new JavaTuner.Workload(96, 32, 2, 0);
    private final int lanes = JavaKernels.named("vector").lanes();

    @AfterEach
    void removeTheTuningFile() throws Exception {
        Files.deleteIfExists(JavaTuner.file(lanes));
    }

    private static Map<String, List<Integer>> space() {
        Map<String, List<Integer>> space = new LinkedHashMap<>();
        space.put(JavaParams.GEMM_ROWS, List.of(8, 4));
        space.put(JavaParams.KEY_BLOCK, List.of(256, 128));
        return space;
    }

    @Test
    void storesTheBestAndLaterLayersUseIt() throws Exception {
        List<String> lines = new ArrayList<>();
        JavaTuner.Result r = JavaTuner.tune(TINY, space(), JavaKernels.named("vector")::withParams, lines::add);

        assertThat(r.file()).startsWith(CacheDir.path()).isRegularFile();
        assertThat(r.trials()).hasSize(4).allSatisfy(t -> {
            assertThat(t.dropped()).isNull();
            assertThat(t.millis()).isPositive();
        });
        assertThat(lines.get(0)).contains("Tuning the Java path", Integer.toString(lanes));
        assertThat(lines.get(lines.size() - 1)).startsWith("Best: " + r.best()).endsWith(r.file().toString());
        String text = Files.readString(r.file(), StandardCharsets.UTF_8);
        assertThat(text).contains("cpu=", "lanes=" + lanes, "threads=" + CpuThreads.threads(),
                "java=" + Runtime.version().feature(), "GEMM_ROWS=" + r.best().gemmRows());
        assertThat(JavaTuner.stored(lanes)).contains(r.best());
        assertThat(JavaKernels.select().params()).isEqualTo(r.best());
        assertThat(JavaKernels.named("vector").params()).isEqualTo(r.best());
        // untouched parameters keep their defaults
        assertThat(r.best().pvRows()).isEqualTo(JavaParams.defaults(lanes).pvRows());

        Files.delete(r.file());
        assertThat(JavaKernels.select().params()).isEqualTo(JavaParams.defaults(lanes));
    }

    @Test
    void aCandidateThatComputesWrongResultsIsDroppedAndNeverStored() {
        // GEMM_ROWS=4 gets kernels whose scores are off by a little: validation must catch it
        List<String> lines = new ArrayList<>();
        JavaTuner.Result r = JavaTuner.tune(TINY, space(), p -> p.gemmRows() == 4
                ? new OffByALittle(JavaKernels.named("vector").withParams(p)) : JavaKernels.named("vector").withParams(p),
                lines::add);
        assertThat(r.best().gemmRows()).isEqualTo(8);
        assertThat(r.trials()).anySatisfy(t -> {
            assertThat(t.params().gemmRows()).isEqualTo(4);
            assertThat(t.dropped()).startsWith("wrong results");
        });
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("GEMM_ROWS=4", "dropped: wrong results"));
    }

    @Test
    void aFileForAnotherMachineOrWithBadValuesIsIgnored() throws Exception {
        JavaTuner.Result r = JavaTuner.tune(TINY, Map.of(JavaParams.QUERY_BLOCK, List.of(32)),
                JavaKernels.named("vector")::withParams, l -> { });
        Path f = r.file();
        String text = Files.readString(f, StandardCharsets.UTF_8);
        assertThat(JavaTuner.stored(lanes)).contains(new JavaParams(JavaParams.defaults(lanes).gemmRows(),
                JavaParams.defaults(lanes).pvRows(), 256, 32));

        Files.writeString(f, text.replaceAll("(?m)^cpu=.*$", "cpu=Some Other CPU"));
        assertThat(JavaTuner.stored(lanes)).isEmpty();
        Files.writeString(f, text.replaceAll("(?m)^threads=.*$", "threads=" + (CpuThreads.threads() + 1)));
        assertThat(JavaTuner.stored(lanes)).isEmpty();
        Files.writeString(f, text.replaceAll("(?m)^QUERY_BLOCK=.*$", "QUERY_BLOCK=48"));
        assertThat(JavaTuner.stored(lanes)).isEmpty();
        Files.writeString(f, text.replaceAll("(?m)^QUERY_BLOCK=.*$", ""));
        assertThat(JavaTuner.stored(lanes)).isEmpty();
        assertThat(JavaKernels.select().params()).isEqualTo(JavaParams.defaults(lanes));
    }

    /** Kernels whose scores are 1e-3 too large: a bug the tolerance cannot miss. */
    private static final class OffByALittle implements Kernels {
        private final Kernels k;

        OffByALittle(Kernels k) {
            this.k = k;
        }

        @Override
        public JavaParams params() {
            return k.params();
        }

        @Override
        public String path() {
            return k.path();
        }

        @Override
        public int lanes() {
            return k.lanes();
        }

        @Override
        public int panelWidth() {
            return k.panelWidth();
        }

        @Override
        public int keyStep() {
            return k.keyStep();
        }

        @Override
        public int keyStride(int m) {
            return k.keyStride(m);
        }

        @Override
        public void project(float[] a, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out) {
            k.project(a, r0, r1, w, p0, p1, out);
        }

        @Override
        public void scores(float[] qt, int qOff, int rows, float[] kt, int ktOff, int ldkt, int dk, int width,
                           float scale, float[] s, int lds) {
            k.scores(qt, qOff, rows, kt, ktOff, ldkt, dk, width, scale, s, lds);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < width; j++) {
                    s[r * lds + j] += 1e-3f * (j % 7);
                }
            }
        }

        @Override
        public float biasMaskMax(float[] s, int sOff, int from, int visible, int width, float[] bias, int biasOff) {
            return k.biasMaskMax(s, sOff, from, visible, width, bias, biasOff);
        }

        @Override
        public boolean expAndSum(float[] s, int sOff, int width, float shift, float limit, float[] sums,
                                 int sumsOff) {
            return k.expAndSum(s, sOff, width, shift, limit, sums, sumsOff);
        }

        @Override
        public void scaleInto(float[] src, int sOff, float[] dst, int dOff, int length, float factor) {
            k.scaleInto(src, sOff, dst, dOff, length, factor);
        }

        @Override
        public void weightedValues(float[] p, int pOff, int ldp, int rows, int keys, float[] v, int vOff, int ldv,
                                   int width, float[] o, int oOff, int ldo) {
            k.weightedValues(p, pOff, ldp, rows, keys, v, vOff, ldv, width, o, oOff, ldo);
        }

        @Override
        public void exp(float[] src, int sOff, float[] dst, int dOff, int length) {
            k.exp(src, sOff, dst, dOff, length);
        }
    }
}
