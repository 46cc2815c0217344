"""Model performance by model type: overall, per time window, per segment; segments, fairness, cluster metrics.

Rules
-----
- **Which rows count.** A row is *evaluated* when it has an actual and a prediction (and a score, if the
  dataset has a score column and the model is a binary classifier). Rows without an actual are counted in
  ``n_missing_actuals``; rows with an actual but no prediction in ``n_missing_predictions``; neither is
  dropped silently. Missing = NULL, NaN / ±inf for numbers, blank text.
- **Labels are compared as text**: text as is; booleans as ``True``/``False``; integers and integral floats as
  integers (``1.0`` -> ``"1"``), so ``positive_class="1"`` matches 1, 1.0 and "1".
- **Binary**: positive class = ``positive_class=`` or ``schema.positive_class``; the score
  (``prediction_score``) is the probability of the positive class. Without a prediction label column the
  predicted label is ``score >= threshold`` (0.5). Metrics: ``accuracy, precision, recall, f1`` (precision
  and F1 are 0 when undefined, like scikit-learn's ``zero_division``), and with scores ``roc_auc`` (Mann–
  Whitney with ties counted ½, NaN unless both classes occur), ``pr_auc`` (average precision, step-wise as
  scikit-learn's ``average_precision_score``; NaN without positives), ``log_loss`` (scores clipped to
  [eps, 1-eps], eps = float64 machine epsilon) and ``brier``.
- **Multiclass**: ``accuracy``, ``macro_*`` and ``weighted_*`` precision / recall / F1 over the labels that
  occur as actual or prediction, and per class (``class`` column) ``precision, recall, f1, support``.
- **Regression**: prediction from ``prediction_score`` else a numeric ``prediction_label``; actual from
  ``actual_score`` else a numeric ``actual_label``. ``mae, rmse, mape, r2, mean_error`` (prediction −
  actual). MAPE leaves out rows whose actual is 0 (the ``note`` says how many) and is a fraction, not percent.
  R² is 1.0 for a perfect fit of constant actuals and 0.0 otherwise when the actuals are constant, NaN with
  fewer than 2 rows (as scikit-learn).
- Counts and sums are computed in DuckDB with ``GROUP BY`` (windows, segments, clusters); for ROC AUC and
  average precision only (group, score, actual) of evaluated rows are fetched and ranked in numpy (sorting
  in DuckDB window functions was several times slower). Values equal scikit-learn's on the same rows up to
  floating-point summation order.
- **Windows**: primary rows per calendar window (``date_trunc`` in UTC, ISO weeks; "auto" picks the granularity
  with ``timeseries.choose_granularity``: 20–60 windows); the reference as a whole (``window_start`` NaT). Rows
  without a timestamp belong to no window; only windows with rows are returned. ``too_few_rows`` marks windows
  with fewer than 30 evaluated rows.
- **Segments**: categorical columns (text, bool, and numbers with at most 10 distinct values) — one segment
  per value in either dataset (the 50 most frequent overall, the rest pooled as ``(other)``);
  numeric columns — ``n_bins`` quantile bins fitted on the **reference** (the primary when there is no
  reference) so both datasets are cut at the same edges: ``< e1``, ``[e1, e2)``, ..., ``>= ek``.
  Missing values form the ``(missing)`` segment.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import NotEnoughData, ObsError
from .quality import MIN_WINDOW_ROWS, _blank_sql, _fetch, _resolve_granularity, _window_end, _window_sql
from .schema import ModelType, Schema
from .store import ROW_ID, Store, View, quote

EPS = float(np.finfo(np.float64).eps)
THRESHOLD = 0.5
MAX_SEGMENTS = 50
CATEGORICAL_MAX_DISTINCT = 10
MISSING = "(missing)"
OTHER = "(other)"
FOUR_FIFTHS = (0.8, 1.25)

BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier")
MULTICLASS_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
                      "weighted_recall", "weighted_f1")
PER_CLASS_METRICS = ("precision", "recall", "f1", "support")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2", "mean_error")

_HIGHER = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2", "tpr", "selection_rate", "support"}
_LOWER = {"log_loss", "brier", "mae", "rmse", "mape", "fpr"}
COUNT_COLS = ["n_rows", "n_missing_actuals", "n_missing_predictions"]


# =================================================================================================
# Small public helpers
# =================================================================================================

def headline_metric(model_type: ModelType | str | None) -> str:
    """The one number pages lead with: ``accuracy`` for classification, ``mae`` for regression."""
    mt = _model_type_or_raise(model_type)
    return "mae" if mt is ModelType.REGRESSION else "accuracy"


def metric_direction(metric: str) -> str:
    """``"higher"`` when a larger value is better (accuracy, F1, AUC, R², ...), ``"lower"`` when smaller is
    better (log loss, Brier, MAE, RMSE, MAPE). ``mean_error`` (bias) returns ``"zero"``: closer to 0 is better,
    so compare absolute values."""
    m = metric
    for prefix in ("macro_", "weighted_"):
        if m.startswith(prefix):
            m = m[len(prefix):]
    if m == "mean_error":
        return "zero"
    if m in _HIGHER:
        return "higher"
    if m in _LOWER:
        return "lower"
    raise ObsError(f"Unknown metric {metric!r}.")


def metrics_for(model_type: ModelType | str | None) -> tuple[str, ...]:
    """The overall metric names :func:`performance` can return for a model type."""
    mt = _model_type_or_raise(model_type)
    return {ModelType.BINARY: BINARY_METRICS, ModelType.MULTICLASS: MULTICLASS_METRICS,
            ModelType.REGRESSION: REGRESSION_METRICS}[mt]


def _model_type_or_raise(model_type: Any) -> ModelType:
    if model_type is None:
        raise NotEnoughData("The schema has no model type, so performance cannot be computed.",
                            "Set the model type (binary, multiclass or regression) in the schema form.")
    return model_type if isinstance(model_type, ModelType) else ModelType(model_type)


# =================================================================================================
# Reading predictions and actuals (SQL expressions per dataset)
# =================================================================================================

@dataclass(frozen=True)
class _Ctx:
    model_type: ModelType
    positive: str | None
    threshold: float
    negative: str | None   # label for "score < threshold" when there is no prediction label column


def _ctx(schema: Schema, positive_class: Any, threshold: float, views: Iterable[View | None]) -> _Ctx:
    mt = _model_type_or_raise(schema.model_type)
    if mt is ModelType.REGRESSION:
        return _Ctx(mt, None, threshold, None)
    if mt is ModelType.BINARY:
        pos = positive_class if positive_class is not None else schema.positive_class
        if pos is None:
            raise NotEnoughData("Binary metrics need to know the positive class.",
                                "Set the positive class in the schema form.")
        if not schema.prediction_label and not schema.prediction_score:
            raise NotEnoughData("The schema maps no prediction label or score column.",
                                "Map the prediction columns in the schema form.")
        neg = None
        if not schema.prediction_label:
            neg = _negative_label(schema, str(pos), [v for v in views if v is not None])
        return _Ctx(mt, str(pos), threshold, neg)
    if not schema.prediction_label:
        raise NotEnoughData("Multiclass metrics need a prediction label column.",
                            "Map the prediction label in the schema form.")
    return _Ctx(mt, None, threshold, None)


def _negative_label(schema: Schema, pos: str, views: list[View]) -> str:
    """The most frequent actual label other than the positive class (for score-only binary models)."""
    col = schema.actual_label
    counts: dict[str, int] = {}
    positives = {pos}
    for v in views:
        if not col or col not in v.columns():
            continue
        expr = _label_expr(col, v.kind(col), v.columns()[col])
        positives.add(_norm_pos(pos, v.kind(col)))
        for val, k in _fetch(v.store, f"SELECT {expr} AS a, count(*) FROM {v.table} WHERE {expr} IS NOT NULL "
                                      f"GROUP BY 1 ORDER BY 2 DESC LIMIT 5", all_rows=True):
            counts[val] = counts.get(val, 0) + k
    others = sorted(((k, v) for v, k in counts.items() if v not in positives), reverse=True)
    return others[0][1] if others else f"not {pos}"


def _is_float_type(t: str) -> bool:
    return t.upper() in ("FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8")


def _label_expr(col: str, kind: str | None, duck_type: str) -> str:
    """A label as text: blank -> NULL, booleans True/False, integral numbers without a decimal point."""
    q = quote(col)
    if kind == "text":
        return f"CASE WHEN {_blank_sql(q)} THEN NULL ELSE {q} END"
    if kind == "bool":
        return f"CASE WHEN {q} THEN 'True' WHEN NOT {q} THEN 'False' END"
    if kind == "number":
        if _is_float_type(duck_type) or duck_type.upper().startswith("DECIMAL"):
            d = f"CAST({q} AS DOUBLE)"
            return (f"CASE WHEN NOT isfinite({d}) THEN NULL WHEN {d} = trunc({d}) AND abs({d}) < 1e15 "
                    f"THEN CAST(CAST({d} AS BIGINT) AS VARCHAR) ELSE CAST({d} AS VARCHAR) END")
        return f"CAST({q} AS VARCHAR)"
    return f"CAST({q} AS VARCHAR)"


def _norm_pos(pos: str, kind: str | None) -> str:
    """The positive class written the way :func:`_label_expr` writes labels of that kind."""
    if kind == "bool":
        low = pos.strip().lower()
        return "True" if low in ("true", "1", "yes", "t") else "False" if low in ("false", "0", "no", "f") else pos
    if kind == "number":
        try:
            f = float(pos)
        except ValueError:
            return pos
        if math.isfinite(f) and f == int(f) and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    return pos


def _num_expr(col: str, kind: str | None) -> str:
    q = quote(col)
    d = f"CAST({q} AS DOUBLE)" if kind == "number" else f"TRY_CAST({q} AS DOUBLE)"
    return f"CASE WHEN isfinite({d}) THEN {d} END"


def _base(view: View, schema: Schema, ctx: _Ctx, *, extra: Sequence[tuple[str, str, list]] = (),
          source: str | None = None, where: tuple[str, tuple] | None = None) -> tuple[str, list]:
    """SQL selecting, per row: the ``extra`` group columns and

    - classification: ``a`` (actual label), ``p`` (predicted label), ``s`` (score or NULL), ``a_pos``,
      ``p_pos`` (binary), ``ok`` (evaluated);
    - regression: ``y`` (actual), ``yhat`` (prediction), ``ok``.

    ``source``/``where`` override the view's table and WHERE (for joins with registered tables).
    """
    cols = view.columns()
    kind = view.kind
    inner: list[str] = []
    params: list[Any] = []
    for alias, sql, p in extra:
        inner.append(f"{sql} AS {quote(alias)}")
        params += p
    outer_params: list[Any] = []
    if ctx.model_type is ModelType.REGRESSION:
        ycol = next((c for c in (schema.actual_score, schema.actual_label) if c and c in cols), None)
        pcol = next((c for c in (schema.prediction_score, schema.prediction_label) if c and c in cols), None)
        inner.append(f"{_num_expr(ycol, kind(ycol)) if ycol else 'CAST(NULL AS DOUBLE)'} AS y")
        inner.append(f"{_num_expr(pcol, kind(pcol)) if pcol else 'CAST(NULL AS DOUBLE)'} AS yhat")
        outer = "*, (y IS NOT NULL AND yhat IS NOT NULL) AS ok"
    else:
        acol = schema.actual_label if schema.actual_label in cols else None
        if acol is None and ctx.model_type is ModelType.BINARY and schema.actual_score in cols:
            acol = schema.actual_score
        lcol = schema.prediction_label if schema.prediction_label in cols else None
        scol = (schema.prediction_score if ctx.model_type is ModelType.BINARY and schema.prediction_score in cols
                and kind(schema.prediction_score) == "number" else None)
        inner.append(f"{_label_expr(acol, kind(acol), cols[acol]) if acol else 'CAST(NULL AS VARCHAR)'} AS a")
        inner.append(f"{_num_expr(scol, 'number') if scol else 'CAST(NULL AS DOUBLE)'} AS s")
        if lcol:
            inner.append(f"{_label_expr(lcol, kind(lcol), cols[lcol])} AS p")
        elif scol and ctx.model_type is ModelType.BINARY:
            inner.append(f"CASE WHEN {_num_expr(scol, 'number')} >= ? THEN ? "
                         f"WHEN {_num_expr(scol, 'number')} < ? THEN ? END AS p")
            params += [ctx.threshold, _norm_pos(ctx.positive, kind(acol) if acol else None), ctx.threshold,
                       ctx.negative]
        else:
            inner.append("CAST(NULL AS VARCHAR) AS p")
        ok = "a IS NOT NULL AND p IS NOT NULL" + (" AND s IS NOT NULL" if scol else "")
        outer = f"*, ({ok}) AS ok"
        if ctx.model_type is ModelType.BINARY:
            outer += ", (a = ?) AS a_pos, (p = ?) AS p_pos"
            a_pos = _norm_pos(ctx.positive, kind(acol) if acol else None)
            outer_params += [a_pos, _norm_pos(ctx.positive, kind(lcol)) if lcol else a_pos]
    if where is None:
        w = view.where()
        where = (w.sql, w.params)
    src = source or view.table
    sql = f"SELECT {outer} FROM (SELECT {', '.join(inner)} FROM {src} WHERE {where[0]})"
    return sql, [*outer_params, *params, *where[1]]


# =================================================================================================
# Grouped statistics (one DuckDB pass per statistic family) and metrics from them
# =================================================================================================

def _groups_sql(aliases: Sequence[str]) -> tuple[str, str]:
    """(select-list prefix, GROUP BY clause) for the group aliases."""
    if not aliases:
        return "", ""
    q = ", ".join(quote(a) for a in aliases)
    return q + ", ", f"GROUP BY {q}"


RANK_METRICS = ("roc_auc", "pr_auc")
_COUNTS = ("n_total", "n_missing_actuals", "n_missing_predictions", "n", "correct", "tp", "fp", "fn", "tn",
           "n_scored", "n_zero", "n_predicted", "n_predicted_pos")


def _fill_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Counting aggregates over no rows come back NULL from an ungrouped query: make them 0."""
    for c in _COUNTS:
        if c in df.columns:
            df[c] = df[c].fillna(0).astype("int64")
    return df


