package io.github.clattn.cpu;

/**
 * {@code exp} for float arguments from basic IEEE operations only, so the vector and scalar
 * kernels give the same bits in the interpreter and in compiled code (an intrinsic {@code exp}
 * may differ between the two, which would make results depend on JIT timing).
 *
 * <pre>
 *   x = n·ln2 + r,  n = round(x·log2 e),  |r| <= ln2/2         (ln2 split in two: Cody–Waite)
 *   exp(x) = 2^n · P(r),  P = Σ_{k<=7} r^k / k!                (truncation error < 6e-9 relative)
 * </pre>
 *
 * Rounding to an integer adds {@code 1.5·2^23} (then the low bits of the sum are n). Arguments
 * are clamped to {@code [-87.3, 88]} so 2^n stays a normal float; below {@value #LOWEST} the
 * result is 0 ({@code exp(-∞) = 0}), NaN stays NaN. Error about 1 ulp against {@link Math#exp}.
 */
final class FastExp {
    static final float LOWEST = -87.3f;
    static final float HIGHEST = 88f;
    static final float LOG2E = (float) (1 / Math.log(2));
    static final float MAGIC = 12582912f; // 1.5 * 2^23
    static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    static final float LN2_HI = 0.693359375f; // 355/512: n * LN2_HI is exact for |n| < 2^15
    static final float LN2_LO = (float) (Math.log(2) - 0.693359375);
    static final float C2 = 1f / 2;
    static final float C3 = 1f / 6;
    static final float C4 = 1f / 24;
    static final float C5 = 1f / 120;
    static final float C6 = 1f / 720;
    static final float C7 = 1f / 5040;

    private FastExp() {
    }

    /**
     * {@code tanh(x) = sign(x)·(1 - e)/(1 + e)} with {@code e = exp(-2|x|)} (no overflow: the
     * argument is never positive); a few ulp, the same bits as the vector kernels' softcap.
     */
    static float tanh(float x) {
        float e = exp(-2 * Math.abs(x));
        return Math.copySign((1 - e) / (1 + e), x);
    }

    /**
     * The int that {@code Float.floatToRawIntBits(x)} must not exceed for {@code x <= limit}
     * ({@code limit >= 0}; positive floats order as their bits do): no bound at all for
     * {@code limit = +∞}, so that not even a NaN exceeds it.
     */
    static int limitBits(float limit) {
        if (!(limit >= 0)) {
            throw new IllegalArgumentException("limit: expected a float >= 0, got " + limit);
        }
        return limit == Float.POSITIVE_INFINITY ? Integer.MAX_VALUE : Float.floatToRawIntBits(limit);
    }

    static float exp(float x) {
        float xc = Math.min(Math.max(x, LOWEST), HIGHEST);
        float t = Math.fma(xc, LOG2E, MAGIC);
        float n = t - MAGIC;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        float twoToN = Float.intBitsToFloat((Float.floatToRawIntBits(t) - MAGIC_BITS + 127) << 23);
        float e = p * twoToN;
        return x < LOWEST ? 0f : e;
    }
}
