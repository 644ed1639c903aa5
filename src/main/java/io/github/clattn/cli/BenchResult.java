package io.github.clattn.cli;

import io.github.clattn.Device;
import io.github.clattn.core.Warmup;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One (device, size) point of {@code clattn bench}: its sizes, timings, check and where it ran.
 * Times are in milliseconds; {@code stageMs} is empty where the device reports no kernel times
 * (the Java path). {@code cpuBusy}: on the Java path, the share of its threads' time spent on a CPU during
 * the timed calls ({@link io.github.clattn.core.ThreadCpu}; NaN on OpenCL devices and where unknown). A point that
 * failed has {@code error} set and no timings.
 */
record BenchResult(Device device, BenchRunner.Size size, BenchRunner.Settings settings, int batch, int dModel, int heads, boolean causal,
                   boolean outputProjection, double flops, double openMs, double buildMs, double firstCallMs,
                   double medianMs, double minMs, double maxMs, Map<String, Double> stageMs, String path,
                   double maxAbsErr, double tolerance, int checkedRows, int warmup, int iterations, Warmup.Result warm,
                   double cpuBusy, String error) {

    double gflops() {
        return flops / (medianMs * 1e6);
    }

    boolean failed() {
        return error != null;
    }

    /** The check passed: the error is finite and within the conformance tolerance. */
    boolean checkPassed() {
        return !failed() && maxAbsErr <= tolerance;
    }

    int headDim() {
        return dModel / heads;
    }

    /** The JSON object: the fields the issue lists, then the extras, in a stable order. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("device", device.name());
        m.put("spec", device.spec());
        m.put("device_type", device.isJava() ? "java" : device.type().name().toLowerCase(Locale.ROOT));
        m.put("batch", batch);
        m.put("seq", size.seq());
        m.put("context_len", size.contextLen());
        m.put("d_model", dModel);
        m.put("heads", heads);
        m.put("kv_heads", settings.kvHeads());
        m.put("head_dim", headDim());
        m.put("rope_theta", settings.ropeTheta());
        m.put("causal", causal);
        settings.extras().putJson(m);
        m.put("output_projection", outputProjection);
        m.put("median_ms", failed() ? null : Json.round(medianMs, 5));
        m.put("min_ms", failed() ? null : Json.round(minMs, 5));
        m.put("max_ms", failed() ? null : Json.round(maxMs, 5));
        m.put("gflops", failed() ? null : Json.round(gflops(), 5));
        m.put("flops", flops);
        m.put("max_abs_err", failed() ? null : Json.round(maxAbsErr, 3));
        m.put("tolerance", Json.round(tolerance, 3));
        m.put("check_passed", checkPassed());
        m.put("checked_rows", checkedRows);
        m.put("path", path);
        Map<String, Object> stages = null;
        if (!stageMs.isEmpty()) {
            stages = new LinkedHashMap<>();
            for (Map.Entry<String, Double> e : stageMs.entrySet()) {
                stages.put(e.getKey(), Json.round(e.getValue(), 4));
            }
        }
        m.put("stage_ms", stages);
        m.put("open_ms", Json.round(openMs, 4));
        m.put("build_ms", Json.round(buildMs, 4));
        m.put("first_call_ms", failed() ? null : Json.round(firstCallMs, 4));
        m.put("warmup", warmup);
        m.put("warmup_calls", warm.calls());
        m.put("warmup_ms", Json.round(warm.millis(), 4));
        m.put("warmup_settled", warm.settled());
        m.put("iterations", iterations);
        m.put("cpu_busy", failed() || Double.isNaN(cpuBusy) ? null : Json.round(cpuBusy, 3));
        m.put("error", error);
        return m;
    }
}
