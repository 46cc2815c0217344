"""Embeddings explorer: sample -> PCA -> UMAP (3D) -> HDBSCAN -> clusters ranked by drift and performance.

The rules (each pinned by a test in ``tests/unit/test_embeddings.py``):

* **Sampling.** Each dataset gets its own seeded uniform random sample of ``min(sample_size, valid rows)``
  rows of its current view (filters and time range apply), drawn in DuckDB by ``Store.sample_ids`` (order by a
  hash of row id and seed: never "the first rows"; the same seed gives the same ids, a larger sample contains
  the smaller one). A row is *valid* when its vector is not NULL, has the embedding's dimension (the type's
  size for fixed-size arrays, else the most common length) and every value is finite; other rows are skipped
  and counted per dataset in ``n_skipped`` (over the whole view, not just the sample).
* **PCA.** Vectors wider than 50 values are reduced to 50 dimensions with scikit-learn's PCA fitted on the
  sampled points of both datasets together (the exact ``covariance_eigh`` solver: deterministic, and the
  fastest here; ``full`` SVD when there are fewer points than dimensions). With ``metric="cosine"`` the vectors are L2-normalised first
  and UMAP then uses euclidean distance (on unit vectors euclidean order = cosine order, and PCA preserves
  euclidean distances, not angles of centred data).
* **UMAP** (``Umap``) to 3D, ``min_dist=0`` so clusters are compact. Speed decisions, measured on 2 cores
  (see the report in ``bench/bench_embeddings.py``):

  - ``random_state`` *is* passed (the seed given to ``point_cloud``): the same inputs give the same picture,
    in any session. umap-learn then runs single-threaded. With the choices below that costs nothing at the
    default size (5,000 points: 2.2 s seeded vs 2.2 s unseeded) and ~1.5x at 20,000 (12 s vs 8 s, still well
    inside the 30 s target); an unseeded run would also need its own (parallel) numba compile.
  - **Nearest neighbours are computed exactly, by brute force in scikit-learn** (``exact_neighbors``), and
    handed to umap-learn as ``precomputed_knn``, so neither of umap-learn's own searches runs. The brief
    suggested ``force_approximation_algorithm=True`` below 4,096 points (its exact path there is 3-5x
    slower: digits 3.6 s vs 0.8 s, same trustworthiness 0.989); measuring showed the approximate search
    (pynndescent's NN-descent) is what makes the first fit in every process slow: ~30-45 s of numba
    compilation that cannot be cached. Brute force on <= 50 PCA dimensions costs 0.1 s at 5,000 points and
    1.6 s at 20,000, gives exact neighbours (digits: trustworthiness 0.9895 vs 0.9893 with NN-descent,
    HDBSCAN adjusted Rand 0.90 vs 0.91, both 12 clusters), and cut the first fit in a new process from ~40 s
    to ~8 s of CPU (< 1 s once the numba disk cache is warm; see ``_import_umap``).
  - ``n_epochs=None`` means **200** at every size (umap-learn's own default for large data). Its default of
    500 below 10,000 points cost 2.5x the time for no visible gain (digits trustworthiness 0.989 vs 0.990,
    same HDBSCAN clusters).
  - One fit at a time per process (a module lock): on 2 cores a second concurrent fit only halves both,
    and numba's fallback ``workqueue`` threading layer aborts on concurrent parallel launches. The start-up
    warm-up (``obs_core.warmup``) takes the same lock, so a first request waits for it instead of compiling
    the same numba code twice.

* **HDBSCAN** (``Hdbscan``) on the UMAP coordinates. Label ``-1`` is noise, "no cluster". Clusters are
  renumbered 0, 1, 2, ... by size (largest first; ties by smallest row id), so numbers are stable for the
  same inputs.
* **Cluster table** (``cluster_summary``): per cluster ``size``, ``n_primary``, ``n_reference``,
  ``share_primary = n_primary / primary points sampled`` (``share_reference`` likewise) and
  ``drift_ratio = (share_primary - share_reference) / (share_primary + share_reference)``: +1 only primary,
  -1 only reference, 0 balanced; NaN with a single dataset. The model's metric inside the cluster per dataset
  (``metric_primary``, ``metric_reference``; name in ``metric``). **Noise gets its own row** (``cluster = -1``,
  ``is_noise = True``) so its size and drift stay visible and exportable, and it is always sorted last.
* **Default order** (``sort_clusters``): two datasets -> most drift first (``drift_ratio`` descending);
  one dataset -> worst performance first (by ``metric_primary`` in the metric's direction); ties and
  clusters without a value go by size. No metric at all -> by size.
* **Caching** in ``store.cache`` (per session): the projection (sample + PCA + UMAP) is keyed by the views'
  keys, embedding, sample size, ``Umap`` and seed; the whole result additionally by ``Hdbscan``, the schema
  and the extra columns. So a revisit is instant, and new HDBSCAN parameters reuse the projection
  (``recluster`` does the same from a ``PointCloud``).

umap, hdbscan, numba and scikit-learn are imported only inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

from .errors import NotEnoughData, ObsError, SchemaError
from .schema import EmbeddingColumns, ModelType, Schema
from .store import ROW_ID, View, quote

__all__ = [
    "Clusterer", "Hdbscan", "PointCloud", "Projector", "Sample", "Umap", "cluster_summary", "point_cloud",
    "exact_neighbors", "recluster", "sample_points", "sort_clusters",
]

DEFAULT_SAMPLE_SIZE = 2500
MIN_SAMPLE_SIZE = 100
MAX_SAMPLE_SIZE = 25_000
PCA_DIMS = 50
DEFAULT_EPOCHS = 200
TEXT_SNIPPET = 300          # characters of raw text kept per point for hover
UMAP_METRICS = ("euclidean", "cosine", "manhattan", "chebyshev", "correlation", "canberra", "braycurtis")
SORTS = ("drift", "performance", "size")

#: Points columns obs adds; colour columns with one of these names get a " (column)" suffix.
POINT_COLUMNS = ("row_id", "dataset", "x", "y", "z", "cluster", "prediction_label", "prediction_score",
                 "actual_label", "actual_score", "correct", "text", "link")

ProgressFn = Callable[[float, str], None]

# One UMAP fit at a time in this process (see the module docstring). Shared with obs_core.warmup.
FIT_LOCK = threading.Lock()


# ================================================================================================
# Protocols and parameter dataclasses
# ================================================================================================

@runtime_checkable
class Projector(Protocol):
    """Maps an (n, d) float array to (n, 2 or 3) coordinates; deterministic for a given ``random_state``.

    Implementations should be frozen dataclasses (hashable), so results can be cached by their parameters.
    """

    def fit_transform(self, X: np.ndarray, random_state: int | None = 0) -> np.ndarray: ...


@runtime_checkable
class Clusterer(Protocol):
    """Assigns each row of an (n, k) array a cluster label (int >= 0) or -1 for noise."""

    def fit_predict(self, X: np.ndarray) -> np.ndarray: ...


def _check_int(name: str, v: Any, lo: int, hi: int, hint: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ObsError(f"{name} must be a whole number between {lo:,} and {hi:,}, not {v!r}.", hint)
    if not lo <= int(v) <= hi:
        raise ObsError(f"{name} must be between {lo:,} and {hi:,}; got {int(v):,}.", hint)
    return int(v)


def _check_float(name: str, v: Any, lo: float, hi: float, hint: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ObsError(f"{name} must be a number between {lo:g} and {hi:g}, not {v!r}.", hint)
    if not lo <= float(v) <= hi:
        raise ObsError(f"{name} must be between {lo:g} and {hi:g}; got {float(v):g}.", hint)
    return float(v)


@dataclass(frozen=True)
class Umap:
    """UMAP parameters (a ``Projector``). Ranges: ``n_components`` 2 or 3, ``n_neighbors`` 2-200
    (larger = more global structure), ``min_dist`` 0-1 (0 = tightest clusters), ``metric`` one of
    ``UMAP_METRICS``, ``n_epochs`` None (= 200, see the module docstring) or 10-2,000.

    ``fit_transform`` passes ``random_state`` (reproducible; umap-learn is then single-threaded) and exact
    nearest neighbours from ``exact_neighbors`` (no numba NN-descent compile; see the module docstring).
    """

    n_components: int = 3
    n_neighbors: int = 15
    min_dist: float = 0.0
    metric: str = "euclidean"
    n_epochs: int | None = None

    def __post_init__(self):
        if isinstance(self.n_components, bool) or self.n_components not in (2, 3):
            raise ObsError(f"UMAP can project to 2 or 3 dimensions, not {self.n_components!r}.",
                           "Use n_components=3 for the 3D view or 2 for a flat one.")
        object.__setattr__(self, "n_neighbors", _check_int(
            "UMAP n_neighbors", self.n_neighbors, 2, 200,
            "Small values (5-15) show local groups, large ones (50-200) the overall layout."))
        object.__setattr__(self, "min_dist", _check_float(
            "UMAP min_dist", self.min_dist, 0.0, 1.0, "0 packs clusters tightly; 0.1-0.5 spreads points out."))
        if self.metric not in UMAP_METRICS:
            raise ObsError(f"Unknown UMAP distance {self.metric!r}.", "Use one of: " + ", ".join(UMAP_METRICS))
        if self.n_epochs is not None:
            object.__setattr__(self, "n_epochs", _check_int(
                "UMAP n_epochs", self.n_epochs, 10, 2000, "Leave it empty for the default (200)."))

    @property
    def epochs(self) -> int:
        return DEFAULT_EPOCHS if self.n_epochs is None else self.n_epochs

    def fit_transform(self, X: np.ndarray, random_state: int | None = 0) -> np.ndarray:
        """(n, d) -> (n, n_components) float32 coordinates. Deterministic for an int ``random_state``."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = X.shape[0]
        if n < 3:
            raise NotEnoughData(f"UMAP needs at least 3 points; there are {n}.")
        umap = _import_umap()
        k = min(self.n_neighbors, n - 1)
        knn = exact_neighbors(X, k, self.metric)
        kwargs = dict(
            n_components=self.n_components,
            n_neighbors=k,
            min_dist=self.min_dist,
            metric=self.metric,
            n_epochs=self.epochs,
            random_state=random_state,
            n_jobs=1 if random_state is not None else -1,
            precomputed_knn=knn,
            low_memory=True,
            init="spectral" if n > 4 * self.n_components + 2 else "random",
            verbose=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Y = umap.UMAP(**kwargs).fit_transform(X)
        return np.asarray(Y, dtype=np.float32)


def exact_neighbors(X: np.ndarray, k: int, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray, None]:
    """The exact k nearest neighbours of every row (itself included, first), by brute force in BLAS
    (scikit-learn), as umap-learn's ``precomputed_knn`` triple ``(indices int32, distances float32, None)``.

    Why not umap-learn's own search: its approximate NN-descent costs ~30-45 s of numba compilation in every
    new process (it cannot be cached: "uses dynamic globals"), and its exact path below 4,096 points is
    slower still. Brute force on <= 50 PCA dimensions takes 0.1 s at 5,000 points, 1.6 s at 20,000 and
    10 s at the 50,000-point maximum, and the neighbours are exact.
    """
    from sklearn.neighbors import NearestNeighbors  # lazy

    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(X)
    dist, idx = nn.kneighbors(X)
    return np.ascontiguousarray(idx, dtype=np.int32), np.ascontiguousarray(dist, dtype=np.float32), None


_UMAP_LOCK = threading.Lock()
_umap_ready = False


def _import_umap():
    """``import umap`` (~4 s), once per process switching on numba's on-disk cache for umap-learn's and
    pynndescent's compiled functions (most are compiled without ``cache=True``, so a new process recompiled
    them every time: ~8 s of the first fit). With ``NUMBA_CACHE_DIR`` kept between runs (see
    ``obs_core.warmup``) a new process then loads them from disk. ``OBS_NUMBA_CACHE=0`` turns this off."""
    global _umap_ready
    import umap

    with _UMAP_LOCK:
        if not _umap_ready:
            if os.environ.get("OBS_NUMBA_CACHE", "1") != "0":
                _enable_numba_caching(("umap", "pynndescent"))
            _umap_ready = True
    return umap


def _enable_numba_caching(packages: tuple[str, ...]) -> int:
    try:
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - numba internals moved: stay uncached
        return 0
    n = 0
    for name, mod in list(sys.modules.items()):
        if mod is None or not name.split(".")[0] in packages:
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, Dispatcher) and isinstance(getattr(obj, "_cache", None), NullCache):
                try:
                    obj.enable_caching()
                    n += 1
                except Exception:  # pragma: no cover - a function numba cannot cache: stays as it is
                    pass
    return n


