"""AppTest of the Report page: headline preview, build with progress, download, filters.

The tests share one app session and run in file order.
"""

from __future__ import annotations

import pytest

import obs_core as obs
from tests.app.conftest import open_page, texts

PAGE = "6_Report.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_headline_preview(at):
    assert not at.exception
    m = _metrics(at)
    assert m["Drifted columns"] == "4 of 15"
    assert m["Failing quality checks (primary)"] == "3"
    assert m["Accuracy (primary)"] == "0.824"
    assert "4 of 15 columns drifted: channel, app_version, customer_age, order_value." in texts(at)
    assert not at.get("download_button")          # nothing to download before building


def test_build_and_download(at):
    at.button(key="report_build").click().run()
    assert not at.exception
    ready = [s.value for s in at.success if s.value.startswith("Report ready")]
    assert ready and "MB" in ready[0]
    [download] = at.get("download_button")
    assert download.proto.label == "Download obs_report.html"
    assert at.button(key="report_build").disabled          # up to date: no rebuild needed
    html = at.session_state["_obs_reports"]
    [doc] = html.values()
    assert doc.startswith("<!DOCTYPE html>") and "4 of 15 columns drifted" in doc
    assert len(doc.encode()) < 5_200_000


def test_filter_changes_the_headline_and_needs_a_new_build(at):
    sess = at.session_state["_obs_session"]
    sess.filters = [obs.Filter("region", "in", ("europe",))]
    at.run()
    assert not at.exception
    assert "(1,798 rows)" in texts(at)
    assert not at.button(key="report_build").disabled and not at.get("download_button")
    assert _metrics(at)["Accuracy (primary)"] != "0.824"
    at.button(key="report_build").click().run()
    assert not at.exception
    [doc] = at.session_state["_obs_reports"].values()
    assert "Filters: region" in doc and "1,798 rows" in doc
