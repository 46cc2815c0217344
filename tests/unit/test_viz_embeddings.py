"""obs_core.viz.embeddings: colours, the 3D/2D figures, chart events -> row ids, selection arithmetic, tables."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from obs_core import ObsError
from obs_core.viz import embeddings as ve
from obs_core.viz.style import PRIMARY_COLOR, REFERENCE_COLOR


def _points(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = np.repeat([0, 1, 2, -1], n // 4)
    return pd.DataFrame({
        "row_id": np.arange(100, 100 + n, dtype=np.int64),
        "dataset": np.where(np.arange(n) % 2 == 0, "primary", "reference").astype(object),
        "x": rng.normal(size=n), "y": rng.normal(size=n), "z": rng.normal(size=n),
        "cluster": cluster,
        "prediction_label": rng.choice(["yes", "no"], n).astype(object),
        "actual_label": rng.choice(["yes", "no"], n).astype(object),
        "correct": pd.Series([True, False, None, True] * (n // 4), dtype=object),
        "text": [f"ticket <b>{i}</b> " + "word " * 60 for i in range(n)],
        "prediction_id": [f"id-{i}" for i in range(n)],
        "order_value": np.arange(n, dtype=float),
        "channel": [f"c{i % 30}" for i in range(n)],
        "plan": pd.Series(["free", "pro", None, "free"] * (n // 4), dtype=object),
        "n_tickets": np.tile([0, 1, 2, 3], n // 4),
    })


# ---- colours ----------------------------------------------------------------------------------------------

def test_color_options_follow_the_points():
    pts = _points()
    assert ve.color_options(pts, ["order_value", "missing_col", "channel"]) == [
        "dataset", "correctness", "cluster", "prediction", "actual", "order_value", "channel"]
    bare = pts[["row_id", "dataset", "x", "y", "z", "cluster"]]
    assert ve.color_options(bare) == ["dataset", "cluster"]
    assert ve.default_coloring(pts) == "dataset"
    assert ve.default_coloring(pts.assign(dataset="primary")) == "cluster"


def test_dataset_and_correctness_colours():
    pts = _points()
    c = ve.coloring(pts, "dataset")
    assert c.order == ("reference", "primary")
    assert c.colors["primary"] == PRIMARY_COLOR and c.colors["reference"] == REFERENCE_COLOR
    c = ve.coloring(pts, "correctness")
    assert list(c.labels[:4]) == ["correct", "incorrect", "unknown", "correct"]
    assert c.order == ("correct", "incorrect", "unknown")


def test_cluster_colours_put_noise_last_in_grey():
    c = ve.coloring(_points(), "cluster")
    assert c.order == ("cluster 0", "cluster 1", "cluster 2", "noise")
    assert c.colors["noise"] == ve.MISSING_COLOR
    assert len({c.colors[k] for k in c.order[:3]}) == 3


def test_numeric_column_in_ten_quantile_bins():
    pts = _points(400)
    c = ve.coloring(pts, "order_value")
    assert len(c.order) == 10
    counts = c.labels.value_counts()
    assert counts.min() == counts.max() == 40          # quantile bins of 0..399
    assert c.order[0].startswith("min") and c.order[-1].endswith("max")
    assert [c.colors[k] for k in c.order] == list(ve.SEQUENTIAL)   # low -> high
    # a missing value gets its own grey group
    c2 = ve.coloring(pts.assign(order_value=pts["order_value"].where(pts.index != 5)), "order_value")
    assert c2.labels[5] == "missing" and c2.order[-1] == "missing"


def test_few_distinct_numbers_are_their_own_groups():
    c = ve.coloring(_points(), "n_tickets")
    assert c.order == ("0", "1", "2", "3")


def test_categorical_keeps_19_and_pools_the_rest():
    pts = _points(600)
    c = ve.coloring(pts, "channel")
    assert len(c.order) == 20 and c.order[-1] == "other"
    assert (c.labels == "other").sum() == 600 - 19 * 20
    c = ve.coloring(pts, "plan")
    assert set(c.order) == {"free", "pro", "missing"} and c.order[-1] == "missing"


def test_prediction_uses_label_then_score():
    pts = _points()
    assert set(ve.coloring(pts, "prediction").order) == {"yes", "no"}
    scored = pts.drop(columns=["prediction_label"]).assign(prediction_score=np.linspace(0, 1, len(pts)))
    assert len(ve.coloring(scored, "prediction").order) == 10


# ---- figures ---------------------------------------------------------------------------------------------

def test_scatter3d_one_trace_per_group_plus_selection_rings():
    pts = _points()
    fig = ve.scatter3d(pts, "cluster", selection={100, 101, 5})     # 5 is not in the cloud
    assert all(isinstance(t, go.Scatter3d) for t in fig.data)
    groups, rings = fig.data[:-1], fig.data[-1]
    assert [t.legendgroup for t in groups] == ["cluster 0", "cluster 1", "cluster 2", "noise"]
    assert sum(len(t.x) for t in groups) == len(pts)
    ids = np.concatenate([np.asarray(t.customdata) for t in groups])
    assert sorted(ids.tolist()) == pts["row_id"].tolist()
    assert rings.name == "selected (2)" and sorted(np.asarray(rings.customdata).tolist()) == [100, 101]
    assert rings.marker.symbol == "circle-open" and rings.hoverinfo == "skip"
    assert 2 <= groups[0].marker.size <= 3
    assert fig.layout.scene.dragmode == "orbit"


def test_scatter2d_matches_the_3d_groups_and_colours():
    pts = _points()
    f3, f2 = ve.scatter3d(pts, "dataset"), ve.scatter2d(pts, "dataset")
    assert all(isinstance(t, go.Scattergl) for t in f2.data)
    assert [(t.name, t.marker.color) for t in f2.data] == [(t.name, t.marker.color) for t in f3.data]
    assert f2.layout.dragmode == "lasso"
    assert len(ve.scatter2d(pts, "dataset", selection=[100]).data) == len(f2.data) + 1


def test_hover_text_escapes_html_and_cuts_long_text():
    h = ve.hover_text(_points(), id_column="prediction_id")
    assert h[0].startswith("<b>id-0</b><br>primary · cluster 0")
    assert "&lt;b&gt;0&lt;/b&gt;" in h[0] and "<b>0</b>" not in h[0]
    assert "predicted" in h[0] and "✓" in h[0]
    assert "…" in h[0] and len(h[0]) < 400


def test_component_spec_and_overlay_are_plotly_json():
    pts = _points()
    spec = json.loads(ve.cloud3d_spec(pts, "dataset", id_column="prediction_id", height=500))
    assert [t["type"] for t in spec["data"]] == ["scatter3d", "scatter3d"]
    assert spec["layout"]["height"] == 500 and spec["layout"]["uirevision"] == "cloud"
    assert json.loads(ve.cloud3d_overlay(pts, [])) == []
    over = json.loads(ve.cloud3d_overlay(pts, [100, 102]))
    assert len(over) == 1 and over[0]["type"] == "scatter3d"


# ---- events and selection arithmetic ----------------------------------------------------------------------

def test_event_row_ids_from_customdata_or_trace_position():
    pts = _points()
    fig = ve.scatter2d(pts, "dataset")
    ev = {"selection": {"points": [{"curve_number": 0, "point_index": 1, "customdata": 103},
                                   {"curve_number": 1, "point_index": 0, "customdata": [100]}],
                        "point_indices": [1, 0], "box": [], "lasso": [{"x": [0, 1, 1], "y": [0, 0, 1]}]}}
    assert ve.event_row_ids(ev) == {103, 100}
    no_cd = {"selection": {"points": [{"curve_number": 0, "point_index": 0}, {"curve_number": 1, "point_index": 2}]}}
    assert ve.event_row_ids(no_cd, fig) == {int(fig.data[0].customdata[0]), int(fig.data[1].customdata[2])}
    assert ve.event_row_ids(None) == set() and ve.event_row_ids({"selection": {}}) == set()
    assert ve.is_gesture(ev)
    assert ve.is_gesture({"selection": {"points": [], "box": [{"x": [0, 1]}], "lasso": []}})
    assert not ve.is_gesture({"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}})
    assert not ve.is_gesture(None)


def test_combine_modes():
    assert ve.combine({1, 2}, [2, 3], "replace") == {2, 3}
    assert ve.combine({1, 2}, [2, 3], "add") == {1, 2, 3}
    assert ve.combine({1, 2}, [2, 3], "remove") == {1}
    with pytest.raises(ValueError):
        ve.combine(set(), [], "toggle")


def test_event_rows_and_clicks():
    assert ve.event_rows({"selection": {"rows": [0, 2], "columns": []}}) == [0, 2]
    assert ve.event_rows(None) == []
    assert ve.click_of({"row_id": 7, "nonce": "a"}) == (7, "a")
    assert ve.click_of(None) is None and ve.click_of({"nonce": "x"}) is None


def test_cluster_table_keeps_the_engine_order_and_counts_selected():
    pts = _points()
    clusters = pd.DataFrame({"cluster": [2, 0, 1, -1], "size": [50, 50, 50, 50], "n_primary": [25] * 4,
                             "n_reference": [25] * 4, "drift_ratio": [0.5, 0.1, -0.2, 0.0],
                             "metric_primary": [0.5, 0.9, np.nan, 0.7], "metric_reference": [0.8] * 4})
    sel = pts.loc[pts["cluster"] == 2, "row_id"].tolist()[:7] + [1]
    t = ve.cluster_table(clusters, pts, sel)
    assert t["cluster"].tolist() == [2, 0, 1, -1]
    assert t["name"].tolist() == ["cluster 2", "cluster 0", "cluster 1", "noise"]
    assert t["selected"].tolist() == [7, 0, 0, 0]
    assert math.isnan(t["metric_primary"][2])
    assert ve.default_sort(clusters) == "drift"
    assert ve.default_sort(clusters.assign(drift_ratio=np.nan)) == "performance"
    assert ve.default_sort(clusters.assign(drift_ratio=np.nan, metric_primary=np.nan,
                                           metric_reference=np.nan)) == "size"


def test_selection_counts_by_cluster_and_dataset():
    pts = _points()
    sel = [100, 101, 102, 250, 99999]       # 250 is cluster -1 (rows 150..199 -> ids 250..299)
    out = ve.selection_counts(pts, sel)
    assert out["cluster"].tolist() == ["cluster 0", "noise", "not in this point cloud", "all selected"]
    assert out.iloc[0][["primary", "reference", "total"]].tolist() == [2, 1, 3]
    assert out.iloc[-1]["total"] == 5
    assert ve.dataset_counts(pts, sel) == {"primary": 3, "reference": 1, "outside": 1}
    assert ve.selection_counts(pts, []).empty


# ---- rows: images and table -------------------------------------------------------------------------------

def test_image_source_only_for_web_and_data_urls():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    assert ve.image_source("https://example.org/a.png") == "https://example.org/a.png"
    assert ve.image_source("HTTP://example.org/a.png") == "HTTP://example.org/a.png"
    assert ve.image_source(f"data:image/png;base64,{png}") == b"\x89PNG\r\n\x1a\nfake"
    for bad in ("/etc/passwd", "file:///etc/passwd", "s3://bucket/a.png", "javascript:alert(1)",
                "data:text/html;base64,PGgxPg==", "data:image/png,notbase64", None, 3.0, ""):
        assert ve.image_source(bad) is None, bad


def test_gallery_keeps_only_image_links():
    rows = pd.DataFrame({"id": ["a", "b", "c"], "link": ["https://x.org/1.png", "/local/2.png", None]})
    assert ve.gallery(rows, "link", "id") == [("https://x.org/1.png", "a")]
    assert ve.gallery(rows, "link") == [("https://x.org/1.png", "")]
    assert ve.gallery(rows, None) == [] and ve.gallery(rows, "nope") == []


def test_rows_view_puts_dataset_and_cluster_first_and_drops_vectors():
    pts = _points()
    rows = pd.DataFrame({"__obs_row_id": [100, 5], "dataset": ["primary", "reference"], "b": [1, 2],
                         "text": ["x", "y"], "vec": [[0.1, 0.2], [0.3, 0.4]]})
    v = ve.rows_view(rows, pts, columns=["text", "nope"])
    assert v.columns.tolist() == ["dataset", "cluster", "text", "b"]
    assert v["cluster"].tolist() == ["0", "—"]


# ---- parameters and captions --------------------------------------------------------------------------------

def test_cloud_options_build_engine_parameters():
    opts = ve.cloud_options(dict(sample_size=300, seed=3, n_neighbors=10, min_dist=0.1, min_cluster_size=15,
                                 min_samples=0, epsilon=0.0))
    assert opts["sample_size"] == 300 and opts["random_state"] == 3
    assert opts["umap"].n_neighbors == 10 and opts["umap"].min_dist == 0.1
    assert opts["hdbscan"].min_cluster_size == 15 and opts["hdbscan"].min_samples is None
    with pytest.raises(ObsError):
        ve.cloud_options(dict(sample_size=300, seed=0, n_neighbors=1, min_dist=0.0, min_cluster_size=15,
                              min_samples=0, epsilon=0.0))


def test_drift_over_time_figure_shades_the_picked_window():
    starts = pd.date_range("2026-10-01", periods=5, freq="D")
    dot = pd.DataFrame({"window_start": starts, "window_end": starts + pd.Timedelta(days=1), "column": "emb",
                        "metric": "euclidean", "score": [0.1, 0.1, 0.3, 0.4, 0.4], "status": "n/a",
                        "n_rows": 100, "too_few_rows": False, "role": "embedding", "kind": "vector"})
    assert ve.has_embedding_rows(dot, "emb") and not ve.has_embedding_rows(dot, "other")
    fig = ve.drift_over_time_figure(dot, "emb", selected=(starts[2], starts[3]))
    assert any(t.name == "vectors per window" for t in fig.data)
    assert len(fig.layout.shapes) >= 1
    # Streamlit disables click-selection while the drag mode is select/lasso: a click must pick a window
    assert fig.layout.clickmode == "event+select" and fig.layout.dragmode == "zoom"


def test_times_booleans_and_empty_columns_colour_without_errors():
    pts = _points(200)
    pts["seen_at"] = pd.date_range("2026-10-01", periods=200, freq="h", tz="UTC")
    c = ve.coloring(pts, "seen_at")
    assert len(c.order) == 10 and c.order[0].startswith("min – 2026-10-0")
    pts["flag"] = [True, False] * 100
    assert set(ve.coloring(pts, "flag").order) == {"True", "False"}
    pts["empty"] = np.nan
    c = ve.coloring(pts, "empty")
    assert c.order == ("missing",) and (c.labels == "missing").all()
    pts["none"] = pd.Series([None] * 200, dtype=object)
    assert ve.coloring(pts, "none").order == ("missing",)
