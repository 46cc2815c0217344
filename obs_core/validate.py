"""Checks of a schema against the data. Every problem is returned at once, never the first one only.

Severity: ``error`` (the comparison cannot run until it is fixed), ``warning`` (it runs; some result is
partial, e.g. production without actuals has no performance), ``info`` (worth knowing, e.g. naive
timestamps are read as UTC).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .schema import ModelType, Schema, first_of_each_name
from .timestamps import parse_timestamps


@dataclass(frozen=True)
class Problem:
    severity: str            # "error" | "warning" | "info"
    column: str | None
    message: str             # names the column, how many rows, an example value and the fix
    dataset: str | None = None
    rows: int | None = None
    example: Any = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def _table(d: Any) -> pa.Table | None:
    if d is None:
        return None
    if isinstance(d, pa.Table):
        return d
    t = getattr(d, "table", None)
    if isinstance(t, pa.Table):
        return t
    return pa.Table.from_pandas(d, preserve_index=False)


def _name(d: Any, default: str) -> str:
    n = getattr(d, "name", None)
    return f"{default} ({n})" if n and n != default else default


def _is_num(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _short(v: Any, n: int = 60) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _vector_info(arr: pa.ChunkedArray) -> dict:
    """Widths found (width -> rows), rows with NaN/inf, first bad example."""
    t = arr.type
    if pa.types.is_fixed_size_list(t):
        widths = Counter({t.list_size: len(arr) - arr.null_count})
    else:
        lens = pc.list_value_length(arr).drop_null().to_numpy(zero_copy_only=False)
        vals, counts = np.unique(lens, return_counts=True)
        widths = Counter(dict(zip(vals.tolist(), counts.tolist())))
    nonfinite = 0
    if pa.types.is_floating(t.value_type):
        chunks = arr.chunks
        for ch in chunks:
            flat = pc.list_flatten(ch)
            if len(flat) == 0:
                continue
            bad = ~np.isfinite(flat.to_numpy(zero_copy_only=False))
            if bad.any():
                parent = pc.list_parent_indices(ch).to_numpy()
                nonfinite += len(np.unique(parent[bad]))
    return {"widths": widths, "nonfinite": nonfinite}


def validate(schema: Schema, *, reference: Any = None, primary: Any = None) -> list[Problem]:
    """Every problem between ``schema`` and the datasets, errors first."""
    problems: list[Problem] = []
    add = problems.append
    sets = [(n, _table(d), _name(d, n)) for n, d in (("reference", reference), ("primary", primary)) if d is not None]
    if not sets:
        return [Problem("error", None, "No data loaded: load a primary file (and optionally a reference).")]

    for key, t, label in sets:
        if t.num_rows == 0:
            add(Problem("error", None, f"The {label} data has no rows. Upload a file with at least one row.",
                        key, 0))
        names = t.column_names
        for c, k in Counter(names).items():
            if k > 1:
                add(Problem("error", c, f"The {label} data has {k} columns named {c!r}. Rename them so each "
                                        f"name is used once, then upload again.", key))

    # Further checks look at the first column of each name (duplicates were reported above).
    sets = [(key, first_of_each_name(t), label) for key, t, label in sets]
    roles = schema.roles()
    present = {key: set(t.column_names) for key, t, _ in sets}
    # Declared columns that are missing ------------------------------------------------------------
    for col, role in roles.items():
        if role == "excluded":
            continue
        missing_in = [key for key, _, _ in sets if col not in present[key]]
        if not missing_in:
            continue
        if len(missing_in) == len(sets):
            add(Problem("error", col, f"The schema names {col!r} as {role.replace('_', ' ')}, but no loaded file "
                                      f"has that column. Pick an existing column or remove it from the schema."))
        else:
            where = missing_in[0]
            if role in ("actual_label", "actual_score") and where == "primary":
                msg = (f"The primary data has no actuals ({col!r}): drift and data quality work, "
                       f"performance is shown for the reference only.")
            else:
                other = "reference" if where == "primary" else "primary"
                msg = (f"{col!r} ({role.replace('_', ' ')}) is in the {other} data but not in the {where} data; "
                       f"it is compared only where present.")
            add(Problem("warning", col, msg, where))

    # Types that differ between the two datasets ------------------------------------------------------
    if len(sets) == 2:
        (_, tr, _), (_, tp, _) = sets
        for col in schema.columns():
            if col in tr.column_names and col in tp.column_names:
                a, b = tr.schema.field(col).type, tp.schema.field(col).type
                if a != b and not (_is_num(a) and _is_num(b)) and not (_is_list(a) and _is_list(b)):
                    add(Problem("warning", col, f"{col!r} is {a} in the reference but {b} in the primary; "
                                                f"values are compared as text."))

    # Scores must be numbers ---------------------------------------------------------------------------
    score_cols = [c for c in (schema.prediction_score, schema.actual_score) if c] + [c for _, c in schema.class_scores]
    for key, t, label in sets:
        for col in score_cols:
            if col not in present[key]:
                continue
            arr = t.column(col)
            if _is_num(arr.type) or pa.types.is_null(arr.type):
                continue
            if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                bad_rows, example = _non_numeric(arr)
                if bad_rows == 0:
                    add(Problem("warning", col, f"Score column {col!r} in the {label} data is stored as text; "
                                                f"it is read as numbers.", key))
                    continue
                add(Problem("error", col, f"Score column {col!r} in the {label} data has {bad_rows:,} non-numeric "
                                          f"value(s), e.g. {_short(example)}. Scores must be numbers: fix those rows "
                                          f"or map the column to another role.", key, bad_rows, example))
            else:
                add(Problem("error", col, f"Score column {col!r} in the {label} data holds {arr.type} values, not "
                                          f"numbers. Map it to another role.", key))

    # Timestamps -------------------------------------------------------------------------------------
    ts = schema.timestamp
    for key, t, label in sets:
        if not ts or ts not in present[key]:
            continue
        parsed = parse_timestamps(t.column(ts))
        non_null = t.num_rows - t.column(ts).null_count
        if parsed.n_unparseable:
            sev = "error" if parsed.n_unparseable == non_null else "warning"
            add(Problem(sev, ts, f"{parsed.n_unparseable:,} of {non_null:,} timestamps in {ts!r} ({label}) cannot be "
                                 f"read as dates, e.g. {_short(parsed.example)}. "
                                 + ("Pick another timestamp column or none (no time axis)." if sev == "error" else
                                    "Those rows are left out of charts over time; use ISO 8601 like "
                                    "2026-10-01T12:00:00Z."), key, parsed.n_unparseable, parsed.example))
        if t.column(ts).null_count:
            add(Problem("warning", ts, f"{t.column(ts).null_count:,} rows of the {label} data have no timestamp; "
                                       f"they are left out of charts over time.", key, t.column(ts).null_count))
        if parsed.epoch_unit:
            add(Problem("info", ts, f"Timestamps in {ts!r} ({label}) are numbers, read as Unix time in "
                                    f"{ {'s': 'seconds', 'ms': 'milliseconds', 'us': 'microseconds', 'ns': 'nanoseconds'}[parsed.epoch_unit]}.",
                        key))
        elif parsed.was_naive and parsed.n_unparseable < non_null:
            add(Problem("info", ts, f"Timestamps in {ts!r} ({label}) carry no time zone; they are read as UTC.", key))

    # Embedding vectors --------------------------------------------------------------------------------
    widths_by_set: dict[str, dict[str, int]] = {}
    for name, emb in schema.all_embeddings().items():
        col = emb.vector
        for key, t, label in sets:
            if col not in present[key]:
                continue
            arr = t.column(col)
            if not (_is_list(arr.type) and (pa.types.is_floating(arr.type.value_type)
                                            or pa.types.is_integer(arr.type.value_type))):
                add(Problem("error", col, f"Embedding {name!r}: column {col!r} in the {label} data holds {arr.type}, "
                                          f"not vectors of numbers. Use a list column or strings like "
                                          f"\"[0.1, 0.2, ...]\".", key))
                continue
            info = _vector_info(arr)
            widths = info["widths"]
            if len(widths) > 1:
                found = ", ".join(f"{w} ({n:,} rows)" for w, n in widths.most_common())
                add(Problem("error", col, f"Embedding {name!r}: vectors in {col!r} ({label}) have different lengths: "
                                          f"{found}. Every vector must have the same length.", key,
                            sum(widths.values()) - widths.most_common(1)[0][1]))
            elif widths:
                widths_by_set.setdefault(col, {})[key] = next(iter(widths))
                if next(iter(widths)) == 0:
                    add(Problem("error", col, f"Embedding {name!r}: vectors in {col!r} ({label}) are empty.", key))
            if info["nonfinite"]:
                add(Problem("warning", col, f"Embedding {name!r}: {info['nonfinite']:,} vectors in {col!r} ({label}) "
                                            f"contain NaN or infinite values; those rows are left out of embedding "
                                            f"views and counted there.", key, info["nonfinite"]))
            if arr.null_count:
                add(Problem("info", col, f"{arr.null_count:,} rows of the {label} data have no {col!r} vector; they "
                                         f"are left out of embedding views.", key, arr.null_count))
        w = widths_by_set.get(col, {})
        if len(set(w.values())) > 1:
            add(Problem("error", col, f"Embedding {name!r}: vectors in {col!r} are {w.get('reference')}-d in the "
                                      f"reference but {w.get('primary')}-d in the primary. Both must come from the "
                                      f"same embedding model."))

    # Duplicate prediction ids -------------------------------------------------------------------------
    pid = schema.prediction_id
    for key, t, label in sets:
        if pid and pid in present[key] and t.num_rows:
            arr = t.column(pid)
            vc = pc.value_counts(arr.drop_null())
            counts = vc.field("counts").to_numpy()
            dup = counts > 1
            if dup.any():
                extra = int((counts[dup] - 1).sum())
                example = vc.field("values")[int(np.argmax(dup))].as_py()
                add(Problem("warning", pid, f"{extra:,} rows of the {label} data repeat a prediction id in {pid!r}, "
                                            f"e.g. {_short(example)}. Ids should be unique per prediction.",
                            key, extra, example))

    # Model type vs labels -------------------------------------------------------------------------------
    if schema.model_type is ModelType.BINARY:
        values: set[str] = set()
        for key, t, _ in sets:
            for c in (schema.prediction_label, schema.actual_label):
                if c and c in present[key]:
                    values |= {str(v) for v in pc.unique(t.column(c).drop_null()).to_pylist()[:100]}
        if len(values) > 2:
            add(Problem("warning", schema.prediction_label or schema.actual_label,
                        f"The model type is binary classification but the labels take {len(values)} values "
                        f"(e.g. {', '.join(sorted(values)[:4])}). Choose multiclass classification, or check the "
                        f"label columns."))
        if schema.positive_class is not None and values and schema.positive_class not in values:
            add(Problem("warning", None, f"The positive class {schema.positive_class!r} is not among the labels "
                                         f"({', '.join(sorted(values)[:4])}). Pick one of them."))
    if schema.model_type is None and (schema.prediction_label or schema.prediction_score):
        add(Problem("warning", None, "No model type is set, so no performance metrics are computed. Pick binary, "
                                     "multiclass classification or regression."))
    if schema.model_type is ModelType.REGRESSION:
        for key, t, label in sets:
            for c in (schema.prediction_label, schema.actual_label, schema.prediction_score, schema.actual_score):
                if c and c in present[key] and not _is_num(t.column(c).type):
                    bad, ex = _non_numeric(t.column(c))
                    if bad:
                        add(Problem("error", c, f"Regression needs numbers, but {c!r} ({label}) has {bad:,} "
                                                f"non-numeric value(s), e.g. {_short(ex)}.", key, bad, ex))

    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(problems, key=lambda p: order[p.severity])


def _non_numeric(arr: pa.ChunkedArray) -> tuple[int, Any]:
    s = arr.drop_null()
    if not (pa.types.is_string(s.type) or pa.types.is_large_string(s.type)):
        return (len(s), s[0].as_py()) if len(s) else (0, None)
    ok = pc.match_substring_regex(pc.utf8_trim_whitespace(s),
                                  r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|-inf|Infinity)$")
    bad = pc.invert(ok)
    n = int(pc.sum(pc.cast(bad, pa.int64())).as_py() or 0)
    example = pc.filter(s, bad)[0].as_py() if n else None
    return n, example