@dataclass(frozen=True)
class Hdbscan:
    """HDBSCAN parameters (a ``Clusterer``). Ranges: ``min_cluster_size`` 2-5,000, ``min_samples`` None
    (= ``min_cluster_size``) or 1-1,000, ``cluster_selection_epsilon`` >= 0 (in UMAP units; merges clusters
    closer than this).

    Default ``min_cluster_size=25``: at the default sample (2,500 + 2,500 points) a cluster must hold 0.5%
    of the points. With 10 (Phoenix's value) HDBSCAN split the 10 digit classes of scikit-learn's digits
    into 17-19 clusters (adjusted Rand 0.87); 25 gave 12 clusters (ARI 0.91), while a new group of 1% of a
    2,500-point sample (25 points) is still found.
    """

    min_cluster_size: int = 25
    min_samples: int | None = None
    cluster_selection_epsilon: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "min_cluster_size", _check_int(
            "HDBSCAN min_cluster_size", self.min_cluster_size, 2, 5000,
            "Smaller values find more, smaller clusters."))
        if self.min_samples is not None:
            object.__setattr__(self, "min_samples", _check_int(
                "HDBSCAN min_samples", self.min_samples, 1, 1000,
                "Leave it empty to use min_cluster_size; smaller values leave fewer points as noise."))
        object.__setattr__(self, "cluster_selection_epsilon", _check_float(
            "HDBSCAN cluster_selection_epsilon", self.cluster_selection_epsilon, 0.0, 1e6,
            "0 keeps HDBSCAN's own clusters; a positive distance merges clusters closer than it."))

    def fit_predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster labels (int64), -1 = noise. Fewer points than ``min_cluster_size`` -> all noise."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n = X.shape[0]
        if n < max(2, self.min_cluster_size):
            return np.full(n, -1, dtype=np.int64)
        import hdbscan  # lazy: ~3 s import (scikit-learn)

        min_samples = None if self.min_samples is None else min(self.min_samples, n - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = hdbscan.HDBSCAN(min_cluster_size=self.min_cluster_size, min_samples=min_samples,
                                     cluster_selection_epsilon=self.cluster_selection_epsilon).fit_predict(X)
        return np.asarray(labels, dtype=np.int64)


# ================================================================================================
# Result
# ================================================================================================

@dataclass(frozen=True, eq=False)
class PointCloud:
    """A projected, clustered sample of one embedding.

    ``points``: one row per sampled point, ordered by dataset (primary first) then row id:
    ``row_id, dataset, x, y, z, cluster`` (-1 = noise; ``z`` is 0 for a 2D projection) and, where the schema
    has them, ``prediction_label, prediction_score, actual_label, actual_score``, ``correct`` (prediction ==
    actual for classification; None when either is missing or for regression), ``text`` (the raw text, cut
    to 300 characters), ``link``, plus the requested colour / cluster-mean columns.

    ``clusters``: see ``cluster_summary``. ``n_sampled`` / ``n_skipped``: per dataset. ``params``: every
    parameter used (sample size, seed, UMAP and HDBSCAN settings, PCA dimensions, ...). ``timings``: seconds
    per stage (``sample``, ``fetch``, ``pca``, ``umap``, ``hdbscan``, ``summary``, ``total``).
    ``overall_metric``: the same metric over all sampled points of each dataset.
    """

    points: pd.DataFrame
    clusters: pd.DataFrame
    embedding: str
    n_sampled: dict[str, int]
    n_skipped: dict[str, int]
    params: dict[str, Any]
    timings: dict[str, float]
    metric: str | None = None
    overall_metric: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False
    _context: Any = field(default=None, repr=False)

    def row_ids(self, clusters: Iterable[int] | None = None) -> np.ndarray:
        """Row ids of the sampled points, optionally only those in the given clusters (-1 = noise)."""
        if clusters is None:
            return self.points["row_id"].to_numpy(np.int64)
        wanted = {int(c) for c in clusters}
        return self.points.loc[self.points["cluster"].isin(wanted), "row_id"].to_numpy(np.int64)

    def sorted_clusters(self, by: str = "auto") -> pd.DataFrame:
        return sort_clusters(self.clusters, by=by)

    # The context holds the session's store (a DuckDB connection): never pickle it.
    def __getstate__(self):
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        state["_context"] = None
        return state

    def __setstate__(self, state):
        for k, v in state.items():
            object.__setattr__(self, k, v)


@dataclass(frozen=True, eq=False)
class _Projection:
    row_ids: np.ndarray          # int64, primary first then reference, each ascending
    datasets: np.ndarray         # object array of "primary"/"reference"
    coords: np.ndarray           # (n, n_components) float32
    n_sampled: dict[str, int]
    n_skipped: dict[str, int]
    params: dict[str, Any]
    timings: dict[str, float]


@dataclass(frozen=True, eq=False)
class _Context:
    primary: View
    reference: View | None
    schema: Schema
    embedding: str
    projection_key: Any
    color_columns: tuple[str, ...]
    cluster_means: tuple[str, ...]


# ================================================================================================
# Pipeline
# ================================================================================================

def point_cloud(reference: View | None, primary: View, schema: Schema, embedding: str, *,
                sample_size: int = DEFAULT_SAMPLE_SIZE, umap: Projector | None = None,
                hdbscan: Clusterer | None = None, random_state: int = 0, color_columns: Sequence[str] = (),
                cluster_means: Sequence[str] = (), progress: ProgressFn | None = None) -> PointCloud:
    """Sample, project and cluster ``embedding`` of both datasets; rank the clusters.

    ``sample_size`` rows per dataset (100-25,000), ``random_state`` seeds sampling, PCA and UMAP.
    ``umap`` / ``hdbscan``: any ``Projector`` / ``Clusterer`` (default ``Umap()`` / ``Hdbscan()``).
    ``color_columns``: extra columns copied into ``points`` (for colouring); ``cluster_means``: numeric
    columns whose per-cluster mean is added to ``clusters`` as ``mean_<column>``.
    ``progress(fraction, message)`` is called between stages. See the module docstring for the rules.
    """
    t_start = time.perf_counter()
    umap = Umap() if umap is None else umap
    hdbscan = Hdbscan() if hdbscan is None else hdbscan
    sample_size = _check_int("The sample size", sample_size, MIN_SAMPLE_SIZE, MAX_SAMPLE_SIZE,
                             "Pick between 100 and 25,000 points per dataset.")
    random_state = _check_int("The seed (random_state)", random_state, 0, 2**31 - 1, "Use a whole number ≥ 0.")
    color_columns = tuple(dict.fromkeys(color_columns))
    cluster_means = tuple(dict.fromkeys(cluster_means))
    emb = _embedding_columns(schema, embedding)
    store = primary.store
    _check_columns(primary, reference, (*color_columns, *cluster_means))
    report = _progress(progress)

    proj_key = ("obs.embeddings.projection", primary.key, reference.key if reference is not None else None,
                embedding, emb, sample_size, umap, random_state)
    full_key = ("obs.embeddings.cloud", proj_key, hdbscan, schema, color_columns, cluster_means)
    cacheable = _hashable(full_key)
    if cacheable and full_key in store.cache:
        cloud = store.cache[full_key]
        report(1.0, "Done (from this session's cache)")
        return dataclasses.replace(cloud, from_cache=True,
                                   timings={**cloud.timings, "cached_lookup": time.perf_counter() - t_start})

    proj = store.cache.get(proj_key) if cacheable else None
    if proj is None:
        proj = _project(reference, primary, emb, sample_size, umap, random_state, report)
        if cacheable:
            _remember(store, proj_key, proj, "projection")
        reused = False
    else:
        report(0.85, "Reusing the cached projection")
        reused = True
    ctx = _Context(primary, reference, schema, embedding, proj_key if cacheable else None, color_columns,
                   cluster_means)
    cloud = _assemble(proj, hdbscan, ctx, report, reused=reused)
    cloud = dataclasses.replace(cloud, timings={**cloud.timings, "total": time.perf_counter() - t_start})
    if cacheable:
        _remember(store, full_key, cloud, "cloud")
    report(1.0, "Done")
    return cloud


def recluster(cloud: PointCloud, hdbscan: Clusterer, *, progress: ProgressFn | None = None) -> PointCloud:
    """Cluster the same projection again with other HDBSCAN parameters (no new sampling, PCA or UMAP).

    The result is cached like ``point_cloud``'s, so ``point_cloud(..., hdbscan=...)`` with the same
    parameters then returns it at once.
    """
    t_start = time.perf_counter()
    ctx: _Context | None = cloud._context
    report = _progress(progress)
    pts = cloud.points
    cols = ["x", "y", "z"][: int(cloud.params.get("n_components", 3))]
    proj = _Projection(
        row_ids=pts["row_id"].to_numpy(np.int64), datasets=pts["dataset"].to_numpy(object),
        coords=pts[cols].to_numpy(np.float32), n_sampled=dict(cloud.n_sampled), n_skipped=dict(cloud.n_skipped),
        params={k: v for k, v in cloud.params.items() if not k.startswith("hdbscan")},
        timings={k: cloud.timings.get(k, 0.0) for k in ("sample", "fetch", "pca", "umap")})
    if ctx is None:  # unpickled: no store; recompute the metric from the points' own columns
        return _assemble_offline(cloud, proj, hdbscan, report, t_start)
    full_key = ("obs.embeddings.cloud", ctx.projection_key, hdbscan, ctx.schema, ctx.color_columns,
                ctx.cluster_means)
    store = ctx.primary.store
    cacheable = ctx.projection_key is not None and _hashable(full_key)
    if cacheable and full_key in store.cache:
        report(1.0, "Done (from this session's cache)")
        return dataclasses.replace(store.cache[full_key], from_cache=True)
    out = _assemble(proj, hdbscan, ctx, report, reused=True)
    out = dataclasses.replace(out, timings={**out.timings, "total": time.perf_counter() - t_start})
    if cacheable:
        _remember(store, full_key, out, "cloud")
    report(1.0, "Done")
    return out


@dataclass(frozen=True, eq=False)
class Sample:
    """Sampled row ids per dataset (ascending), rows sampled / skipped per dataset, the vector length."""

    ids: dict[str, np.ndarray]
    n_sampled: dict[str, int]
    n_skipped: dict[str, int]
    dimension: int | None


def sample_points(reference: View | None, primary: View, vector: str, n: int, *,
                  random_state: int = 0) -> Sample:
    """Up to ``n`` valid rows per dataset, drawn at random with a seed (see the module docstring).

    A dataset whose view lacks the vector column gets no points, and all its rows count as skipped.
    """
    views = [v for v in (primary, reference) if v is not None]
    present = [v for v in views if vector in v.columns()]
    if primary not in present:
        raise SchemaError(f"The embedding column {vector!r} is not in the primary data.")
    dims = {v.dataset: _vector_dim(v, vector) for v in present}
    known = {d: k for d, k in dims.items() if k is not None}
    if len(set(known.values())) > 1:
        raise ObsError(f"The {vector!r} vectors have {known.get('primary')} values in the primary data but "
                       f"{known.get('reference')} in the reference.",
                       "Both datasets must use the same embedding model.")
    dim = next(iter(known.values()), None)
    ids: dict[str, np.ndarray] = {}
    n_skipped: dict[str, int] = {}
    for v in views:
        if v not in present or dim is None:
            n_skipped[v.dataset] = v.num_rows()
            ids[v.dataset] = np.empty(0, np.int64)
            continue
        valid = f"coalesce({_valid_sql(vector, dim)}, FALSE)"
        w = v.where()
        n_bad = v.store.fetchone(f"SELECT count(*) FILTER (WHERE NOT {valid}) FROM {v.table} WHERE {w.sql}",
                                 w.params)[0]
        n_skipped[v.dataset] = int(n_bad)
        ids[v.dataset] = v.store.sample_ids(v.dataset, int(n), where=w, random_state=random_state,
                                            extra_condition=valid)
    return Sample(ids, {d: int(len(a)) for d, a in ids.items()}, n_skipped, dim)


def _project(reference: View | None, primary: View, emb: EmbeddingColumns, sample_size: int, umap: Projector,
             random_state: int, report: ProgressFn) -> _Projection:
    timings: dict[str, float] = {}
    views = [v for v in (primary, reference) if v is not None]
    vec = emb.vector

    report(0.0, "Sampling points")
    t = time.perf_counter()
    sample = sample_points(reference, primary, vec, sample_size, random_state=random_state)
    ids, n_sampled, n_skipped, dim = sample.ids, sample.n_sampled, sample.n_skipped, sample.dimension
    timings["sample"] = time.perf_counter() - t
    n_total = sum(n_sampled.values())
    if n_sampled.get("primary", 0) == 0:
        raise NotEnoughData(f"No primary row has a usable {vec!r} vector"
                            f"{' under the current filters' if not primary.unfiltered else ''} "
                            f"({n_skipped.get('primary', 0):,} skipped: missing, wrong length or not finite).",
                            "Check the embedding column or loosen the filters.")
    if n_total < 10:
        raise NotEnoughData(f"Only {n_total} points have a usable {vec!r} vector; a point cloud needs 10.",
                            "Loosen the filters or load more data.")

    report(0.08, f"Reading {n_total:,} vectors")
    t = time.perf_counter()
    X = np.vstack([_fetch_vectors(v, vec, ids[v.dataset], dim) for v in views if n_sampled[v.dataset]])
    row_ids = np.concatenate([ids[v.dataset] for v in views])
    datasets = np.concatenate([np.full(n_sampled[v.dataset], v.dataset, dtype=object) for v in views])
    timings["fetch"] = time.perf_counter() - t

    metric = getattr(umap, "metric", None)
    report(0.12, "Reducing dimensions (PCA)")
    t = time.perf_counter()
    Xr, pca_dims = _reduce(X, random_state, normalise=(metric == "cosine"))
    timings["pca"] = time.perf_counter() - t
    del X

    projector = umap
    if isinstance(umap, Umap) and umap.metric == "cosine":
        projector = dataclasses.replace(umap, metric="euclidean")  # vectors are unit length now
    t = time.perf_counter()
    if not FIT_LOCK.acquire(blocking=False):
        report(0.15, "Waiting for another projection (or the start-up warm-up) to finish")
        FIT_LOCK.acquire()
    try:
        report(0.18, f"Projecting {n_total:,} points with UMAP")
        coords = np.asarray(projector.fit_transform(Xr, random_state=random_state), dtype=np.float32)
    finally:
        FIT_LOCK.release()
    timings["umap"] = time.perf_counter() - t
    if coords.ndim != 2 or coords.shape[0] != n_total or coords.shape[1] not in (2, 3):
        raise ObsError(f"The projector returned an array of shape {coords.shape}; expected ({n_total}, 2 or 3).")

    params = {
        "embedding_vector": vec, "sample_size": sample_size, "random_state": random_state,
        "dimension": dim, "pca_dims": pca_dims, "n_points": n_total, "n_components": coords.shape[1],
        "projector": type(umap).__name__,
    }
    if isinstance(umap, Umap):
        params.update({f"umap_{k}": v for k, v in dataclasses.asdict(umap).items()})
        params.update(umap_n_epochs=umap.epochs, umap_neighbors="exact (brute force)", umap_seeded=True,
                      umap_n_neighbors_used=min(umap.n_neighbors, n_total - 1))
    return _Projection(row_ids, datasets, coords, n_sampled, n_skipped, params, timings)


def _assemble(proj: _Projection, clusterer: Clusterer, ctx: _Context, report: ProgressFn, *,
              reused: bool) -> PointCloud:
    timings = dict(proj.timings)
    if reused:
        timings.update({k: 0.0 for k in ("sample", "fetch", "pca", "umap")})
    report(0.86, "Finding clusters (HDBSCAN)")
    t = time.perf_counter()
    labels = _renumber(np.asarray(clusterer.fit_predict(proj.coords), dtype=np.int64), proj.row_ids)
    timings["hdbscan"] = time.perf_counter() - t

    report(0.93, "Summarising clusters")
    t = time.perf_counter()
    points = _points_frame(proj, labels, ctx)
    metric, direction, metrics, overall = _cluster_metrics(ctx, points)
    means = {_out_name(ctx, c): c for c in ctx.cluster_means}
    clusters = cluster_summary(points, n_sampled=proj.n_sampled, metrics=metrics, metric=metric,
                               direction=direction, cluster_means=tuple(means))
    clusters = clusters.rename(columns={f"mean_{o}": f"mean_{c}" for o, c in means.items() if o != c})
    timings["summary"] = time.perf_counter() - t
    params = dict(proj.params)
    params["projection_reused"] = reused
    params["clusterer"] = type(clusterer).__name__
    if isinstance(clusterer, Hdbscan):
        params.update({f"hdbscan_{k}": v for k, v in dataclasses.asdict(clusterer).items()})
    params["color_columns"] = ctx.color_columns
    params["cluster_means"] = ctx.cluster_means
    return PointCloud(points=points, clusters=clusters, embedding=ctx.embedding, n_sampled=dict(proj.n_sampled),
                      n_skipped=dict(proj.n_skipped), params=params, timings=timings, metric=metric,
                      overall_metric=overall, _context=ctx)


def _assemble_offline(cloud: PointCloud, proj: _Projection, clusterer: Clusterer, report: ProgressFn,
                      t_start: float) -> PointCloud:
    report(0.5, "Finding clusters (HDBSCAN)")
    t = time.perf_counter()
    labels = _renumber(np.asarray(clusterer.fit_predict(proj.coords), dtype=np.int64), proj.row_ids)
    t_h = time.perf_counter() - t
    points = cloud.points.copy()
    points["cluster"] = labels
    metrics = None
    direction = _direction(cloud.metric) if cloud.metric else "higher"
    if cloud.metric == "accuracy" and "correct" in points:
        c = points.dropna(subset=["correct"])
        metrics = (c.assign(value=c["correct"].astype(float)).groupby(["cluster", "dataset"], as_index=False)
                   .agg(value=("value", "mean"), n=("value", "size")))
    means = tuple(cloud.params.get("cluster_means", ()))
    clusters = cluster_summary(points, n_sampled=cloud.n_sampled, metrics=metrics, metric=cloud.metric,
                               direction=direction, cluster_means=means)
    params = {**cloud.params, "projection_reused": True, "clusterer": type(clusterer).__name__}
    if isinstance(clusterer, Hdbscan):
        params.update({f"hdbscan_{k}": v for k, v in dataclasses.asdict(clusterer).items()})
    report(1.0, "Done")
    return dataclasses.replace(cloud, points=points, clusters=clusters, params=params, from_cache=False,
                               timings={"sample": 0.0, "fetch": 0.0, "pca": 0.0, "umap": 0.0, "hdbscan": t_h,
                                        "total": time.perf_counter() - t_start})


# ================================================================================================
# Stages
# ================================================================================================

def _progress(progress: ProgressFn | None) -> ProgressFn:
    if progress is None:
        return lambda fraction, message: None

    def report(fraction: float, message: str) -> None:
        progress(float(min(max(fraction, 0.0), 1.0)), message)
    return report


CACHE_LIMITS = {"projection": 6, "cloud": 12}   # per session; oldest entries are dropped first


def _remember(store, key: Any, value: Any, kind: str) -> None:
    """Put ``value`` in the session cache, keeping at most ``CACHE_LIMITS[kind]`` entries of that kind."""
    order = store.cache.setdefault(("obs.embeddings.lru", kind), [])
    if key in order:
        order.remove(key)
    order.append(key)
    store.cache[key] = value
    while len(order) > CACHE_LIMITS[kind]:
        store.cache.pop(order.pop(0), None)


def _hashable(key: Any) -> bool:
    try:
        hash(key)
        return True
    except TypeError:
        return False


def _embedding_columns(schema: Schema, embedding: str) -> EmbeddingColumns:
    embs = schema.all_embeddings()
    if embedding in embs:
        return embs[embedding]
    by_vector = [e for e in embs.values() if e.vector == embedding]
    if by_vector:
        return by_vector[0]
    if not embs:
        raise SchemaError("The schema names no embedding.", "Map a vector column to an embedding in the schema.")
    raise SchemaError(f"There is no embedding named {embedding!r}.", "Pick one of: " + ", ".join(embs))


def _check_columns(primary: View, reference: View | None, columns: Iterable[str]) -> None:
    have = set(primary.columns()) | (set(reference.columns()) if reference is not None else set())
    missing = [c for c in columns if c not in have]
    if missing:
        raise SchemaError(f"There is no column named {missing[0]!r}.", "Pick one of the dataset's columns.")


def _vector_dim(view: View, column: str) -> int | None:
    """The embedding's length: the array size for fixed-size arrays, else the most common list length."""
    kind = view.kind(column)
    if kind != "vector":
        raise SchemaError(f"The column {column!r} does not hold vectors (lists of numbers).",
                          "Pick a column whose values look like [0.1, 0.2, ...].")
    dtype = view.columns()[column]
    m = re.search(r"\[(\d+)\]$", dtype)
    if m:
        return int(m.group(1))
    w = view.where()
    row = view.store.fetchone(
        f"SELECT len({quote(column)}) AS d, count(*) AS n FROM {view.table} WHERE {w.sql} AND "
        f"{quote(column)} IS NOT NULL AND len({quote(column)}) > 0 GROUP BY d ORDER BY n DESC, d LIMIT 1",
        w.params)
    return int(row[0]) if row else None


def _valid_sql(column: str, dim: int) -> str:
    c = quote(column)
    return (f"({c} IS NOT NULL AND len({c}::DOUBLE[]) = {int(dim)} AND "
            f"len(list_filter({c}::DOUBLE[], lambda x: x IS NULL OR NOT isfinite(x))) = 0)")


def _fetch_vectors(view: View, column: str, ids: np.ndarray, dim: int) -> np.ndarray:
    with warnings.catch_warnings():  # duckdb warns that a DB-API Arrow result is copied once: fine here
        warnings.simplefilter("ignore")
        table = view.store.arrow(
            f"SELECT {ROW_ID}, {quote(column)}::FLOAT[] AS v FROM {view.table} "
            f"WHERE {ROW_ID} IN (SELECT unnest(?::BIGINT[])) ORDER BY {ROW_ID}", [ids.tolist()])
    got = table.column(ROW_ID).to_numpy()
    if len(got) != len(ids) or not np.array_equal(got, ids):
        raise ObsError("The sampled rows changed while reading them.", "Try again.")
    values = table.column("v").combine_chunks()
    flat = values.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(len(ids), dim)


def _reduce(X: np.ndarray, random_state: int, *, normalise: bool) -> tuple[np.ndarray, int]:
    """L2-normalise (cosine) and PCA to <= 50 dims when wider. Returns (X', dims)."""
    X = np.asarray(X, dtype=np.float32)
    if normalise:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms > 0, norms, 1.0)
    if X.shape[1] <= PCA_DIMS:
        return X, X.shape[1]
    from sklearn.decomposition import PCA  # lazy

    n, d = X.shape
    k = max(1, min(PCA_DIMS, n - 1, d))
    # covariance_eigh (d x d eigendecomposition) is exact, needs no randomness and was the fastest
    # (5,000 x 768: ~0.3-1 s vs 1.6 s randomized, 6 s full SVD); it needs more rows than columns.
    solver = "covariance_eigh" if n > d else "full"
    Xr = PCA(n_components=k, random_state=random_state, svd_solver=solver).fit_transform(X)
    return np.asarray(Xr, dtype=np.float32), k


