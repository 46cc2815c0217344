"""obs_core.viz.drift / style: figures carry the expected traces and values; helpers arrange the tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from obs_core.viz import drift as vd
from obs_core.viz.style import PRIMARY_COLOR, REFERENCE_COLOR, label, status_badge


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "column": ["channel", "order_value", "region", "const"], "role": ["feature", "feature", "feature", "tag"],
        "kind": ["text", "number", "text", "number"], "score": [0.9, 0.15, 0.01, np.nan], "metric": "psi",
        "status": ["drift", "moderate", "no drift", "no data"], "test": ["chi-square", "KS", "chi-square", None],
        "p_value_adj": [1e-100, 0.01, 0.9, np.nan], "missing_reference": [0.0, 0.02, 0.0, np.nan],
        "missing_primary": [0.0, 0.2, 0.0, np.nan], "unseen_share": [0.12, np.nan, 0.0, np.nan],
        "n_reference": [100, 100, 100, 100], "n_primary": [80, 80, 80, 80], "note": [None, None, None, "all missing"],
        "bin_labels": [["a", "b", "unseen", "missing"], ["< 1", "≥ 1", "missing"], ["x", "unseen", "missing"], None],
        "reference_shares": [[0.5, 0.5, 0.0, 0.0], [0.5, 0.48, 0.02], [1.0, 0.0, 0.0], None],
        "primary_shares": [[0.4, 0.48, 0.12, 0.0], [0.3, 0.5, 0.2], [1.0, 0.0, 0.0], None],
        "rule": ["r"] * 4, "threshold_moderate": 0.1, "threshold_drift": 0.25,
    })


def _dot() -> pd.DataFrame:
    starts = pd.date_range("2026-10-01", periods=5, freq="D")
    rows = []
    for col, scores in (("a", [0.01, 0.02, 0.5, 0.6, 0.7]), ("b", [0.0, 0.01, 0.02, 0.01, 0.3])):
        for s, sc, n in zip(starts, scores, [100, 120, 5, 110, 90]):
            rows.append({"window_start": s, "window_end": s + pd.Timedelta(days=1), "column": col, "metric": "psi",
                         "score": np.nan if n < 30 else sc, "status": "x", "n_rows": n, "too_few_rows": n < 30,
                         "threshold_moderate": 0.1, "threshold_drift": 0.25})
    df = pd.DataFrame(rows)
    df.attrs["granularity"] = "day"
    return df


def test_style_labels_and_badges():
    assert label("order_value") == "Order value"
    assert label("prediction_id") == "Prediction ID"
    assert label("num_prior_tickets") == "Number of prior tickets"
    assert label("My Column") == "My Column"
    assert status_badge("drift") == "🔴 drift" and status_badge("moderate") == "🟠 moderate"
    assert status_badge("no drift") == "🟢 no drift" and status_badge("constant") == "⚪ constant"
    assert REFERENCE_COLOR != PRIMARY_COLOR


def test_headline_counts_and_top_drifted():
    t = _table()
    assert vd.drift_counts(t) == {"columns": 4, "scored": 3, "drift": 1, "moderate": 1, "no_drift": 1, "other": 1}
    assert vd.headline(t, "September") == "1 of 4 columns drifted since September · 1 moderate · 1 not scored"
    assert vd.top_drifted(t) == ["channel", "order_value", "region"]
    assert vd.top_drifted(t, n=1, minimum=1) == ["channel"]


def test_table_view_is_display_ready_and_keeps_row_order():
    v = vd.table_view(_table())
    assert list(v["column"]) == ["channel", "order_value", "region", "const"]
    assert v["status"].tolist()[:2] == ["🔴 drift", "🟠 moderate"]
    assert v["type"].tolist() == ["categorical", "numeric", "categorical", "numeric"]
    assert v.loc[1, "missing_primary"] == pytest.approx(20.0)
    assert v["unseen"].tolist() == ["12.0%", "—", "0.0%", "—"]
    assert v.loc[0, "rows"] == "100 / 80"
    assert v.loc[0, "primary_shares"] == [0.4, 0.48, 0.12, 0.0] and v.loc[3, "reference_shares"] == []


def test_csv_bytes_round_trip():
    df = pd.read_csv(io.BytesIO(vd.csv_bytes(_table())))
    assert df.loc[df["column"] == "channel", "status"].item() == "drift"
    assert df.loc[0, "bin_labels"] == "['a', 'b', 'unseen', 'missing']"


def test_bins_figure_groups_reference_and_primary_with_labelled_special_bins():
    bins = pd.DataFrame({"label": ["email", "chat", "unseen", "missing"],
                         "bin_type": ["value", "value", "unseen", "missing"],
                         "reference_count": [60, 40, 0, 0], "primary_count": [40, 40, 12, 8],
                         "reference_share": [0.6, 0.4, 0.0, 0.0], "primary_share": [0.4, 0.4, 0.12, 0.08]})
    fig = vd.bins_figure(bins, "channel", score=0.9, status="drift")
    ref, prim = fig.data
    assert (ref.name, prim.name) == ("Reference", "Primary")
    assert (ref.marker.color, prim.marker.color) == (REFERENCE_COLOR, PRIMARY_COLOR)
    assert list(prim.x) == ["email", "chat", "(new values)", "(missing)"]
    assert list(prim.y) == pytest.approx([40, 40, 12, 8])
    assert prim.text[2] == "12%" and prim.text[0] == ""          # special bins are labelled
    assert list(prim.marker.pattern.shape) == ["", "", "/", "/"]  # ... and hatched
    assert fig.layout.barmode == "group" and "PSI 0.900 (drift)" in fig.layout.title.text


def test_over_time_figure_lines_gaps_thresholds_and_counts():
    dot = _dot()
    fig = vd.over_time_figure(dot, columns=["a", "b"], selected=("2026-10-03", "2026-10-04"))
    names = [t.name for t in fig.data]
    assert names == ["a", "b", "drift ≥ 0.25", "moderate ≥ 0.1", "rows per window", "too few rows (not scored)"]
    a = fig.data[0]
    assert np.isnan(a.y[2]) and a.y[3] == pytest.approx(0.6)          # too few rows: a gap, not a spike
    assert a.x[0] == pd.Timestamp("2026-10-01 12:00")                 # drawn at the window's middle
    assert list(a.customdata[0][:2]) == ["2026-10-01T00:00:00", "2026-10-02T00:00:00"]
    bars, thin = fig.data[4], fig.data[5]
    assert list(bars.y) == [100, 120, 110, 90] and bars.yaxis == "y2"
    assert list(thin.y) == [5] and thin.marker.color != bars.marker.color  # the thin window stands out
    hlines = sorted(s.y0 for s in fig.layout.shapes if s.type == "line")
    assert hlines == [0.1, 0.25]
    assert [s.type for s in fig.layout.shapes].count("rect") == 2     # the picked range, shaded on both panels
    assert vd.window_summary(dot) == "5 daily windows · 1 with too few rows (not scored)"


def test_selected_span_from_points_boxes_and_nothing():
    dot = _dot()
    fig = vd.over_time_figure(dot, columns=["a"])
    p = fig.data[0]
    point = lambda i: {"x": str(p.x[i]), "customdata": list(p.customdata[i]), "point_index": i}  # noqa: E731
    assert vd.selected_span(dot, {"selection": {"points": [point(3)], "box": []}}) == \
        (pd.Timestamp("2026-10-04"), pd.Timestamp("2026-10-05"))
    assert vd.selected_span(dot, {"selection": {"points": [point(1), point(3)]}}) == \
        (pd.Timestamp("2026-10-02"), pd.Timestamp("2026-10-05"))
    # without customdata, x (a window midpoint) is enough; a tz-aware time is read as UTC
    assert vd.selected_span(dot, {"points": [{"x": "2026-10-02T12:00:00+00:00"}]}) == \
        (pd.Timestamp("2026-10-02"), pd.Timestamp("2026-10-03"))
    assert vd.selected_span(dot, {"selection": {"points": [], "box": [{"x": ["2026-10-01", "2026-10-03 06:00"]}]}}) \
        == (pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-03"))
    assert vd.selected_span(dot, {"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}}) is None
    assert vd.selected_span(dot, None) is None


def test_rolling_windows_are_drawn_at_their_last_period():
    dot = _dot()
    dot.loc[dot["window_start"] > "2026-10-01", "window_start"] -= pd.Timedelta(days=1)  # rolling over 2 days
    w = vd.over_time_figure(dot, columns=["a"]).data[0]
    assert list(w.x[:3]) == [pd.Timestamp("2026-10-01 12:00"), pd.Timestamp("2026-10-02 12:00"),
                             pd.Timestamp("2026-10-03 12:00")]
    assert vd.selected_span(dot, {"points": [{"customdata": list(w.customdata[2])}]}) == \
        (pd.Timestamp("2026-10-02"), pd.Timestamp("2026-10-04"))


def test_embedding_figure_uses_only_euclidean_rows():
    dot = _dot()
    emb = dot[dot["column"] == "a"].assign(column="text_embedding", metric="euclidean", threshold_moderate=np.nan,
                                           threshold_drift=np.nan)
    fig = vd.embedding_over_time_figure(pd.concat([dot, emb], ignore_index=True))
    assert [t.name for t in fig.data][:2] == ["text_embedding", "vectors per window"]
    assert fig.layout.yaxis.title.text == "Euclidean distance"
    assert not [s for s in fig.layout.shapes if s.type == "line"]
