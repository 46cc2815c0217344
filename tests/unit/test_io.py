"""Tests for obs_core.io: reading files, bytes, file objects, DataFrames and Arrow tables into Datasets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import random
import time
import uuid
import warnings

import fastavro
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from obs_core.errors import InputError, LimitExceeded
from obs_core.io import Dataset, Limits, detect_format, fingerprint_bytes, read

F32 = pa.float32()


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def ipc_bytes(table: pa.Table, kind: str) -> bytes:
    sink = pa.BufferOutputStream()
    if kind == "file":
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    elif kind == "stream":
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    elif kind == "feather":
        feather.write_feather(table, sink)  # Feather v2, compressed
    elif kind == "feather1":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            feather.write_feather(table, sink, version=1)
    return sink.getvalue().to_pybytes()


def avro_bytes(schema: dict, records: list[dict]) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records)
    return buf.getvalue()


def error_of(source, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        read(source, **kwargs)
    return info.value


def vectors(ds: Dataset, column: str) -> list:
    return ds.table.column(column).to_pylist()


# ----------------------------------------------------------------------------------------------------------------
# fingerprints and the Dataset type
# ----------------------------------------------------------------------------------------------------------------


def test_fingerprint_bytes_is_sha256_and_distinguishes_content():
    assert fingerprint_bytes(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert fingerprint_bytes(b"a,b\n1,2\n") == fingerprint_bytes(b"a,b\n1,2\n")
    assert fingerprint_bytes(b"a,b\n1,2\n") != fingerprint_bytes(b"a,b\n1,3\n")


def test_equal_bytes_equal_fingerprint_different_bytes_different():
    a = read(b"a,b\n1,2\n", name="x.csv")
    b = read(b"a,b\n1,2\n", name="other-name.csv")
    c = read(b"a,b\n1,3\n", name="x.csv")
    assert a.fingerprint == b.fingerprint == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert a.fingerprint != c.fingerprint


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_path_and_bytes_give_the_same_fingerprint(tmp_path, kind):
    data = b"id,score\n1,0.5\n2,0.25\n" if kind == "csv" else parquet_bytes(pa.table({"id": [1, 2]}))
    path = tmp_path / f"data.{kind}"
    path.write_bytes(data)
    from_path = read(path)
    from_str_path = read(str(path))
    from_bytes = read(data, name=f"data.{kind}")
    assert from_path.fingerprint == from_str_path.fingerprint == from_bytes.fingerprint
    assert from_path.fingerprint == hashlib.sha256(data).hexdigest()
    assert from_path.size_bytes == from_bytes.size_bytes == len(data)
    assert from_path.name == f"data.{kind}"
    assert from_path.table.equals(from_bytes.table)


def test_dataset_properties(tmp_path):
    table = pa.table({"id": [1, 2, 3], "emb": [[1.0, 2.0], [3.0, 4.0], None], "label": ["a", "b", "c"]})
    path = tmp_path / "train.parquet"
    path.write_bytes(parquet_bytes(table))
    ds = read(path, name="training")
    assert ds.name == "training"
    assert ds.source_format == "parquet"
    assert ds.num_rows == 3
    assert ds.columns == ["id", "emb", "label"]
    assert ds.vector_columns == ["emb"]
    assert ds.size_bytes == path.stat().st_size
    assert len(ds.fingerprint) == 64
    df = ds.to_pandas()
    assert list(df.columns) == ["id", "emb", "label"]
    assert list(df["emb"][0]) == [1.0, 2.0]
    assert df["emb"][2] is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "x"  # type: ignore[misc]
    assert ds != read(path, name="training")  # eq=False: identity
    assert "training" in repr(ds) and "rows=3" in repr(ds)


def test_parquet_path_is_read_by_pyarrow_not_through_python_bytes(tmp_path, monkeypatch):
    import obs_core.io as obs_io

    path = tmp_path / "x.parquet"
    path.write_bytes(parquet_bytes(pa.table({"a": list(range(100))})))

    def boom(self):
        raise AssertionError("the whole file was read into Python bytes")

    monkeypatch.setattr(obs_io._Source, "read_bytes", boom)
    assert read(path).num_rows == 100


# ----------------------------------------------------------------------------------------------------------------
# CSV / TSV
# ----------------------------------------------------------------------------------------------------------------


def test_csv_basic_types_and_order():
    ds = read(b"id,score,label,ts\n1,0.5,cat,2024-01-02T03:04:05\n2,1.5,dog,2024-01-03T00:00:00\n", name="p.csv")
    assert ds.source_format == "csv"
    assert ds.columns == ["id", "score", "label", "ts"]
    types = [f.type for f in ds.table.schema]
    assert types[:3] == [pa.int64(), pa.float64(), pa.string()]
    assert pa.types.is_timestamp(types[3])  # pyarrow's default ISO-8601 inference
    assert ds.table.column("label").to_pylist() == ["cat", "dog"]
    assert ds.notes == ()


def test_tsv_detected_from_content_and_extension():
    data = b"id\tname\tscore\n1\tAnn, Lee\t0.5\n2\tBob, Roy\t0.7\n"  # commas inside values, tabs between
    for name in ("x.tsv", "x.txt", None):
        ds = read(data, name=name)
        assert ds.source_format == "tsv"
        assert ds.columns == ["id", "name", "score"]
        assert ds.table.column("name").to_pylist() == ["Ann, Lee", "Bob, Roy"]


def test_semicolon_delimited_text_is_sniffed():
    ds = read(b"a;b;c\n1;2;x\n3;4;y\n", name="eu.csv")
    assert ds.source_format == "csv"
    assert ds.columns == ["a", "b", "c"]
    assert ds.table.column("b").to_pylist() == [2, 4]
    assert any("semicolon" in n for n in ds.notes)


def test_crlf_and_utf8_bom():
    ds = read(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n", name="win.csv")
    assert ds.columns == ["a", "b"]
    assert ds.table.column("b").to_pylist() == [2, 4]


def test_empty_file_bytes_and_path(tmp_path):
    err = error_of(b"", name="empty.csv")
    assert "empty.csv" in err.user_message and "empty" in err.user_message
    path = tmp_path / "nothing.csv"
    path.write_bytes(b"")
    err = error_of(path)
    assert "nothing.csv" in err.user_message and "0 bytes" in err.user_message


def test_whitespace_only_file():
    err = error_of(b"  \n\n  \n", name="blank.csv")
    assert "blank.csv" in err.user_message and "whitespace" in err.user_message


def test_header_only_csv_has_no_rows():
    err = error_of(b"id,score,label\n", name="header.csv")
    assert '"header.csv" has no rows' in err.user_message
    assert "3 columns" in err.user_message


def test_unterminated_quote_is_an_error():
    err = error_of(b'id,text\n1,"hello\n2,world\n3,again\n', name="bad.csv")
    msg = err.user_message
    assert "bad.csv" in msg and "quote" in msg and "never closed" in msg
    assert 'column "text"' in msg and "row 1" in msg
    assert '""' in err.hint


def test_unterminated_quote_in_a_large_file_does_not_silently_drop_rows():
    rows = [b"%d,x%d,%d" % (i, i, i * 3) for i in range(200_000)]
    rows[10] = b'10,"broken,30'
    err = error_of(b"a,b,c\n" + b"\n".join(rows) + b"\n", name="big.csv")
    assert "big.csv" in err.user_message and "never closed" in err.user_message


def test_quoted_newlines_spanning_reader_blocks_load_completely():
    rows = [b'%d,"line one\nline two",x' % i for i in range(100_000)]  # ~3 MB: several reader blocks
    ds = read(b"a,b,c\n" + b"\n".join(rows) + b"\n", name="multi.csv")
    assert ds.num_rows == 100_000
    assert ds.table.column("b").unique().to_pylist() == ["line one\nline two"]
    assert ds.table.column("a")[-1].as_py() == 99_999


def test_literal_quote_inside_unquoted_value_is_fine():
    ds = read(b'a,b\n1,5\'11"\n2,x\n', name="q.csv")
    assert ds.table.column("b").to_pylist() == ["5'11\"", "x"]


def test_mixed_types_small_column_reads_as_string():
    ds = read(b"id,code\n1,10\n2,20\n3,abc\n", name="mixed.csv")
    assert ds.table.schema.field("code").type == pa.string()
    assert ds.table.column("code").to_pylist() == ["10", "20", "abc"]


def test_mixed_types_after_the_first_block_read_as_string_without_dropping_rows():
    rows = [b"%d,%d" % (i, i) for i in range(300_000)] + [b"abc,1"]  # ~3.4 MB: "abc" is far past block one
    ds = read(b"a,b\n" + b"\n".join(rows) + b"\n", name="mixed.csv")
    assert ds.num_rows == 300_001
    assert ds.table.schema.field("a").type == pa.string()
    assert ds.table.schema.field("b").type == pa.int64()
    assert ds.table.column("a")[0].as_py() == "0"
    assert ds.table.column("a")[-1].as_py() == "abc"


def test_conversion_error_retries_the_column_as_string(monkeypatch):
    """If pyarrow reports a conversion error in a later block, that column is re-read as text."""
    import obs_core.io as obs_io

    real = pa_csv.read_csv
    calls = []

    def flaky(source, read_options=None, parse_options=None, convert_options=None):
        calls.append(dict(convert_options.column_types))
        if "code" not in convert_options.column_types:
            raise pa.ArrowInvalid("In CSV column #1: Row #4: CSV conversion error to int64: invalid value 'abc'")
        return real(source, read_options, parse_options, convert_options)

    monkeypatch.setattr(obs_io.pa_csv, "read_csv", flaky)
    ds = read(b"id,code\n1,10\n2,20\n3,abc\n", name="m.csv")
    assert calls[-1] == {"code": pa.string()}
    assert ds.table.column("code").to_pylist() == ["10", "20", "abc"]
    assert ds.table.column("id").type == pa.int64()


def test_latin1_bytes_are_read_with_a_fallback_encoding():
    ds = read("name,city\ncafé,Zürich\n".encode("latin-1"), name="legacy.csv")
    assert ds.table.column("name").to_pylist() == ["café"]
    assert ds.table.column("city").to_pylist() == ["Zürich"]
    assert len(ds.notes) == 1
    note = ds.notes[0]
    assert "legacy.csv" in note and "UTF-8" in note and "nothing was lost" in note


def test_latin1_header_and_cp1252_specials():
    ds = read("café,prix\nx,5 €\n".encode("cp1252"), name="h.csv")
    assert ds.columns == ["café", "prix"]
    assert ds.table.column("prix").to_pylist() == ["5 €"]
    assert "Windows-1252" in ds.notes[0]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1():
    ds = read(b"a,b\n1,x\x81y\n", name="odd.csv")
    assert ds.table.column("b").to_pylist() == ["x\x81y"]
    assert "Latin-1" in ds.notes[0]


def test_utf16_text_from_excel():
    ds = read("id\tname\n1\tcafé\n".encode("utf-16"), name="export.txt")
    assert ds.source_format == "tsv"
    assert ds.table.column("name").to_pylist() == ["café"]
    assert any("UTF-16" in n for n in ds.notes)


def test_duplicate_csv_headers_are_kept_as_read():
    ds = read(b"a,b,a\n1,2,3\n4,5,6\n", name="dups.csv")
    assert ds.columns == ["a", "b", "a"]
    assert ds.table.column(0).to_pylist() == [1, 4]
    assert ds.table.column(2).to_pylist() == [3, 6]
    assert list(ds.to_pandas().columns) == ["a", "b", "a"]


def test_row_with_extra_fields_is_a_plain_error():
    err = error_of(b"a,b\n1,2\n3,4,5\n", name="ragged.csv")
    assert "ragged.csv" in err.user_message
    assert "different number of fields" in err.user_message
    assert "Expected 2 columns, got 3" in err.user_message  # the reader's detail comes after the plain sentence


def test_bracketed_header_names_are_csv_not_json():
    ds = read(b"[id],[name]\n1,x\n", name="sql.csv")
    assert ds.source_format == "csv"
    assert ds.columns == ["[id]", "[name]"]


# ----------------------------------------------------------------------------------------------------------------
# embedding vectors
# ----------------------------------------------------------------------------------------------------------------


def test_csv_vector_strings_become_fixed_size_float32():
    data = b'id,emb\n1,"[0.5, -1.25, 3]"\n2,"[1e-3, 2.5, -0.0]"\n3,\n'
    ds = read(data, name="emb.csv")
    assert ds.table.schema.field("emb").type == pa.list_(F32, 3)
    assert vectors(ds, "emb") == [[0.5, -1.25, 3.0], [np.float32(1e-3).item(), 2.5, -0.0], None]
    assert ds.vector_columns == ["emb"]
    assert ds.table.column("id").to_pylist() == [1, 2, 3]


def test_space_separated_and_numpy_printed_vectors():
    data = b'id,emb\n1,"[ 0.5  -0.25\n  2.0 ]"\n2,"[-1.   2.   3. ]"\n3,"[1 2 3]"\n'
    ds = read(data, name="np.csv")
    assert ds.table.schema.field("emb").type == pa.list_(F32, 3)
    assert vectors(ds, "emb") == [[0.5, -0.25, 2.0], [-1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


def test_unquoted_vectors_in_tsv():
    ds = read(b"id\temb\n1\t[0.1, 0.2]\n2\t[0.3, 0.4]\n", name="v.tsv")
    assert ds.source_format == "tsv"
    assert ds.columns == ["id", "emb"]
    assert ds.table.schema.field("emb").type == pa.list_(F32, 2)
    np.testing.assert_array_equal(
        np.array(vectors(ds, "emb"), dtype=np.float32), np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)
    )


def test_ragged_vector_strings_stay_variable_length():
    ds = read(b'id,emb\n1,"[0.1, 0.2, 0.3]"\n2,"[1, 2]"\n3,"[]"\n4,\n', name="ragged.csv")
    col = ds.table.column("emb")
    assert col.type == pa.list_(F32)
    assert pc.list_value_length(col).to_pylist() == [3, 2, 0, None]
    assert ds.vector_columns == []


def test_partly_vector_like_strings_stay_strings():
    ds = read(b'id,emb\n1,"[0.1, 0.2]"\n2,"not a vector"\n3,"[a, b]"\n', name="p.csv")
    assert ds.table.schema.field("emb").type == pa.string()
    assert vectors(ds, "emb") == ["[0.1, 0.2]", "not a vector", "[a, b]"]
    ds = read(b'id,tags\n1,"[1, 2], [3]"\n2,"[[1, 2]]"\n', name="nested.csv")
    assert ds.table.schema.field("tags").type == pa.string()


def test_moderate_size_vector_strings_parse_exactly_and_fast():
    unique, repeats, d = 1_000, 20, 128  # 20,000 rows x 128 floats, ~30 MB of text
    rng = np.random.default_rng(7)
    x = rng.standard_normal((unique, d)).astype(np.float32)
    text = pc.cast(pa.array(x.ravel()), pa.string())  # shortest round-trip representation of each float32
    joined = pc.binary_join(pa.FixedSizeListArray.from_arrays(text, d).cast(pa.list_(pa.string())), ", ")
    emb = pc.binary_join_element_wise("[", joined, "]", "")
    body = io.BytesIO()
    pa_csv.write_csv(
        pa.table({"id": np.arange(unique), "emb": emb}), body, write_options=pa_csv.WriteOptions(include_header=False)
    )
    data = b'"id","emb"\n' + body.getvalue() * repeats
    start = time.perf_counter()
    ds = read(data, name="emb.csv")
    elapsed = time.perf_counter() - start
    assert ds.num_rows == unique * repeats
    col = ds.table.column("emb").combine_chunks()
    assert col.type == pa.list_(F32, d)
    parsed = col.values.to_numpy(zero_copy_only=False).reshape(repeats, unique, d)
    for block in parsed:
        np.testing.assert_array_equal(block, x)
    assert elapsed < 5.0, f"{len(data) / 1e6:.0f} MB of vector strings took {elapsed:.2f}s"


def test_parquet_list_columns_become_fixed_size_float32():
    table = pa.table(
        {
            "f64": pa.array([[0.5, 1.5], None, [2.5, -3.5]], pa.list_(pa.float64())),
            "large": pa.array([[1.0, 2.0, 3.0]] * 3, pa.large_list(pa.float32())),
            "fixed64": pa.array([[1.0], [2.0], [3.0]], pa.list_(pa.float64(), 1)),
            "ints": pa.array([[1, 2], [3, 4], [5, 6]], pa.list_(pa.int64())),
        }
    )
    ds = read(parquet_bytes(table), name="v.parquet")
    schema = ds.table.schema
    assert schema.field("f64").type == pa.list_(F32, 2)
    assert schema.field("large").type == pa.list_(F32, 3)
    assert schema.field("fixed64").type == pa.list_(F32, 1)
    assert schema.field("ints").type == pa.list_(F32, 2)
    assert vectors(ds, "f64") == [[0.5, 1.5], None, [2.5, -3.5]]
    assert vectors(ds, "ints") == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert ds.vector_columns == ["f64", "large", "fixed64", "ints"]


def test_ragged_parquet_lists_stay_variable_length_float32():
    table = pa.table({"emb": pa.array([[1.0, 2.0, 3.0], [1.0, 2.0], None], pa.list_(pa.float64()))})
    ds = read(parquet_bytes(table), name="r.parquet")
    assert ds.table.column("emb").type == pa.list_(F32)
    assert pc.list_value_length(ds.table.column("emb")).to_pylist() == [3, 2, None]
    assert ds.vector_columns == []


def test_lists_that_float32_would_alter_are_left_alone():
    table = pa.table(
        {
            "big_ids": pa.array([[1, 2**40], [3, 4]]),  # not exact in float32
            "huge": pa.array([[1e300, 1.0], [2.0, 3.0]]),  # would overflow to inf
            "nested": pa.array([[[1.0]], [[2.0]]]),
            "words": pa.array([["a", "b"], ["c", "d"]]),
        }
    )
    ds = read(table)
    assert ds.table.schema.types == table.schema.types
    assert ds.vector_columns == []


def test_jsonl_array_vectors_and_dataframe_numpy_vectors():
    ds = read(b'{"id": 1, "emb": [0.25, 0.5]}\n{"id": 2, "emb": [1, 2]}\n{"id": 3, "emb": null}\n', name="e.jsonl")
    assert ds.table.schema.field("emb").type == pa.list_(F32, 2)
    assert vectors(ds, "emb") == [[0.25, 0.5], [1.0, 2.0], None]
    df = pd.DataFrame({"id": [1, 2], "emb": [np.array([0.5, 1.0]), np.array([2.0, 4.0])]})
    ds = read(df, name="frame")
    assert ds.table.schema.field("emb").type == pa.list_(F32, 2)
    assert vectors(ds, "emb") == [[0.5, 1.0], [2.0, 4.0]]


# ----------------------------------------------------------------------------------------------------------------
# Parquet, Arrow, Avro
# ----------------------------------------------------------------------------------------------------------------


def test_parquet_round_trip_keeps_types_and_order():
    table = pa.table(
        {
            "z": [3, 2, 1],
            "a": ["x", None, "z"],
            "ts": pa.array([dt.datetime(2024, 1, d) for d in (1, 2, 3)], pa.timestamp("us")),
            "flag": [True, False, None],
        }
    )
    ds = read(parquet_bytes(table), name="t.parquet")
    assert ds.source_format == "parquet"
    assert ds.columns == ["z", "a", "ts", "flag"]
    assert ds.table.equals(table)


def test_pandas_index_column_in_parquet_is_kept_and_noted():
    buf = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}, index=[5, 6]).to_parquet(buf)
    ds = read(buf.getvalue(), name="pd.parquet")
    assert ds.columns == ["a", "__index_level_0__"]
    assert ds.table.column("__index_level_0__").to_pylist() == [5, 6]
    assert "pandas" in ds.notes[0] and "__index_level_0__" in ds.notes[0]


def test_truncated_parquet_is_a_plain_error():
    data = parquet_bytes(pa.table({"a": list(range(1000)), "b": ["x"] * 1000}))
    err = error_of(data[: len(data) // 2], name="cut.parquet")
    assert err.user_message.startswith('"cut.parquet" looks like a Parquet file')
    assert "truncated" in err.user_message


def test_wrong_extension_is_overridden_by_content():
    table = pa.table({"a": [1, 2]})
    assert read(parquet_bytes(table), name="x.csv").source_format == "parquet"
    assert read(b"a,b\n1,2\n", name="x.parquet").source_format == "csv"
    assert read(b'{"a": 1}\n{"a": 2}\n', name="x.json").source_format == "jsonl"
    assert read(ipc_bytes(table, "file"), name="x.json").source_format == "arrow"


@pytest.mark.parametrize("kind", ["file", "stream", "feather", "feather1"])
def test_arrow_ipc_and_feather_round_trip(kind):
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None], "score": [0.5, None, 1.5]})
    ds = read(ipc_bytes(table, kind), name=f"t.{kind}")
    assert ds.source_format == "arrow"
    assert ds.columns == ["id", "name", "score"]
    assert ds.table.to_pylist() == table.to_pylist()


@pytest.mark.parametrize("kind", ["file", "stream"])
def test_truncated_arrow_is_a_plain_error(kind):
    data = ipc_bytes(pa.table({"a": list(range(1000))}), kind)
    err = error_of(data[: len(data) // 2], name="cut.arrow")
    assert "cut.arrow" in err.user_message and "Arrow" in err.user_message and "truncated" in err.user_message


AVRO_SCHEMA = {
    "type": "record",
    "name": "Inference",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "score", "type": ["null", "double"]},
        {"name": "label", "type": {"type": "enum", "name": "Label", "symbols": ["cat", "dog"]}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "emb", "type": {"type": "array", "items": "float"}},
        {"name": "request", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "count", "type": "int"},
    ],
}


def test_avro_round_trip():
    when = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    records = [
        {
            "id": i,
            "score": None if i == 1 else i / 4,
            "label": ["cat", "dog"][i % 2],
            "ts": when,
            "emb": [0.5, float(i)],
            "request": str(uuid.UUID(int=i)),
            "amount": decimal.Decimal("12.34"),
            "count": i * 10,
        }
        for i in range(3)
    ]
    ds = read(avro_bytes(AVRO_SCHEMA, records), name="inferences.avro")
    assert ds.source_format == "avro"
    assert ds.columns == [f["name"] for f in AVRO_SCHEMA["fields"]]
    schema = ds.table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("count").type == pa.int32()
    assert schema.field("label").type == pa.string()
    assert schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("emb").type == pa.list_(F32, 2)
    assert schema.field("request").type == pa.string()
    assert schema.field("amount").type == pa.decimal128(10, 2)
    assert ds.table.column("score").to_pylist() == [0.0, None, 0.5]
    assert ds.table.column("label").to_pylist() == ["cat", "dog", "cat"]
    assert ds.table.column("request").to_pylist()[2] == "00000000-0000-0000-0000-000000000002"
    assert vectors(ds, "emb") == [[0.5, 0.0], [0.5, 1.0], [0.5, 2.0]]
    assert ds.table.column("ts")[0].as_py() == when


def test_truncated_avro_is_a_plain_error():
    records = [{"id": i, "x": i / 3} for i in range(5000)]
    data = avro_bytes(
        {"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"}, {"name": "x", "type": "double"}]},
        records,
    )
    err = error_of(data[: len(data) // 2], name="cut.avro")
    assert "cut.avro" in err.user_message and "Avro" in err.user_message


# ----------------------------------------------------------------------------------------------------------------
# JSON and JSON Lines
# ----------------------------------------------------------------------------------------------------------------


def test_jsonl_basic_and_missing_fields():
    ds = read(b'{"a": 1, "b": "x"}\n\n{"a": 2, "c": true}\n', name="r.jsonl")
    assert ds.source_format == "jsonl"
    assert ds.columns == ["a", "b", "c"]
    assert ds.table.to_pylist() == [{"a": 1, "b": "x", "c": None}, {"a": 2, "b": None, "c": True}]


def test_jsonl_mixed_types_come_through_as_string():
    ds = read(b'{"a": 1}\n{"a": "abc"}\n{"a": 2.5}\n{"a": null}\n', name="m.jsonl")
    assert ds.table.schema.field("a").type == pa.string()
    assert ds.table.column("a").to_pylist() == ["1", "abc", "2.5", None]


def test_jsonl_invalid_line_names_the_line():
    err = error_of(b'{"a": 1}\n{"a": \n{"a": 3}\n', name="broken.jsonl")
    assert "broken.jsonl" in err.user_message and "line 2" in err.user_message


def test_json_array_of_records():
    ds = read(json.dumps([{"id": 1, "s": "x"}, {"id": 2, "s": None, "extra": 0.5}]).encode(), name="a.json")
    assert ds.source_format == "json"
    assert ds.columns == ["id", "s", "extra"]
    assert ds.table.column("extra").to_pylist() == [None, 0.5]


def test_json_one_huge_line_loads_fast():
    records = [{"id": i, "name": f"n{i}", "score": i / 8, "emb": [0.25, 0.5, float(i % 7)]} for i in range(50_000)]
    data = json.dumps(records).encode()
    assert b"\n" not in data
    start = time.perf_counter()
    ds = read(data, name="big.json")
    elapsed = time.perf_counter() - start
    assert ds.num_rows == 50_000
    assert ds.table.schema.field("emb").type == pa.list_(F32, 3)
    assert ds.table.column("id")[49_999].as_py() == 49_999
    assert vectors(ds, "emb")[13] == [0.25, 0.5, 6.0]
    assert elapsed < 3.0, f"took {elapsed:.2f}s"


def test_json_array_mixed_types_come_through_as_string():
    ds = read(b'[{"a": 1}, {"a": 2}, {"a": "abc"}, {"a": {"k": 1}}]', name="m.json")
    assert ds.table.column("a").to_pylist() == ["1", "2", "abc", '{"k": 1}']


def test_json_object_layouts():
    cols = read(json.dumps({"a": [1, 2], "b": ["x", "y"]}).encode(), name="c.json")
    assert cols.table.to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for orient in ("columns", "split", "records"):
        ds = read(frame.to_json(orient=orient).encode(), name=f"{orient}.json")
        assert ds.table.to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], orient
    single = read(b'{"a": 1, "b": "x"}', name="one.json")
    assert single.table.to_pylist() == [{"a": 1, "b": "x"}]
    pretty = read(b'{\n  "a": 1\n}\n{\n  "a": 2\n}\n', name="pretty.json")
    assert pretty.table.column("a").to_pylist() == [1, 2]


def test_json_errors_are_plain():
    err = error_of(b'[{"a": 1}, {"a": ', name="cut.json")
    assert "cut.json" in err.user_message and "not valid JSON" in err.user_message and "line 1" in err.user_message
    err = error_of(b"[1, 2, 3]", name="scalars.json")
    assert "scalars.json" in err.user_message and "not a record" in err.user_message
    err = error_of(b"[]", name="none.json")
    assert "has no rows" in err.user_message


def test_duplicate_json_keys_are_named():
    err = error_of(b'[{"id": 1, "score": 0.5, "score": 0.7}]', name="d.json")
    assert "d.json" in err.user_message and '"score"' in err.user_message and "duplicate" in err.user_message
    err = error_of(b'{"id": 1, "id": 2}\n{"id": 3}\n', name="d.jsonl")
    assert '"id"' in err.user_message


# ----------------------------------------------------------------------------------------------------------------
# detection
# ----------------------------------------------------------------------------------------------------------------


def test_detect_format_by_content():
    table = pa.table({"a": [1]})
    assert detect_format(parquet_bytes(table), None) == "parquet"
    assert detect_format(ipc_bytes(table, "file"), None) == "arrow"
    assert detect_format(ipc_bytes(table, "stream"), None) == "arrow"
    assert detect_format(ipc_bytes(table, "feather"), "x.csv") == "arrow"
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}
    assert detect_format(avro_bytes(schema, [{"a": 1}]), "x.json") == "avro"
    assert detect_format(b'[{"a": 1}]', None) == "json"
    assert detect_format(b'  \n[\n  {"a": 1}\n]', None) == "json"
    assert detect_format(b'{"a": 1}\n{"a": 2}\n', None) == "jsonl"
    assert detect_format(b'{"a": 1}\n', None) == "json"
    assert detect_format(b'{"a": [1, 2], "b": [3, 4]}', "x.jsonl") == "json"
    assert detect_format(b"a,b\n1,2\n", None) == "csv"
    assert detect_format(b"a\tb\n1\t2\n", "x.csv") == "tsv"
    assert detect_format(gzip.compress(b"a\tb\n1\t2\n"), "x.tsv.gz") == "tsv"


def test_detect_format_extension_breaks_ties():
    # every line has exactly one comma and one tab: both delimiters are consistent
    data = b"a,x\tb\n1,y\t2\n"
    assert detect_format(data, "x.csv") == "csv"
    assert detect_format(data, "x.tsv") == "tsv"
    # a single line with no delimiter at all: the extension decides
    assert detect_format(b"just_one_column\n", "x.tsv") == "tsv"
    assert detect_format(b"just_one_column\n", "x.csv") == "csv"


def test_detect_format_rejects_empty_and_binary():
    with pytest.raises(InputError, match="empty"):
        detect_format(b"", "x.csv")
    with pytest.raises(InputError, match="binary data"):
        detect_format(random.Random(0).randbytes(4096), "x.csv")


def test_unknown_binary_garbage():
    err = error_of(random.Random(1).randbytes(10_000), name="mystery.csv")
    assert "mystery.csv" in err.user_message and "not in a format this app can read" in err.user_message


def test_known_foreign_formats_get_a_helpful_message():
    err = error_of(b"PK\x03\x04" + bytes(200), name="book.xlsx")
    assert "book.xlsx" in err.user_message and "Excel" in err.user_message
    assert "CSV" in err.hint


def test_gzip_input_is_decompressed():
    ds = read(gzip.compress(b"a,b\n1,2\n3,4\n"), name="data.csv.gz")
    assert ds.source_format == "csv"
    assert ds.table.column("b").to_pylist() == [2, 4]
    assert ds.name == "data.csv.gz"
    data = gzip.compress(b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(20_000)))
    err = error_of(data[: len(data) // 2], name="cut.csv.gz")
    assert "cut.csv.gz" in err.user_message and "gzip" in err.user_message


def test_forced_format_and_unknown_format():
    ds = read(b'{"a": 1}\n{"a": 2}\n', name="weird.dat", format="ndjson")
    assert ds.source_format == "jsonl"
    ds = read(b"a|b\n1|2\n", format="csv")  # forced csv means comma: one column named "a|b"
    assert ds.columns == ["a|b"]
    err = error_of(b"a,b\n1,2\n", format="xls")
    assert "xls" in err.user_message


# ----------------------------------------------------------------------------------------------------------------
# limits
# ----------------------------------------------------------------------------------------------------------------


def test_byte_limit_for_bytes_and_paths(tmp_path):
    data = b"a,b\n" + b"1,2\n" * 100
    with pytest.raises(LimitExceeded) as info:
        read(data, name="big.csv", limits=Limits(max_bytes=100))
    msg = info.value.user_message
    assert "big.csv" in msg and f"{len(data)} bytes" in msg and "100 bytes" in msg and "limit" in msg
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(LimitExceeded, match="limit"):
        read(path, limits=Limits(max_bytes=100))
    with pytest.raises(InputError):  # LimitExceeded is an InputError: pages can catch either
        read(data, name="big.csv", limits=Limits(max_bytes=len(data) - 1))


def test_byte_limit_message_uses_human_units(tmp_path):
    path = tmp_path / "huge.parquet"
    path.write_bytes(b"PAR1" + bytes(3000) + b"PAR1")
    with pytest.raises(LimitExceeded) as info:
        read(path, limits=Limits(max_bytes=2048))
    assert "2.9 KB (3,008 bytes)" in info.value.user_message
    assert "2.0 KB (2,048 bytes)" in info.value.user_message


def test_row_limit_csv_and_parquet():
    with pytest.raises(LimitExceeded) as info:
        read(b"a\n1\n2\n3\n4\n", name="rows.csv", limits=Limits(max_rows=3))
    assert "rows.csv" in info.value.user_message
    assert "4 rows" in info.value.user_message and "3 rows" in info.value.user_message
    data = parquet_bytes(pa.table({"a": list(range(12_345))}))
    with pytest.raises(LimitExceeded) as info:
        read(data, name="rows.parquet", limits=Limits(max_rows=10_000))
    assert "12,345 rows" in info.value.user_message and "10,000" in info.value.user_message
    assert read(data, name="rows.parquet", limits=Limits(max_rows=12_345)).num_rows == 12_345


def test_row_limit_for_in_memory_tables():
    with pytest.raises(LimitExceeded):
        read(pa.table({"a": [1, 2, 3]}), limits=Limits(max_rows=2))


# ----------------------------------------------------------------------------------------------------------------
# other sources
# ----------------------------------------------------------------------------------------------------------------


class FakeUpload:
    """Like Streamlit's UploadedFile: getvalue(), name and size."""

    def __init__(self, data: bytes, name: str):
        self._data = data
        self.name = name
        self.size = len(data)
        self.read_called = False

    def getvalue(self) -> bytes:
        return self._data

    def read(self, *args) -> bytes:
        self.read_called = True
        return self._data


