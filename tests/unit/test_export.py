"""Export of selected rows: columns, row identity, order, cluster numbers, CSV and Parquet round trips."""

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from obs_core.errors import ObsError
from obs_core.export import export_rows
from obs_core.store import Store

UTC = dt.timezone.utc


def _tables():
    rng = np.random.default_rng(3)
    vec_p = rng.normal(size=(6, 4)).astype(np.float32)
    vec_r = rng.normal(size=(5, 4)).astype(np.float32)
    vec_p[0, 0] = np.float32(0.1)          # a value without an exact binary form
    vec_p[0, 1] = np.float32(1e-8)
    prim = pa.table({
        "id": [f"p{i}" for i in range(6)],
        "ts": pa.array([dt.datetime(2026, 10, 1, i, tzinfo=UTC) for i in range(6)], pa.timestamp("us", tz="UTC")),
        "amount": [1.5, None, 3.25, 4.0, 5.125, 6.0],
        "count": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        "text": ["plain", 'quote " and, comma', "new\nline", None, "ünïcode", ""],
        "vec": pa.array(vec_p.tolist(), pa.list_(pa.float32(), 4)),
        "only_primary": [True, False, True, None, True, False],
    })
    ref = pa.table({
        "id": [f"r{i}" for i in range(5)],
        "ts": pa.array([dt.datetime(2026, 9, 1, i, tzinfo=UTC) for i in range(5)], pa.timestamp("us", tz="UTC")),
        "amount": [10.0, 20.0, None, 40.0, 50.0],
        "count": pa.array([10, 20, 30, 40, 50], pa.int64()),
        "text": ["a", "b", "c", "d", "e"],
        "vec": pa.array(vec_r.tolist(), pa.list_(pa.float32(), 4)),
        "only_reference": ["x", "y", "z", "w", "v"],
    })
    return prim, ref


@pytest.fixture()
def store():
    prim, ref = _tables()
    s = Store()
    s.load("primary", prim, timestamp="ts", fingerprint="p")
    s.load("reference", ref, timestamp="ts", fingerprint="r", row_id_offset=prim.num_rows)
    return s


def _parquet(b: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(b))


def test_parquet_has_every_original_column_plus_obs_columns_in_a_stable_order(store):
    out = _parquet(export_rows(store, [8, 2, 0, 6, 2], format="parquet"))
    assert out.column_names == ["id", "ts", "amount", "count", "text", "vec", "only_primary", "only_reference",
                                "obs_dataset", "obs_cluster", "obs_row_id"]
    # primary first, then reference, each by row id; duplicates dropped
    assert out.column("obs_row_id").to_pylist() == [0, 2, 6, 8]
    assert out.column("id").to_pylist() == ["p0", "p2", "r0", "r2"]
    assert out.column("obs_dataset").to_pylist() == ["primary", "primary", "reference", "reference"]
    assert out.column("obs_cluster").to_pylist() == [-1, -1, -1, -1]
    # a column one dataset lacks is empty for its rows
    assert out.column("only_primary").to_pylist() == [True, True, None, None]
    assert out.column("only_reference").to_pylist() == [None, None, "x", "z"]


def test_parquet_values_are_exactly_the_source_rows(store):
    prim, ref = _tables()
    out = _parquet(export_rows(store, [0, 1, 3, 4, 5, 7, 10], format="parquet"))
    src = pa.concat_tables([prim.take([0, 1, 3, 4, 5]).drop_columns(["only_primary"]),
                            ref.take([1, 4]).drop_columns(["only_reference"])])
    for col in ("id", "ts", "amount", "count", "text"):
        assert out.column(col).to_pylist() == src.column(col).to_pylist(), col
    assert out.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert out.schema.field("count").type == pa.int64()
    got = np.array(out.column("vec").to_pylist(), dtype=np.float32)
    want = np.array(src.column("vec").to_pylist(), dtype=np.float32)
    assert np.array_equal(got, want)                     # bit-exact float32
    assert pa.types.is_list(out.schema.field("vec").type) or pa.types.is_fixed_size_list(out.schema.field("vec").type)


