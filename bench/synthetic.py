"""Synthetic inference tables for the benchmarks: timestamps, numeric and categorical features, planted drift."""

from __future__ import annotations

import numpy as np


def inference_table(n: int, seed: int, *, n_num: int, n_cat: int, days: int = 90, drift_num: int = 0,
                    drift_cat: int = 0, drift_late: bool = False):
    """``n`` rows: ``event_time`` over ``days`` days, ``num_00..`` (four distribution shapes, 1 % missing) and
    ``cat_00..`` (3, 6, 9 … categories, 1 % missing). The first ``drift_num`` numeric columns shift (×1.3 + i + 1;
    only in the second half of the rows when ``drift_late``); the first ``drift_cat`` categorical columns gain a
    new category on 10 % of the rows."""
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00", "us")
    ts = start + np.sort(rng.integers(0, days * 86_400 * 10**6, n)).astype("timedelta64[us]")
    cols = {"event_time": pa.array(ts)}
    late = np.arange(n) > n // 2 if drift_late else np.ones(n, bool)
    for i in range(n_num):
        kind = i % 4
        if kind == 0:
            v = rng.normal(i, 1 + i / 10, n)
        elif kind == 1:
            v = rng.exponential(1 + i, n)
        elif kind == 2:
            v = rng.integers(0, 5 + i, n).astype(np.float64)
        else:
            v = rng.lognormal(0, 1, n)
        if i < drift_num:
            v = np.where(late, v * 1.3 + (i + 1), v)
        cols[f"num_{i:02d}"] = pa.array(v, mask=rng.random(n) < 0.01)
    for i in range(n_cat):
        k = 3 + 3 * i
        p = np.linspace(1, 3, k) / np.linspace(1, 3, k).sum()
        idx = rng.choice(k, n, p=p).astype(np.int32)
        if i < drift_cat:
            idx = np.where(rng.random(n) < 0.1, k, idx).astype(np.int32)
        labels = pa.array([f"c{j}" for j in range(k + 1)], pa.string())
        codes = pa.array(idx, mask=rng.random(n) < 0.01)
        cols[f"cat_{i:02d}"] = pa.DictionaryArray.from_arrays(codes, labels).cast(pa.string())
    return pa.table(cols)
