"""Embeddings explorer figures and the view helpers the Embeddings page renders (pure Plotly + pandas).

Inputs are the engine's frames: ``PointCloud.points`` (row_id, dataset, x, y, z, cluster, labels, ``correct``,
``text``, ``link``, colour columns) and ``PointCloud.clusters`` (see :mod:`obs_core.embeddings`). Nothing here
computes a statistic: it colours, labels and arranges what the engine returned, and turns chart events back
into row ids, so the page stays free of table work.

* **Colours** (:func:`coloring`): by ``dataset`` (the house dataset colours), ``correctness`` (correct /
  incorrect / unknown), ``cluster`` (noise grey), ``prediction`` / ``actual`` (labels, or the score in bins
  when there is no label) or any column of ``points``. A numeric (or time) column with more than 10 distinct
  values is cut into 10 quantile bins (``pd.qcut``, duplicate edges dropped) on a sequential scale; a
  categorical one keeps its 19 most frequent values and pools the rest into "other"; missing values are
  "missing" (grey).
* **One trace per colour group**, in the same order and colours in the 3D (``Scatter3d``) and 2D
  (``Scattergl``) views, each with ``customdata`` = the row ids, so both legends read the same (a legend click
  hides a group in that view) and a selection maps back to rows (:func:`event_row_ids`). Selected rows are
  drawn again on top as open rings.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import DATASET_COLORS, DRIFT_COLOR, NEUTRAL_COLOR, OK_COLOR, SERIES_COLORS, base_layout, label

__all__ = [
    "BASE_COLORINGS", "base_traces_3d", "click_of", "cloud3d_overlay", "cloud3d_spec", "cloud_caption",
    "cloud_options", "cluster_table", "color_options", "Coloring", "coloring", "combine", "dataset_counts",
    "default_coloring", "default_sort", "drift_over_time_figure", "event_row_ids", "event_rows", "figure_json",
    "gallery", "has_embedding_rows", "hover_text", "image_source", "is_gesture", "layout_3d", "metric_title", "MODES",
    "option_label", "point_columns", "rows_view", "scatter2d", "scatter3d", "selected_index", "selection_counts",
    "selection_traces_3d", "SORTS", "traces_json",
]

BASE_COLORINGS = ("dataset", "correctness", "cluster", "prediction", "actual")
MODES = ("replace", "add", "remove")
SORTS = ("drift", "performance", "size")
N_BINS = 10
MAX_CATEGORIES = 20
MISSING = "missing"
OTHER = "other"
NOISE = "noise"
SELECTED_COLOR = "#111827"     # near black: rings around selected points
MISSING_COLOR = "#D1D5DB"
HOVER_TEXT = 140                # characters of the raw text shown on hover
MARKER_3D = 2.5
MARKER_2D = 4.5

# Clusters: the house series palette, then plotly's Dark24 (minus greys) for long lists.
CLUSTER_COLORS = SERIES_COLORS + ("#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#B68100", "#750D86", "#EB663B",
                                  "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
                                  "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63",
                                  "#AF0038")
# Ten steps of viridis for binned numeric values (low -> high).
SEQUENTIAL = ("#440154", "#482878", "#3E4989", "#31688E", "#26828E", "#1F9E89", "#35B779", "#6DCD59",
              "#B4DE2C", "#FDE725")
CORRECTNESS_COLORS = {"correct": OK_COLOR, "incorrect": DRIFT_COLOR, "unknown": NEUTRAL_COLOR}


# ================================================================================================
# Colours
# ================================================================================================

@dataclass(frozen=True)
class Coloring:
    """How points are coloured: one label per point (aligned with ``points``), the legend order and colours."""

    by: str
    title: str
    labels: pd.Series
    order: tuple[str, ...]
    colors: dict[str, str]


def color_options(points: pd.DataFrame, columns: Iterable[str] = ()) -> list[str]:
    """What the points can be coloured by: the built-in colourings the points support, then ``columns``
    (features, tags) that are in ``points``."""
    out = ["dataset"]
    if "correct" in points and points["correct"].notna().any():
        out.append("correctness")
    out.append("cluster")
    if any(c in points and points[c].notna().any() for c in ("prediction_label", "prediction_score")):
        out.append("prediction")
    if any(c in points and points[c].notna().any() for c in ("actual_label", "actual_score")):
        out.append("actual")
    out += [c for c in dict.fromkeys(columns) if c in points and c not in out]
    return out


def default_coloring(points: pd.DataFrame) -> str:
    """``dataset`` when both datasets are in the cloud, else ``cluster``."""
    return "dataset" if points["dataset"].nunique() > 1 else "cluster"


def option_label(by: str) -> str:
    return {"dataset": "Dataset", "correctness": "Correct / incorrect", "cluster": "Cluster",
            "prediction": "Prediction", "actual": "Actual"}.get(by, label(by))


def coloring(points: pd.DataFrame, by: str, *, n_bins: int = N_BINS,
             max_categories: int = MAX_CATEGORIES) -> Coloring:
    """The colour group of every point for ``by`` (see the module docstring for the rules)."""
    n = len(points)
    if by == "dataset":
        labels = points["dataset"].astype(str)
        order = tuple(d for d in ("reference", "primary") if (labels == d).any())
        return Coloring(by, "Dataset", labels.reset_index(drop=True), order, dict(DATASET_COLORS))
    if by == "correctness":
        c = points["correct"] if "correct" in points else pd.Series([None] * n, index=points.index)
        labels = pd.Series(np.where(c.isna(), "unknown", np.where(c.astype(object) == True, "correct",  # noqa: E712
                                                                   "incorrect")), dtype=object)
        order = tuple(k for k in ("correct", "incorrect", "unknown") if (labels == k).any())
        return Coloring(by, "Prediction", labels, order, dict(CORRECTNESS_COLORS))
    if by == "cluster":
        cl = points["cluster"].astype(int).to_numpy()
        labels = pd.Series(np.where(cl < 0, NOISE, np.char.add("cluster ", cl.astype(str))), dtype=object)
        ids = sorted(int(c) for c in np.unique(cl) if c >= 0)
        order = tuple([f"cluster {c}" for c in ids] + ([NOISE] if (cl < 0).any() else []))
        colors = {f"cluster {c}": CLUSTER_COLORS[c % len(CLUSTER_COLORS)] for c in ids}
        colors[NOISE] = MISSING_COLOR
        return Coloring(by, "Cluster", labels, order, colors)
    if by in ("prediction", "actual"):
        lab, score = f"{by}_label", f"{by}_score"
        col = lab if lab in points and points[lab].notna().any() else score
        if col not in points:
            raise KeyError(f"The points have no {by} column.")
        out = _column_coloring(points[col].reset_index(drop=True), n_bins, max_categories)
        return Coloring(by, option_label(by), out[0], out[1], out[2])
    if by not in points:
        raise KeyError(f"The points have no column {by!r}.")
    out = _column_coloring(points[by].reset_index(drop=True), n_bins, max_categories)
    return Coloring(by, label(by), out[0], out[1], out[2])


def _column_coloring(values: pd.Series, n_bins: int, max_categories: int):
    """(labels, order, colours) for a data column: numbers and times binned, anything else as categories."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(values.dtype):
        return _categories(values, max_categories)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        t = values.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        ns = pd.Series(t.to_numpy(dtype="datetime64[ns]").astype(np.int64), dtype=float).where(t.notna())
        return _bins(ns, n_bins, lambda v: f"{pd.Timestamp(int(v)):%Y-%m-%d %H:%M}")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return _bins(pd.to_numeric(values, errors="coerce").astype(float), n_bins, _num)
    return _categories(values, max_categories)


