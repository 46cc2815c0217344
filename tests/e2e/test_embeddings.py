"""The Embeddings page in a real browser: the sample's 3D point cloud draws; a box drawn with the mouse in the 2D
view selects points; a click on a point in the 3D view (the plotly component) adds it; ticking the top drift
cluster adds its points; the CSV download holds exactly the selected rows. Screenshot:
tests/e2e/screenshots/embeddings.png."""

from __future__ import annotations

import io
import re
import time

import pandas as pd
import pytest

from tests.e2e.conftest import shot, wait_idle

pytestmark = pytest.mark.e2e

IFRAME = 'iframe[title*="cloud3d"]'


def _settle(page, timeout: float = 120_000) -> None:
    wait_idle(page, timeout)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout)


def _selected(page) -> int:
    text = page.get_by_text(re.compile(r"^[\d,]+ selected row")).first.inner_text()
    return int(re.match(r"([\d,]+)", text)[1].replace(",", ""))


def _wait_selected(page, previous: int, timeout: float = 90_000) -> int:
    deadline = time.time() + timeout / 1000
    while time.time() < deadline:
        try:
            _settle(page, 30_000)
            n = _selected(page)
            if n != previous:
                return n
        except Exception:  # mid-rerun: the text is being replaced
            pass
        page.wait_for_timeout(300)
    raise AssertionError(f"the selection stayed at {previous} rows")


def _frame(page):
    return page.locator(IFRAME).element_handle().content_frame()


def _wait_3d(page, timeout: float = 240_000):
    page.locator(IFRAME).wait_for(timeout=timeout)
    frame = _frame(page)
    frame.wait_for_function("() => window.cloud3d && window.cloud3d.ready", timeout=timeout)
    return frame


def _box_in_2d(page, chart) -> None:
    """Pick plotly's box tool in the 2D chart's modebar and drag a box around a group of points."""
    chart.hover()
    chart.locator('.modebar-btn[data-title="Box Select"]').click()
    # Where the points are: the centre of the densest trace, in pixels of the chart's drag layer.
    target = chart.evaluate("""el => {
        const gd = el.querySelector('.js-plotly-plot');
        const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis;
        const tr = gd._fullData.filter(t => t.visible === true && t.x && t.x.length)
                               .sort((a, b) => b.x.length - a.x.length)[0];
        const i = Math.floor(tr.x.length / 2);
        const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
        return {x: r.left + xa.d2p(tr.x[i]), y: r.top + ya.d2p(tr.y[i]), w: r.width, h: r.height};
    }""")
    half = max(25, min(target["w"], target["h"]) * 0.08)
    page.mouse.move(target["x"] - half, target["y"] - half)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(target["x"] - half + 2 * half * k / 8, target["y"] - half + 2 * half * k / 8)
    page.mouse.up()


def _click_in_3d(page, frame) -> int:
    """Click a point of the 3D view with the mouse; returns the row id the view reported.

    The component tells where a row's point is on screen (``window.cloud3d.screenOf``); the test takes one away
    from the legend and the edges, hovers it (the tooltip must name it) and clicks."""
    target = frame.evaluate("""() => {
        const api = window.cloud3d, legend = document.querySelector('.legend').getBoundingClientRect();
        const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
        for (const id of api.visibleRowIds()) {
            const p = api.screenOf(id);
            if (!p || p.x < 30 || p.y < 30 || p.x > W - 30 || p.y > H - 30) continue;
            if (p.x > legend.left - 12 && p.y < legend.bottom + 12) continue;
            return {id, x: p.x, y: p.y};
        }
        return null;
    }""")
    assert target, "no point of the 3D view is on screen"
    box = page.locator(IFRAME).bounding_box()
    x, y = box["x"] + target["x"], box["y"] + target["y"]
    page.mouse.move(x, y)
    frame.wait_for_function("() => window.cloud3d.lastHover !== null", timeout=10_000)
    tip = frame.locator(".tip").inner_text()           # hover: id, dataset, cluster, labels, text snippet
    assert re.match(r"(prod|ref)-\d+", tip) and "cluster" in tip and "predicted" in tip, tip
    before = frame.evaluate("window.cloud3d.clicks")
    page.mouse.click(x, y)
    frame.wait_for_function(f"() => window.cloud3d.clicks > {before}", timeout=10_000)
    return int(frame.evaluate("window.cloud3d.lastClick.row_id"))


