import numpy as np
import pyarrow as pa

from obs_core.schema import EmbeddingColumns, ModelType, Schema
from obs_core.validate import validate


def vec(rows, width=None):
    t = pa.list_(pa.float32(), width) if width else pa.list_(pa.float32())
    return pa.array(rows, t)


def by_column(problems):
    out = {}
    for p in problems:
        out.setdefault(p.column, []).append(p)
    return out


def test_clean_data_has_no_errors():
    t = pa.table({"id": ["a", "b"], "ts": ["2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"], "x": [1.0, 2.0],
                  "pred": ["y", "n"], "score": [0.9, 0.1], "act": ["y", "y"], "v": vec([[1, 2], [3, 4]], 2)})
    s = Schema(prediction_id="id", timestamp="ts", features=("x",), prediction_label="pred",
               prediction_score="score", actual_label="act", embeddings={"e": EmbeddingColumns("v")},
               model_type=ModelType.BINARY, positive_class="y")
    assert [p for p in validate(s, reference=t, primary=t) if p.severity != "info"] == []


def test_every_problem_is_reported_at_once():
    ref = pa.table({
        "id": ["a", "a", "b", "c"],
        "ts": ["2026-10-01", "not a date", "2026-10-03", None],
        "score": ["0.5", "high", "0.1", "0.2"],
        "v": vec([[1, 2], [1, 2, 3], [1, 2], None]),
        "w": vec([[1.0, float("nan")], [1, 2], [1, 2], [1, 2]], 2),
        "act": ["y", "n", "y", "n"],
    })
    prod = pa.table({"id": ["x"], "ts": ["2026-11-01"], "score": [0.3], "v": vec([[1, 2, 3]]),
                     "w": vec([[1, 2, 3]], 3)})
    s = Schema(prediction_id="id", timestamp="ts", prediction_score="score", actual_label="act",
               features=("gone",), embeddings={"e": EmbeddingColumns("v"), "f": EmbeddingColumns("w")},
               model_type=ModelType.BINARY, positive_class="y")
    problems = validate(s, reference=ref, primary=prod)
    cols = by_column(problems)
    # missing everywhere -> error
    assert any(p.severity == "error" and "no loaded file has that column" in p.message for p in cols["gone"])
    # production without actuals -> a warning only
    [act] = cols["act"]
    assert act.severity == "warning" and "no actuals" in act.message
    # non-numeric score, with count and example
    [score] = [p for p in cols["score"] if p.severity == "error"]
    assert score.rows == 1 and score.example == "high" and "'high'" in score.message
    # unparseable timestamps, with count and example; missing timestamps
    ts = cols["ts"]
    bad = [p for p in ts if "cannot be read as dates" in p.message]
    assert bad[0].rows == 1 and bad[0].example == "not a date" and bad[0].severity == "warning"
    assert any("have no timestamp" in p.message and p.rows == 1 for p in ts)
    # ragged vectors with the lengths found and row counts
    ragged = [p for p in cols["v"] if "different lengths" in p.message]
    assert ragged and "2 (2 rows)" in ragged[0].message and "3 (1 rows)" in ragged[0].message
    # NaN inside vectors
    assert any("NaN or infinite" in p.message and p.rows == 1 for p in cols["w"])
    # width differs between reference and primary
    assert any("2-d in the reference but 3-d in the primary" in p.message for p in cols["w"])
    # duplicate prediction ids
    [dup] = cols["id"]
    assert dup.rows == 1 and dup.example == "a"
    # errors come first
    sev = [p.severity for p in problems]
    assert sev == sorted(sev, key={"error": 0, "warning": 1, "info": 2}.get)


def test_empty_dataset_and_duplicate_columns():
    empty = pa.table({"x": pa.array([], pa.float64())})
    dup = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"])
    problems = validate(Schema(features=("x",)), reference=empty, primary=dup)
    msgs = [p.message for p in problems if p.severity == "error"]
    assert any("reference data has no rows" in m for m in msgs)
    assert any("2 columns named 'x'" in m for m in msgs)


def test_schemas_that_differ_warn():
    ref = pa.table({"a": [1.0], "b": ["x"]})
    prod = pa.table({"a": ["one"], "c": [1]})
    problems = validate(Schema(features=("a", "b", "c")), reference=ref, primary=prod)
    msgs = {p.column: p for p in problems}
    assert msgs["b"].severity == "warning" and "not in the primary" in msgs["b"].message
    assert msgs["c"].severity == "warning" and "not in the reference" in msgs["c"].message
    assert msgs["a"].severity == "warning" and "double in the reference but string in the primary" in msgs["a"].message


def test_all_unparseable_timestamps_is_an_error_and_naive_is_noted():
    t = pa.table({"ts": ["soon", "later"]})
    [p] = [p for p in validate(Schema(timestamp="ts"), primary=t) if p.severity == "error"]
    assert "2 of 2 timestamps" in p.message
    naive = validate(Schema(timestamp="ts"), primary=pa.table({"ts": ["2026-10-01 10:00"]}))
    assert any(p.severity == "info" and "read as UTC" in p.message for p in naive)
    epoch = validate(Schema(timestamp="ts"), primary=pa.table({"ts": [1_790_000_000_000]}))
    assert any("Unix time in milliseconds" in p.message for p in epoch)


def test_binary_with_three_labels_and_wrong_positive_class():
    t = pa.table({"p": ["a", "b", "c"], "y": ["a", "b", "b"]})
    problems = validate(Schema(prediction_label="p", actual_label="y", model_type="binary_classification",
                               positive_class="z"), primary=t)
    msgs = " ".join(p.message for p in problems)
    assert "labels take 3 values" in msgs and "positive class 'z' is not among the labels" in msgs


def test_regression_needs_numbers():
    t = pa.table({"p": ["1.5", "x"], "y": [1.0, 2.0]})
    problems = validate(Schema(prediction_label="p", actual_label="y", model_type="regression"), primary=t)
    [e] = [p for p in problems if p.severity == "error"]
    assert e.column == "p" and e.rows == 1 and e.example == "x"


def test_vectors_that_are_not_lists():
    t = pa.table({"v": ["[1, 2]", "oops"]})
    [e] = validate(Schema(embeddings={"e": EmbeddingColumns("v")}), primary=t)
    assert e.severity == "error" and "not vectors of numbers" in e.message


def test_large_ragged_counts():
    rows = [[0.0] * 4] * 1000 + [[0.0] * 3] * 7
    [e] = [p for p in validate(Schema(embeddings={"e": EmbeddingColumns("v")}),
                               primary=pa.table({"v": vec(rows)})) if p.severity == "error"]
    assert "4 (1,000 rows), 3 (7 rows)" in e.message and e.rows == 7
    assert np.isfinite(1)