def _renumber(labels: np.ndarray, row_ids: np.ndarray) -> np.ndarray:
    """Clusters 0..k-1 by size (largest first, ties by smallest row id); -1 stays noise."""
    out = np.full(len(labels), -1, dtype=np.int64)
    found = [c for c in np.unique(labels) if c >= 0]
    order = sorted(found, key=lambda c: (-int(np.sum(labels == c)), int(row_ids[labels == c].min())))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def _points_frame(proj: _Projection, labels: np.ndarray, ctx: _Context) -> pd.DataFrame:
    coords = proj.coords
    pts = pd.DataFrame({
        "row_id": proj.row_ids,
        "dataset": pd.Series(proj.datasets, dtype=object),
        "x": coords[:, 0].astype(np.float64),
        "y": coords[:, 1].astype(np.float64),
        "z": coords[:, 2].astype(np.float64) if coords.shape[1] > 2 else np.zeros(len(coords)),
        "cluster": labels,
    })
    attrs = _point_attributes(ctx, proj.row_ids)
    if attrs is not None and len(attrs.columns) > 1:
        pts = pts.merge(attrs, on="row_id", how="left", validate="one_to_one")
    return pts


def _out_name(ctx: _Context, column: str) -> str:
    """The points column holding data column ``column``: its own name unless obs uses that name for
    something else (then ``"<column> (column)"``)."""
    s = ctx.schema
    emb = _embedding_columns(s, ctx.embedding)
    same = {s.prediction_label: "prediction_label", s.prediction_score: "prediction_score",
            s.actual_label: "actual_label", s.actual_score: "actual_score", emb.link_to_data: "link"}
    if same.get(column) == column:   # e.g. the schema's prediction column is literally "prediction_label"
        return column
    return column if column not in POINT_COLUMNS else f"{column} (column)"


