"""Figures and display tables for the Data quality page (pure Plotly / pandas; no streamlit).

Everything here reshapes results of :mod:`obs_core.quality` (``quality_table``, ``quality_detail``,
``missing_over_time``, ``quality_summary``) for display: no counting over rows happens here.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from .style import (DRIFT_COLOR, FEW_ROWS_COLOR, MODERATE_COLOR, OK_COLOR, PRIMARY_COLOR, REFERENCE_COLOR,
                    base_layout, empty_figure, label)

QUALITY_STATUS_ORDER = ("fail", "warn", "pass")
QUALITY_STATUS_COLORS = {"fail": DRIFT_COLOR, "warn": MODERATE_COLOR, "pass": OK_COLOR}
QUALITY_STATUS_EMOJI = {"fail": "🔴", "warn": "🟠", "pass": "🟢"}
QUALITY_STATUS_WORD = {"fail": "fail", "warn": "warning", "pass": "pass"}
DATASET_ORDER = ("primary", "reference")

# Readable names for the engine's check ids.
CHECK_LABELS = {
    "present": "Column present", "type": "Type", "count": "Values", "missing": "Missing values",
    "cardinality": "Distinct values", "min": "Minimum", "mean": "Mean", "max": "Maximum", "p01": "1st percentile",
    "p50": "Median", "p99": "99th percentile", "top_categories": "Top categories", "new_categories": "New categories",
    "out_of_range": "Out of range", "score_range": "Score range", "unparseable": "Unparseable values",
    "constant": "Constant", "duplicate_ids": "Duplicate ids",
}
# Info rows (always "pass"): hidden from the default view, they describe rather than check.
INFO_CHECKS = ("cardinality", "min", "mean", "max", "p01", "p50", "p99", "top_categories", "count", "type")


def status_badge(status: Any) -> str:
    """``"fail"`` → ``"🔴 fail"``, ``"warn"`` → ``"🟠 warn"``, ``"pass"`` → ``"🟢 pass"``."""
    s = "" if status is None else str(status)
    return f"{QUALITY_STATUS_EMOJI.get(s, '⚪')} {s}" if s else ""


def check_label(check: str) -> str:
    return CHECK_LABELS.get(check, label(check))


def _status_rank(s: pd.Series) -> pd.Series:
    return s.map({k: i for i, k in enumerate(QUALITY_STATUS_ORDER)}).fillna(len(QUALITY_STATUS_ORDER))


def _dataset_rank(s: pd.Series) -> pd.Series:
    return s.map({k: i for i, k in enumerate(DATASET_ORDER)}).fillna(len(DATASET_ORDER))


def checks_view(table: pd.DataFrame, *, statuses: Iterable[str] | None = None,
                datasets: Iterable[str] | None = None, columns: Iterable[str] | None = None,
                include_info: bool = True) -> pd.DataFrame:
    """The checks table as the page shows it: filtered, worst first (fail, warn, pass; primary before reference;
    columns in schema order), with a badge column and readable check names.

    Columns: ``Status`` (badge), ``Dataset``, ``Column``, ``Check``, ``Value``, ``Detail`` plus the raw ``status``
    and ``check`` ids (hidden by the page, used by tests and the CSV).
    """
    t = table
    if statuses is not None:
        t = t[t["status"].isin(list(statuses))]
    if datasets is not None:
        t = t[t["dataset"].isin(list(datasets))]
    if columns:
        t = t[t["column"].isin(list(columns))]
    if not include_info:
        t = t[~(t["check"].isin(INFO_CHECKS) & (t["status"] == "pass"))]
    order = {c: i for i, c in enumerate(dict.fromkeys(table["column"]))}
    keys = pd.DataFrame({"s": _status_rank(t["status"]), "d": _dataset_rank(t["dataset"]),
                         "c": t["column"].map(order), "i": range(len(t))}, index=t.index)
    t = t.loc[keys.sort_values(["s", "d", "c", "i"]).index]
    return pd.DataFrame({
        "Status": t["status"].map(status_badge), "Dataset": t["dataset"], "Column": t["column"],
        "Check": t["check"].map(check_label), "Value": t["value"], "Detail": t["detail"],
        "status": t["status"], "check": t["check"],
    }).reset_index(drop=True)


def column_statuses(table: pd.DataFrame, dataset: str = "primary") -> pd.DataFrame:
    """The worst status per column of one dataset, worst first then schema order: ``column, status, n_fail,
    n_warn`` (a reshaping of the checks table: no data is read)."""
    t = table[table["dataset"] == dataset]
    if t.empty:
        t = table
    order = list(dict.fromkeys(t["column"]))
    rows = []
    for c in order:
        st = t.loc[t["column"] == c, "status"].tolist()
        worst = next((s for s in QUALITY_STATUS_ORDER if s in st), "pass")
        rows.append({"column": c, "status": worst, "n_fail": st.count("fail"), "n_warn": st.count("warn")})
    out = pd.DataFrame(rows, columns=["column", "status", "n_fail", "n_warn"])
    if len(out):
        out = out.iloc[pd.DataFrame({"s": _status_rank(out["status"]), "i": range(len(out))})
                       .sort_values(["s", "i"]).index].reset_index(drop=True)
    return out


def headline(summary: pd.DataFrame, dataset: str = "primary", *, name: str | None = None) -> str:
    """"3 failing checks, 1 warning in the primary" from :func:`obs_core.quality.quality_summary`'s table."""
    row = summary[summary["dataset"] == dataset]
    where = f"in the {name or dataset}"
    if row.empty:
        return f"No checks {where}."
    r = row.iloc[0]
    n_fail, n_warn = int(r["n_fail"]), int(r["n_warn"])
    if not n_fail and not n_warn:
        return f"Every check passes {where} ({int(r['n_pass']):,} checks)."
    parts = []
    parts.append(f"{n_fail:,} failing check{'s' if n_fail != 1 else ''}" if n_fail else "no failing checks")
    parts.append(f"{n_warn:,} warning{'s' if n_warn != 1 else ''}" if n_warn else "no warnings")
    text = ", ".join(parts) + f" {where}"
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------------------

