"""Figures and display tables for the Performance page (pure Plotly / pandas; no streamlit).

Everything here reshapes results of :mod:`obs_core.performance` (``performance``, ``confusion_matrix``,
``calibration``, ``segments``, ``fairness``) for display; no row of data is read here.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..performance import metric_direction
from .style import (COUNT_COLOR, DRIFT_COLOR, FEW_ROWS_COLOR, OK_COLOR, PRIMARY_COLOR, REFERENCE_COLOR,
                    SERIES_COLORS, base_layout, empty_figure, label)

METRIC_LABELS = {
    "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1 score", "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (avg. precision)", "log_loss": "Log loss", "brier": "Brier score",
    "macro_precision": "Macro precision", "macro_recall": "Macro recall", "macro_f1": "Macro F1",
    "weighted_precision": "Weighted precision", "weighted_recall": "Weighted recall", "weighted_f1": "Weighted F1",
    "mae": "MAE", "rmse": "RMSE", "mape": "MAPE", "r2": "R²", "mean_error": "Mean error (bias)",
    "selection_rate": "Selection rate", "tpr": "True positive rate", "fpr": "False positive rate",
    "support": "Support",
}
METRIC_HELP = {
    "accuracy": "Share of rows whose predicted label equals the actual label.",
    "precision": "Of the rows predicted positive, the share that are positive.",
    "recall": "Of the positive rows, the share predicted positive (true positive rate).",
    "f1": "Harmonic mean of precision and recall.",
    "roc_auc": "Probability that a random positive row scores above a random negative one (0.5 = chance).",
    "pr_auc": "Average precision over the score thresholds.",
    "log_loss": "Mean negative log-likelihood of the actual class under the score (lower is better).",
    "brier": "Mean squared difference between score and outcome (lower is better).",
    "mae": "Mean absolute error (lower is better).", "rmse": "Root mean squared error (lower is better).",
    "mape": "Mean absolute percentage error, as a fraction (rows with actual 0 left out).",
    "r2": "Share of the actuals' variance the predictions explain (1 = perfect).",
    "mean_error": "Mean of prediction − actual: above 0 the model over-predicts (closer to 0 is better).",
}
_PROPORTIONS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "macro_precision", "macro_recall",
                "macro_f1", "weighted_precision", "weighted_recall", "weighted_f1", "selection_rate", "tpr", "fpr",
                "brier", "mape"}
DELTA_COLOR = {"higher": "normal", "lower": "inverse", "zero": "off"}
MISSING = "(missing)"


def delta_color(metric: str) -> str:
    """``st.metric``'s delta_color for a change of ``metric``: "normal" when higher is better, "inverse" when
    lower is better (for the bias, a larger change in |bias| is worse: "inverse" too)."""
    return DELTA_COLOR[metric_direction(metric)] if metric_direction(metric) != "zero" else "inverse"


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, label(metric))


def fmt_metric(metric: str, value: Any) -> str:
    """A metric value as shown on a card: proportions with 3 decimals, others with 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    if metric in _PROPORTIONS or metric == "log_loss" or metric == "r2":
        return f"{v:.3f}"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:,.4g}"


def _overall(perf: pd.DataFrame) -> pd.DataFrame:
    """Rows of an overall performance table (no segment, no window, no class)."""
    p = perf
    if "class" in p:
        p = p[p["class"].isna()]
    return p


def metric_value(perf: pd.DataFrame, metric: str, dataset: str) -> float:
    """One metric's overall value for one dataset (NaN when absent)."""
    p = _overall(perf)
    r = p[(p["metric"] == metric) & (p["dataset"] == dataset)]
    return float(r["value"].iloc[0]) if len(r) else float("nan")


def available_metrics(perf: pd.DataFrame) -> list[str]:
    """Metric names present in the table, in the engine's order, without the ``count`` rows."""
    p = _overall(perf)
    return [m for m in dict.fromkeys(p["metric"]) if m != "count"]


