"""Embeddings explorer engine: sampling, parameters, cluster table, the pipeline on real structure, warm-up.

UMAP runs are few and small (scikit-learn's digits, 1,797 points; the bundled sample at 2 x 2,000 points).
"""

import os

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "obs", "numba"))

import pickle
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import obs_core as obs
from obs_core import embeddings as emb
from obs_core import warmup
from obs_core.errors import NotEnoughData, ObsError, SchemaError
from obs_core.schema import EmbeddingColumns, ModelType, Schema
from obs_core.store import Store, View

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"


# ---- helpers -------------------------------------------------------------------------------------

def _vectors(rows, dim=None):
    """A list<float> (dim None) or fixed-size array column from a list of lists / None."""
    if dim is None:
        return pa.array(rows, type=pa.list_(pa.float32()))
    return pa.array(rows, type=pa.list_(pa.float32(), dim))


def _store(primary: pa.Table, reference: pa.Table | None = None) -> Store:
    s = Store()
    s.load("primary", primary, fingerprint="p")
    if reference is not None:
        s.load("reference", reference, fingerprint="r", row_id_offset=primary.num_rows)
    return s


def _views(s: Store):
    return View(s, "primary"), (View(s, "reference") if s.has("reference") else None)


def _random_table(n, dim=8, seed=0, fixed=False):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32).tolist()
    return pa.table({"vec": _vectors(vecs, dim if fixed else None), "k": pa.array(np.arange(n))})


@pytest.fixture(scope="module")
def digits_store():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    labels = [str(int(v)) for v in y]
    prim = pa.table({"vec": _vectors(X.astype(np.float32).tolist(), 64), "actual": labels,
                     "pred": labels, "digit": y.astype(np.int64)})
    ref_mask = y <= 7
    ref = prim.filter(pa.array(ref_mask))
    schema = Schema(embeddings={"digits": EmbeddingColumns("vec")}, prediction_label="pred", actual_label="actual",
                    model_type=ModelType.MULTICLASS, features=("digit",))
    return _store(prim, ref), schema


@pytest.fixture(scope="module")
def digits_cloud(digits_store):
    s, schema = digits_store
    p, r = _views(s)
    calls = []
    cloud = emb.point_cloud(r, p, schema, "digits", random_state=0, color_columns=("digit",),
                            cluster_means=("digit",), progress=lambda f, m: calls.append((f, m)))
    return cloud, calls


# ---- import contract --------------------------------------------------------------------------------

def test_importing_the_engine_does_not_import_umap_hdbscan_numba_or_sklearn():
    code = ("import sys, obs_core, obs_core.embeddings, obs_core.export, obs_core.warmup; "
            "obs_core.Umap(); obs_core.Hdbscan(); "
            "bad = [m for m in ('umap', 'hdbscan', 'numba', 'sklearn', 'streamlit') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stdout + res.stderr


# ---- parameters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(n_neighbors=1), dict(n_neighbors=201), dict(n_neighbors=2.5), dict(n_neighbors=True),
    dict(min_dist=-0.1), dict(min_dist=1.5), dict(min_dist=float("nan")), dict(min_dist="0"),
    dict(n_components=4), dict(n_components=1), dict(metric="nope"), dict(n_epochs=5),
])
def test_umap_rejects_out_of_range_parameters(kwargs):
    with pytest.raises(ObsError) as e:
        emb.Umap(**kwargs)
    assert e.value.user_message  # readable, names the parameter
    assert any(k in e.value.user_message for k in ("UMAP", "n_neighbors", "min_dist", "dimensions", "distance"))


@pytest.mark.parametrize("kwargs", [
    dict(min_cluster_size=1), dict(min_cluster_size=0), dict(min_cluster_size=5001), dict(min_cluster_size=2.0),
    dict(min_samples=0), dict(cluster_selection_epsilon=-1.0), dict(cluster_selection_epsilon=float("inf")),
])
def test_hdbscan_rejects_out_of_range_parameters(kwargs):
    with pytest.raises(ObsError) as e:
        emb.Hdbscan(**kwargs)
    assert "HDBSCAN" in e.value.user_message


