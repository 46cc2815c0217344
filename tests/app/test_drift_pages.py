"""AppTest of the Drift and Drift over time pages on the bundled sample (4 planted drifted columns of 15)."""

from __future__ import annotations

import re

import pytest

import obs_core as obs
from pages._ui import session
from tests.app.conftest import by_label, open_page, texts

PLANTED = {"order_value", "channel", "customer_age", "app_version"}


def _headline(at) -> tuple[int, int, int]:
    """(drifted, columns, moderate) from the page's headline."""
    [h] = [s.value for s in at.subheader if "drifted since" in s.value]
    m = re.search(r"(\d+) of (\d+) columns? drifted since .* · (\d+) moderate", h)
    assert m, h
    return int(m[1]), int(m[2]), int(m[3])


def _primary_rows(at) -> int:
    [cap] = [c.value for c in at.caption if c.value.startswith("primary **")]
    return int(re.search(r"\(([\d,]+) rows\)", cap)[1].replace(",", ""))


def _windows(at) -> int:
    [cap] = [c.value for c in at.caption if re.search(r"\d+ \w+ (rolling )?windows? from", c.value)]
    return int(re.search(r"(\d+) \w+ (?:rolling )?windows? from", cap)[1])


def _table(at):
    [df] = [d.value for d in at.dataframe if "status" in d.value.columns]
    return df


# ---- Drift ---------------------------------------------------------------------------------------------

@pytest.fixture()
def drift():
    return open_page("1_Drift.py")


def test_drift_page_headline_table_and_thresholds(drift):
    at = drift
    assert _headline(at) == (4, 15, 0)
    assert "since reference (sample, September)" in texts(at)
    table = _table(at)
    assert table["column"].iloc[0] in PLANTED
    assert set(table["column"].iloc[:4]) == PLANTED
    assert table["status"].iloc[0] == "🔴 drift" and table["status"].iloc[-1] == "🟢 no drift"
    assert list(table["score"]) == sorted(table["score"], reverse=True)  # default sort: score descending
    # the detail opens on the top drifted column, with its two charts
    assert by_label(at, "selectbox", "Show details for column").value == table["column"].iloc[0]
    assert len(at.get("plotly_chart")) == 2
    assert at.get("download_button"), "the drift table can be downloaded"

    # raising the drift threshold turns two drifted columns (PSI 0.34-0.37) into moderate ones
    by_label(at, "number_input", "Drift from").set_value(0.5).run()
    assert not at.exception
    assert _headline(at) == (2, 15, 2)

    # another metric resets the thresholds to that metric's defaults and still flags the planted columns
    by_label(at, "selectbox", "Score").set_value("js").run()
    assert not at.exception
    assert by_label(at, "number_input", "Drift from").value == pytest.approx(0.2)
    assert _table(at)["column"].iloc[0] in PLANTED and "JS distance" in texts(at)


def test_drift_detail_follows_the_table_selection_and_the_picker(drift):
    at = drift
    table = _table(at)
    i = int(table.index[table["column"] == "customer_age"][0])
    at.session_state["drift_table"] = {"selection": {"rows": [i], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert by_label(at, "selectbox", "Show details for column").value == "customer_age"
    assert "missing 1.7% → 16.7%" in texts(at)
    by_label(at, "selectbox", "Show details for column").set_value("channel").run()
    assert not at.exception
    assert "12.0% of primary rows have new values" in texts(at)


def test_a_sidebar_filter_changes_the_counts(drift):
    at = drift
    assert _primary_rows(at) == 6000
    by_label(at.sidebar, "selectbox", "Column").set_value("channel").run()
    by_label(at.sidebar, "multiselect", "Values").set_value(["email"]).run()
    [apply] = [b for b in at.sidebar.button if b.label == "Apply"]
    apply.click().run()
    assert not at.exception
    n = _primary_rows(at)
    assert 2000 < n < 2600  # ~38 % of production is email
    assert _table(at)["rows"].iloc[0].endswith(f"/ {n:,}")
    assert any(b.label.startswith("✕ channel") for b in at.sidebar.button), "the filter shows as a chip"


def test_without_a_reference_the_pages_say_so():
    at = open_page("1_Drift.py")
    sess = at.session_state[session.KEY]
    session.load_datasets(sess, reference=None, primary=sess.primary, source="upload")
    session.confirm(sess, sess.schema)
    at.run()
    assert not at.exception
    assert any("needs a reference" in e.value for e in at.error)
    at.switch_page("pages/2_Drift_over_time.py").run()
    assert not at.exception
    assert any("needs a reference" in e.value for e in at.error)


# ---- Drift over time -------------------------------------------------------------------------------------

def test_drift_over_time_granularity_selection_and_chip():
    at = open_page("2_Drift_over_time.py")
    assert set(by_label(at, "multiselect", "Columns").value) == PLANTED
    assert _windows(at) == 28  # auto: daily over 4 weeks
    by_label(at, "selectbox", "Window").set_value("week").run()
    assert not at.exception and _windows(at) == 5
    by_label(at, "selectbox", "Window").set_value("hour").run()
    assert not at.exception and _windows(at) == 672 and "with too few rows (not scored)" in texts(at)
    by_label(at, "selectbox", "Window").set_value("day").run()
    at.get("button_group")[0].set_value("rolling").run()  # rolling over 7 days
    assert not at.exception and "rolling windows" in texts(at)
    at.get("button_group")[0].set_value("tumbling").run()

    # a plotly selection of the 2026-10-15 window (what the browser sends) restricts every page to that day
    sess = at.session_state[session.KEY]
    assert sess.time_range is None
    at.session_state["dot_chart"] = {"selection": {
        "points": [{"curve_number": 0, "point_number": 14, "point_index": 14, "x": "2026-10-15 12:00",
                    "y": 1.0, "customdata": ["2026-10-15T00:00:00", "2026-10-16T00:00:00", 201, "drift"]}],
        "point_indices": [14], "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    assert sess.time_range == obs.TimeRange("2026-10-15", "2026-10-16")
    assert "2026-10-15 00:00 to 2026-10-16 00:00 UTC" in texts(at)
    n_day = sess.comparison().num_rows()["primary"]
    assert 100 < n_day < 400
    # ... including the Drift page
    at.switch_page("pages/1_Drift.py").run()
    assert not at.exception and _primary_rows(at) == n_day
    # the sidebar chip removes it
    [chip] = [b for b in at.sidebar.button if b.label.startswith("✕ ⏱")]
    chip.click().run()
    assert not at.exception and sess.time_range is None and _primary_rows(at) == 6000


def test_a_box_over_several_windows_selects_their_span():
    at = open_page("2_Drift_over_time.py")
    at.session_state["dot_chart"] = {"selection": {"points": [], "point_indices": [], "lasso": [],
                                                   "box": [{"x": ["2026-10-19 06:00", "2026-10-21 18:00"],
                                                            "y": [0, 2]}]}}
    at.run()
    assert not at.exception
    assert at.session_state[session.KEY].time_range == obs.TimeRange("2026-10-19", "2026-10-22")
