"""Pay UMAP's numba compilation once per process, before a user asks for a point cloud.

The first UMAP fit in a new process compiles numba code. ``obs_core.embeddings`` already removed the worst of
it (umap-learn's NN-descent search, ~30-45 s of uncacheable compilation: obs computes exact neighbours with
scikit-learn instead) and switches on numba's disk cache for umap-learn's functions, so a new process with a
warm cache directory needs ~6 s of CPU for import + first point cloud, and one with an empty cache ~30 s.
``warm_up()`` pays that at app start: it imports umap, hdbscan and scikit-learn and runs the pipeline's own
code (``_reduce`` -> PCA, ``Umap().fit_transform`` with the pipeline's options: seeded, exact neighbours, 3D,
200 epochs; then ``Hdbscan().fit_predict``) on ~1,000 and ~5,000 random 64-d points, so every code path the
pipeline uses is compiled and cached.

* **Numba cache directory**: numba reads ``NUMBA_CACHE_DIR`` when it is first imported. The app sets it at
  start-up (``obs_core.warmup.configure_numba_cache()`` first thing in ``app.py``, before anything imports
  numba); ``warm_up`` sets it too if nobody has (default ``~/.cache/obs/numba``, or ``$XDG_CACHE_HOME``),
  and if numba is already imported it reloads numba's configuration so the directory still applies.
* **Idempotent**: one warm-up per process. A second call returns the same thread (``background=True``) or
  waits for the running/finished one (``background=False``).
* It takes ``embeddings.FIT_LOCK`` per fit, like the pipeline, so a point cloud requested during the
  warm-up waits for the current warm-up fit and then runs on compiled code.
* Failures are recorded (``status()["error"]``), never raised from the background thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = threading.Event()
_status: dict[str, Any] = {"state": "not started", "seconds": {}, "error": None}

SIZES = (1_000, 5_000)
DIM = 64   # > 50, so the PCA step runs as well


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "obs", "numba")


def configure_numba_cache(path: str | None = None) -> str:
    """Set ``NUMBA_CACHE_DIR`` (unless already set) and create it; returns the directory in use.

    Call it before numba is imported (the app does so at start). If numba is already imported its
    configuration is reloaded so the directory still takes effect for functions compiled from now on.
    """
    if path:
        os.environ["NUMBA_CACHE_DIR"] = path
    else:
        os.environ.setdefault("NUMBA_CACHE_DIR", default_cache_dir())
    cache = os.environ["NUMBA_CACHE_DIR"]
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as e:  # read-only home: numba falls back to __pycache__ next to the sources
        log.warning("numba cache directory %s is not usable: %s", cache, e)
    if "numba" in sys.modules:
        try:
            from numba.core import config
            if getattr(config, "CACHE_DIR", None) != cache:
                config.reload_config()
        except Exception:  # pragma: no cover - numba internals moved
            pass
    return cache


def warm_up(background: bool = True) -> threading.Thread | None:
    """Compile UMAP/HDBSCAN once for this process (in a daemon thread). Returns that thread
    (``background=True``), or ``None`` once the warm-up has finished (``background=False``)."""
    global _thread
    with _lock:
        if _thread is None:
            configure_numba_cache()
            _status["state"] = "running"
            _thread = threading.Thread(target=_run, name="obs-umap-warmup", daemon=True)
            _thread.start()
        thread = _thread
    if background:
        return thread
    _done.wait()
    return None


def is_warm() -> bool:
    return _done.is_set() and _status["error"] is None


def wait(timeout: float | None = None) -> bool:
    """Wait for a started warm-up; True when it has finished."""
    return _done.wait(timeout)


def status() -> dict[str, Any]:
    """``state`` (not started / running / done / failed), ``seconds`` per step, ``error``."""
    return {**_status, "seconds": dict(_status["seconds"])}


def _run() -> None:
    t0 = time.perf_counter()
    secs = _status["seconds"]
    try:
        import numpy as np

        t = time.perf_counter()
        import umap  # noqa: F401
        secs["import_umap"] = time.perf_counter() - t
        t = time.perf_counter()
        import hdbscan  # noqa: F401
        secs["import_hdbscan"] = time.perf_counter() - t

        from . import embeddings
        rng = np.random.default_rng(0)
        for n in SIZES:
            centres = rng.normal(size=(8, DIM)) * 4
            X = (centres[rng.integers(0, 8, n)] + rng.normal(size=(n, DIM))).astype(np.float32)
            t = time.perf_counter()
            Xr, _ = embeddings._reduce(X, 0, normalise=False)
            with embeddings.FIT_LOCK:
                Y = embeddings.Umap().fit_transform(Xr, random_state=0)
            embeddings.Hdbscan().fit_predict(Y)
            secs[f"fit_{n}"] = time.perf_counter() - t
        _status["state"] = "done"
    except Exception as e:  # never crash the app because of a warm-up
        _status["state"] = "failed"
        _status["error"] = f"{type(e).__name__}: {e}"
        log.warning("UMAP warm-up failed: %s", _status["error"])
    finally:
        secs["total"] = time.perf_counter() - t0
        _done.set()
