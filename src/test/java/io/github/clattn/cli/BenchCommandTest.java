package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import io.github.clattn.TestJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clattn bench} on tiny sizes: the shape of its JSON, CSV and table, the FLOP count, the
 * float64 check, the chart files and its errors. It asserts what the output says, never how
 * fast anything ran.
 */
class BenchCommandTest {
    private static final String[] TINY = {"bench", "--seq", "8,20", "--d-model", "16", "--heads", "2", "--warmup", "1",
        "--iterations", "3"};

    @TempDir
    Path tmp;

    private static String[] tiny(String... more) {
        String[] args = Arrays.copyOf(TINY, TINY.length + more.length + 4);
        System.arraycopy(more, 0, args, TINY.length, more.length);
        args[TINY.length + more.length] = "--device";
        args[TINY.length + more.length + 1] = TestDevices.openCl().spec();
        args[TINY.length + more.length + 2] = "--device";
        args[TINY.length + more.length + 3] = "cpu";
        return args;
    }

    @Test
    void jsonHasAnObjectPerDeviceAndSizeWithTheIssuesFields() {
        Device openCl = TestDevices.openCl();
        Cli.Result r = Cli.run(tiny("--json"));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.err()).as("no progress bar when stderr is not a terminal").isEmpty();
        List<Map<String, Object>> points = TestJson.parseArrayOfObjects(r.out());
        assertThat(points).hasSize(4);
        assertThat(points).extracting(p -> p.get("spec")).containsExactly(openCl.spec(), openCl.spec(), "java", "java");
        assertThat(points).extracting(p -> p.get("seq")).containsExactly(8.0, 20.0, 8.0, 20.0);
        for (Map<String, Object> p : points) {
            String where = p.get("spec") + " N=" + p.get("seq");
            assertThat(p).as(where).containsKeys("device", "batch", "seq", "context_len", "d_model", "heads", "causal",
                    "median_ms", "min_ms", "max_ms", "gflops", "max_abs_err", "path", "stage_ms", "build_ms",
                    "first_call_ms", "spec", "tolerance", "checked_rows", "flops");
            assertThat(p).containsEntry("batch", 1.0).containsEntry("d_model", 16.0).containsEntry("heads", 2.0)
                    .containsEntry("causal", false).containsEntry("context_len", p.get("seq")).containsEntry("error", null);
            double min = (Double) p.get("min_ms");
            double median = (Double) p.get("median_ms");
            double max = (Double) p.get("max_ms");
            assertThat(min).as(where).isPositive().isLessThanOrEqualTo(median);
            assertThat(median).as(where).isLessThanOrEqualTo(max);
            double n = (Double) p.get("seq");
            double flops = 2 * 1 * (n + 2 * n) * 16 * 16 + 4 * 1 * 2 * n * n * 8;
            assertThat((Double) p.get("flops")).as(where + " FLOPs as the issue counts them").isEqualTo(flops);
            assertThat((Double) p.get("gflops")).as(where).isCloseTo(flops / (median * 1e6), within(flops / (median * 1e6) * 1e-3));
            assertThat((Double) p.get("max_abs_err")).as(where + " checked against float64").isLessThanOrEqualTo(2e-5);
            assertThat(p).containsEntry("check_passed", true);
            assertThat((Double) p.get("checked_rows")).as(where + ": 8 rows are all checked, 20 are sampled")
                    .isEqualTo(n == 8 ? 8.0 : 16.0);
            assertThat((Double) p.get("first_call_ms")).isPositive();
            if (p.get("spec").equals("java")) {
                assertThat((Double) p.get("cpu_busy")).as(where + ": the share of its threads' time on a CPU")
                        .isPositive().isLessThan(4.0);
            } else {
                assertThat(p).as(where + ": a driver's threads are not counted").containsEntry("cpu_busy", null);
            }
        }
        Map<String, Object> cl = points.get(0);
        assertThat((String) cl.get("path")).startsWith("opencl-fused-");
        assertThat(cl).containsEntry("device", openCl.name());
        @SuppressWarnings("unchecked")
        Map<String, Object> stages = (Map<String, Object>) cl.get("stage_ms");
        assertThat(stages).containsKeys("projection", "attention");
        stages.values().forEach(v -> assertThat((Double) v).isGreaterThanOrEqualTo(0));
        assertThat((Double) cl.get("build_ms")).isGreaterThanOrEqualTo(0);
        Map<String, Object> java = points.get(2);
        assertThat((String) java.get("path")).isIn("java-vector", "java-scalar");
        assertThat(java).containsEntry("build_ms", 0.0);
    }

    @Test
    void decodeStepsSayTheirTokensBytesAndCheck() {
        Cli.Result r = Cli.run("bench", "--device", "cpu", "--decode", "--context-len", "16,40", "--d-model", "32",
                "--heads", "4", "--kv-heads", "2", "--warmup", "0", "--iterations", "2", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        List<Map<String, Object>> points = TestJson.parseArrayOfObjects(r.out());
        assertThat(points).extracting(p -> p.get("context_len")).containsExactly(16.0, 40.0);
        for (Map<String, Object> p : points) {
            String where = "decode M=" + p.get("context_len");
            assertThat(p).as(where).containsEntry("mode", "decode").containsEntry("kv_heads", 2.0)
                    .containsEntry("head_dim", 8.0).containsEntry("check_passed", true).containsEntry("error", null);
            double median = (Double) p.get("median_ms");
            assertThat((Double) p.get("tokens_per_s")).as(where + ": one token per step at batch 1")
                    .isCloseTo(1e3 / median, within(1e3 / median * 1e-3));
            assertThat((Double) p.get("max_abs_err")).as(where).isLessThanOrEqualTo((Double) p.get("tolerance"));
            assertThat((Double) p.get("bytes_per_step")).as(where + ": weights and the cache it reads").isPositive();
            assertThat((Double) p.get("cache_bytes")).as(where).isPositive();
            assertThat((Double) p.get("cpu_busy")).as(where).isPositive().isLessThan(4.0);
        }
        assertThat((Double) points.get(1).get("bytes_per_step")).as("a longer context reads more")
                .isGreaterThan((Double) points.get(0).get("bytes_per_step"));
    }

    @Test
    void prefillPointsCountEveryPromptToken() {
        Cli.Result r = Cli.run("bench", "--device", "cpu", "--prefill-chunk", "8", "--context-len", "20", "--d-model",
                "32", "--heads", "4", "--kv-heads", "2", "--warmup", "0", "--iterations", "2", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        Map<String, Object> p = TestJson.parseArrayOfObjects(r.out()).get(0);
        assertThat(p).containsEntry("mode", "prefill").containsEntry("prefill_chunk", 8.0)
                .containsEntry("context_len", 20.0).containsEntry("error", null);
        double median = (Double) p.get("median_ms");
        assertThat((Double) p.get("tokens_per_s")).as("20 prompt tokens per timed call")
                .isCloseTo(20e3 / median, within(20e3 / median * 1e-3));
        assertThat((Double) p.get("cpu_busy")).isPositive().isLessThan(4.0);
    }

    @Test
    void crossAttentionCausalWithOutputProjectionCountsEveryFlop() {
        Cli.Result r = Cli.run("bench", "--device", "cpu", "--seq", "4", "--context-len", "12", "--d-model", "24",
                "--heads", "3", "--batch", "2", "--causal", "--output-projection", "--warmup", "0", "--iterations", "1",
                "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        Map<String, Object> p = TestJson.parseArrayOfObjects(r.out()).get(0);
        double b = 2;
        double n = 4;
        double m = 12;
        double d = 24;
        double h = 3;
        double dk = 8;
        double expected = 2 * b * (n + 2 * m) * d * h * dk + 4 * b * h * n * m * dk + 2 * b * n * h * dk * d;
        assertThat(p).containsEntry("flops", expected).containsEntry("context_len", 12.0).containsEntry("seq", 4.0)
                .containsEntry("causal", true).containsEntry("batch", 2.0).containsEntry("output_projection", true)
                .containsEntry("check_passed", true);
        assertThat((Double) p.get("checked_rows")).isEqualTo(8.0);
    }

    @Test
    void csvHasAHeaderAndOneRowPerPoint() {
        Cli.Result r = Cli.run(tiny("--csv"));
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(5);
        List<String> header = Arrays.asList(lines.get(0).split(",", -1));
        assertThat(header).contains("device", "seq", "context_len", "median_ms", "min_ms", "max_ms", "gflops",
                "max_abs_err", "path", "build_ms", "first_call_ms", "stage_projection_ms", "stage_attention_ms");
        for (String line : lines.subList(1, 5)) {
            String[] cells = line.split(",", -1);
            assertThat(cells).as(line).hasSize(header.size());
            assertThat(Double.parseDouble(cells[header.indexOf("median_ms")])).isPositive();
        }
        String openClRow = lines.get(1);
        assertThat(Double.parseDouble(openClRow.split(",", -1)[header.indexOf("stage_attention_ms")]))
                .as("OpenCL kernel time of the attention stage").isPositive();
    }

    @Test
    void tableIsAlignedWithAHeaderAndOneRowPerPoint() {
        Device openCl = TestDevices.openCl();
        Cli.Result r = Cli.run(tiny());
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).contains("batch 1", "d_model 16", "2 heads of 8", "self-attention");
        int header = 0;
        while (!lines.get(header).startsWith("device")) {
            header++;
        }
        assertThat(lines.get(header)).contains("median ms", "min ms", "max ms", "GFLOP/s", "max|err|", "build ms",
                "CPU busy", "path");
        List<String> rows = lines.subList(header + 1, lines.size());
        assertThat(rows).hasSize(4);
        assertThat(rows.get(0)).startsWith(openCl.spec()).contains("opencl-fused-", "projection", "attention");
        assertThat(rows.get(3)).startsWith("java").containsPattern(" java-(vector|scalar) ");
        int gflopsColumn = lines.get(header).indexOf("GFLOP/s") + "GFLOP/s".length();
        int busyColumn = lines.get(header).indexOf("CPU busy") + "CPU busy".length();
        for (String row : rows) {
            assertThat(row.charAt(gflopsColumn - 1)).as("right-aligned numbers: " + row).isNotEqualTo(' ');
            assertThat(row.charAt(busyColumn - 1)).as("CPU busy: a percentage on the Java path, - on OpenCL: " + row)
                    .isEqualTo(row.startsWith("java") ? '%' : '-');
        }
    }

    @Test
    void plotWritesPngAndSvg() throws IOException {
        Path png = tmp.resolve("bench.png");
        Cli.Result r = Cli.run(tiny("--plot", png.toString()));
        assertThat(r.exit()).as(r.toString()).isZero();
        byte[] bytes = Files.readAllBytes(png);
        assertThat(Arrays.copyOf(bytes, 4)).containsExactly(0x89, 'P', 'N', 'G');
        assertThat(javax.imageio.ImageIO.read(png.toFile()).getWidth()).isEqualTo(900);
        assertThat(r.out()).contains("chart: " + png);

        Path svg = tmp.resolve("bench.svg");
        Cli.Result s = Cli.run(tiny("--json", "--plot", svg.toString()));
        assertThat(s.exit()).as(s.toString()).isZero();
        String text = Files.readString(svg, StandardCharsets.UTF_8);
        assertThat(text).contains("<svg").contains("</svg>");
        assertThat(TestJson.parseArrayOfObjects(s.out())).as("stdout stays pure JSON with --plot").hasSize(4);
        assertThat(RunCommandTest.leftovers(tmp)).isEmpty();
    }

    @Test
    void progressBarOnlyWhenStderrIsATerminal() {
        String before = System.getProperty("clattn.stderr.tty");
        try {
            System.setProperty("clattn.stderr.tty", "true");
            Cli.Result r = Cli.run(tiny("--json"));
            assertThat(r.exit()).isZero();
            assertThat(r.err()).contains("\r", "[#", "java N=20: timing").endsWith("\r\033[K"); // erased at the end
            assertThat(r.out()).doesNotContain("\r").doesNotContain("[#");
            TestJson.parseArrayOfObjects(r.out());
        } finally {
            if (before == null) {
                System.clearProperty("clattn.stderr.tty");
            } else {
                System.setProperty("clattn.stderr.tty", before);
            }
        }
    }

    @Test
    void repeatedDevicesAreTimedOnce() {
        Cli.Result r = Cli.run("bench", "--device", "cpu", "--device", "java", "--seq", "4", "--d-model", "8",
                "--heads", "1", "--warmup", "0", "--iterations", "1", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(TestJson.parseArrayOfObjects(r.out())).hasSize(1);
    }

    @Test
    void badOptionsAreUsageErrors() {
        expectUsage(new String[] {"bench", "--device", "no-such-device"}, "--device no-such-device", "no device matches");
        expectUsage(new String[] {"bench", "--d-model", "100", "--heads", "8"}, "--d-model 100", "multiple of --heads 8");
        expectUsage(new String[] {"bench", "--seq", "8,0"}, "--seq", "positive");
        expectUsage(new String[] {"bench", "--seq", "8,x"}, "--seq", "x");
        expectUsage(new String[] {"bench", "--iterations", "0"}, "--iterations", "positive");
        expectUsage(new String[] {"bench", "--json", "--csv"}, "--json", "--csv", "mutually exclusive");
        expectUsage(new String[] {"bench", "--plot", tmp.resolve("chart.gif").toString()}, "--plot", ".png or .svg");
        expectUsage(new String[] {"bench", "--plot", tmp.resolve("none/chart.png").toString()}, "--plot", "does not exist");
        // D*D overflowed an int at D 46341-65535 (NegativeArraySizeException) and wrapped above
        expectUsage(new String[] {"bench", "--seq", "1", "--d-model", "50000", "--heads", "1"}, "--d-model 50000",
                "D*D", "more than a Java array holds");
        expectUsage(new String[] {"bench", "--decode", "--d-model", "70000", "--heads", "1", "--kv-heads", "1"},
                "--d-model 70000", "D*D");
        expectUsage(new String[] {"bench", "--decode", "--seq", "16"}, "--seq", "not used with --decode");
        expectUsage(new String[] {"bench", "--prefill-chunk", "8", "--seq", "16"}, "--seq", "--context-len");
    }

    private static void expectUsage(String[] args, String... fragments) {
        Cli.Result r = Cli.run(args);
        assertThat(r.exit()).as(r.toString()).isEqualTo(2);
        assertThat(r.errLines()).as(r.toString()).hasSize(1);
        assertThat(r.err()).as(r.toString()).startsWith("clattn bench: ").contains(fragments);
        assertThat(r.out()).as("nothing timed").isEmpty();
    }
}