def _point_attributes(ctx: _Context, ids: np.ndarray) -> pd.DataFrame | None:
    """Hover / colour columns for the sampled rows, read in DuckDB (missing columns -> NULL)."""
    s = ctx.schema
    emb = _embedding_columns(s, ctx.embedding)
    wanted: list[tuple[str, str]] = []   # (source column, output name)
    for src, out in ((s.prediction_label, "prediction_label"), (s.prediction_score, "prediction_score"),
                     (s.actual_label, "actual_label"), (s.actual_score, "actual_score"),
                     (emb.raw_data, "text"), (emb.link_to_data, "link")):
        if src:
            wanted.append((src, out))
    names = {o for _, o in wanted}
    for c in (*ctx.color_columns, *ctx.cluster_means):
        out = _out_name(ctx, c)
        if out in names:
            continue
        wanted.append((c, out))
        names.add(out)
    views = [v for v in (ctx.primary, ctx.reference) if v is not None]
    classification = _is_classification(s)
    frames = []
    for v in views:
        cols = v.columns()
        sel = [f"{ROW_ID} AS row_id"]
        for src, out in wanted:
            if src not in cols:
                sel.append(f"NULL AS {quote(out)}")
            elif out == "text":
                sel.append(f"left({quote(src)}::VARCHAR, {TEXT_SNIPPET}) AS text")
            elif cols[src].upper().endswith("]"):
                sel.append(f"{quote(src)}::VARCHAR AS {quote(out)}")   # a vector: show it as text
            else:
                sel.append(f"{quote(src)} AS {quote(out)}")
        if classification and s.prediction_label in cols and s.actual_label in cols:
            p, a = quote(s.prediction_label), quote(s.actual_label)
            sel.append(f"CASE WHEN {p} IS NULL OR {a} IS NULL THEN NULL ELSE {p}::VARCHAR = {a}::VARCHAR END "
                       f"AS correct")
        else:
            sel.append("NULL::BOOLEAN AS correct")
        frames.append(v.store.df(f"SELECT {', '.join(sel)} FROM {v.table} "
                                 f"WHERE {ROW_ID} IN (SELECT unnest(?::BIGINT[]))", [ids.tolist()]))
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out["correct"] = out["correct"].astype(object).where(out["correct"].notna(), None)
    return out


