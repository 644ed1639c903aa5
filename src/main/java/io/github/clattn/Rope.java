package io.github.clattn;

import java.util.Locale;

/**
 * Rotary position embedding, applied to each head's queries and keys after their projections
 * (and biases), before the scores; values are never rotated. Channel pair {@code c} (of
 * {@code r/2}, where {@code r} is the number of rotated channels) turns by the angle
 * {@code a = position · theta^(-2c/r)}: {@code (u, w) → (u·cos a − w·sin a, u·sin a + w·cos a)}.
 * Query row {@code i} is at position {@code i + (M − N)} (bottom-right aligned, as the causal rule),
 * key {@code j} at {@code j}; in a {@link KvCache} a token's position is its index in its sequence.
 *
 * @param theta the base, e.g. 10000 (Llama 2) or 500000 (Llama 3); finite and greater than 1
 * @param dims  channels rotated per head, even; 0 means the whole head ({@code dk})
 * @param style which channels pair up
 */
public record Rope(double theta, int dims, Style style) {
    /** Which channels of a head form a rotated pair. */
    public enum Style {
        /** Pairs {@code (c, c + r/2)}: GPT-NeoX, Llama, Mistral, Qwen (Hugging Face's rotate_half). */
        NEOX,
        /** Pairs {@code (2c, 2c + 1)}: GPT-J, the original RoFormer, llama.cpp's "normal" mode. */
        GPTJ;

        /** {@return {@code neox} or {@code gptj}, as the command line spells it} */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * {@return the style named {@code neox} or {@code gptj} (any case, surrounding spaces ignored)}
         *
         * @param text the name
         * @throws IllegalArgumentException the name is neither
         */
        public static Style parse(String text) {
            switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "neox":
                    return NEOX;
                case "gptj":
                    return GPTJ;
                default:
                    throw new IllegalArgumentException("rope style: expected neox or gptj, got '" + text + "'");
            }
        }
    }

    /**
     * Checks the components.
     *
     * @param theta the base, e.g. 10000 (Llama 2) or 500000 (Llama 3); finite and greater than 1
     * @param dims  channels rotated per head, even; 0 means the whole head ({@code dk})
     * @param style which channels pair up
     * @throws IllegalArgumentException {@code theta} is not a finite number greater than 1,
     *                                  {@code dims} is negative or odd, or {@code style} is null
     */
    public Rope {
        if (!(theta > 1) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("rope theta: expected a finite number > 1, got " + theta);
        }
        if (dims < 0 || dims % 2 != 0) {
            throw new IllegalArgumentException("rope_dim: expected an even number of channels >= 0 (0: the whole head), got "
                    + dims);
        }
        if (style == null) {
            throw new IllegalArgumentException("rope style: expected NEOX or GPTJ, got null");
        }
    }

    /**
     * {@return a rotation of every channel, pairs {@code (c, c + dk/2)}}
     *
     * @param theta the base, finite and greater than 1
     * @throws IllegalArgumentException {@code theta} is out of range
     */
    public static Rope neox(double theta) {
        return new Rope(theta, 0, Style.NEOX);
    }

    /**
     * {@return a rotation of every channel, pairs {@code (2c, 2c + 1)}}
     *
     * @param theta the base, finite and greater than 1
     * @throws IllegalArgumentException {@code theta} is out of range
     */
    public static Rope gptj(double theta) {
        return new Rope(theta, 0, Style.GPTJ);
    }

    /**
     * {@return the same rotation on the first {@code rotated} channels of each head only (partial
     * rotary)}
     *
     * @param rotated channels rotated per head, even; 0 for the whole head
     * @throws IllegalArgumentException {@code rotated} is negative or odd
     */
    public Rope withDims(int rotated) {
        return new Rope(theta, rotated, style);
    }

    /**
     * {@return the channels r rotated in a head of {@code headDim}}
     *
     * @param headDim the head width dk
     * @throws IllegalArgumentException {@link #dims()} is wider than dk, or it is 0 and dk is odd
     */
    public int rotatedDims(int headDim) {
        if (dims > headDim) {
            throw new IllegalArgumentException("rope_dim: expected an even number <= dk = " + headDim + ", got " + dims);
        }
        int r = dims == 0 ? headDim : dims;
        if (r % 2 != 0) {
            throw new IllegalArgumentException("rope_dim: the whole head dk = " + headDim
                    + " is odd; give an even rope_dim <= dk");
        }
        return r;
    }
}