def metric_cards(perf: pd.DataFrame, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """What each metric card shows: ``metric, label, value`` (primary, formatted; the reference's when the
    primary has no value), ``delta`` (formatted "+0.012 vs reference 0.870", None without both values),
    ``delta_color`` (by :func:`obs_core.performance.metric_direction`), ``primary, reference`` (floats),
    ``help``, ``shows`` ("primary" or "reference")."""
    metrics = list(metrics) if metrics is not None else available_metrics(perf)
    cards = []
    for m in metrics:
        p, r = metric_value(perf, m, "primary"), metric_value(perf, m, "reference")
        direction = metric_direction(m)
        shows = "primary" if not math.isnan(p) else "reference"
        value = p if shows == "primary" else r
        delta = None
        if not math.isnan(p) and not math.isnan(r):
            d = (abs(p) - abs(r)) if direction == "zero" else p - r
            delta = f"{d:+.3f} vs reference {fmt_metric(m, r)}" if m in _PROPORTIONS or m in ("log_loss", "r2") \
                else f"{d:+,.4g} vs reference {fmt_metric(m, r)}"
            if direction == "zero":
                delta = f"{d:+,.4g} in |bias| vs reference {fmt_metric(m, r)}"
        cards.append({"metric": m, "label": metric_label(m) + ("" if shows == "primary" else " (reference)"),
                      "value": fmt_metric(m, value), "delta": delta,
                      "delta_color": delta_color(m),
                      "primary": p, "reference": r, "shows": shows,
                      "help": METRIC_HELP.get(m, "") + (f" Reference: {fmt_metric(m, r)}." if not math.isnan(r)
                                                         else "")})
    return cards


def coverage(perf: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: ``dataset, rows, evaluated, missing_actuals, missing_predictions`` from the ``count`` rows of an
    overall performance table."""
    p = _overall(perf)
    c = p[p["metric"] == "count"]
    out = pd.DataFrame({"dataset": c["dataset"], "rows": c["value"].astype("int64"),
                        "evaluated": c["n_rows"].astype("int64"),
                        "missing_actuals": c["n_missing_actuals"].astype("int64"),
                        "missing_predictions": c["n_missing_predictions"].astype("int64")})
    return out.reset_index(drop=True)


def coverage_sentences(cov: pd.DataFrame, names: Mapping[str, str] | None = None) -> list[str]:
    """Plain sentences about rows left out: "1,234 rows of the primary have no actual label and are left out"."""
    out = []
    names = names or {}
    for r in cov.itertuples():
        who = names.get(r.dataset, f"the {r.dataset}")
        if r.rows and r.evaluated == 0 and r.missing_actuals == r.rows:
            out.append(f"**{who[:1].upper() + who[1:]}** has no actual labels ({r.rows:,} rows), so it has no "
                       f"performance metrics: metrics need the true outcome of each prediction. Add an actual "
                       f"column to that file (or map it in the schema on Home) once labels arrive.")
            continue
        if r.missing_actuals:
            out.append(f"{r.missing_actuals:,} of {r.rows:,} rows of {who} have no actual label and are left out.")
        if r.missing_predictions:
            out.append(f"{r.missing_predictions:,} of {r.rows:,} rows of {who} have no prediction and are left "
                       f"out.")
    return out


# ------------------------------------------------------------------------------------------------------------
# Over time
# ------------------------------------------------------------------------------------------------------------

def windows(perf_over_time: pd.DataFrame) -> int:
    """Number of primary windows in a ``performance(granularity=...)`` table."""
    p = perf_over_time
    return int(p.loc[(p["dataset"] == "primary") & (p["metric"] == "count"), "window_start"].nunique())


def metric_over_time(perf_over_time: pd.DataFrame, metric: str, *, height: int = 420,
                     title: str | None = None) -> go.Figure:
    """The metric per primary window (line; top panel) with the reference's overall value (dashed line), and
    evaluated rows per window (bars; small panel below). Windows with fewer than 30 evaluated rows are drawn as
    hollow pale markers and pale bars."""
    p = _overall(perf_over_time)
    prim = p[(p["dataset"] == "primary") & (p["metric"] == metric)].sort_values("window_start")
    counts = p[(p["dataset"] == "primary") & (p["metric"] == "count")].sort_values("window_start")
    ref = p[(p["dataset"] == "reference") & (p["metric"] == metric)]
    g = perf_over_time.attrs.get("granularity", "window")
    if prim.empty and counts.empty:
        return empty_figure("No primary windows with evaluated rows.")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.74, 0.26])
    few = prim["too_few_rows"].astype(bool) if "too_few_rows" in prim else pd.Series(False, index=prim.index)
    fig.add_scatter(x=prim["window_start"], y=prim["value"], mode="lines+markers", name="primary",
                    line=dict(color=PRIMARY_COLOR, width=2.5),
                    marker=dict(size=7,
                                color=["white" if f else PRIMARY_COLOR for f in few],
                                line=dict(color=[FEW_ROWS_COLOR if f else PRIMARY_COLOR for f in few], width=2)),
                    customdata=prim[["n_rows"]].to_numpy(),
                    hovertemplate="%{x|%Y-%m-%d %H:%M}<br>" + metric_label(metric) +
                                  ": %{y:.3f}<br>%{customdata[0]:,} evaluated rows<extra></extra>", row=1, col=1)
    if len(ref) and not math.isnan(float(ref["value"].iloc[0])):
        rv = float(ref["value"].iloc[0])
        fig.add_hline(y=rv, line=dict(color=REFERENCE_COLOR, width=2, dash="dash"), row=1, col=1)
        fig.add_scatter(x=[None], y=[None], mode="lines", name=f"reference ({fmt_metric(metric, rv)})",
                        line=dict(color=REFERENCE_COLOR, width=2, dash="dash"), row=1, col=1)
    cfew = counts["too_few_rows"].astype(bool) if "too_few_rows" in counts else pd.Series(False, index=counts.index)
    fig.add_bar(x=counts["window_start"], y=counts["n_rows"], name="evaluated rows",
                marker_color=[FEW_ROWS_COLOR if f else COUNT_COLOR for f in cfew], showlegend=False,
                hovertemplate="%{x|%Y-%m-%d %H:%M}: %{y:,} evaluated rows<extra></extra>", row=2, col=1)
    if few.any() or cfew.any():
        fig.add_scatter(x=[None], y=[None], mode="markers", name="fewer than 30 rows",
                        marker=dict(color="white", size=8, line=dict(color=FEW_ROWS_COLOR, width=2)), row=1, col=1)
    base_layout(fig, height=height, title=title or f"{metric_label(metric)} per {g}")
    fig.update_yaxes(title_text=metric_label(metric), row=1, col=1)
    fig.update_yaxes(title_text="rows", rangemode="tozero", nticks=3, row=2, col=1)
    fig.update_layout(bargap=0.15)
    return fig


# ------------------------------------------------------------------------------------------------------------
# Confusion matrix, calibration, residuals
# ------------------------------------------------------------------------------------------------------------

def confusion_figure(cm: pd.DataFrame, *, height: int = 360) -> go.Figure:
    """One heatmap per dataset (reference left): rows = actual, columns = predicted; colour = share of the
    actual class's rows (each row sums to 100 %), text = count and share."""
    if cm.empty:
        return empty_figure("No evaluated rows: a confusion matrix needs actual labels.")
    datasets = [d for d in ("reference", "primary") if d in set(cm["dataset"])]
    labels = sorted(set(cm["actual"]) | set(cm["predicted"]), key=str)
    fig = make_subplots(rows=1, cols=len(datasets), subplot_titles=datasets, horizontal_spacing=0.12)
    for i, d in enumerate(datasets, start=1):
        m = cm[cm["dataset"] == d].pivot_table(index="actual", columns="predicted", values="count",
                                               aggfunc="first").reindex(index=labels, columns=labels).fillna(0)
        counts = m.to_numpy(dtype=float)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(totals > 0, counts / totals, 0.0)
        text = [[f"{int(c):,}<br>{100 * s:.1f}%" for c, s in zip(rc, rs)] for rc, rs in zip(counts, share)]
        scale = [[0, "#FFFFFF"], [1, PRIMARY_COLOR if d == "primary" else "#475569"]]
        fig.add_heatmap(z=share, x=[str(x) for x in labels], y=[str(x) for x in labels], text=text,
                        texttemplate="%{text}", colorscale=scale, zmin=0, zmax=1, showscale=False,
                        hovertemplate="actual %{y} → predicted %{x}<br>%{text}<extra>" + d + "</extra>",
                        row=1, col=i)
        fig.update_xaxes(title_text="predicted", side="bottom", row=1, col=i, type="category")
        fig.update_yaxes(title_text="actual" if i == 1 else None, autorange="reversed", row=1, col=i,
                         type="category")
    base_layout(fig, height=height, legend=False, margin_top=40)
    fig.update_annotations(font=dict(size=14))
    return fig


def other_class(cm: pd.DataFrame | None, positive: Any) -> str | None:
    """The negative class of a binary confusion matrix (the one label that is not ``positive``), else None."""
    if cm is None or cm.empty:
        return None
    labels = {str(x) for x in (*cm["actual"], *cm["predicted"])} - {str(positive)}
    return next(iter(labels)) if len(labels) == 1 else None


_BIN_RE = re.compile(r"^\[(?P<a>[^,]+), (?P<b>[^)]+)\)$")


def _bin_bounds(segment: str, lo: float = 0.0, hi: float = 1.0) -> tuple[float, float]:
    s = str(segment)
    m = _BIN_RE.match(s)
    try:
        if m:
            return float(m["a"]), float(m["b"])
        if s.startswith("< "):
            b = float(s[2:])
            return min(lo, b), b
        if s.startswith(">= "):
            a = float(s[3:])
            return a, max(hi, a)
        v = float(s)   # a few distinct scores: each its own segment
        return v, v
    except ValueError:
        return float("nan"), float("nan")


def calibration_figure(calib: pd.DataFrame, *, positive_class: str | None = None, height: int = 380) -> go.Figure:
    """Reliability diagram from :func:`obs_core.performance.calibration`: per dataset, each score bin's actual
    positive rate (y) against its mean score (x), with the diagonal of a perfectly calibrated model; marker size
    grows with the bin's rows (``n``), the hover shows the bin, its mean score, rate and rows."""
    if calib.empty:
        return empty_figure("No evaluated rows with scores.")
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line=dict(color="#9CA3AF", dash="dot", width=1.5), hoverinfo="skip")
    nmax = max(1, int(calib["n"].max()))
    for d, color in (("reference", REFERENCE_COLOR), ("primary", PRIMARY_COLOR)):
        c = calib[calib["dataset"] == d].sort_values("mean_score")
        if c.empty:
            continue
        fig.add_scatter(x=c["mean_score"], y=c["positive_rate"], mode="lines+markers", name=d,
                        line=dict(color=color, width=2.5),
                        marker=dict(size=[6 + 12 * (n / nmax) ** 0.5 for n in c["n"]], color=color),
                        customdata=np.stack([c["bin"].astype(str).to_numpy(dtype=object),
                                             c["n"].to_numpy(dtype=object)], axis=1),
                        hovertemplate="score bin %{customdata[0]}<br>mean score %{x:.3f}"
                                      "<br>actual positive rate %{y:.1%}<br>%{customdata[1]:,} rows"
                                      "<extra>" + d + "</extra>")
    base_layout(fig, height=height, title="Calibration: predicted score vs actual rate")
    fig.update_xaxes(title="mean predicted score of the bin", range=[-0.02, 1.02])
    fig.update_yaxes(title=f"actual share of {positive_class or 'the positive class'}", range=[-0.02, 1.02],
                     tickformat=".0%")
    return fig


def _short_bin(lower: float, upper: float, first: bool, last: bool) -> str:
    def g(x: float) -> str:
        return f"{x:.2g}"
    if last:
        return f"≥ {g(lower)}"
    if first:
        return f"< {g(upper)}"
    return f"{g(lower)}–{g(upper)}"


def score_distribution_figure(calib: pd.DataFrame, *, positive_class: str | None = None,
                              negative_class: str | None = None, height: int = 380) -> go.Figure:
    """Per dataset (reference left, primary right): the share of each actual class's rows per score bin, from
    :func:`obs_core.performance.calibration` (class counts per bin = ``positive_rate · n``, rounded)."""
    if calib.empty:
        return empty_figure("No evaluated rows with scores.")
    pos_name = f"actual {positive_class}" if positive_class else "actual positive"
    neg_name = f"actual {negative_class}" if negative_class else "actual negative"
    bins = calib.drop_duplicates("bin").sort_values("lower").reset_index(drop=True)
    short = {b: _short_bin(lo, hi, i == 0, i == len(bins) - 1)
             for i, (b, lo, hi) in enumerate(zip(bins["bin"], bins["lower"], bins["upper"]))}
    order = list(bins["bin"])
    calib = calib.assign(n_positive=(calib["positive_rate"] * calib["n"]).round())
    calib = calib.assign(n_negative=calib["n"] - calib["n_positive"])
    datasets = [d for d in ("reference", "primary") if d in set(calib["dataset"])]
    fig = make_subplots(rows=1, cols=len(datasets), subplot_titles=datasets, shared_yaxes=True,
                        horizontal_spacing=0.05)
    for i, d in enumerate(datasets, start=1):
        c = calib[calib["dataset"] == d].set_index("bin").reindex(order)
        for col, name, color in (("n_negative", neg_name, SERIES_COLORS[1]), ("n_positive", pos_name,
                                                                              SERIES_COLORS[3])):
            tot = c[col].sum()
            share = c[col] / tot if tot else c[col] * 0
            fig.add_bar(x=[short[b] for b in order], y=share, name=name, marker_color=color, showlegend=i == 1,
                        legendgroup=name, customdata=np.stack([c[col].to_numpy(), np.array(order, dtype=object)],
                                                              axis=1),
                        hovertemplate="score %{customdata[1]}<br>%{y:.1%} of " + name +
                                      " rows (%{customdata[0]:,.0f})<extra>" + d + "</extra>", row=1, col=i)
        fig.update_xaxes(type="category", tickangle=-45, tickfont=dict(size=10), row=1, col=i)
    base_layout(fig, height=height, title="Score distribution by actual class", margin_top=70)
    fig.update_layout(barmode="group", bargap=0.2, bargroupgap=0.05,
                      legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1.0))
    fig.update_yaxes(title_text="share of the class's rows", tickformat=".0%", row=1, col=1)
    fig.update_annotations(font=dict(size=13))
    return fig


