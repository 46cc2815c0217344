import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from obs_core.errors import FilterError, SchemaError
from obs_core.store import OPS, ROW_ID, TS, Filter, Store, TimeRange, View, quote


@pytest.fixture()
def store():
    s = Store()
    prim = pa.table({
        "num": pa.array([1.0, 2.5, None, 4.0, 10.0]),
        "cnt": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "cat": pa.array(["EU", "US", "EU", None, "APAC"]),
        "flag": pa.array([True, False, True, False, None]),
        "ts": pa.array([dt.datetime(2026, 10, d) for d in (1, 2, 3, 4, 5)], pa.timestamp("us")),
        "weird \"name\"; DROP TABLE x": pa.array(["a", "b", "c", "d", "e"]),
        "vec": pa.FixedSizeListArray.from_arrays(pa.array(np.arange(10, dtype="float32")), 2),
    })
    ref = pa.table({"num": pa.array([0.5, 1.5, 2.5]), "cat": pa.array(["EU", "EU", "US"]),
                    "ts": pa.array(["2026-09-01", "2026-09-02", "bad"]), "only_ref": [1, 2, 3]})
    s.load("primary", prim, timestamp="ts", fingerprint="p")
    s.load("reference", ref, timestamp="ts", fingerprint="r", row_id_offset=5)
    yield s
    s.close()


def ids(store, dataset, filters, time_range=None):
    w = store.where(dataset, filters, time_range)
    return store.execute(f"SELECT {ROW_ID} FROM {quote(dataset)} WHERE {w.sql} ORDER BY 1", w.params).fetchnumpy()[
        ROW_ID].tolist()


def test_load_adds_row_ids_and_utc_timestamps(store):
    assert store.columns("primary")["num"] == "DOUBLE"
    assert store.columns("primary")["vec"] == "FLOAT[2]"
    assert store.kind("primary", "vec") == "vector"
    rows = store.execute(f"SELECT {ROW_ID}, {TS} FROM reference ORDER BY 1").fetchall()
    assert rows == [(5, dt.datetime(2026, 9, 1)), (6, dt.datetime(2026, 9, 2)), (7, None)]
    assert store.num_rows("primary") == 5 and store.num_rows("reference") == 3


@pytest.mark.parametrize("f, expected", [
    (Filter("num", "=", 2.5), [1]),
    (Filter("num", "!=", 2.5), [0, 3, 4]),
    (Filter("num", "<", 4), [0, 1]),
    (Filter("num", "<=", 4), [0, 1, 3]),
    (Filter("num", ">", 2.5), [3, 4]),
    (Filter("num", ">=", 2.5), [1, 3, 4]),
    (Filter("cat", "in", ["EU", "APAC"]), [0, 2, 4]),
    (Filter("cat", "not_in", ["EU"]), [1, 3, 4]),          # missing counts as "not one of these"
    (Filter("num", "between", (2, 4)), [1, 3]),
    (Filter("num", "is_null"), [2]),
    (Filter("cat", "not_null"), [0, 1, 2, 4]),
    (Filter("cat", "contains", "e"), [0, 2]),               # case-insensitive
    (Filter("flag", "=", True), [0, 2]),
    (Filter("cnt", "in", [2, "4"]), [1, 3]),                 # numeric strings accepted for numbers
    (Filter("ts", ">=", "2026-10-04"), [3, 4]),
    (Filter("ts", "between", ("2026-10-02T00:00:00+00:00", dt.datetime(2026, 10, 3))), [1, 2]),
])
def test_every_operator(store, f, expected):
    assert ids(store, "primary", [f]) == expected


def test_every_operator_is_covered():
    assert set(OPS) == {"=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null", "contains"}


def test_filters_and_time_range_combine(store):
    assert ids(store, "primary", [Filter("cat", "=", "EU"), Filter("num", ">", 0)]) == [0]
    assert ids(store, "primary", [], TimeRange("2026-10-02", "2026-10-04")) == [1, 2]
    assert ids(store, "primary", [], TimeRange(start="2026-10-04")) == [3, 4]
    # zoned bounds are converted to UTC
    assert ids(store, "primary", [], TimeRange("2026-10-02T02:00:00+02:00", None)) == [1, 2, 3, 4]


def test_column_missing_in_one_dataset_is_all_missing_there(store):
    assert ids(store, "primary", [Filter("only_ref", "=", 1)]) == []
    assert ids(store, "primary", [Filter("only_ref", "is_null")]) == [0, 1, 2, 3, 4]
    assert ids(store, "reference", [Filter("only_ref", "=", 1)]) == [5]


