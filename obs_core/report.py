"""A self-contained HTML report of a comparison, and the headline numbers it (and the pages) lead with.

``build_report(cmp)`` returns one HTML document: a headline (drifted columns, data-quality failures, the headline
performance metric), the drift table with a bar chart of drift scores and drift over time for the top columns,
a data-quality summary with every failing or warning check, and a performance summary (metrics reference vs
primary, the headline metric over time, the segments where the model is worst).

Rules:

- **Only aggregated results go in**: tables with one row per column, check, metric or segment, and figures of
  per-window or per-bin values. No row of the data (ids, texts, vectors) is ever written, so the report's size
  does not grow with the number of rows.
- **plotly.js is embedded once**, inline in the ``<head>`` (``plotly.offline.get_plotlyjs()``), and every chart is
  a ``<div>`` + ``Plotly.newPlot`` call without its own copy, so the file opens offline, from an e-mail or a
  ticket. plotly.js alone is about 4.8 MB; the rest is typically 0.1–0.3 MB.
- A section that cannot be computed (no reference → no drift; no model type or no actuals → no metrics; no
  timestamp → nothing over time) says why instead of failing the whole report.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from .errors import NotEnoughData, ObsError

Progress = Callable[[float, str], None]

TOP_DRIFT_COLUMNS = 5          # columns drawn over time
MAX_DRIFT_BARS = 25            # columns in the drift score chart
MAX_QUALITY_ROWS = 60          # failing / warning checks listed
TOP_SEGMENTS = 5               # segments listed for the worst column

_CANDIDATE_KINDS = ("text", "bool")


# =================================================================================================
# Where is the model worst? (used by the Performance page's default and by the report)
# =================================================================================================

def segment_candidates(cmp: Any) -> list[str]:
    """Columns worth segmenting by: tags, then categorical (text/bool) features; numeric features when there is
    no categorical column at all."""
    kinds = cmp.filterable_columns()
    schema = cmp.schema
    tags = [c for c in schema.tags if kinds.get(c) in _CANDIDATE_KINDS + ("number",)]
    cats = [c for c in schema.features if kinds.get(c) in _CANDIDATE_KINDS]
    out = list(dict.fromkeys(tags + cats))
    if not out:
        out = [c for c in schema.features if kinds.get(c) == "number"]
    return out


def rank_segment_columns(cmp: Any, columns: Sequence[str] | None = None, *, metric: str | None = None,
                         dataset: str = "primary") -> pd.DataFrame:
    """For each candidate column (default :func:`segment_candidates`), its worst segment by impact
    (:func:`obs_core.performance.segments`): ``column, segment, metric, value, reference_value, overall, impact,
    n_rows, share``, worst column first. Columns whose segments all have too few rows or no value come last
    (impact NaN)."""
    return _rank_segments(cmp, columns, metric=metric, dataset=dataset)[0]


def _rank_segments(cmp: Any, columns: Sequence[str] | None, *, metric: str | None, dataset: str
                   ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    cols = list(columns) if columns is not None else segment_candidates(cmp)
    rows, tables = [], {}
    for c in cols:
        seg = cmp.segments(by=c, metric=metric, dataset=dataset)
        tables[c] = seg
        ok = seg[~seg["too_few_rows"] & seg["impact"].notna()]
        top = ok.iloc[0] if len(ok) else (seg.iloc[0] if len(seg) else None)
        if top is None:
            continue
        rows.append({"column": c, "segment": top["segment"], "metric": top["metric"], "value": top["value"],
                     "reference_value": top["reference_value"], "overall": top["overall"],
                     "impact": top["impact"] if len(ok) else float("nan"), "n_rows": int(top["n_rows"]),
                     "share": top["share"]})
    out = pd.DataFrame(rows, columns=["column", "segment", "metric", "value", "reference_value", "overall",
                                      "impact", "n_rows", "share"])
    return out.sort_values("impact", ascending=False, na_position="last", kind="stable").reset_index(drop=True), \
        tables


# =================================================================================================
# Headline numbers
# =================================================================================================

@dataclass(frozen=True)
class Headline:
    """The numbers a report (and the Report page's preview) leads with. ``None`` = not available, with the
    reason in ``notes``."""

    primary_name: str
    reference_name: str | None
    rows_primary: int
    rows_reference: int | None
    columns: int | None = None               # drift-scored columns
    drifted: tuple[str, ...] | None = None  # columns with status "drift", highest score first
    moderate: tuple[str, ...] | None = None
    quality_fail: int | None = None          # primary checks
    quality_warn: int | None = None
    quality_failing_columns: tuple[str, ...] | None = None
    metric: str | None = None
    metric_primary: float | None = None
    metric_reference: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def sentences(self) -> list[str]:
        out = []
        if self.drifted is not None:
            n = len(self.drifted)
            out.append(f"{n} of {self.columns} columns drifted" + (f": {', '.join(self.drifted)}" if n else "") +
                       (f" ({len(self.moderate)} moderate)" if self.moderate else "") + ".")
        if self.quality_fail is not None:
            out.append(f"{self.quality_fail} failing data-quality check{'s' if self.quality_fail != 1 else ''}, "
                       f"{self.quality_warn} warning{'s' if self.quality_warn != 1 else ''} in the primary.")
        if self.metric is not None and self.metric_primary is not None and _finite(self.metric_primary):
            s = f"{_metric_label(self.metric)} {self.metric_primary:.3f} in the primary"
            if self.metric_reference is not None and _finite(self.metric_reference):
                s += f" vs {self.metric_reference:.3f} in the reference ({self.metric_primary - self.metric_reference:+.3f})"
            out.append(s + ".")
        elif self.metric is not None and self.metric_reference is not None and _finite(self.metric_reference):
            out.append(f"{_metric_label(self.metric)} {self.metric_reference:.3f} in the reference; the primary "
                       f"has no evaluated rows.")
        return out + list(self.notes)


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _metric_label(m: str) -> str:
    from .viz.performance import metric_label
    return metric_label(m)


class _Results:
    """Each engine result computed once per report (or the ObsError that says why it is missing)."""

    def __init__(self, cmp: Any) -> None:
        self.cmp = cmp
        self._done: dict[str, Any] = {}

    def get(self, name: str, fn: Callable[[], Any]) -> tuple[Any, ObsError | None]:
        if name not in self._done:
            try:
                self._done[name] = (fn(), None)
            except ObsError as e:
                self._done[name] = (None, e)
        return self._done[name]

    def drift(self):
        return self.get("drift", self.cmp.drift)

    def quality(self):
        return self.get("quality", self.cmp.quality)

    def performance(self):
        return self.get("performance", self.cmp.performance)


def headline(cmp: Any, *, _results: _Results | None = None) -> Headline:
    """Compute the headline numbers from the drift table, the quality table and the overall performance."""
    from .performance import headline_metric
    from .quality import quality_summary
    res = _results or _Results(cmp)
    n = cmp.num_rows()
    info: dict[str, Any] = dict(
        primary_name=getattr(cmp.primary_dataset, "name", "primary"),
        reference_name=getattr(cmp.reference_dataset, "name", "reference") if cmp.has_reference else None,
        rows_primary=n["primary"], rows_reference=n.get("reference"))
    notes = []
    if cmp.has_reference:
        d, err = res.drift()
        if err is not None:
            notes.append(f"Drift: {err.user_message}")
        else:
            scored = d[d["score"].notna()]
            info.update(columns=len(d), drifted=tuple(scored.loc[scored["status"] == "drift", "column"]),
                        moderate=tuple(scored.loc[scored["status"] == "moderate", "column"]))
    else:
        notes.append("No reference dataset: drift needs a reference to compare with.")
    q, err = res.quality()
    if err is not None:
        notes.append(f"Data quality: {err.user_message}")
    else:
        s = quality_summary(q)
        p = s[s["dataset"] == "primary"]
        if len(p):
            info.update(quality_fail=int(p["n_fail"].iloc[0]), quality_warn=int(p["n_warn"].iloc[0]))
            prim = q[(q["dataset"] == "primary") & (q["status"] == "fail")]
            info["quality_failing_columns"] = tuple(dict.fromkeys(prim["column"]))
    perf, err = res.performance()
    if err is not None:
        notes.append(f"Performance: {err.user_message}")
    else:
        metric = headline_metric(cmp.schema.model_type)
        ov = perf[perf["class"].isna()] if "class" in perf else perf
        val = {d: ov.loc[(ov["metric"] == metric) & (ov["dataset"] == d), "value"] for d in ("primary", "reference")}
        info.update(metric=metric,
                    metric_primary=float(val["primary"].iloc[0]) if len(val["primary"]) else None,
                    metric_reference=float(val["reference"].iloc[0]) if len(val["reference"]) else None)
    return Headline(**info, notes=tuple(notes))


# =================================================================================================
# Figures that only the report draws
# =================================================================================================

def drift_scores_figure(table: pd.DataFrame, *, top: int = MAX_DRIFT_BARS) -> go.Figure:
    """Drift score per column (horizontal bars coloured by status, highest on top) with the thresholds."""
    from .viz.drift import metric_name
    from .viz.style import NEUTRAL_COLOR, STATUS_COLORS, base_layout

    t = table[table["score"].notna()].sort_values("score", ascending=False).head(top)
    fig = go.Figure(go.Bar(
        x=t["score"], y=t["column"].astype(str), orientation="h",
        marker_color=[STATUS_COLORS.get(s, NEUTRAL_COLOR) for s in t["status"]],
        text=[f"{v:.3f} · {s}" for v, s in zip(t["score"], t["status"])], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    metric = str(t["metric"].iloc[0]) if len(t) else "psi"
    if len(t):
        for col, dash, name in (("threshold_drift", "dash", "drift"), ("threshold_moderate", "dot", "moderate")):
            v = t[col].dropna()
            if len(v):
                fig.add_vline(x=float(v.iloc[0]), line=dict(color="#6B7280", dash=dash, width=1),
                              annotation_text=f"{name} ≥ {float(v.iloc[0]):g}", annotation_position="top",
                              annotation_font=dict(size=11, color="#6B7280"))
    base_layout(fig, height=max(240, 80 + 26 * len(t)), title=f"Drift score per column ({metric_name(metric)})",
                legend=False)
    fig.update_yaxes(autorange="reversed", title=None, type="category")
    xmax = float(t["score"].max()) if len(t) else 1.0
    fig.update_xaxes(title=metric_name(metric), range=[0, xmax * 1.3 if xmax > 0 else 1])
    return fig


# =================================================================================================
# HTML
# =================================================================================================

_CSS = """
:root { --ref: #94A3B8; --prim: #4F46E5; --fail: #DC2626; --warn: #F59E0B; --ok: #16A34A; --ink: #1F2937;
        --muted: #6B7280; --line: #E5E7EB; }
* { box-sizing: border-box; }
body { font-family: "Source Sans Pro", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); margin: 0;
       background: #F8FAFC; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 60px; background: white; }
h1 { font-size: 30px; margin: 0 0 4px; } h2 { font-size: 22px; margin: 36px 0 8px; border-bottom: 2px solid var(--line);
  padding-bottom: 6px; } h3 { font-size: 17px; margin: 22px 0 6px; }
p.meta, .muted { color: var(--muted); font-size: 14px; }
.cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 18px 0 6px; }
.card { flex: 1 1 220px; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 28px; font-weight: 700; margin-top: 4px; }
.card .sub { font-size: 13px; color: var(--muted); margin-top: 2px; }
.bad { color: var(--fail); } .warnc { color: #B45309; } .good { color: var(--ok); }
ul.headline { font-size: 16px; line-height: 1.6; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 8px 0 16px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #F1F5F9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         color: white; white-space: nowrap; }
.b-drift, .b-fail { background: var(--fail); } .b-moderate, .b-warn { background: var(--warn); }
.b-nodrift, .b-pass { background: var(--ok); } .b-other { background: #9CA3AF; }
.note { background: #FFFBEB; border-left: 4px solid var(--warn); padding: 8px 12px; margin: 10px 0; font-size: 14px; }
.chart { margin: 6px 0 14px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _e(v)
    return "—" if not math.isfinite(f) else fmt.format(f)


def _badge(status: Any) -> str:
    s = "" if status is None else str(status)
    cls = {"drift": "b-drift", "moderate": "b-moderate", "no drift": "b-nodrift", "fail": "b-fail",
           "warn": "b-warn", "pass": "b-pass"}.get(s, "b-other")
    return f'<span class="badge {cls}">{_e(s)}</span>'


def _table(df: pd.DataFrame, formats: dict[str, Any] | None = None, badges: Sequence[str] = ()) -> str:
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row):
            if c in badges:
                cells.append(f"<td>{_badge(v)}</td>")
            elif c in formats:
                f = formats[c]
                cells.append(f'<td class="num">{f(v) if callable(f) else _num(v, f)}</td>')
            else:
                cells.append(f"<td>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _note(text: str) -> str:
    return f'<div class="note">{_e(text)}</div>'


class _Figures:
    """Numbered chart divs (deterministic ids, no plotly.js copy each)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fig: go.Figure) -> str:
        self.n += 1
        div = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"obs-chart-{self.n}",
                          config={"displaylogo": False, "responsive": True})
        return f'<div class="chart">{div}</div>'


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs
    return get_plotlyjs().replace("</script", "<\\/script")


def _filters_text(cmp: Any) -> str:
    parts = [f.label() for f in getattr(cmp, "filters", ())]
    tr = getattr(cmp, "time_range", None)
    if tr is not None:
        parts.append(f"primary time {getattr(tr, 'start', None) or '…'} → {getattr(tr, 'end', None) or '…'} (UTC)")
    return "; ".join(parts)


def _drift_section(cmp: Any, res: _Results, fig_html: _Figures, progress: Progress) -> str:
    from .viz import drift as vd
    out = ['<section id="drift"><h2>Drift</h2>']
    if not cmp.has_reference:
        out.append(_note("No reference dataset: drift compares the primary with a reference. Load one to see drift."))
        return "".join(out) + "</section>"
    table, err = res.drift()
    if err is not None:
        out.append(_note(f"Drift could not be computed: {err.user_message}"))
        return "".join(out) + "</section>"
    ref_name = getattr(cmp.reference_dataset, "name", None)
    out.append(f"<p>{_e(vd.headline(table, ref_name).replace('**', ''))}.</p>")
    out.append(fig_html(drift_scores_figure(table)))
    progress(0.35, "Drift over time…")
    top = vd.top_drifted(table, n=TOP_DRIFT_COLUMNS)
    if top:
        try:
            dot = cmp.drift_over_time(columns=top)
        except NotEnoughData as e:
            out.append(_note(f"Drift over time is not available: {e.user_message}"))
        else:
            g = dot.attrs.get("granularity")
            out.append(fig_html(vd.over_time_figure(
                dot, columns=top, height=440,
                title=f"Drift over time, top {len(top)} columns ({vd.GRANULARITY_ADJ.get(str(g), str(g or ''))} "
                      f"windows vs the whole reference)")))
    view = pd.DataFrame({
        "status": table["status"], "column": table["column"], "role": table["role"],
        "type": [vd.KIND_NAMES.get(k, k) for k in table["kind"]],
        "score": table["score"], "metric": [vd.metric_name(m) for m in table["metric"]],
        "p (BH-adj.)": table["p_value_adj"],
        "missing ref. %": 100 * pd.to_numeric(table["missing_reference"], errors="coerce"),
        "missing prim. %": 100 * pd.to_numeric(table["missing_primary"], errors="coerce"),
        "new values %": 100 * pd.to_numeric(table["unseen_share"], errors="coerce"),
        "note": table["note"].fillna(""),
    })
    out.append("<h3>Drift table</h3>")
    out.append(_table(view, {"score": "{:.4f}", "p (BH-adj.)": "{:.1e}", "missing ref. %": "{:.1f}",
                             "missing prim. %": "{:.1f}", "new values %": "{:.1f}"}, badges=("status",)))
    rule = table["rule"].dropna()
    if len(rule):
        out.append(f'<p class="muted">Rule (first column): {_e(rule.iloc[0])}</p>')
    return "".join(out) + "</section>"


def _quality_section(cmp: Any, res: _Results) -> str:
    from .quality import quality_summary
    from .viz.quality import check_label
    out = ['<section id="quality"><h2>Data quality</h2>']
    q, err = res.quality()
    if err is not None:
        return "".join(out) + _note(f"Data quality could not be computed: {err.user_message}") + "</section>"
    s = quality_summary(q)
    out.append(_table(s.rename(columns={"n_pass": "pass", "n_warn": "warn", "n_fail": "fail",
                                        "columns_failing": "columns failing", "columns_warning": "columns warning"}),
                      {c: "{:,.0f}" for c in ("pass", "warn", "fail", "columns failing", "columns warning")}))
    bad = q[q["status"] != "pass"].copy()
    if bad.empty:
        out.append("<p class='good'>Every check passes.</p>")
    else:
        rank = {"fail": 0, "warn": 1}
        bad = bad.assign(_r=bad["status"].map(rank), _d=(bad["dataset"] != "primary").astype(int))
        bad = bad.sort_values(["_r", "_d"], kind="stable")
        shown = bad.head(MAX_QUALITY_ROWS)
        out.append("<h3>Failing and warning checks</h3>")
        out.append(_table(pd.DataFrame({"status": shown["status"], "dataset": shown["dataset"],
                                        "column": shown["column"], "check": shown["check"].map(check_label),
                                        "detail": shown["detail"]}), badges=("status",)))
        if len(bad) > len(shown):
            out.append(f'<p class="muted">… and {len(bad) - len(shown)} more.</p>')
    return "".join(out) + "</section>"


def _performance_section(cmp: Any, res: _Results, fig_html: _Figures, progress: Progress) -> str:
    from .performance import headline_metric, metric_direction
    from .viz import performance as vp
    out = ['<section id="performance"><h2>Performance</h2>']
    perf, err = res.performance()
    if err is not None:
        return "".join(out) + _note(f"Performance is not available: {err.user_message}") + "</section>"
    metric = headline_metric(cmp.schema.model_type)
    names = {"primary": "the primary", "reference": "the reference"}
    for s in vp.coverage_sentences(vp.coverage(perf), names):
        out.append(_note(s.replace("**", "")))
    rows = []
    for c in vp.metric_cards(perf):
        rows.append({"metric": vp.metric_label(c["metric"]), "reference": c["reference"], "primary": c["primary"],
                     "change": c["primary"] - c["reference"] if _finite(c["primary"]) and _finite(c["reference"])
                     else float("nan"),
                     "better when": {"higher": "higher", "lower": "lower", "zero": "closer to 0"}[
                         metric_direction(c["metric"])]})
    if rows:
        out.append(_table(pd.DataFrame(rows), {"reference": "{:.4f}", "primary": "{:.4f}", "change": "{:+.4f}"}))
    progress(0.7, "Performance over time…")
    if cmp.schema.timestamp:
        try:
            pt = cmp.performance(granularity="auto")
        except NotEnoughData as e:
            out.append(_note(f"Performance over time is not available: {e.user_message}"))
        else:
            if vp.windows(pt):
                out.append(fig_html(vp.metric_over_time(pt, metric)))
    progress(0.8, "Segments…")
    try:
        ranked, tables = _rank_segments(cmp, None, metric=metric, dataset="primary")
    except ObsError as e:
        out.append(_note(f"Segments are not available: {e.user_message}"))
        ranked, tables = pd.DataFrame(), {}
    if len(ranked) and _finite(ranked["impact"].iloc[0]):
        col = ranked["column"].iloc[0]
        seg = tables[col]
        out.append(f"<h3>Where the model is worst: by {_e(col)}</h3>")
        out.append(fig_html(vp.segments_figure(seg, top=10)))
        view = vp.segments_view(seg.head(TOP_SEGMENTS))
        out.append(_table(view, {"Value": "{:.4f}", "Reference": "{:.4f}", "vs overall": "{:+.4f}",
                                 "Rows": "{:,.0f}", "Share": "{:.1f}%", "Impact": "{:+.4f}"}))
        others = ranked.iloc[1:]
        if len(others):
            out.append('<p class="muted">Worst segment of the other columns: ' + _e("; ".join(
                f"{r.column} = {r.segment} ({vp.fmt_metric(metric, r.value)})" for r in others.head(6).itertuples()
                if _finite(r.impact))) + ".</p>")
    return "".join(out) + "</section>"


def _headline_html(h: Headline) -> str:
    cards = []
    if h.drifted is not None:
        cls = "bad" if h.drifted else "good"
        cards.append(("Drifted columns", f'<span class="{cls}">{len(h.drifted)}</span> / {h.columns}',
                      ", ".join(h.drifted) or "none"))
    if h.quality_fail is not None:
        cls = "bad" if h.quality_fail else ("warnc" if h.quality_warn else "good")
        cards.append(("Failing quality checks", f'<span class="{cls}">{h.quality_fail}</span>',
                      f"{h.quality_warn} warning{'s' if h.quality_warn != 1 else ''} · primary"))
    if h.metric is not None:
        p, r = h.metric_primary, h.metric_reference
        val = _num(p) if p is not None and _finite(p) else "—"
        sub = f"reference {_num(r)}" if r is not None and _finite(r) else "no reference value"
        if p is not None and r is not None and _finite(p) and _finite(r):
            sub += f" · change {p - r:+.3f}"
        cards.append((_metric_label(h.metric) + " (primary)", val, sub))
    cards_html = "".join(f'<div class="card"><div class="label">{_e(a)}</div><div class="value">{b}</div>'
                         f'<div class="sub">{_e(c)}</div></div>' for a, b, c in cards)
    items = "".join(f"<li>{_e(s)}</li>" for s in h.sentences())
    return f'<section id="headline"><div class="cards">{cards_html}</div><ul class="headline">{items}</ul></section>'


def build_report(cmp: Any, *, title: str | None = None, progress: Progress | None = None,
                 generated_at: dt.datetime | None = None) -> str:
    """The report as one self-contained HTML document (rules in the module docstring).

    ``progress(fraction, message)`` is called as sections are computed (for a progress bar);
    ``generated_at`` (default now, UTC) is printed in the header.
    """
    step = progress or (lambda f, m: None)
    step(0.02, "Headline numbers…")
    res = _Results(cmp)
    h = headline(cmp, _results=res)
    figs = _Figures()
    title = title or f"obs report: {h.primary_name}" + (f" vs {h.reference_name}" if h.reference_name else "")
    when = (generated_at or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    meta = [f"Primary <b>{_e(h.primary_name)}</b> ({h.rows_primary:,} rows)"]
    if h.reference_name is not None:
        meta.append(f"reference <b>{_e(h.reference_name)}</b> ({(h.rows_reference or 0):,} rows)")
    filters = _filters_text(cmp)
    step(0.1, "Drift…")
    drift_html = _drift_section(cmp, res, figs, step)
    step(0.55, "Data quality…")
    quality_html = _quality_section(cmp, res)
    step(0.65, "Performance…")
    perf_html = _performance_section(cmp, res, figs, step)
    step(0.95, "Writing the HTML…")
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script type=\"text/javascript\">{_plotly_js()}</script>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{_e(title)}</h1><p class=\"meta\">{' vs '.join(meta)} · generated {when}"
        + (f"<br>Filters: {_e(filters)}" if filters else "") + "</p></header>\n"
        + _headline_html(h) + "\n" + drift_html + "\n" + quality_html + "\n" + perf_html + "\n"
        "<footer>Made with obs, the open-source ML observability dashboard. Only aggregated results are included "
        "(no rows of data). Drift: bins fitted on the reference, α = 0.5 smoothing; statuses from the thresholds "
        "shown. Times are UTC.</footer>\n</main>\n</body>\n</html>\n")
    step(1.0, "Done")
    return doc
