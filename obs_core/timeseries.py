"""Time windows over the primary and drift per window.

Rules (DESIGN §4):

* **Windows** are calendar periods of ``__obs_ts`` (UTC): ``date_trunc(granularity, ts)`` with granularity
  hour, day, week (ISO weeks, starting Monday) or month. A window is ``[window_start, window_end)``. The grid runs
  from the window of the first primary timestamp to that of the last; windows without rows are kept (0 rows).
  Rows without a timestamp are left out of every window.
* **Granularity** (:func:`choose_granularity`): the finest of hour/day/week/month whose number of windows over the
  span is within 20–60; when none is, the one whose count is nearest that band on a log scale (ties: finer).
  So 1 day → hours (~25), 4 weeks → days (~29), 1 year → weeks (~53), 3 years → months (~37).
* **Tumbling** windows by default; ``rolling=k`` aggregates the counts of the last ``k`` periods (the first
  ``k−1`` windows cover fewer periods: ``window_start`` says where each one starts).
* **Each window is compared with the whole reference profile** (the bins and counts of
  :func:`obs_core.binning.profile`, the same cached profile the drift table uses), with the drift table's
  smoothing, distances and thresholds. A window with fewer than ``min_rows`` rows is flagged ``too_few_rows``
  and gets no score (NaN), so it is not drawn as a spike.
* **Counting**: all windows of all columns, and the per-window embedding centroids, in ONE DuckDB query over the
  primary (GROUP BY the window).
* **Embeddings**: per window the Euclidean distance between the window's centroid (mean of its finite vectors)
  and the reference centroid (all reference rows); ``metric`` "euclidean", ``n_rows`` = vectors in the window.
  It has no default thresholds (status "n/a") unless ``Thresholds(per_column={embedding: (m, d)})`` gives some.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import binning, drift
from .binning import GRANULARITIES
from .errors import NotEnoughData, ObsError
from .schema import Schema
from .store import TS, View, quote

BAND = (20, 60)

OVER_TIME_COLUMNS = [
    "window_start", "window_end", "column", "role", "kind", "metric", "score", "status", "n_rows", "too_few_rows",
    "threshold_moderate", "threshold_drift", "psi", "js", "kl", "hellinger", "missing_share", "unseen_share",
]


# ================================================================================================
# Windows
# ================================================================================================

def _ts(v: Any) -> pd.Timestamp:
    t = pd.Timestamp(v)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


def floor(t: Any, granularity: str) -> pd.Timestamp:
    """Start of the window holding ``t`` (same as DuckDB ``date_trunc``; weeks start on Monday)."""
    t = _ts(t)
    if granularity == "hour":
        return t.floor("h")
    if granularity == "day":
        return t.normalize()
    if granularity == "week":
        return (t - pd.Timedelta(days=t.weekday())).normalize()
    if granularity == "month":
        return t.normalize().replace(day=1)
    raise ObsError(f"Unknown granularity {granularity!r}.", "Use one of: " + ", ".join(GRANULARITIES))


def step(t: pd.Timestamp, granularity: str, n: int = 1) -> pd.Timestamp:
    """``t`` moved by ``n`` windows."""
    if granularity == "hour":
        return t + pd.Timedelta(hours=n)
    if granularity == "day":
        return t + pd.Timedelta(days=n)
    if granularity == "week":
        return t + pd.Timedelta(weeks=n)
    return t + pd.DateOffset(months=n)


def window_grid(start: Any, end: Any, granularity: str) -> list[pd.Timestamp]:
    """Starts of every window from the one holding ``start`` to the one holding ``end``."""
    a, b = floor(start, granularity), floor(end, granularity)
    if granularity == "month":
        n = (b.year - a.year) * 12 + (b.month - a.month)
        return [step(a, "month", i) for i in range(n + 1)]
    size = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1), "week": pd.Timedelta(weeks=1)}[granularity]
    n = int((b - a) // size)
    return [a + i * size for i in range(n + 1)]


def n_windows(start: Any, end: Any, granularity: str) -> int:
    """How many windows of ``granularity`` the span [start, end] touches."""
    a, b = floor(start, granularity), floor(end, granularity)
    if granularity == "month":
        return (b.year - a.year) * 12 + (b.month - a.month) + 1
    size = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1), "week": pd.Timedelta(weeks=1)}[granularity]
    return int((b - a) // size) + 1


def choose_granularity(start: Any, end: Any) -> str:
    """The finest granularity giving 20–60 windows over [start, end]; if none does, the one whose window count
    is nearest to that band on a log scale (ties go to the finer one)."""
    if start is None or end is None:
        raise NotEnoughData("There is no time span to cut into windows.")
    if _ts(end) < _ts(start):
        start, end = end, start
    best, best_d = None, math.inf
    for g in GRANULARITIES:
        n = n_windows(start, end, g)
        if BAND[0] <= n <= BAND[1]:
            return g
        d = math.log(BAND[0] / n) if n < BAND[0] else math.log(n / BAND[1])
        if d < best_d:
            best, best_d = g, d
    return best


def _check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise ObsError(f"Unknown granularity {granularity!r}.", "Use one of: " + ", ".join(GRANULARITIES))
    return granularity


def time_span(view: View) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) timestamp of the view; NotEnoughData without rows or without a time axis."""
    w = view.where()
    lo, hi, n_ts, n = view.store.fetchall(f"SELECT min({TS}), max({TS}), count({TS}), count(*) FROM {view.table} WHERE {w.sql}",
        w.params)[0]
    name = view.dataset
    if n == 0:
        raise NotEnoughData(f"No {name} rows match the current filters.", "Widen the filters or the time range.")
    if n_ts == 0:
        raise NotEnoughData(f"The {name} data has no time axis: no row has a timestamp.",
                            "Map a timestamp column in the schema to see changes over time.")
    return _ts(lo), _ts(hi)


