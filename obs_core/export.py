"""Selected rows to CSV or Parquet bytes, through DuckDB.

Rules (pinned by ``tests/unit/test_export.py``):

* **Rows**: the given row ids (``__obs_row_id``, from either dataset); duplicates are dropped. Output order is
  stable and independent of selection order: primary rows first, then reference rows, each by row id (=
  file order). An id in neither dataset raises ``ObsError`` naming it. No ids -> a file with only the header.
* **Columns**: every original column exactly as loaded, union by name over the two datasets (primary's
  columns in file order, then the reference's extra ones); a column a dataset lacks is empty (NULL) for its
  rows. Where the two datasets give one column different types, DuckDB's common type is used (e.g. BIGINT
  and DOUBLE -> DOUBLE; anything and text -> text). Then three columns obs adds:

  - ``obs_dataset``: ``"primary"`` or ``"reference"``;
  - ``obs_cluster``: the row's cluster from ``clusters`` (a DataFrame with ``row_id`` and ``cluster`` such
    as ``PointCloud.points``, a ``PointCloud``, or a mapping row id -> cluster); -1 when unknown (noise, or
    not in the point cloud's sample);
  - ``obs_row_id``: obs's row id (primary 0..P-1, reference P..P+R-1, in file order).

  If the data already has a column of one of these names, obs's column gets a trailing underscore.
* **Formats**: Parquet keeps every type (vectors stay lists, timestamps keep their time zone). CSV has a
  header row, ``,`` separators, vectors as ``"[0.1, 0.2, ...]"`` strings (float32 values printed with the
  shortest text that reads back to the same float32), timestamps in ISO form (UTC).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import ObsError
from .store import ROW_ID, Store, quote

FORMATS = ("csv", "parquet")
ADDED = ("obs_dataset", "obs_cluster", "obs_row_id")


def export_rows(store: Store, row_ids: Iterable[int], *, format: str = "csv", clusters: Any = None) -> bytes:
    """The rows ``row_ids`` with every original column + ``obs_dataset``, ``obs_cluster``, ``obs_row_id``,
    as CSV or Parquet bytes. See the module docstring for order, columns and types."""
    fmt = str(format).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ObsError(f"Cannot export as {format!r}.", "Choose CSV or Parquet.")
    ids = _ids(row_ids)
    cluster_of = _cluster_map(clusters)
    datasets = store.datasets()
    if not datasets:
        raise ObsError("There is no data to export.", "Load a primary file first.")

    # Union of columns by name, first-seen order (primary first).
    columns: list[str] = []
    types: dict[str, dict[str, str]] = {d: store.columns(d) for d in datasets}
    for d in datasets:
        columns += [c for c in types[d] if c not in columns]
    added = {}
    for name in ADDED:
        out = name
        while out in columns:
            out += "_"
        added[name] = out

    found = _found(store, datasets, ids)
    missing = np.setdiff1d(ids, found)
    if len(missing):
        shown = ", ".join(str(int(i)) for i in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                                               else "")
        raise ObsError(f"{len(missing):,} selected row id{'s are' if len(missing) > 1 else ' is'} not in the data: "
                       f"{shown}.", "Select points again: the data may have been reloaded.")

    sel_ids = ids.tolist()
    c_ids = np.fromiter(cluster_of.keys(), dtype=np.int64, count=len(cluster_of)).tolist()
    c_vals = np.fromiter(cluster_of.values(), dtype=np.int64, count=len(cluster_of)).tolist()
    parts = []
    for rank, d in enumerate(datasets):
        cols = types[d]
        sel = []
        for c in columns:
            if c in cols:
                sel.append(f"t.{quote(c)}")
            else:  # an untyped NULL takes the other dataset's type in the union
                sel.append(f"NULL AS {quote(c)}")
        sel += [f"'{d}' AS {quote(added['obs_dataset'])}",
                f"coalesce(k.cluster, -1)::BIGINT AS {quote(added['obs_cluster'])}",
                f"t.{ROW_ID} AS {quote(added['obs_row_id'])}",
                f"{rank} AS __obs_rank"]
        parts.append(f"SELECT {', '.join(sel)} FROM {quote(d)} t "
                     f"LEFT JOIN k ON t.{ROW_ID} = k.row_id "
                     f"WHERE t.{ROW_ID} IN (SELECT unnest(?::BIGINT[]))")
    out_cols = ", ".join(quote(c) for c in [*columns, *added.values()])
    query = (f"WITH k AS (SELECT unnest(?::BIGINT[]) AS row_id, unnest(?::BIGINT[]) AS cluster) "
             f"SELECT {out_cols} FROM ({' UNION ALL '.join(parts)}) "
             f"ORDER BY __obs_rank, {quote(added['obs_row_id'])}")
    params = [c_ids, c_vals] + [sel_ids] * len(datasets)

    options = "(FORMAT csv, HEADER true, DELIMITER ',')" if fmt == "csv" else "(FORMAT parquet, COMPRESSION zstd)"
    with tempfile.TemporaryDirectory(prefix="obs_export_") as tmp:
        path = os.path.join(tmp, f"{uuid.uuid4().hex}.{fmt}")
        try:
            store.fetchall(f"COPY ({query}) TO '{path}' {options}", params)
        except Exception as e:  # duckdb.Error: e.g. two incompatible column types
            raise ObsError(f"The selected rows could not be written as {fmt.upper()}: {e}") from None
        with open(path, "rb") as f:
            return f.read()


def _ids(row_ids: Iterable[int]) -> np.ndarray:
    if isinstance(row_ids, (str, bytes)):
        raise ObsError("Row ids must be a list of whole numbers.")
    try:
        arr = np.asarray(list(row_ids))
    except TypeError:
        raise ObsError("Row ids must be a list of whole numbers.") from None
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ObsError("Row ids must be whole numbers (obs's row ids, e.g. PointCloud.points['row_id']).")
    return np.unique(arr.astype(np.int64))


def _cluster_map(clusters: Any) -> dict[int, int]:
    """row id -> cluster from a DataFrame (row_id, cluster), an object with ``.points``, or a mapping."""
    if clusters is None:
        return {}
    if hasattr(clusters, "points") and isinstance(getattr(clusters, "points"), pd.DataFrame):
        clusters = clusters.points
    if isinstance(clusters, pd.DataFrame):
        rid = "row_id" if "row_id" in clusters else (ROW_ID if ROW_ID in clusters else None)
        if rid is None or "cluster" not in clusters:
            raise ObsError("The cluster assignments need 'row_id' and 'cluster' columns.")
        df = clusters[[rid, "cluster"]].dropna()
        return dict(zip(df[rid].astype(np.int64).tolist(), df["cluster"].astype(np.int64).tolist()))
    if isinstance(clusters, Mapping):
        try:
            return {int(k): int(v) for k, v in clusters.items() if v is not None}
        except (TypeError, ValueError):
            raise ObsError("Cluster assignments must map whole-number row ids to whole-number clusters.") from None
    raise ObsError(f"Cannot read cluster assignments from {type(clusters).__name__}.",
                   "Pass the point cloud's points (row_id, cluster) or a mapping row id -> cluster.")


def _found(store: Store, datasets: list[str], ids: np.ndarray) -> np.ndarray:
    if not len(ids):
        return ids
    union = " UNION ALL ".join(f"SELECT {ROW_ID} FROM {quote(d)} WHERE {ROW_ID} IN (SELECT unnest(?::BIGINT[]))"
                               for d in datasets)
    res = store.fetchnumpy(union, [ids.tolist()] * len(datasets))
    return np.asarray(res[ROW_ID], dtype=np.int64)
