"""Distances, tests, the drift table and embedding drift (obs_core.drift), pinned to scipy and hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, entropy, false_discovery_control, ks_2samp, wasserstein_distance

import obs_core as obs
from obs_core import binning, drift
from obs_core.drift import Thresholds
from obs_core.errors import NotEnoughData, ObsError
from obs_core.schema import EmbeddingColumns, Schema
from obs_core.store import Filter, View
from tests.unit.helpers import SAMPLE, make_views, sample_comparison





# ---- distances ---------------------------------------------------------------------------------------

def test_psi_by_hand():
    # reference a,a,a,b ; primary a,b,b,b ; bins a, b, unseen, missing ; alpha 0.5 -> 4 bins, totals 4 + 2 = 6
    # q = (3.5, 1.5, .5, .5)/6, p = (1.5, 3.5, .5, .5)/6
    # PSI = (1.5-3.5)/6 * ln(1.5/3.5) + (3.5-1.5)/6 * ln(3.5/1.5) = 2 * (1/3) * ln(7/3) = 0.564865...
    R, P = make_views({"c": ["a", "a", "a", "b"]}, {"c": ["a", "b", "b", "b"]})
    df = drift.drift_table(R, P, Schema(features=("c",)))
    row = df.iloc[0]
    assert row["psi"] == pytest.approx((2 / 3) * math.log(7 / 3), rel=1e-12)
    assert row["psi"] == pytest.approx(0.5648652, abs=1e-7)
    assert row["score"] == row["psi"] and row["status"] == "drift" and row["metric"] == "psi"
    assert row["bin_labels"] == ["a", "b", "unseen", "missing"]
    assert row["reference_shares"] == [0.75, 0.25, 0.0, 0.0]
    assert row["primary_shares"] == [0.25, 0.75, 0.0, 0.0]


def test_distances_match_scipy_and_their_definitions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 15))
        rc = rng.integers(0, 50, k)
        pc = rng.integers(0, 50, k)
        rc[0] = 0
        q = (rc + 0.5) / (rc.sum() + 0.5 * k)
        p = (pc + 0.5) / (pc.sum() + 0.5 * k)
        d = drift.distances(rc, pc, 0.5)
        np.testing.assert_allclose(drift.smoothed(rc), q, rtol=1e-14)
        assert d["js"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-10, abs=1e-14)
        assert d["kl"] == pytest.approx(entropy(p, q), rel=1e-10)
        assert d["psi"] == pytest.approx(np.sum((p - q) * np.log(p / q)), rel=1e-12)
        assert d["psi"] == pytest.approx(entropy(p, q) + entropy(q, p), rel=1e-10)  # symmetric KL
        assert d["hellinger"] == pytest.approx(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)), rel=1e-12)
        assert 0 <= d["js"] <= 1 and 0 <= d["hellinger"] <= 1
    # identical distributions: all zero; rows of a 2-D input are windows
    d = drift.distances([10, 10, 0], [[10, 10, 0], [1, 0, 0]])
    assert d["psi"][0] == pytest.approx(0, abs=1e-15) and d["psi"][1] > 0


def test_chi_square_matches_chi2_contingency_dropping_empty_bins():
    rng = np.random.default_rng(1)
    for _ in range(10):
        rc = rng.integers(0, 100, 8)
        pc = rng.integers(0, 100, 8)
        rc[3] = pc[3] = 0
        stat, p = drift.chi_square(rc, pc)
        keep = (rc + pc) > 0
        res = chi2_contingency(np.vstack([rc[keep], pc[keep]]))
        assert stat == pytest.approx(res.statistic, rel=1e-12) and p == pytest.approx(res.pvalue, rel=1e-12)
    for rc, pc in (([30, 12], [20, 25]), ([3, 0, 1], [0, 0, 4]), ([5, 1], [5, 1])):  # 1 dof: Yates' correction
        stat, p = drift.chi_square(rc, pc)
        keep = (np.add(rc, pc)) > 0
        res = chi2_contingency(np.vstack([np.asarray(rc)[keep], np.asarray(pc)[keep]]))
        assert stat == pytest.approx(res.statistic, rel=1e-12, abs=1e-15)
        assert p == pytest.approx(res.pvalue, rel=1e-12)
    assert all(math.isnan(v) for v in drift.chi_square([5, 0], [3, 0]))  # one bin left: no test


@pytest.mark.parametrize("sizes", [(300, 200), (2_000, 9_000), (30_000, 12_000)])
def test_ks_and_wasserstein_match_scipy(sizes):
    rng = np.random.default_rng(2)
    a = np.round(rng.normal(0, 1, sizes[0]), 2)  # rounding makes ties
    b = np.round(rng.normal(0.1, 1.2, sizes[1]), 2)
    ks, p, w = drift.ks_wasserstein(a, b)
    ref = ks_2samp(a, b)
    assert ks == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert w == pytest.approx(wasserstein_distance(a, b) / np.std(a), rel=1e-9)


def test_bh_matches_false_discovery_control():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 30)
    np.testing.assert_allclose(drift.bh_adjust(p), false_discovery_control(p, method="bh"), rtol=1e-12)
    out = drift.bh_adjust([0.01, math.nan, 0.04])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], false_discovery_control([0.01, 0.04], method="bh"))


# ---- the drift table on synthetic data --------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(4)
    n_r, n_p = 3000, 2000
    ref = {"x": rng.normal(0, 1, n_r), "y": rng.exponential(1, n_r), "c": rng.choice(["a", "b", "c"], n_r,
                                                                                      p=[.5, .3, .2]),
           "k": rng.integers(0, 5, n_r)}
    prim = {"x": rng.normal(0.6, 1, n_p), "y": rng.exponential(1, n_p), "c": rng.choice(["a", "b", "c", "d"], n_p,
                                                                                         p=[.4, .3, .2, .1]),
            "k": rng.integers(0, 5, n_p)}
    R, P = make_views(ref, prim)
    schema = Schema(features=("x", "y", "c"), tags=("k",))
    return R, P, schema, ref, prim


def test_drift_table_contract_and_tests_match_scipy(synthetic):
    R, P, schema, ref, prim = synthetic
    df = drift.drift_table(R, P, schema)
    for c in ["column", "role", "kind", "score", "metric", "status", "psi", "js", "kl", "hellinger", "p_value",
              "p_value_adj", "missing_reference", "missing_primary", "unseen_share", "n_reference", "n_primary",
              "rule", "ks_stat", "ks_p_value", "wasserstein", "threshold_moderate", "threshold_drift", "test",
              "note", "reference_shares", "primary_shares"]:
        assert c in df.columns
    assert list(df["score"]) == sorted(df["score"], reverse=True)
    rows = df.set_index("column")
    assert rows.loc["k", "role"] == "tag" and rows.loc["x", "kind"] == "number"
    # numeric: KS and normalised Wasserstein on all values (small data: no sampling)
    for c in ("x", "y", "k"):
        ks = ks_2samp(ref[c], prim[c])
        assert rows.loc[c, "ks_stat"] == pytest.approx(ks.statistic, rel=1e-12)
        assert rows.loc[c, "ks_p_value"] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
        assert rows.loc[c, "wasserstein"] == pytest.approx(
            wasserstein_distance(ref[c], prim[c]) / np.std(ref[c]), rel=1e-9)
        assert rows.loc[c, "test"] == "KS" and rows.loc[c, "p_value"] == rows.loc[c, "ks_p_value"]
        assert "seeded random sample" not in rows.loc[c, "rule"]
    # categorical: chi-square on the bin counts
    bins = drift.drift_bins(R, P, schema, "c")
    keep = (bins.reference_count + bins.primary_count) > 0
    res = chi2_contingency(np.vstack([bins.reference_count[keep], bins.primary_count[keep]]))
    assert rows.loc["c", "test"] == "chi-square"
    assert rows.loc["c", "p_value"] == pytest.approx(res.pvalue, rel=1e-9, abs=1e-300)
    assert rows.loc["c", "unseen_share"] == pytest.approx(np.mean(prim["c"] == "d"))
    np.testing.assert_allclose(df["p_value_adj"], false_discovery_control(df["p_value"], method="bh"))
    # psi equals the sum of the per-bin terms of drift_bins; shares sum to 1
    assert bins.psi_term.sum() == pytest.approx(rows.loc["c", "psi"], rel=1e-12)
    assert bins.reference_share.sum() == pytest.approx(1) and bins.primary_share.sum() == pytest.approx(1)
    assert list(bins.columns[:6]) == ["bin", "label", "bin_type", "lower", "upper", "reference_count"]
    assert rows.loc["x", "status"] in ("moderate", "drift") and rows.loc["y", "status"] == "no drift"
    assert rows.loc["x", "rule"].startswith("PSI on 10 reference-quantile bins + missing")
    assert "0.1 moderate, 0.25 drift" in rows.loc["x", "rule"]


def test_large_data_uses_a_seeded_sample_for_ks(synthetic):
    R, P, schema, ref, prim = synthetic
    a = drift.drift_table(R, P, schema, ks_sample=500)
    b = drift.drift_table(R, P, schema, ks_sample=500)
    x = a.set_index("column").loc["x"]
    assert "seeded random sample of about 500 rows" in x["rule"]
    pd.testing.assert_frame_equal(a, b)  # deterministic
    # the same values as scipy on that sample
    sql, params = binning.hash_sample_sql(P, '"x" AS v', 500, 2000, 0)
    sp = P.store.fetchnumpy(sql, params)["v"]
    sql, params = binning.hash_sample_sql(R, '"x" AS v', 500, 3000, 0)
    sr = R.store.fetchnumpy(sql, params)["v"]
    assert 350 < len(sp) < 650 and 350 < len(sr) < 650
    assert x["ks_stat"] == pytest.approx(ks_2samp(sr, sp).statistic, rel=1e-12)
    assert x["psi"] == pytest.approx(drift.drift_table(R, P, schema).set_index("column").loc["x", "psi"])


def test_metric_and_thresholds(synthetic):
    R, P, schema, _, _ = synthetic
    js = drift.drift_table(R, P, schema, metric="js").set_index("column")
    assert (js["score"] == js["js"]).all() and (js["metric"] == "js").all()
    assert js.loc["x", "threshold_moderate"] == 0.1 and js.loc["x", "threshold_drift"] == 0.2
    assert drift.Thresholds().get("x", "kl") == (0.1, 0.25)
    assert drift.Thresholds().get("x", "hellinger") == (0.1, 0.2)
    t = Thresholds(moderate=0.001, drift=0.002, per_column={"y": (5.0, 6.0)})
    df = drift.drift_table(R, P, schema, thresholds=t).set_index("column")
    assert df.loc["x", "status"] == "drift" and df.loc["y", "status"] == "no drift"
    assert df.loc["y", "threshold_drift"] == 6.0 and "5 moderate, 6 drift" in df.loc["y", "rule"]
    assert hash(t) == hash(Thresholds(moderate=0.001, drift=0.002, per_column={"y": (5, 6)}))
    assert drift.drift_table(R, P, schema, thresholds=(1.0, 2.0))["status"].eq("no drift").all()
    with pytest.raises(ObsError):
        drift.drift_table(R, P, schema, metric="nope")
    with pytest.raises(ObsError):
        Thresholds(moderate=0.3, drift=0.2)


def test_status_rule():
    assert drift.status_of(0.3, 0.1, 0.25) == "drift"
    assert drift.status_of(0.25, 0.1, 0.25) == "drift"
    assert drift.status_of(0.1, 0.1, 0.25) == "moderate"
    assert drift.status_of(0.05, 0.1, 0.25) == "no drift"


def test_degenerate_columns_give_rows_not_errors():
    ref = pa.table({
        "const": [1.0] * 50, "allmiss": pa.nulls(50, pa.float64()), "ok": np.arange(50.0),
        "only_ref": np.arange(50.0), "vec": pa.array([[1.0, 2.0]] * 50), "typed": np.arange(50),
        "cat_const": ["a"] * 50, "const_changes": [3.0] * 50,
    })
    prim = pa.table({
        "const": [1.0] * 40, "allmiss": np.arange(40.0), "ok": pa.nulls(40, pa.float64()),
        "only_prim": np.arange(40.0), "vec": pa.array([[1.0, 2.0]] * 40), "typed": ["x"] * 40,
        "cat_const": ["a"] * 40, "const_changes": np.arange(40.0),
    })
    R, P = make_views(ref, prim)
    schema = Schema(features=("const", "allmiss", "ok", "only_ref", "only_prim", "vec", "typed", "cat_const",
                              "const_changes"))
    df = drift.drift_table(R, P, schema).set_index("column")
    assert df.loc["const", "status"] == "constant" and "constant column" in df.loc["const", "note"]
    assert df.loc["cat_const", "status"] == "constant"
    assert df.loc["allmiss", "status"] == "no data"
    assert df.loc["allmiss", "note"] == "all values missing in the reference"
    assert math.isnan(df.loc["allmiss", "score"])
    assert df.loc["ok", "status"] == "drift" and df.loc["ok", "missing_primary"] == 1.0
    assert "all values missing in the primary" in df.loc["ok", "note"]
    assert df.loc["only_ref", "status"] == "missing in primary"
    assert df.loc["only_prim", "status"] == "missing in reference"
    assert df.loc["vec", "status"] == "unsupported"
    assert df.loc["typed", "status"] == "type mismatch"
    assert df.loc["const_changes", "ks_stat"] >= 0.9  # the KS sees what the single bin cannot
    assert df.loc["const_changes", "status"] == "constant"
    assert len(df) == 9


def test_one_row_reference_and_empty_primary():
    R, P = make_views({"x": [1.0], "c": ["a"]}, {"x": [1.0, 2.0, 3.0], "c": ["a", "a", "b"]})
    schema = Schema(features=("x", "c"))
    df = drift.drift_table(R, P, schema).set_index("column")
    assert df.loc["x", "note"].startswith("only one row in the reference")
    assert df.loc["c", "status"] in ("moderate", "drift") and df.loc["c", "unseen_share"] == pytest.approx(1 / 3)
    empty = View(P.store, "primary", (Filter("c", "=", "zzz"),))
    df = drift.drift_table(View(R.store, "reference"), empty, schema)
    assert (df["status"] == "no data").all() and (df["n_primary"] == 0).all()


def test_a_filter_that_empties_the_reference(sample):
    only_new = sample.where("app_version", "in", ["5.2"])  # 5.2 exists only in the primary
    df = only_new.drift()
    assert (df["status"] == "no data").all() and (df["n_reference"] == 0).all() and (df["n_primary"] == 600).all()
    assert (df["note"] == "no reference rows (after filters)").all()
    dot = only_new.drift_over_time(embeddings=False)
    assert set(dot["status"]) <= {"no data", "too few rows"}


def test_no_reference_raises_not_enough_data(synthetic):
    _, P, schema, _, _ = synthetic
    with pytest.raises(NotEnoughData) as e:
        drift.drift_table(None, P, schema)
    assert e.value.user_message == "Drift needs a reference dataset." and e.value.hint


def test_columns_option_and_unsorted(synthetic):
    R, P, schema, _, _ = synthetic
    df = drift.drift_table(R, P, schema, columns=["y", "c"], sort=False)
    assert list(df["column"]) == ["y", "c"]


# ---- the bundled sample ------------------------------------------------------------------------------

PLANTED = {"order_value", "channel", "customer_age", "app_version"}


@pytest.fixture(scope="module")
def sample():
    yield from sample_comparison()


def test_sample_flags_exactly_the_planted_columns(sample):
    df = sample.drift()
    status = dict(zip(df["column"], df["status"]))
    roles = dict(zip(df["column"], df["role"]))
    assert {c for c, s in status.items() if s == "drift"} == PLANTED
    others = [c for c in status if c not in PLANTED]
    assert others and all(status[c] == "no drift" for c in others)
    assert {"feature", "prediction", "actual"} <= {roles[c] for c in others}
    assert set(df["column"].head(4)) == PLANTED  # sorted by score


def test_sample_filters_change_results(sample):
    before = sample.between_times(None, "2026-10-15").drift().set_index("column")
    assert before.loc["order_value", "status"] == "no drift"
    assert before.loc["channel", "status"] == "drift"
    known = sample.where("channel", "in", ["email", "chat", "phone"]).drift().set_index("column")
    assert known.loc["channel", "status"] == "no drift"
    assert known.loc["order_value", "status"] == "drift"


def test_sample_embedding_drift(sample):
    name = next(iter(sample.schema.all_embeddings()))
    e = sample.embedding_drift(name, sample_size=2000)
    assert e.auc > 0.53 and e.euclidean > 0 and 0 < e.cosine < 1
    assert e.n_sampled == {"reference": 2000, "primary": 2000}
    assert e.n_skipped == {"reference": 0, "primary": 0} and e.dimension == 128
    assert "5-fold" in e.rule
    # centroids are means over all rows
    vec = np.stack(sample.reference_dataset.table.column("text_vector").to_numpy(zero_copy_only=False))
    c_r, n_ok, _ = drift.centroid(sample.reference, "text_vector", 128)
    np.testing.assert_allclose(c_r, vec.astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-9)


def test_embedding_drift_on_two_halves_of_the_reference_is_about_half():
    t = obs.read(str(SAMPLE / "reference.parquet")).table
    perm = np.random.default_rng(0).permutation(t.num_rows)
    a, b = t.take(np.sort(perm[:3000])), t.take(np.sort(perm[3000:]))
    R, P = make_views(a, b)
    schema = Schema(embeddings={"text": EmbeddingColumns("text_vector")})
    e = drift.embedding_drift(R, P, schema, "text", sample_size=2000)
    assert abs(e.auc - 0.5) < 0.03


def test_embedding_drift_skips_bad_vectors_and_needs_a_reference():
    rng = np.random.default_rng(5)
    good = [list(v) for v in rng.normal(size=(60, 4))]
    ref = pa.table({"v": pa.array(good + [None, [1.0, math.nan, 0, 0], [math.inf, 0, 0, 0], [1.0, 2.0]],
                                  type=pa.list_(pa.float64()))})
    prim = pa.table({"v": pa.array([list(v + 3) for v in rng.normal(size=(50, 4))], type=pa.list_(pa.float64()))})
    R, P = make_views(ref, prim)
    schema = Schema(embeddings={"e": EmbeddingColumns("v")})
    e = drift.embedding_drift(R, P, schema, "e")
    assert e.n_skipped == {"reference": 4, "primary": 0} and e.n_valid["reference"] == 60
    assert e.dimension == 4 and e.auc > 0.95 and "skipped" in e.note
    assert e.euclidean == pytest.approx(np.linalg.norm(np.mean(prim.column("v").to_pylist(), axis=0)
                                                       - np.mean(good, axis=0)), rel=1e-9)
    with pytest.raises(NotEnoughData):
        drift.embedding_drift(None, P, schema, "e")
    with pytest.raises(ObsError):
        drift.embedding_drift(R, P, schema, "nope")
