package io.github.clattn.core;

/**
 * Which key/value head a query head reads. With {@code kvHeads} K/V heads shared by {@code heads}
 * query heads ({@code heads % kvHeads == 0}), query head {@code h} uses K/V head
 * {@code h / (heads / kvHeads)}: consecutive groups, as PyTorch's {@code enable_gqa},
 * FlashAttention and llama.cpp. The same rule is {@code kv_head} in {@code kernels/common.cl}.
 */
public final class Heads {
    private Heads() {
    }

    /** The K/V head of query head {@code head}. */
    public static int kvHead(int head, int heads, int kvHeads) {
        return head / (heads / kvHeads);
    }
}
