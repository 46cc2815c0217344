"""obs_core.viz.quality / obs_core.viz.performance: display tables and figures reshape engine results faithfully."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import obs_core as obs
from obs_core import performance as perf
from obs_core import quality
from obs_core.viz import performance as vp
from obs_core.viz import quality as vq
from obs_core.viz.style import DRIFT_COLOR, MODERATE_COLOR, PRIMARY_COLOR, REFERENCE_COLOR

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def frames():
    ref = obs.read(SAMPLE / "reference.parquet", name="reference")
    prod = obs.read(SAMPLE / "production.parquet", name="production")
    return ref, prod


@pytest.fixture(scope="module")
def cmp(frames):
    ref, prod = frames
    c = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    yield c
    c.close()


@pytest.fixture(scope="module")
def table(cmp):
    return cmp.quality()


# ---- quality ------------------------------------------------------------------------------------------

def test_headline_counts_primary_failures(table):
    summary = quality.quality_summary(table)
    assert vq.headline(summary, "primary") == "3 failing checks, no warnings in the primary"
    assert vq.headline(summary, "reference").startswith("Every check passes in the reference")
    one = pd.DataFrame([{"dataset": "primary", "n_pass": 5, "n_warn": 1, "n_fail": 0}])
    assert vq.headline(one, "primary", name="production") == "No failing checks, 1 warning in the production"


def test_checks_view_filters_and_orders_worst_first(table):
    v = vq.checks_view(table, statuses=["fail", "warn"])
    assert list(v["Status"]) == ["🔴 fail"] * 3
    assert list(v["Column"]) == ["customer_age", "channel", "app_version"]   # schema order within a status
    row = v[v["Column"] == "channel"].iloc[0]
    assert row["Check"] == "New categories" and "social_media" in row["Detail"] and row["Value"] == 720
    everything = vq.checks_view(table)
    assert len(everything) == len(table)
    assert list(everything["status"].iloc[:3]) == ["fail"] * 3 and everything["status"].iloc[-1] == "pass"
    # primary rows before reference rows among passes
    passes = everything[everything["status"] == "pass"]
    assert passes["Dataset"].iloc[0] == "primary" and passes["Dataset"].iloc[-1] == "reference"
    only_ref = vq.checks_view(table, datasets=["reference"], columns=["channel"], include_info=False)
    assert set(only_ref["Dataset"]) == {"reference"} and set(only_ref["Column"]) == {"channel"}
    assert not set(only_ref["check"]) & set(vq.INFO_CHECKS)


def test_column_statuses_and_labels(table):
    s = vq.column_statuses(table, "primary")
    assert list(s["column"].iloc[:3]) == ["customer_age", "channel", "app_version"]
    assert list(s["status"].iloc[:3]) == ["fail"] * 3 and set(s["status"].iloc[3:]) == {"pass"}
    labels = vq.column_option_label(s)
    assert labels["channel"] == "🔴 channel" and labels["region"] == "🟢 region"
    assert vq.status_badge("warn") == "🟠 warn" and vq.status_badge(None) == ""


def test_categories_bar_marks_the_new_category(cmp):
    d = quality.quality_detail(cmp.reference, cmp.primary, cmp.schema, "channel")
    fig = vq.categories_bar(d["categories"], "channel")
    ref_bar, prim_bar, legend_only = fig.data
    assert legend_only.name == "new in the primary" and legend_only.marker.color == DRIFT_COLOR
    assert list(prim_bar.y) == ["email", "chat", "phone", "social_media"]
    assert prim_bar.marker.color[-1] == DRIFT_COLOR and prim_bar.marker.color[0] == PRIMARY_COLOR
    assert prim_bar.text[-1] == "new: 720 rows" and ref_bar.marker.color == REFERENCE_COLOR
    assert math.isclose(prim_bar.x[-1], 12.0) and ref_bar.x[-1] == 0


def test_out_of_range_bar_coloured_by_check_status(cmp):
    d = quality.quality_detail(cmp.reference, cmp.primary, cmp.schema, "order_value")
    fig = vq.out_of_range_bar(d["out_of_range"], "order_value", checks=d["checks"])
    bar = fig.data[0]
    assert list(bar.x) == [0, 13]
    assert bar.marker.color == (REFERENCE_COLOR, PRIMARY_COLOR)   # 13 rows = 0.22 %: the check passes
    fake = d["checks"].assign(status="warn")
    assert vq.out_of_range_bar(d["out_of_range"], "order_value", checks=fake).data[0].marker.color[1] == MODERATE_COLOR
    assert "No range check" in vq.out_of_range_bar(None, "x").layout.annotations[0].text


def test_missing_over_time_line_has_the_reference_rate(cmp):
    d = quality.quality_detail(cmp.reference, cmp.primary, cmp.schema, "customer_age")
    ref_share = vq.missing_share(d["missing"], "reference")
    assert math.isclose(ref_share, 104 / 6000)
    mot = quality.missing_over_time(cmp.primary, cmp.schema, columns=["customer_age"])
    fig = vq.missing_over_time_line(mot, "customer_age", reference_share=ref_share,
                                    primary_share=vq.missing_share(d["missing"], "primary"))
    line = fig.data[0]
    assert len(line.x) == 28                         # 28 daily windows
    assert max(line.y) > 40 and min(line.y) < 5      # 2 % → 45 % from Oct 20
    assert math.isclose(fig.layout.shapes[0].y0, 100 * 104 / 6000)
    assert "per day" in fig.layout.title.text and "16.7%" in fig.layout.title.text


# ---- performance --------------------------------------------------------------------------------------

def test_metric_cards_values_deltas_and_directions(cmp):
    p = cmp.performance()
    cards = {c["metric"]: c for c in vp.metric_cards(p)}
    acc = cards["accuracy"]
    assert acc["value"] == "0.824" and math.isclose(acc["primary"], 0.8235)
    assert math.isclose(acc["reference"], 5219 / 6000)
    assert acc["delta"] == "-0.046 vs reference 0.870" and acc["delta_color"] == "normal"
    assert cards["log_loss"]["delta_color"] == "inverse" and cards["log_loss"]["delta"].startswith("+")
    assert cards["brier"]["delta_color"] == "inverse"
    assert list(cards) == list(perf.BINARY_METRICS)


def test_coverage_sentences_count_rows_without_actuals():
    cov = pd.DataFrame({"dataset": ["reference", "primary"], "rows": [100, 50], "evaluated": [90, 0],
                        "missing_actuals": [10, 50], "missing_predictions": [0, 0]})
    s = vp.coverage_sentences(cov)
    assert s[0] == "10 of 100 rows of the reference have no actual label and are left out."
    assert "has no actual labels (50 rows)" in s[1] and "no performance metrics" in s[1]


def test_calibration_figures_plot_the_engine_table(cmp, frames):
    calib = perf.calibration(cmp.reference, cmp.primary, cmp.schema, n_bins=10)
    ref_df, prod_df = (f.to_pandas() for f in frames)
    fig = vp.calibration_figure(calib, positive_class="escalate")
    assert [t.name for t in fig.data] == ["perfectly calibrated", "reference", "primary"]
    for t, (name, df) in zip(fig.data[1:], (("reference", ref_df), ("primary", prod_df))):
        c = calib[calib["dataset"] == name].sort_values("mean_score")
        assert np.allclose(np.asarray(t.x, dtype=float), c["mean_score"])       # x = true mean score, not midpoint
        assert np.allclose(np.asarray(t.y, dtype=float), c["positive_rate"])
        assert [int(n) for n in t.customdata[:, 1]] == c["n"].tolist()          # hover: rows per bin
        assert sum(int(n) for n in t.customdata[:, 1]) == len(df)
        assert len(set(t.marker.size)) > 1 or c["n"].nunique() == 1           # marker size grows with n
    dist = vp.score_distribution_figure(calib, positive_class="escalate", negative_class="no_escalate")
    assert {t.name for t in dist.data} == {"actual escalate", "actual no_escalate"}
    edges = np.quantile(ref_df["prediction_score"], [k / 10 for k in range(1, 10)])
    for t in dist.data:   # each class's shares sum to 1 per dataset; counts per bin equal a direct count
        assert math.isclose(float(np.nansum(t.y)), 1.0)
    for t, df in zip([t for t in dist.data if t.name == "actual escalate"], (ref_df, prod_df)):
        b = np.searchsorted(edges, df["prediction_score"], side="right")
        pos = (df["actual_label"] == "escalate").groupby(b).sum()
        assert [int(x) for x in t.customdata[:, 0]] == pos.tolist()


def test_confusion_figure_rows_are_shares_of_the_actual_class(cmp):
    cm = perf.confusion_matrix(cmp.reference, cmp.primary, cmp.schema)
    fig = vp.confusion_figure(cm)
    assert len(fig.data) == 2
    prim = fig.data[1]
    z = np.array(prim.z)
    assert np.allclose(z.sum(axis=1), 1.0)
    assert prim.text[0][0].startswith("1,329")      # escalate → escalate in the primary
    assert vp.other_class(cm, "escalate") == "no_escalate"


def test_metric_over_time_windows_and_reference_line(cmp):
    pt = cmp.performance(granularity="day")
    assert vp.windows(pt) == 28
    assert vp.windows(cmp.performance(granularity="week")) == 5
    fig = vp.metric_over_time(pt, "accuracy")
    line = next(t for t in fig.data if t.name == "primary")
    assert len(line.x) == 28
    assert math.isclose(fig.layout.shapes[0].y0, 5219 / 6000)


def test_segments_figure_and_view_rank_app_version(cmp):
    seg = cmp.segments(by="app_version")
    view = vp.segments_view(seg)
    assert view["Segment"].iloc[0] == "5.2" and view["Note"].iloc[0] == "new"
    assert math.isclose(view["Value"].iloc[0], 0.575)
    fig = vp.segments_figure(seg)
    bar = fig.data[0]
    assert list(bar.y)[0] == "5.2" and bar.marker.color[0] == DRIFT_COLOR
    assert bar.marker.color[1] == PRIMARY_COLOR


def test_fairness_view_flags_ratios_outside_the_band():
    fair = pd.DataFrame({
        "group": ["a", "b"], "is_base": [True, False], "n": [100, 50], "n_rows": [100, 50],
        "selection_rate": [0.5, 0.3], "tpr": [0.8, 0.78], "fpr": [0.1, 0.1], "precision": [0.7, 0.7],
        "selection_rate_ratio": [1.0, 0.6], "selection_rate_flag": [False, True],
        "tpr_ratio": [1.0, 0.975], "tpr_flag": [False, False], "fpr_ratio": [1.0, 1.0], "fpr_flag": [False, False],
        "precision_ratio": [1.0, 1.0], "precision_flag": [False, False], "flags": ["", "selection_rate"]})
    view = vp.fairness_view(fair)
    assert list(view["Group"]) == ["a (base)", "b"]
    assert list(view["Outside 0.8–1.25"]) == ["", "Selection rate"]
    assert vp.fairness_flags(fair) == [("b", "Selection rate")]
    html = vp.fairness_styled(fair).to_html()
    assert html.count("#FEE2E2") == 1
    fig = vp.fairness_figure(fair)
    assert any(t.name == "outside the band" for t in fig.data)


def test_residual_figure_for_a_regression():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.1, size=n)})
    df["yhat"] = 2 * df["x"] + 0.5      # biased by +0.5
    schema = obs.Schema(features=("x",), prediction_score="yhat", actual_score="y",
                        model_type=obs.ModelType.REGRESSION)
    c = obs.Comparison(schema, primary=obs.read(df, name="p"), reference=obs.read(df, name="r"))
    fig = vp.residual_figure(c.performance(by="yhat", n_bins=4))
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert {b.name for b in bars} == {"mean error · reference", "mean error · primary"}
    assert np.allclose(bars[0].y, 0.5, atol=0.05)
    c.close()


def test_empty_inputs_give_a_message_not_an_error():
    assert vq.categories_bar(None, "x").layout.annotations[0].text == "No categories to show."
    empty_cm = pd.DataFrame(columns=["dataset", "actual", "predicted", "count"])
    assert "needs actual labels" in vp.confusion_figure(empty_cm).layout.annotations[0].text
    empty_calib = pd.DataFrame(columns=perf.CALIBRATION_COLUMNS)
    assert "No evaluated" in vp.calibration_figure(empty_calib).layout.annotations[0].text
