package io.github.clattn.cpu;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The tunable parameters of the Java path ({@link JavaTuner} measures them per CPU):
 *
 * <pre>
 *   GEMM_ROWS    rows of the register block of the projection and score kernels: 8 rows × 2 vectors
 *                hold 16 accumulators, which fit AVX-512's 32 vector registers but not AVX2's 16
 *   PV_ROWS      rows of the weighted-values block: 4 or 2 rows × 4 vectors of channels, or 8 rows × 2
 *                vectors (16 accumulators, and each key's values read once per 8 queries, not 4)
 *   KEY_BLOCK    keys per block of the online softmax (a multiple of every kernel's key step)
 *   QUERY_BLOCK  queries per attention task
 * </pre>
 *
 * Every value of every parameter computes the same attention (the float64 reference decides, within
 * the conformance tolerance); the bits may differ, since the key block sets where the online
 * softmax rescales.
 *
 * @param gemmRows   register rows of the projection and score blocks
 * @param pvRows     register rows of the weighted-values block
 * @param keyBlock   keys per online-softmax block
 * @param queryBlock queries per attention task
 */
record JavaParams(int gemmRows, int pvRows, int keyBlock, int queryBlock) {
    static final String GEMM_ROWS = "GEMM_ROWS";
    static final String PV_ROWS = "PV_ROWS";
    static final String KEY_BLOCK = "KEY_BLOCK";
    static final String QUERY_BLOCK = "QUERY_BLOCK";

    /** Each parameter's allowed values, in the order the tuner tries them (the default first). */
    static final Map<String, List<Integer>> ALLOWED = allowed();

    private static Map<String, List<Integer>> allowed() {
        Map<String, List<Integer>> m = new LinkedHashMap<>();
        m.put(GEMM_ROWS, List.of(8, 4));
        m.put(PV_ROWS, List.of(4, 2, 8));
        m.put(KEY_BLOCK, List.of(256, 128, 512));
        m.put(QUERY_BLOCK, List.of(64, 32, 128));
        return Collections.unmodifiableMap(m);
    }

    /** The parameters of a CPU with no tuning file (see {@link #defaults(int)}). */
    static final JavaParams DEFAULT = new JavaParams(8, 4, 256, 64);

    JavaParams {
        check(GEMM_ROWS, gemmRows);
        check(PV_ROWS, pvRows);
        check(KEY_BLOCK, keyBlock);
        check(QUERY_BLOCK, queryBlock);
    }

    private static void check(String name, int value) {
        if (!ALLOWED.get(name).contains(value)) {
            throw new IllegalArgumentException(name + ": expected one of " + ALLOWED.get(name) + ", got " + value);
        }
    }

    /**
     * The parameters without tuning, for vectors of {@code lanes} floats: {@link #DEFAULT} with 16
     * lanes (AVX-512 has 32 vector registers); with fewer lanes (AVX2: 16 registers) projection and
     * score blocks of 4 rows, whose 8 accumulators do not spill there. Measured on a Zen 5 limited
     * to AVX2 ({@code -XX:UseAVX=2}), N = 1024 and 2048, D 512, H 8: projections 1.35 times
     * faster, attention 4 % faster; PV_ROWS=2 was no better there, so it stays at 4.
     */
    static JavaParams defaults(int lanes) {
        return lanes >= 16 ? DEFAULT : DEFAULT.with(GEMM_ROWS, 4);
    }

    /** Name to value, in the order of {@link #ALLOWED}. */
    Map<String, Integer> values() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(GEMM_ROWS, gemmRows);
        m.put(PV_ROWS, pvRows);
        m.put(KEY_BLOCK, keyBlock);
        m.put(QUERY_BLOCK, queryBlock);
        return m;
    }

    /** A copy with {@code name} set to {@code value}. */
    JavaParams with(String name, int value) {
        Map<String, Integer> m = values();
        if (!m.containsKey(name)) {
            throw new IllegalArgumentException("parameter: expected one of " + m.keySet() + ", got " + name);
        }
        m.put(name, value);
        return of(m);
    }

    /** The parameters of a complete name-to-value map. */
    static JavaParams of(Map<String, Integer> values) {
        for (String name : ALLOWED.keySet()) {
            if (!values.containsKey(name)) {
                throw new IllegalArgumentException(name + ": missing");
            }
        }
        return new JavaParams(values.get(GEMM_ROWS), values.get(PV_ROWS), values.get(KEY_BLOCK),
                values.get(QUERY_BLOCK));
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(" ");
        values().forEach((k, v) -> j.add(k + "=" + v));
        return j.toString();
    }
}
