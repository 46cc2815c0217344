"""Drift figures and the small view-preparation helpers the drift pages render (pure Plotly + pandas).

Inputs are the engine's tidy frames: :func:`obs_core.drift.drift_table`, :func:`obs_core.drift.drift_bins` and
:func:`obs_core.timeseries.drift_over_time`. Nothing here computes a statistic; it only arranges, labels and
colours what the engine returned, so the pages stay free of table work.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (COUNT_COLOR, DRIFT_COLOR, FEW_ROWS_COLOR, MODERATE_COLOR, PRIMARY_COLOR, REFERENCE_COLOR,
                    SERIES_COLORS, base_layout, label, status_badge)

METRIC_NAMES = {"psi": "PSI", "js": "JS distance", "kl": "KL divergence", "hellinger": "Hellinger distance",
                "euclidean": "Euclidean distance"}
KIND_NAMES = {"number": "numeric", "time": "time", "text": "categorical", "bool": "boolean"}
SPECIAL_BINS = {"missing": "(missing)", "unseen": "(new values)", "other": "(other)"}
GRANULARITY_ADJ = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}


def metric_name(metric: str | None) -> str:
    return METRIC_NAMES.get(str(metric), str(metric or "score"))


def _fmt_threshold(v: Any) -> str:
    return f"{float(v):g}" if v is not None and np.isfinite(float(v)) else "—"


# ================================================================================================
# Drift table: headline, display frame, picks
# ================================================================================================

def drift_counts(table: pd.DataFrame) -> dict[str, int]:
    """``columns`` (rows of the table), ``scored`` (with a score), ``drift``, ``moderate``, ``no_drift`` and
    ``other`` (degenerate statuses: constant, no data, unsupported, …)."""
    status = table["status"].astype("string") if len(table) else pd.Series([], dtype="string")
    n_drift, n_mod, n_ok = (int((status == s).sum()) for s in ("drift", "moderate", "no drift"))
    return {"columns": len(table), "scored": int(pd.to_numeric(table.get("score"), errors="coerce").notna().sum())
            if len(table) else 0, "drift": n_drift, "moderate": n_mod, "no_drift": n_ok,
            "other": len(table) - n_drift - n_mod - n_ok}


def headline(table: pd.DataFrame, reference_name: str | None = None) -> str:
    """``"4 of 15 columns drifted since reference (sample, September) · 1 moderate"`` (plain text)."""
    c = drift_counts(table)
    since = f" since {reference_name}" if reference_name else " since the reference"
    text = f"{c['drift']} of {c['columns']} column{'s' if c['columns'] != 1 else ''} drifted{since}"
    text += f" · {c['moderate']} moderate"
    if c["other"]:
        text += f" · {c['other']} not scored"
    return text


def top_drifted(table: pd.DataFrame, *, n: int = 5, minimum: int = 3) -> list[str]:
    """Columns to show first: every drifted then moderate column by score (up to ``n``), topped up to
    ``minimum`` with the next highest scores."""
    if not len(table):
        return []
    t = table[pd.to_numeric(table["score"], errors="coerce").notna()]
    t = t.sort_values("score", ascending=False, kind="stable")
    flagged = t[t["status"].isin(["drift", "moderate"])]["column"].tolist()[:n]
    rest = [c for c in t["column"].tolist() if c not in flagged]
    return flagged + rest[: max(0, minimum - len(flagged))]


def table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The drift table as displayed: status badge first, readable types, shares as lists for bar charts.

    Row order follows ``table`` (the engine sorts by score, highest first), so a selected row index maps back
    to ``table.iloc[i]``. Missing shares are percentages (0–100); ``unseen`` and ``rows`` are text ("—" where
    they do not apply: unseen values exist only for categorical columns).
    """
    def _shares(v: Any) -> list[float]:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return []
        return [float(x) for x in v]

    return pd.DataFrame({
        "status": [status_badge(s) for s in table["status"]],
        "column": table["column"].astype(str),
        "role": table["role"].astype(str).str.replace("_", " "),
        "type": [KIND_NAMES.get(k, str(k) if k is not None else "—") for k in table["kind"]],
        "score": pd.to_numeric(table["score"], errors="coerce"),
        "test": table["test"].fillna("—").astype(str) if "test" in table else "—",
        "p_value_adj": pd.to_numeric(table["p_value_adj"], errors="coerce"),
        "missing_reference": pd.to_numeric(table["missing_reference"], errors="coerce") * 100,
        "missing_primary": pd.to_numeric(table["missing_primary"], errors="coerce") * 100,
        "unseen": [f"{v:.1%}" if pd.notna(v) else "—" for v in pd.to_numeric(table["unseen_share"], errors="coerce")],
        "rows": [f"{int(a):,} / {int(b):,}" if pd.notna(a) and pd.notna(b) else "—"
                 for a, b in zip(pd.to_numeric(table["n_reference"], errors="coerce"),
                                 pd.to_numeric(table["n_primary"], errors="coerce"))],
        "reference_shares": [_shares(v) for v in table["reference_shares"]],
        "primary_shares": [_shares(v) for v in table["primary_shares"]],
        "note": table["note"].fillna("").astype(str),
    }, index=range(len(table)))


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The drift table as CSV (lists of shares/labels as JSON-like strings)."""
    out = table.copy()
    for c in ("bin_labels", "reference_shares", "primary_shares"):
        if c in out:
            out[c] = [None if v is None or (isinstance(v, float) and math.isnan(v))
                      else "[" + ", ".join(f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(str(x))
                                           for x in v) + "]" for v in out[c]]
    return out.to_csv(index=False).encode("utf-8")


# ================================================================================================
# Distribution per bin
# ================================================================================================

def bins_figure(bins: pd.DataFrame, column: str, *, score: float | None = None, metric: str = "psi",
                status: str | None = None, height: int = 380) -> go.Figure:
    """Reference vs primary share of rows per bin (grouped bars). Missing / unseen / other bins sit at the
    right, hatched and labelled, after a dotted separator."""
    types = bins["bin_type"].astype(str).tolist()
    xlab = [SPECIAL_BINS.get(t, str(lbl)) if t != "value" else str(lbl) for t, lbl in zip(types, bins["label"])]
    special = [t != "value" for t in types]
    pattern = ["/" if s else "" for s in special]
    fig = go.Figure()
    for name, color, share, count in (("reference", REFERENCE_COLOR, "reference_share", "reference_count"),
                                      ("primary", PRIMARY_COLOR, "primary_share", "primary_count")):
        y = pd.to_numeric(bins[share], errors="coerce").to_numpy() * 100
        fig.add_trace(go.Bar(
            x=xlab, y=y, name=name.title(), marker=dict(color=color, pattern=dict(shape=pattern, solidity=0.35)),
            customdata=np.c_[bins[count].to_numpy()],
            hovertemplate=f"<b>%{{x}}</b><br>{name.title()}: %{{y:.1f}}% of rows (%{{customdata[0]:,}})<extra></extra>",
            text=[f"{v:.0f}%" if s and v >= 0.5 else "" for v, s in zip(y, special)], textposition="outside",
            constraintext="none", textfont=dict(size=12, color=color), cliponaxis=False))
    first_special = next((i for i, s in enumerate(special) if s), None)
    if first_special is not None and first_special > 0:
        fig.add_vline(x=first_special - 0.5, line=dict(color="#9CA3AF", dash="dot", width=1))
    title = f"{column} — share of rows per bin"
    if score is not None and np.isfinite(score):
        title += f" · {metric_name(metric)} {score:.3f}" + (f" ({status})" if status else "")
    base_layout(fig, height=height, title=title)
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_yaxes(title_text="% of rows", ticksuffix="%", rangemode="tozero")
    fig.update_xaxes(title_text=None, type="category", tickangle=-30 if len(xlab) > 8 else 0)
    return fig


# ================================================================================================
# Drift over time
# ================================================================================================

def _windows(dot: pd.DataFrame) -> pd.DataFrame:
    """One row per window (keyed by ``window_end``, unique also for rolling windows): window_start, window_end,
    period_start (where the window's own period starts: = window_start for tumbling windows), mid (the period's
    midpoint, where the window is drawn), n_rows, too_few_rows. Taken from the column rows (not embeddings)."""
    d = dot[dot["metric"] != "euclidean"] if "metric" in dot and (dot["metric"] != "euclidean").any() else dot
    cols = [c for c in ("window_start", "window_end", "n_rows", "too_few_rows") if c in d]
    w = d[cols].drop_duplicates("window_end").sort_values("window_end").reset_index(drop=True)
    if "too_few_rows" not in w:
        w["too_few_rows"] = False
    w["period_start"] = w["window_end"].shift(1)
    if len(w):
        w.loc[0, "period_start"] = w["window_start"].iloc[0]
    w["period_start"] = pd.to_datetime(w["period_start"])
    w["mid"] = _mid(w["period_start"], w["window_end"])
    return w


def _mid(start: pd.Series, end: pd.Series) -> pd.Series:
    return start + (end - start) / 2


def _iso(t: Any) -> str:
    return pd.Timestamp(t).isoformat()


def window_summary(dot: pd.DataFrame, granularity: str | None = None, *, span: bool = False) -> str:
    """``"28 daily windows · 2 with too few rows (not scored)"``; with ``span``, the period is appended:
    ``"28 daily windows from 2026-10-01 00:00 to 2026-10-29 00:00 UTC"``."""
    if dot is None or not len(dot):
        return "No windows"
    w = _windows(dot)
    g = granularity or (dot.attrs.get("granularity") if hasattr(dot, "attrs") else None)
    adj = GRANULARITY_ADJ.get(str(g), "")
    roll = dot.attrs.get("rolling") if hasattr(dot, "attrs") else None
    n = len(w)
    text = f"{n} {adj + ' ' if adj else ''}{'rolling ' if roll else ''}window{'s' if n != 1 else ''}"
    if roll:
        text += f" (each over the last {roll})"
    if span:
        text += f" from {range_text(w['window_start'].min(), w['window_end'].max())}"
    few = int(w["too_few_rows"].fillna(False).astype(bool).sum())
    if few:
        text += f" · {few} with too few rows (not scored)"
    return text


def range_text(start: Any, end: Any) -> str:
    """``"2026-10-15 00:00 to 2026-10-16 00:00 UTC"`` (an open end reads "the start" / "the end")."""
    def f(t: Any, open_: str) -> str:
        return open_ if t is None or t is pd.NaT else f"{pd.Timestamp(t):%Y-%m-%d %H:%M}"
    return f"{f(start, 'the start')} to {f(end, 'the end')} UTC"


def over_time_figure(dot: pd.DataFrame, *, columns: Sequence[str] | None = None, title: str | None = None,
                     thresholds: tuple[float, float] | None = None, selected: tuple[Any, Any] | None = None,
                     y_title: str | None = None, height: int = 460, show_counts: bool = True) -> go.Figure:
    """Score per window per column (lines with markers, gaps where a window has too few rows), the
    moderate and drift thresholds (dotted / dashed; ``thresholds`` = (moderate, drift), else the frame's
    ``threshold_*`` columns), and the primary's rows per window as bars in a small
    panel below (too-few-row windows as a second, amber trace). ``selected`` = (start, end) shades that time range.

    A window is drawn at the middle of its own period (for rolling windows: the last period it covers).
    Every point carries ``customdata = [window_start ISO, window_end ISO, ...]`` so a plotly selection maps
    back to windows (:func:`selected_span`).
    """
    if columns is None:
        columns = list(dict.fromkeys(dot["column"].tolist())) if len(dot) else []
    rows = 2 if show_counts else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.74, 0.26] if rows == 2 else [1.0])
    metric = None
    if len(dot) and "metric" in dot:
        sub = dot[dot["column"].isin(columns)] if columns else dot
        metric = (sub if len(sub) else dot)["metric"].iloc[0]
    w = _windows(dot) if len(dot) else None
    mid_of = dict(zip(w["window_end"], w["mid"])) if w is not None else {}
    for i, col in enumerate(columns):
        d = dot[dot["column"] == col].sort_values("window_end")
        if not len(d):
            continue
        few = d["too_few_rows"].fillna(False).astype(bool).to_numpy() if "too_few_rows" in d \
            else np.zeros(len(d), bool)
        y = pd.to_numeric(d["score"], errors="coerce").to_numpy(dtype=float).copy()
        y[few] = np.nan
        x = [mid_of.get(e, e) for e in d["window_end"]]
        custom = np.c_[[_iso(t) for t in d["window_start"]], [_iso(t) for t in d["window_end"]],
                       d["n_rows"].to_numpy() if "n_rows" in d else np.zeros(len(d))]
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        fig.add_trace(go.Scatter(
            x=x, y=y, name=col, mode="lines+markers", connectgaps=False, customdata=custom,
            line=dict(color=color, width=2), marker=dict(size=6, color=color),
            hovertemplate=(f"<b>{col}</b><br>%{{customdata[0]|%b %d %H:%M}} → %{{customdata[1]|%b %d %H:%M}}"
                           f"<br>{metric_name(metric)}: %{{y:.3f}}"
                           "<br>%{customdata[2]:,} rows<extra></extra>")), row=1, col=1)
    if thresholds is None and len(dot) and "threshold_drift" in dot:
        t = dot[dot["column"].isin(columns)] if columns else dot
        if len(t):
            thresholds = (float(t["threshold_moderate"].iloc[0]), float(t["threshold_drift"].iloc[0]))
    if thresholds is not None:
        m, d_ = thresholds
        for v, color, dash, name in ((d_, DRIFT_COLOR, "dash", "drift"), (m, MODERATE_COLOR, "dot", "moderate")):
            if v is not None and np.isfinite(v):
                fig.add_hline(y=v, line=dict(color=color, dash=dash, width=1.5), row=1, col=1)
                # legend entry for the threshold line (no data: hline shapes have no legend of their own)
                fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{name} ≥ {v:g}",
                                         line=dict(color=color, dash=dash, width=1.5), hoverinfo="skip"),
                              row=1, col=1)
    if show_counts and w is not None:
        few = w["too_few_rows"].fillna(False).astype(bool).to_numpy()
        width_ms = ((w["window_end"] - w["period_start"]).dt.total_seconds() * 1000 * 0.85).to_numpy()
        custom = np.c_[[_iso(t) for t in w["window_start"]], [_iso(t) for t in w["window_end"]]]
        for name, keep, color, note in (("rows per window", ~few, COUNT_COLOR, ""),
                                        ("too few rows (not scored)", few, FEW_ROWS_COLOR, ": too few, not scored")):
            if not keep.any():
                continue
            fig.add_trace(go.Bar(
                x=w["mid"][keep], y=w["n_rows"][keep], width=width_ms[keep], name=name, customdata=custom[keep],
                marker=dict(color=color),
                hovertemplate=("%{customdata[0]|%b %d %H:%M} → %{customdata[1]|%b %d %H:%M}"
                               f"<br>%{{y:,}} primary rows{note}<extra></extra>")), row=2, col=1)
        fig.update_yaxes(title_text="rows", row=2, col=1, rangemode="tozero", nticks=3)
    if selected is not None and selected[0] is not None:
        a, b = (pd.Timestamp(v) for v in selected)
        a, b = (t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t for t in (a, b))
        for r in range(1, rows + 1):
            fig.add_vrect(x0=a, x1=b, fillcolor=PRIMARY_COLOR, opacity=0.10, line_width=0, row=r, col=1)
    base_layout(fig, height=height, title=title)
    fig.update_layout(dragmode="select", hovermode="closest", clickmode="event+select", bargap=0)
    fig.update_yaxes(title_text=y_title or metric_name(metric), rangemode="tozero", row=1, col=1)
    return fig


def selected_span(dot: pd.DataFrame, event: Any) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time range covered by a plotly selection on :func:`over_time_figure`: from the earliest selected
    window's start to the latest one's end (naive UTC, ``[start, end)``), or ``None`` when nothing is selected.

    ``event`` is what ``st.plotly_chart(..., on_select="rerun")`` returns (or its ``selection``), read as a
    mapping. Points are matched through their ``customdata`` (window end), else their ``x`` (the nearest
    window midpoint); a box without points selects the windows whose midpoint lies inside it.
    """
    if event is None or dot is None or not len(dot):
        return None
    sel = event.get("selection", event) if isinstance(event, Mapping) else getattr(event, "selection", None)
    if not sel:
        return None
    get = sel.get if isinstance(sel, Mapping) else (lambda k, d=None: getattr(sel, k, d))
    points = list(get("points", []) or [])
    w = _windows(dot)
    starts, ends, mids = (pd.to_datetime(w[c]) for c in ("window_start", "window_end", "mid"))

    def _ts(v: Any) -> pd.Timestamp | None:
        try:
            t = pd.Timestamp(v)
        except (ValueError, TypeError):
            return None
        if t is pd.NaT:
            return None
        return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t

    picked: set[int] = set()
    for p in points:
        p = p if isinstance(p, Mapping) else dict(p)
        cd = p.get("customdata")
        hit = None
        if cd is not None and len(cd) >= 2:
            t = _ts(cd[1])
            if t is not None:
                m = np.flatnonzero((ends == t).to_numpy())
                hit = int(m[0]) if len(m) else None
        if hit is None and p.get("x") is not None:
            t = _ts(p["x"])
            if t is not None:
                hit = int(np.argmin(np.abs((mids - t).dt.total_seconds().to_numpy())))
        if hit is not None:
            picked.add(hit)
    if not picked:
        for box in get("box", []) or []:
            xs = box.get("x") if isinstance(box, Mapping) else None
            ts = [t for t in (_ts(v) for v in (xs or [])[:2]) if t is not None]
            if len(ts) == 2:
                a, b = sorted(ts)
                picked.update(int(i) for i in np.flatnonzero(((mids >= a) & (mids <= b)).to_numpy()))
    if not picked:
        return None
    idx = sorted(picked)
    return starts.iloc[idx].min(), ends.iloc[idx].max()


def embedding_over_time_figure(dot: pd.DataFrame, *, embeddings: Sequence[str] | None = None,
                               height: int = 360) -> go.Figure:
    """Euclidean distance between each primary window's embedding centroid and the reference centroid
    (the ``metric == "euclidean"`` rows of :func:`obs_core.timeseries.drift_over_time`), with the vectors per
    window as bars."""
    emb = dot[dot["metric"] == "euclidean"] if "metric" in dot else dot.iloc[0:0]
    names = list(embeddings) if embeddings is not None else list(dict.fromkeys(emb["column"].tolist()))
    emb = emb[emb["column"].isin(names)]
    fig = over_time_figure(emb, columns=names, y_title="Euclidean distance", height=height,
                           thresholds=(math.nan, math.nan))
    fig.update_yaxes(title_text="vectors", row=2, col=1)
    for t in fig.data:
        if t.name == "rows per window":
            t.name = "vectors per window"
            t.hovertemplate = t.hovertemplate.replace("primary rows", "vectors")
    return fig


def column_labels(columns: Iterable[str]) -> dict[str, str]:
    """Readable labels for a set of column names (``{name: label}``)."""
    return {c: label(c) for c in columns}
