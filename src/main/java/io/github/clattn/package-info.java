/**
 * Multi-head scaled dot-product attention on OpenCL devices, with a pure-Java fallback.
 *
 * <p>For batch row b, query head h (reading K/V head {@code g = h / (H/Hkv)}), query row i and key j:
 *
 * <pre>
 *   Q = x·W_Q + b_q      K = ctx·W_K + b_k      V = ctx·W_V + b_v        (ctx = x unless cross-attention)
 *   Q, K rotated by RoPE when set: query row i at position p_i = i + (M − N), key j at j
 *   s_ij = scale · q_i·k_j   (scale = 1/sqrt(dk) by default), then softcap, + attn_bias[i, j], − ALiBi
 *   p_ij = softmax_j(s_ij) over the visible keys (a row with no visible key gives zeros, never NaN)
 *   heads_out_i = concat_h(Σ_j p_ij · v_j)          out_i = heads_out_i·W_O + b_O   (when W_O is given)
 * </pre>
 *
 * <p>Every tensor is a {@code float[]} in row-major (C) order, float32:
 *
 * <table class="striped">
 *   <caption>The contract (the conformance cases' names)</caption>
 *   <thead><tr><th scope="col">name</th><th scope="col">shape</th><th scope="col">meaning</th></tr></thead>
 *   <tbody>
 *   <tr><td>{@code x}</td><td>{@code [B, N, D]}</td><td>queries' embeddings (self-attention: also keys and values)</td></tr>
 *   <tr><td>{@code context}</td><td>{@code [B, M, D]}</td><td>keys' and values' embeddings for cross-attention;
 *       absent: M = N, context = x</td></tr>
 *   <tr><td>{@code w_q}; {@code w_k}, {@code w_v}</td><td>{@code [D, H*dk]}; {@code [D, Hkv*dk]}</td><td>applied as
 *       {@code x @ w}; head h owns columns {@code h*dk .. (h+1)*dk-1}; Hkv divides H</td></tr>
 *   <tr><td>{@code b_q}; {@code b_k}, {@code b_v}</td><td>{@code [H*dk]}; {@code [Hkv*dk]}</td><td>optional
 *       projection biases</td></tr>
 *   <tr><td>{@code attn_bias}</td><td>{@code [N, M]}</td><td>optional, added to the scaled scores, shared by
 *       batch rows and heads</td></tr>
 *   <tr><td>causal</td><td></td><td>query i sees key j only if {@code j <= i + (M - N)} (bottom-right aligned, as
 *       when decoding with a cache)</td></tr>
 *   <tr><td>{@code key_valid_len}</td><td>{@code [B]}</td><td>keys {@code j >= key_valid_len[b]} are masked for
 *       batch row b</td></tr>
 *   <tr><td>window, softcap, ALiBi, sinks</td><td></td><td>see {@link io.github.clattn.AttentionOptions}</td></tr>
 *   <tr><td>{@code heads_out}</td><td>{@code [B, N, H*dk]}</td><td>the heads' outputs concatenated</td></tr>
 *   <tr><td>{@code w_o}, {@code b_o}</td><td>{@code [H*dk, D]}, {@code [D]}</td><td>optional output projection,
 *       {@code out = heads_out @ w_o + b_o}</td></tr>
 *   <tr><td>{@code weights}</td><td>{@code [B, H, N, M]}</td><td>the probabilities, when a call asks for them</td></tr>
 *   <tr><td>{@code lse}</td><td>{@code [B, H, N]}</td><td>each row's log-sum-exp, when asked for</td></tr>
 *   <tr><td>{@code key_mass}</td><td>{@code [B, H, M]}</td><td>{@code Σ_i p_ij}, the attention each key received,
 *       when asked for</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>Every result matches a float64 reference within {@code max|got − want| ≤ 2e-5·max(1, max|want|)}
 * ({@code heads_out}, {@code out}, {@code key_mass}), {@code 1e-5} ({@code weights}), and
 * {@code 2e-5·max(1, |want|)} elementwise ({@code lse}).
 *
 * <p>A layer, a forward call and one decode step with a KV cache:
 *
 * <pre>{@code
 * AttentionWeights weights = AttentionWeights.builder(512, 8, 64)   // D, H, dk
 *         .kvHeads(2)                                               // grouped-query: w_k, w_v [D, 2*64]
 *         .projections(wQ, wK, wV).outputProjection(wO, null)       // w_q [D, H*dk], w_o [H*dk, D]
 *         .build();
 * AttentionOptions options = AttentionOptions.causal(true).withRope(Rope.neox(10_000));
 * try (Attention layer = Attention.open(weights, options);           // the automatic device
 *      KvCache cache = layer.openCache(1, 4096)) {                   // 1 sequence of up to 4096 positions
 *     float[] out = layer.forward(AttentionInput.builder(x, 1, n).build()).result(); // x, out [1, n, D]
 *     cache.prefill(x, n);                                           // the prompt, positions 0 .. n-1
 *     AttentionOutput next = cache.decode(token);                    // token [1, 1, D] at position n
 *     System.out.println(layer.device() + " ran " + next.path());
 * }
 * }</pre>
 *
 * <p><b>The device.</b> {@link io.github.clattn.Devices#auto()} picks the first GPU, else
 * accelerator, else CPU OpenCL device, else the pure-Java path (on Linux, PoCL's devices only in a
 * JVM started with the JDK's {@code libjsig} preloaded, see {@link io.github.clattn.Devices}); the
 * system property
 * {@code clattn.device} or the environment variable {@code CLATTN_DEVICE} overrides it with a
 * spec ({@code java}, {@code opencl:1}, ...). When OpenCL is missing, or an automatically chosen
 * device fails, clattn logs a WARN through SLF4J and computes on the Java path; a device chosen
 * explicitly never falls back, it throws {@link io.github.clattn.ClattnException}.
 *
 * <p><b>Errors.</b> Bad arguments throw {@link java.lang.IllegalArgumentException} naming the argument
 * with the expected and actual values, before anything reaches a device; use after close throws
 * {@link java.lang.IllegalStateException}; device failures throw
 * {@link io.github.clattn.ClattnException}.
 *
 * <p><b>The JVM.</b> Start it with {@code --add-modules jdk.incubator.vector} (the Java path's
 * Vector API kernels) and, where PoCL compiles kernels in the process, with
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so}.
 */
package io.github.clattn;