def _bins(num: pd.Series, n_bins: int, fmt):
    """More than ``n_bins`` distinct values: ``n_bins`` quantile bins (``pd.qcut``, duplicate edges dropped),
    else one group per value; low -> high on the sequential scale; missing values grey."""
    uniq = np.unique(num.dropna().to_numpy())
    if len(uniq) > n_bins:
        bins = pd.qcut(num, q=n_bins, duplicates="drop")
        cats = list(bins.cat.categories)
        names = [f"{'min' if i == 0 else fmt(iv.left)} – {'max' if i == len(cats) - 1 else fmt(iv.right)}"
                 for i, iv in enumerate(cats)]
        codes = bins.cat.codes.to_numpy()
        labels = pd.Series(np.where(codes < 0, MISSING, np.asarray(names, dtype=object)[np.maximum(codes, 0)]),
                           dtype=object)
    else:
        names = [fmt(v) for v in uniq]
        mapping = dict(zip(uniq.tolist(), names))
        labels = pd.Series([MISSING if v != v else mapping[v] for v in num.tolist()], dtype=object)
    colors = {nm: SEQUENTIAL[i] for nm, i in zip(names, _steps(len(names)))}
    colors[MISSING] = MISSING_COLOR
    order = tuple(names) + ((MISSING,) if (labels == MISSING).any() else ())
    return labels, order, colors