def windows(primary: View, granularity: str | None = None) -> pd.DataFrame:
    """Rows per window: ``window_start, window_end, n_rows`` (every window of the span, empty ones with 0)."""
    lo, hi = time_span(primary)
    g = _check_granularity(granularity) if granularity else choose_granularity(lo, hi)
    w = primary.where()
    rows = primary.store.fetchall(f"SELECT date_trunc('{g}', {TS}) AS w, count(*) FROM {primary.table} "
                            f"WHERE ({w.sql}) AND {TS} IS NOT NULL GROUP BY w", w.params)
    got = {_ts(r[0]): int(r[1]) for r in rows}
    grid = window_grid(lo, hi, g)
    out = pd.DataFrame({"window_start": grid, "window_end": [step(s, g) for s in grid],
                        "n_rows": [got.get(s, 0) for s in grid]})
    out.attrs["granularity"] = g
    return out


def _roll(a: np.ndarray, k: int | None) -> np.ndarray:
    """Sum over the last k windows along axis 0 (k None or 1: unchanged)."""
    if not k or k <= 1:
        return a
    cs = np.cumsum(a, axis=0, dtype=np.float64)
    out = cs.copy()
    out[k:] = cs[k:] - cs[:-k]
    return out


# ================================================================================================
# Drift over time
# ================================================================================================