def residual_figure(perf_by_prediction: pd.DataFrame, *, height: int = 380) -> go.Figure:
    """Regression: mean error (prediction − actual) per prediction bin for both datasets (bars), MAE as a line;
    from ``performance(by=prediction_column)``."""
    p = _overall(perf_by_prediction)
    if p.empty or "segment" not in p:
        return empty_figure("No evaluated rows.")
    order = [s for s in dict.fromkeys(p["segment"]) if s != MISSING]
    order = sorted(order, key=lambda s: _bin_bounds(s, -math.inf, math.inf)[0])
    fig = go.Figure()
    for d, color in (("reference", REFERENCE_COLOR), ("primary", PRIMARY_COLOR)):
        me = p[(p["dataset"] == d) & (p["metric"] == "mean_error")].set_index("segment")["value"].reindex(order)
        mae = p[(p["dataset"] == d) & (p["metric"] == "mae")].set_index("segment")["value"].reindex(order)
        if me.isna().all():
            continue
        fig.add_bar(x=order, y=me, name=f"mean error · {d}", marker_color=color,
                    hovertemplate="prediction %{x}<br>mean error %{y:,.4g}<extra>" + d + "</extra>")
        fig.add_scatter(x=order, y=mae, name=f"MAE · {d}", mode="lines+markers",
                        line=dict(color=color, dash="dot", width=2),
                        hovertemplate="prediction %{x}<br>MAE %{y:,.4g}<extra>" + d + "</extra>")
    fig.add_hline(y=0, line=dict(color="#6B7280", width=1))
    base_layout(fig, height=height, title="Residuals by predicted value (above 0: over-predicts)")
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="predicted value (reference-fitted bins)", type="category")
    fig.update_yaxes(title="prediction − actual")
    return fig