# ================================================================================================
# Metrics
# ================================================================================================

_DIRECTIONS = {"accuracy": "higher", "mae": "lower"}


def _is_classification(schema: Schema) -> bool:
    mt = schema.model_type
    if mt is None:
        return bool(schema.prediction_label and schema.actual_label)
    return mt in (ModelType.BINARY, ModelType.MULTICLASS)


def _direction(metric: str) -> str:
    """"higher" / "lower" / "zero" (closer to 0 is better) is better, from ``performance.metric_direction``."""
    try:
        from .performance import metric_direction
        return metric_direction(metric)
    except (ImportError, ObsError):
        return _DIRECTIONS.get(str(metric).lower(), "higher")


def _cluster_metrics(ctx: _Context, points: pd.DataFrame):
    """(metric name, direction, DataFrame[cluster, dataset, value, n], {dataset: overall value}).

    The headline metric (accuracy for classification, MAE for regression) per cluster and dataset, from
    ``performance.metric_by_group`` (computed in DuckDB on the sampled rows). No metric (no model type,
    no prediction/actual pair) -> ``(None, "higher", None, {})``.
    """
    try:
        from .performance import metric_by_group
    except ImportError:
        return None, "higher", None, {}
    store = ctx.primary.store
    frames, overall, name = [], {}, None
    try:
        for dataset in ("primary", "reference"):
            part = points.loc[points["dataset"] == dataset, ["row_id", "cluster"]]
            if part.empty:
                continue
            res = metric_by_group(store, ctx.schema, part.rename(columns={"cluster": "group"}))
            if res is None or res.empty:
                continue
            name = name or str(res["metric"].iloc[0])
            res = res[res["metric"] == name]
            frames.append(pd.DataFrame({"cluster": res["group"].astype(np.int64), "dataset": dataset,
                                        "value": res["value"].astype(float),
                                        "n": res["n"].to_numpy() if "n" in res else np.nan}))
            tot = metric_by_group(store, ctx.schema, pd.DataFrame({"row_id": part["row_id"], "group": 0}))
            tot = tot[tot["metric"] == name]
            overall[dataset] = float(tot["value"].iloc[0]) if len(tot) else float("nan")
    except ObsError:   # e.g. no model type in the schema: the cluster table simply has no metric
        return None, "higher", None, {}
    if name is None:
        return None, "higher", None, {}
    return name, _direction(name), pd.concat(frames, ignore_index=True), overall


