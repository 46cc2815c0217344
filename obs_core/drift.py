"""Per-column drift between a reference and a primary view, and embedding drift.

Rules (DESIGN §4):

* Bins come from :mod:`obs_core.binning` (fitted on the reference only; open outer numeric bins; unseen and
  missing bins). All columns of a dataset are counted in one DuckDB query.
* **Proportions** per bin use additive smoothing: ``p_i = (c_i + α) / (Σc + α·k)`` with ``α = 0.5`` and ``k`` the
  number of bins, so no share is 0 and no distance is infinite. ``p`` is the primary, ``q`` the reference.
* **Distances** on the smoothed proportions:
  PSI ``Σ (p−q)·ln(p/q)`` (default score; 0.1 moderate, 0.25 drift);
  Jensen–Shannon *distance* in base 2 ``sqrt(½ Σ p log2(p/m) + ½ Σ q log2(q/m))``, ``m = (p+q)/2`` (0..1; equals
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``); KL(primary‖reference) ``Σ p ln(p/q)``;
  Hellinger ``sqrt(½ Σ (√p − √q)²)`` (0..1).
* **Tests**: chi-square on the raw 2×k table of bin counts (bins empty in both datasets dropped;
  ``scipy.stats.chi2_contingency`` semantics, Yates' correction when k = 2); for numeric columns the two-sample
  KS statistic and p-value (as ``scipy.stats.ks_2samp``) and the Wasserstein-1 distance divided by the reference's
  standard deviation (ddof 0), both on the finite values — all of them when a dataset has at most ``ks_sample``
  rows, otherwise a seeded random sample of about ``ks_sample`` rows (those with
  ``hash(__obs_row_id, random_state) % m = 0``, ``m = ceil(rows / ks_sample)``; ``binning.hash_sample_sql``).
  ``p_value`` is KS for numeric columns and chi-square for categorical ones (``test="auto"``;
  ``test="chi-square"`` uses chi-square everywhere); ``p_value_adj`` is Benjamini–Hochberg across the table's
  columns (``scipy.stats.false_discovery_control(p, method="bh")``).
* **Embeddings**: Euclidean and cosine distance between the reference and primary centroids (all rows with a
  finite vector, averaged in DuckDB) and a domain-classifier ROC AUC on seeded samples (:func:`embedding_drift`).
* **Status** from the chosen ``metric``'s score: ``score ≥ drift`` → "drift", ``≥ moderate`` → "moderate", else
  "no drift" (:class:`Thresholds`). p-values are reported, not used for the status.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import binning
from .binning import Profile
from .errors import NotEnoughData, ObsError
from .schema import Schema
from .store import View, quote

METRICS = ("psi", "js", "kl", "hellinger")
METRIC_NAMES = {"psi": "PSI", "js": "JS distance", "kl": "KL divergence", "hellinger": "Hellinger distance",
                "euclidean": "Euclidean distance"}
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "psi": (0.1, 0.25), "js": (0.1, 0.2), "kl": (0.1, 0.25), "hellinger": (0.1, 0.2),
}
STATUSES = ("drift", "moderate", "no drift", "constant", "no data", "too few rows", "missing in primary",
            "missing in reference", "missing", "unsupported", "type mismatch")

RESULT_COLUMNS = [
    "column", "role", "kind", "score", "metric", "status", "psi", "js", "kl", "hellinger", "p_value", "p_value_adj",
    "test", "chi2_stat", "chi2_p_value", "ks_stat", "ks_p_value", "wasserstein", "missing_reference",
    "missing_primary", "unseen_share", "n_reference", "n_primary", "n_bins", "threshold_moderate", "threshold_drift",
    "rule", "note", "bin_labels", "reference_shares", "primary_shares",
]


# ================================================================================================
# Thresholds
# ================================================================================================

@dataclass(frozen=True)
class Thresholds:
    """Status thresholds. ``moderate``/``drift`` override the metric's defaults (PSI 0.1/0.25, JS 0.1/0.2,
    KL 0.1/0.25, Hellinger 0.1/0.2) for every column; ``per_column`` maps a column to its own
    ``(moderate, drift)`` pair. Hashable (a cache key): ``per_column`` is stored as sorted pairs."""

    moderate: float | None = None
    drift: float | None = None
    per_column: Any = ()

    def __post_init__(self):
        pc = self.per_column
        items = pc.items() if isinstance(pc, Mapping) else (pc or ())
        norm = []
        for col, pair in items:
            m, d = (float(pair[0]), float(pair[1]))
            if m > d:
                raise ObsError(f"The moderate threshold for {col!r} ({m}) is above its drift threshold ({d}).")
            norm.append((str(col), (m, d)))
        object.__setattr__(self, "per_column", tuple(sorted(norm)))
        if self.moderate is not None and self.drift is not None and float(self.moderate) > float(self.drift):
            raise ObsError(f"The moderate threshold ({self.moderate}) is above the drift threshold ({self.drift}).")

    def get(self, column: str, metric: str) -> tuple[float, float]:
        """(moderate, drift) for ``column`` under ``metric`` (NaN, NaN when the metric has no default)."""
        for c, pair in self.per_column:
            if c == column:
                return pair
        dm, dd = DEFAULT_THRESHOLDS.get(metric, (math.nan, math.nan))
        m = float(self.moderate) if self.moderate is not None else dm
        d = float(self.drift) if self.drift is not None else dd
        if self.moderate is not None and self.drift is None and m > d:
            d = m
        if self.drift is not None and self.moderate is None and m > d:
            m = d
        return m, d


def as_thresholds(t: Any) -> Thresholds:
    """``None`` (defaults), a :class:`Thresholds`, a ``(moderate, drift)`` pair or a ``{column: (m, d)}`` dict."""
    if t is None:
        return Thresholds()
    if isinstance(t, Thresholds):
        return t
    if isinstance(t, Mapping):
        return Thresholds(per_column=t)
    if isinstance(t, (tuple, list)) and len(t) == 2:
        return Thresholds(moderate=t[0], drift=t[1])
    raise ObsError(f"Thresholds must be a (moderate, drift) pair, not {t!r}.")


def status_of(score: float, moderate: float, drift: float) -> str:
    if score is None or not np.isfinite(score) or not np.isfinite(drift):
        return "no data" if score is None or not np.isfinite(score) else "n/a"
    if score >= drift:
        return "drift"
    if score >= moderate:
        return "moderate"
    return "no drift"


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ObsError(f"Unknown drift metric {metric!r}.", "Use one of: " + ", ".join(METRICS))
    return metric


# ================================================================================================
# Distances and tests
# ================================================================================================

def smoothed(counts: Any, alpha: float = 0.5) -> np.ndarray:
    """``(c + α) / Σ(c + α)`` along the last axis (rows of zeros stay zeros when α = 0)."""
    c = np.asarray(counts, dtype=np.float64) + float(alpha)
    tot = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, c / np.where(tot > 0, tot, 1), 0.0)


def _xlogy_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a·ln(a/b) with 0·ln(0/b) = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(a / b), 0.0)


def psi(p: Any, q: Any) -> np.ndarray:
    """Population stability index ``Σ (p−q)·ln(p/q)`` (last axis)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where((p == q), 0.0, (p - q) * np.log(p / q))
    return t.sum(axis=-1)


