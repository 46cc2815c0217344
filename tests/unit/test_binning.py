"""Reference-fitted bins and the one-query DuckDB counting (obs_core.binning)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from obs_core import binning
from obs_core.binning import MISSING, OTHER, UNSEEN
from obs_core.store import Filter, TimeRange, View
from tests.unit.helpers import make_views




def fit(reference_values, primary_values=None, *, n_bins=10, max_categories=20, type=None):
    """Profile of column x, and the primary counts in its bins."""
    ref = pa.table({"x": pa.array(reference_values, type=type)})
    prim = pa.table({"x": pa.array(primary_values if primary_values is not None else reference_values, type=type)})
    R, P = make_views(ref, prim)
    prof = binning.profile(R, ["x"], n_bins=n_bins, max_categories=max_categories)
    cp = prof.columns["x"]
    counts = binning.count(P, [cp.bins]).counts["x"][0]
    return cp, counts


def numpy_counts(bins: binning.Bins, values) -> np.ndarray:
    """The reference implementation: np.searchsorted on the inner edges / category lookup, missing last."""
    idx = bins.assign(values)
    return np.bincount(idx[idx >= 0], minlength=bins.n_bins)


# ---- numeric -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_bins", [2, 4, 10, 20])
def test_n_bins_is_honoured_and_edges_are_reference_quantiles(n_bins):
    rng = np.random.default_rng(1)
    ref = rng.normal(50, 10, 5000)
    cp, _ = fit(ref, rng.normal(52, 10, 3000), n_bins=n_bins)
    b = cp.bins
    assert b.kind == "numeric"
    assert b.n_value_bins == n_bins
    assert b.n_bins == n_bins + 1 and b.labels[-1] == MISSING
    expected = np.quantile(ref, np.arange(1, n_bins) / n_bins)  # numpy "linear" = DuckDB quantile_cont
    np.testing.assert_allclose(b.edges, expected, rtol=1e-12)
    # reference counts: ~1/n_bins each, all rows counted, none missing
    assert cp.counts.sum() == 5000 and cp.counts[-1] == 0
    assert np.all(np.abs(cp.counts[:-1] - 5000 / n_bins) <= 1)


def test_infinities_outliers_nan_and_null_land_in_outer_and_missing_bins():
    rng = np.random.default_rng(2)
    ref = list(rng.uniform(0, 1, 1000))
    prim = list(rng.uniform(-0.5, 1.5, 2000)) + [math.inf, -math.inf, 1e308, -1e308, math.nan, None, None]
    cp, counts = fit(ref, prim)
    b = cp.bins
    # no value is dropped (the np.histogram pitfall): every primary row is in some bin
    assert counts.sum() == len(prim)
    x = np.array([np.nan if v is None else v for v in prim])
    finite_or_inf = x[~np.isnan(x)]
    expected = np.bincount(np.searchsorted(np.asarray(b.edges), finite_or_inf, side="right"),
                           minlength=len(b.edges) + 1)
    np.testing.assert_array_equal(counts[:-1], expected)
    assert counts[-1] == 3  # NaN + 2 NULL
    np.testing.assert_array_equal(counts, numpy_counts(b, prim))
    # -inf and the huge negative outlier are in the first bin, +inf and 1e308 in the last
    assert b.assign([-math.inf, -1e308]).tolist() == [0, 0]
    assert b.assign([math.inf, 1e308]).tolist() == [b.n_value_bins - 1] * 2


def test_reference_with_infinities_and_nan_fits_edges_on_finite_values():
    rng = np.random.default_rng(3)
    vals = rng.normal(0, 1, 2000)
    ref = list(vals) + [math.inf] * 50 + [-math.inf] * 30 + [math.nan] * 20
    cp, counts = fit(ref)
    b = cp.bins
    assert all(math.isfinite(e) for e in b.edges)
    np.testing.assert_allclose(b.edges, np.quantile(vals, np.arange(1, 10) / 10), rtol=1e-12)
    assert cp.n_missing == 20
    assert cp.counts[0] >= 30 and cp.counts[b.n_value_bins - 1] >= 50
    assert cp.counts.sum() == len(ref)
    np.testing.assert_array_equal(cp.counts, numpy_counts(b, ref))


def test_single_huge_outlier_only_widens_the_last_bin():
    ref = list(np.arange(1000, dtype=float)) + [1e12]
    cp, counts = fit(ref, [5.0, 500.0, 1e15])
    b = cp.bins
    assert b.edges[-1] < 1000  # the 0.9 quantile, not pulled by the outlier
    assert cp.counts[b.n_value_bins - 1] == sum(1 for v in ref if v >= b.edges[-1])
    assert counts[b.n_value_bins - 1] == 1 and counts[0] == 1  # 1e15 in the open last bin, 5 in the first


def test_constant_column_has_one_value_bin():
    cp, counts = fit([7.0] * 100, [7.0] * 10 + [8.0] * 5 + [None] * 3)
    b = cp.bins
    assert b.constant and b.edges == ()
    assert b.labels == ("any value", MISSING)
    np.testing.assert_array_equal(cp.counts, [100, 0])
    np.testing.assert_array_equal(counts, [15, 3])


def test_all_missing_column_has_only_the_missing_bin():
    cp, counts = fit([None, None, None], [1.0, None], type=pa.float64())
    assert cp.bins.all_missing and cp.bins.labels == (MISSING,)
    np.testing.assert_array_equal(cp.counts, [3])
    np.testing.assert_array_equal(counts, [1])  # non-missing primary values have no bin
    cp, _ = fit([math.nan, None], [1.0], type=pa.float64())  # NaN counts as missing
    assert cp.bins.all_missing and cp.n_missing == 2
    cp, counts = fit([None, None], ["a", None], type=pa.string())
    assert cp.bins.all_missing and cp.bins.labels == (MISSING,)
    np.testing.assert_array_equal(counts, [1])


def test_only_infinities_and_sampled_away_values():
    cp, counts = fit([math.inf, -math.inf, math.inf, None], [1.0, math.inf, None])
    assert cp.bins.labels == ("any value", MISSING) and cp.bins.constant
    np.testing.assert_array_equal(cp.counts, [3, 1])
    np.testing.assert_array_equal(counts, [2, 1])
    # a large reference whose quantile sample holds no finite value still gets fitted on all its rows
    ref = pa.table({"x": pa.array([None] * 3999 + [5.0], pa.float64())})
    R, P = make_views(ref, ref)
    cp = binning.profile(R, ["x"], quantile_sample=10).columns["x"]
    assert not cp.bins.all_missing and cp.counts[-1] == 3999 and cp.counts.sum() == 4000


def test_one_row():
    cp, counts = fit([3.5], [1.0, 3.5, 9.0])
    assert cp.bins.constant and cp.n_rows == 1
    np.testing.assert_array_equal(counts, [3, 0])
    cp, counts = fit(["a"], ["a", "b"])
    assert cp.bins.labels == ("a", UNSEEN, MISSING)
    np.testing.assert_array_equal(counts, [1, 1, 0])


def test_integers_with_three_values_get_one_bin_each():
    ref = [0] * 300 + [1] * 300 + [2] * 400
    cp, counts = fit(ref, [0, 1, 2, 2, 3, -1], type=pa.int64())
    b = cp.bins
    assert b.integer and all(float(e).is_integer() for e in b.edges)
    idx = b.assign([0, 1, 2])
    assert len(set(idx.tolist())) == 3  # each value in a bin of its own
    assert cp.counts[idx[0]] == 300 and cp.counts[idx[1]] == 300 and cp.counts[idx[2]] == 400
    assert [b.labels[i] for i in idx] == ["0", "1", "2"]
    np.testing.assert_array_equal(counts, numpy_counts(b, [0, 1, 2, 2, 3, -1]))


def test_point_mass_gets_its_own_bin():
    rng = np.random.default_rng(4)
    ref = np.r_[np.zeros(950), rng.uniform(1, 2, 50)]
    cp, counts = fit(list(ref), [0.0, 0.0, 1.5, 1.5, 1.5])
    b = cp.bins
    zero = b.assign([0.0])[0]
    assert cp.counts[zero] == 950 and b.labels[zero] == "0"
    assert b.assign([1.5])[0] != zero
    np.testing.assert_array_equal(counts, numpy_counts(b, [0.0, 0.0, 1.5, 1.5, 1.5]))


def test_time_column_is_binned_on_epoch_seconds():
    start = pd.Timestamp("2026-01-01")
    ref = [start + pd.Timedelta(hours=i) for i in range(100)]
    prim = [start + pd.Timedelta(hours=i) for i in range(50, 200)]
    cp, counts = fit(ref, prim, type=pa.timestamp("us"))
    b = cp.bins
    assert b.value_kind == "time" and b.n_value_bins == 10
    assert b.labels[0].startswith("< 2026-01-0")
    assert counts.sum() == 150 and counts[b.n_value_bins - 1] > 100  # most of the primary is later


# ---- categorical -----------------------------------------------------------------------------------

def test_categories_unseen_missing_and_pooling():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 15 + ["d"] * 4 + ["e"] * 1 + [None] * 10
    prim = ["a", "b", "c", "d", "e", "zzz", "zzz", None]
    cp, counts = fit(ref, prim, max_categories=3)
    b = cp.bins
    assert b.kind == "categorical" and b.categories == ("a", "b", "c")
    assert b.pooled == 2 and b.bin_types == ("value", "value", "value", OTHER, UNSEEN, MISSING)
    np.testing.assert_array_equal(cp.counts, [50, 30, 15, 5, 0, 10])
    np.testing.assert_array_equal(counts, [1, 1, 1, 2, 2, 1])
    np.testing.assert_array_equal(counts, numpy_counts(b, prim))
    cp, counts = fit(ref, prim)  # default cap 20: no other bin
    assert cp.bins.labels == ("a", "b", "c", "d", "e", UNSEEN, MISSING)
    np.testing.assert_array_equal(counts, [1, 1, 1, 1, 1, 2, 1])


def test_many_pooled_categories():
    ref = [f"v{i}" for i in range(1500)] + ["top"] * 100
    prim = ["top", "v3", "v1499", "new1", "new2", None]
    cp, counts = fit(ref, prim, max_categories=2)
    b = cp.bins
    assert b.pooled == 1499 and len(b.pooled_values) == 1499
    np.testing.assert_array_equal(counts, [1, 0, 2, 2, 1])  # top, v0, other, unseen, missing
    assert cp.counts.sum() == 1600


def test_bool_column():
    cp, counts = fit([True] * 70 + [False] * 30, [True, False, False, None], type=pa.bool_())
    b = cp.bins
    assert b.value_kind == "bool" and b.labels == ("true", "false", UNSEEN, MISSING)
    np.testing.assert_array_equal(cp.counts, [70, 30, 0, 0])
    np.testing.assert_array_equal(counts, [1, 2, 0, 1])


# ---- profile cache and one-pass counting -----------------------------------------------------------

def test_profile_is_cached_per_reference_view_and_options():
    rng = np.random.default_rng(5)
    ref = {"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)}
    R, P = make_views(ref, ref)
    p1 = binning.profile(R, ["x", "c"])
    assert binning.profile(R, ["x", "c"]) is p1
    assert any(k[0] == "obs.binning.profile" and k[1] == R.key for k in R.store.cache if isinstance(k, tuple))
    assert binning.profile(R, ["x", "c"], n_bins=5) is not p1
    filtered = View(R.store, "reference", (Filter("c", "=", "a"),))
    p2 = binning.profile(filtered, ["x", "c"])
    assert p2 is not p1 and p2.n_rows == int((ref["c"] == "a").sum())


def test_unbinnable_columns_are_skipped_in_the_profile():
    ref = pa.table({"v": pa.array([[1.0, 2.0]] * 3, type=pa.list_(pa.float64())), "x": [1.0, 2.0, 3.0]})
    R, _ = make_views(ref, ref)
    prof = binning.profile(R, ["v", "x", "absent"])
    assert "v" in prof.skipped and "x" in prof.columns and "absent" not in prof.columns


def test_grouped_counting_equals_counting_each_window_separately():
    rng = np.random.default_rng(6)
    n = 3000
    ts = pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.uniform(0, 10 * 86400, n), unit="s")
    prim = pa.table({"ts": pa.array(ts.to_numpy().astype("datetime64[us]")), "x": rng.normal(size=n),
                     "c": rng.choice(["a", "b", "c"], n)})
    R, P = make_views(prim, prim, timestamp="ts")
    prof = binning.profile(R, ["x", "c"])
    grouped = binning.count(P, prof.bins(), granularity="day")
    assert len(grouped.n_rows) == 10 and grouped.n_rows.sum() == n
    for i, start in enumerate(grouped.window_start):
        s = pd.Timestamp(start)
        one = binning.count(View(P.store, "primary", (), TimeRange(s, s + pd.Timedelta(days=1))), prof.bins())
        assert one.n_rows[0] == grouped.n_rows[i]
        for c in ("x", "c"):
            np.testing.assert_array_equal(one.counts[c][0], grouped.counts[c][i])


def test_counting_skips_missing_and_mismatched_columns():
    R, P = make_views({"x": [1.0, 2.0, 3.0], "y": [1, 2, 3]}, {"y": ["a", "b", "c"]})
    prof = binning.profile(R, ["x", "y"])
    c = binning.count(P, prof.bins())
    assert c.skipped["x"] == "missing" and c.skipped["y"].startswith("type mismatch")
    assert c.counts == {}


# ---- property: DuckDB counting equals the numpy reference implementation ------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.none(),
                    st.sampled_from([0.0, 1.0, 2.0]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=st.lists(_floats, min_size=1, max_size=60), prim=st.lists(_floats, min_size=1, max_size=60),
       n_bins=st.integers(1, 12))
def test_duckdb_counts_equal_numpy_searchsorted(ref, prim, n_bins):
    cp, counts = fit(ref, prim, n_bins=n_bins, type=pa.float64())
    b = cp.bins
    np.testing.assert_array_equal(cp.counts, numpy_counts(b, ref))
    np.testing.assert_array_equal(counts, numpy_counts(b, prim))
    if not b.all_missing:
        assert counts.sum() == len(prim) and cp.counts.sum() == len(ref)  # nothing dropped
        assert all(math.isfinite(e) for e in b.edges) and list(b.edges) == sorted(set(b.edges))


def test_large_reference_fits_quantiles_on_a_seeded_sample():
    rng = np.random.default_rng(7)
    ref = rng.normal(0, 1, 4000)
    R, P = make_views({"x": ref}, {"x": ref[:100]})
    exact = binning.profile(R, ["x"]).columns["x"]
    sampled = binning.profile(R, ["x"], quantile_sample=1000).columns["x"]
    assert not exact.quantiles_sampled and sampled.quantiles_sampled
    assert sampled.bins.n_value_bins == 10
    np.testing.assert_allclose(sampled.bins.edges, exact.bins.edges, atol=0.15)
    np.testing.assert_array_equal(sampled.counts, numpy_counts(sampled.bins, ref))  # counts stay exact
    assert np.all(np.abs(sampled.counts[:-1] / 4000 - 0.1) < 0.03)
    again = binning.profile(R, ["x"], quantile_sample=1000, random_state=0)
    assert again is binning.profile(R, ["x"], quantile_sample=1000)
    assert again.columns["x"].bins.edges == sampled.bins.edges  # deterministic
