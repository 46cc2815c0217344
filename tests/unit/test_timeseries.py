"""Time windows and drift over time (obs_core.timeseries)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from obs_core import timeseries
from obs_core.drift import Thresholds
from obs_core.errors import NotEnoughData, ObsError
from obs_core.schema import Schema
from obs_core.store import Store
from tests.unit.helpers import make_views, sample_comparison





# ---- granularity -----------------------------------------------------------------------------------

@pytest.mark.parametrize("start,end,expected", [
    ("2026-10-01 00:00", "2026-10-01 23:59", "hour"),      # 1 day -> 24 hours
    ("2026-10-01 00:00", "2026-10-29 00:00", "day"),       # 4 weeks -> 29 days
    ("2026-01-01", "2026-12-31 23:00", "week"),            # 1 year -> 53 weeks
    ("2024-01-01", "2026-12-31", "month"),                 # 3 years -> 36 months
])
def test_choose_granularity_gives_20_to_60_windows(start, end, expected):
    g = timeseries.choose_granularity(start, end)
    assert g == expected
    assert 20 <= timeseries.n_windows(start, end, g) <= 60


def test_choose_granularity_outside_every_band_takes_the_nearest():
    assert timeseries.choose_granularity("2026-01-01", "2026-01-01 03:00") == "hour"   # 4 windows
    assert timeseries.choose_granularity("2026-01-01", "2026-01-04") == "hour"         # 73 hours vs 4 days
    assert timeseries.choose_granularity("2026-01-01", "2026-03-20") == "day"          # 79 days vs 12 weeks
    assert timeseries.choose_granularity("2000-01-01", "2026-01-01") == "month"
    assert timeseries.choose_granularity(pd.Timestamp("2026-10-01", tz="UTC"),
                                         pd.Timestamp("2026-10-02", tz="UTC")) == "hour"


def test_window_floors_match_duckdb_date_trunc():
    st = Store()
    t = pd.Timestamp("2026-10-07 13:45:12")  # a Wednesday
    for g in timeseries.GRANULARITIES:
        (d,) = st.fetchall(f"SELECT date_trunc('{g}', ?::TIMESTAMP)", [t.to_pydatetime()])[0]
        assert timeseries.floor(t, g) == pd.Timestamp(d)
    assert timeseries.step(pd.Timestamp("2026-01-31"), "month") == pd.Timestamp("2026-02-28")
    assert timeseries.window_grid("2026-01-15", "2026-04-02", "month")[-1] == pd.Timestamp("2026-04-01")


# ---- the bundled sample --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    yield from sample_comparison()


@pytest.fixture(scope="module")
def daily(sample):
    return sample.drift_over_time()


def first_drift(df: pd.DataFrame, column: str) -> pd.Timestamp:
    d = df[(df["column"] == column) & (df["status"] == "drift")]
    return d["window_start"].min()


def test_sample_drift_over_time_contract(sample, daily):
    for c in ["window_start", "window_end", "column", "score", "status", "n_rows", "too_few_rows", "role",
              "metric", "threshold_moderate", "threshold_drift"]:
        assert c in daily.columns
    assert daily.attrs["granularity"] == "day" and daily.attrs["n_windows"] == 28
    drift_cols = {c for c, _ in sample.schema.drift_columns()}
    assert set(daily["column"]) == drift_cols | set(sample.schema.all_embeddings())
    one = daily[daily["column"] == "order_value"]
    assert len(one) == 28 and one["n_rows"].sum() == 6000
    assert (one["window_end"] - one["window_start"] == pd.Timedelta(days=1)).all()
    assert not one["too_few_rows"].any()


def test_sample_onsets(daily):
    onset = first_drift(daily, "order_value")
    assert abs(onset - pd.Timestamp("2026-10-15")) <= pd.Timedelta(days=1)
    onset = first_drift(daily, "customer_age")
    assert abs(onset - pd.Timestamp("2026-10-20")) <= pd.Timedelta(days=1)
    onset = first_drift(daily, "app_version")
    assert abs(onset - pd.Timestamp("2026-10-08")) <= pd.Timedelta(days=1)
    before = daily[(daily["column"] == "order_value") & (daily["window_start"] < pd.Timestamp("2026-10-14"))]
    assert (before["status"] != "drift").all()
    # undrifted columns never reach "drift" in any day
    calm = daily[daily["column"].isin(["region", "plan", "account_tenure_months", "prediction_score"])]
    assert (calm["status"] != "drift").all()


def test_sample_embedding_distance_over_time(sample, daily):
    e = daily[daily["column"] == "text_embedding"]
    assert (e["metric"] == "euclidean").all() and (e["role"] == "embedding").all()
    early = e[e["window_start"] < pd.Timestamp("2026-10-08")]["score"].mean()
    late = e[e["window_start"] >= pd.Timestamp("2026-10-08")]["score"].mean()
    assert late > 1.5 * early
    assert set(e["status"]) == {"n/a"}
    only = sample.drift_over_time(columns=["text_embedding"], rolling=2)
    assert set(only["column"]) == {"text_embedding"} and len(only) == 28
    none = sample.drift_over_time(embeddings=False, columns=None)
    assert "text_embedding" not in set(none["column"])


def test_window_counts_equal_filtered_drift_tables(sample, daily):
    """Each window of the one-pass computation equals the drift table of that window alone."""
    for day in ("2026-10-03", "2026-10-16", "2026-10-22"):
        s = pd.Timestamp(day)
        one = sample.between_times(s, s + pd.Timedelta(days=1)).drift(sort=False).set_index("column")
        w = daily[daily["window_start"] == s].set_index("column")
        for c in ("order_value", "channel", "customer_age"):
            assert w.loc[c, "psi"] == pytest.approx(one.loc[c, "psi"], rel=1e-12)
            assert w.loc[c, "n_rows"] == one.loc[c, "n_primary"]


def test_user_granularity_changes_window_count(sample):
    weekly = sample.drift_over_time(granularity="week", columns=["order_value"])
    assert weekly.attrs["n_windows"] == 5 and len(weekly) == 5  # 2026-10-01 (Thu) .. 10-28 touch 5 ISO weeks
    hourly = timeseries.windows(sample.primary, "hour")
    assert len(hourly) == 28 * 24 and hourly["n_rows"].sum() == 6000
    with pytest.raises(ObsError):
        sample.drift_over_time(granularity="fortnight")


def test_rolling_windows(sample, daily):
    r = sample.drift_over_time(rolling=3, columns=["order_value", "region"])
    one = r[r["column"] == "order_value"].reset_index(drop=True)
    base = daily[daily["column"] == "order_value"].reset_index(drop=True)
    expected = base["n_rows"].rolling(3, min_periods=1).sum().astype(int)
    assert one["n_rows"].tolist() == expected.tolist()
    assert one.loc[5, "window_start"] == base.loc[3, "window_start"]
    assert one.loc[5, "window_end"] == base.loc[5, "window_end"]
    assert one.loc[0, "window_start"] == base.loc[0, "window_start"]
    # less noise with 3-day windows: undrifted region scores shrink on average
    reg_r = r[r["column"] == "region"]["score"].mean()
    reg_d = daily[daily["column"] == "region"]["score"].mean()
    assert reg_r < reg_d


def test_min_rows_marks_small_windows(sample):
    df = sample.drift_over_time(min_rows=200, columns=["order_value"])
    small = df[df["n_rows"] < 200]
    assert len(small) > 0 and small["too_few_rows"].all()
    assert small["score"].isna().all() and (small["status"] == "too few rows").all()
    big = df[df["n_rows"] >= 200]
    assert big["score"].notna().all() and not big["too_few_rows"].any()


def test_filters_and_thresholds_apply(sample):
    df = sample.where("channel", "in", ["email", "chat", "phone"]).drift_over_time(columns=["channel"])
    assert (df["status"] != "drift").all()
    df = sample.drift_over_time(columns=["region"], thresholds=Thresholds(per_column={"region": (0.0, 0.001)}))
    assert (df["status"] == "drift").all()
    df = sample.drift_over_time(columns=["order_value"], metric="hellinger")
    assert (df["metric"] == "hellinger").all() and (df["score"] == df["hellinger"]).all()
    assert (df["threshold_drift"] == 0.2).all()


# ---- synthetic edge cases ----------------------------------------------------------------------------

def test_no_time_axis_and_no_reference_raise_not_enough_data():
    R, P = make_views({"x": [1.0, 2.0]}, {"x": [1.0, 2.0]})
    schema = Schema(features=("x",))
    with pytest.raises(NotEnoughData) as e:
        timeseries.drift_over_time(R, P, schema)
    assert "no time axis" in e.value.user_message and e.value.hint
    with pytest.raises(NotEnoughData):
        timeseries.windows(P)
    with pytest.raises(NotEnoughData):
        timeseries.drift_over_time(None, P, schema)


def test_gaps_are_empty_windows_and_rows_without_time_are_left_out():
    ts = pa.array([pd.Timestamp("2026-01-01 10:00"), pd.Timestamp("2026-01-01 11:00"),
                   pd.Timestamp("2026-01-04 09:00"), None], pa.timestamp("us"))
    prim = pa.table({"ts": ts, "x": [1.0, 2.0, 3.0, 4.0]})
    R, P = make_views(prim, prim, timestamp="ts")
    w = timeseries.windows(P, "day")
    assert w["n_rows"].tolist() == [2, 0, 0, 1]
    df = timeseries.drift_over_time(R, P, Schema(features=("x",)), granularity="day", min_rows=1)
    assert df["too_few_rows"].tolist() == [False, True, True, False]
    assert df["score"].isna().tolist() == [False, True, True, False]


def test_degenerate_columns_over_time():
    start = pd.Timestamp("2026-01-01")
    ts = pa.array([start + pd.Timedelta(hours=i) for i in range(240)], pa.timestamp("us"))
    ref = pa.table({"ts": ts, "c": [1.0] * 240, "m": pa.nulls(240, pa.float64())})
    prim = pa.table({"ts": ts, "c": [1.0] * 240, "m": np.arange(240.0)})
    R, P = make_views(ref, prim, timestamp="ts")
    df = timeseries.drift_over_time(R, P, Schema(features=("c", "m")), granularity="day", min_rows=20)
    assert set(df[df["column"] == "c"]["status"]) == {"constant"}
    assert set(df[df["column"] == "m"]["status"]) == {"no data"}