def kl(p: Any, q: Any) -> np.ndarray:
    """KL(p‖q) = ``Σ p·ln(p/q)`` (natural log; last axis)."""
    return _xlogy_ratio(np.asarray(p, float), np.asarray(q, float)).sum(axis=-1)


def js(p: Any, q: Any) -> np.ndarray:
    """Jensen–Shannon distance, base 2: ``sqrt(½ KL(p‖m) + ½ KL(q‖m)) / sqrt(ln 2)``, ``m = (p+q)/2``."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    m = (p + q) / 2.0
    d = (_xlogy_ratio(p, m).sum(axis=-1) + _xlogy_ratio(q, m).sum(axis=-1)) / 2.0
    return np.sqrt(np.maximum(d, 0.0) / np.log(2.0))


def hellinger(p: Any, q: Any) -> np.ndarray:
    """Hellinger distance ``sqrt(½ Σ (√p − √q)²)`` (0..1; last axis)."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    return np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(axis=-1))


def distances(reference_counts: Any, primary_counts: Any, alpha: float = 0.5) -> dict[str, np.ndarray]:
    """All four distances of primary vs reference bin counts after α-smoothing (rows = windows, if 2-D)."""
    q = smoothed(reference_counts, alpha)
    p = smoothed(primary_counts, alpha)
    if q.ndim < p.ndim:
        q = np.broadcast_to(q, p.shape)
    return {"psi": psi(p, q), "js": js(p, q), "kl": kl(p, q), "hellinger": hellinger(p, q)}