# ================================================================================================
# Cluster table
# ================================================================================================

def cluster_summary(points: pd.DataFrame, *, n_sampled: Mapping[str, int] | None = None,
                    metrics: pd.DataFrame | None = None, metric: str | None = None, direction: str = "higher",
                    cluster_means: Sequence[str] = (), sort: str = "auto") -> pd.DataFrame:
    """One row per cluster (and one for noise) from a points frame with ``dataset`` and ``cluster``.

    Columns: ``cluster, is_noise, size, n_primary, n_reference, share_primary, share_reference,
    drift_ratio, metric, metric_primary, metric_reference`` (+ ``n_metric_primary/_reference``, the rows
    the metric was computed on, and ``mean_<col>`` for each of ``cluster_means``).

    * ``share_d = n_d / n_sampled[d]`` (``n_sampled`` defaults to the points per dataset);
    * ``drift_ratio = (share_primary - share_reference) / (share_primary + share_reference)``, NaN when
      only one dataset was sampled;
    * ``metrics``: optional [cluster, dataset, value(, n)] rows (e.g. accuracy per cluster and dataset);
      ``metric`` names it and ``direction`` ("higher"/"lower" is better) drives the performance sort.

    Sorted by ``sort_clusters(..., by=sort)``; noise is always last.
    """
    if "cluster" not in points or "dataset" not in points:
        raise ObsError("A points frame needs 'dataset' and 'cluster' columns.")
    counts = pd.crosstab(points["cluster"], points["dataset"])
    for d in ("primary", "reference"):
        if d not in counts:
            counts[d] = 0
    if n_sampled is None:
        n_sampled = points["dataset"].value_counts().to_dict()
    n_p, n_r = int(n_sampled.get("primary", 0) or 0), int(n_sampled.get("reference", 0) or 0)
    out = pd.DataFrame({"cluster": counts.index.astype(np.int64),
                        "n_primary": counts["primary"].to_numpy(np.int64),
                        "n_reference": counts["reference"].to_numpy(np.int64)})
    out["size"] = out["n_primary"] + out["n_reference"]
    out["is_noise"] = out["cluster"] < 0
    out["share_primary"] = out["n_primary"] / n_p if n_p else np.nan
    out["share_reference"] = out["n_reference"] / n_r if n_r else np.nan
    if n_p and n_r:
        sp, sr = out["share_primary"], out["share_reference"]
        out["drift_ratio"] = ((sp - sr) / (sp + sr)).where(sp + sr > 0, np.nan)
    else:
        out["drift_ratio"] = np.nan
    out["metric"] = metric
    out["metric_primary"] = np.nan
    out["metric_reference"] = np.nan
    out["n_metric_primary"] = 0
    out["n_metric_reference"] = 0
    if metrics is not None and len(metrics):
        m = metrics.copy()
        if "n" not in m:
            m["n"] = np.nan
        for d in ("primary", "reference"):
            md = m[m["dataset"] == d].set_index("cluster")
            out[f"metric_{d}"] = out["cluster"].map(md["value"]).astype(float)
            out[f"n_metric_{d}"] = out["cluster"].map(md["n"]).fillna(0).astype(np.int64)
    for col in cluster_means:
        if col not in points:
            raise ObsError(f"There is no column {col!r} in the points to average.")
        vals = pd.to_numeric(points[col], errors="coerce")
        if vals.notna().sum() == 0 and points[col].notna().any():
            raise ObsError(f"The column {col!r} is not numeric, so it has no mean.", "Pick a numeric column.")
        out[f"mean_{col}"] = out["cluster"].map(vals.groupby(points["cluster"]).mean()).astype(float)
    order = ["cluster", "is_noise", "size", "n_primary", "n_reference", "share_primary", "share_reference",
             "drift_ratio", "metric", "metric_primary", "metric_reference", "n_metric_primary",
             "n_metric_reference"]
    out = out[order + [c for c in out.columns if c not in order]]
    out.attrs["direction"] = direction if direction in ("higher", "lower", "zero") else "higher"
    out.attrs["two_datasets"] = bool(n_p and n_r)
    return sort_clusters(out, by=sort)