def _stats(store: Store, base: tuple[str, list], ctx: _Ctx, aliases: Sequence[str], *, ranks: bool = True
           ) -> pd.DataFrame:
    """One row per group with counts/sums; for binary with scores and ``ranks`` also the AUC / AP numerators
    (a second pass, :func:`_rank_stats`)."""
    sel, grp = _groups_sql(aliases)
    sql, params = base
    common = ("count(*) AS n_total, count_if(NOT ok AND {a} IS NULL) AS n_missing_actuals, "
              "count_if(NOT ok AND {a} IS NOT NULL) AS n_missing_predictions, count_if(ok) AS n")
    if ctx.model_type is ModelType.REGRESSION:
        aggs = common.format(a="y") + (
            ", sum(abs(yhat - y)) FILTER (WHERE ok) AS sae, sum((yhat - y) * (yhat - y)) FILTER (WHERE ok) AS sse"
            ", sum(yhat - y) FILTER (WHERE ok) AS se, var_pop(y) FILTER (WHERE ok) AS var_y"
            ", count_if(ok AND y = 0) AS n_zero, sum(abs(yhat - y) / abs(y)) FILTER (WHERE ok AND y <> 0) AS sape")
        return _fill_counts(store.df(f"SELECT {sel}{aggs} FROM ({sql}) {grp}", params))
    aggs = common.format(a="a") + ", count_if(ok AND p = a) AS correct"
    if ctx.model_type is ModelType.BINARY:
        clip = f"least(greatest(s, {EPS!r}), {1 - EPS!r})"
        aggs += (", count_if(ok AND p_pos AND a_pos) AS tp, count_if(ok AND p_pos AND NOT a_pos) AS fp"
                 ", count_if(ok AND NOT p_pos AND a_pos) AS fn, count_if(ok AND NOT p_pos AND NOT a_pos) AS tn"
                 ", count_if(ok AND s IS NOT NULL) AS n_scored"
                 f", sum(CASE WHEN a_pos THEN -ln({clip}) ELSE -ln(1 - {clip}) END) FILTER (WHERE ok) AS ll_sum"
                 ", sum((s - CAST(a_pos AS DOUBLE)) * (s - CAST(a_pos AS DOUBLE))) FILTER (WHERE ok) AS brier_sum"
                 ", count_if(p IS NOT NULL) AS n_predicted, count_if(p IS NOT NULL AND p_pos) AS n_predicted_pos")
    stats = _fill_counts(store.df(f"SELECT {sel}{aggs} FROM ({sql}) {grp}", params))
    if ranks and ctx.model_type is ModelType.BINARY and len(stats) and stats["n_scored"].sum() > 0:
        rk = _rank_stats(store, base, aliases)
        stats = stats.merge(rk, on=list(aliases), how="left") if aliases else pd.concat([stats, rk], axis=1)
    return stats


