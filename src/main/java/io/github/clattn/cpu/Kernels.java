package io.github.clattn.cpu;

/**
 * The inner loops of the Java path, in a vectorized ({@code VectorKernels}) and a scalar
 * ({@link ScalarKernels}) form. The tiling, masking and online softmax live in
 * {@link AttentionPass} and {@link JavaAttention}; a kernel only sees dense, in-bounds ranges.
 *
 * <p>Every padded length is a multiple of {@link #lanes()}: a kernel may read and write whole
 * vectors up to it. Each output element is produced by one fixed sequence of operations (dot
 * products and sums in ascending index order), whichever rows are grouped together, so results
 * do not depend on how work is split. Implementations are stateless and thread-safe.
 */
interface Kernels {
    /** Most query rows one {@link #scores} or {@link #weightedValues} call takes. */
    int ROW_BLOCK = 8;

    /** The name {@link io.github.clattn.AttentionOutput#path()} reports, e.g. {@code java-vector}. */
    String path();

    /** The tunable parameters these kernels run with (the scalar kernels: always the defaults). */
    default JavaParams params() {
        return JavaParams.DEFAULT;
    }

    /** These kernels with {@code params} (the scalar kernels ignore them and return themselves). */
    default Kernels withParams(JavaParams params) {
        return this;
    }

    /**
     * The kernels to run attention passes whose keys span more than one key block with: the same
     * computation, bit for bit. The scalar kernels return themselves; the Vector API kernels return
     * a separately compiled copy of their class (see {@code VectorKernels#manyBlocks}).
     */
    default Kernels manyBlocks() {
        return this;
    }

    /**
     * As {@link #manyBlocks()}, for the attention passes whose keys fit in one key block: another
     * copy, compiled apart from that one and from these kernels.
     */
    default Kernels oneBlock() {
        return this;
    }

    /**
     * Counts one attention pass run on these kernels ({@link BoxedKernelWatch}): {@code boxed} when it
     * allocated like kernels compiled with their vectors boxed. Returns how long (nanoseconds, from
     * {@code nanoTime}) the passes have been boxed without a break, once there were at least
     * {@link BoxedKernelWatch#MIN_STREAK} of them in a row, else 0. The scalar kernels never box: 0.
     */
    default long boxedPass(boolean boxed, long nanoTime) {
        return 0;
    }

    /**
     * Replaces {@code current}, what {@link #manyBlocks()} or {@link #oneBlock()} returned, by a
     * freshly defined copy that the JIT compiles anew; false when {@code current} was already
     * replaced, or no copy can be made (the scalar kernels, the replacement limit reached).
     */
    default boolean renewCopy(Kernels current) {
        return false;
    }

    /** Floats per vector (1 for the scalar kernels): the unit of every padded length. */
    int lanes();

    /** Columns per packed weight panel ({@link PackedMatrix}). */
    int panelWidth();

    /** The multiple every score width is rounded up to (the keys of one register block). */
    int keyStep();

    /**
     * Row length of {@code Kᵀ} for {@code m} keys: at least {@code m} rounded up to
     * {@link #keyStep()}, so whole register blocks of keys can be read past the last key.
     */
    int keyStride(int m);

    /**
     * Projection block: {@code C[r] = A[r] · W + bias} for rows {@code [r0, r1)} and the columns of
     * panels {@code [p0, p1)}, with {@code a [rows, w.inner]} row-major; each element is the bias
     * plus the products in ascending k.
     */
    void project(float[] a, int r0, int r1, PackedMatrix w, int p0, int p1, ProjectionTarget out);

    /**
     * Several projections of the same rows {@code [r0, r1)} of {@code a}: every panel of {@code ws[i]}
     * into {@code outs[i]}, each element as {@link #project} computes it. Kernels that prepare the
     * rows first prepare them once for all.
     */
    default void projectEach(float[] a, int r0, int r1, PackedMatrix[] ws, ProjectionTarget[] outs) {
        for (int i = 0; i < ws.length; i++) {
            project(a, r0, r1, ws[i], 0, ws[i].panels, outs[i]);
        }
    }