def sort_clusters(clusters: pd.DataFrame, by: str = "auto", *, direction: str | None = None) -> pd.DataFrame:
    """Order a cluster table; noise (``cluster == -1``) always last.

    * ``drift``: ``drift_ratio`` descending (new-in-primary first), NaN last, then size;
    * ``performance``: worst ``metric_primary`` first (ascending when higher is better, descending when
      lower is), clusters without a primary value by ``metric_reference``, then NaN, then size;
    * ``size``: largest first;
    * ``auto``: ``drift`` with two datasets, else ``performance`` when any metric exists, else ``size``.
    """
    if by not in (*SORTS, "auto"):
        raise ObsError(f"Cannot sort clusters by {by!r}.", "Use one of: " + ", ".join(SORTS))
    df = clusters.copy()
    attrs = dict(clusters.attrs)
    if direction is None:
        direction = attrs.get("direction")
        if direction is None:
            m = df["metric"].dropna() if "metric" in df else pd.Series(dtype=object)
            direction = _direction(m.iloc[0]) if len(m) else "higher"
    if by == "auto":
        two = attrs.get("two_datasets", bool(df["drift_ratio"].notna().any()) if "drift_ratio" in df else False)
        has_metric = any(c in df and df[c].notna().any() for c in ("metric_primary", "metric_reference"))
        by = "drift" if two else ("performance" if has_metric else "size")
    noise = (df["cluster"] < 0).astype(int)
    size = -df["size"].astype(float)
    if by == "drift":
        key = -df["drift_ratio"].astype(float)
        keys = [noise, key.isna().astype(int), key.fillna(0), size]
    elif by == "performance":
        val = df["metric_primary"].astype(float).fillna(df["metric_reference"].astype(float))
        key = {"higher": val, "lower": -val, "zero": -val.abs()}.get(direction, val)
        keys = [noise, key.isna().astype(int), key.fillna(0), size]
    else:
        keys = [noise, size]
    keys.append(df["cluster"].astype(float))
    order = np.lexsort([k.to_numpy() for k in reversed(keys)])
    out = df.iloc[order].reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs["sorted_by"] = by
    return out
