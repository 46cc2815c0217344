"""Browser test: the Data quality, Performance and Report pages as a person sees them (sidebar navigation,
key texts, the quality CSV and the HTML report downloads, screenshots).

About 30 s on an idle 2-core machine. Waits are long (3 min) because the app's start-up numba warm-up shares the
process: while it compiles, a page can take far longer to render than the same page later.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import shot, wait_idle

pytestmark = pytest.mark.e2e

CHARTS_DRAWN = """(n) => { const c = document.querySelectorAll('[data-testid="stPlotlyChart"]');
    return c.length >= n && [...c].every(e => e.querySelector('.main-svg')); }"""


def _open_from_sidebar(page, label: str, heading: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)


def _whole_page_shot(page, name: str, charts: int) -> None:
    """Grow the viewport to the page's height (Streamlit scrolls inside its own container, so a full-page
    screenshot would stop at the window), let the charts redraw, then take the screenshot."""
    page.wait_for_function(CHARTS_DRAWN, arg=charts, timeout=180_000)
    height = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMainBlockContainer"]');
        return Math.ceil((m ? m.scrollHeight : document.body.scrollHeight) + 120); }""")
    page.set_viewport_size({"width": 1500, "height": max(1000, min(height, 6000))})
    page.wait_for_timeout(1500)
    page.wait_for_function(CHARTS_DRAWN, arg=charts, timeout=60_000)
    shot(page, name)
    page.set_viewport_size({"width": 1500, "height": 1000})


def test_quality_performance_and_report_pages(page, app_url):
    page.goto(app_url)
    page.get_by_text("Bundled sample loaded").first.wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)

    # ---- Data quality -------------------------------------------------------------------------------
    _open_from_sidebar(page, "Data quality", "Data quality")
    page.get_by_text("3 failing checks, no warnings in the primary").first.wait_for()
    page.get_by_text("16.68% missing (1,001 of 6,000 rows)").first.wait_for()   # the worst column's detail
    assert page.get_by_text("Showing 3 of").first.is_visible()
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download the quality table (CSV)").click()
    assert dl.value.suggested_filename == "obs_quality.csv"
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    assert set(rows[0]) >= {"dataset", "column", "check", "status", "value", "detail"}
    new = [r for r in rows if r["column"] == "channel" and r["check"] == "new_categories"]
    assert new and new[0]["status"] == "fail" and "social_media" in new[0]["detail"]
    age = [r for r in rows if r["column"] == "customer_age" and r["check"] == "missing" and r["dataset"] == "primary"]
    assert age[0]["status"] == "fail"
    # the column detail: pick channel, see its new category
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()   # the only one: "Column"
    page.get_by_role("option", name="🔴 channel").click()
    page.get_by_text("(720 rows)").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stAlert"]').filter(has_text="social_media (720)").first.is_visible()
    _whole_page_shot(page, "quality", charts=2)

    # ---- Performance --------------------------------------------------------------------------------
    _open_from_sidebar(page, "Performance", "Performance")
    page.get_by_text("Worst segment:").first.wait_for(timeout=180_000)
    cards = page.locator('[data-testid="stMetric"]')
    assert "0.824" in cards.first.inner_text() and "vs reference 0.870" in cards.first.inner_text()
    assert page.get_by_text("28 daily windows of the primary").first.is_visible()
    assert "app_version = 5.2" in page.get_by_text("Worst segment:").first.inner_text()
    page.get_by_role("heading", name="Fairness").first.wait_for(timeout=180_000)
    _whole_page_shot(page, "performance", charts=6)

    # ---- Report -------------------------------------------------------------------------------------
    _open_from_sidebar(page, "Report", "Report")
    page.get_by_role("button", name="Build report").click()
    page.get_by_text("Report ready").first.wait_for(timeout=180_000)
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download obs_report.html").click()
    assert dl.value.suggested_filename == "obs_report.html"
    doc = open(dl.value.path(), encoding="utf-8").read()
    assert doc.startswith("<!DOCTYPE html>") and "4 of 15 columns drifted" in doc and len(doc) < 5_200_000
    page.set_viewport_size({"width": 1500, "height": 1400})
    page.wait_for_timeout(500)
    shot(page, "report")
    page.set_viewport_size({"width": 1500, "height": 1000})