def test_parameter_objects_are_frozen_hashable_and_protocol_conformant():
    u, h = emb.Umap(n_neighbors=30, min_dist=0.1), emb.Hdbscan(min_cluster_size=10, min_samples=3)
    assert {u: 1}[emb.Umap(n_neighbors=30, min_dist=0.1)] == 1 and hash(h) == hash(emb.Hdbscan(10, 3))
    assert isinstance(u, emb.Projector) and isinstance(h, emb.Clusterer)
    assert obs.Umap is emb.Umap and obs.Hdbscan is emb.Hdbscan
    assert emb.Umap().n_components == 3 and emb.Umap().min_dist == 0.0 and emb.Umap().epochs == 200
    with pytest.raises(Exception):
        u.n_neighbors = 5  # frozen


def test_sample_size_and_embedding_name_are_checked(digits_store):
    s, schema = digits_store
    p, r = _views(s)
    for bad in (99, 25_001, 2.5):
        with pytest.raises(ObsError, match="sample size"):
            emb.point_cloud(r, p, schema, "digits", sample_size=bad)
    with pytest.raises(SchemaError, match="no embedding named"):
        emb.point_cloud(r, p, schema, "nope")
    with pytest.raises(SchemaError, match="no column"):
        emb.point_cloud(r, p, schema, "digits", color_columns=("nope",))


# ---- sampling -----------------------------------------------------------------------------------------

def test_sampling_is_seeded_and_stratified_by_dataset():
    s = _store(_random_table(300, seed=1), _random_table(150, seed=2))
    p, r = _views(s)
    a = emb.sample_points(r, p, "vec", 200, random_state=7)
    b = emb.sample_points(r, p, "vec", 200, random_state=7)
    c = emb.sample_points(r, p, "vec", 200, random_state=8)
    assert a.n_sampled == {"primary": 200, "reference": 150}          # min(n, rows) per dataset
    for d in ("primary", "reference"):
        assert np.array_equal(a.ids[d], b.ids[d])                      # same seed -> same ids
    assert not np.array_equal(a.ids["primary"], c.ids["primary"])      # other seed -> other ids
    assert set(a.ids["primary"]) <= set(range(300)) and set(a.ids["reference"]) == set(range(300, 450))
    assert not np.array_equal(a.ids["primary"], np.arange(200))        # never "the first rows"
    assert a.ids["primary"].max() > 250
    # a larger sample with the same seed contains the smaller one
    big = emb.sample_points(r, p, "vec", 250, random_state=7)
    assert set(a.ids["primary"]) <= set(big.ids["primary"])


def test_sampling_honours_the_views_filters():
    t = _random_table(300, seed=3)
    s = _store(t.append_column("grp", pa.array(["a", "b", "c"] * 100)))
    p = View(s, "primary", (obs.Filter("grp", "=", "a"),))
    smp = emb.sample_points(None, p, "vec", 1000)
    assert smp.n_sampled == {"primary": 100} and all(i % 3 == 0 for i in smp.ids["primary"])


@pytest.mark.parametrize("fixed", [False, True])
def test_null_nan_inf_and_wrong_length_vectors_are_skipped_and_counted(fixed):
    rng = np.random.default_rng(0)
    good = rng.normal(size=(40, 4)).astype(np.float32).tolist()
    rows = list(good)
    rows[3] = None                                   # NULL vector
    rows[5] = [0.0, float("nan"), 1.0, 2.0]          # NaN
    rows[7] = [float("inf"), 0.0, 1.0, 2.0]          # inf
    rows[9] = [0.0, None, 1.0, 2.0]                  # NULL element
    bad = {3, 5, 7, 9}
    if not fixed:
        rows[11] = [0.0, 1.0]                        # wrong length (only possible in a plain list column)
        bad.add(11)
    ref_rows = [None if i % 10 == 0 else v for i, v in enumerate(good)]   # 4 NULLs in the reference
    s = _store(pa.table({"vec": _vectors(rows, 4 if fixed else None)}),
               pa.table({"vec": _vectors(ref_rows, 4 if fixed else None)}))
    p, r = _views(s)
    smp = emb.sample_points(r, p, "vec", 1000)
    assert smp.dimension == 4
    assert smp.n_skipped == {"primary": len(bad), "reference": 4}
    assert smp.n_sampled == {"primary": 40 - len(bad), "reference": 36}
    assert not set(smp.ids["primary"]) & bad
    assert not set(smp.ids["reference"]) & {40 + i for i in range(0, 40, 10)}


