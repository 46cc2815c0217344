"""``Comparison``: a schema, a primary and an optional reference in one session's DuckDB store.

It is the one object notebooks, scripts and the pages share. Filters return a new ``Comparison`` on the
same store (no data is copied). Column filters apply to both datasets, so "region = EU" compares EU with
EU; the time range applies to the primary only, because the reference is usually another period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

import pandas as pd

from .errors import FilterError, ObsError, SchemaError
from .io import Dataset, read
from .schema import Schema
from .store import Filter, Store, TimeRange, View, quote
from .validate import Problem, validate


class Comparison:
    def __init__(self, schema: Schema, primary: Any, reference: Any = None, *, store: Store | None = None,
                 filters: Sequence[Filter] = (), time_range: TimeRange | None = None, check: bool = True):
        if primary is None and store is None:
            raise ObsError("A comparison needs at least a primary dataset.", "Load a primary file.")
        self.schema = schema
        self.filters: tuple[Filter, ...] = tuple(f if isinstance(f, Filter) else Filter(*f) for f in filters)
        self.time_range = time_range
        if store is not None:
            self.store = store
            self.problems: list[Problem] = []
            self.primary_dataset = primary
            self.reference_dataset = reference
            return
        primary = primary if isinstance(primary, Dataset) or primary is None else read(primary, name="primary")
        reference = reference if isinstance(reference, Dataset) or reference is None else read(reference,
                                                                                              name="reference")
        self.primary_dataset, self.reference_dataset = primary, reference
        self.problems = validate(schema, reference=reference, primary=primary) if check else []
        errors = [p for p in self.problems if p.severity == "error"]
        if errors:
            raise SchemaError(f"The data does not fit the schema ({len(errors)} problem"
                              f"{'s' if len(errors) > 1 else ''}): " + " ".join(p.message for p in errors[:5]),
                              "Fix the schema or the files, then try again.")
        self.store = Store()
        self.store.load("primary", primary.table, timestamp=schema.timestamp if _has(primary, schema.timestamp)
                        else None, fingerprint=primary.fingerprint)
        if reference is not None:
            self.store.load("reference", reference.table,
                            timestamp=schema.timestamp if _has(reference, schema.timestamp) else None,
                            fingerprint=reference.fingerprint, row_id_offset=primary.num_rows)

    # ---- derived comparisons -------------------------------------------------------------------
    def _with(self, *, filters=None, time_range: Any = "keep") -> "Comparison":
        return Comparison(self.schema, self.primary_dataset, self.reference_dataset, store=self.store,
                          filters=self.filters if filters is None else filters,
                          time_range=self.time_range if time_range == "keep" else time_range)

    def where(self, column: str, op: str, value: Any = None) -> "Comparison":
        f = Filter(column, op, value)
        self.store.where("primary", [f])  # raise FilterError now, not at first use
        return self._with(filters=self.filters + (f,))

    def with_filters(self, filters: Iterable[Filter], time_range: TimeRange | None = None) -> "Comparison":
        """Replace all filters and the time range at once (what the pages' sidebar does)."""
        fs = tuple(f if isinstance(f, Filter) else Filter(*f) for f in filters)
        for d in self.store.datasets():
            self.store.where(d, fs)
        return self._with(filters=fs, time_range=time_range)

    def between_times(self, start: Any = None, end: Any = None) -> "Comparison":
        """Restrict the primary to [start, end) (UTC; naive times are taken as UTC)."""
        return self._with(time_range=TimeRange(start, end) if (start is not None or end is not None) else None)

    # ---- views ---------------------------------------------------------------------------------
    @property
    def has_reference(self) -> bool:
        return self.store.has("reference")

    @property
    def primary(self) -> View:
        return View(self.store, "primary", self.filters, self.time_range)

    @property
    def reference(self) -> View | None:
        return View(self.store, "reference", self.filters, None) if self.has_reference else None

    def num_rows(self) -> dict[str, int]:
        out = {"primary": self.primary.num_rows()}
        if self.reference is not None:
            out["reference"] = self.reference.num_rows()
        return out

    def time_span(self, dataset: str = "primary") -> tuple[dt.datetime | None, dt.datetime | None]:
        """(first, last) timestamp of a dataset under the current filters; (None, None) without a time axis."""
        v = self.primary if dataset == "primary" else self.reference
        if v is None:
            return None, None
        w = v.where()
        lo, hi = self.store.fetchone(f"SELECT min(__obs_ts), max(__obs_ts) FROM {v.table} WHERE {w.sql}", w.params)
        return lo, hi

    def summary(self) -> pd.DataFrame:
        """One row per dataset: dataset, name, rows, columns, first and last timestamp (UTC)."""
        rows = []
        for d, ds in (("primary", self.primary_dataset), ("reference", self.reference_dataset)):
            if not self.store.has(d):
                continue
            lo, hi = self.time_span(d)
            rows.append({"dataset": d, "name": getattr(ds, "name", d), "rows": self.store.num_rows(d),
                         "columns": len(self.store.columns(d)), "first": lo, "last": hi})
        return pd.DataFrame(rows)

    def roles(self) -> pd.DataFrame:
        """The schema's columns by role: role, columns (comma-separated), count."""
        by: dict[str, list[str]] = {}
        for c, r in self.schema.roles().items():
            by.setdefault(r, []).append(c)
        order = ["prediction_id", "timestamp", "feature", "tag", "prediction_label", "prediction_score",
                 "class_score", "actual_label", "actual_score", "embedding", "raw_data", "link_to_data",
                 "model_id", "model_version", "environment", "excluded"]
        return pd.DataFrame([{"role": r.replace("_", " "), "count": len(by[r]), "columns": ", ".join(by[r])}
                             for r in order if r in by])

    # ---- column facts for filter widgets ------------------------------------------------------------
    def filterable_columns(self) -> dict[str, str]:
        """column -> kind (number/text/bool/time) for the schema's columns that can be filtered."""
        out: dict[str, str] = {}
        for d in self.store.datasets():
            for c in self.store.columns(d):
                k = self.store.kind(d, c)
                if c not in out and k in ("number", "text", "bool", "time"):
                    out[c] = k
        named = [c for c in self.schema.columns() if c in out]
        return {c: out[c] for c in named} | {c: k for c, k in out.items() if c not in named
                                                and c not in self.schema.excluded}

    def distinct_values(self, column: str, limit: int = 200) -> pd.DataFrame:
        """The most frequent values of ``column`` over both datasets (unfiltered): value, count."""
        parts = []
        for d in self.store.datasets():
            if column in self.store.columns(d):
                parts.append(f"SELECT {quote(column)}::VARCHAR AS value FROM {quote(d)}")
        if not parts:
            raise FilterError(f"There is no column named {column!r}.")
        sql = (f"SELECT value, count(*) AS count FROM ({' UNION ALL '.join(parts)}) WHERE value IS NOT NULL "
               f"GROUP BY value ORDER BY count DESC, value LIMIT ?")
        return self.store.df(sql, [int(limit)])

    def value_range(self, column: str) -> tuple[Any, Any]:
        """(min, max) of a numeric or time column over both datasets (unfiltered)."""
        lo = hi = None
        for d in self.store.datasets():
            if column in self.store.columns(d):
                a, b = self.store.fetchone(f"SELECT min({quote(column)}), max({quote(column)}) FROM {quote(d)}")
                lo = a if lo is None or (a is not None and a < lo) else lo
                hi = b if hi is None or (b is not None and b > hi) else hi
        return lo, hi

    # ---- engine --------------------------------------------------------------------------------
    def drift(self, **options: Any) -> pd.DataFrame:
        from . import drift
        return drift.drift_table(self.reference, self.primary, self.schema, **options)

    def drift_over_time(self, granularity: str | None = None, **options: Any) -> pd.DataFrame:
        from . import timeseries
        return timeseries.drift_over_time(self.reference, self.primary, self.schema, granularity=granularity,
                                          **options)

    def quality(self, **options: Any) -> pd.DataFrame:
        from . import quality
        return quality.quality_table(self.reference, self.primary, self.schema, **options)

    def performance(self, by: str | None = None, granularity: str | None = None, **options: Any) -> pd.DataFrame:
        from . import performance
        return performance.performance(self.reference, self.primary, self.schema, by=by, granularity=granularity,
                                       **options)

    def segments(self, by: str, **options: Any) -> pd.DataFrame:
        from . import performance
        return performance.segments(self.reference, self.primary, self.schema, by=by, **options)

    def fairness(self, sensitive: str, base_group: Any = None, **options: Any) -> pd.DataFrame:
        from . import performance
        return performance.fairness(self.reference, self.primary, self.schema, sensitive=sensitive,
                                    base_group=base_group, **options)

    def embedding_drift(self, embedding: str, **options: Any):
        from . import drift
        return drift.embedding_drift(self.reference, self.primary, self.schema, embedding, **options)

    def point_cloud(self, embedding: str, **options: Any):
        from . import embeddings
        return embeddings.point_cloud(self.reference, self.primary, self.schema, embedding, **options)

    def export(self, row_ids: Iterable[int], format: str = "csv", *, clusters: Any = None) -> bytes:
        """Selected rows as CSV or Parquet bytes: every original column + ``obs_dataset`` + ``obs_cluster``.

        ``clusters`` (optional) maps row id -> cluster, e.g. ``cloud.points``; rows without one get -1.
        """
        from . import export
        return export.export_rows(self.store, row_ids, format=format, clusters=clusters)

    def rows(self, row_ids: Iterable[int], columns: Sequence[str] | None = None) -> pd.DataFrame:
        return self.store.fetch(row_ids, columns)

    @property
    def cache_key(self) -> tuple:
        """What results depend on: data fingerprints, schema, filters and time range."""
        return (tuple(sorted(self.store.fingerprints.items())), self.schema.to_json(), self.filters,
                self.time_range)

    def close(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        n = self.num_rows()
        fs = ", ".join(f.label() for f in self.filters)
        return f"<Comparison primary={n['primary']:,} reference={n.get('reference', 0):,}{' where ' + fs if fs else ''}>"


def _has(dataset: Dataset | None, column: str | None) -> bool:
    return dataset is not None and column is not None and column in dataset.columns