def drift_over_time(reference: View | None, primary: View, schema: Schema, *, granularity: str | None = None,
                    columns: Iterable[str] | None = None, metric: str = "psi", rolling: int | None = None,
                    min_rows: int = 30, n_bins: int = 10, max_categories: int = 20, thresholds: Any = None,
                    alpha: float = 0.5, embeddings: bool = True) -> pd.DataFrame:
    """Drift of every primary window against the whole reference, long format (one row per window × column).

    Columns: ``window_start, window_end`` (naive UTC), ``column, role, kind, metric, score, status, n_rows,
    too_few_rows, threshold_moderate, threshold_drift``, the four distances ``psi, js, kl, hellinger``, and
    ``missing_share``/``unseen_share`` of the window. Embedding rows (``embeddings=True``) have ``column`` = the
    embedding's name, ``metric`` "euclidean" and ``score`` = the centroid distance. ``df.attrs`` holds the
    granularity, rolling, min_rows and the columns left out (``skipped``: column -> reason).
    """
    reference = drift._need_reference(reference)
    drift.check_metric(metric)
    if rolling is not None and (int(rolling) != rolling or rolling < 1):
        raise ObsError(f"rolling must be a whole number of periods (1 or more), not {rolling!r}.")
    th = drift.as_thresholds(thresholds)
    lo, hi = time_span(primary)
    g = _check_granularity(granularity) if granularity else choose_granularity(lo, hi)
    all_emb = schema.all_embeddings()
    if columns is None:
        wanted = drift._wanted(schema, None)
        emb_wanted = list(all_emb) if embeddings else []
    else:
        cols = list(dict.fromkeys(columns))
        wanted = drift._wanted(schema, [c for c in cols if c not in all_emb])
        emb_wanted = [c for c in cols if c in all_emb]
    prof = drift.reference_profile(reference, schema, [c for c, _ in wanted], n_bins=n_bins,
                                   max_categories=max_categories)
    prim_cols = primary.columns()
    skipped: dict[str, str] = {}
    bins = []
    for c, _ in wanted:
        if c not in prof.columns:
            skipped[c] = prof.skipped.get(c) or "missing in reference"
        elif c not in prim_cols:
            skipped[c] = "missing in primary"
        else:
            bins.append(prof.columns[c].bins)

    # embeddings: per-window sums and counts of finite vectors, in the same pass
    emb_specs = []
    extra_select, extra_aggs = {}, {}
    for i, name in enumerate(emb_wanted):
        col = all_emb[name].vector
        if col not in prim_cols or col not in reference.columns():
            skipped[name] = "vector column missing in a dataset"
            continue
        try:
            dim = drift.vector_dimension([reference, primary], col)
        except ObsError as ex:
            skipped[name] = ex.user_message
            continue
        if dim <= 0:
            skipped[name] = "no vectors"
            continue
        c_ref, n_ok, _ = drift.centroid(reference, col, dim)
        if n_ok == 0:
            skipped[name] = "no finite vector in the reference"
            continue
        alias = f"__obs_e{i}"
        extra_select[alias] = (f"CASE WHEN {drift.valid_vector_sql(col, dim)} "
                               f"THEN CAST({quote(col)} AS DOUBLE[]) END")
        extra_aggs[f"{alias}_n"] = f"count({alias})"
        for j in range(1, dim + 1):
            extra_aggs[f"{alias}_{j}"] = f"sum({alias}[{j}])"
        emb_specs.append((name, alias, dim, c_ref))

    counts = binning.count(primary, bins, granularity=g, extra_select=extra_select,
                           extra_aggs=extra_aggs)
    for c, why in counts.skipped.items():
        skipped[c] = why
    grid = window_grid(lo, hi, g)
    n_w = len(grid)
    pos = {s: i for i, s in enumerate(grid)}
    idx = np.array([pos[_ts(s)] for s in counts.window_start], dtype=np.int64) if len(counts.n_rows) else \
        np.empty(0, dtype=np.int64)

    def full(a: np.ndarray) -> np.ndarray:
        out = np.zeros((n_w,) + a.shape[1:], dtype=np.float64)
        out[idx] = a
        return _roll(out, rolling)

    n_rows = full(counts.n_rows.astype(np.float64))
    k = int(rolling) if rolling else 1
    starts = [grid[max(0, i - k + 1)] for i in range(n_w)]
    ends = [step(s, g) for s in grid]
    roles = dict(wanted)
    frames = []
    for b in bins:
        c = b.column
        if c not in counts.counts:
            continue
        cp = prof.columns[c]
        wc = full(counts.counts[c])
        m, d = th.get(c, metric)
        dist = drift.distances(cp.counts, wc, alpha)
        n = wc.sum(axis=1)
        too_few = n_rows < min_rows
        score = np.where(too_few, np.nan, dist[metric])
        if cp.n_rows == 0 or b.all_missing:
            score = np.full(n_w, np.nan)
        status = []
        for i in range(n_w):
            if too_few[i]:
                status.append("too few rows")
            elif cp.n_rows == 0 or b.all_missing:
                status.append("no data")
            else:
                s = drift.status_of(score[i], m, d)
                status.append("constant" if b.constant and s == "no drift" else s)
        with np.errstate(invalid="ignore", divide="ignore"):
            miss = np.where(n_rows > 0, wc[:, b.missing_index] / np.where(n_rows > 0, n_rows, 1), np.nan)
            unseen = (np.where(n_rows > 0, wc[:, b.unseen_index] / np.where(n_rows > 0, n_rows, 1), np.nan)
                      if b.unseen_index is not None else np.full(n_w, np.nan))
        frame = {
            "window_start": starts, "window_end": ends, "column": c, "role": roles.get(c, "column"),
            "kind": b.value_kind, "metric": metric, "score": score, "status": status,
            "n_rows": n_rows.astype(np.int64), "too_few_rows": too_few, "threshold_moderate": m,
            "threshold_drift": d, "missing_share": miss, "unseen_share": unseen,
        }
        for name in drift.METRICS:
            frame[name] = np.where(too_few | np.isnan(score), np.nan, dist[name])
        frames.append(pd.DataFrame(frame))

    per_col = dict(th.per_column)
    for name, alias, dim, c_ref in emb_specs:
        cnt = full(np.array(counts.extra[f"{alias}_n"], dtype=np.float64))
        sums = np.column_stack([np.array([np.nan if v is None else v for v in counts.extra[f"{alias}_{j}"]],
                                         dtype=np.float64) for j in range(1, dim + 1)])
        sums = full(np.nan_to_num(sums))
        too_few = cnt < min_rows
        with np.errstate(invalid="ignore", divide="ignore"):
            cen = sums / cnt[:, None]
        dist = np.linalg.norm(cen - c_ref[None, :], axis=1)
        score = np.where(too_few, np.nan, dist)
        m, d = per_col.get(name, (math.nan, math.nan))
        status = ["too few rows" if too_few[i] else drift.status_of(score[i], m, d) for i in range(n_w)]
        frames.append(pd.DataFrame({
            "window_start": starts, "window_end": ends, "column": name, "role": "embedding", "kind": "vector",
            "metric": "euclidean", "score": score, "status": status, "n_rows": cnt.astype(np.int64),
            "too_few_rows": too_few, "threshold_moderate": m, "threshold_drift": d,
        }))

    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OVER_TIME_COLUMNS)
    for c in OVER_TIME_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    df = df[OVER_TIME_COLUMNS]
    if len(df):
        df["window_start"] = pd.to_datetime(df["window_start"])
        df["window_end"] = pd.to_datetime(df["window_end"])
    df.attrs.update(granularity=g, rolling=rolling, min_rows=min_rows, metric=metric, skipped=skipped,
                    n_windows=n_w)
    return df