# ------------------------------------------------------------------------------------------------------------
# Segments and fairness
# ------------------------------------------------------------------------------------------------------------

def segments_view(seg: pd.DataFrame) -> pd.DataFrame:
    """The segment table as displayed (already ranked by impact by the engine)."""
    if seg.empty:
        return pd.DataFrame(columns=["Segment", "Value", "Reference", "vs overall", "Rows", "Share", "Impact",
                                     "Note"])
    return pd.DataFrame({
        "Segment": seg["segment"].astype(str), "Value": seg["value"], "Reference": seg["reference_value"],
        "vs overall": seg["difference"], "Rows": seg["n_rows"], "Share": 100 * seg["share"],
        "Impact": seg["impact"],
        "Note": ["too few rows" if f else ("new" if math.isnan(r) and not math.isnan(v) else "")
                 for f, r, v in zip(seg["too_few_rows"], seg["reference_value"].astype(float),
                                    seg["value"].astype(float))],
    })


def segments_figure(seg: pd.DataFrame, *, top: int = 15, height: int | None = None) -> go.Figure:
    """The metric per segment (primary; bars, red where worse than overall), the same segment in the reference
    (diamonds) and the overall value (dashed line). Ranked by impact, worst on top."""
    if seg.empty:
        return empty_figure("No segments.")
    s = seg.head(top)
    metric = str(s["metric"].iloc[0])
    direction = seg.attrs.get("direction") or metric_direction(metric)
    overall = float(s["overall"].iloc[0])
    worse = [(v < overall) if direction == "higher" else (v > overall) for v in s["value"].astype(float)]
    colors = [FEW_ROWS_COLOR if f else (DRIFT_COLOR if w else PRIMARY_COLOR)
              for f, w in zip(s["too_few_rows"], worse)]
    names = s["segment"].astype(str).tolist()
    fig = go.Figure()
    fig.add_bar(y=names, x=s["value"], orientation="h", name="primary", marker_color=colors, showlegend=False,
                text=[f"{fmt_metric(metric, v)} · {int(n):,} rows" for v, n in zip(s["value"], s["n_rows"])],
                textposition="inside", insidetextanchor="start",
                textfont=dict(color="white"),
                customdata=np.stack([s["n_rows"], 100 * s["share"], s["impact"]], axis=1),
                hovertemplate="%{y}<br>" + metric_label(metric) + " %{x:.3f}<br>%{customdata[0]:,} rows "
                              "(%{customdata[1]:.1f}%)<br>impact %{customdata[2]:+.4f}<extra>primary</extra>")
    if s["reference_value"].notna().any():
        fig.add_scatter(y=names, x=s["reference_value"], mode="markers", name="reference",
                        marker=dict(symbol="diamond", size=11, color=REFERENCE_COLOR,
                                    line=dict(color="#334155", width=1)),
                        hovertemplate="%{y}<br>reference %{x:.3f}<extra></extra>")
    fig.add_vline(x=overall, line=dict(color="#334155", width=1.5, dash="dash"))
    fig.add_scatter(x=[None], y=[None], mode="lines", name=f"primary overall ({fmt_metric(metric, overall)})",
                    line=dict(color="#334155", width=1.5, dash="dash"))
    for name, color in (("worse than overall", DRIFT_COLOR), ("not worse", PRIMARY_COLOR)):
        fig.add_scatter(x=[None], y=[None], mode="markers", name=name,
                        marker=dict(color=color, size=10, symbol="square"))
    if any(s["too_few_rows"]):
        fig.add_scatter(x=[None], y=[None], mode="markers", name="too few rows",
                        marker=dict(color=FEW_ROWS_COLOR, size=10, symbol="square"))
    base_layout(fig, height=height or max(300, 150 + 34 * len(s)),
                title=f"{metric_label(metric)} by {label(seg['column'].iloc[0])}, worst impact on top")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0.0),
                      margin=dict(b=10))
    fig.update_yaxes(autorange="reversed", title=None, type="category")
    lo = float(np.nanmin([s["value"].min(), s["reference_value"].min(), overall]))
    fig.update_xaxes(title=None,
                     range=[min(0.0, lo) if metric_direction(metric) != "higher" else max(0.0, lo - 0.15),
                            None] if not math.isnan(lo) else None)
    return fig


