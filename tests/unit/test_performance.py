"""performance.py: every metric equals scikit-learn on the same rows (fixed seeds), windows, segments, fairness."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from obs_core import performance as perf
from obs_core.errors import NotEnoughData, ObsError
from obs_core.schema import ModelType, Schema
from obs_core.store import Filter, Store, View
from tests.unit.helpers import sample_comparison

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
REL = 1e-9


def make(primary: pd.DataFrame, reference: pd.DataFrame | None = None, timestamp: str | None = None):
    """A store holding the frames; returns (reference view or None, primary view)."""
    s = Store()
    s.load("primary", pa.Table.from_pandas(primary, preserve_index=False), timestamp=timestamp, fingerprint="p")
    ref = None
    if reference is not None:
        s.load("reference", pa.Table.from_pandas(reference, preserve_index=False), timestamp=timestamp,
               fingerprint="r", row_id_offset=len(primary))
        ref = View(s, "reference")
    return ref, View(s, "primary")


def value(df, metric, dataset="primary", cls=None, **keys):
    sel = (df["metric"] == metric) & (df["dataset"] == dataset)
    sel &= df["class"].isna() if cls is None else (df["class"] == cls)
    for k, v in keys.items():
        sel &= df[k] == v
    rows = df[sel]
    assert len(rows) == 1, (metric, dataset, cls, keys, rows)
    return rows.iloc[0]


def binary_frame(seed: int, n: int = 3000, ties: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.35
    score = np.clip(0.35 * y + rng.normal(0.35, 0.2, n), 0, 1)
    if ties:
        score = np.round(score, 2)
    pred = np.where(rng.random(n) < 0.9, score >= 0.5, rng.random(n) < 0.5)   # labels not exactly from scores
    df = pd.DataFrame({"actual": np.where(y, "yes", "no").astype(object),
                       "pred": np.where(pred, "yes", "no").astype(object), "score": score,
                       "age": rng.integers(18, 80, n).astype(float)})
    df.loc[rng.random(n) < 0.05, "actual"] = None      # missing actuals
    df.loc[rng.random(n) < 0.02, "score"] = np.nan     # missing scores
    return df


BIN_SCHEMA = Schema(prediction_label="pred", prediction_score="score", actual_label="actual", features=("age",),
                    model_type=ModelType.BINARY, positive_class="yes")


def sk_binary(df: pd.DataFrame) -> dict:
    ok = df["actual"].notna() & df["pred"].notna() & df["score"].notna()
    d = df[ok]
    yt, yp, s = d["actual"].to_numpy(), d["pred"].to_numpy(), d["score"].to_numpy()
    yb = (yt == "yes").astype(int)
    return {"accuracy": skm.accuracy_score(yt, yp),
            "precision": skm.precision_score(yt, yp, pos_label="yes"),
            "recall": skm.recall_score(yt, yp, pos_label="yes"),
            "f1": skm.f1_score(yt, yp, pos_label="yes"),
            "roc_auc": skm.roc_auc_score(yb, s),
            "pr_auc": skm.average_precision_score(yb, s),
            "log_loss": skm.log_loss(yb, s),
            "brier": skm.brier_score_loss(yb, s),
            "n": int(ok.sum())}


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (7, True)])
def test_binary_metrics_equal_sklearn(seed, ties):
    df = binary_frame(seed, ties=ties)
    ref_df = binary_frame(seed + 100, n=1500)
    ref, prim = make(df, ref_df)
    out = perf.performance(ref, prim, BIN_SCHEMA)
    for ds, frame in (("primary", df), ("reference", ref_df)):
        expected = sk_binary(frame)
        for m in perf.BINARY_METRICS:
            row = value(out, m, ds)
            assert row["value"] == pytest.approx(expected[m], rel=REL, abs=1e-12), (ds, m)
            assert row["n_rows"] == expected["n"]
        cnt = value(out, "count", ds)
        assert cnt["value"] == len(frame)
        assert cnt["n_missing_actuals"] == frame["actual"].isna().sum()
        assert cnt["n_missing_predictions"] == (frame["actual"].notna() & frame["score"].isna()).sum()
        assert cnt["n_rows"] + cnt["n_missing_actuals"] + cnt["n_missing_predictions"] == len(frame)


def test_binary_score_only_numeric_labels_and_positive_override():
    rng = np.random.default_rng(3)
    n = 1000
    y = (rng.random(n) < 0.4).astype(float)          # actuals 0.0 / 1.0 (floats)
    s = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    df = pd.DataFrame({"actual": y, "score": s})
    schema = Schema(prediction_score="score", actual_label="actual", model_type="binary_classification",
                    positive_class="0")
    _, prim = make(df)
    out = perf.performance(None, prim, schema, positive_class="1")   # the option wins over the schema
    pred = (s >= 0.5).astype(float)
    assert value(out, "accuracy")["value"] == pytest.approx(skm.accuracy_score(y, pred), rel=REL)
    assert value(out, "precision")["value"] == pytest.approx(skm.precision_score(y, pred), rel=REL)
    assert value(out, "recall")["value"] == pytest.approx(skm.recall_score(y, pred), rel=REL)
    assert value(out, "roc_auc")["value"] == pytest.approx(skm.roc_auc_score(y, s), rel=REL)
    # threshold is honoured
    out2 = perf.performance(None, prim, schema, positive_class=1, threshold=0.3)
    pred2 = (s >= 0.3).astype(float)
    assert value(out2, "f1")["value"] == pytest.approx(skm.f1_score(y, pred2), rel=REL)
    # "1.0" names the same class as 1 / 1.0 (labels are compared as text, integral numbers without ".0")
    out3 = perf.performance(None, prim, schema, positive_class="1.0")
    assert value(out3, "accuracy")["value"] == value(out, "accuracy")["value"]
    assert value(out3, "recall")["value"] == value(out, "recall")["value"]
    cm = perf.confusion_matrix(None, prim, schema, positive_class="1")
    sk = skm.confusion_matrix(y, pred, labels=[0.0, 1.0])
    got = cm.pivot(index="actual", columns="predicted", values="count").loc[["0", "1"], ["0", "1"]].to_numpy()
    np.testing.assert_array_equal(got, sk)


def test_binary_bool_labels_and_undefined_metrics():
    df = pd.DataFrame({"actual": [True, True, True], "pred": [True, False, True], "score": [0.9, 0.2, 0.8]})
    schema = Schema(prediction_label="pred", prediction_score="score", actual_label="actual",
                    model_type=ModelType.BINARY, positive_class="True")
    _, prim = make(df)
    out = perf.performance(None, prim, schema)
    assert value(out, "accuracy")["value"] == pytest.approx(2 / 3)
    assert value(out, "recall")["value"] == pytest.approx(2 / 3)
    assert math.isnan(value(out, "roc_auc")["value"])            # one class only: undefined, not a crash
    assert "both classes" in value(out, "roc_auc")["note"]
    # no positive predictions at all -> precision 0 (sklearn's zero_division default)
    df2 = pd.DataFrame({"actual": ["a", "b", "b"], "pred": ["b", "b", "b"]})
    schema2 = Schema(prediction_label="pred", actual_label="actual", model_type=ModelType.BINARY,
                     positive_class="a")
    _, prim2 = make(df2)
    out2 = perf.performance(None, prim2, schema2)
    assert value(out2, "precision")["value"] == 0.0
    assert "roc_auc" not in set(out2["metric"])                 # no score column, no score metrics


def multiclass_frame(seed, n=2500):
    rng = np.random.default_rng(seed)
    classes = np.array(["cat", "dog", "bird", "fish"])
    y = rng.choice(classes, n, p=[0.4, 0.3, 0.2, 0.1])
    pred = np.where(rng.random(n) < 0.7, y, rng.choice(classes[:3], n))   # "fish" is never predicted wrongly
    return pd.DataFrame({"actual": y, "pred": pred, "x": rng.normal(size=n)})


MC_SCHEMA = Schema(prediction_label="pred", actual_label="actual", features=("x",),
                   model_type=ModelType.MULTICLASS)


def test_multiclass_metrics_equal_sklearn():
    df = multiclass_frame(11)
    _, prim = make(df)
    out = perf.performance(None, prim, MC_SCHEMA)
    yt, yp = df["actual"], df["pred"]
    assert value(out, "accuracy")["value"] == pytest.approx(skm.accuracy_score(yt, yp), rel=REL)
    for avg in ("macro", "weighted"):
        assert value(out, f"{avg}_precision")["value"] == pytest.approx(
            skm.precision_score(yt, yp, average=avg), rel=REL)
        assert value(out, f"{avg}_recall")["value"] == pytest.approx(skm.recall_score(yt, yp, average=avg), rel=REL)
        assert value(out, f"{avg}_f1")["value"] == pytest.approx(skm.f1_score(yt, yp, average=avg), rel=REL)
    labels = sorted(set(yt) | set(yp))
    p, r, f, s = skm.precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    for k, lab in enumerate(labels):
        assert value(out, "precision", cls=lab)["value"] == pytest.approx(p[k], rel=REL)
        assert value(out, "recall", cls=lab)["value"] == pytest.approx(r[k], rel=REL)
        assert value(out, "f1", cls=lab)["value"] == pytest.approx(f[k], rel=REL)
        assert value(out, "support", cls=lab)["value"] == s[k]
    cm = perf.confusion_matrix(None, prim, MC_SCHEMA)
    got = cm.pivot(index="actual", columns="predicted", values="count").loc[labels, labels].to_numpy()
    np.testing.assert_array_equal(got, skm.confusion_matrix(yt, yp, labels=labels))
    assert set(cm.columns) == {"dataset", "actual", "predicted", "count"}


def test_confusion_matrix_binary_two_datasets_and_regression_refused():
    df, rdf = binary_frame(5, 400), binary_frame(6, 300)
    ref, prim = make(df, rdf)
    cm = perf.confusion_matrix(ref, prim, BIN_SCHEMA)
    for ds, frame in (("reference", rdf), ("primary", df)):
        ok = frame["actual"].notna() & frame["score"].notna()
        sk = skm.confusion_matrix(frame["actual"][ok], frame["pred"][ok], labels=["no", "yes"])
        got = cm[cm.dataset == ds].pivot(index="actual", columns="predicted", values="count").loc[
            ["no", "yes"], ["no", "yes"]].to_numpy()
        np.testing.assert_array_equal(got, sk)
    reg = Schema(prediction_score="score", actual_score="y", model_type=ModelType.REGRESSION)
    with pytest.raises(ObsError):
        perf.confusion_matrix(ref, prim, reg)


def regression_frame(seed, n=2000):
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 10.0, n)
    y[:25] = 0.0                                       # zero actuals: MAPE leaves them out
    yhat = y + rng.normal(0, 3, n)
    df = pd.DataFrame({"y": y, "yhat": yhat})
    df.loc[rng.random(n) < 0.03, "y"] = np.nan         # NaN actuals count as missing
    return df


REG_SCHEMA = Schema(prediction_score="yhat", actual_score="y", model_type=ModelType.REGRESSION)


def test_regression_metrics_equal_sklearn():
    df = regression_frame(21)
    _, prim = make(df)
    out = perf.performance(None, prim, REG_SCHEMA)
    d = df.dropna()
    y, yh = d["y"].to_numpy(), d["yhat"].to_numpy()
    nz = y != 0
    assert value(out, "mae")["value"] == pytest.approx(skm.mean_absolute_error(y, yh), rel=REL)
    assert value(out, "rmse")["value"] == pytest.approx(skm.root_mean_squared_error(y, yh), rel=REL)
    assert value(out, "r2")["value"] == pytest.approx(skm.r2_score(y, yh), rel=REL)
    assert value(out, "mean_error")["value"] == pytest.approx(float(np.mean(yh - y)), rel=1e-7)
    mape = value(out, "mape")
    assert mape["value"] == pytest.approx(skm.mean_absolute_percentage_error(y[nz], yh[nz]), rel=REL)
    assert mape["note"] == f"{int((~nz).sum())} rows with actual = 0 left out"
    assert value(out, "count")["n_missing_actuals"] == df["y"].isna().sum()


def test_regression_from_numeric_labels_and_constant_actuals():
    df = pd.DataFrame({"pred": [1.0, 2.0, 3.0], "actual": [2, 2, 2]})
    schema = Schema(prediction_label="pred", actual_label="actual", model_type=ModelType.REGRESSION)
    _, prim = make(df)
    out = perf.performance(None, prim, schema)
    assert value(out, "r2")["value"] == skm.r2_score([2, 2, 2], [1, 2, 3]) == 0.0
    assert value(out, "mae")["value"] == pytest.approx(2 / 3)


def test_per_window_values_equal_sklearn_on_each_window():
    rng = np.random.default_rng(99)
    df = binary_frame(4, n=2000)
    start = np.datetime64("2026-10-01T00:00:00")
    df["ts"] = start + (rng.random(len(df)) * 10 * 86400).astype("timedelta64[s]")
    ref_df = binary_frame(40, n=800)
    ref_df["ts"] = np.datetime64("2026-09-01") + (rng.random(len(ref_df)) * 5 * 86400).astype("timedelta64[s]")
    ref, prim = make(df, ref_df, timestamp="ts")
    out = perf.performance(ref, prim, BIN_SCHEMA, granularity="day")
    assert {"window_start", "window_end", "too_few_rows"} <= set(out.columns)
    days = pd.to_datetime(df["ts"]).dt.floor("D")
    assert out[out.dataset == "primary"]["window_start"].nunique() == days.nunique() == 10
    for day in sorted(days.unique()):
        expected = sk_binary(df[days == day])
        for m in ("accuracy", "f1", "roc_auc", "pr_auc", "log_loss", "brier"):
            row = value(out, m, window_start=day)
            assert row["value"] == pytest.approx(expected[m], rel=REL), (day, m)
            assert row["window_end"] == day + pd.Timedelta(days=1)
    # the reference is one row set, without a window
    r = value(out, "accuracy", "reference")
    assert pd.isna(r["window_start"]) and r["value"] == pytest.approx(sk_binary(ref_df)["accuracy"], rel=REL)
    # auto picks day for a 10-day span (10 hourly windows would be 240: too many)
    auto = perf.performance(ref, prim, BIN_SCHEMA, granularity="auto")
    assert auto.attrs["granularity"] == "day"
    with pytest.raises(ObsError):
        perf.performance(ref, prim, BIN_SCHEMA, granularity="fortnight")


def test_missing_actuals_counted_and_dataset_without_actuals_has_only_counts():
    prod = pd.DataFrame({"pred": ["yes", "no", "yes", "no"], "score": [0.9, 0.1, 0.6, 0.4]})   # no actual column
    ref_df = pd.DataFrame({"pred": ["yes", "no", "no"], "score": [0.8, 0.3, 0.2], "actual": ["yes", None, "yes"]})
    ref, prim = make(prod, ref_df)
    out = perf.performance(ref, prim, BIN_SCHEMA)
    p = out[out.dataset == "primary"]
    assert p["metric"].tolist() == ["count"]
    assert p.iloc[0][["value", "n_rows", "n_missing_actuals"]].tolist() == [4, 0, 4]
    r = value(out, "accuracy", "reference")
    assert r["value"] == 0.5 and r["n_rows"] == 2 and r["n_missing_actuals"] == 1


def test_empty_filter_result_gives_zero_counts():
    from obs_core.store import Filter
    ref, prim = make(binary_frame(2, 200), binary_frame(3, 100))
    empty = View(prim.store, "primary", (Filter("age", ">", 1000),))
    out = perf.performance(ref, empty, BIN_SCHEMA)
    p = out[out.dataset == "primary"]
    assert p["metric"].tolist() == ["count"] and p.iloc[0]["value"] == 0


def test_no_model_type_raises_not_enough_data():
    _, prim = make(pd.DataFrame({"pred": ["a"], "actual": ["a"]}))
    with pytest.raises(NotEnoughData, match="model type"):
        perf.performance(None, prim, Schema(prediction_label="pred", actual_label="actual"))
    with pytest.raises(NotEnoughData):
        perf.headline_metric(None)


def test_headline_and_direction():
    assert perf.headline_metric(ModelType.BINARY) == "accuracy"
    assert perf.headline_metric("multiclass_classification") == "accuracy"
    assert perf.headline_metric(ModelType.REGRESSION) == "mae"
    assert [perf.metric_direction(m) for m in ("accuracy", "weighted_f1", "roc_auc", "r2")] == ["higher"] * 4
    assert [perf.metric_direction(m) for m in ("log_loss", "brier", "mae", "rmse", "mape")] == ["lower"] * 5
    assert perf.metric_direction("mean_error") == "zero"
    with pytest.raises(ObsError):
        perf.metric_direction("vibes")


def test_segments_find_the_known_worst_segment():
    rng = np.random.default_rng(8)
    n = 4000
    region = rng.choice(["A", "B", "C", "D"], n, p=[0.4, 0.3, 0.2, 0.1])
    y = rng.random(n) < 0.5
    wrong = rng.random(n) < np.where(region == "C", 0.5, 0.1)        # C: accuracy ~0.5, others ~0.9
    pred = np.where(wrong, ~y, y)
    amount = rng.uniform(0, 100, n)
    wrong_hi = amount > 80                                              # numeric: top bin is bad in the 2nd model
    df = pd.DataFrame({"region": region, "amount": amount, "actual": np.where(y, "yes", "no"),
                       "pred": np.where(pred, "yes", "no"),
                       "pred2": np.where(np.where(wrong_hi & (rng.random(n) < 0.6), ~y, y), "yes", "no")})
    ref, prim = make(df, df.iloc[:1000])
    schema = Schema(prediction_label="pred", actual_label="actual", features=("region", "amount"),
                    model_type=ModelType.BINARY, positive_class="yes")
    seg = perf.segments(ref, prim, schema, by="region")
    assert seg.iloc[0]["segment"] == "C"
    c = seg.iloc[0]
    sel = df["region"] == "C"
    assert c["value"] == pytest.approx(skm.accuracy_score(df["actual"][sel], df["pred"][sel]), rel=REL)
    assert c["overall"] == pytest.approx(skm.accuracy_score(df["actual"], df["pred"]), rel=REL)
    assert c["n_rows"] == sel.sum() and c["share"] == pytest.approx(sel.mean())
    assert c["impact"] == pytest.approx((c["overall"] - c["value"]) * c["share"])
    assert c["difference"] < -0.3
    assert list(seg["impact"]) == sorted(seg["impact"], reverse=True)
    # numeric column: 5 quantile bins fitted on the reference; the top bin (>= 80) is the worst
    seg2 = perf.segments(ref, prim, schema.replace(prediction_label="pred2"), by="amount", n_bins=5)
    edges = np.quantile(df["amount"].iloc[:1000], [0.2, 0.4, 0.6, 0.8])
    assert seg2.iloc[0]["segment"] == f">= {edges[-1]:.6g}"
    assert set(seg2["segment"]) == {f"< {edges[0]:.6g}", *(f"[{a:.6g}, {b:.6g})" for a, b in zip(edges, edges[1:])),
                                    f">= {edges[-1]:.6g}"}
    assert seg2["n_rows"].sum() == n
    # other metric, lower-is-better ordering
    seg3 = perf.segments(ref, prim, schema.replace(prediction_score=None), by="region", metric="recall")
    assert seg3.iloc[0]["segment"] == "C"
    # tiny segments go last
    seg4 = perf.segments(ref, prim, schema, by="region", min_rows=1000)
    assert seg4["too_few_rows"].tolist() == sorted(seg4["too_few_rows"].tolist())


def test_performance_by_segment_equals_sklearn_and_counts_missing_segment():
    df = binary_frame(9, n=1500)
    df.loc[df.index[:30], "age"] = np.nan
    _, prim = make(df)
    out = perf.performance(None, prim, BIN_SCHEMA, by="age", n_bins=4)
    segs = out[out.metric == "count"]
    assert segs["value"].sum() == len(df)
    assert value(out, "count", segment="(missing)")["value"] == 30
    edges = np.quantile(df["age"].dropna(), [0.25, 0.5, 0.75])
    lo = df[df["age"] < edges[0]]
    assert value(out, "accuracy", segment=f"< {edges[0]:.6g}")["value"] == pytest.approx(
        sk_binary(lo)["accuracy"], rel=REL)


def test_fairness_ratios_hand_computed():
    # group A (base, 6 rows):  actual  y y y n n n, predicted y y n y n n
    #   selection = 3/6 = 0.5;  TPR = 2/3;  FPR = 1/3;  precision = 2/3
    # group B (4 rows):        actual  y y n n,     predicted y n n n
    #   selection = 1/4 = 0.25; TPR = 1/2;  FPR = 0/2 = 0; precision = 1/1 = 1
    # ratios B/A: selection 0.25/0.5 = 0.5 (flag), TPR 0.5/(2/3) = 0.75 (flag), FPR 0/(1/3) = 0 (flag),
    #             precision 1/(2/3) = 1.5 (flag); A's ratios are all 1.
    df = pd.DataFrame({"g": list("AAAAAA") + list("BBBB"),
                       "actual": list("yyynnn") + list("yynn"), "pred": list("yynynn") + list("ynnn")})
    schema = Schema(prediction_label="pred", actual_label="actual", tags=("g",), model_type=ModelType.BINARY,
                    positive_class="y")
    _, prim = make(df)
    f = perf.fairness(None, prim, schema, sensitive="g").set_index("group")
    assert f.loc["A", "is_base"] and not f.loc["B", "is_base"]
    rates = ["selection_rate", "tpr", "fpr", "precision"]
    assert f.loc["A", rates].tolist() == pytest.approx([0.5, 2 / 3, 1 / 3, 2 / 3])
    assert f.loc["B", rates].tolist() == pytest.approx([0.25, 0.5, 0.0, 1.0])
    assert f.loc["B", ["selection_rate_ratio", "tpr_ratio", "fpr_ratio", "precision_ratio"]].tolist() == \
        pytest.approx([0.5, 0.75, 0.0, 1.5])
    assert f.loc["B", "flags"] == "selection_rate, tpr, fpr, precision"
    assert f.loc["A", "flags"] == "" and f.loc["A", "tpr_ratio"] == 1.0
    assert f.loc["A", "n"] == 6 and f.loc["B", "n_rows"] == 4
    # explicit base group: ratios of A relative to B; A's TPR ratio = (2/3)/(1/2) = 1.333 -> flagged (> 1.25)
    g = perf.fairness(None, prim, schema, sensitive="g", base_group="B").set_index("group")
    assert g.loc["A", "tpr_ratio"] == pytest.approx(4 / 3) and g.loc["A", "tpr_flag"]
    assert math.isnan(g.loc["A", "fpr_ratio"]) and not g.loc["A", "fpr_flag"]   # base FPR 0: no ratio
    with pytest.raises(ObsError, match="not a group"):
        perf.fairness(None, prim, schema, sensitive="g", base_group="Z")
    with pytest.raises(ObsError, match="binary"):
        perf.fairness(None, prim, schema.replace(model_type=ModelType.MULTICLASS), sensitive="g")


def test_metric_by_group_and_metric_for_rows_equal_sklearn():
    df = binary_frame(12, n=1200)
    rdf = binary_frame(13, n=800)
    ref, prim = make(df, rdf)
    both = pd.concat([df, rdf], ignore_index=True)        # row ids: primary 0..1199, reference 1200..1999
    rng = np.random.default_rng(0)
    groups = rng.integers(-1, 3, len(both))
    res = perf.metric_by_group(prim.store, BIN_SCHEMA, pd.DataFrame({"row_id": np.arange(len(both)),
                                                                      "group": groups}))
    assert set(res.columns) >= {"group", "metric", "value", "n"}
    for g in (-1, 0, 1, 2):
        sub = both[groups == g]
        row = res[res["group"] == g].iloc[0]
        assert row["value"] == pytest.approx(sk_binary(sub)["accuracy"], rel=REL)
        assert row["n"] == sk_binary(sub)["n"] and row["n_rows"] == len(sub)
    auc = perf.metric_by_group(prim, BIN_SCHEMA, pd.DataFrame({"row_id": np.arange(len(both)), "group": groups}),
                               metric="roc_auc")
    assert auc.set_index("group").loc[2, "value"] == pytest.approx(sk_binary(both[groups == 2])["roc_auc"], rel=REL)
    prim.store.execute("SELECT 1 UNION ALL SELECT 2").fetchone()   # an unfinished result must not break it
    ids = np.arange(100, 1500, 3)
    assert perf.metric_for_rows(prim, BIN_SCHEMA, ids) == pytest.approx(sk_binary(both.iloc[ids])["accuracy"], rel=REL)
    # regression + multiclass
    rg = regression_frame(2, 500)
    _, p2 = make(rg)
    ids = np.arange(0, 500, 2)
    sub = rg.iloc[ids].dropna()
    assert perf.metric_for_rows(p2, REG_SCHEMA, ids) == pytest.approx(
        skm.mean_absolute_error(sub["y"], sub["yhat"]), rel=REL)
    mc = multiclass_frame(3, 600)
    _, p3 = make(mc)
    halves = pd.DataFrame({"row_id": np.arange(600), "group": np.arange(600) % 2})
    r3 = perf.metric_by_group(p3.store, MC_SCHEMA, halves, metric="macro_f1")
    sub = mc[np.arange(600) % 2 == 1]
    assert r3.set_index("group").loc[1, "value"] == pytest.approx(
        skm.f1_score(sub["actual"], sub["pred"], average="macro"), rel=REL)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])),
                min_size=2, max_size=60))
def test_auc_and_average_precision_property(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if y.all() or not y.any():
        return
    df = pd.DataFrame({"actual": np.where(y, "yes", "no"), "pred": np.where(s >= 0.5, "yes", "no"), "score": s})
    _, prim = make(df)
    out = perf.performance(None, prim, BIN_SCHEMA)
    assert value(out, "roc_auc")["value"] == pytest.approx(skm.roc_auc_score(y, s), rel=1e-9)
    assert value(out, "pr_auc")["value"] == pytest.approx(skm.average_precision_score(y, s), rel=1e-9)
    assert value(out, "log_loss")["value"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)


def test_filters_segments_and_windows_together_with_score_only_model():
    """Parameters of filters, segment bins, thresholds and labels all in one query, in the right order."""
    from obs_core.store import Filter
    rng = np.random.default_rng(17)
    df = binary_frame(17, n=3000).drop(columns="pred")
    df["region"] = rng.choice(["EU", "US"], len(df))
    df["ts"] = np.datetime64("2026-10-01") + (rng.random(len(df)) * 3 * 86400).astype("timedelta64[s]")
    schema = Schema(prediction_score="score", actual_label="actual", features=("age", "region"),
                    model_type=ModelType.BINARY, positive_class="yes")
    _, prim = make(df, timestamp="ts")
    eu = View(prim.store, "primary", (Filter("region", "=", "EU"), Filter("age", ">=", 30)))
    out = perf.performance(None, eu, schema, by="age", granularity="day", n_bins=3, threshold=0.4)
    sub = df[(df.region == "EU") & (df.age >= 30)].copy()
    sub["pred"] = np.where(sub["score"] >= 0.4, "yes", "no")
    edges = np.quantile(sub["age"], [1 / 3, 2 / 3])
    top = sub[(sub["age"] >= edges[1]) & (pd.to_datetime(sub["ts"]).dt.floor("D") == pd.Timestamp("2026-10-02"))]
    row = value(out, "f1", segment=f">= {edges[1]:.6g}", window_start=pd.Timestamp("2026-10-02"))
    assert row["value"] == pytest.approx(sk_binary(top)["f1"], rel=REL)
    assert out[out.metric == "count"]["value"].sum() == len(sub)
    seg = perf.segments(None, eu, schema, by="region", threshold=0.4)
    assert seg["segment"].tolist() == ["EU"] and seg.iloc[0]["n_rows"] == sk_binary(sub)["n"]


def _direct_calibration(df: pd.DataFrame, edges: np.ndarray, positive) -> pd.DataFrame:
    """Per bin (index into the edges, as ``x < e1``, ``[e1, e2)``, ..., ``>= ek``): mean score, positive rate and
    rows, over rows with a score and an actual, in numpy/pandas."""
    d = df[df["score"].notna() & df["actual"].notna()]
    b = np.searchsorted(edges, d["score"].to_numpy(), side="right")
    g = d.assign(b=b, y=(d["actual"] == positive).astype(float)).groupby("b")
    return pd.DataFrame({"mean_score": g["score"].mean(), "positive_rate": g["y"].mean(), "n": g.size()})


def test_calibration_matches_a_direct_computation():
    ref_df, prim_df = binary_frame(11), binary_frame(12, n=2500)
    ref, prim = make(prim_df, ref_df)
    out = perf.calibration(ref, prim, BIN_SCHEMA)
    assert list(out.columns) == ["dataset", "bin", "lower", "upper", "mean_score", "positive_rate", "n"]
    assert list(dict.fromkeys(out["dataset"])) == ["reference", "primary"]
    # bins: deciles of the reference's scores (all its scored rows, actual or not), as performance(by=score)
    edges = np.quantile(ref_df["score"].dropna(), [k / 10 for k in range(1, 10)])
    seg_labels = [s for s in dict.fromkeys(perf.performance(ref, prim, BIN_SCHEMA, by="score", n_bins=10)["segment"])
                  if s != perf.MISSING]
    for name, df in (("reference", ref_df), ("primary", prim_df)):
        got = out[out["dataset"] == name].reset_index(drop=True)
        want = _direct_calibration(df, edges, "yes")
        assert list(got["bin"]) == [seg_labels[i] for i in want.index]
        assert got["n"].tolist() == want["n"].tolist()
        assert got["mean_score"].to_numpy() == pytest.approx(want["mean_score"].to_numpy(), rel=REL)
        assert got["positive_rate"].to_numpy() == pytest.approx(want["positive_rate"].to_numpy(), rel=REL)
        assert got["n"].sum() == (df["score"].notna() & df["actual"].notna()).sum()
        assert got["lower"].iloc[0] == 0.0 and got["upper"].iloc[-1] == 1.0
        assert got["upper"].iloc[:-1].to_numpy() == pytest.approx(edges, rel=REL)
        assert ((got["lower"] <= got["mean_score"]) & (got["mean_score"] <= got["upper"])).all()
    assert out[out["dataset"] == "reference"]["n"].tolist() == pytest.approx(
        [len(ref_df[ref_df["actual"].notna() & ref_df["score"].notna()]) / 10] * 10, abs=15)


def test_calibration_label_normalisation_filters_and_errors():
    rng = np.random.default_rng(5)
    n = 1000
    s = rng.random(n)
    y = (rng.random(n) < s).astype(float)                 # actual 1.0 / 0.0
    df = pd.DataFrame({"actual": y, "score": s, "region": np.where(rng.random(n) < 0.5, "eu", "us")})
    schema = Schema(prediction_score="score", actual_label="actual", model_type=ModelType.BINARY,
                    positive_class="1")
    _, prim = make(df)
    edges = np.quantile(s, [k / 5 for k in range(1, 5)])
    for pos in ("1", 1, 1.0):
        out = perf.calibration(None, prim, schema, n_bins=5, positive_class=pos)
        want = _direct_calibration(df, edges, 1.0)
        assert out["n"].tolist() == want["n"].tolist() and out["dataset"].eq("primary").all()
        assert out["positive_rate"].to_numpy() == pytest.approx(want["positive_rate"].to_numpy(), rel=REL)
    eu = View(prim.store, "primary", filters=(Filter("region", "=", "eu"),))
    assert perf.calibration(None, eu, schema, n_bins=5)["n"].sum() == (df["region"] == "eu").sum()
    with pytest.raises(NotEnoughData):
        perf.calibration(None, prim, Schema(prediction_score="score", actual_label="actual",
                                            model_type=ModelType.REGRESSION))
    with pytest.raises(NotEnoughData):
        perf.calibration(None, prim, Schema(prediction_label="actual", actual_label="actual",
                                            model_type=ModelType.BINARY, positive_class="1"))


# ---- the bundled sample ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmp():
    yield from sample_comparison()


def test_sample_app_version_52_is_worst(cmp):
    seg = cmp.segments(by="app_version")
    top = seg.iloc[0]
    assert top["segment"] == "5.2" and top["n_rows"] == 600
    assert top["value"] < 0.65 and top["overall"] - top["value"] > 0.2
    assert (seg.iloc[1:]["value"] > 0.8).all()
    out = cmp.performance(by="app_version")
    acc = out[(out.metric == "accuracy") & (out.dataset == "primary")].set_index("segment")["value"]
    assert acc.idxmin() == "5.2"


def test_sample_filter_changes_row_counts(cmp):
    full = cmp.performance()
    eu = cmp.where("region", "=", "europe").performance()
    n_full = value(full, "count")["value"]
    n_eu = value(eu, "count")["value"]
    assert n_full == 6000 and 0 < n_eu < n_full
    assert n_eu == cmp.where("region", "=", "europe").num_rows()["primary"]
    late = cmp.between_times("2026-10-08", None).performance(granularity="day")
    assert late[late.dataset == "primary"]["window_start"].min() == pd.Timestamp("2026-10-08")


def test_sample_filter_leaving_the_reference_empty(cmp):
    """Only the primary has app_version 5.2: the reference is empty, segments and performance still work."""
    c = cmp.where("app_version", "in", ["5.2"])
    assert c.num_rows() == {"primary": 600, "reference": 0}
    out = c.performance()
    assert value(out, "accuracy")["value"] == pytest.approx(0.575)
    assert value(out, "count", "reference")["value"] == 0
    seg = c.segments(by="order_value")                 # bins fall back to the primary: 5 bins of 120 rows
    assert seg["n_rows"].tolist() == [120] * 5 and seg["reference_value"].isna().all()
    assert set(c.segments(by="channel")["segment"]) == {"email", "chat", "phone", "social_media"}


def test_sample_calibration_matches_pandas(cmp):
    out = perf.calibration(cmp.reference, cmp.primary, cmp.schema)
    ref_df = pd.read_parquet(SAMPLE / "reference.parquet")
    edges = np.quantile(ref_df["prediction_score"].dropna(), [k / 10 for k in range(1, 10)])
    for name, file in (("reference", "reference.parquet"), ("primary", "production.parquet")):
        df = pd.read_parquet(SAMPLE / file).rename(columns={"prediction_score": "score", "actual_label": "actual"})
        want = _direct_calibration(df, edges, cmp.schema.positive_class)
        got = out[out["dataset"] == name]
        assert got["n"].tolist() == want["n"].tolist() and got["n"].sum() == 6000
        assert got["mean_score"].to_numpy() == pytest.approx(want["mean_score"].to_numpy(), rel=REL)
        assert got["positive_rate"].to_numpy() == pytest.approx(want["positive_rate"].to_numpy(), rel=REL)
    assert cmp.schema.positive_class == "escalate"
    assert (out[out["dataset"] == "reference"]["n"] == 600).all()
    eu = perf.calibration(cmp.where("region", "=", "europe").reference, cmp.where("region", "=", "europe").primary,
                          cmp.schema)
    assert eu[eu["dataset"] == "primary"]["n"].sum() == cmp.where("region", "=", "europe").num_rows()["primary"]