def _categories(values: pd.Series, max_categories: int):
    """The ``max_categories - 1`` most frequent values, the rest pooled as "other"; missing values grey."""
    text = values.astype(object).map(lambda v: MISSING if v is None or (isinstance(v, float) and v != v) else str(v))
    counts = text[text != MISSING].value_counts()
    keep = list(counts.index[: max_categories - 1]) if len(counts) > max_categories else list(counts.index)
    keep = sorted(keep, key=lambda v: (-int(counts[v]), v))
    labels = text.where(text.isin(keep) | (text == MISSING), OTHER)
    colors = {k: CLUSTER_COLORS[i % len(CLUSTER_COLORS)] for i, k in enumerate(keep)}
    colors[OTHER] = "#6B7280"
    colors[MISSING] = MISSING_COLOR
    order = tuple(keep) + ((OTHER,) if (labels == OTHER).any() else ()) + ((MISSING,) if (labels == MISSING).any()
                                                                          else ())
    return labels.reset_index(drop=True).astype(object), order, colors


def _steps(k: int) -> list[int]:
    if k <= 1:
        return [len(SEQUENTIAL) - 1]
    return [round(i * (len(SEQUENTIAL) - 1) / (k - 1)) for i in range(k)]


def _num(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"



# ================================================================================================
# Hover text
# ================================================================================================

def hover_text(points: pd.DataFrame, *, id_column: str | None = None) -> pd.Series:
    """One HTML hover text per point: id, dataset, cluster, prediction/actual (✓/✗) and the start of the text."""
    n = len(points)
    pid = points[id_column].astype(str) if id_column and id_column in points else \
        "row " + points["row_id"].astype(str)
    cl = points["cluster"].astype(int)
    cluster = np.where(cl < 0, "noise", "cluster " + cl.astype(str))
    parts = "<b>" + pid.map(_esc).to_numpy(object) + "</b><br>" + points["dataset"].astype(str).to_numpy(object) \
        + " · " + cluster.astype(object)
    out = pd.Series(parts, dtype=object)
    pred = _label_or_score(points, "prediction")
    act = _label_or_score(points, "actual")
    if pred is not None or act is not None:
        p = pred if pred is not None else pd.Series(["—"] * n)
        a = act if act is not None else pd.Series(["—"] * n)
        mark = pd.Series([""] * n, dtype=object)
        if "correct" in points:
            c = points["correct"].reset_index(drop=True)
            mark = pd.Series(np.where(c.isna(), "", np.where(c.astype(object) == True, " ✓", " ✗")),  # noqa: E712
                             dtype=object)
        out = out + "<br>predicted " + p.map(_esc).to_numpy(object) + " · actual " + a.map(_esc).to_numpy(object) \
            + mark.to_numpy(object)
    if "text" in points:
        t = points["text"].reset_index(drop=True)
        snippet = t.map(lambda s: "" if s is None or (isinstance(s, float) and math.isnan(s)) else
                        "<br><i>" + _wrap(_esc(_cut(str(s), HOVER_TEXT))) + "</i>")
        out = out + snippet.to_numpy(object)
    return out.reset_index(drop=True)


def _label_or_score(points: pd.DataFrame, kind: str) -> pd.Series | None:
    lab, score = f"{kind}_label", f"{kind}_score"
    if lab in points and points[lab].notna().any():
        return points[lab].reset_index(drop=True).map(lambda v: "—" if v is None or v != v else str(v))
    if score in points and points[score].notna().any():
        return pd.to_numeric(points[score], errors="coerce").reset_index(drop=True).map(
            lambda v: "—" if v != v else f"{v:.3g}")
    return None


def _esc(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(s: str, n: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _wrap(s: str, width: int = 60) -> str:
    words, lines, cur = s.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return "<br>".join(lines)


# ================================================================================================
# Point cloud figures
# ================================================================================================

def _groups(points: pd.DataFrame, col: Coloring):
    labels = col.labels.to_numpy(object)
    for name in col.order:
        idx = np.flatnonzero(labels == name)
        if len(idx):
            yield name, idx


def scatter3d(points: pd.DataFrame, color_by: str, *, selection: Iterable[int] = (), id_column: str | None = None,
              height: int = 620, marker_size: float = MARKER_3D, title: str | None = None) -> go.Figure:
    """The 3D point cloud (``go.Scatter3d``), one trace per colour group, plus the selected points as rings.

    Every trace's ``customdata`` is the row id of its points (what a click reports)."""
    fig = go.Figure(data=base_traces_3d(points, color_by, id_column=id_column, marker_size=marker_size))
    fig.add_traces(selection_traces_3d(points, selection, marker_size=marker_size))
    return layout_3d(fig, color_by, height=height, title=title)


def base_traces_3d(points: pd.DataFrame, color_by: str, *, id_column: str | None = None,
                   marker_size: float = MARKER_3D) -> list[go.Scatter3d]:
    col = coloring(points, color_by)
    hover = hover_text(points, id_column=id_column).to_numpy(object)
    x, y, z = (points[c].to_numpy(np.float32) for c in ("x", "y", "z"))
    rid = points["row_id"].to_numpy(np.int64)
    traces = []
    for name, idx in _groups(points, col):
        traces.append(go.Scatter3d(
            x=x[idx], y=y[idx], z=z[idx], mode="markers", name=f"{name} ({len(idx):,})", legendgroup=name,
            marker=dict(size=marker_size, color=col.colors.get(name, NEUTRAL_COLOR), line=dict(width=0)),
            customdata=rid[idx], hovertext=hover[idx], hovertemplate="%{hovertext}<extra></extra>"))
    return traces


def selection_traces_3d(points: pd.DataFrame, selection: Iterable[int], *,
                        marker_size: float = MARKER_3D) -> list[go.Scatter3d]:
    """The selected points of the cloud as dark open rings (empty list when none is in the cloud)."""
    idx = selected_index(points, selection)
    if not len(idx):
        return []
    p = points.iloc[idx]
    return [go.Scatter3d(
        x=p["x"].to_numpy(np.float32), y=p["y"].to_numpy(np.float32), z=p["z"].to_numpy(np.float32), mode="markers",
        name=f"selected ({len(idx):,})", legendgroup="__selected",
        marker=dict(size=marker_size + 3.5, color=SELECTED_COLOR, symbol="circle-open", line=dict(width=1)),
        customdata=p["row_id"].to_numpy(np.int64), hoverinfo="skip")]


def layout_3d(fig: go.Figure, color_by: str, *, height: int = 620, title: str | None = None) -> go.Figure:
    base_layout(fig, height=height, title=title, margin_top=10)
    axis = dict(showticklabels=False, title=dict(text=""), showbackground=True, backgroundcolor="#F8FAFC",
                gridcolor="#E2E8F0", zerolinecolor="#E2E8F0", showspikes=False)
    fig.update_layout(
        scene=dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube", dragmode="orbit",
                   camera=dict(eye=dict(x=1.45, y=1.45, z=0.85))),
        legend=_legend(color_by),
        margin=dict(l=0, r=0, t=10, b=0), uirevision="cloud", hoverlabel=dict(align="left"))
    return fig


def scatter2d(points: pd.DataFrame, color_by: str, *, selection: Iterable[int] = (), id_column: str | None = None,
              height: int = 620, marker_size: float = MARKER_2D, title: str | None = None) -> go.Figure:
    """The same projection flat (UMAP x, y) as ``go.Scattergl`` traces for lasso / box selection; same groups,
    colours and order as :func:`scatter3d`, selected points as dark rings on top."""
    col = coloring(points, color_by)
    hover = hover_text(points, id_column=id_column).to_numpy(object)
    x, y = points["x"].to_numpy(np.float32), points["y"].to_numpy(np.float32)
    rid = points["row_id"].to_numpy(np.int64)
    fig = go.Figure()
    for name, idx in _groups(points, col):
        fig.add_trace(go.Scattergl(
            x=x[idx], y=y[idx], mode="markers", name=f"{name} ({len(idx):,})", legendgroup=name,
            marker=dict(size=marker_size, color=col.colors.get(name, NEUTRAL_COLOR), line=dict(width=0)),
            customdata=rid[idx], hovertext=hover[idx], hovertemplate="%{hovertext}<extra></extra>"))
    idx = selected_index(points, selection)
    if len(idx):
        fig.add_trace(go.Scattergl(
            x=x[idx], y=y[idx], mode="markers", name=f"selected ({len(idx):,})", legendgroup="__selected",
            marker=dict(size=marker_size + 5, color="rgba(0,0,0,0)", line=dict(width=1.4, color=SELECTED_COLOR)),
            customdata=rid[idx], hoverinfo="skip"))
    base_layout(fig, height=height, title=title, margin_top=10)
    fig.update_layout(
        dragmode="lasso", uirevision="cloud2d", clickmode="event+select",
        legend=_legend(color_by),
        margin=dict(l=10, r=10, t=10, b=10), hoverlabel=dict(align="left"))
    fig.update_xaxes(showticklabels=False, title_text="", zeroline=False, showline=False, gridcolor="#F1F5F9")
    fig.update_yaxes(showticklabels=False, title_text="", zeroline=False, gridcolor="#F1F5F9")
    return fig


def _legend(color_by: str) -> dict:
    """The same legend in both views: on the right, titled with the colouring, click to hide a group."""
    return dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.0, bgcolor="rgba(255,255,255,0.7)",
                title=dict(text=f"<b>{option_label(color_by)}</b>"), itemsizing="constant", tracegroupgap=2)


def selected_index(points: pd.DataFrame, selection: Iterable[int]) -> np.ndarray:
    """Positions in ``points`` of the selected row ids (those not in the cloud are ignored)."""
    sel = _as_ids(selection)
    if not len(sel):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.isin(points["row_id"].to_numpy(np.int64), sel))