def test_uploaded_file_object():
    up = FakeUpload(b"a\tb\n1\t2\n", "upload.tsv")
    ds = read(up)
    assert ds.name == "upload.tsv"
    assert ds.source_format == "tsv"
    assert not up.read_called
    assert ds.fingerprint == fingerprint_bytes(b"a\tb\n1\t2\n")
    assert read(up, name="renamed").name == "renamed"
    with pytest.raises(LimitExceeded):
        read(FakeUpload(b"a\n" * 100, "x.csv"), limits=Limits(max_bytes=10))


def test_plain_binary_file_objects(tmp_path):
    ds = read(io.BytesIO(b"a,b\n1,2\n"), name="mem.csv")
    assert ds.name == "mem.csv" and ds.num_rows == 1
    path = tmp_path / "real.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with open(path, "rb") as f:
        ds = read(f)
    assert ds.name == "real.csv"
    with open(path, "r") as f:
        err = error_of(f)
    assert "binary mode" in err.user_message


def test_oversized_seekable_file_object_is_refused_before_reading():
    class NoRead(io.BytesIO):
        def read(self, *args):
            raise AssertionError("should not read")

    with pytest.raises(LimitExceeded, match="limit"):
        read(NoRead(b"a,b\n" * 50), name="big.csv", limits=Limits(max_bytes=20))


