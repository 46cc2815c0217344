"""Checks the bundled demo dataset in sample_data/ against its README.

The data is produced by sample_data/generate.py; these tests assert the
documented facts (schema, periods, planted problems) straight from the
parquet files.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
REF_PATH = SAMPLE_DIR / "reference.parquet"
PROD_PATH = SAMPLE_DIR / "production.parquet"

UTC = timezone.utc
REF_START = datetime(2026, 9, 1, tzinfo=UTC)
REF_END = datetime(2026, 9, 29, tzinfo=UTC)
PROD_START = datetime(2026, 10, 1, tzinfo=UTC)
PROD_END = datetime(2026, 10, 29, tzinfo=UTC)
CRASH_ONSET = datetime(2026, 10, 8, tzinfo=UTC)
SHIFT_ONSET = datetime(2026, 10, 15, tzinfo=UTC)
MISSING_ONSET = datetime(2026, 10, 20, tzinfo=UTC)

EXPECTED_SCHEMA = [
    ("prediction_id", pa.string()),
    ("prediction_ts", pa.timestamp("us", tz="UTC")),
    ("customer_age", pa.float64()),
    ("account_tenure_months", pa.int64()),
    ("order_value", pa.float64()),
    ("num_prior_tickets", pa.int64()),
    ("response_time_hours", pa.float64()),
    ("sentiment_score", pa.float64()),
    ("ticket_length_words", pa.int64()),
    ("region", pa.string()),
    ("channel", pa.string()),
    ("plan", pa.string()),
    ("product_category", pa.string()),
    ("app_version", pa.string()),
    ("ticket_text", pa.string()),
    ("text_vector", pa.list_(pa.float32(), 128)),
    ("prediction_label", pa.string()),
    ("prediction_score", pa.float64()),
    ("actual_label", pa.string()),
]
NUMERIC = [
    "customer_age",
    "account_tenure_months",
    "order_value",
    "num_prior_tickets",
    "response_time_hours",
    "sentiment_score",
    "ticket_length_words",
    "prediction_score",
]
CATEGORICAL = ["region", "channel", "plan", "product_category", "app_version", "prediction_label", "actual_label"]
DRIFTED = {"order_value", "channel", "customer_age", "app_version"}


# --------------------------------------------------------------------------
# fixtures / helpers
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ref() -> pa.Table:
    return pq.read_table(REF_PATH)


@pytest.fixture(scope="module")
def prod() -> pa.Table:
    return pq.read_table(PROD_PATH)


def col(t: pa.Table, name: str) -> np.ndarray:
    return np.array(t.column(name).to_pylist(), dtype=object)


def ts_us(t: pa.Table) -> np.ndarray:
    return t.column("prediction_ts").cast(pa.int64()).to_numpy()


def us(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000


def accuracy(t: pa.Table, mask: np.ndarray | None = None) -> float:
    p, a = col(t, "prediction_label"), col(t, "actual_label")
    if mask is not None:
        p, a = p[mask], a[mask]
    return float(np.mean(p == a))


def _smooth(counts) -> np.ndarray:
    c = np.asarray(counts, dtype=float) + 0.5
    return c / c.sum()


def psi_numeric(ref: np.ndarray, prod: np.ndarray) -> float:
    edges = np.unique(np.quantile(ref[~np.isnan(ref)], np.linspace(0.1, 0.9, 9)))

    def counts(x):
        ok = ~np.isnan(x)
        idx = np.searchsorted(edges, x[ok], side="right")
        return np.append(np.bincount(idx, minlength=len(edges) + 1), (~ok).sum())

    p, q = _smooth(counts(ref)), _smooth(counts(prod))
    return float(np.sum((p - q) * np.log(p / q)))


def psi_categorical(ref: np.ndarray, prod: np.ndarray) -> float:
    cats = sorted({v for v in ref if v is not None})

    def counts(x):
        c = [int(np.sum(x == k)) for k in cats]
        c.append(sum(1 for v in x if v is not None and v not in cats))
        c.append(sum(1 for v in x if v is None))
        return c

    p, q = _smooth(counts(ref)), _smooth(counts(prod))
    return float(np.sum((p - q) * np.log(p / q)))


# --------------------------------------------------------------------------
# shape / schema
# --------------------------------------------------------------------------
def test_files_small_enough():
    total = REF_PATH.stat().st_size + PROD_PATH.stat().st_size
    assert total < 20 * 1024 * 1024


def test_row_counts(ref, prod):
    assert ref.num_rows == 6000
    assert prod.num_rows == 6000


@pytest.mark.parametrize("which", ["ref", "prod"])
def test_schema(which, request):
    t = request.getfixturevalue(which)
    assert [(f.name, f.type) for f in t.schema] == EXPECTED_SCHEMA
    vt = t.schema.field("text_vector").type
    assert pa.types.is_fixed_size_list(vt) and vt.list_size == 128 and vt.value_type == pa.float32()


@pytest.mark.parametrize("which,prefix", [("ref", "ref-"), ("prod", "prod-")])
def test_prediction_ids_unique(which, prefix, request):
    t = request.getfixturevalue(which)
    ids = col(t, "prediction_id")
    assert len(set(ids)) == t.num_rows
    assert all(i.startswith(prefix) for i in ids)


def test_no_nulls_except_customer_age(ref, prod):
    for t in (ref, prod):
        for name in t.column_names:
            if name != "customer_age":
                assert t.column(name).null_count == 0, name


@pytest.mark.parametrize("which,start,end", [("ref", REF_START, REF_END), ("prod", PROD_START, PROD_END)])
def test_timestamp_range_and_daily_volume(which, start, end, request):
    t = request.getfixturevalue(which)
    ts = ts_us(t)
    assert ts.min() >= us(start) and ts.max() < us(end)
    day = (ts - us(start)) // (86_400 * 1_000_000)
    counts = np.bincount(day, minlength=28)
    assert len(counts) == 28 and counts.min() >= 100


def test_text_vectors(ref, prod):
    for t in (ref, prod):
        v = t.column("text_vector").combine_chunks().flatten().to_numpy().reshape(-1, 128)
        assert v.dtype == np.float32 and v.shape == (t.num_rows, 128)
        assert np.all(np.isfinite(v))
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)


def test_labels_consistent_with_score(ref, prod):
    for t in (ref, prod):
        score = t.column("prediction_score").to_numpy()
        assert np.all((score >= 0) & (score <= 1))
        pred = col(t, "prediction_label")
        assert set(pred) == {"escalate", "no_escalate"}
        assert set(col(t, "actual_label")) == {"escalate", "no_escalate"}
        assert np.array_equal(pred == "escalate", score >= 0.5)
        assert 0.25 <= np.mean(col(t, "actual_label") == "escalate") <= 0.35


def test_feature_value_ranges(ref, prod):
    for t in (ref, prod):
        age = t.column("customer_age").to_numpy(zero_copy_only=False)
        age = age[~np.isnan(age)]
        assert age.min() >= 18 and age.max() <= 80
        s = t.column("sentiment_score").to_numpy()
        assert s.min() >= -1 and s.max() <= 1
        assert pc.min(t.column("order_value")).as_py() > 0
        assert pc.min(t.column("account_tenure_months")).as_py() >= 0
        assert pc.min(t.column("num_prior_tickets")).as_py() >= 0
        assert pc.min(t.column("ticket_length_words")).as_py() > 0
        assert pc.min(t.column("response_time_hours")).as_py() > 0


def test_reference_categories(ref):
    assert set(col(ref, "region")) == {"north_america", "europe", "asia_pacific", "latin_america"}
    assert set(col(ref, "channel")) == {"email", "chat", "phone"}
    assert set(col(ref, "plan")) == {"free", "pro", "enterprise"}
    assert len(set(col(ref, "product_category"))) == 6
    assert set(col(ref, "app_version")) == {"5.0", "5.1"}


# --------------------------------------------------------------------------
# planted problems
# --------------------------------------------------------------------------
def test_problem1_order_value_shift(ref, prod):
    ov = prod.column("order_value").to_numpy()
    after = ts_us(prod) >= us(SHIFT_ONSET)
    ratio = np.median(ov[after]) / np.median(ov[~after])
    assert 1.45 <= ratio <= 1.75, ratio
    # before the onset production matches the reference
    before_vs_ref = np.median(ov[~after]) / np.median(ref.column("order_value").to_numpy())
    assert 0.95 <= before_vs_ref <= 1.05, before_vs_ref


def test_problem2_new_channel(ref, prod):
    assert "social_media" not in set(col(ref, "channel"))
    ch = col(prod, "channel")
    assert set(ch) == {"email", "chat", "phone", "social_media"}
    frac = np.mean(ch == "social_media")
    assert 0.10 <= frac <= 0.14, frac
    # spread over the whole production period, not a late onset
    ts = ts_us(prod)[ch == "social_media"]
    assert ts.min() < us(datetime(2026, 10, 3, tzinfo=UTC))
    assert ts.max() >= us(datetime(2026, 10, 27, tzinfo=UTC))


def test_problem3_customer_age_missing(ref, prod):
    assert 0.01 <= ref.column("customer_age").null_count / ref.num_rows <= 0.03
    missing = np.isnan(prod.column("customer_age").to_numpy(zero_copy_only=False))
    late = ts_us(prod) >= us(MISSING_ONSET)
    assert 0.01 <= missing[~late].mean() <= 0.03
    assert 0.40 <= missing[late].mean() <= 0.50


def test_problem4_crash_cluster(ref, prod):
    assert "5.2" not in set(col(ref, "app_version"))
    ver = col(prod, "app_version")
    crash = ver == "5.2"
    assert 0.08 <= crash.mean() <= 0.12
    assert ts_us(prod)[crash].min() >= us(CRASH_ONSET)
    # other production rows keep the reference 5.0 / 5.1 mix
    ref_51 = np.mean(col(ref, "app_version") == "5.1")
    prod_51 = np.mean(ver[~crash] == "5.1")
    assert abs(ref_51 - prod_51) < 0.03
    # the model is much worse on the new cluster
    acc_crash = accuracy(prod, crash)
    assert acc_crash <= 0.65, acc_crash
    assert accuracy(prod, ~crash) >= 0.82
    assert accuracy(ref) >= 0.82
    # ... while its label / prediction mix matches the overall mix
    for c in ("prediction_label", "actual_label"):
        x = col(prod, c) == "escalate"
        assert abs(x[crash].mean() - x.mean()) < 0.06, c
    # texts are about crashes, vectors form a blob away from every reference topic
    texts = col(prod, "ticket_text")[crash]
    mentions_52 = re.compile(r"(?<![\d.])5\.2(?![\d])")
    assert all((mentions_52.search(s) or "update" in s) for s in texts)
    assert not any(mentions_52.search(s) for s in col(prod, "ticket_text")[~crash])
    v_ref = ref.column("text_vector").combine_chunks().flatten().to_numpy().reshape(-1, 128)[::4]
    v_prod = prod.column("text_vector").combine_chunks().flatten().to_numpy().reshape(-1, 128)
    nn_crash = (v_prod[crash] @ v_ref.T).max(axis=1)
    nn_other = (v_prod[~crash][::4] @ v_ref.T).max(axis=1)
    assert nn_crash.max() < 0.5
    assert np.median(nn_other) > 0.8


def test_psi_per_column(ref, prod):
    for c in NUMERIC:
        a = ref.column(c).cast(pa.float64()).to_numpy(zero_copy_only=False)
        b = prod.column(c).cast(pa.float64()).to_numpy(zero_copy_only=False)
        v = psi_numeric(a, b)
        assert (v >= 0.25) if c in DRIFTED else (v < 0.1), (c, v)
    for c in CATEGORICAL:
        v = psi_categorical(col(ref, c), col(prod, c))
        assert (v >= 0.25) if c in DRIFTED else (v < 0.1), (c, v)


# --------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------
def test_generator_is_deterministic(tmp_path):
    subprocess.run(
        [sys.executable, str(SAMPLE_DIR / "generate.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    same_writer = pq.ParquetFile(REF_PATH).metadata.created_by == pq.ParquetFile(tmp_path / "reference.parquet").metadata.created_by
    for name in ("reference.parquet", "production.parquet"):
        assert pq.read_table(tmp_path / name).equals(pq.read_table(SAMPLE_DIR / name)), name
        if same_writer:  # byte identity only holds for the same pyarrow version
            assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
