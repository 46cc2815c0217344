"""AppTest of the Performance page: cards, over time, confusion/calibration, segments, fairness, no actuals.

The tests share one app session (opening it costs seconds) and run in file order; the last ones change its filters
and data.
"""

from __future__ import annotations

import pytest

import obs_core as obs
from pages._ui import session
from tests.app.conftest import by_label, open_page, texts

PAGE = "4_Performance.py"


@pytest.fixture(scope="module")
def expected():
    """Accuracy computed directly with the engine, outside the app."""
    ref = obs.read(session.SAMPLE_FILES["reference"], name="r")
    prod = obs.read(session.SAMPLE_FILES["primary"], name="p")
    cmp = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    p = cmp.performance()
    acc = p[p["metric"] == "accuracy"].set_index("dataset")["value"]
    cmp.close()
    return {"primary": float(acc["primary"]), "reference": float(acc["reference"])}


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def _cards(at):
    return {m.label: (m.value, m.delta) for m in at.metric}


def _segments(at):
    return [d.value for d in at.dataframe if "Segment" in d.value.columns][0]


def test_cards_show_primary_and_reference_accuracy(at, expected):
    assert not at.exception
    value, delta = _cards(at)["Accuracy"]
    assert value == f"{expected['primary']:.3f}" == "0.824"
    assert delta == f"{expected['primary'] - expected['reference']:+.3f} vs reference {expected['reference']:.3f}"
    assert set(_cards(at)) >= {"Precision", "Recall", "F1 score", "ROC AUC", "Log loss", "Brier score"}
    assert "rows of" not in texts(at)      # every row has an actual: nothing to say about left-out rows


def test_charts_for_a_binary_classifier(at):
    assert len(at.get("plotly_chart")) >= 6   # over time, confusion, calibration, scores, segments, fairness


def _array(v):
    """A trace's data array as plotly serialises it (a list, or base64 ``bdata`` with a dtype)."""
    import base64

    import numpy as np
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def test_calibration_chart_plots_engine_mean_scores(at):
    import json

    from obs_core import performance
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    calib_fig = next(f for f in figs if any(t.get("name") == "perfectly calibrated" for t in f["data"]))
    ref = obs.read(session.SAMPLE_FILES["reference"], name="r")
    prod = obs.read(session.SAMPLE_FILES["primary"], name="p")
    c = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    want = performance.calibration(c.reference, c.primary, c.schema, n_bins=10)
    c.close()
    for name in ("reference", "primary"):
        trace = next(t for t in calib_fig["data"] if t.get("name") == name)
        w = want[want["dataset"] == name].sort_values("mean_score")
        assert _array(trace["x"]) == pytest.approx(w["mean_score"].tolist())
        assert _array(trace["y"]) == pytest.approx(w["positive_rate"].tolist())


def test_segments_rank_app_version_5_2_first(at):
    assert by_label(at, "selectbox", "Segment by").value == "app_version"
    seg = _segments(at)
    assert seg["Segment"].iloc[0] == "5.2" and abs(seg["Value"].iloc[0] - 0.575) < 1e-9
    assert "Worst segment: **app_version = 5.2**" in texts(at)
    by_label(at, "selectbox", "Segment by").set_value("channel").run()
    assert set(_segments(at)["Segment"]) >= {"email", "chat", "phone", "social_media"}
    by_label(at, "selectbox", "Segment by").set_value("app_version").run()


def test_granularity_picker_changes_the_number_of_windows(at):
    assert "28 daily windows of the primary" in texts(at)
    by_label(at, "selectbox", "Time window").set_value("week").run()
    assert not at.exception
    assert "5 weekly windows of the primary" in texts(at)
    by_label(at, "selectbox", "Time window").set_value("hour").run()
    assert "672 hourly windows" in texts(at) or "hourly windows" in texts(at)
    by_label(at, "selectbox", "Time window").set_value("auto").run()


def test_fairness_base_group_and_flags(at):
    by_label(at, "selectbox", "Sensitive column").set_value("region").run()
    base = by_label(at, "selectbox", "Base group")
    assert base.value == "north_america"      # the largest group
    assert "Every group of **Region** is within 0.8–1.25" in " ".join(s.value for s in at.success)
    by_label(at, "selectbox", "Sensitive column").set_value("app_version").run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "outside the 0.8–1.25 band" in warnings and "**5.2**" in warnings


def test_filter_changes_the_metrics(at):
    sess = at.session_state["_obs_session"]
    sess.filters = [obs.Filter("app_version", "in", ("5.0", "5.1"))]
    at.run()
    assert not at.exception
    assert _cards(at)["Accuracy"][0] == "0.851"          # the crash cluster (5.2) is filtered out
    assert "(5,400 rows)" in texts(at)
    assert by_label(at, "selectbox", "Segment by").value != "app_version" or _segments(at)["Segment"].iloc[0] != "5.2"


def test_filter_to_rows_only_the_primary_has(at):
    # app_version 5.2 exists only in the primary: the filtered reference is empty, the page must still render
    at.session_state["_obs_session"].filters = [obs.Filter("app_version", "in", ("5.2",))]
    at.run()
    assert not at.exception
    assert _cards(at)["Accuracy"][0] == "0.575" and "(600 rows)" in texts(at)
    assert _segments(at)["Rows"].sum() == 600


def test_production_without_actuals_still_shows_the_reference(at):
    sess = at.session_state["_obs_session"]
    ref = obs.read(session.SAMPLE_FILES["reference"], name="reference (sample)")
    prod = obs.read(session.SAMPLE_FILES["primary"], name="production (sample)")
    no_actuals = obs.read(prod.table.drop_columns(["actual_label"]), name="production without labels")
    session.load_datasets(sess, reference=ref, primary=no_actuals, source="upload")
    session.confirm(sess, sess.schema.replace(actual_label="actual_label"))
    assert sess.ready
    at.run()
    assert not at.exception
    cards = _cards(at)
    assert cards["Accuracy (reference)"][0] == "0.870" and not cards["Accuracy (reference)"][1]
    said = " ".join(w.value for w in at.warning)
    assert "has no actual labels (6,000 rows)" in said and "no performance metrics" in said
    assert "Cards show the reference" in texts(at)
    assert "Computed on the reference" in texts(at)      # segments fall back to the reference