@pytest.mark.parametrize("f, message", [
    (Filter("nope", "=", 1), "no column named 'nope'"),
    (Filter("num", "=", "abc"), "not a number"),
    (Filter("num", "in", []), "non-empty list"),
    (Filter("num", "=", [1, 2]), "single value"),
    (Filter("num", "between", (5, 1)), "low end"),
    (Filter("num", "between", 3), "(low, high) pair"),
    (Filter("num", "contains", "1"), "needs a text column"),
    (Filter("cat", "=", {"a": 1}), "not text"),
    (Filter("ts", "<", "yesterday-ish"), "not a date"),
    (Filter("vec", "=", 1), "only be filtered with is_null"),
    (Filter("flag", "=", "maybe"), "not true/false"),
])
def test_bad_filters_raise_obs_errors(store, f, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.where("primary", [f])


def test_unknown_operator():
    with pytest.raises(FilterError, match="Unknown filter operator"):
        Filter("num", "LIKE", "%")


@pytest.mark.parametrize("value", [
    "EU'; DROP TABLE primary; --",
    "' OR '1'='1",
    "EU\" OR 1=1 --",
    "%",
    "\\'",
])
def test_injection_through_values_is_inert(store, value):
    assert ids(store, "primary", [Filter("cat", "=", value)]) == []
    assert ids(store, "primary", [Filter("cat", "in", [value, "US"])]) == [1]
    assert ids(store, "primary", [Filter("cat", "contains", value)]) == []
    assert store.num_rows("primary") == 5  # the table is still there


@pytest.mark.parametrize("name", [
    'cat" = \'EU\' OR "num',
    "num; DROP TABLE reference; --",
    'x") OR TRUE OR ("',
])
def test_injection_through_column_names_is_rejected(store, name):
    with pytest.raises(FilterError, match="no column named"):
        store.where("primary", [Filter(name, "=", "EU")])
    assert store.num_rows("reference") == 3


def test_hostile_column_name_is_usable(store):
    col = "weird \"name\"; DROP TABLE x"
    assert ids(store, "primary", [Filter(col, "in", ["b", "d"])]) == [1, 3]
    assert quote(col) == '"weird ""name""; DROP TABLE x"'


def test_seeded_sampling(store):
    s = Store()
    s.load("primary", pa.table({"x": np.arange(1000)}))
    a = s.sample_ids("primary", 100, random_state=1)
    b = s.sample_ids("primary", 100, random_state=1)
    c = s.sample_ids("primary", 100, random_state=2)
    assert len(a) == 100 and len(set(a)) == 100
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert a.max() > 500  # never "the first rows"
    w = s.where("primary", [Filter("x", "<", 50)])
    assert set(s.sample_ids("primary", 1000, where=w).tolist()) == set(range(50))


def test_fetch_by_id_keeps_order_and_dataset(store):
    df = store.fetch([6, 0, 4], ["num", "cat", "only_ref"])
    assert df["dataset"].tolist() == ["reference", "primary", "primary"]
    assert df[ROW_ID].tolist() == [6, 0, 4]
    assert df["num"].tolist() == [1.5, 1.0, 10.0]
    assert df["only_ref"].isna().tolist() == [False, True, True]


def test_duplicate_and_reserved_columns_are_refused():
    s = Store()
    t = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(SchemaError, match="duplicate column names: 'a'"):
        s.load("primary", t)
    with pytest.raises(SchemaError, match="reserved"):
        s.load("primary", pa.table({ROW_ID: [1]}))


def test_sessions_are_isolated():
    a, b = Store(), Store()
    a.load("primary", pa.table({"secret": ["alice"]}))
    b.load("primary", pa.table({"secret": ["bob"]}))
    assert a.execute('SELECT secret FROM "primary"').fetchall() == [("alice",)]
    assert b.execute('SELECT secret FROM "primary"').fetchall() == [("bob",)]
    c = Store()
    assert not c.has("primary")
    with pytest.raises(Exception):
        c.execute('SELECT * FROM "primary"')


def test_view_key_and_rows(store):
    v = View(store, "primary", (Filter("cat", "=", "EU"),))
    assert v.num_rows() == 2
    assert v.key == ("primary", "p", (Filter("cat", "=", "EU"),), None)
    assert View(store, "primary").num_rows() == 5


def test_time_range_validation():
    with pytest.raises(FilterError, match="starts"):
        TimeRange("2026-10-05", "2026-10-01")
    with pytest.raises(FilterError, match="not a date"):
        TimeRange("soon", None)