def _as_ids(ids: Iterable[int]) -> np.ndarray:
    if isinstance(ids, np.ndarray):
        return ids.astype(np.int64, copy=False)
    return np.fromiter((int(i) for i in ids), dtype=np.int64)


def cloud3d_spec(points: pd.DataFrame, color_by: str, *, id_column: str | None = None, height: int = 620) -> str:
    """The 3D component's base figure (:func:`scatter3d` without the selection) as plotly JSON."""
    fig = go.Figure(data=base_traces_3d(points, color_by, id_column=id_column))
    return figure_json(layout_3d(fig, color_by, height=height))


def cloud3d_overlay(points: pd.DataFrame, selection: Iterable[int]) -> str:
    """The 3D component's selection rings as a JSON list of traces (``"[]"`` when nothing is selected)."""
    return traces_json(selection_traces_3d(points, selection))


def figure_json(fig: go.Figure) -> str:
    """The figure as plotly JSON (numpy arrays as compact base64 typed arrays), for the 3D component."""
    return fig.to_json()


def traces_json(traces: Sequence[Any]) -> str:
    """A list of traces as plotly JSON (the selection overlay of the 3D component)."""
    if not traces:
        return "[]"
    return json.dumps(json.loads(go.Figure(data=list(traces)).to_json())["data"])


