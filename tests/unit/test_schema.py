import json

import numpy as np
import pyarrow as pa
import pytest

from obs_core.errors import SchemaError
from obs_core.schema import EmbeddingColumns, ModelType, Schema, infer_schema


def _vectors(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return pa.FixedSizeListArray.from_arrays(pa.array(rng.normal(size=n * d).astype("float32")), d)


def test_phoenix_quickstart_names():
    n = 50
    t = pa.table({
        "prediction_id": [f"id-{i}" for i in range(n)],
        "prediction_ts": pa.array(np.arange(n) * 1_000_000, pa.timestamp("us", tz="UTC")),
        "url": [f"https://example.com/img/{i}.png" for i in range(n)],
        "image_vector": _vectors(n, 8),
        "predicted_action": ["drinking", "eating", "sleeping", "running", "sitting"] * 10,
        "actual_action": ["drinking", "eating", "sleeping", "running", "walking"] * 10,
    })
    s = infer_schema(t)
    assert s.prediction_id == "prediction_id"
    assert s.timestamp == "prediction_ts"
    assert s.prediction_label == "predicted_action"
    assert s.actual_label == "actual_action"
    assert s.embeddings == {"image_embedding": EmbeddingColumns("image_vector", None, "url")}
    assert s.features == ()
    assert s.model_type is ModelType.MULTICLASS


def test_binary_with_score_text_and_features():
    n = 40
    rng = np.random.default_rng(1)
    t = pa.table({
        "ts": [f"2026-10-{1 + i % 28:02d}T00:00:00Z" for i in range(n)],
        "age": rng.integers(18, 80, n),
        "region": ["eu", "us"] * 20,
        "request_id": [f"r{i}" for i in range(n)],
        "session_token": [f"tok-{i:05d}-x" for i in range(n)],
        "text": [f"this is ticket number {i} about something" for i in range(n)],
        "text_vector": _vectors(n, 4),
        "y_pred": [0, 1] * 20,
        "score": rng.random(n),
        "label": [1, 0] * 20,
        "tag_team": ["a", "b"] * 20,
        "model_version": ["v1"] * n,
    })
    s = infer_schema(t)
    assert s.timestamp == "ts"
    assert s.prediction_id == "request_id"
    assert s.prediction_label == "y_pred" and s.prediction_score == "score" and s.actual_label == "label"
    assert s.embeddings == {"text_embedding": EmbeddingColumns("text_vector", "text", None)}
    assert s.features == ("age", "region")
    assert s.tags == ("tag_team",)
    assert s.model_version == "model_version"
    assert "session_token" in s.excluded  # unique per row: never a feature
    assert s.model_type is ModelType.BINARY
    assert s.positive_class == "1"


def test_regression_and_minority_positive_class():
    n = 100
    rng = np.random.default_rng(2)
    reg = infer_schema(pa.table({"x": rng.random(n), "prediction": rng.random(n) * 100, "target": rng.random(n) * 100}))
    assert reg.model_type is ModelType.REGRESSION
    assert reg.prediction_label == "prediction" and reg.actual_label == "target" and reg.features == ("x",)
    labels = ["ok"] * 90 + ["broken"] * 10
    b = infer_schema(pa.table({"pred_label": labels, "ground_truth": labels}))
    assert b.model_type is ModelType.BINARY and b.positive_class == "broken"


def test_multiclass_per_class_scores():
    t = pa.table({"predicted_label": ["cat", "dog", "bird"] * 5, "actual_label": ["cat", "dog", "dog"] * 5,
                  "score_cat": [0.5] * 15, "score_dog": [0.3] * 15, "score_bird": [0.2] * 15})
    s = infer_schema(t)
    assert s.model_type is ModelType.MULTICLASS
    assert dict(s.class_scores) == {"cat": "score_cat", "dog": "score_dog", "bird": "score_bird"}


def test_infers_from_both_datasets_in_order():
    ref = pa.table({"a": [1.0, 2.0], "actual": ["x", "y"], "predicted": ["x", "x"]})
    prod = pa.table({"a": [1.0, 2.0], "b": ["u", "v"], "predicted": ["x", "y"]})
    s = infer_schema(ref, prod)
    assert s.features == ("a", "b") and s.actual_label == "actual" and s.prediction_label == "predicted"


def test_sample_schema():
    import obs_core as obs
    ref = obs.read("sample_data/reference.parquet")
    prod = obs.read("sample_data/production.parquet")
    s = obs.infer_schema(ref, prod)
    assert s.prediction_id == "prediction_id" and s.timestamp == "prediction_ts"
    assert s.prediction_label == "prediction_label" and s.prediction_score == "prediction_score"
    assert s.actual_label == "actual_label"
    assert s.model_type is ModelType.BINARY and s.positive_class == "escalate"
    assert s.embeddings == {"text_embedding": EmbeddingColumns("text_vector", "ticket_text", None)}
    assert s.tags == ("app_version",)
    assert set(s.features) == {"customer_age", "account_tenure_months", "order_value", "num_prior_tickets",
                               "response_time_hours", "sentiment_score", "ticket_length_words", "region", "channel",
                               "plan", "product_category"}
    assert s.excluded == ()


def test_json_round_trip_and_equality():
    s = Schema(prediction_id="id", timestamp="ts", features=["a", "b"], tags=("t",), prediction_label="p",
               prediction_score="s", class_scores=[("x", "sx"), ("y", "sy")], actual_label="y",
               embeddings={"e": EmbeddingColumns("v", "txt", "url")}, prompt={"vector": "pv"},
               excluded=("z",), model_type="binary_classification", positive_class=1, model_id="m")
    back = Schema.from_json(s.to_json())
    assert back == s
    assert hash(back) == hash(s)
    assert back.model_type is ModelType.BINARY and back.positive_class == "1"
    assert back.prompt == EmbeddingColumns("pv")
    assert json.loads(s.to_json())["features"] == ["a", "b"]
    assert s.roles()["v"] == "embedding" and s.roles()["url"] == "link_to_data" and s.roles()["z"] == "excluded"
    assert s.drift_columns() == [("a", "feature"), ("b", "feature"), ("t", "tag"), ("p", "prediction"),
                                 ("s", "prediction"), ("y", "actual"), ("sx", "prediction"), ("sy", "prediction")]


def test_bad_json_and_fields():
    with pytest.raises(SchemaError, match="not valid JSON"):
        Schema.from_json("{nope")
    with pytest.raises(SchemaError, match="Unknown schema field"):
        Schema.from_json('{"featurez": []}')
    with pytest.raises(SchemaError, match="Unknown model type"):
        Schema(model_type="clustering")


def test_duplicate_column_names_do_not_break_inference():
    t = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4]), pa.array(["x", "y"])], names=["a", "a", "b"])
    assert infer_schema(t).features == ("a", "b")
