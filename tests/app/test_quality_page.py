"""AppTest of the Data quality page: headline, checks table, filters, column detail."""

from __future__ import annotations

import pytest

import obs_core as obs
from tests.app.conftest import by_label, open_page, texts

PAGE = "3_Data_quality.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def _checks(at):
    # the checks table is the first of the two checks frames (the second lists the detail column's checks)
    return [d.value for d in at.dataframe if "Check" in d.value.columns and "Detail" in d.value.columns][0]


def _metric(at, label):
    return {m.label: m.value for m in at.metric}[label]


def test_headline_and_failing_checks(at):
    assert not at.exception
    assert "🔴 3 failing checks, no warnings in the primary" in texts(at)
    assert _metric(at, "Failing checks (primary)") == "3"
    df = _checks(at)
    channel = df[(df["Column"] == "channel") & (df["check"] == "new_categories")].iloc[0]
    assert channel["status"] == "fail" and channel["Dataset"] == "primary"
    assert "social_media (720)" in channel["Detail"]
    age = df[(df["Column"] == "customer_age") & (df["check"] == "missing")].iloc[0]
    assert age["status"] in ("fail", "warn") and age["Dataset"] == "primary" and "16.68% missing" in age["Detail"]


def test_status_pills_show_passing_checks_too(at):
    pills = by_label(at, "button_group", "Status")
    assert pills.value == ["fail"]
    pills.set_value(["fail", "pass"]).run()
    assert not at.exception
    assert len(_checks(at)) > 50 and {"fail", "pass"} == set(_checks(at)["status"])
    by_label(at, "button_group", "Dataset").set_value(["reference"]).run()
    df = _checks(at)
    assert set(df["Dataset"]) == {"reference"} and set(df["status"]) == {"pass"}
    by_label(at, "button_group", "Status").set_value(["fail"]).run()
    assert "No check matches these filters" in texts(at)
    by_label(at, "button_group", "Dataset").set_value(["primary", "reference"]).run()
    assert len(_checks(at)) == 3


def test_column_detail_for_channel_shows_the_new_category(at):
    sel = by_label(at, "selectbox", "Column")
    assert sel.value == "customer_age"         # the worst column comes first
    assert any("16.68% missing" in e.value for e in at.error)
    sel.set_value("channel").run()
    assert not at.exception
    assert any("social_media" in e.value for e in at.error)
    assert "**social_media** (720 rows)" in texts(at)
    assert len(at.get("plotly_chart")) == 2       # categories + missing over time
    sel.set_value("region").run()
    assert any("Every check passes for **region**" in s.value for s in at.success)


def test_choices_survive_a_page_switch(at):
    by_label(at, "selectbox", "Column").set_value("channel").run()
    at.switch_page("pages/4_Performance.py").run()
    assert not at.exception
    at.switch_page(f"pages/{PAGE}").run()
    assert not at.exception
    assert by_label(at, "selectbox", "Column").value == "channel"


def test_sidebar_filter_changes_the_counts():
    at = open_page(PAGE)
    before = _metric(at, "Failing checks (primary)")
    sess = at.session_state["_obs_session"]
    sess.filters = [obs.Filter("app_version", "in", ("5.0", "5.1"))]
    at.run()
    assert not at.exception
    # app_version 5.2 is gone, so its new-category check passes: one failing check fewer
    assert before == "3" and _metric(at, "Failing checks (primary)") == "2"
    assert "(5,400 rows)" in texts(at) and "filtered" in texts(at)
    df = _checks(at)
    assert "app_version" not in set(df["Column"])
    sess.filters = [obs.Filter("region", "in", ("europe",))]
    at.run()
    header = texts(at)
    assert "(1,798 rows)" in header
    by_label(at, "button_group", "Status").set_value(["pass"]).run()
    by_label(at, "toggle", "Statistics rows").set_value(True).run()
    df = _checks(at)
    row = df[(df["Column"] == "channel") & (df["check"] == "count") & (df["Dataset"] == "primary")].iloc[0]
    assert row["Value"] == 1798