FAIRNESS_RATES = ("selection_rate", "tpr", "fpr", "precision")


_FAIR_SHORT = {"selection_rate": "Selection rate", "tpr": "TPR", "fpr": "FPR", "precision": "Precision"}


def fairness_view(fair: pd.DataFrame) -> pd.DataFrame:
    """The fairness table as displayed: group (base marked), rows, each rate and its ratio to the base group
    (``÷ base``), and the flagged rates."""
    out = pd.DataFrame({"Group": [f"{g} (base)" if b else str(g) for g, b in zip(fair["group"], fair["is_base"])],
                        "Rows": fair["n"]})
    for r in FAIRNESS_RATES:
        out[_FAIR_SHORT[r]] = fair[r]
        out[f"{_FAIR_SHORT[r]} ÷ base"] = fair[f"{r}_ratio"]
    out["Outside 0.8–1.25"] = fair["flags"].map(
        lambda s: ", ".join(_FAIR_SHORT.get(x.strip(), x.strip()) for x in s.split(",")) if s else "")
    return out.reset_index(drop=True)


def fairness_flags(fair: pd.DataFrame) -> list[tuple[str, str]]:
    """(group, readable flagged rates) for every group with a ratio outside the band."""
    view = fairness_view(fair)
    return [(str(g), f) for g, f in zip(fair["group"], view["Outside 0.8–1.25"]) if f]


