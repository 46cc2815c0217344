"""Shared look of every obs chart: dataset and status colours, a series palette, labels, a base layout.

Import from any page's figure builder so the same thing always has the same colour:
``REFERENCE_COLOR`` / ``PRIMARY_COLOR`` for the two datasets, ``STATUS_COLORS`` for drift statuses,
``SERIES_COLORS`` for several columns in one chart (none of them is a dataset or a status colour).
Pure Plotly / Python: no streamlit.
"""

from __future__ import annotations

from typing import Any

REFERENCE_COLOR = "#94A3B8"   # slate: the baseline, deliberately quiet
PRIMARY_COLOR = "#4F46E5"     # indigo: the data under study
DATASET_COLORS = {"reference": REFERENCE_COLOR, "primary": PRIMARY_COLOR}

DRIFT_COLOR = "#DC2626"       # red
MODERATE_COLOR = "#F59E0B"    # amber
OK_COLOR = "#16A34A"          # green
NEUTRAL_COLOR = "#9CA3AF"     # grey: degenerate / not scored
COUNT_COLOR = "#CBD5E1"       # light slate: row-count bars
FEW_ROWS_COLOR = "#FCD34D"    # pale amber: windows with too few rows

STATUS_COLORS = {"drift": DRIFT_COLOR, "moderate": MODERATE_COLOR, "no drift": OK_COLOR}
STATUS_EMOJI = {"drift": "🔴", "moderate": "🟠", "no drift": "🟢"}
STATUS_ORDER = ("drift", "moderate", "no drift")

# Several columns in one chart: distinct from the dataset colours and from red/amber/green.
SERIES_COLORS = ("#2563EB", "#0D9488", "#9333EA", "#DB2777", "#0891B2", "#65A30D", "#A16207", "#475569",
                 "#7C3AED", "#BE185D")

FONT = dict(family="Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif", size=13, color="#31333F")

# Words that read better in a fixed form than title-cased.
_WORDS = {"id": "ID", "ts": "time", "psi": "PSI", "js": "JS", "kl": "KL", "ks": "KS", "auc": "AUC", "url": "URL",
          "pct": "%", "num": "number of", "avg": "average", "std": "std", "p": "p"}


def label(name: Any) -> str:
    """A readable label for a column name: ``"order_value"`` → ``"Order value"``, ``"num_prior_tickets"`` →
    ``"Number of prior tickets"``, ``"prediction_id"`` → ``"Prediction ID"``. Names with capitals or spaces
    are left alone (the user chose them)."""
    s = str(name)
    if not s or any(ch.isupper() for ch in s) or " " in s:
        return s
    words = [w for w in s.replace("-", "_").split("_") if w]
    out = [_WORDS.get(w, w) for w in words]
    text = " ".join(out)
    return text[:1].upper() + text[1:] if text else s


def status_badge(status: Any) -> str:
    """``"drift"`` → ``"🔴 drift"``; statuses without a colour (constant, no data, …) get a grey dot."""
    s = "" if status is None else str(status)
    return f"{STATUS_EMOJI.get(s, '⚪')} {s}" if s else ""


def base_layout(fig: Any, *, height: int = 420, title: str | None = None, legend: bool = True,
                margin_top: int | None = None) -> Any:
    """Apply the house layout: white background, light grid, legend on top, readable fonts."""
    fig.update_layout(
        template="plotly_white", height=height, font=FONT,
        title=dict(text=title, x=0, xanchor="left", xref="paper", y=1, yref="container", yanchor="top", pad=dict(t=8),
                   font=dict(size=15)) if title else None,
        margin=dict(l=10, r=10, b=10, t=margin_top if margin_top is not None else (72 if title else 36)),
        showlegend=legend, hoverlabel=dict(font_size=12),
        # top left: the top right is where plotly's modebar appears on hover
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, bgcolor="rgba(0,0,0,0)"),
    )
    fig.update_xaxes(showline=True, linecolor="#D1D5DB", gridcolor="#F1F5F9", automargin=True)
    fig.update_yaxes(gridcolor="#EEF2F7", zerolinecolor="#D1D5DB", automargin=True)
    return fig


def empty_figure(message: str, height: int = 260) -> Any:
    """A blank chart that says why there is nothing to draw."""
    import plotly.graph_objects as go
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=14, color="#6B7280"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, height=height, legend=False)