def _rank_stats(store: Store, base: tuple[str, list], aliases: Sequence[str]) -> pd.DataFrame:
    """ROC AUC and average-precision numerators per group, vectorised in numpy.

    Only (group keys, score, actual-is-positive) of evaluated rows are fetched; rows are sorted by (group,
    score) and cut into runs of equal score. For a run with ``pos`` positives and ``neg`` negatives and
    ``pos_below``/``neg_below`` rows of lower score in its group (P, N = group totals):
    AUC·P·N = Σ pos·(neg_below + ½·neg) (Mann–Whitney, ties ½); AP·P = Σ pos·TP/(TP+FP) with
    TP = P − pos_below and FP = N − neg_below (scores ≥ this one), as scikit-learn's step-wise average precision.
    """
    sql, params = base
    keys = ", ".join(quote(a) for a in aliases)
    df = store.df(f"SELECT {keys + ', ' if aliases else ''}s, a_pos FROM ({sql}) WHERE ok AND s IS NOT NULL", params)
    cols = ["auc_num", "n_pos", "n_neg", "ap_num"]
    if df.empty:
        return pd.DataFrame(columns=[*aliases, *cols])
    if aliases:
        codes = df.groupby(list(aliases), dropna=False, sort=False).ngroup().to_numpy()
    else:
        codes = np.zeros(len(df), dtype=np.int64)
    score = df["s"].to_numpy(dtype=np.float64)
    y = df["a_pos"].to_numpy(dtype=bool)
    order = np.lexsort((score, codes))
    score, y, codes = score[order], y[order], codes[order]
    new = np.ones(len(score), dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (score[1:] != score[:-1])
    starts = np.flatnonzero(new)
    cnt = np.diff(np.append(starts, len(score)))
    pos = np.add.reduceat(y.astype(np.int64), starts)
    neg = cnt - pos
    rc = codes[starts]                                    # group of each run (runs are sorted by group)
    groups = int(codes.max()) + 1
    first = np.flatnonzero(np.r_[True, rc[1:] != rc[:-1]])
    first_of_run = np.repeat(first, np.diff(np.append(first, len(rc))))
    cpos, cneg = np.cumsum(pos), np.cumsum(neg)
    pos_below = (cpos - pos) - (cpos[first_of_run] - pos[first_of_run])
    neg_below = (cneg - neg) - (cneg[first_of_run] - neg[first_of_run])
    P = np.bincount(rc, weights=pos, minlength=groups)
    N = np.bincount(rc, weights=neg, minlength=groups)
    tp, fp = P[rc] - pos_below, N[rc] - neg_below
    out = pd.DataFrame({"auc_num": np.bincount(rc, weights=pos * (neg_below + 0.5 * neg), minlength=groups),
                        "n_pos": P, "n_neg": N,
                        "ap_num": np.bincount(rc, weights=pos * tp / (tp + fp), minlength=groups)})
    if aliases:
        firsts = np.unique(codes, return_index=True)[1]
        key_rows = df.iloc[order[firsts]][list(aliases)].reset_index(drop=True)
        out = pd.concat([key_rows, out], axis=1)
    return out


def _confusion(store: Store, base: tuple[str, list], aliases: Sequence[str]) -> pd.DataFrame:
    sel, grp = _groups_sql(aliases)
    sql, params = base
    return store.df(f"SELECT {sel}a AS actual, p AS predicted, count(*) AS count FROM ({sql}) WHERE ok "
                    f"GROUP BY ALL", params)


def _div(a: float, b: float, default: float = 0.0) -> float:
    return float(a) / float(b) if b else default


def _nan(x: Any) -> float:
    return float("nan") if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA else float(x)


def _binary_metrics(r: pd.Series) -> list[tuple[str, float, str | None, str]]:
    n = int(r["n"])
    if n == 0:
        return []
    tp, fp, fn, tn = (int(r[k]) for k in ("tp", "fp", "fn", "tn"))
    out = [("accuracy", _div(r["correct"], n), None, ""),
           ("precision", _div(tp, tp + fp), None, "" if tp + fp else "no positive predictions: 0 by convention"),
           ("recall", _div(tp, tp + fn), None, "" if tp + fn else "no positive actuals: 0 by convention"),
           ("f1", _div(2 * tp, 2 * tp + fp + fn), None, "")]
    if int(r.get("n_scored", 0) or 0) > 0:
        npos, nneg = _nan(r.get("n_pos")), _nan(r.get("n_neg"))
        auc = _nan(r.get("auc_num")) / (npos * nneg) if npos > 0 and nneg > 0 else float("nan")
        ap = _nan(r.get("ap_num")) / npos if npos > 0 else float("nan")
        out += [("roc_auc", auc, None, "" if npos > 0 and nneg > 0 else "needs both classes among the actuals"),
                ("pr_auc", ap, None, "" if npos > 0 else "no positive actuals"),
                ("log_loss", _nan(r["ll_sum"]) / n, None, ""),
                ("brier", _nan(r["brier_sum"]) / n, None, "")]
    return out


def _regression_metrics(r: pd.Series) -> list[tuple[str, float, str | None, str]]:
    n = int(r["n"])
    if n == 0:
        return []
    sse = _nan(r["sse"])
    sst = _nan(r["var_y"]) * n
    if n < 2:
        r2, note = float("nan"), "needs at least 2 rows"
    elif sst == 0:
        r2, note = (1.0 if sse == 0 else 0.0), "actuals are constant"
    else:
        r2, note = 1.0 - sse / sst, ""
    nz = int(r["n_zero"])
    nm = n - nz
    return [("mae", _nan(r["sae"]) / n, None, ""), ("rmse", math.sqrt(sse / n), None, ""),
            ("mape", _nan(r["sape"]) / nm if nm else float("nan"), None,
             f"{nz:,} row{'s' if nz != 1 else ''} with actual = 0 left out" if nz else ""),
            ("r2", r2, None, note), ("mean_error", _nan(r["se"]) / n, None, "")]


def _multiclass_metrics(n: int, correct: int, conf: pd.DataFrame) -> list[tuple[str, float, str | None, str]]:
    """From one group's confusion counts (actual, predicted, count)."""
    if n == 0:
        return []
    labels = sorted(set(conf["actual"]) | set(conf["predicted"]))
    tp = conf[conf["actual"] == conf["predicted"]].groupby("actual")["count"].sum()
    pred = conf.groupby("predicted")["count"].sum()
    true = conf.groupby("actual")["count"].sum()
    out = [("accuracy", _div(correct, n), None, "")]
    per = []
    for k in labels:
        t, pp, s = int(tp.get(k, 0)), int(pred.get(k, 0)), int(true.get(k, 0))
        per.append((k, _div(t, pp), _div(t, s), _div(2 * t, pp + s), s))
    if per:
        arr = np.array([[p, r, f, s] for _, p, r, f, s in per], dtype=float)
        w = arr[:, 3] / arr[:, 3].sum() if arr[:, 3].sum() else np.zeros(len(arr))
        for j, name in enumerate(("precision", "recall", "f1")):
            out.append((f"macro_{name}", float(arr[:, j].mean()), None, ""))
        for j, name in enumerate(("precision", "recall", "f1")):
            out.append((f"weighted_{name}", float((arr[:, j] * w).sum()), None, ""))
        for k, p, r, f, s in per:
            out += [("precision", p, k, ""), ("recall", r, k, ""), ("f1", f, k, ""), ("support", float(s), k, "")]
    return out


def _long(stats: pd.DataFrame, ctx: _Ctx, aliases: Sequence[str], conf: pd.DataFrame | None,
          dataset: str) -> pd.DataFrame:
    """Tidy metric rows from grouped stats: a ``count`` row per group plus its metric rows."""
    rows = []
    for _, r in stats.iterrows():
        keys = {a: r[a] for a in aliases}
        counts = {"n_rows": int(r["n"]), "n_missing_actuals": int(r["n_missing_actuals"]),
                  "n_missing_predictions": int(r["n_missing_predictions"])}
        rows.append({"metric": "count", "dataset": dataset, "value": float(r["n_total"]), "class": None,
                     **counts, **keys, "note": "rows in the group (n_rows of them evaluated)"})
        if ctx.model_type is ModelType.BINARY:
            ms = _binary_metrics(r)
        elif ctx.model_type is ModelType.REGRESSION:
            ms = _regression_metrics(r)
        else:
            c = conf
            for a in aliases:
                c = c[(c[a] == r[a]) | (c[a].isna() & pd.isna(r[a]))]
            ms = _multiclass_metrics(int(r["n"]), int(r["correct"]), c)
        for metric, value, cls, note in ms:
            rows.append({"metric": metric, "dataset": dataset, "value": value, "class": cls, **counts, **keys,
                         "note": note})
    return pd.DataFrame(rows, columns=[*OUT_COLUMNS, *aliases])


def _grouped_metrics(view: View, schema: Schema, ctx: _Ctx, extra: Sequence[tuple[str, str, list]] = (), *,
                     ranks: bool = True) -> pd.DataFrame:
    aliases = [a for a, _, _ in extra]
    base = _base(view, schema, ctx, extra=extra)
    stats = _stats(view.store, base, ctx, aliases, ranks=ranks)
    conf = _confusion(view.store, base, aliases) if ctx.model_type is ModelType.MULTICLASS else None
    return _long(stats, ctx, aliases, conf, view.dataset)


# =================================================================================================
# Segments (a column cut into categories or reference-fitted quantile bins)
# =================================================================================================

@dataclass(frozen=True)
class _Segmenter:
    column: str
    kind: str                    # "category" | "bins"
    order: tuple[str, ...]       # segment labels in display order
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] | None = None   # None: every value is its own segment

    def sql(self, view: View) -> tuple[str, list]:
        cols = view.columns()
        if self.column not in cols:
            return "CAST(? AS VARCHAR)", [MISSING]
        if self.kind == "bins":
            x = _num_expr(self.column, view.kind(self.column))
            parts, params = [f"WHEN {x} IS NULL THEN ?"], [MISSING]
            for e, label in zip(self.edges, self.order):
                parts.append(f"WHEN {x} < ? THEN ?")
                params += [e, label]
            parts.append("ELSE ?")
            params.append(self.order[len(self.edges)])
            return "CASE " + " ".join(parts) + " END", params
        x = _label_expr(self.column, view.kind(self.column), cols[self.column])
        if self.categories is None:
            return f"coalesce({x}, ?)", [MISSING]
        ph = ", ".join("?" for _ in self.categories)
        return (f"CASE WHEN {x} IS NULL THEN ? WHEN {x} IN ({ph}) THEN {x} ELSE ? END",
                [MISSING, *self.categories, OTHER])