def fairness_styled(fair: pd.DataFrame):
    """:func:`fairness_view` as a pandas Styler: flagged ratios on a red background."""
    view = fairness_view(fair)
    flag_cols = {f"{_FAIR_SHORT[r]} ÷ base": f"{r}_flag" for r in FAIRNESS_RATES}
    flags = fair.reset_index(drop=True)

    def color(col: pd.Series) -> list[str]:
        fc = flag_cols.get(col.name)
        if fc is None:
            return [""] * len(col)
        return ["background-color: #FEE2E2; color: #991B1B; font-weight: 600" if f else "" for f in flags[fc]]

    fmt = {c: "{:.3f}" for c in view.columns if c not in ("Group", "Rows", "Outside 0.8–1.25")}
    fmt.update({c: "{:.3f}" for c in flag_cols})
    fmt["Rows"] = "{:,}"
    return view.style.apply(color, axis=0).format(fmt, na_rep="—")


def fairness_figure(fair: pd.DataFrame, *, bounds: tuple[float, float] = (0.8, 1.25),
                    height: int | None = None) -> go.Figure:
    """Each group's rate ratios to the base group (dots per rate), the acceptable band shaded (four-fifths
    rule), flagged ratios ringed in red."""
    groups = [str(g) + (" (base)" if b else "") for g, b in zip(fair["group"], fair["is_base"])]
    fig = go.Figure()
    lo, hi = bounds
    fig.add_vrect(x0=lo, x1=hi, fillcolor=OK_COLOR, opacity=0.08, line_width=0)
    fig.add_vline(x=1.0, line=dict(color="#6B7280", width=1))
    for i, r in enumerate(FAIRNESS_RATES):
        ratio = fair[f"{r}_ratio"].astype(float)
        flag = fair[f"{r}_flag"].astype(bool)
        fig.add_scatter(x=[None], y=[None], mode="markers", name=_FAIR_SHORT[r], legendgroup=r,
                        marker=dict(size=12, color=SERIES_COLORS[i], line=dict(color="white", width=1)))
        fig.add_scatter(x=ratio, y=groups, mode="markers", name=metric_label(r), legendgroup=r, showlegend=False,
                        marker=dict(size=12, color=SERIES_COLORS[i],
                                    line=dict(color=[DRIFT_COLOR if f else "white" for f in flag],
                                              width=[3 if f else 1 for f in flag])),
                        customdata=fair[[r]].to_numpy(),
                        hovertemplate="%{y}<br>" + metric_label(r) + " %{customdata[0]:.3f}"
                                      "<br>ratio to base %{x:.2f}<extra></extra>")
    if any(fair[f"{r}_flag"].any() for r in FAIRNESS_RATES):
        fig.add_scatter(x=[None], y=[None], mode="markers", name="outside the band",
                        marker=dict(size=12, color="white", line=dict(color=DRIFT_COLOR, width=3)))
    base_layout(fig, height=height or max(240, 110 + 40 * len(groups)),
                title=f"Ratio to the base group (shaded: {lo}–{hi}, the four-fifths rule)")
    fig.update_yaxes(autorange="reversed", title=None, type="category")
    vals = np.concatenate([fair[f"{r}_ratio"].astype(float).to_numpy() for r in FAIRNESS_RATES])
    vals = vals[np.isfinite(vals)]
    top = max(1.4, float(vals.max()) * 1.05) if len(vals) else 1.4
    bottom = min(0.6, float(vals.min()) * 0.95) if len(vals) else 0.6
    fig.update_xaxes(title="ratio to the base group", range=[bottom, top])
    return fig


__all__: Sequence[str] = (
    "METRIC_LABELS", "available_metrics", "calibration_figure", "confusion_figure",
    "coverage", "coverage_sentences", "fairness_figure", "fairness_styled", "fairness_view", "fmt_metric",
    "metric_cards", "metric_label", "metric_over_time", "metric_value", "residual_figure", "score_distribution_figure",
    "segments_figure", "segments_view", "windows",
)