# ================================================================================================
# Selection
# ================================================================================================

def cloud_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The point-cloud options for the page's flat form values: ``sample_size``, ``seed``, ``n_neighbors``,
    ``min_dist``, ``min_cluster_size``, ``min_samples`` (0 = same as min_cluster_size) and ``epsilon``. Raises
    ``ObsError`` for values out of range."""
    from obs_core.embeddings import Hdbscan, Umap

    ms = int(params.get("min_samples") or 0)
    return {
        "sample_size": int(params["sample_size"]),
        "random_state": int(params["seed"]),
        "umap": Umap(n_neighbors=int(params["n_neighbors"]), min_dist=float(params["min_dist"])),
        "hdbscan": Hdbscan(min_cluster_size=int(params["min_cluster_size"]), min_samples=ms or None,
                           cluster_selection_epsilon=float(params["epsilon"])),
    }


def cloud_caption(cloud: Any) -> str:
    """One line about a point cloud: points sampled per dataset, clusters, noise, where it came from and how
    long the stages took (markdown)."""
    pts = cloud.points
    n_clusters = int((cloud.clusters["cluster"] >= 0).sum())
    n_noise = int((pts["cluster"] < 0).sum())
    sampled = " + ".join(f"{cloud.n_sampled[d]:,} {d}" for d in ("primary", "reference") if d in cloud.n_sampled)
    t = cloud.timings
    if cloud.from_cache:
        how = "from this session's cache"
    elif cloud.params.get("projection_reused"):
        how = f"re-clustered the cached projection in {t.get('hdbscan', 0):.1f} s"
    else:
        how = f"UMAP {t.get('umap', 0):.1f} s, HDBSCAN {t.get('hdbscan', 0):.1f} s"
    skipped = sum(cloud.n_skipped.values())
    return (f"**{sampled}** points (random sample, seed {cloud.params.get('random_state', 0)}) · "
            f"**{n_clusters}** cluster{'s' if n_clusters != 1 else ''}, {n_noise:,} noise points · {how}"
            + (f" · {skipped:,} rows skipped (no usable vector)" if skipped else ""))


def point_columns(schema: Any) -> tuple[str, ...]:
    """The columns copied into the points for hover and colouring: the prediction id, features, tags, model
    version and environment that the schema names."""
    cols = (schema.prediction_id, *schema.features, *schema.tags, schema.model_version, schema.environment)
    return tuple(dict.fromkeys(c for c in cols if c))


def is_gesture(event: Any) -> bool:
    """Whether a plotly selection event holds a gesture: picked points, a box or a lasso (an empty event, e.g.
    after a double-click that clears plotly's own selection, is not one)."""
    sel = _selection(event)
    if not sel:
        return False
    return any(len(_get(sel, k) or []) for k in ("points", "box", "lasso"))


def combine(current: Iterable[int], ids: Iterable[int], mode: str) -> set[int]:
    """The selection after a gesture: ``replace`` -> ids; ``add`` -> current ∪ ids; ``remove`` -> current − ids."""
    if mode not in MODES:
        raise ValueError(f"Unknown selection mode {mode!r}; use one of {MODES}.")
    ids = {int(i) for i in ids}
    cur = {int(i) for i in current}
    if mode == "replace":
        return ids
    if mode == "add":
        return cur | ids
    return cur - ids


def event_row_ids(event: Any, fig: go.Figure | None = None) -> set[int]:
    """Row ids of the points in a ``st.plotly_chart(..., on_select=...)`` event on :func:`scatter2d` (read as a
    mapping). Each point's ``customdata`` is its row id; without it, ``curve_number``/``point_index`` are looked
    up in ``fig``. Empty set for no event / no points."""
    sel = _selection(event)
    if not sel:
        return set()
    out: set[int] = set()
    for p in list(_get(sel, "points") or []):
        p = p if isinstance(p, Mapping) else dict(p)
        cd = p.get("customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if len(cd) else None
        if cd is not None:
            try:
                out.add(int(cd))
                continue
            except (TypeError, ValueError):
                pass
        if fig is not None:
            cn = p.get("curve_number", p.get("curveNumber"))
            pi = p.get("point_index", p.get("pointIndex", p.get("point_number")))
            if cn is not None and pi is not None and 0 <= int(cn) < len(fig.data):
                data = fig.data[int(cn)].customdata
                if data is not None and 0 <= int(pi) < len(data):
                    out.add(int(np.asarray(data).reshape(len(data), -1)[int(pi), 0]))
    return out


def event_rows(event: Any) -> list[int]:
    """Selected row positions of a ``st.dataframe(..., on_select=...)`` event (read as a mapping)."""
    sel = _selection(event)
    if not sel:
        return []
    return [int(r) for r in (_get(sel, "rows") or [])]


def click_of(value: Any) -> tuple[int, str] | None:
    """(row id, nonce) of a 3D-component click value ``{"row_id": ..., "nonce": ...}``, or None."""
    if not isinstance(value, Mapping) or value.get("row_id") is None:
        return None
    try:
        return int(value["row_id"]), str(value.get("nonce", ""))
    except (TypeError, ValueError):
        return None


def _selection(event: Any) -> Any:
    if event is None:
        return None
    if isinstance(event, Mapping):
        return event.get("selection", event)
    return getattr(event, "selection", None)


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def selection_counts(points: pd.DataFrame, selection: Iterable[int]) -> pd.DataFrame:
    """Selected rows by cluster and dataset: ``cluster`` (label), ``primary``, ``reference``, ``total``; rows of
    the selection that are not in this point cloud (another sample or filter) form the last line."""
    sel = _as_ids(selection)
    idx = selected_index(points, sel)
    p = points.iloc[idx]
    rows = []
    for c in sorted(p["cluster"].astype(int).unique(), key=lambda c: (c < 0, c)):
        part = p[p["cluster"] == c]
        rows.append({"cluster": NOISE if c < 0 else f"cluster {c}",
                     "primary": int((part["dataset"] == "primary").sum()),
                     "reference": int((part["dataset"] == "reference").sum()), "total": len(part)})
    outside = len(np.setdiff1d(np.unique(sel), points["row_id"].to_numpy(np.int64)))
    if outside:
        rows.append({"cluster": "not in this point cloud", "primary": None, "reference": None, "total": outside})
    out = pd.DataFrame(rows, columns=["cluster", "primary", "reference", "total"])
    if len(out):
        out.loc[len(out)] = {"cluster": "all selected", "primary": int((p["dataset"] == "primary").sum()),
                             "reference": int((p["dataset"] == "reference").sum()), "total": len(np.unique(sel))}
    return out


def dataset_counts(points: pd.DataFrame, selection: Iterable[int]) -> dict[str, int]:
    """Selected points of this cloud per dataset (``primary``, ``reference``) and ``outside`` the cloud."""
    sel = np.unique(_as_ids(selection))
    p = points.iloc[selected_index(points, sel)]
    return {"primary": int((p["dataset"] == "primary").sum()), "reference": int((p["dataset"] == "reference").sum()),
            "outside": int(len(sel) - len(p))}


# ================================================================================================
# Cluster table
# ================================================================================================

def cluster_table(clusters: pd.DataFrame, points: pd.DataFrame, selection: Iterable[int] = ()) -> pd.DataFrame:
    """The engine's (sorted) cluster table for display, same row order: ``cluster`` (id), ``name``, ``size``,
    ``n_primary``, ``n_reference``, ``drift_ratio``, ``metric_primary``, ``metric_reference``, ``selected``
    (selected points in the cluster)."""
    sel_idx = selected_index(points, selection)
    sel_counts = points["cluster"].iloc[sel_idx].astype(int).value_counts()
    out = pd.DataFrame({
        "cluster": clusters["cluster"].astype(int).to_numpy(),
        "name": [NOISE if c < 0 else f"cluster {c}" for c in clusters["cluster"].astype(int)],
        "size": clusters["size"].astype(int).to_numpy(),
        "n_primary": clusters["n_primary"].astype(int).to_numpy(),
        "n_reference": clusters["n_reference"].astype(int).to_numpy(),
        "drift_ratio": pd.to_numeric(clusters["drift_ratio"], errors="coerce").to_numpy(float),
        "metric_primary": pd.to_numeric(clusters.get("metric_primary"), errors="coerce").to_numpy(float)
        if "metric_primary" in clusters else np.nan,
        "metric_reference": pd.to_numeric(clusters.get("metric_reference"), errors="coerce").to_numpy(float)
        if "metric_reference" in clusters else np.nan,
    })
    out["selected"] = out["cluster"].map(sel_counts).fillna(0).astype(int)
    return out


def metric_title(metric: str | None, dataset: str) -> str:
    name = {"accuracy": "Accuracy", "mae": "MAE", "rmse": "RMSE", "f1": "F1", "auc": "AUC"}.get(
        str(metric).lower(), label(metric) if metric else "Metric")
    return f"{name} ({dataset})"


def default_sort(clusters: pd.DataFrame) -> str:
    """``drift`` with two datasets, else ``performance`` when a metric exists, else ``size``."""
    if "drift_ratio" in clusters and clusters["drift_ratio"].notna().any():
        return "drift"
    if any(c in clusters and pd.to_numeric(clusters[c], errors="coerce").notna().any()
           for c in ("metric_primary", "metric_reference")):
        return "performance"
    return "size"


# ================================================================================================
# Embedding drift over time
# ================================================================================================

def drift_over_time_figure(dot: pd.DataFrame, embedding: str, *, selected: tuple[Any, Any] | None = None,
                           height: int = 300) -> go.Figure:
    """Euclidean distance between each primary window's centroid and the reference centroid for ``embedding``
    (the ``metric == "euclidean"`` rows of ``drift_over_time``), vectors per window below; ``selected`` =
    (start, end) shades the picked time range. Points map back to windows with
    :func:`obs_core.viz.drift.selected_span`."""
    from . import drift as vd

    emb = dot[(dot["metric"] == "euclidean") & (dot["column"] == embedding)] if "metric" in dot else dot.iloc[0:0]
    fig = vd.over_time_figure(emb, columns=[embedding], y_title="Euclidean distance", height=height,
                              thresholds=(math.nan, math.nan), selected=selected)
    fig.update_yaxes(title_text="vectors", row=2, col=1)
    for t in fig.data:
        if t.name == "rows per window":
            t.name = "vectors per window"
    # Streamlit turns click-selection off while the drag mode is select/lasso: zoom keeps a click on a window
    # a selection; the box tool is in the toolbar.
    fig.update_layout(clickmode="event+select", dragmode="zoom")
    return fig


def has_embedding_rows(dot: pd.DataFrame | None, embedding: str) -> bool:
    return dot is not None and len(dot) > 0 and "metric" in dot and bool(
        ((dot["metric"] == "euclidean") & (dot["column"] == embedding) & dot["score"].notna()).any())


# ================================================================================================
# Selected rows: text and images
# ================================================================================================

def image_source(link: Any) -> str | bytes | None:
    """What to show as an image for a ``link_to_data`` value: the URL for ``http(s)://``, the decoded bytes of a
    base64 ``data:image/...`` URL; ``None`` for anything else (shown as text, never fetched)."""
    if not isinstance(link, str):
        return None
    s = link.strip()
    low = s[:11].lower()
    if low.startswith("http://") or low.startswith("https://"):
        return s
    if low.startswith("data:image"):
        head, _, data = s.partition(",")
        if ";base64" not in head.lower() or not data:
            return None
        try:
            return base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            return None
    return None


def gallery(rows: pd.DataFrame, link_column: str | None, id_column: str | None = None) -> list[tuple[Any, str]]:
    """(image source, caption) for the rows whose link is an image (see :func:`image_source`), in row order;
    the caption is the row's id (``id_column``) when there is one."""
    if not link_column or link_column not in rows:
        return []
    ids = rows[id_column].astype(str).tolist() if id_column and id_column in rows else [""] * len(rows)
    out = []
    for link, caption in zip(rows[link_column].tolist(), ids):
        src = image_source(link)
        if src is not None:
            out.append((src, caption))
    return out


def rows_view(rows: pd.DataFrame, points: pd.DataFrame, *, columns: Sequence[str] = ()) -> pd.DataFrame:
    """The fetched selected rows for display: ``dataset``, ``cluster`` (from the cloud; "—" when not in it), then
    ``columns`` that exist, then the rest (vectors left out: they are in the download)."""
    from obs_core.store import ROW_ID

    df = rows.copy()
    rid = df[ROW_ID] if ROW_ID in df else pd.Series(dtype=np.int64)
    cmap = dict(zip(points["row_id"].astype(np.int64), points["cluster"].astype(int)))
    df.insert(0, "cluster", [("noise" if cmap[int(r)] < 0 else str(cmap[int(r)])) if int(r) in cmap else "—"
                             for r in rid])
    if "dataset" in df:
        d = df.pop("dataset")
        df.insert(0, "dataset", d)
    first = ["dataset", "cluster", *[c for c in columns if c in df and c not in ("dataset", "cluster")]]
    rest = [c for c in df.columns if c not in first and c != ROW_ID and not _is_vector(df[c])]
    return df[first + rest].reset_index(drop=True)


def _is_vector(s: pd.Series) -> bool:
    v = s.dropna()
    return len(v) > 0 and isinstance(v.iloc[0], (list, tuple, np.ndarray))