def _g(x: float) -> str:
    return f"{x:.6g}"


def _segmenter(reference: View | None, primary: View, column: str, *, n_bins: int,
               max_segments: int = MAX_SEGMENTS) -> _Segmenter:
    views = [v for v in (reference, primary) if v is not None and column in v.columns()]
    if not views:
        raise ObsError(f"There is no column named {column!r} to segment by.", "Pick one of the dataset's columns.")
    kinds = {v.kind(column) for v in views}
    if kinds & {"vector", "other"}:
        raise ObsError(f"Column {column!r} holds {views[0].columns()[column]} values and cannot form segments.")
    if kinds == {"number"}:
        x = _num_expr(column, "number")
        fit, ndv = views[-1], 0
        for fit in views:       # the reference when it has values here (filters may leave it empty), else the primary
            w = fit.where()
            ndv = _fetch(fit.store, f"SELECT count(DISTINCT {x}) FROM {fit.table} WHERE {w.sql}", w.params)[0]
            if ndv:
                break
        if ndv > CATEGORICAL_MAX_DISTINCT:
            n_bins = max(2, int(n_bins))
            qs = [k / n_bins for k in range(1, n_bins)]
            edges = _fetch(fit.store, f"SELECT quantile_cont({x}, ?::DOUBLE[]) FROM {fit.table} WHERE {w.sql}",
                           [qs, *w.params])[0]
            edges = sorted(set(float(e) for e in edges if e is not None))
            labels = [f"< {_g(edges[0])}"] + [f"[{_g(a)}, {_g(b)})" for a, b in zip(edges, edges[1:])] + \
                     [f">= {_g(edges[-1])}"]
            return _Segmenter(column, "bins", tuple(labels) + (MISSING,), tuple(edges))
    # categories: union of both datasets' values, most frequent overall first
    counts: dict[str, int] = {}
    for v in views:
        x = _label_expr(column, v.kind(column), v.columns()[column])
        w = v.where()
        for val, k in _fetch(v.store, f"SELECT {x} AS x, count(*) FROM {v.table} WHERE ({w.sql}) AND {x} IS NOT NULL "
                             f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", [*w.params, max_segments + 1], all_rows=True):
            counts[val] = counts.get(val, 0) + int(k)
    ordered = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if len(ordered) <= max_segments:
        return _Segmenter(column, "category", tuple(ordered) + (MISSING,), categories=None)
    keep = tuple(ordered[:max_segments])
    return _Segmenter(column, "category", keep + (OTHER, MISSING), categories=keep)


# =================================================================================================
# performance
# =================================================================================================

OUT_COLUMNS = ["metric", "dataset", "value", "n_rows", "n_missing_actuals", "n_missing_predictions", "class", "note"]


def performance(reference: View | None, primary: View, schema: Schema, *, by: str | None = None,
                granularity: str | None = None, positive_class: Any = None, threshold: float = THRESHOLD,
                n_bins: int = 5) -> pd.DataFrame:
    """Performance metrics of both datasets (rules in the module docstring).

    Returns a tidy DataFrame: ``metric, dataset, value, n_rows`` (rows with both prediction and actual),
    ``n_missing_actuals, n_missing_predictions, class`` (per-class multiclass rows, else None), ``note``;
    plus ``segment`` with ``by=`` and ``window_start, window_end, too_few_rows`` with ``granularity=``
    (hour/day/week/month/"auto"; the reference is one row set with NaT windows). Every group also has a
    ``count`` row whose value is the group's total number of rows, so a dataset without actuals still
    shows its counts (and no metric rows). Raises ``NotEnoughData`` when the schema has no model type.
    """
    ctx = _ctx(schema, positive_class, threshold, (reference, primary))
    key = ("performance", reference.key if reference is not None else None, primary.key, schema.to_json(), by,
           granularity, ctx, n_bins)
    cache = primary.store.cache
    if key in cache:
        return cache[key].copy()
    g = _resolve_granularity(primary, granularity) if granularity is not None else None
    seg = _segmenter(reference, primary, by, n_bins=n_bins) if by is not None else None
    frames = []
    for view in (reference, primary):
        if view is None:
            continue
        extra = []
        if g is not None and view is primary:
            extra.append(("window_start", _window_sql(g), []))
        if seg is not None:
            s_sql, s_params = seg.sql(view)
            extra.append(("segment", s_sql, s_params))
        df = _grouped_metrics(view, schema, ctx, extra)
        if g is not None and view is primary and len(df):
            df = df[df["window_start"].notna()]
        frames.append(df)
    frames = [f for f in frames if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OUT_COLUMNS)
    cols = list(OUT_COLUMNS)
    sort = [out["dataset"].map({"reference": 0, "primary": 1})]
    if seg is not None:
        cols.append("segment")
        sort.append(out["segment"].map({s: k for k, s in enumerate(seg.order)}).fillna(len(seg.order)))
    if g is not None:
        if "window_start" not in out:
            out["window_start"] = pd.NaT
        out["window_start"] = pd.to_datetime(out["window_start"])
        out["window_end"] = _window_end(out["window_start"], g)
        out["too_few_rows"] = (out["dataset"] == "primary") & (out["n_rows"] < MIN_WINDOW_ROWS)
        cols += ["window_start", "window_end", "too_few_rows"]
        sort.insert(1, out["window_start"].isna().map(lambda x: 0 if x else 1))
        sort.insert(2, out["window_start"])
    if len(out):
        order = pd.DataFrame({f"k{i}": s.to_numpy() for i, s in enumerate(sort)})
        order["pos"] = np.arange(len(out))
        out = out.iloc[order.sort_values([*order.columns]).index.to_numpy()]
    out = out.reindex(columns=cols).reset_index(drop=True)
    for c in COUNT_COLS:
        out[c] = out[c].astype("int64")
    out["value"] = out["value"].astype(float)
    if g is not None:
        out.attrs["granularity"] = g
    cache[key] = out
    return out.copy()


# =================================================================================================
# confusion matrix
# =================================================================================================

def confusion_matrix(reference: View | None, primary: View, schema: Schema, *, positive_class: Any = None,
                     threshold: float = THRESHOLD) -> pd.DataFrame:
    """Counts of (actual, predicted) label pairs over evaluated rows, per dataset, every pair of the labels that
    occur in either dataset included (zeros too). Classification only.

    Returns ``dataset, actual, predicted, count`` (reference first, labels sorted as text).
    """
    if _model_type_or_raise(schema.model_type) is ModelType.REGRESSION:
        raise ObsError("A confusion matrix needs a classification model; this one is a regression.")
    ctx = _ctx(schema, positive_class, threshold, (reference, primary))
    frames = []
    for view in (reference, primary):
        if view is None:
            continue
        c = _confusion(view.store, _base(view, schema, ctx), [])
        c.insert(0, "dataset", view.dataset)
        frames.append(c)
    cm = pd.concat(frames, ignore_index=True)
    labels = sorted(set(cm["actual"]) | set(cm["predicted"]))
    full = pd.MultiIndex.from_product([[f["dataset"].iloc[0] if len(f) else v.dataset
                                        for f, v in zip(frames, [x for x in (reference, primary) if x is not None])],
                                       labels, labels], names=["dataset", "actual", "predicted"])
    out = cm.groupby(["dataset", "actual", "predicted"])["count"].sum().reindex(full, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    return out


# =================================================================================================
# calibration (binary)
# =================================================================================================

CALIBRATION_COLUMNS = ["dataset", "bin", "lower", "upper", "mean_score", "positive_rate", "n"]


def calibration(reference: View | None, primary: View, schema: Schema, *, n_bins: int = 10,
                positive_class: Any = None) -> pd.DataFrame:
    """Reliability table of a binary classifier: per dataset and score bin, the mean score and the actual
    positive rate.

    Rows counted: those with a finite score (``prediction_score``) **and** an actual label (a prediction label is
    not needed). Positive = the actual label equals the positive class (``positive_class=`` or
    ``schema.positive_class``), labels compared as text as in the module rules, so ``"1"``, 1 and 1.0 agree.

    Bins: the score column is cut as :func:`performance` ``(by=score, n_bins=n_bins)`` cuts it (the bins the
    Performance page has always shown): ``n_bins`` quantile bins (``quantile_cont``, deciles by default) of the
    **reference's** scores, of all its rows in the filters, whether or not they have an actual (the primary's
    when the reference has no scores here), duplicate edges merged; a score ``x`` is in bin ``[e_i, e_i+1)``,
    the first bin is ``x < e_1`` and the last ``x >= e_k``. ``lower``/``upper`` are the bin's edges, the open
    outer ends closed at ``min(0, e_1)`` and ``max(1, e_k)`` (the range of a probability). When the fitting
    dataset has at most 10 distinct scores, each distinct score is its own bin (``lower == upper``).

    Computed in DuckDB: one ``GROUP BY`` bin per dataset. Returns ``dataset, bin`` (label as the segment labels:
    ``< e1``, ``[e1, e2)``, ``>= ek``), ``lower, upper, mean_score`` (mean score of the bin's rows),
    ``positive_rate`` (share of them whose actual is the positive class), ``n`` (rows); reference first, bins in
    score order, bins without rows left out (a dataset without actuals has no rows). Raises ``NotEnoughData``
    for a model that is not a binary classifier, without a (numeric) score column or without a positive class.
    """
    mt = _model_type_or_raise(schema.model_type)
    if mt is not ModelType.BINARY:
        raise NotEnoughData(f"Calibration needs a binary classifier; this model is {mt.label.lower()}.",
                            "Calibration compares the score with the actual rate of the positive class.")
    score = schema.prediction_score
    views = [v for v in (reference, primary) if v is not None]
    if not score or not any(score in v.columns() for v in views):
        raise NotEnoughData("Calibration needs a prediction score column.", "Map the score in the schema form.")
    if any(score in v.columns() and v.kind(score) != "number" for v in views):
        raise NotEnoughData(f"The score column {score!r} is not numeric, so it cannot be calibrated.",
                            "Map a numeric probability column as the prediction score.")
    ctx = _ctx(schema, positive_class, THRESHOLD, (reference, primary))
    key = ("calibration", reference.key if reference is not None else None, primary.key, schema.to_json(), ctx,
           int(n_bins))
    cache = primary.store.cache
    if key in cache:
        return cache[key].copy()
    seg = _segmenter(reference, primary, score, n_bins=n_bins)
    params: list[Any] = []
    if seg.kind == "bins":
        edges = list(seg.edges)
        parts = []
        for i, e in enumerate(edges):
            parts.append(f"WHEN s < ? THEN {i}")
            params.append(e)
        bin_sql = "CASE " + " ".join(parts) + f" ELSE {len(edges)} END"
        bounds = [min(0.0, edges[0]), *edges, max(1.0, edges[-1])]
        bins = {i: (seg.order[i], bounds[i], bounds[i + 1]) for i in range(len(edges) + 1)}
    else:
        bin_sql, bins = "s", None      # few distinct scores: each score its own bin
    frames = []
    for view in views:
        if score not in view.columns():
            continue
        base_sql, base_params = _base(view, schema, ctx)
        rows = view.store.fetchall(
            f"SELECT {bin_sql} AS b, avg(s) AS mean_score, avg(CAST(a_pos AS DOUBLE)) AS positive_rate, "
            f"count(*) AS n FROM ({base_sql}) WHERE s IS NOT NULL AND a IS NOT NULL GROUP BY 1 ORDER BY 1",
            [*params, *base_params])
        for b, mean_score, rate, n in rows:
            if bins is not None:
                label, lo, hi = bins[int(b)]
            else:
                label, lo, hi = _g(float(b)), float(b), float(b)
            frames.append({"dataset": view.dataset, "bin": label, "lower": float(lo), "upper": float(hi),
                           "mean_score": float(mean_score), "positive_rate": float(rate), "n": int(n)})
    out = pd.DataFrame(frames, columns=CALIBRATION_COLUMNS)
    out = out.astype({"lower": float, "upper": float, "mean_score": float,
                      "positive_rate": float, "n": "int64"})
    cache[key] = out
    return out.copy()


# =================================================================================================
# segments
# =================================================================================================

def segments(reference: View | None, primary: View, schema: Schema, *, by: str, n_bins: int = 5,
             metric: str | None = None, min_rows: int = 20, dataset: str = "primary", positive_class: Any = None,
             threshold: float = THRESHOLD, max_segments: int = MAX_SEGMENTS) -> pd.DataFrame:
    """Where is the model worse? Each segment of ``by`` with ``metric`` (default: the headline metric).

    Segments follow the module rules (categories from both datasets; numeric: ``n_bins`` quantile bins fitted on
    the reference). Columns: ``column, segment, metric, value, n_rows`` (evaluated rows), ``share`` (of the
    dataset's evaluated rows), ``overall`` (metric over all evaluated rows of the dataset), ``difference``
    (value − overall), ``impact`` = (overall − value) × share for higher-is-better metrics and
    (value − overall) × share for lower-is-better ones, so **positive impact = worse than overall, weighted by
    size**; ``reference_value`` (the same segment in the reference, when ``dataset`` is the primary),
    ``n_missing_actuals, too_few_rows`` (n_rows < ``min_rows``). Sorted by impact, largest first; segments with
    too few rows or no value come last.
    """
    if dataset not in ("primary", "reference"):
        raise ObsError(f"dataset must be 'primary' or 'reference', not {dataset!r}.")
    view = primary if dataset == "primary" else reference
    if view is None:
        raise NotEnoughData("There is no reference dataset to segment.", "Load a reference file.")
    ctx = _ctx(schema, positive_class, threshold, (reference, primary))
    metric = metric or headline_metric(ctx.model_type)
    direction = metric_direction(metric)
    seg = _segmenter(reference, primary, by, n_bins=n_bins, max_segments=max_segments)

    ranks = metric in RANK_METRICS

    def per_segment(v: View) -> pd.DataFrame:
        s_sql, s_params = seg.sql(v)
        return _grouped_metrics(v, schema, ctx, [("segment", s_sql, s_params)], ranks=ranks)

    df = per_segment(view)
    overall_df = _grouped_metrics(view, schema, ctx, ranks=ranks)
    counts = df[df["metric"] == "count"].set_index("segment")
    vals = df[(df["metric"] == metric) & df["class"].isna()].set_index("segment")["value"]
    ov = overall_df[(overall_df["metric"] == metric) & overall_df["class"].isna()]["value"]
    overall = float(ov.iloc[0]) if len(ov) else float("nan")
    total = float(counts["n_rows"].sum())
    ref_vals = pd.Series(dtype=float)
    if dataset == "primary" and reference is not None:
        rdf = per_segment(reference)
        ref_vals = rdf[(rdf["metric"] == metric) & rdf["class"].isna()].set_index("segment")["value"]
    rows = []
    for s in counts.index:
        n = int(counts.at[s, "n_rows"])
        value = float(vals.get(s, float("nan")))
        share = n / total if total else float("nan")
        diff = value - overall
        sign = -1.0 if direction == "higher" else 1.0
        impact = (sign * diff * share if direction != "zero" else (abs(value) - abs(overall)) * share) + 0.0
        rows.append({"column": by, "segment": s, "metric": metric, "value": value, "n_rows": n, "share": share,
                     "overall": overall, "difference": diff, "impact": impact,
                     "reference_value": float(ref_vals.get(s, float("nan"))),
                     "n_missing_actuals": int(counts.at[s, "n_missing_actuals"]), "too_few_rows": n < min_rows})
    out = pd.DataFrame(rows, columns=["column", "segment", "metric", "value", "n_rows", "share", "overall",
                                      "difference", "impact", "reference_value", "n_missing_actuals",
                                      "too_few_rows"])
    if len(out):
        out["_last"] = out["too_few_rows"] | out["impact"].isna()
        out = out.sort_values(["_last", "impact", "n_rows"], ascending=[True, False, False], na_position="last")
        out = out.drop(columns="_last")
    out.attrs["direction"] = direction
    return out.reset_index(drop=True)


# =================================================================================================
# fairness
# =================================================================================================

FAIRNESS_RATES = ("selection_rate", "tpr", "fpr", "precision")


def fairness(reference: View | None, primary: View, schema: Schema, *, sensitive: str, base_group: Any = None,
             dataset: str = "primary", positive_class: Any = None, threshold: float = THRESHOLD,
             n_bins: int = 5, bounds: tuple[float, float] = FOUR_FIFTHS) -> pd.DataFrame:
    """Group fairness of a binary classifier across the groups of ``sensitive`` (segments as in :func:`segments`).

    Per group: ``n`` (rows), ``n_rows`` (evaluated rows), ``selection_rate`` = share predicted positive among
    rows with a prediction (actuals not needed), ``tpr`` = TP/(TP+FN), ``fpr`` = FP/(FP+TN), ``precision`` =
    TP/(TP+FP) over evaluated rows (NaN when the denominator is 0); each rate's ratio to the base group
    (``<rate>_ratio``; default base = the group with most rows) and ``<rate>_flag`` = ratio outside
    ``bounds`` (four-fifths rule: 0.8–1.25); ``flags`` lists the flagged rates. A ratio is NaN (not flagged)
    when the base rate is 0 or the group's rate is undefined. Columns: ``group, is_base, n, n_rows,
    selection_rate, tpr, fpr, precision, *_ratio, *_flag, flags``.
    """
    mt = _model_type_or_raise(schema.model_type)
    if mt is not ModelType.BINARY:
        raise ObsError(f"Fairness metrics need a binary classifier; this model is {mt.label.lower()}.",
                       "Selection rate, TPR and FPR are defined for a positive class of a binary model.")
    view = primary if dataset == "primary" else reference
    if view is None:
        raise NotEnoughData("There is no reference dataset.", "Load a reference file.")
    ctx = _ctx(schema, positive_class, threshold, (reference, primary))
    seg = _segmenter(reference, primary, sensitive, n_bins=n_bins)
    s_sql, s_params = seg.sql(view)
    stats = _stats(view.store, _base(view, schema, ctx, extra=[("segment", s_sql, s_params)]), ctx, ["segment"],
                   ranks=False)
    stats = stats[stats["n_total"] > 0].copy()
    if stats.empty:
        raise NotEnoughData(f"The {view.dataset} data has no rows here.")
    nan = float("nan")
    df = pd.DataFrame({
        "group": stats["segment"].astype(str),
        "n": stats["n_total"].astype("int64"),
        "n_rows": stats["n"].astype("int64"),
        "selection_rate": [(_div(a, b, nan)) for a, b in zip(stats["n_predicted_pos"], stats["n_predicted"])],
        "tpr": [_div(tp, tp + fn, nan) for tp, fn in zip(stats["tp"], stats["fn"])],
        "fpr": [_div(fp, fp + tn, nan) for fp, tn in zip(stats["fp"], stats["tn"])],
        "precision": [_div(tp, tp + fp, nan) for tp, fp in zip(stats["tp"], stats["fp"])],
    })
    order = {s: k for k, s in enumerate(seg.order)}
    df = df.sort_values("group", key=lambda s: s.map(order).fillna(len(order))).reset_index(drop=True)
    if base_group is None:
        base = df.sort_values(["n", "group"], ascending=[False, True])["group"].iloc[0]
    else:
        base = _norm_pos(str(base_group), view.kind(sensitive) if seg.kind == "category" else None)
        if base not in set(df["group"]):
            raise ObsError(f"{base_group!r} is not a group of {sensitive!r}.",
                           "Groups: " + ", ".join(df["group"].astype(str).tolist()[:20]))
    df.insert(1, "is_base", df["group"] == base)
    b = df[df["is_base"]].iloc[0]
    lo, hi = bounds
    flags = [[] for _ in range(len(df))]
    for rate in FAIRNESS_RATES:
        base_rate = b[rate]
        ratio = df[rate] / base_rate if base_rate and not math.isnan(base_rate) else pd.Series(nan, index=df.index)
        df[f"{rate}_ratio"] = ratio.astype(float)
        df[f"{rate}_flag"] = ((ratio < lo) | (ratio > hi)).fillna(False).astype(bool)
        for i, f in enumerate(df[f"{rate}_flag"]):
            if f:
                flags[i].append(rate)
    df["flags"] = [", ".join(f) for f in flags]
    df.attrs["base_group"] = base
    return df


# =================================================================================================
# Metrics over arbitrary row groups (clusters)
# =================================================================================================

def metric_by_group(store: Store | View, schema: Schema, assignments: pd.DataFrame, *, metric: str | None = None,
                    positive_class: Any = None, threshold: float = THRESHOLD) -> pd.DataFrame:
    """A metric (default: the headline metric) per group of rows, e.g. per embedding cluster.

    ``assignments`` has columns ``row_id`` (``__obs_row_id``, from either dataset) and ``group``; it is
    registered as an Arrow table and joined in DuckDB, so millions of rows are fine. Filters are not applied:
    the row ids say which rows count. Returns ``group, metric, value, n`` (evaluated rows), ``n_rows``
    (assigned rows found), ``n_missing_actuals``; groups with no evaluated row have value NaN.
    """
    st = store.store if isinstance(store, View) else store
    ctx = _ctx(schema, positive_class, threshold, [View(st, d) for d in st.datasets()])
    metric = metric or headline_metric(ctx.model_type)
    metric_direction(metric)  # validates the name
    rid = "row_id" if "row_id" in assignments.columns else ROW_ID
    if rid not in assignments.columns or "group" not in assignments.columns:
        raise ObsError("assignments needs columns 'row_id' and 'group'.")
    groups = assignments["group"]
    table = pa.table({"__obs_rid": pa.array(assignments[rid].to_numpy(dtype=np.int64)),
                      "__obs_grp": pa.array(groups.astype(str).to_numpy(dtype=object), type=pa.string())})
    label_of = dict(zip(groups.astype(str), groups))
    name = f"__obs_assign_{uuid.uuid4().hex}"
    frames = []
    with st.registered(name, table):   # holds the store's lock while the assignments are visible to SQL
        stats_all = []
        for d in st.datasets():
            v = View(st, d)
            base = _base(v, schema, ctx, extra=[("group", "g.__obs_grp", [])],
                         source=f"{v.table} JOIN {quote(name)} g ON {v.table}.{ROW_ID} = g.__obs_rid",
                         where=("TRUE", ()))
            stats_all.append((v, base))
        if ctx.model_type is ModelType.MULTICLASS or len(stats_all) > 1:
            sql = " UNION ALL ".join(f"SELECT * FROM ({b[0]})" for _, b in stats_all)
            params = [p for _, b in stats_all for p in b[1]]
            base = (sql, params) if stats_all else None
        else:
            base = stats_all[0][1] if stats_all else None
        if base is not None:
            stats = _stats(st, base, ctx, ["group"], ranks=metric in RANK_METRICS)
            conf = _confusion(st, base, ["group"]) if ctx.model_type is ModelType.MULTICLASS else None
            frames.append(_long(stats, ctx, ["group"], conf, "all"))
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*OUT_COLUMNS, "group"])
    counts = long[long["metric"] == "count"].set_index("group")
    vals = long[(long["metric"] == metric) & long["class"].isna()].set_index("group")["value"]
    rows = []
    for g in dict.fromkeys(groups.astype(str)):
        found = g in counts.index
        rows.append({"group": label_of[g], "metric": metric, "value": float(vals.get(g, float("nan"))),
                     "n": int(counts.at[g, "n_rows"]) if found else 0,
                     "n_rows": int(counts.at[g, "value"]) if found else 0,
                     "n_missing_actuals": int(counts.at[g, "n_missing_actuals"]) if found else 0})
    return pd.DataFrame(rows, columns=["group", "metric", "value", "n", "n_rows", "n_missing_actuals"])


def metric_for_rows(view_or_store: Store | View, schema: Schema, row_ids: Iterable[int], metric: str | None = None,
                    **options: Any) -> float:
    """The metric (default: headline) over the given ``__obs_row_id`` rows; NaN when none is evaluated."""
    ids = np.asarray(list(row_ids), dtype=np.int64)
    res = metric_by_group(view_or_store, schema, pd.DataFrame({"row_id": ids, "group": 0}), metric=metric,
                          **options)
    return float(res["value"].iloc[0]) if len(res) else float("nan")