def chi_square(reference_counts: Any, primary_counts: Any) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2×k table of raw counts, bins empty in both dropped.

    Same statistic and p-value as ``scipy.stats.chi2_contingency(table)`` (Pearson; Yates' continuity
    correction when there is one degree of freedom), computed directly (scipy's wrapper costs ~10 ms a call).
    NaN when fewer than two bins remain or a dataset is empty.
    """
    from scipy.stats import chi2
    r = np.asarray(reference_counts, dtype=np.float64)
    p = np.asarray(primary_counts, dtype=np.float64)
    keep = (r + p) > 0
    obs = np.vstack([r[keep], p[keep]])
    if obs.shape[1] < 2 or obs[0].sum() == 0 or obs[1].sum() == 0:
        return math.nan, math.nan
    expected = obs.sum(axis=1, keepdims=True) * obs.sum(axis=0, keepdims=True) / obs.sum()
    dof = obs.shape[1] - 1
    if dof == 1:  # Yates
        diff = expected - obs
        obs = obs + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(((obs - expected) ** 2 / expected).sum())
    return stat, float(chi2.sf(stat, dof))


_KS_EXACT_MAX = 10_000  # scipy's ks_2samp(method="auto") is exact up to this many values per sample


def ks_wasserstein(reference: np.ndarray, primary: np.ndarray, *, reference_sorted: bool = False
                   ) -> tuple[float, float, float]:
    """(KS statistic, KS p-value, Wasserstein-1 / std(reference)) on finite values.

    Equals ``scipy.stats.ks_2samp(reference, primary)`` (method "auto": exact up to 10,000 values per sample,
    otherwise Smirnov's asymptotic ``kstwo.sf(D, round(n·m/(n+m)))``) and
    ``scipy.stats.wasserstein_distance(reference, primary) / np.std(reference)``. Both come from one merge of the
    two sorted samples: the ECDFs are running counts, read at the end of each run of tied values (KS) and
    weighted by the gaps between consecutive values (Wasserstein) — ~10x faster than the two scipy calls.
    NaN when either sample is empty; the normalised Wasserstein is NaN when the reference std is 0.
    """
    from scipy.stats import distributions, ks_2samp
    a = np.asarray(reference, dtype=np.float64)
    a = a if reference_sorted else np.sort(a)
    b = np.sort(np.asarray(primary, dtype=np.float64))
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return math.nan, math.nan, math.nan
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="stable")  # two sorted runs: a linear merge
    v = both[order]
    from_a = order < na
    ca = np.cumsum(from_a) / na
    cb = np.cumsum(~from_a) / nb
    diff = ca - cb
    run_end = np.empty(len(v), dtype=bool)
    np.not_equal(v[1:], v[:-1], out=run_end[:-1])
    run_end[-1] = True
    d_all = diff[run_end]
    max_s = float(d_all.max())
    min_s = float(np.clip(-d_all.min(), 0, 1))
    d = min_s if min_s > max_s else max_s
    if max(na, nb) <= _KS_EXACT_MAX:
        res = ks_2samp(a, b)
        d, pval = float(res.statistic), float(res.pvalue)
    else:
        m, n = sorted([float(na), float(nb)], reverse=True)
        en = m * n / (m + n)
        pval = float(np.clip(distributions.kstwo.sf(d, np.round(en)), 0, 1))
    w1 = float(np.sum(np.abs(diff[:-1]) * np.diff(v)))  # inside a run of ties the gap is 0
    sd = float(np.std(a))
    return d, pval, (w1 / sd if sd > 0 else math.nan)


def bh_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values over the finite entries (NaN stays NaN)."""
    from scipy.stats import false_discovery_control
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = false_discovery_control(np.clip(p[ok], 0, 1), method="bh")
    return out


# ================================================================================================
# Drift table
# ================================================================================================

def _need_reference(reference: View | None) -> View:
    if reference is None:
        raise NotEnoughData("Drift needs a reference dataset.",
                            "Load a reference (e.g. training or last month's data) to compare the primary with.")
    return reference


def _wanted(schema: Schema, columns: Iterable[str] | None) -> list[tuple[str, str]]:
    dc = list(dict.fromkeys(schema.drift_columns()))
    if columns is None:
        out, seen = [], set()
        for c, r in dc:
            if c not in seen:
                seen.add(c)
                out.append((c, r))
        return out
    roles = {}
    for c, r in dc:
        roles.setdefault(c, r)
    other_roles = schema.roles()
    return [(c, roles.get(c, other_roles.get(c, "column"))) for c in dict.fromkeys(columns)]


def reference_profile(reference: View, schema: Schema, columns: Iterable[str] | None = None, *,
                      n_bins: int = 10, max_categories: int = 20) -> Profile:
    """The cached reference profile for the schema's drift columns (plus any extra ``columns``)."""
    cols = [c for c, _ in _wanted(schema, None)] + [c for c in (columns or ()) if c]
    return binning.profile(reference, list(dict.fromkeys(cols)), n_bins=n_bins, max_categories=max_categories)


def primary_counts(primary: View, prof: Profile) -> binning.Counts:
    """Counts of ``primary`` in every profiled column's bins (one query; cached per primary view + profile)."""
    key = ("obs.drift.counts", primary.key, prof.key)
    cache = primary.store.cache
    if key not in cache:
        cache[key] = binning.count(primary, prof.bins())
    return cache[key]


def _numeric_sample(view: View, cols: Sequence[str], n: int, random_state: int, n_rows: int, *,
                    sort: bool = True) -> dict[str, np.ndarray]:
    """Finite values of numeric ``cols`` (sorted if ``sort``): all rows when the view has ≤ n, else a seeded
    sample of n rows."""
    if not cols or n_rows == 0:
        return {c: np.empty(0) for c in cols}
    have = view.columns()
    sel = ", ".join(f"{binning.value_sql(c, have[c], view.kind(c))} AS __obs_v{i}" for i, c in enumerate(cols))
    if n_rows <= n:
        w = view.where()
        sql, params = f"SELECT {sel} FROM {view.table} WHERE {w.sql}", list(w.params)
    else:
        sql, params = binning.hash_sample_sql(view, sel, n, n_rows, random_state)
    data = view.store.fetchnumpy(sql, params)
    out = {}
    for i, c in enumerate(cols):
        v = binning.to_float_array(data[f"__obs_v{i}"])
        v = v[np.isfinite(v)]
        out[c] = np.sort(v) if sort else v
    return out


def _reference_sample(reference: View, cols: Sequence[str], n: int, random_state: int, n_rows: int):
    key = ("obs.drift.sample", reference.key, tuple(cols), int(n), int(random_state))
    cache = reference.store.cache
    if key not in cache:
        cache[key] = _numeric_sample(reference, cols, n, random_state, n_rows)
    return cache[key]


def _ks_all(ref_s: Mapping[str, np.ndarray], prim_s: Mapping[str, np.ndarray], cols: Sequence[str]
            ) -> dict[str, tuple[float, float, float]]:
    """KS and Wasserstein of every numeric column, on two threads (numpy releases the GIL while sorting)."""
    def one(c):
        return c, ks_wasserstein(ref_s[c], prim_s[c], reference_sorted=True)
    if len(cols) < 4:
        return dict(map(one, cols))
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, cols))


