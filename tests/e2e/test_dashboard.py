"""The dashboard in a real browser: sample → summary → Drift (table, detail, CSV, a sidebar filter) →
Drift over time (pick windows on the chart → every page restricted → chip removes it). Screenshots of each
page go to tests/e2e/screenshots/."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest

from tests.e2e.conftest import shot, wait_idle

pytestmark = pytest.mark.e2e

PLANTED = {"order_value", "channel", "customer_age", "app_version"}


def _full_shot(page, name: str):
    """Streamlit scrolls inside its main container, so grow the viewport to the content before the shot."""
    size = page.viewport_size
    page.mouse.move(1, 1)  # no hover toolbars in the picture
    h = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                      "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], section')]"
                      ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(h) + 40, 5000))})
    time.sleep(1.0)  # let plotly re-layout
    path = shot(page, name)
    page.set_viewport_size(size)
    return path


def _settle(page, text: str, timeout: float = 90_000) -> None:
    """Wait for ``text``, for the script run to end, and for no element left over from the last run."""
    page.get_by_text(text).first.wait_for(timeout=timeout)
    wait_idle(page, timeout)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout)


def _nav(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()


def _primary_rows(page) -> int:
    cap = page.get_by_text(re.compile(r"^primary .* rows\)")).first.inner_text()
    return int(re.search(r"\(([\d,]+) rows\)", cap)[1].replace(",", ""))


def _pick(page, container, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox / multiselect labelled ``label`` inside ``container``."""
    box = container.get_by_role("combobox", name=label, exact=True)
    box.click()
    opt = page.get_by_role("option", name=option, exact=True).first
    try:
        opt.wait_for(timeout=5_000)
    except Exception:  # the click only focused the input: typing opens the (filtered) list
        box.press_sequentially(option.split(" ")[0], delay=30)
    opt.click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open
    wait_idle(page)


def _grid_rows(page) -> list[list[str]]:
    """The drift table's cells as text (glide-data-grid keeps an accessible table next to its canvas)."""
    page.wait_for_function("() => document.querySelectorAll("
                           "'[data-testid=\"stDataFrame\"] [role=\"row\"] [role=\"gridcell\"]').length > 14")
    rows = page.locator('[data-testid="stDataFrame"]').first.locator('[role="row"]')
    out = []
    for i in range(1, rows.count()):
        cells = rows.nth(i).locator('[role="gridcell"]')
        out.append([cells.nth(j).inner_text() for j in range(cells.count())])
    return out


def test_dashboard_flow(page, app_url, tmp_path):
    t0 = time.time()
    # ---- Home: the sample auto-loads; loading it again on purpose works too -----------------------------
    page.goto(app_url)
    _settle(page, "Bundled sample loaded")
    page.get_by_role("button", name="Load the sample").click()
    _settle(page, "Sample loaded")
    _settle(page, "3 · Summary")
    metrics = page.locator('[data-testid="stMetric"]')
    assert "6,000" in metrics.nth(0).inner_text() and "6,000" in metrics.nth(1).inner_text()
    _full_shot(page, "home")

    # ---- Drift: headline, table, detail ---------------------------------------------------------------------
    _nav(page, "Drift")
    _settle(page, "Show details for column")
    headline = page.get_by_text(re.compile(r"columns drifted since")).first.inner_text()
    assert re.search(r"\b4 of 15 columns drifted since reference \(sample, September\)", headline), headline
    rows = _grid_rows(page)
    assert rows[0][0] in PLANTED and "drift" in rows[0][1], rows[0]
    assert {r[0] for r in rows[:4]} == PLANTED
    # the detail opens on the top column; clicking another row's selection cell opens that one
    assert page.locator("h3").filter(has_text=re.compile(rf"^{rows[0][0]}$")).count() == 1
    target = next(i for i, r in enumerate(rows) if r[0] == "customer_age")
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * target + 17)
    try:
        page.locator("h3").filter(has_text=re.compile(r"^customer_age$")).wait_for(timeout=15_000)
    except Exception:  # the grid did not take the click: use the page's picker instead
        _pick(page, page, "Show details for column", "customer_age — 🔴 drift")
        page.locator("h3").filter(has_text=re.compile(r"^customer_age$")).wait_for()
    _settle(page, "missing 1.7% → 16.7%")
    # two charts: distribution per bin and drift over time, both of the picked column
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].map(e => e.textContent)"
                           ".filter(t => t.startsWith('customer_age — ')).length === 2")
    assert page.locator(".js-plotly-plot").count() == 2
    _full_shot(page, "drift")

    # ---- Download the drift table --------------------------------------------------------------------------
    with page.expect_download() as d:
        page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download the drift table").click()
    path = tmp_path / d.value.suggested_filename
    d.value.save_as(path)
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {"column", "role", "kind", "score", "metric", "status", "psi", "p_value_adj", "missing_reference",
            "missing_primary", "unseen_share", "n_reference", "n_primary", "rule"} <= set(table[0])
    by_col = {r["column"]: r for r in table}
    assert by_col["order_value"]["status"] == "drift" and by_col["region"]["status"] == "no drift"
    assert len(table) == 15

    # ---- A sidebar filter: channel = email ----------------------------------------------------------------
    assert _primary_rows(page) == 6000
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Add a filter").click()
    _pick(page, sidebar, "Column", "channel")
    _pick(page, sidebar, "Values", "email")
    sidebar.get_by_role("button", name="Apply", exact=True).click()
    sidebar.get_by_role("button", name=re.compile(r"✕ channel")).wait_for()
    wait_idle(page)
    page.get_by_text(re.compile(r"columns drifted since")).first.wait_for()
    n_email = _primary_rows(page)
    assert 2000 < n_email < 2600, n_email
    assert {r[0] for r in _grid_rows(page)[:2]} <= PLANTED  # new categories still drift among email tickets
    sidebar.get_by_role("button", name=re.compile(r"✕ channel")).click()
    wait_idle(page)
    page.wait_for_function("() => !document.body.innerText.includes('✕ channel')")
    assert _primary_rows(page) == 6000

    # ---- Drift over time: pick windows on the chart ---------------------------------------------------------
    _nav(page, "Drift over time")
    _settle(page, "daily windows")
    page.locator(".js-plotly-plot").first.wait_for()
    time.sleep(1.5)
    _full_shot(page, "drift_over_time")
    drag = page.locator(".js-plotly-plot").first.locator(".nsewdrag").first
    b = drag.bounding_box()
    y = b["y"] + b["height"] * 0.5
    page.mouse.move(b["x"] + b["width"] * 0.52, y)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] * 0.60, y + 20, steps=8)
    page.mouse.move(b["x"] + b["width"] * 0.64, y + 40, steps=8)
    page.mouse.up()
    _settle(page, "Every page is restricted to")
    restricted = _primary_rows(page)
    assert 200 < restricted < 2000, restricted
    chip = page.locator('[data-testid="stSidebar"]').get_by_role("button", name=re.compile("✕ ⏱"))
    assert chip.count() == 1
    _full_shot(page, "drift_over_time_selected")
    # the Drift page is restricted too; the chip removes the range
    _nav(page, "Drift")
    _settle(page, "Show details for column")
    assert _primary_rows(page) == restricted
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name=re.compile("✕ ⏱")).click()
    wait_idle(page)
    page.wait_for_function("() => !document.body.innerText.includes('✕ ⏱')")
    _settle(page, "Show details for column")
    assert _primary_rows(page) == 6000
    assert time.time() - t0 < 180