def test_point_cloud_reports_skipped_rows_and_uses_only_valid_ones():
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(3, 8)) * 6
    X = (centres[rng.integers(0, 3, 160)] + rng.normal(size=(160, 8))).astype(np.float32).tolist()
    X[0] = None
    X[1] = [float("nan")] * 8
    s = _store(pa.table({"vec": _vectors(X)}))
    p, _ = _views(s)
    schema = Schema(embeddings={"e": EmbeddingColumns("vec")})
    cloud = emb.point_cloud(None, p, schema, "e", sample_size=100, hdbscan=emb.Hdbscan(min_cluster_size=10))
    assert cloud.n_skipped == {"primary": 2} and cloud.n_sampled == {"primary": 100}
    assert not {0, 1} & set(cloud.points["row_id"])
    assert cloud.clusters["drift_ratio"].isna().all()       # one dataset: no drift ratio
    assert cloud.metric is None and cloud.clusters["metric_primary"].isna().all()


def test_an_embedding_without_usable_vectors_says_so():
    s = _store(pa.table({"vec": _vectors([None] * 20, 4)}))
    p, _ = _views(s)
    with pytest.raises(NotEnoughData, match="usable"):
        emb.point_cloud(None, p, Schema(embeddings={"e": EmbeddingColumns("vec")}), "e", sample_size=100)


# ---- cluster table ------------------------------------------------------------------------------------

def _constructed_points():
    """primary: 100 sampled (cluster 0: 40, cluster 1: 50, noise: 10); reference: 50 (5, 40, 5)."""
    rows = ([("primary", 0)] * 40 + [("primary", 1)] * 50 + [("primary", -1)] * 10
            + [("reference", 0)] * 5 + [("reference", 1)] * 40 + [("reference", -1)] * 5)
    pts = pd.DataFrame(rows, columns=["dataset", "cluster"])
    pts["row_id"] = np.arange(len(pts))
    pts["value"] = np.where(pts["cluster"] == 0, 10.0, 1.0)
    return pts


def test_cluster_summary_counts_shares_and_drift_ratio_by_hand():
    metrics = pd.DataFrame({"cluster": [0, 1, -1, 0, 1, -1], "dataset": ["primary"] * 3 + ["reference"] * 3,
                            "value": [0.5, 0.9, 0.7, 0.8, 0.95, 0.6], "n": [40, 50, 10, 5, 40, 5]})
    cl = emb.cluster_summary(_constructed_points(), n_sampled={"primary": 100, "reference": 50},
                             metrics=metrics, metric="accuracy", direction="higher", cluster_means=("value",))
    # default with two datasets: most drift first, noise last
    assert cl["cluster"].tolist() == [0, 1, -1]
    c0, c1, noise = (cl.iloc[i] for i in range(3))
    assert (c0["size"], c0["n_primary"], c0["n_reference"]) == (45, 40, 5)
    assert c0["share_primary"] == pytest.approx(0.4) and c0["share_reference"] == pytest.approx(0.1)
    assert c0["drift_ratio"] == pytest.approx((0.4 - 0.1) / (0.4 + 0.1))          # 0.6
    assert c1["drift_ratio"] == pytest.approx((0.5 - 0.8) / (0.5 + 0.8))          # -0.2308
    assert noise["drift_ratio"] == pytest.approx(0.0) and bool(noise["is_noise"])
    assert not c0["is_noise"] and c0["metric"] == "accuracy"
    assert (c0["metric_primary"], c0["metric_reference"], c0["n_metric_primary"]) == (0.5, 0.8, 40)
    assert c0["mean_value"] == 10.0 and c1["mean_value"] == 1.0
    for col in ("cluster", "size", "n_primary", "n_reference", "drift_ratio", "metric_primary", "metric_reference",
                "share_primary", "share_reference", "metric"):
        assert col in cl.columns
    # the sample size normalises, not the cluster totals: same counts, twice the reference sample
    cl2 = emb.cluster_summary(_constructed_points(), n_sampled={"primary": 100, "reference": 100})
    assert cl2.set_index("cluster").loc[0, "drift_ratio"] == pytest.approx((0.4 - 0.05) / (0.4 + 0.05))