def test_bytearray_and_memoryview_sources():
    assert read(bytearray(b"a\n1\n"), name="x.csv").num_rows == 1
    assert read(memoryview(b"a\n1\n2\n"), name="x.csv").num_rows == 2


def test_missing_path_and_folder(tmp_path):
    err = error_of(tmp_path / "nope.csv")
    assert "nope.csv" in err.user_message and "not found" in err.user_message
    err = error_of(tmp_path)
    assert "folder" in err.user_message


def test_unsupported_source_type():
    err = error_of(12345)
    assert "int" in err.user_message


def test_dataframe_source_types_and_fingerprint():
    df = pd.DataFrame({"id": [1, 2, 3], "score": [0.5, np.nan, 1.5], "label": ["a", "b", None]})
    ds = read(df, name="training")
    assert ds.name == "training"
    assert ds.source_format == "dataframe"
    assert ds.columns == ["id", "score", "label"]
    assert ds.table.column("id").to_pylist() == [1, 2, 3]
    assert ds.table.column("score").to_pylist() == [0.5, None, 1.5]
    assert ds.size_bytes > 0
    assert read(df.copy()).fingerprint == ds.fingerprint
    changed = df.copy()
    changed.loc[0, "id"] = 9
    assert read(changed).fingerprint != ds.fingerprint