def test_csv_round_trip_keeps_values_and_writes_vectors_as_bracketed_strings(store):
    prim, ref = _tables()
    raw = export_rows(store, [0, 1, 2, 3, 9], format="csv")
    df = pd.read_csv(io.BytesIO(raw), keep_default_na=False, na_values=[""])
    assert list(df.columns) == ["id", "ts", "amount", "count", "text", "vec", "only_primary", "only_reference",
                                "obs_dataset", "obs_cluster", "obs_row_id"]
    assert df["id"].tolist() == ["p0", "p1", "p2", "p3", "r3"]
    assert df["count"].tolist() == [1, 2, 3, 4, 40]
    assert df["amount"].iloc[0] == 1.5 and np.isnan(df["amount"].iloc[1])
    assert df["text"].iloc[1] == 'quote " and, comma' and df["text"].iloc[2] == "new\nline"
    assert pd.to_datetime(df["ts"], utc=True).tolist() == [pd.Timestamp(v) for v in
                                                           [*prim.column("ts").to_pylist()[:4],
                                                            ref.column("ts").to_pylist()[3]]]
    assert all(v.startswith("[") and v.endswith("]") for v in df["vec"])
    parsed = np.array([json.loads(v) for v in df["vec"]], dtype=np.float32)
    want = np.array(prim.column("vec").to_pylist()[:4] + [ref.column("vec").to_pylist()[3]], dtype=np.float32)
    assert np.array_equal(parsed, want)                  # shortest float32 text reads back exactly
    assert df["obs_dataset"].tolist() == ["primary"] * 4 + ["reference"]


def test_cluster_numbers_come_from_points_or_a_mapping(store):
    points = pd.DataFrame({"row_id": [0, 2, 7], "cluster": [3, -1, 1], "x": [0.0, 0.0, 0.0]})
    out = _parquet(export_rows(store, [0, 1, 2, 7], format="parquet", clusters=points))
    assert out.column("obs_cluster").to_pylist() == [3, -1, -1, 1]          # row 1 not in the cloud -> -1
    out = _parquet(export_rows(store, [0, 7], format="parquet", clusters={7: 4}))
    assert out.column("obs_cluster").to_pylist() == [-1, 4]

    class Cloud:  # anything with .points (a PointCloud)
        pass
    cloud = Cloud()
    cloud.points = points
    assert _parquet(export_rows(store, [0], format="parquet", clusters=cloud)).column("obs_cluster").to_pylist() == [3]


def test_unknown_ids_and_formats_are_user_errors(store):
    with pytest.raises(ObsError, match="not in the data: 11, 99"):
        export_rows(store, [0, 11, 99])
    with pytest.raises(ObsError, match="Cannot export as 'xlsx'"):
        export_rows(store, [0], format="xlsx")
    with pytest.raises(ObsError, match="whole numbers"):
        export_rows(store, ["a"])
    with pytest.raises(ObsError, match="row_id"):
        export_rows(store, [0], clusters=pd.DataFrame({"cluster": [1]}))


def test_no_ids_gives_a_header_only_file(store):
    raw = export_rows(store, [], format="csv")
    assert raw.decode().strip().startswith("id,ts,amount") and len(raw.decode().strip().splitlines()) == 1
    assert _parquet(export_rows(store, [], format="parquet")).num_rows == 0


def test_a_primary_only_store_and_clashing_column_names():
    s = Store()
    s.load("primary", pa.table({"obs_dataset": ["mine", "also mine"], "v": [1, 2]}))
    out = _parquet(export_rows(s, np.array([1, 0]), format="parquet"))
    assert out.column_names == ["obs_dataset", "v", "obs_dataset_", "obs_cluster", "obs_row_id"]
    assert out.column("obs_dataset").to_pylist() == ["mine", "also mine"]
    assert out.column("obs_dataset_").to_pylist() == ["primary", "primary"]


def test_the_comparison_facade_exports(store):
    from obs_core.comparison import Comparison
    from obs_core.schema import Schema

    cmp = Comparison(Schema(), primary=None, store=store)
    out = _parquet(cmp.export([6, 1], format="parquet", clusters={1: 2}))
    assert out.column("id").to_pylist() == ["p1", "r0"] and out.column("obs_cluster").to_pylist() == [2, -1]