def test_sort_clusters_by_performance_size_and_direction():
    pts = _constructed_points()
    metrics = pd.DataFrame({"cluster": [0, 1, -1], "dataset": "primary", "value": [0.9, 0.5, 0.1]})
    cl = emb.cluster_summary(pts, n_sampled={"primary": 100, "reference": 50}, metrics=metrics,
                             metric="accuracy", direction="higher")
    assert emb.sort_clusters(cl, by="performance")["cluster"].tolist() == [1, 0, -1]   # worst first, noise last
    assert emb.sort_clusters(cl, by="size")["cluster"].tolist() == [1, 0, -1]
    assert emb.sort_clusters(cl, by="drift")["cluster"].tolist() == [0, 1, -1]
    mae = metrics.assign(value=[3.0, 1.0, 9.0])
    cl = emb.cluster_summary(pts, metrics=mae, metric="mae", direction="lower", sort="performance")
    assert cl["cluster"].tolist() == [0, 1, -1]                                      # larger error first
    with pytest.raises(ObsError):
        emb.sort_clusters(cl, by="colour")


def test_one_dataset_defaults_to_worst_performance_first():
    pts = _constructed_points()
    pts = pts[pts["dataset"] == "primary"]
    metrics = pd.DataFrame({"cluster": [0, 1], "dataset": "primary", "value": [0.95, 0.6]})
    cl = emb.cluster_summary(pts, metrics=metrics, metric="accuracy")
    assert cl["drift_ratio"].isna().all()
    assert cl["cluster"].tolist() == [1, 0, -1]
    assert emb.cluster_summary(pts)["cluster"].tolist() == [1, 0, -1]               # no metric: by size


# ---- the pipeline on real structure ------------------------------------------------------------------------

def test_digits_the_new_digits_form_the_top_drift_cluster(digits_cloud):
    cloud, calls = digits_cloud
    pts, cl = cloud.points, cloud.clusters
    assert cloud.n_sampled == {"primary": 1797, "reference": 1443}   # every row (< 2,500); digits 0-7: 1,443
    assert cloud.n_skipped == {"primary": 0, "reference": 0}
    assert list(pts.columns[:6]) == ["row_id", "dataset", "x", "y", "z", "cluster"]
    assert np.isfinite(pts[["x", "y", "z"]].to_numpy()).all()
    top = cl.iloc[0]
    assert top["drift_ratio"] == cl.loc[~cl["is_noise"], "drift_ratio"].max() and not top["is_noise"]
    members = pts[pts["cluster"] == top["cluster"]]
    assert members["digit"].isin([8, 9]).mean() >= 0.9
    assert top["n_reference"] <= 0.1 * top["size"]
    # the table adds up, and the metric is there (predictions are perfect here)
    assert cl["size"].sum() == len(pts) and cl["n_primary"].sum() == 1797
    assert cloud.metric == "accuracy" and (cl["metric_primary"].dropna() == 1.0).all()
    assert "mean_digit" in cl and "correct" in pts and pts["correct"].all()
    # progress: increasing fractions, ending at 1.0, one message per stage
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(calls) >= 5
    assert set(cloud.timings) >= {"sample", "fetch", "pca", "umap", "hdbscan", "summary", "total"}
    assert cloud.params["pca_dims"] == 50 and cloud.params["umap_n_epochs"] == 200


def test_results_are_cached_and_reclustering_reuses_the_projection(digits_store, digits_cloud):
    s, schema = digits_store
    p, r = _views(s)
    cloud, _ = digits_cloud
    again = emb.point_cloud(r, p, schema, "digits", random_state=0, color_columns=("digit",),
                            cluster_means=("digit",))
    assert again.from_cache and again.points is cloud.points
    h = emb.Hdbscan(min_cluster_size=60)
    other = emb.point_cloud(r, p, schema, "digits", random_state=0, color_columns=("digit",),
                            cluster_means=("digit",), hdbscan=h)
    assert not other.from_cache and other.params["projection_reused"] and other.timings["umap"] == 0.0
    assert np.array_equal(other.points[["x", "y", "z"]].to_numpy(), cloud.points[["x", "y", "z"]].to_numpy())
    assert other.params["hdbscan_min_cluster_size"] == 60
    # recluster from the cloud gives the same table, and lands in the same cache entry
    re = emb.recluster(cloud, h)
    assert re.from_cache and re.clusters.equals(other.clusters)
    h2 = emb.Hdbscan(min_cluster_size=40, min_samples=5)
    re2 = emb.recluster(cloud, h2)
    assert re2.params["projection_reused"] and not re2.from_cache
    assert emb.point_cloud(r, p, schema, "digits", random_state=0, color_columns=("digit",),
                           cluster_means=("digit",), hdbscan=h2).from_cache
    assert sorted(re2.row_ids(clusters=[0])) == sorted(re2.points.loc[re2.points.cluster == 0, "row_id"])
    # a point cloud pickles without its session store
    back = pickle.loads(pickle.dumps(re2))
    assert back._context is None and back.clusters.equals(re2.clusters)
    off = emb.recluster(back, h)
    assert np.array_equal(off.points["cluster"].to_numpy(), other.points["cluster"].to_numpy())


