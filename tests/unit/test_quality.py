"""quality.py: exact counts for every check, thresholds, missing over time, and the bundled sample's problems."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from obs_core import quality as q
from obs_core.errors import NotEnoughData, ObsError
from obs_core.schema import ModelType, Schema
from obs_core.store import Store, View
from tests.unit.helpers import sample_comparison

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def make(primary, reference=None, timestamp=None):
    s = Store()
    to = lambda t: t if isinstance(t, pa.Table) else pa.Table.from_pandas(t, preserve_index=False)
    s.load("primary", to(primary), timestamp=timestamp, fingerprint="p")
    ref = None
    if reference is not None:
        s.load("reference", to(reference), timestamp=timestamp, fingerprint="r", row_id_offset=len(primary))
        ref = View(s, "reference")
    return ref, View(s, "primary")


def row(table, column, check, dataset="primary"):
    r = table[(table["column"] == column) & (table["check"] == check) & (table["dataset"] == dataset)]
    assert len(r) == 1, (column, check, dataset, r)
    return r.iloc[0]


@pytest.fixture()
def small():
    ref = pd.DataFrame({
        "id": [f"r{i}" for i in range(10)],
        "color": ["red"] * 5 + ["blue"] * 5,
        "size": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "const": [7] * 10,
        "varies": [1, 2] * 5,
        "empty": [None] * 10,
        "code": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
    })
    prim = pd.DataFrame({
        "id": ["p0", "p1", "p1", "p2", "p2", "p2", "p3", "p4", "p5", "p6"],     # 3 rows repeat an id
        "color": ["red", "green", "green", "green", "pink", None, "", "  ", "blue", "red"],
        "size": [0.5, 0.2, np.nan, 3.0, 5.0, 11.0, 12.0, 10.0, None, 1.0],      # 2 below [1,10], 2 above
        "const": [7] * 10,
        "varies": [3] * 10,                                                       # constant only in primary
        "empty": [None] * 10,
        "code": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "n/a"],            # numeric-looking, one is not
    })
    schema = Schema(prediction_id="id", features=("color", "size", "const", "varies", "empty", "code"))
    r, p = make(prim, ref)
    return q.quality_table(r, p, schema), r, p, schema


def test_columns_and_statuses(small):
    t, *_ = small
    assert list(t.columns) == ["dataset", "column", "role", "kind", "check", "status", "value", "detail"]
    assert set(t["status"]) <= {"pass", "warn", "fail"}
    assert set(t["dataset"]) == {"reference", "primary"}
    assert t["detail"].map(lambda d: isinstance(d, str) and len(d) > 3).all()


def test_new_categories_exact_counts(small):
    t, r, p, schema = small
    nc = row(t, "color", "new_categories")
    assert nc["value"] == 4 and nc["status"] == "fail"       # 4 of 7 non-missing values are unseen
    assert "green (3), pink (1)" in nc["detail"]
    d = q.quality_detail(r, p, schema, "color")
    assert d["new_categories"].to_dict("list") == {"value": ["green", "pink"], "count": [3, 1],
                                                   "share": [3 / 7, 1 / 7]}
    cats = d["categories"].set_index("value")
    assert cats.loc["blue", "count_reference"] == 5 and cats.loc["blue", "count_primary"] == 1
    assert cats.loc["green", "new"] and not cats.loc["red", "new"]
    assert "new_categories" not in set(t[t.dataset == "reference"]["check"])


def test_out_of_range_counts(small):
    t, r, p, schema = small
    o = row(t, "size", "out_of_range")
    assert o["value"] == 4                                     # 0.5, 0.2 below 1; 11, 12 above 10
    assert "2 below, 2 above" in o["detail"] and o["status"] == "fail"    # 4/8 = 50 % >= 5 %
    d = q.quality_detail(r, p, schema, "size")["out_of_range"]
    assert d["count"].tolist() == [2, 2] and d["bound"].tolist() == [1.0, 10.0]
    assert d["share"].tolist() == [0.25, 0.25]


def test_missing_exact_with_nan_and_blank(small):
    t, *_ = small
    assert row(t, "size", "missing")["value"] == pytest.approx(20.0)     # NaN + None = 2 of 10
    assert row(t, "size", "count")["value"] == 8
    assert row(t, "color", "missing")["value"] == pytest.approx(30.0)    # None, "" and "  "
    assert row(t, "color", "missing")["status"] == "fail"                # >= 20 %
    assert row(t, "color", "missing", "reference")["status"] == "pass"
    assert "1 blank" not in row(t, "color", "missing")["detail"] and "2 blank" in row(t, "color", "missing")["detail"]


def test_constant_and_all_missing(small):
    t, *_ = small
    assert row(t, "const", "constant")["status"] == "warn"        # constant in both
    assert row(t, "const", "constant")["value"] == 1
    assert row(t, "varies", "constant")["status"] == "fail"       # constant now, varied in the reference
    assert row(t, "varies", "constant", "reference")["status"] == "pass"
    m = row(t, "empty", "missing")
    assert m["value"] == 100.0 and m["status"] == "fail" and "Every value is missing" in m["detail"]
    assert t[(t.column == "empty") & (t.check == "constant")].empty  # no values: not "constant"


def test_duplicate_ids_and_unparseable_text(small):
    t, *_ = small
    d = row(t, "id", "duplicate_ids")
    assert d["value"] == 3 and d["status"] == "fail"
    assert row(t, "id", "duplicate_ids", "reference")["value"] == 0
    u = row(t, "code", "unparseable")
    assert u["value"] == 1 and u["status"] == "fail"              # 1 of 10 = 10 % >= 5 %
    assert row(t, "color", "cardinality")["value"] == 4           # red green pink blue (blanks are missing)


def test_numeric_stats_equal_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 3, 5001)
    x[::100] = np.nan
    ints = rng.integers(0, 1000, 5001)
    _, p = make(pd.DataFrame({"x": x, "i": ints}))
    t = q.quality_table(None, p, Schema(features=("x", "i")))
    v = x[~np.isnan(x)]
    for name, want in (("min", v.min()), ("max", v.max()), ("mean", v.mean()), ("p01", np.quantile(v, 0.01)),
                       ("p50", np.quantile(v, 0.5)), ("p99", np.quantile(v, 0.99))):
        assert row(t, "x", name)["value"] == pytest.approx(want, rel=1e-9), name
        assert row(t, "x", name)["status"] == "pass"
    assert row(t, "i", "p99")["value"] == pytest.approx(np.quantile(ints, 0.99))
    assert row(t, "x", "missing")["value"] == pytest.approx(100 * 51 / 5001)


def test_quantiles_on_large_data_use_a_deterministic_subsample(monkeypatch):
    monkeypatch.setattr(q, "QUANTILE_EXACT_ROWS", 2000)
    x = np.random.default_rng(1).uniform(0, 100, 20000)
    _, p = make(pd.DataFrame({"x": x}))
    t1 = q.quality_table(None, p, Schema(features=("x",)))
    p.store.cache.clear()
    t2 = q.quality_table(None, p, Schema(features=("x",)))
    assert row(t1, "x", "p50")["value"] == row(t2, "x", "p50")["value"]           # deterministic
    assert row(t1, "x", "p50")["value"] == pytest.approx(np.median(x), abs=3.0)  # ~2,000-row sample
    assert row(t1, "x", "min")["value"] == x.min()                               # min/max stay exact


def test_missing_rise_against_reference_fails_below_absolute_threshold():
    ref = pd.DataFrame({"a": [1.0] * 99 + [None]})              # 1 %
    prim = pd.DataFrame({"a": [1.0] * 85 + [None] * 15})        # 15 %: a warn alone, but +14 points -> fail
    r, p = make(prim, ref)
    t = q.quality_table(r, p, Schema(features=("a",)))
    m = row(t, "a", "missing")
    assert m["value"] == 15.0 and m["status"] == "fail" and "+14.00 points" in m["detail"]
    r2, p2 = make(pd.DataFrame({"a": [1.0] * 94 + [None] * 6}), pd.DataFrame({"a": [1.0] * 94 + [None] * 6}))
    assert row(q.quality_table(r2, p2, Schema(features=("a",))), "a", "missing")["status"] == "warn"   # 6 %
    # actual labels are capped at warn
    r3, p3 = make(pd.DataFrame({"y": ["a"] * 5 + [None] * 5}), pd.DataFrame({"y": ["a"] * 10}))
    t3 = q.quality_table(r3, p3, Schema(actual_label="y", model_type=ModelType.BINARY, positive_class="a"))
    assert row(t3, "y", "missing")["status"] == "warn"


def test_unparseable_timestamps_and_time_stats():
    prim = pa.table({"ts": ["2026-10-01T00:00:00", "2026-10-02 12:00", "not a time", "", None, "2026-10-03"],
                     "x": [1.0, 2.0, float("inf"), 4.0, 5.0, 6.0]})
    _, p = make(prim, timestamp="ts")
    t = q.quality_table(None, p, Schema(timestamp="ts", features=("x",)))
    u = row(t, "ts", "unparseable")
    assert u["value"] == 1 and u["status"] == "fail"
    assert row(t, "ts", "max")["detail"].startswith("Last: 2026-10-03")
    assert row(t, "x", "unparseable")["value"] == 1                 # +inf
    assert row(t, "x", "max")["value"] == 6.0                       # inf left out of the statistics


def test_score_range_and_missing_column():
    prim = pd.DataFrame({"score": [0.1, 1.2, -0.1, 0.5], "label": ["a", "b", "a", "b"]})
    ref = pd.DataFrame({"score": [0.1, 0.2], "label": ["a", "b"], "actual": ["a", "b"]})
    r, p = make(prim, ref)
    schema = Schema(prediction_score="score", prediction_label="label", actual_label="actual",
                    model_type=ModelType.BINARY, positive_class="a")
    t = q.quality_table(r, p, schema)
    s = row(t, "score", "score_range")
    assert s["value"] == 2 and s["status"] == "fail"
    pres = row(t, "actual", "present")
    assert pres["status"] == "warn" and "not in the primary" in pres["detail"]


def test_type_mismatch_between_datasets():
    r, p = make(pd.DataFrame({"a": ["x", "y"]}), pd.DataFrame({"a": [1, 2]}))
    t = q.quality_table(r, p, Schema(features=("a",)))
    assert row(t, "a", "type")["status"] == "fail"
    assert row(t, "a", "type", "reference")["status"] == "pass"


def test_summary_and_columns_option(small):
    t, r, p, schema = small
    s = q.quality_summary(t).set_index("dataset")
    prim = t[t.dataset == "primary"]["status"].value_counts()
    assert s.loc["primary", "n_fail"] == prim["fail"] and s.loc["primary", "n_pass"] == prim["pass"]
    # failing: id (duplicates), color (new values, missing), size (range, missing), varies (constant now),
    # empty (all missing), code (unparseable); warning only: const (constant in both)
    assert s.loc["primary", "columns_failing"] == 6 and s.loc["primary", "columns_warning"] == 1
    only = q.quality_table(r, p, schema, columns=["size"])
    assert set(only["column"]) == {"size"}


def test_missing_over_time_one_row_per_window_and_column():
    base = dt.datetime(2026, 10, 1)
    n = 96
    ts = [base + dt.timedelta(hours=h) for h in range(n)]
    a = [None if (h >= 48 and h % 2 == 0) else 1.0 for h in range(n)]    # day 3-4: half missing
    _, p = make(pd.DataFrame({"ts": ts, "a": a, "b": ["x"] * n}), timestamp="ts")
    schema = Schema(timestamp="ts", features=("a", "b"))
    m = q.missing_over_time(p, schema, granularity="day")
    assert list(m.columns[:6]) == ["window_start", "window_end", "column", "missing_share", "n_missing", "n_rows"]
    a_rows = m[m.column == "a"]
    assert a_rows["missing_share"].tolist() == [0.0, 0.0, 0.5, 0.5]
    assert a_rows["n_rows"].tolist() == [24] * 4 and a_rows["n_missing"].tolist() == [0, 0, 12, 12]
    assert (a_rows["window_end"] - a_rows["window_start"]).eq(pd.Timedelta(days=1)).all()
    assert set(m["column"]) == {"a", "b"}
    hourly = q.missing_over_time(p, schema)                       # auto: 96 hours -> hour is too many; day
    assert hourly.attrs["granularity"] in ("hour", "day")
    _, p2 = make(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(NotEnoughData):
        q.missing_over_time(p2, Schema(features=("a",)))
    with pytest.raises(ObsError):
        q.missing_over_time(p, schema, granularity="decade")


def test_auto_granularity_is_the_timeseries_rule():
    from obs_core import timeseries
    base = dt.datetime(2026, 1, 1)
    for hours in (30, 24 * 28, 24 * 300):
        ts = [base, base + dt.timedelta(hours=hours)]
        _, p = make(pd.DataFrame({"ts": ts, "a": [1.0, None]}), timestamp="ts")
        m = q.missing_over_time(p, Schema(timestamp="ts", features=("a",)))
        assert m.attrs["granularity"] == timeseries.choose_granularity(ts[0], ts[1])
        assert m["n_rows"].sum() == 2 and m["n_missing"].sum() == 1


# ---- the bundled sample ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmp():
    yield from sample_comparison()


def test_sample_new_category_and_missing_rise(cmp):
    t = cmp.quality()
    nc = row(t, "channel", "new_categories")
    assert nc["status"] == "fail" and "social_media (720)" in nc["detail"] and nc["value"] == 720
    m = row(t, "customer_age", "missing")
    assert m["status"] == "fail" and m["value"] > 10
    assert row(t, "customer_age", "missing", "reference")["value"] < 3
    assert row(t, "prediction_id", "duplicate_ids")["value"] == 0
    # planted problems only: region, plan and product_category have no new values
    for c in ("region", "plan", "product_category"):
        assert row(t, c, "new_categories")["status"] == "pass"


def test_sample_missing_over_time_jumps_on_oct_20(cmp):
    m = q.missing_over_time(cmp.primary, cmp.schema, columns=["customer_age"])
    assert m.attrs["granularity"] == "day"
    s = m.set_index("window_start")["missing_share"]
    before = s[s.index < pd.Timestamp("2026-10-20")]
    after = s[s.index >= pd.Timestamp("2026-10-20")]
    assert before.max() < 0.1 and after.min() > 0.3
    assert s.index[s > 0.3].min() == pd.Timestamp("2026-10-20")


def test_sample_filter_changes_counts(cmp):
    full = cmp.quality()
    email = cmp.where("channel", "=", "email").quality()
    n_email = cmp.where("channel", "=", "email").num_rows()["primary"]
    assert row(full, "region", "count")["value"] == 6000
    assert row(email, "region", "count")["value"] == n_email < 6000
    assert row(email, "channel", "new_categories")["value"] == 0


def test_empty_filter_result_gives_rows_not_errors(small):
    from obs_core.store import Filter
    _, r, p, schema = small
    empty = View(p.store, "primary", (Filter("size", ">", 1000),))
    t = q.quality_table(r, empty, schema)
    assert row(t, "size", "count")["status"] == "warn" and row(t, "size", "count")["value"] == 0
    assert "no rows" in row(t, "color", "count")["detail"]
