"""obs_core.report: a self-contained HTML report with the headline, drift, quality and performance — and no rows."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from plotly.offline import get_plotlyjs

import obs_core as obs
from obs_core import report

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
WHEN = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def datasets():
    return (obs.read(SAMPLE / "reference.parquet", name="reference (sample)"),
            obs.read(SAMPLE / "production.parquet", name="production (sample)"))


@pytest.fixture(scope="module")
def cmp(datasets):
    ref, prod = datasets
    c = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    yield c
    c.close()


@pytest.fixture(scope="module")
def html_and_progress(cmp):
    steps = []
    doc = report.build_report(cmp, progress=lambda f, m: steps.append((f, m)), generated_at=WHEN)
    return doc, steps


@pytest.fixture(scope="module")
def html(html_and_progress):
    return html_and_progress[0]


class _Structure(HTMLParser):
    """Checks that every non-void element is closed in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.counts = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def _tile(d: obs.Dataset, k: int, name: str) -> obs.Dataset:
    """``d`` repeated ``k`` times with unique prediction ids (a bigger dataset with the same distributions)."""
    parts = []
    for i in range(k):
        t = d.table
        ids = pc.binary_join_element_wise(t["prediction_id"], pa.scalar(f"-{i}"), "")
        parts.append(t.set_column(t.schema.get_field_index("prediction_id"), "prediction_id", ids))
    return obs.read(pa.concat_tables(parts), name=name)


def _without_plotly_js(doc: str) -> str:
    js = get_plotlyjs()
    assert doc.count(js) == 1
    return doc.replace(js, "/* plotly.js */")


def _check_structure(doc: str) -> dict:
    p = _Structure()
    p.feed(_without_plotly_js(doc))
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, p.stack
    return p.counts


def test_valid_self_contained_document(html):
    assert html.startswith("<!DOCTYPE html>")
    counts = _check_structure(html)
    assert counts["html"] == counts["head"] == counts["body"] == counts["title"] == 1
    rest = _without_plotly_js(html)
    assert not re.search(r"<script[^>]+src=", rest), "no external scripts: the report must open offline"
    assert "http://" not in rest and "https://" not in rest


def test_exactly_one_plotly_js_copy(html):
    js = get_plotlyjs()
    assert html.count(js[:2000]) == 1
    assert html.count("plotly.js v") == 1
    assert html.count("Plotly.newPlot") >= 4          # drift scores, drift over time, performance over time, segments


def test_headline_and_drifted_columns(html):
    assert "4 of 15 columns drifted: channel, app_version, customer_age, order_value." in html
    assert "3 failing data-quality checks, 0 warnings in the primary." in html
    assert "Accuracy 0.824 in the primary vs 0.870 in the reference (-0.046)." in html
    drift = html[html.index('<section id="drift">'):html.index('<section id="quality">')]
    for col in ("channel", "app_version", "customer_age", "order_value"):
        assert f"<td>{col}</td>" in drift
    assert drift.count('class="badge b-drift"') == 4
    quality = html[html.index('<section id="quality">'):html.index('<section id="performance">')]
    assert "social_media (720)" in quality and "16.68% missing" in quality
    perf = html[html.index('<section id="performance">'):]
    assert "Where the model is worst: by app_version" in perf and "<td>5.2</td>" in perf


def test_no_row_level_data(html, datasets):
    ref, prod = datasets
    for d in (ref, prod):
        ids = d.table["prediction_id"].to_pylist()
        for i in (ids[0], ids[len(ids) // 2], ids[-1]):
            assert i not in html
        text = d.table["ticket_text"][7].as_py()
        assert text not in html
    assert "ref-0" not in html and "prod-0" not in html


def test_progress_is_monotonic_and_finishes(html_and_progress):
    _, steps = html_and_progress
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(steps) >= 5
    assert all(isinstance(m, str) and m for _, m in steps)


def test_title_and_filters_are_escaped(cmp):
    filtered = cmp.where("region", "in", ["europe"])
    doc = report.build_report(filtered, title="Q4 <review> & co", generated_at=WHEN)
    assert "<title>Q4 &lt;review&gt; &amp; co</title>" in doc
    assert "Filters: region" in doc and "europe" in doc
    assert "generated 2026-11-01 12:00 UTC" in doc


def test_size_does_not_grow_with_rows(datasets, html):
    ref, prod = datasets
    big_ref, big_prod = _tile(ref, 10, "reference x10"), _tile(prod, 10, "production x10")
    big = obs.Comparison(obs.infer_schema(big_ref, big_prod), primary=big_prod, reference=big_ref)
    try:
        assert big.num_rows() == {"primary": 60_000, "reference": 60_000}
        doc = report.build_report(big, generated_at=WHEN)
    finally:
        big.close()
    small, large = len(html.encode()), len(doc.encode())
    assert 0.9 < large / small < 1.1, (small, large)
    assert large < 5_000_000


def test_sections_say_why_they_are_missing(datasets):
    ref, prod = datasets
    schema = obs.infer_schema(ref, prod).replace(model_type=None)
    only = obs.Comparison(schema, primary=prod)
    try:
        doc = report.build_report(only, generated_at=WHEN)
        h = report.headline(only)
    finally:
        only.close()
    assert "No reference dataset" in doc and "Performance is not available" in doc
    assert h.drifted is None and h.metric is None and h.quality_fail == 0
    assert any("No reference dataset" in s for s in h.sentences())
    _check_structure(doc)


def test_rank_segment_columns_finds_app_version(cmp):
    assert report.segment_candidates(cmp) == ["app_version", "region", "channel", "plan", "product_category"]
    ranked = report.rank_segment_columns(cmp)
    top = ranked.iloc[0]
    assert (top["column"], top["segment"]) == ("app_version", "5.2")
    assert abs(top["value"] - 0.575) < 1e-9 and top["impact"] > 0
    assert ranked["impact"].is_monotonic_decreasing


def test_a_filter_that_empties_the_reference(cmp):
    only_new = cmp.where("app_version", "in", ["5.2"])      # 5.2 exists only in the primary
    assert only_new.num_rows() == {"primary": 600, "reference": 0}
    doc = report.build_report(only_new, generated_at=WHEN)
    assert "(600 rows)" in doc and "Accuracy 0.575 in the primary." in doc
    _check_structure(doc)