    /**
     * Scaled scores of up to {@value #ROW_BLOCK} queries against {@code width} consecutive keys
     * ({@code width} a multiple of {@link #keyStep()}), with the queries transposed in a group of
     * {@value #ROW_BLOCK} (query r's channel c at {@code qt[qOff + c*ROW_BLOCK + r]};
     * {@link PackedMatrix#transpose}):
     * {@code s[r*lds + j] = scale * Σ_c qt[qOff + c*ROW_BLOCK + r] · kt[ktOff + c*ldkt + j]}, c ascending.
     */
    void scores(float[] qt, int qOff, int rows, float[] kt, int ktOff, int ldkt, int dk, int width,
                float scale, float[] s, int lds);

    /**
     * Adds {@code bias[biasOff + j]} (when bias is non-null) to {@code s[sOff + j]} for the visible
     * keys {@code from <= j < visible}, sets {@code s[sOff + j] = -∞} for {@code j < from} and
     * {@code visible <= j < width}, and returns the maximum of {@code s[sOff .. sOff+width)}.
     */
    float biasMaskMax(float[] s, int sOff, int from, int visible, int width, float[] bias, int biasOff);

    /**
     * The score modifiers before the bias, for {@code j < width}: softcap
     * {@code s = cap·tanh(s/cap)} when {@code cap > 0}, then ALiBi {@code s -= slope·|pos0 - j|} when
     * {@code slope != 0} ({@code pos0} is the query's position minus the first key's).
     * One scalar pass for both kernel sets (FastExp's tanh): a modifier costs one exp per score,
     * small beside the dk multiply-adds that made the score, and both sets give the same bits.
     */
    default void softcapAlibi(float[] s, int sOff, int width, float cap, float slope, int pos0) {
        for (int j = 0; j < width; j++) {
            float x = s[sOff + j];
            if (cap > 0) {
                x = cap * FastExp.tanh(x / cap);
            }
            s[sOff + j] = x - slope * Math.abs(pos0 - j);
        }
    }

    /**
     * {@code s[sOff + j] = p_j = exp(s[sOff + j] - shift)} for {@code j < width}, a multiple of
     * {@link #keyStep()} ({@code -∞} gives 0), added to the {@link #lanes()} partial sums
     * {@code sums[sumsOff ..]}: {@code p_j} goes to lane {@code j mod lanes()}, in ascending j. The
     * caller adds the lanes up once, in order.
     *
     * <p>Returns false, with the sums left unchanged (s is overwritten all the same), when some
     * {@code x_j = s_j - shift} lies above {@code limit} (a float {@code >= 0}): precisely, when the
     * raw bits of some {@code x_j}, read as an int, exceed those of {@code limit}, which also holds
     * for {@code x_j = +∞} and for a NaN with a clear sign bit. With {@code limit = +∞} it always
     * returns true and adds; then every {@code x_j} must be {@code <= 88}, as it is when the shift
     * is at least the largest score.
     */
    boolean expAndSum(float[] s, int sOff, int width, float shift, float limit, float[] sums, int sumsOff);

    /**
     * {@code dst[dOff + c] = src[sOff + c] * factor} for {@code c < length}, any length, in place
     * when {@code dst == src} and the offsets agree (a normalised output row, or the rescale of a
     * row's sums and output: the same single rounding in every implementation).
     */
    void scaleInto(float[] src, int sOff, float[] dst, int dOff, int length, float factor);

    /**
     * Weighted values of up to {@value #ROW_BLOCK} queries over the same {@code keys} keys:
     * {@code o[oOff + r*ldo + c] += Σ_j p[pOff + r*ldp + j] · v[vOff + j*ldv + c]} for
     * {@code c < width} ({@code width} a multiple of {@link #lanes()}), j ascending, one
     * multiply-add at a time.
     */
    void weightedValues(float[] p, int pOff, int ldp, int rows, int keys, float[] v, int vOff, int ldv, int width,
                        float[] o, int oOff, int ldo);

    /** {@code exp(x)} elementwise for {@code x <= 88}: {@code dst[dOff + i] = exp(src[sOff + i])}, {@code i < length}. */
    void exp(float[] src, int sOff, float[] dst, int dOff, int length);
}
