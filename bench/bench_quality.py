"""Benchmark: data-quality table and performance metrics at 1,000,000 rows per dataset.

    python bench/bench_quality.py              # 1M reference + 1M primary rows
    python bench/bench_quality.py --rows 200000

Data: 50 feature columns (40 numeric with ~1 % NaN, 10 categorical with 5–200 values, one with an unseen
value in the primary), timestamps spread over 90 days, a unique id, and a binary model's prediction label,
score and actual (~5 % missing actuals). Prints the median of 3 runs of each path (memo cache cleared between
runs) next to its target, and the process's peak RSS. Not a test: CI does not time anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from obs_core import performance, quality  # noqa: E402
from obs_core.schema import ModelType, Schema  # noqa: E402
from obs_core.store import Store, View  # noqa: E402

TARGET_QUALITY_S = 5.0
N_NUMERIC, N_CATEGORICAL = 40, 10


def make_table(n: int, seed: int, *, shifted: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string())
    cols: dict[str, pa.Array] = {"id": pc.binary_join_element_wise(f"s{seed}-", ids, "")}
    start = np.datetime64("2026-01-01T00:00:00", "us")
    cols["ts"] = pa.array(start + (rng.random(n) * 90 * 86400e6).astype("timedelta64[us]"))
    for i in range(N_NUMERIC):
        x = rng.normal(i, 1 + i % 5, n)
        if shifted and i % 10 == 0:
            x = x * 1.3
        x[rng.random(n) < 0.01] = np.nan
        cols[f"num_{i:02d}"] = pa.array(x)
    for i in range(N_CATEGORICAL):
        k = [5, 10, 20, 50, 200][i % 5]
        values = np.array([f"c{i}_{j}" for j in range(k)] + [f"c{i}_new"], dtype=object)
        idx = rng.integers(0, k, n)
        if shifted and i == 0:
            idx[rng.random(n) < 0.02] = k            # an unseen category in the primary
        cols[f"cat_{i}"] = pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)),
                                                          pa.array(values)).cast(pa.string())
    y = rng.random(n) < 0.3
    score = np.clip(0.4 * y + rng.normal(0.3, 0.2, n), 0, 1)
    actual = np.where(y, "yes", "no").astype(object)
    actual[rng.random(n) < 0.05] = None
    cols["prediction_score"] = pa.array(score)
    cols["prediction_label"] = pa.array(np.where(score >= 0.5, "yes", "no"))
    cols["actual_label"] = pa.array(actual, type=pa.string())
    return pa.table(cols)


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, store: Store, repeat: int = 3) -> tuple[float, list[float], float, object]:
    """Median wall time, the runs, the median CPU time (all threads), the last result."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        store.cache.clear()
        c0, t0 = cpu_s(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_s() - c0)
    return statistics.median(times), times, statistics.median(cpus), out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.rows

    t0 = time.perf_counter()
    ref_t, prim_t = make_table(n, 1, shifted=False), make_table(n, 2, shifted=True)
    store = Store()
    store.load("primary", prim_t, timestamp="ts", fingerprint="p")
    store.load("reference", ref_t, timestamp="ts", fingerprint="r", row_id_offset=n)
    del ref_t, prim_t
    print(f"data: {n:,} reference + {n:,} primary rows x {N_NUMERIC + N_CATEGORICAL} feature columns "
          f"(+ id, timestamp, label, score, actual); built and loaded in {time.perf_counter() - t0:.1f} s; "
          f"peak RSS so far {rss_mb():,.0f} MiB")

    feats = tuple(f"num_{i:02d}" for i in range(N_NUMERIC)) + tuple(f"cat_{i}" for i in range(N_CATEGORICAL))
    schema = Schema(prediction_id="id", timestamp="ts", features=feats, prediction_label="prediction_label",
                    prediction_score="prediction_score", actual_label="actual_label",
                    model_type=ModelType.BINARY, positive_class="yes")
    ref, prim = View(store, "reference"), View(store, "primary")

    paths = [
        ("quality_table (55 columns, both datasets)", lambda: quality.quality_table(ref, prim, schema),
         TARGET_QUALITY_S),
        ("quality_table (the 50 feature columns)",
         lambda: quality.quality_table(ref, prim, schema, columns=list(feats)), TARGET_QUALITY_S),
        ("missing_over_time (day, 55 columns)",
         lambda: quality.missing_over_time(prim, schema, granularity="day"), None),
        ("performance binary (8 metrics, both)", lambda: performance.performance(ref, prim, schema), None),
        ("performance binary, per day (90 windows)",
         lambda: performance.performance(ref, prim, schema, granularity="day"), None),
        ("segments by a numeric column (5 bins)",
         lambda: performance.segments(ref, prim, schema, by="num_03"), None),
    ]
    load = os.getloadavg()[0]
    print(f"\nload average before timing: {load:.1f} on {os.cpu_count()} CPUs "
          f"(wall times are only meaningful on an otherwise idle machine; CPU s = all threads of this process)")
    print(f"{'path':<46} {'median s':>9} {'runs':>22} {'CPU s':>7}  target")
    results = {}
    for name, fn, target in paths:
        med, times, cpu, out = timed(fn, store, args.repeat)
        results[name] = out
        ok = "" if target is None else (f"<= {target:g} s " + ("OK" if med <= target else "MISSED"))
        print(f"{name:<46} {med:>9.2f} {', '.join(f'{t:.2f}' for t in times):>22} {cpu:>7.2f}  {ok}", flush=True)
    table = results[paths[0][0]]
    perf = results[paths[3][0]]
    print(f"\npeak RSS: {rss_mb():,.0f} MiB (whole process, data generation included)")
    print(f"quality rows: {len(table):,}; failing checks: "
          f"{', '.join(sorted(set(table[table.status == 'fail']['check'])))}")
    acc = perf[(perf.metric == "accuracy")][["dataset", "value", "n_rows", "n_missing_actuals"]]
    print(acc.to_string(index=False))


if __name__ == "__main__":
    main()
