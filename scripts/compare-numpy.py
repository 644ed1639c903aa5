#!/usr/bin/env python3
"""Compare `scripts/clattn bench --json` results with NumPy's float32 materialised attention.

Reads the JSON array that `clattn bench --json` prints (from a file, or stdin with `-`), runs the
NumPy baseline for every distinct shape in it, and prints a Markdown table with the speed ratio
(clattn speed / NumPy speed = NumPy time / clattn time) per device and shape, followed by a
description of the machine and of NumPy's BLAS.

The baseline is what a NumPy user would write, one call at a time, all in float32:

    Q = x @ W_q;  K = ctx @ W_k;  V = ctx @ W_v          (ctx = x unless context_len != seq)
    S = (Q_h @ K_h^T) * scale  (+ -inf above the diagonal when causal)
    P = softmax(S) row by row;  heads_out = P @ V_h, heads concatenated    (no output projection)

Each shape is timed `--repeats` times after `--warmup` runs; the median is reported. A shape whose
score matrix would need more than `--max-gib` GiB is skipped (NumPy materialises it; clattn does
not), and the table says so.

A second table puts the stages bench reports (`stage_ms`: projection and attention) beside OpenBLAS
SGEMM timed in the same run at the projection's own M x K x N: the projection's GFLOP/s as a share
of SGEMM's, and the attention stage's (4*B*H*N*M*dk flops) as a share of the same SGEMM figure.

OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the environment; when set to values
that do not match the CPU they slow NumPy down. The script reports whether they are set; for a
fair baseline run it as

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/compare-numpy.py bench.json
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

FIELDS = ("device", "batch", "seq", "context_len", "d_model", "heads", "causal", "median_ms", "path")


def load_results(source):
    text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit("compare-numpy: %s is not JSON (%s); expected the output of `clattn bench --json`"
                 % ("stdin" if source == "-" else source, e))
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        sys.exit("compare-numpy: expected a non-empty JSON array of bench results")
    for i, row in enumerate(data):
        missing = [f for f in FIELDS if f not in row]
        if missing:
            sys.exit("compare-numpy: result %d lacks field(s) %s" % (i, ", ".join(missing)))
        if row["d_model"] % row["heads"] != 0:
            sys.exit("compare-numpy: result %d: d_model %d is not a multiple of heads %d"
                     % (i, row["d_model"], row["heads"]))
    return data


def score_bytes(batch, heads, n, m):
    return 4 * batch * heads * n * m


def numpy_attention(x, ctx, w_q, w_k, w_v, heads, causal):
    """Float32 materialised multi-head attention; returns heads_out [B, N, D]."""
    b, n, d = x.shape
    m = ctx.shape[1]
    dk = d // heads
    q = (x @ w_q).reshape(b, n, heads, dk).transpose(0, 2, 1, 3)
    k = (ctx @ w_k).reshape(b, m, heads, dk).transpose(0, 2, 1, 3)
    v = (ctx @ w_v).reshape(b, m, heads, dk).transpose(0, 2, 1, 3)
    s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / np.sqrt(dk))
    if causal:
        # Bottom-right aligned: query i sees key j when j <= i + (M - N).
        hidden = np.triu(np.ones((n, m), dtype=bool), k=m - n + 1)
        s[..., hidden] = -np.inf
    # A row with no visible key (causal with M < N) becomes NaN here; only the time matters.
    with np.errstate(invalid="ignore"):
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
    return (s @ v).transpose(0, 2, 1, 3).reshape(b, n, d)


def time_numpy(batch, n, m, d, heads, causal, warmup, repeats, rng):
    x = rng.standard_normal((batch, n, d), dtype=np.float32)
    ctx = x if m == n else rng.standard_normal((batch, m, d), dtype=np.float32)
    w = [rng.standard_normal((d, d), dtype=np.float32) / np.float32(np.sqrt(d)) for _ in range(3)]
    for _ in range(warmup):
        numpy_attention(x, ctx, *w, heads, causal)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        numpy_attention(x, ctx, *w, heads, causal)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), min(times), max(times)


def time_projection_sgemm(row, warmup, repeats, rng):
    """Median ms of the three float32 projection GEMMs of a bench row, as clattn runs them:
    x [B*N, D] @ W_Q [D, H*dk], then ctx [B*M, D] @ W_K and @ W_V [D, Hkv*dk] (OpenBLAS SGEMM)."""
    b, n, m, d, h = row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"]
    dk = row.get("head_dim") or d // h
    hkv = row.get("kv_heads") or h
    x = rng.standard_normal((b * n, d), dtype=np.float32)
    ctx = x if m == n else rng.standard_normal((b * m, d), dtype=np.float32)
    w_q = rng.standard_normal((d, h * dk), dtype=np.float32)
    w_k = rng.standard_normal((d, hkv * dk), dtype=np.float32)
    w_v = rng.standard_normal((d, hkv * dk), dtype=np.float32)
    for _ in range(warmup):
        x @ w_q, ctx @ w_k, ctx @ w_v
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        x @ w_q, ctx @ w_k, ctx @ w_v
        times.append((time.perf_counter() - start) * 1e3)
    flops = 2.0 * b * n * d * h * dk + 4.0 * b * m * d * hkv * dk
    return float(np.median(times)), flops


def print_stage_table(results, warmup, repeats, rng):
    """clattn's projection and attention stages (bench's stage_ms) against OpenBLAS SGEMM, same run."""
    rows = [r for r in results if isinstance(r.get("stage_ms"), dict)
            and "projection" in r["stage_ms"] and "attention" in r["stage_ms"]]
    if not rows:
        return
    sgemm = {}
    print()
    print("Stages against OpenBLAS SGEMM in the same run: projection = the three projection GEMMs at the same "
          "M x K x N (SGEMM GFLOP/s from their median time); attention = 4*B*H*N*M*dk flops over the attention "
          "stage, against that SGEMM GFLOP/s (causal rows: flops counted in full).")
    print()
    print("| device | B | N | M | D | H | causal | projection ms | its GFLOP/s | SGEMM ms | SGEMM GFLOP/s "
          "| projection / SGEMM | attention ms | its GFLOP/s | attention / SGEMM |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        key = (row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"], row.get("kv_heads"))
        if key not in sgemm:
            sgemm[key] = time_projection_sgemm(row, max(warmup, 2), max(repeats, 10), rng)
        sgemm_ms, flops = sgemm[key]
        sgemm_gflops = flops / sgemm_ms / 1e6
        proj_ms = row["stage_ms"]["projection"]
        att_ms = row["stage_ms"]["attention"]
        dk = row.get("head_dim") or row["d_model"] // row["heads"]
        att_flops = 4.0 * row["batch"] * row["heads"] * row["seq"] * row["context_len"] * dk
        proj_gflops = flops / proj_ms / 1e6 if proj_ms > 0 else float("nan")
        att_gflops = att_flops / att_ms / 1e6 if att_ms > 0 else float("nan")
        print("| %s | %d | %d | %d | %d | %d | %s | %.2f | %.0f | %.2f | %.0f | %.0f%% | %.2f | %.0f | %.0f%% |" % (
            row["device"], row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"],
            "yes" if row["causal"] else "no", proj_ms, proj_gflops, sgemm_ms, sgemm_gflops,
            100 * proj_gflops / sgemm_gflops, att_ms, att_gflops, 100 * att_gflops / sgemm_gflops))


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib():
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def blas_description():
    """OpenBLAS (or other BLAS) name, version, threads and core type, from what is importable."""
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join("%s %s (%s threads, core %s)" % (p.get("internal_api"), p.get("version"),
                                                            p.get("num_threads"), p.get("architecture"))
                             for p in pools)
    except ImportError:
        pass
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return "%s %s (build configuration: %s)" % (blas.get("name", "?"), blas.get("version", "?"),
                                                     " ".join(str(blas.get("openblas configuration", "")).split()))
    except (TypeError, AttributeError):
        return "unknown (numpy.show_config(mode='dicts') needs NumPy >= 1.25)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="?", default="-", help="bench --json output file, or - for stdin (default)")
    ap.add_argument("--repeats", type=int, default=5, help="timed NumPy runs per shape (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed NumPy runs per shape first (default 1)")
    ap.add_argument("--max-gib", type=float, default=4.0,
                    help="skip shapes whose float32 score matrix exceeds this many GiB (default 4)")
    args = ap.parse_args()

    results = load_results(args.results)
    rng = np.random.default_rng(0)
    baseline = {}
    for row in results:
        key = (row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"], bool(row["causal"]))
        if key in baseline:
            continue
        b, n, m, d, h, causal = key
        need = score_bytes(b, h, n, m)
        if need > args.max_gib * 2**30:
            baseline[key] = "skipped: scores need %.1f GiB" % (need / 2**30)
            continue
        baseline[key] = time_numpy(b, n, m, d, h, causal, args.warmup, args.repeats, rng)
        print("numpy B=%d N=%d M=%d D=%d H=%d causal=%s: median %.2f ms" % (key + (baseline[key][0],)),
              file=sys.stderr)

    print("| device | path | B | N | M | D | H | causal | clattn median ms | NumPy median ms | speed vs NumPy "
          "| clattn GFLOP/s | max abs err |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for row in results:
        key = (row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"], bool(row["causal"]))
        base = baseline[key]
        if isinstance(base, str):
            numpy_ms, ratio = base, "-"
        else:
            numpy_ms = "%.2f" % base[0]
            ratio = "%.2fx" % (base[0] / row["median_ms"]) if row["median_ms"] > 0 else "-"
        err = row.get("max_abs_err")
        print("| %s | %s | %d | %d | %d | %d | %d | %s | %.2f | %s | %s | %s | %s |" % (
            row["device"], row["path"], row["batch"], row["seq"], row["context_len"], row["d_model"], row["heads"],
            "yes" if row["causal"] else "no", row["median_ms"], numpy_ms, ratio,
            "%.1f" % row["gflops"] if isinstance(row.get("gflops"), (int, float)) else "-",
            "%.2e" % err if isinstance(err, (int, float)) else "-"))

    print_stage_table(results, args.warmup, args.repeats, rng)

    print()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?", "?", "?")
    print("Machine: %s, %d logical CPUs, %.1f GiB RAM, %s %s; load average %s" % (
        cpu_model(), os.cpu_count() or 0, memory_gib(), platform.system(), platform.release(),
        " ".join("%.2f" % l for l in load)))
    print("NumPy %s on Python %s; BLAS: %s" % (np.__version__, platform.python_version(), blas_description()))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var)
        print("%s: %s" % (var, "set to %r" % value if value is not None else "not set"))
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        print("Note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set and can slow NumPy down; for the baseline run "
              "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/compare-numpy.py ...`")
    print("Baseline: NumPy float32, materialised scores, median of %d runs after %d warm-up, no output projection."
          % (args.repeats, args.warmup))


if __name__ == "__main__":
    main()
