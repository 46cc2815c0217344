"""One DuckDB database per user session, holding the ``reference`` and ``primary`` tables.

Every query of a session goes through its own ``Store`` (an in-memory DuckDB connection created here),
never through ``duckdb.sql`` or a module-level connection, so two sessions cannot see each other's data.

Each table keeps the columns exactly as loaded and adds two internal ones:
``__obs_row_id`` (unique across both tables: primary rows 0..P-1, reference rows P..P+R-1, in file order)
and ``__obs_ts`` (the schema's timestamp as a naive UTC TIMESTAMP, or NULL without a time axis).

Filters are structured ``(column, op, value)`` triples compiled to parameterized SQL with quoted
identifiers; values are never formatted into SQL text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import FilterError, ObsError, SchemaError
from .timestamps import parse_timestamps

ROW_ID = "__obs_row_id"
TS = "__obs_ts"
INTERNAL = (ROW_ID, TS)
DATASETS = ("primary", "reference")

OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null", "contains")
_COMPARE = {"=", "!=", "<", "<=", ">", ">="}


def quote(name: str) -> str:
    """Quote an identifier for DuckDB (doubling embedded quotes), so any column name is safe."""
    if not isinstance(name, str):
        raise FilterError(f"A column name must be text, not {type(name).__name__}.")
    if "\x00" in name:
        raise FilterError("A column name cannot contain a NUL character.")
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Filter:
    """``column op value``. ``in``/``not_in`` take a list, ``between`` a (low, high) pair (inclusive),
    ``is_null``/``not_null`` no value, ``contains`` a substring (case-insensitive)."""

    column: str
    op: str
    value: Any = None

    def __post_init__(self):
        if self.op not in OPS:
            raise FilterError(f"Unknown filter operator {self.op!r}.", "Use one of: " + ", ".join(OPS))
        if isinstance(self.value, list):  # keep filters hashable (they are cache keys)
            object.__setattr__(self, "value", tuple(self.value))
        if isinstance(self.value, (set, frozenset)):
            object.__setattr__(self, "value", tuple(sorted(self.value, key=str)))

    def label(self) -> str:
        v = self.value
        if self.op in ("is_null", "not_null"):
            return f"{self.column} {self.op.replace('_', ' ')}"
        if self.op in ("in", "not_in"):
            shown = ", ".join(map(str, v[:5])) + (f", … (+{len(v) - 5})" if len(v) > 5 else "")
            return f"{self.column} {'in' if self.op == 'in' else 'not in'} [{shown}]"
        if self.op == "between":
            return f"{v[0]} ≤ {self.column} ≤ {v[1]}"
        return f"{self.column} {self.op} {v}"


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC interval [start, end); either end may be open (None)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "start", _to_utc_naive(self.start) if self.start is not None else None)
        object.__setattr__(self, "end", _to_utc_naive(self.end) if self.end is not None else None)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise FilterError(f"The time range starts ({self.start}) at or after it ends ({self.end}).")


def _to_utc_naive(v: Any) -> dt.datetime:
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError):
        raise FilterError(f"{v!r} is not a date or time.") from None
    if ts is pd.NaT:
        raise FilterError(f"{v!r} is not a date or time.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


@dataclass(frozen=True)
class Where:
    sql: str
    params: tuple


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t.endswith("]") and "[" in t:
        return "vector"
    if t in ("BOOLEAN",):
        return "bool"
    if any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                                      "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")):
        return "number"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "time"
    if t in ("VARCHAR",) or t.startswith("VARCHAR") or t.startswith("ENUM"):
        return "text"
    return "other"


class Store:
    """A session's DuckDB database. Not shared between sessions; safe to use from one thread at a time
    (a lock serialises queries, because Streamlit may rerun a script while another run is finishing)."""

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None):
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]?i?B", memory_limit.strip(), re.I):
                raise ValueError(f"memory_limit must look like '4GB', not {memory_limit!r}")
            self.con.execute(f"SET memory_limit = '{memory_limit.strip()}'")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")  # no terminal progress bars from a server
        self._lock = threading.RLock()
        self._columns: dict[str, dict[str, str]] = {}
        self._rows: dict[str, int] = {}
        self.fingerprints: dict[str, str] = {}
        self.ts_info: dict[str, Any] = {}
        self.cache: dict[Any, Any] = {}   # per-session memo for engine results (reference profiles, ...)

    # ---- loading -------------------------------------------------------------------------------
    def load(self, dataset: str, table: pa.Table, *, timestamp: str | None = None, fingerprint: str = "",
             row_id_offset: int = 0) -> None:
        """Create table ``dataset`` from ``table`` (columns as loaded + ``__obs_row_id`` + ``__obs_ts``)."""
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}")
        names = table.column_names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"The {dataset} data has duplicate column names: {', '.join(map(repr, dupes))}.",
                              "Rename the columns so each name is used once, then upload again.")
        clash = [n for n in names if n in INTERNAL]
        if clash:
            raise SchemaError(f"Column name {clash[0]!r} is reserved by obs.", "Rename that column.")
        ids = pa.array(np.arange(row_id_offset, row_id_offset + table.num_rows, dtype=np.int64))
        if timestamp:
            if timestamp not in names:
                raise SchemaError(f"The timestamp column {timestamp!r} is not in the {dataset} data.")
            parsed = parse_timestamps(table.column(timestamp))
            ts = parsed.values
            self.ts_info[dataset] = parsed
        else:
            ts = pa.nulls(table.num_rows, pa.timestamp("us"))
            self.ts_info.pop(dataset, None)
        full = table.append_column(ROW_ID, ids).append_column(TS, ts)
        with self.registered(f"__obs_src_{dataset}", full) as view:
            try:
                self.con.execute(f"CREATE OR REPLACE TABLE {quote(dataset)} AS SELECT * FROM {quote(view)}")
            except duckdb.Error as e:
                raise ObsError(f"The {dataset} data could not be stored: {e}") from None
            desc = self.con.execute(f"DESCRIBE {quote(dataset)}").fetchall()
        self._columns[dataset] = {r[0]: r[1] for r in desc if r[0] not in INTERNAL}
        self._rows[dataset] = table.num_rows
        self.fingerprints[dataset] = fingerprint
        self.cache.clear()

    def drop(self, dataset: str) -> None:
        with self._lock:
            self.con.execute(f"DROP TABLE IF EXISTS {quote(dataset)}")
        self._columns.pop(dataset, None)
        self._rows.pop(dataset, None)
        self.fingerprints.pop(dataset, None)
        self.cache.clear()

    def close(self) -> None:
        with self._lock:
            self.con.close()

    # ---- metadata ------------------------------------------------------------------------------
    def has(self, dataset: str) -> bool:
        return dataset in self._columns

    def datasets(self) -> list[str]:
        return [d for d in DATASETS if d in self._columns]

    def columns(self, dataset: str) -> dict[str, str]:
        """Original column -> DuckDB type name."""
        return dict(self._columns[dataset])

    def kind(self, dataset: str, column: str) -> str | None:
        t = self._columns.get(dataset, {}).get(column)
        return _kind(t) if t else None

    def num_rows(self, dataset: str, where: Where | None = None) -> int:
        if where is None:
            return self._rows[dataset]
        return int(self.fetchone(f"SELECT count(*) FROM {quote(dataset)} WHERE {where.sql}", where.params)[0])

    # ---- queries -------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence | None = None):
        """Run SQL on this session's connection; returns the DuckDB result (fetch it while holding no lock)."""
        with self._lock:
            return self.con.execute(sql, list(params) if params else [])

    def fetchall(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        """Run and fetch under the lock (nothing is left open on the connection)."""
        with self._lock:
            return self.con.execute(sql, list(params) if params else []).fetchall()

    def fetchone(self, sql: str, params: Sequence | None = None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def fetchnumpy(self, sql: str, params: Sequence | None = None) -> dict:
        with self._lock:
            return self.con.execute(sql, list(params) if params else []).fetchnumpy()

    @contextlib.contextmanager
    def registered(self, name: str, table: pa.Table):
        """Expose an Arrow table to SQL as ``name`` for the duration of the block (holding the lock).

        DuckDB refuses ``register`` while an earlier result is unfinished, so that result is finished first.
        """
        with self._lock:
            self.con.execute("SELECT 1").fetchall()
            self.con.register(name, table)
            try:
                yield name
            finally:
                self.con.unregister(name)

    def arrow(self, sql: str, params: Sequence | None = None) -> pa.Table:
        with self._lock:
            self.con.execute("SELECT 1").fetchall()  # finish any open execute() result first
            # con.sql(...).to_arrow_table() avoids the extra copy a DB-API result's Arrow output makes.
            return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()

    def df(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        with self._lock:
            return self.con.execute(sql, list(params) if params else []).df()

    # ---- filters -------------------------------------------------------------------------------
    def where(self, dataset: str, filters: Iterable[Filter] = (), time_range: TimeRange | None = None) -> Where:
        """Compile filters (AND) and a time range into a parameterized WHERE clause for ``dataset``.

        A filter on a column that this dataset lacks (but the other has) treats the column as all-missing:
        ``is_null`` keeps every row, any other operator keeps none. A column in neither dataset is an error.
        """
        parts: list[str] = []
        params: list[Any] = []
        cols = self._columns.get(dataset, {})
        for f in filters:
            if not isinstance(f, Filter):
                f = Filter(*f)
            if f.column not in cols:
                if not any(f.column in c for c in self._columns.values()):
                    raise FilterError(f"There is no column named {f.column!r} to filter on.",
                                      "Pick one of the dataset's columns.")
                parts.append("TRUE" if f.op == "is_null" else "FALSE")
                continue
            sql, p = _compile(f, _kind(cols[f.column]), cols[f.column])
            parts.append(sql)
            params.extend(p)
        if time_range is not None:
            if time_range.start is not None:
                parts.append(f"{TS} >= ?")
                params.append(time_range.start)
            if time_range.end is not None:
                parts.append(f"{TS} < ?")
                params.append(time_range.end)
        return Where(" AND ".join(f"({p})" for p in parts) if parts else "TRUE", tuple(params))

    # ---- rows ----------------------------------------------------------------------------------
    def sample_ids(self, dataset: str, n: int, *, where: Where | None = None, random_state: int = 0,
                   extra_condition: str | None = None) -> np.ndarray:
        """Up to ``n`` row ids drawn uniformly at random (seeded, deterministic, independent of file order)."""
        w = where or Where("TRUE", ())
        cond = w.sql + (f" AND ({extra_condition})" if extra_condition else "")
        sql = (f"SELECT {ROW_ID} FROM {quote(dataset)} WHERE {cond} "
               f"ORDER BY hash({ROW_ID}, ?::BIGINT), {ROW_ID} LIMIT ?")
        res = self.fetchnumpy(sql, [*w.params, int(random_state), int(n)])
        return np.sort(res[ROW_ID].astype(np.int64))

    def fetch(self, row_ids: Iterable[int], columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Rows by id from both tables, in the order of ``row_ids``, with a ``dataset`` column.

        Columns a dataset lacks come back as missing. ``columns=None`` means every original column.
        """
        arr = np.asarray(list(row_ids), dtype=np.int64)
        ids = pa.table({"id": pa.array(arr), "pos": pa.array(np.arange(len(arr), dtype=np.int64))})
        frames = []
        wanted = list(columns) if columns is not None else None
        if wanted is None:
            wanted = []
            for d in self.datasets():
                wanted += [c for c in self._columns[d] if c not in wanted]
        with self.registered("__obs_ids", ids):
            for d in self.datasets():
                sel = ", ".join(f"t.{quote(c)}" if c in self._columns[d] else f"NULL AS {quote(c)}"
                                for c in wanted)
                sql = (f"SELECT ids.pos AS __pos, '{d}' AS __dataset, t.{ROW_ID}{', ' + sel if sel else ''} "
                       f"FROM {quote(d)} t JOIN __obs_ids ids ON t.{ROW_ID} = ids.id")
                frames.append(self.con.execute(sql).df())
        if not frames:
            return pd.DataFrame(columns=[ROW_ID, "dataset", *wanted])
        out = pd.concat(frames, ignore_index=True).sort_values("__pos").drop(columns="__pos")
        return out.rename(columns={"__dataset": "dataset"}).reset_index(drop=True)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and not (
        isinstance(v, float) and math.isnan(v))


def _check_value(f: Filter, kind: str, v: Any) -> Any:
    """Return the value as the column's type, or raise FilterError."""
    if kind == "number":
        if isinstance(v, bool):
            return int(v)
        if _is_number(v):
            return v.item() if isinstance(v, np.generic) else v
        if isinstance(v, str):
            try:
                return float(v) if any(ch in v for ch in ".eE") else int(v)
            except ValueError:
                pass
        raise FilterError(f"Filter on {f.column!r}: {v!r} is not a number, but {f.column!r} holds numbers.")
    if kind == "time":
        return _to_utc_naive(v)
    if kind == "bool":
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        raise FilterError(f"Filter on {f.column!r}: {v!r} is not true/false.")
    if kind == "text":
        if isinstance(v, str):
            return v
        if _is_number(v) or isinstance(v, bool):
            return str(v)
        raise FilterError(f"Filter on {f.column!r}: {v!r} is not text.")
    raise FilterError(f"Column {f.column!r} cannot be filtered with {f.op!r} (its values are {kind}s).")


def _compile(f: Filter, kind: str, duck_type: str) -> tuple[str, list]:
    col = quote(f.column)
    if f.op == "is_null":
        return f"{col} IS NULL", []
    if f.op == "not_null":
        return f"{col} IS NOT NULL", []
    if kind in ("vector", "other"):
        raise FilterError(f"Column {f.column!r} holds {duck_type} values and can only be filtered with "
                          f"is_null / not_null.")
    if f.op == "contains":
        if kind != "text":
            raise FilterError(f"'contains' needs a text column; {f.column!r} holds {kind}s.")
        if not isinstance(f.value, str):
            raise FilterError(f"Filter on {f.column!r}: 'contains' needs text, not {f.value!r}.")
        return f"contains(lower({col}), lower(?))", [f.value]
    cast = f"::{duck_type}" if kind in ("number", "bool") else ("::TIMESTAMP" if kind == "time" else "")
    colx = f"{col}::TIMESTAMP" if kind == "time" else col
    if f.op in _COMPARE:
        if isinstance(f.value, (tuple, list)) or f.value is None:
            raise FilterError(f"Filter on {f.column!r}: {f.op!r} needs a single value, not {f.value!r}.")
        return f"{colx} {f.op} ?{cast}", [_check_value(f, kind, f.value)]
    if f.op in ("in", "not_in"):
        if not isinstance(f.value, (tuple, list)) or len(f.value) == 0:
            raise FilterError(f"Filter on {f.column!r}: {f.op!r} needs a non-empty list of values.")
        vals = [_check_value(f, kind, v) for v in f.value]
        ph = ", ".join(f"?{cast}" for _ in vals)
        neg = "NOT " if f.op == "not_in" else ""
        # NOT IN keeps rows whose value is missing: "not one of these" is true of a missing value to a user.
        if f.op == "not_in":
            return f"({colx} IS NULL OR {colx} {neg}IN ({ph}))", vals
        return f"{colx} IN ({ph})", vals
    if f.op == "between":
        if not isinstance(f.value, (tuple, list)) or len(f.value) != 2:
            raise FilterError(f"Filter on {f.column!r}: 'between' needs a (low, high) pair.")
        lo, hi = (_check_value(f, kind, v) for v in f.value)
        if lo > hi:
            raise FilterError(f"Filter on {f.column!r}: the low end {lo!r} is above the high end {hi!r}.")
        return f"{colx} BETWEEN ?{cast} AND ?{cast}", [lo, hi]
    raise FilterError(f"Unknown filter operator {f.op!r}.")  # unreachable: Filter checks op


@dataclass(frozen=True)
class View:
    """One dataset of a store seen through filters and a time range: what the engine computes on."""

    store: Store = field(compare=False, hash=False)
    dataset: str
    filters: tuple[Filter, ...] = ()
    time_range: TimeRange | None = None

    @property
    def table(self) -> str:
        return quote(self.dataset)

    def where(self) -> Where:
        return self.store.where(self.dataset, self.filters, self.time_range)

    @property
    def fingerprint(self) -> str:
        return self.store.fingerprints.get(self.dataset, "")

    @property
    def key(self) -> tuple:
        """Cache key: same data, filters and time range give the same results."""
        return (self.dataset, self.fingerprint, self.filters, self.time_range)

    @property
    def unfiltered(self) -> bool:
        return not self.filters and self.time_range is None

    def columns(self) -> dict[str, str]:
        return self.store.columns(self.dataset)

    def kind(self, column: str) -> str | None:
        return self.store.kind(self.dataset, column)

    def num_rows(self) -> int:
        return self.store.num_rows(self.dataset, None if self.unfiltered else self.where())