def categories_bar(categories: pd.DataFrame | None, column: str, *, top: int = 25) -> go.Figure:
    """Reference vs primary share of each category (``quality_detail(...)["categories"]``), new categories
    (never seen in the reference) in red with their primary row count written on the bar."""
    if categories is None or categories.empty:
        return empty_figure("No categories to show.")
    c = categories.head(top)
    values = c["value"].astype(str).tolist()
    text_new = [f"new: {int(n):,} rows" if new else "" for n, new in zip(c["count_primary"], c["new"])]
    fig = go.Figure()
    fig.add_bar(name="reference", y=values, x=100 * c["share_reference"], orientation="h",
                marker_color=REFERENCE_COLOR, customdata=c["count_reference"],
                hovertemplate="%{y}<br>reference: %{x:.1f}% (%{customdata:,} rows)<extra></extra>")
    fig.add_bar(name="primary", y=values, x=100 * c["share_primary"], orientation="h",
                marker_color=[DRIFT_COLOR if n else PRIMARY_COLOR for n in c["new"]],
                customdata=c["count_primary"], text=text_new, textposition="outside", cliponaxis=False,
                hovertemplate="%{y}<br>primary: %{x:.1f}% (%{customdata:,} rows)<extra></extra>")
    if c["new"].any():
        fig.add_bar(name="new in the primary", x=[None], y=[None], orientation="h", marker_color=DRIFT_COLOR)
    more = f" (top {top} of {len(categories)})" if len(categories) > top else ""
    base_layout(fig, height=max(340, 110 + 40 * len(c)),
                title=f"{label(column)}: share of rows per category{more}")
    fig.update_layout(barmode="group", bargap=0.25, legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", title=None, type="category")
    fig.update_xaxes(title="share of non-missing values (%)", ticksuffix="%", rangemode="tozero")
    return fig


def out_of_range_bar(out_of_range: pd.DataFrame | None, column: str, *, checks: pd.DataFrame | None = None
                     ) -> go.Figure:
    """Primary values below the reference minimum and above its maximum (``quality_detail(...)["out_of_range"]``),
    coloured by the ``out_of_range`` check's status when ``checks`` (the column's check rows) are given."""
    if out_of_range is None or out_of_range.empty:
        return empty_figure("No range check for this column.")
    o = out_of_range
    status = "pass"
    if checks is not None and len(checks):
        r = checks[(checks["check"] == "out_of_range") & (checks["dataset"] == "primary")]
        status = str(r["status"].iloc[0]) if len(r) else "pass"
    bar_color = {"fail": DRIFT_COLOR, "warn": MODERATE_COLOR}.get(status, PRIMARY_COLOR)
    names = [f"below the reference min ({_num(b)})" if s == "below" else f"above the reference max ({_num(b)})"
             for s, b in zip(o["side"], o["bound"])]
    shares = [0.0 if (isinstance(x, float) and math.isnan(x)) else 100 * x for x in o["share"]]
    colors = [bar_color if k else REFERENCE_COLOR for k in o["count"]]
    fig = go.Figure(go.Bar(x=o["count"], y=names, orientation="h", marker_color=colors,
                           text=[f"{int(k):,} rows ({s:.2f}%)" for k, s in zip(o["count"], shares)],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:,} rows<extra></extra>"))
    base_layout(fig, height=260, title=f"{label(column)}: outside the reference range", legend=False)
    fig.update_xaxes(title="rows", rangemode="tozero")
    fig.update_yaxes(title=None, autorange="reversed")
    top = max(1, int(o["count"].max()))
    fig.update_xaxes(range=[0, top * 1.35])
    return fig


def missing_over_time_line(over_time: pd.DataFrame, column: str, *, reference_share: float | None = None,
                           primary_share: float | None = None) -> go.Figure:
    """Missing share (%) of ``column`` per primary window (``missing_over_time``), the reference's overall rate as
    a dashed horizontal line; windows with too few rows are drawn hollow and pale."""
    d = over_time[over_time["column"] == column] if "column" in over_time else over_time
    if d.empty:
        return empty_figure("No time windows (the primary has no timestamps here).")
    g = over_time.attrs.get("granularity", "")
    y = 100 * d["missing_share"].astype(float)
    few = d["too_few_rows"].astype(bool)
    hover = ("%{x|%Y-%m-%d %H:%M}<br>missing: %{y:.1f}%<br>%{customdata[0]:,} of %{customdata[1]:,} rows"
             "<extra></extra>")
    fig = go.Figure()
    fig.add_scatter(x=d["window_start"], y=y, mode="lines+markers", name="primary",
                    line=dict(color=PRIMARY_COLOR, width=2.5),
                    marker=dict(size=[5 if f else 7 for f in few],
                                color=[FEW_ROWS_COLOR if f else PRIMARY_COLOR for f in few]),
                    customdata=d[["n_missing", "n_rows"]].to_numpy(), hovertemplate=hover)
    if reference_share is not None and not (isinstance(reference_share, float) and math.isnan(reference_share)):
        fig.add_hline(y=100 * reference_share, line=dict(color=REFERENCE_COLOR, width=2, dash="dash"))
        fig.add_scatter(x=[None], y=[None], mode="lines", name=f"reference ({100 * reference_share:.1f}%)",
                        line=dict(color=REFERENCE_COLOR, width=2, dash="dash"))
    if few.any():
        fig.add_scatter(x=[None], y=[None], mode="markers", name="too few rows",
                        marker=dict(color=FEW_ROWS_COLOR, size=7))
    title = f"{label(column)}: missing values per {g or 'window'}"
    if primary_share is not None:
        title += f" (primary overall {100 * primary_share:.1f}%)"
    base_layout(fig, height=340, title=title)
    fig.update_yaxes(title="missing (%)", ticksuffix="%", rangemode="tozero")
    fig.update_xaxes(title=None)
    return fig


def status_counts_bar(summary: pd.DataFrame) -> go.Figure:
    """Stacked pass / warn / fail counts per dataset (``quality_summary``)."""
    if summary.empty:
        return empty_figure("No checks.")
    s = summary.set_index("dataset").reindex([d for d in DATASET_ORDER if d in set(summary["dataset"])])
    fig = go.Figure()
    for status, col in (("fail", "n_fail"), ("warn", "n_warn"), ("pass", "n_pass")):
        fig.add_bar(name=QUALITY_STATUS_WORD[status], y=s.index, x=s[col], orientation="h",
                    marker_color=QUALITY_STATUS_COLORS[status], text=s[col], textposition="inside",
                    hovertemplate="%{y}: %{x:,} " + status + "<extra></extra>")
    base_layout(fig, height=180, title="Checks by status")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="checks")
    return fig


def _num(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "—"
    if f != 0 and (abs(f) >= 1e6 or abs(f) < 1e-3):
        return f"{f:.4g}"
    return f"{f:,.4f}".rstrip("0").rstrip(".")


def missing_share(missing: pd.DataFrame | None, dataset: str) -> float | None:
    """The overall missing share (0..1) of one dataset from ``quality_detail(...)["missing"]``, or None."""
    if missing is None or missing.empty:
        return None
    r = missing[missing["dataset"] == dataset]
    return None if r.empty else float(r["missing_share"].iloc[0])


def column_options(statuses: pd.DataFrame) -> list[str]:
    """Column names, worst first (for the detail selectbox)."""
    return statuses["column"].tolist()


def column_option_label(statuses: pd.DataFrame) -> dict[str, str]:
    """column → ``"🔴 customer_age"`` style labels for the detail selectbox."""
    return {c: f"{QUALITY_STATUS_EMOJI.get(s, '⚪')} {c}" for c, s in zip(statuses["column"], statuses["status"])}


__all__: Sequence[str] = (
    "QUALITY_STATUS_COLORS", "QUALITY_STATUS_EMOJI", "QUALITY_STATUS_ORDER", "categories_bar", "check_label",
    "checks_view", "column_option_label", "column_options", "column_statuses", "headline", "missing_over_time_line",
    "missing_share", "out_of_range_bar", "status_badge", "status_counts_bar",
)