def _full_shot(page, name: str):
    size = page.viewport_size
    page.mouse.move(1, 1)
    h = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                      "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], section')]"
                      ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(h) + 40, 5000))})
    page.wait_for_timeout(1500)
    _settle(page)
    path = shot(page, name)
    page.set_viewport_size(size)
    return path


def test_embeddings_select_and_download(page, app_url):
    t0 = time.time()
    page.goto(app_url)                       # Home opens on the sample and starts the UMAP warm-up
    page.get_by_text("Bundled sample loaded").first.wait_for(timeout=120_000)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Embeddings", exact=True).click()

    # ---- the 3D chart draws -----------------------------------------------------------------------------
    frame = _wait_3d(page)
    _settle(page)
    assert frame.evaluate("document.querySelectorAll('canvas').length") == 1
    legend = frame.evaluate("[...document.querySelectorAll('.legend-item')].map(e => e.innerText)")
    assert any(t.startswith("reference") for t in legend) and any(t.startswith("primary") for t in legend)
    assert len(frame.evaluate("window.cloud3d.visibleRowIds()")) == 5000     # 2,500 per dataset by default
    assert page.get_by_text("Clusters", exact=True).first.is_visible()
    assert _selected(page) == 0
    t_chart = time.time() - t0

    # ---- box in 2D (replace mode) -----------------------------------------------------------------------
    chart = page.locator('[data-testid="stColumn"]').filter(has_text="2D (same projection)").locator(
        '[data-testid="stPlotlyChart"]').first
    _box_in_2d(page, chart)
    n_box = _wait_selected(page, 0)
    assert n_box > 0

    # ---- add mode: click a point in 3D -----------------------------------------------------------------------
    page.locator('[data-testid="stButtonGroup"]').get_by_role("radio", name="Add", exact=True).first.click()
    _settle(page)
    frame = _wait_3d(page)
    row_id = _click_in_3d(page, frame)
    n_click = _wait_selected(page, n_box)
    assert n_click == n_box + 1, (row_id, n_box, n_click)

    # ---- add the top drift cluster (first row of the cluster table) -------------------------------------------
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    top = grid.locator('[role="row"]').nth(1).locator('[role="gridcell"]')
    first_size = None
    try:
        first_size = int(top.nth(1).inner_text().replace(",", ""))
    except Exception:
        pass
    gb = grid.bounding_box()
    page.mouse.click(gb["x"] + 18, gb["y"] + 35 + 17)   # the first data row's tick box
    n_cluster = _wait_selected(page, n_click)
    assert n_cluster > n_click
    if first_size is not None:
        assert n_cluster <= n_click + first_size

    # ---- CSV download = exactly the selected rows ----------------------------------------------------------
    _settle(page)
    shown = _selected(page)
    with page.expect_download(timeout=60_000) as dl:
        page.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV").locator("button").first.click()
    data = open(dl.value.path(), "rb").read()
    df = pd.read_csv(io.BytesIO(data))
    assert {"obs_dataset", "obs_cluster", "obs_row_id"} <= set(df.columns)
    assert df["obs_row_id"].is_unique
    assert len(df) == shown
    assert row_id in set(df["obs_row_id"])
    assert set(df["obs_dataset"]) <= {"primary", "reference"}

    path = _full_shot(page, "embeddings")
    assert path.exists()
    print(f"3D chart after {t_chart:.1f} s; whole flow {time.time() - t0:.1f} s; selected {shown} rows")