def _rule(cp: binning.ColumnProfile, metric: str, m: float, d: float, alpha: float, test: str, sampled: bool,
          ks_sample: int) -> str:
    b = cp.bins
    if b.kind == "numeric":
        if b.all_missing:
            bins = "the missing bin only"
        elif b.constant:
            bins = "1 bin (constant reference) + missing"
        else:
            bins = f"{b.n_value_bins} reference-quantile bins + missing"
            if cp.quantiles_sampled:
                bins += (f" (quantiles of a seeded sample of ~{binning.QUANTILE_SAMPLE:,} of the "
                         f"{cp.n_rows:,} reference rows)")
    else:
        if b.all_missing:
            bins = "the missing bin only"
        else:
            bins = f"{len(b.categories)} reference categories{' + other' if b.pooled else ''} + unseen + missing"
    s = (f"{METRIC_NAMES[metric]} on {bins} (α={alpha:g} smoothing); {m:g} moderate, {d:g} drift. "
         f"p-value: ")
    if test == "KS":
        s += "two-sample KS on the finite values"
        s += f" (a seeded random sample of about {ks_sample:,} rows per dataset)" if sampled else ""
    else:
        s += "chi-square on the bin counts"
    return s + "."


def drift_table(reference: View | None, primary: View, schema: Schema, *, columns: Iterable[str] | None = None,
                n_bins: int = 10, max_categories: int = 20, metric: str = "psi", thresholds: Any = None,
                alpha: float = 0.5, test: str = "auto", ks_sample: int = 100_000, random_state: int = 0,
                sort: bool = True) -> pd.DataFrame:
    """One row per drift column (features, tags, prediction and actual columns; or ``columns``).

    Columns (see ``RESULT_COLUMNS``): ``column, role, kind`` (store kind: number/time/text/bool), ``score``
    (the ``metric``'s value), ``metric``, ``status``, the four distances ``psi, js, kl, hellinger``, ``p_value``,
    ``p_value_adj`` (Benjamini–Hochberg), ``test`` ("KS" or "chi-square"), ``chi2_stat, chi2_p_value``,
    numeric only ``ks_stat, ks_p_value, wasserstein`` (normalised by the reference std), ``missing_reference``,
    ``missing_primary`` (shares of rows), ``unseen_share`` (share of primary rows with a category the reference
    lacks; categorical only), ``n_reference, n_primary`` (rows), ``n_bins``, ``threshold_moderate,
    threshold_drift``, ``rule`` (how the row was computed), ``note`` (degenerate cases), and for sparklines
    ``bin_labels, reference_shares, primary_shares`` (raw shares per bin).

    Degenerate columns never raise: all missing in the reference or no rows → status "no data"; a constant
    reference column → "constant" (unless it drifted: a constant column that changes is drift); a column absent
    from one dataset → "missing in primary"/"missing in reference"; vectors and other unbinnable types →
    "unsupported"; a kind that differs between the datasets → "type mismatch". Sorted by score, highest first,
    unless ``sort=False`` (schema order).
    """
    reference = _need_reference(reference)
    check_metric(metric)
    if alpha < 0:
        raise ObsError("The smoothing α must be zero or positive.")
    if test not in ("auto", "chi-square", "KS", "ks"):
        raise ObsError(f"Unknown test {test!r}.", "Use 'auto', 'chi-square' or 'KS'.")
    th = as_thresholds(thresholds)
    wanted = _wanted(schema, columns)
    prof = reference_profile(reference, schema, [c for c, _ in wanted], n_bins=n_bins,
                             max_categories=max_categories)
    counts = primary_counts(primary, prof)
    n_ref = prof.n_rows
    n_prim = int(counts.n_rows[0]) if len(counts.n_rows) else 0
    ref_cols, prim_cols = reference.columns(), primary.columns()

    # KS / Wasserstein inputs for the numeric columns present in both
    ks_cols = [c for c, _ in wanted if c in prof.columns and prof.columns[c].bins.kind == "numeric"
               and c in counts.counts]
    ref_s = _reference_sample(reference, ks_cols, ks_sample, random_state, n_ref) if ks_cols else {}
    prim_s = _numeric_sample(primary, ks_cols, ks_sample, random_state, n_prim, sort=False) if ks_cols else {}
    sampled = n_ref > ks_sample or n_prim > ks_sample
    ks_res = _ks_all(ref_s, prim_s, ks_cols)

    rows = []
    for col, role in wanted:
        m, d = th.get(col, metric)
        row: dict[str, Any] = dict(column=col, role=role, kind=reference.kind(col) or primary.kind(col),
                                   metric=metric, threshold_moderate=m, threshold_drift=d, n_reference=n_ref,
                                   n_primary=n_prim, note=None, rule=None)
        if col not in ref_cols and col not in prim_cols:
            rows.append({**row, "status": "missing", "note": "neither dataset has this column"})
            continue
        if col not in ref_cols:
            rows.append({**row, "status": "missing in reference", "note": "the reference data has no such column"})
            continue
        if col not in prim_cols:
            rows.append({**row, "status": "missing in primary", "note": "the primary data has no such column"})
            continue
        if col in prof.skipped:
            rows.append({**row, "status": "unsupported", "note": f"{prof.skipped[col]} (vectors are compared as "
                                                                 "embeddings)"})
            continue
        cp = prof.columns[col]
        b = cp.bins
        if col not in counts.counts:
            rows.append({**row, "status": "type mismatch", "note": counts.skipped.get(col, "cannot be compared")})
            continue
        pc = counts.counts[col][0]
        rc = cp.counts
        row["n_bins"] = b.n_bins
        row["bin_labels"] = list(b.labels)
        row["reference_shares"] = list(rc / rc.sum()) if rc.sum() else [0.0] * len(rc)
        row["primary_shares"] = list(pc / n_prim) if n_prim else [0.0] * len(pc)
        row["missing_reference"] = cp.n_missing / n_ref if n_ref else math.nan
        row["missing_primary"] = float(pc[b.missing_index]) / n_prim if n_prim else math.nan
        if b.kind == "categorical" and b.unseen_index is not None:
            row["unseen_share"] = float(pc[b.unseen_index]) / n_prim if n_prim else math.nan
        use_ks = b.kind == "numeric" and test in ("auto", "KS", "ks")
        tname = "KS" if use_ks else "chi-square"
        row["test"] = tname
        row["rule"] = _rule(cp, metric, m, d, alpha, tname, sampled, ks_sample)
        if n_ref == 0 or n_prim == 0:
            which = "reference" if n_ref == 0 else "primary"
            rows.append({**row, "status": "no data", "note": f"no {which} rows (after filters)"})
            continue
        if b.all_missing:
            rows.append({**row, "status": "no data", "note": "all values missing in the reference"})
            continue
        dist = distances(rc, pc, alpha)
        for k, v in dist.items():
            row[k] = float(v)
        row["score"] = row[metric]
        row["chi2_stat"], row["chi2_p_value"] = chi_square(rc, pc)
        if b.kind == "numeric":
            ks, ksp, wd = ks_res[col]
            row.update(ks_stat=ks, ks_p_value=ksp, wasserstein=wd)
        row["p_value"] = row.get("ks_p_value", math.nan) if use_ks else row["chi2_p_value"]
        if use_ks and not np.isfinite(row["p_value"]):
            row["p_value"], row["test"] = row["chi2_p_value"], "chi-square"
        st = status_of(row["score"], m, d)
        notes = []
        if n_ref == 1:
            notes.append("only one row in the reference")
        elif b.constant:
            val = _constant_value(cp)
            notes.append(f"constant column in the reference{f' (all values = {val})' if val else ''}")
        if b.constant and st == "no drift":
            st = "constant"
        if n_prim == 1:
            notes.append("only one row in the primary")
        if pc[b.missing_index] == n_prim:
            notes.append("all values missing in the primary")
        row["status"] = st
        row["note"] = "; ".join(notes) or None
        rows.append(row)

    df = pd.DataFrame(rows)
    for c in RESULT_COLUMNS:
        if c not in df.columns:
            df[c] = None
    df = df[RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]]
    for c in ("score", "psi", "js", "kl", "hellinger", "p_value", "chi2_stat", "chi2_p_value", "ks_stat",
              "ks_p_value", "wasserstein", "missing_reference", "missing_primary", "unseen_share",
              "threshold_moderate", "threshold_drift"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["n_bins"] = pd.array(df["n_bins"], dtype="Int64")
    df["p_value_adj"] = bh_adjust(df["p_value"].to_numpy())
    if sort:
        df = df.sort_values("score", ascending=False, na_position="last", kind="stable")
    df = df.reset_index(drop=True)
    df.attrs.update(metric=metric, n_bins=n_bins, alpha=alpha, max_categories=max_categories,
                    ks_sample=ks_sample, random_state=random_state, sampled=sampled)
    return df


def _constant_value(cp: binning.ColumnProfile) -> str | None:
    b = cp.bins
    if cp.constant_value is None:
        return None
    if b.kind == "numeric":
        return binning._fmt(cp.constant_value, b.value_kind)
    return binning._cat_label(cp.constant_value)


def drift_bins(reference: View | None, primary: View, schema: Schema, column: str, *, n_bins: int = 10,
               max_categories: int = 20, alpha: float = 0.5, **_ignored: Any) -> pd.DataFrame:
    """Reference vs primary per bin of one column (for the distribution chart).

    Columns: ``bin`` (index), ``label``, ``bin_type`` (value/other/unseen/missing), ``lower, upper`` (numeric value
    bins: ``[lower, upper)``, outer ones infinite), ``reference_count, primary_count, reference_share,
    primary_share`` (raw shares of rows), ``reference_smoothed, primary_smoothed`` (α-smoothed proportions) and
    ``psi_term`` (that bin's share of the PSI). Accepts (and ignores) the other options of :func:`drift_table`.
    """
    reference = _need_reference(reference)
    prof = reference_profile(reference, schema, [column], n_bins=n_bins, max_categories=max_categories)
    if column not in prof.columns:
        why = prof.skipped.get(column) or "the reference has no such column"
        raise ObsError(f"Column {column!r} has no bins: {why}.")
    key = ("obs.drift.counts", primary.key, prof.key)
    counts = primary.store.cache.get(key) or binning.count(primary, [prof.columns[column].bins])
    if column not in counts.counts:
        raise ObsError(f"Column {column!r} cannot be compared: {counts.skipped.get(column, 'missing in primary')}.")
    b = prof.columns[column].bins
    rc = prof.columns[column].counts
    pc = counts.counts[column][0]
    q, p = smoothed(rc, alpha), smoothed(pc, alpha)
    bounds = b.bounds + [(math.nan, math.nan)] * (b.n_bins - len(b.bounds))
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame({
            "bin": np.arange(b.n_bins), "label": list(b.labels), "bin_type": list(b.bin_types),
            "lower": [lo for lo, _ in bounds], "upper": [hi for _, hi in bounds],
            "reference_count": rc, "primary_count": pc,
            "reference_share": rc / rc.sum() if rc.sum() else np.zeros(len(rc)),
            "primary_share": pc / pc.sum() if pc.sum() else np.zeros(len(pc)),
            "reference_smoothed": q, "primary_smoothed": p,
            "psi_term": np.where(p == q, 0.0, (p - q) * np.log(p / q)),
        })


# ================================================================================================
# Embedding drift
# ================================================================================================

@dataclass(frozen=True)
class EmbeddingDrift:
    """Embedding drift between reference and primary.

    ``euclidean``: distance between the centroids (mean vectors over *all* rows with a finite vector);
    ``cosine``: cosine distance ``1 − cos`` between the centroids; ``auc``: ROC AUC of a domain classifier
    (5-fold stratified cross-validated logistic regression on PCA(≤50) of seeded samples; 0.5 = the sets are
    indistinguishable, 1.0 = fully separable), ``auc_std`` its spread over the folds; ``n_sampled``,
    ``n_valid`` (rows with a finite vector), ``n_skipped`` (rows whose vector is NULL, of the wrong length, or
    holds a NULL/NaN/inf) per dataset.
    """

    embedding: str
    vector_column: str
    dimension: int
    euclidean: float
    cosine: float
    auc: float
    auc_std: float
    n_sampled: Mapping[str, int]
    n_valid: Mapping[str, int]
    n_skipped: Mapping[str, int]
    rule: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


_ARRAY_RE = re.compile(r"\[(\d+)\]$")


def vector_column(schema: Schema, embedding: str) -> str:
    """The vector column of an embedding name (or a vector column named directly)."""
    emb = schema.all_embeddings()
    if embedding in emb:
        return emb[embedding].vector
    for e in emb.values():
        if e.vector == embedding:
            return embedding
    raise ObsError(f"There is no embedding named {embedding!r}.",
                   "Pick one of: " + (", ".join(emb) if emb else "(the schema has no embeddings)"))


def vector_dimension(views: Sequence[View], column: str) -> int:
    """Length of the vectors: from a fixed-size ARRAY type, else the most common list length (first view
    that has one)."""
    dims = set()
    for v in views:
        t = v.columns().get(column)
        if t is None:
            continue
        if v.kind(column) != "vector":
            raise ObsError(f"Column {column!r} does not hold vectors ({t}).")
        m = _ARRAY_RE.search(t)
        if m:
            dims.add(int(m.group(1)))
    if len(dims) > 1:
        raise ObsError(f"The vectors in {column!r} have different lengths in the two datasets: "
                       f"{', '.join(map(str, sorted(dims)))}.")
    if dims:
        return dims.pop()
    for v in views:
        if column not in v.columns():
            continue
        w = v.where()
        r = v.store.fetchall(f"SELECT len({quote(column)}) AS l, count(*) AS n FROM {v.table} "
                                      f"WHERE ({w.sql}) AND {quote(column)} IS NOT NULL GROUP BY l "
                                      f"ORDER BY n DESC, l LIMIT 1", w.params)
        if r and r[0][0]:
            return int(r[0][0])
    return 0


def valid_vector_sql(column: str, dim: int) -> str:
    """A finite vector of the right length: not NULL, ``dim`` non-NULL elements, finite sum (NaN/inf fail)."""
    lv = f"CAST({quote(column)} AS DOUBLE[])"
    return (f"({quote(column)} IS NOT NULL AND len({lv}) = {int(dim)} AND list_count({lv}) = {int(dim)} "
            f"AND isfinite(list_sum({lv})))")


def centroid_aggs(dim: int, alias: str = "__obs_x") -> list[str]:
    return [f"avg({alias}[{j}])" for j in range(1, dim + 1)]


def centroid(view: View, column: str, dim: int) -> tuple[np.ndarray, int, int]:
    """(mean vector over all rows with a finite vector, rows with one, all rows) in one DuckDB pass (cached)."""
    key = ("obs.drift.centroid", view.key, column, dim)
    cache = view.store.cache
    if key in cache:
        return cache[key]
    w = view.where()
    inner = (f"SELECT CASE WHEN {valid_vector_sql(column, dim)} THEN CAST({quote(column)} AS DOUBLE[]) END "
             f"AS __obs_x FROM {view.table} WHERE {w.sql}")
    sql = f"SELECT count(*), count(__obs_x), {', '.join(centroid_aggs(dim))} FROM ({inner})"
    r = view.store.fetchall(sql, w.params)[0]
    n_all, n_ok = int(r[0]), int(r[1])
    c = np.array([np.nan if v is None else v for v in r[2:]], dtype=np.float64)
    cache[key] = (c, n_ok, n_all)
    return cache[key]


def sample_vectors(view: View, column: str, dim: int, n: int, random_state: int) -> np.ndarray:
    """Up to ``n`` finite vectors drawn at random with a seed (``hash(__obs_row_id, seed)`` order)."""
    sql, params = binning.sample_sql(view, f"CAST({quote(column)} AS DOUBLE[]) AS v", n, random_state,
                                     extra_condition=valid_vector_sql(column, dim))
    data = view.store.fetchnumpy(sql, params)
    vals = data["v"]
    if len(vals) == 0:
        return np.empty((0, dim))
    return np.stack([np.asarray(x, dtype=np.float64) for x in vals])


def domain_auc(reference: np.ndarray, primary: np.ndarray, *, random_state: int = 0, n_splits: int = 5,
               max_components: int = 50) -> tuple[float, float]:
    """(mean, std over folds) ROC AUC of a domain classifier telling primary (1) from reference (0) vectors.

    The pooled sample is reduced with PCA to ``min(50, dim)`` components (fitted once on all sampled vectors;
    PCA never sees the labels), then a logistic regression is scored by stratified ``n_splits``-fold
    cross-validation (shuffled with ``random_state``). NaN when a set has fewer than ``n_splits`` vectors.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    n_r, n_p = len(reference), len(primary)
    if min(n_r, n_p) < n_splits:
        return math.nan, math.nan
    X = np.vstack([reference, primary])
    y = np.r_[np.zeros(n_r, dtype=int), np.ones(n_p, dtype=int)]
    k = max(1, min(max_components, X.shape[1], len(X) - 1))
    if k < X.shape[1]:
        X = PCA(n_components=k, random_state=random_state).fit_transform(X)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    scores = cross_val_score(LogisticRegression(max_iter=1000), X, y, cv=cv, scoring="roc_auc")
    return float(np.mean(scores)), float(np.std(scores))


def embedding_drift(reference: View | None, primary: View, schema: Schema, embedding: str, *,
                    sample_size: int = 5000, random_state: int = 0) -> EmbeddingDrift:
    """Centroid distances over all rows and a domain-classifier AUC on ≤ ``sample_size`` sampled vectors per set.

    Rows whose vector is NULL, of another length, or holds a NULL/NaN/inf element are skipped and counted.
    """
    reference = _need_reference(reference)
    col = vector_column(schema, embedding)
    for v, name in ((reference, "reference"), (primary, "primary")):
        if col not in v.columns():
            raise NotEnoughData(f"The {name} data has no column {col!r} for embedding {embedding!r}.")
    dim = vector_dimension([reference, primary], col)
    if dim <= 0:
        raise NotEnoughData(f"Embedding {embedding!r} has no vectors.", "Check the vector column of the schema.")
    c_r, ok_r, all_r = centroid(reference, col, dim)
    c_p, ok_p, all_p = centroid(primary, col, dim)
    notes = []
    if ok_r == 0 or ok_p == 0:
        which = "reference" if ok_r == 0 else "primary"
        raise NotEnoughData(f"The {which} data has no finite {dim}-dimensional vector in {col!r}"
                            f"{' under the current filters' if all_r and all_p else ''}.",
                            "Check the filters or the embedding column.")
    eu = float(np.linalg.norm(c_p - c_r))
    nr, npn = float(np.linalg.norm(c_r)), float(np.linalg.norm(c_p))
    cos = float(1.0 - (c_r @ c_p) / (nr * npn)) if nr > 0 and npn > 0 else math.nan
    x_r = sample_vectors(reference, col, dim, sample_size, random_state)
    x_p = sample_vectors(primary, col, dim, sample_size, random_state)
    auc, auc_sd = domain_auc(x_r, x_p, random_state=random_state)
    if not np.isfinite(auc):
        notes.append("too few vectors for the domain classifier (at least 5 per dataset)")
    skipped = {"reference": all_r - ok_r, "primary": all_p - ok_p}
    if any(skipped.values()):
        notes.append(f"skipped rows without a finite vector: {skipped['reference']:,} reference, "
                     f"{skipped['primary']:,} primary")
    k = min(50, dim)
    rule = (f"Centroids over all rows with a finite vector ({ok_r:,} reference, {ok_p:,} primary); "
            f"AUC: 5-fold cross-validated logistic regression on PCA({k}) of up to {sample_size:,} vectors per "
            f"dataset sampled with seed {random_state}; 0.5 = indistinguishable, 1.0 = fully separable.")
    return EmbeddingDrift(embedding=embedding, vector_column=col, dimension=dim, euclidean=eu, cosine=cos,
                          auc=auc, auc_std=auc_sd, n_sampled={"reference": len(x_r), "primary": len(x_p)},
                          n_valid={"reference": ok_r, "primary": ok_p}, n_skipped=skipped, rule=rule,
                          note="; ".join(notes) or None)