def test_same_seed_same_picture_in_a_fresh_session(digits_store, digits_cloud):
    s, schema = digits_store
    cloud, _ = digits_cloud
    fresh = Store()
    for d in ("primary", "reference"):
        with warnings.catch_warnings():   # duckdb: "Arrow output on a DB-API result makes an extra copy"
            warnings.simplefilter("ignore")
            table = s.arrow(f'SELECT * EXCLUDE (__obs_row_id, __obs_ts) FROM "{d}" ORDER BY __obs_row_id')
        fresh.load(d, table, fingerprint=d[0], row_id_offset=0 if d == "primary" else 1797)
    p, r = _views(fresh)
    twin = emb.point_cloud(r, p, schema, "digits", random_state=0, color_columns=("digit",),
                           cluster_means=("digit",))
    assert not twin.from_cache
    assert np.array_equal(twin.points[["row_id", "x", "y", "z", "cluster"]].to_numpy(),
                          cloud.points[["row_id", "x", "y", "z", "cluster"]].to_numpy())


def test_bundled_sample_the_top_drift_cluster_is_the_planted_5_2_crash_topic():
    ref = obs.read(str(SAMPLE / "reference.parquet"))
    prod = obs.read(str(SAMPLE / "production.parquet"))
    schema = obs.infer_schema(ref, prod)
    cmp = obs.Comparison(schema, primary=prod, reference=ref)
    name = next(n for n, e in schema.all_embeddings().items() if e.vector == "text_vector")
    cloud = cmp.point_cloud(name, sample_size=2000, random_state=0, color_columns=("app_version",))
    pts, cl = cloud.points, cloud.clusters
    assert cloud.n_sampled == {"primary": 2000, "reference": 2000}
    top = cl.iloc[0]
    members = pts[pts["cluster"] == top["cluster"]]
    assert (members["app_version"] == "5.2").mean() >= 0.8
    assert top["drift_ratio"] > 0.8
    assert cloud.metric == "accuracy"
    assert top["metric_primary"] < cloud.overall_metric["primary"] - 0.1
    for col in ("prediction_label", "actual_label", "correct", "text"):
        assert col in pts
    assert pts["text"].str.len().max() <= emb.TEXT_SNIPPET
    # export the cluster: its rows, with the cluster number
    import io
    import pyarrow.parquet as pq
    out = pq.read_table(io.BytesIO(cmp.export(members["row_id"], format="parquet", clusters=cloud.points)))
    assert out.num_rows == len(members) and set(out.column("obs_cluster").to_pylist()) == {int(top["cluster"])}


# ---- warm-up ---------------------------------------------------------------------------------------------

def test_warm_up_is_idempotent_and_sets_the_numba_cache(monkeypatch, tmp_path):
    runs = []
    gate = threading.Event()

    def fake_run():
        runs.append(1)
        gate.wait(5)
        warmup._done.set()

    monkeypatch.setattr(warmup, "_run", fake_run)
    monkeypatch.setattr(warmup, "_thread", None)
    monkeypatch.setattr(warmup, "_done", threading.Event())
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    t1 = warmup.warm_up()
    t2 = warmup.warm_up()
    assert t1 is t2 and isinstance(t1, threading.Thread)
    gate.set()
    assert warmup.warm_up(background=False) is None and warmup.wait(5)
    assert runs == [1]
    assert (tmp_path / "numba").is_dir()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert warmup.configure_numba_cache() == warmup.default_cache_dir()
