"""Benchmark the embeddings explorer (sample -> PCA -> UMAP 3D -> HDBSCAN -> cluster table).

    python bench/bench_embeddings.py            # everything (~5-10 min on 2 cores)
    python bench/bench_embeddings.py --quick    # skip the cold subprocesses and the 20k run

Data: synthetic clustered 768-d vectors (30 topics; the primary has 3 topics the reference lacks), loaded into
a ``Store``; 2,500 + 2,500 sampled points (and 10,000 + 10,000 for the large run).

Targets (this machine: 2 cores):
    cold   page-open-to-chart in a fresh process (import + first point_cloud)  <= 20 s
    warm   a new point cloud in a process that has fitted before             <=  6 s
    revisit the same point cloud again (session cache)                        <=  1 s
    large  20,000 points x 768-d, warm                                        <= 30 s
Phoenix's former Inferences pipeline on this machine: ~60 s cold / ~7 s warm at 1,000 x 384.

"cold" is measured four ways, each in a fresh subprocess: without warm-up and an empty numba disk cache (the
very first run on a machine); without warm-up (numba cache on disk from earlier runs); after the start-up
warm-up has finished (the normal case: the app starts it at launch, users need a while to load data); and
requested right after the warm-up started. Wall-clock and CPU seconds are both printed, with the load
average, because a shared machine can stretch wall time well beyond CPU time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "obs", "numba"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGETS = {"cold": 20.0, "warm": 6.0, "revisit": 1.0, "large": 30.0}


def make_store(n_per_set: int, dim: int = 768, seed: int = 0):
    import numpy as np
    import pyarrow as pa

    from obs_core.schema import EmbeddingColumns, ModelType, Schema
    from obs_core.store import Store

    rng = np.random.default_rng(seed)
    k = 30
    centres = rng.normal(size=(k, dim)).astype(np.float32)

    def table(n, topics):
        t = rng.choice(topics, n)
        x = centres[t] + rng.normal(scale=0.7, size=(n, dim)).astype(np.float32)
        actual = (t % 2).astype(str)
        flip = rng.random(n) < np.where(t >= k - 3, 0.45, 0.1)      # the new topics are predicted badly
        pred = np.where(flip, np.where(actual == "1", "0", "1"), actual)
        return pa.table({"vec": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim),
                         "topic": t.astype(np.int64), "pred": pred, "actual": actual})

    store = Store()
    store.load("primary", table(n_per_set, np.arange(k)), fingerprint=f"p{seed}")
    store.load("reference", table(n_per_set, np.arange(k - 3)), fingerprint=f"r{seed}", row_id_offset=n_per_set)
    schema = Schema(embeddings={"e": EmbeddingColumns("vec")}, prediction_label="pred", actual_label="actual",
                    model_type=ModelType.BINARY, positive_class="1", features=("topic",))
    return store, schema


def _views(store):
    from obs_core.store import View
    return View(store, "reference"), View(store, "primary")


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def child(mode: str) -> None:
    """One fresh process: data loaded, then import + first point_cloud (optionally after a warm-up)."""
    t0 = time.perf_counter()
    result: dict = {"mode": mode}
    if mode != "none":
        from obs_core import warmup
        warmup.warm_up(background=True)                  # what app.py does at start
    store, schema = make_store(2500)                     # the user loads data meanwhile
    ref, prim = _views(store)
    if mode == "after":
        from obs_core import warmup
        warmup.wait()
        result["warmup_status"] = warmup.status()
        result["warmup_wall"] = time.perf_counter() - t0
    from obs_core import embeddings
    cloud, wall, cpu = _timed(lambda: embeddings.point_cloud(ref, prim, schema, "e", random_state=0))
    result.update(wall=wall, cpu=cpu, timings=cloud.timings, n_clusters=int((cloud.clusters.cluster >= 0).sum()))
    print("RESULT " + json.dumps(result, default=float))


def run_child(mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": ROOT}
    tmp = None
    if mode == "empty-cache":   # a machine that has never run obs: nothing in the numba disk cache
        import tempfile
        tmp = tempfile.TemporaryDirectory(prefix="obs_numba_")
        env["NUMBA_CACHE_DIR"] = tmp.name
    out = subprocess.run([sys.executable, __file__, "--child", "none" if mode == "empty-cache" else mode],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    if tmp is not None:
        tmp.cleanup()
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(out.stdout[-2000:] + out.stderr[-4000:])


def line(name: str, wall: float, target: float | None, cpu: float | None = None, extra: str = "") -> None:
    ok = "" if target is None else ("OK  " if wall <= target else "MISS")
    tgt = "" if target is None else f"target <= {target:>4.0f} s"
    cpu_s = "" if cpu is None else f"(cpu {cpu:6.2f} s)"
    print(f"{ok:4} {name:<46} {wall:7.2f} s {cpu_s:16} {tgt} {extra}", flush=True)


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"load average at start: {os.getloadavg()}  cores: {os.cpu_count()}", flush=True)
    if not quick:
        for mode, label in (("empty-cache", "cold, no warm-up, empty numba cache"),
                            ("none", "cold, no warm-up"), ("after", "cold, after start-up warm-up"),
                            ("immediate", "cold, requested as warm-up starts")):
            r = run_child(mode)
            extra = f"umap {r['timings']['umap']:.1f} s"
            if mode == "after":
                st = r["warmup_status"]["seconds"]
                extra += (f"; warm-up {st.get('total', 0):.1f} s (import umap {st.get('import_umap', 0):.1f}, "
                          f"1k {st.get('fit_1000', 0):.1f}, 5k {st.get('fit_5000', 0):.1f})")
            line(f"{label} (5,000 x 768)", r["wall"], TARGETS["cold"] if mode != "immediate" else None,
                 r["cpu"], extra)

    from obs_core import embeddings, warmup
    warmup.warm_up(background=False)
    store, schema = make_store(2500)
    ref, prim = _views(store)
    walls, cpus, stages = [], [], []
    for seed in (1, 2, 3):
        cloud, w, c = _timed(lambda: embeddings.point_cloud(ref, prim, schema, "e", random_state=seed))
        walls.append(w)
        cpus.append(c)
        stages.append(cloud.timings)
    top = cloud.clusters.iloc[0]
    st = {k: statistics.median(s[k] for s in stages) for k in ("sample", "fetch", "pca", "umap", "hdbscan", "summary")}
    line("warm, new seed (5,000 x 768), median of 3", statistics.median(walls), TARGETS["warm"],
         statistics.median(cpus), " ".join(f"{k} {v:.2f}" for k, v in st.items()))
    print(f"     top drift cluster: drift {top.drift_ratio:+.2f}, accuracy {top.metric_primary:.2f} "
          f"(overall {cloud.overall_metric['primary']:.2f}), {int((cloud.clusters.cluster >= 0).sum())} clusters")
    rev = [_timed(lambda: embeddings.point_cloud(ref, prim, schema, "e", random_state=3))[1] for _ in range(5)]
    line("revisit (cached), median of 5", statistics.median(rev), TARGETS["revisit"])
    rc = [_timed(lambda: embeddings.recluster(cloud, embeddings.Hdbscan(min_cluster_size=m)))[1] for m in (15, 40, 60)]
    line("recluster with new HDBSCAN params, median of 3", statistics.median(rc), None)
    store2, _ = make_store(2500, seed=7)
    r2, p2 = _views(store2)
    _, w, c = _timed(lambda: embeddings.point_cloud(r2, p2, schema, "e", random_state=0))
    line("warm, other data (5,000 x 768)", w, TARGETS["warm"], c)

    if not quick:
        big, _ = make_store(10_000, seed=11)
        rb, pb = _views(big)
        walls, cpus = [], []
        for seed in (0, 1):
            cloud, w, c = _timed(lambda: embeddings.point_cloud(rb, pb, schema, "e", sample_size=10_000,
                                                                 random_state=seed))
            walls.append(w)
            cpus.append(c)
        line("large warm (20,000 x 768), median of 2", statistics.median(walls), TARGETS["large"],
             statistics.median(cpus), " ".join(f"{k} {cloud.timings[k]:.2f}" for k in ("pca", "umap", "hdbscan")))
    print(f"load average at end: {os.getloadavg()}")
    print("Phoenix (former Inferences, same machine): ~60 s cold / ~7 s warm at 1,000 x 384.")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(sys.argv[sys.argv.index("--child") + 1])
    else:
        main()