def test_dataframe_edge_cases():
    mixed = read(pd.DataFrame({"a": [1, "x", None]}))
    assert mixed.table.column("a").to_pylist() == ["1", "x", None]
    dups = read(pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"]))
    assert dups.columns == ["a", "b", "a"]
    assert dups.table.column(2).to_pylist() == [3]
    indexed = read(pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", "y"], name="key")))
    assert indexed.columns == ["key", "v"]
    assert indexed.table.column("key").to_pylist() == ["x", "y"]
    unnamed = read(pd.DataFrame({"v": [1, 2]}, index=[10, 20]))
    assert unnamed.columns == ["v"]
    err = error_of(pd.DataFrame({"a": []}), name="nothing")
    assert '"nothing" has no rows' in err.user_message


def test_vector_strings_in_a_dataframe_are_parsed():
    ds = read(pd.DataFrame({"emb": ["[0.5, 1]", "[2, 3]"]}))
    assert ds.table.schema.field("emb").type == pa.list_(F32, 2)


def test_arrow_table_source():
    table = pa.table({"x": [1, 2], "v": pa.array([[1.0, 2.0], [3.0, 4.0]], pa.list_(pa.float64(), 2))})
    ds = read(table, name="t")
    assert ds.source_format == "dataframe"
    assert ds.table.column("x").to_pylist() == [1, 2]
    assert ds.vector_columns == ["v"]
    assert read(table).fingerprint == ds.fingerprint
    assert read(table.slice(1)).fingerprint != ds.fingerprint


def test_mostly_missing_vectors_are_kept_compact():
    # 200,000 rows, 90% without a 384-d vector: a fixed-size list would reserve ~276 MB for the missing ones.
    rows, dim = 200_000, 384
    present = np.zeros(rows, bool)
    present[::10] = True
    vec = np.arange(present.sum() * dim, dtype="float32")
    offsets = np.concatenate([[0], np.cumsum(np.where(present, dim, 0))]).astype("int32")
    col = pa.ListArray.from_arrays(pa.array(offsets), pa.array(vec), mask=pa.array(~present))
    ds = read(pa.table({"emb": col}))
    t = ds.table.column("emb").type
    assert t == pa.list_(pa.float32())
    assert ds.vector_columns == ["emb"]
    assert ds.table.nbytes < 40e6  # only the vectors present (30.7 MB) + offsets
    assert ds.table.column("emb")[10].as_py()[:2] == [384.0, 385.0]
    assert ds.table.column("emb")[1].as_py() is None
