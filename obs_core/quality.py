"""Data quality: one tidy table of checks per column and dataset, missing values over time, per-column detail.

``quality_table`` returns one row per (dataset, column, check) with ``status`` in pass / warn / fail, a
numeric ``value`` where one makes sense and a readable ``detail`` sentence. The rules:

=================  ===========================================================================================
check              rule (``value``)
=================  ===========================================================================================
``present``        only when a schema column is absent from a dataset: warn (NaN).
``type``           DuckDB type and kind. fail when the primary's kind (number/text/bool/time/...) differs from
                   the reference's, or a score column is not numeric; warn for nested/unknown types (NaN).
``count``          rows with a value (``value`` = that count); warn when the dataset has no rows.
``missing``        missing share in **percent** (NULL; NaN for float columns; empty or whitespace-only text).
                   warn >= 5 %, fail >= 20 %. In the primary also fail when the share rose by >= 10 percentage
                   points over the reference, and warn when it rose by >= 2 points *and* at least doubled.
                   Actual (ground-truth) columns are capped at warn: labels often arrive late.
``cardinality``    distinct non-missing values: exact for categorical columns, HyperLogLog estimate
                   (``approx_count_distinct``, detail says "about") for the others — for numeric columns of
                   datasets above ``QUANTILE_EXACT_ROWS`` rows, on the quantile subsample. Always pass (info).
``min`` ... ``p99``  numeric columns: ``min, mean, max, p01, p50, p99`` over finite values; info rows (pass).
                   Quantiles are exact (``quantile_cont``, linear interpolation like numpy's default) up to
                   ``QUANTILE_EXACT_ROWS`` (100,000) rows; above that they are computed on a deterministic subsample of
                   about that many rows (rows whose ``hash(__obs_row_id)`` falls in one residue class).
                   Time columns get ``min``/``max`` with the instant in ``detail`` (``value`` NaN).
``top_categories`` categorical columns: the most frequent values with shares (``value`` = share in percent of
                   the most frequent one). Info (pass).
``new_categories`` primary only, with a reference: values never seen in the reference, with counts
                   (``value`` = primary rows holding one). warn when any, fail when they are >= 5 % of the
                   primary's non-missing values.
``out_of_range``   primary only, numeric, with a reference: values below the reference min or above its max
                   (``value`` = such rows). pass < 1 % of non-missing values, warn >= 1 %, fail >= 5 %.
``score_range``    classification score columns: values outside [0, 1] (``value`` = rows). fail when any.
``unparseable``    timestamps that could not be parsed (the store's ``__obs_ts`` is NULL where the original is
                   not), ±infinity in float columns, and, in numeric-looking text columns (>= 90 % of non-missing
                   values are numbers), the values that are not (``value`` = rows). warn when any, fail >= 5 %.
``constant``       a single distinct non-missing value (``value`` 1/0). warn; fail in the primary when the
                   reference column was not constant.
``duplicate_ids``  prediction id: rows that repeat an id already seen (``value`` = rows). warn when any, fail
                   when >= 1 % of the rows.
=================  ===========================================================================================

Categorical = text or bool columns in a feature, tag, label, model id/version or environment role, and numeric
label columns of classification models, with at most ``max_categories`` (10,000) distinct values; above that a
column is treated as free text (no top/new categories). Columns: every column the schema names (excluded ones
left out), or ``columns=``.

Everything is counted in DuckDB, never by Python loops over rows, in a few passes per dataset (see
``_profile``): one aggregate ``SELECT`` over all columns, one ``SELECT`` of ``histogram`` aggregates for the
categorical columns, a quantile pass over the subsample for large data, and a ``GROUP BY`` of the prediction id.
The reference profile is memoised in ``store.cache`` (keyed by the view's cache key), so changing the primary's
time range re-profiles only the primary.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import NotEnoughData, ObsError
from .schema import ModelType, Schema
from .store import ROW_ID, TS, View, quote

# ---- thresholds (documented in the module docstring) ---------------------------------------------
MISSING_WARN = 5.0            # percent
MISSING_FAIL = 20.0           # percent
MISSING_RISE_FAIL = 10.0      # percentage points above the reference
MISSING_RISE_WARN = 2.0       # percentage points above the reference (and at least doubled)
NEW_CATEGORY_FAIL = 0.05      # share of non-missing primary values
OUT_OF_RANGE_WARN = 0.01
OUT_OF_RANGE_FAIL = 0.05
UNPARSEABLE_FAIL = 0.05
NUMERIC_LOOKING = 0.90        # share of non-missing text values that parse as numbers
DUPLICATE_FAIL = 0.01
MAX_CATEGORIES = 10_000
QUANTILE_EXACT_ROWS = 100_000
TOP_K = 5
MIN_WINDOW_ROWS = 30          # windows with fewer rows are flagged ``too_few_rows``

QUANTILES = (("p01", 0.01), ("p50", 0.50), ("p99", 0.99))
STATUSES = ("pass", "warn", "fail")
COLUMNS = ["dataset", "column", "role", "kind", "check", "status", "value", "detail"]

_CATEGORICAL_ROLES = {"feature", "tag", "prediction_label", "actual_label", "model_id", "model_version",
                      "environment", "other"}
_ROLE_ORDER = ["prediction_id", "timestamp", "feature", "tag", "prediction_label", "prediction_score",
               "class_score", "actual_label", "actual_score", "model_id", "model_version", "environment",
               "embedding", "raw_data", "link_to_data", "other"]
_NUMBER_RE = r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
_NUMBER_PY = re.compile(_NUMBER_RE)
_BLANK_CHARS = " \t\n\r"


# =================================================================================================
# Column plan
# =================================================================================================

@dataclass(frozen=True)
class _Col:
    i: int
    name: str
    role: str
    kind: str            # number/text/bool/time/vector/other
    duck_type: str
    categorical: bool
    is_float: bool

    @property
    def o(self) -> str:      # the original value, projected
        return f"o{self.i}"

    @property
    def v(self) -> str:      # the cleaned value (finite DOUBLE for numbers)
        return f"v{self.i}"


def _roles(schema: Schema, columns: Sequence[str] | None) -> list[tuple[str, str]]:
    roles = {c: r for c, r in schema.roles().items() if r != "excluded"}
    if columns is not None:
        return [(c, roles.get(c, "other")) for c in dict.fromkeys(columns)]
    order = {r: k for k, r in enumerate(_ROLE_ORDER)}
    return sorted(roles.items(), key=lambda cr: order.get(cr[1], len(order)))


def _plan(view: View, schema: Schema, roles: list[tuple[str, str]]) -> list[_Col]:
    types = view.columns()
    classification = schema.model_type in (ModelType.BINARY, ModelType.MULTICLASS)
    out = []
    for i, (name, role) in enumerate(roles):
        if name not in types:
            continue
        t = types[name]
        kind = view.kind(name) or "other"
        categorical = (kind in ("text", "bool") and role in _CATEGORICAL_ROLES) or (
            kind == "number" and classification and role in ("prediction_label", "actual_label"))
        is_float = t.upper() in ("FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8")
        out.append(_Col(i, name, role, kind, t, categorical, is_float))
    return out


def _blank_sql(expr: str) -> str:
    """Empty or whitespace-only text. A blank string sorts before '!' (every whitespace byte is below 0x21), so
    the cheap comparison runs first and ``trim`` only on the few strings that start with whitespace."""
    return f"({expr} < '!' AND length(trim({expr}, ' \t\n\r')) = 0)"


def _is_blank(s: str) -> bool:
    return s.strip(_BLANK_CHARS) == ""


# =================================================================================================
# Profiles (the DuckDB passes)
# =================================================================================================

def _profile(view: View, schema: Schema, roles: list[tuple[str, str]], *, max_categories: int,
             ref_bounds: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """Profile one dataset in a few DuckDB passes; returns ``{"n": rows, "cols": {name: stats}, "dataset"}``.

    1. *sample* (only above ``QUANTILE_EXACT_ROWS`` rows): on a deterministic subsample of about that many rows,
       the quantiles and distinct estimates of numeric columns and a distinct estimate of each categorical
       candidate (the probe deciding which columns get a full value count);
    2. *main*: one aggregate over every column (counts, NaN/inf, min/max/mean, out-of-range against the
       reference, score range, timestamp parse failures; quantiles and distinct estimates when small);
    3. *values*: ``histogram`` of the categorical columns (exact counts, hence cardinality, top/new categories,
       blanks); then distinct/min/max/blank/numeric-looking counts of the other text columns;
    4. *ids*: duplicate and blank prediction ids from a GROUP BY (a DISTINCT aggregate in pass 2 would slow
       every aggregate there).
    """
    store = view.store
    cols = _plan(view, schema, roles)
    w = view.where()
    n_total = view.num_rows()
    is_ts = {c.name: c.role == "timestamp" and view.dataset in store.ts_info for c in cols}
    sample_k = max(1, math.ceil(n_total / QUANTILE_EXACT_ROWS))
    sampled = sample_k > 1
    qs = "[" + ", ".join(str(p) for _, p in QUANTILES) + "]"
    res: dict[str, Any] = {}

    def clean(c: _Col) -> str:
        q = quote(c.name)
        return f"CASE WHEN isfinite({q}) THEN CAST({q} AS DOUBLE) END" if c.is_float else f"CAST({q} AS DOUBLE)"

    def run(aggs: list[tuple[str, str]], source: str, params: list) -> None:
        if aggs:
            row = _fetch(store, f"SELECT {', '.join(f'{e} AS {k}' for k, e in aggs)} FROM {source}", params)
            res.update(zip([k for k, _ in aggs], row))

    nums = [c for c in cols if c.kind == "number"]
    cands = [c for c in cols if c.categorical]                   # categorical if few enough distinct values
    free = [c for c in cols if c.kind in ("text", "bool") and not c.categorical]

    # 1. sample: quantiles, numeric distinct estimates, the categorical probe
    s_aggs: list[tuple[str, str]] = []
    for c in nums:
        s_aggs += [(f"c{c.i}_q", f"quantile_cont({c.v}, {qs})"), (f"c{c.i}_ndv", f"approx_count_distinct({c.v})")]
    for c in cands:
        s_aggs.append((f"c{c.i}_probe", f"approx_count_distinct({quote(c.name)})"))
    if sampled:
        proj = [f"{clean(c)} AS {c.v}" for c in nums] + [quote(c.name) for c in cands]
        run(s_aggs, f"(SELECT {', '.join(proj) or '1 AS __one'} FROM {view.table} WHERE ({w.sql}) "
                    f"AND hash({ROW_ID}) % {sample_k} = 0)", list(w.params))
        res["sample_rows"] = _fetch(store, f"SELECT count(*) FROM {view.table} WHERE ({w.sql}) AND "
                                           f"hash({ROW_ID}) % {sample_k} = 0", w.params)[0] if nums else None

    # 2. main
    proj: list[str] = []
    aggs: list[tuple[str, str]] = [("n", "count(*)")]
    params: list[Any] = []
    for c in cols:
        pre = f"c{c.i}_"
        proj.append(f"{quote(c.name)} AS {c.o}")
        aggs.append((pre + "nn", f"count({c.o})"))
        if c.kind == "number":
            proj.append(f"{clean(c)} AS {c.v}")
            if c.is_float:
                aggs += [(pre + "nan", f"count_if(isnan({c.o}))"), (pre + "inf", f"count_if(isinf({c.o}))")]
            aggs += [(pre + "min", f"min({c.v})"), (pre + "max", f"max({c.v})"), (pre + "mean", f"avg({c.v})")]
            if ref_bounds and c.name in ref_bounds:
                aggs += [(pre + "below", f"count_if({c.v} < ?)"), (pre + "above", f"count_if({c.v} > ?)")]
                params += list(ref_bounds[c.name])
            if c.role in ("prediction_score", "class_score") and schema.model_type in (
                    ModelType.BINARY, ModelType.MULTICLASS):
                aggs.append((pre + "badscore", f"count_if({c.v} < 0 OR {c.v} > 1)"))
        elif c.kind == "time":
            aggs += [(pre + "min", f"min({c.o})"), (pre + "max", f"max({c.o})")]
        if is_ts[c.name]:
            cond = f"{c.o} IS NOT NULL AND {TS} IS NULL"
            if c.kind == "text":
                cond += f" AND NOT {_blank_sql(c.o)}"
            aggs += [(pre + "unparse", f"count_if({cond})"), (pre + "tsmin", f"min({TS})"),
                     (pre + "tsmax", f"max({TS})")]
    if not sampled:
        aggs += [(k, e.replace(f"({quote(c.name)})", f"({c.o})")) for k, e in s_aggs
                 for c in cands if k == f"c{c.i}_probe"]
        aggs += [(k, e) for k, e in s_aggs if not k.endswith("_probe")]
    if any(is_ts.values()):
        proj.append(TS)
    run(aggs, f"(SELECT {', '.join(proj) or '1 AS __one'} FROM {view.table} WHERE {w.sql})",
        [*params, *w.params])   # textual order: aggregate parameters, then the WHERE clause's
    n = _i(res["n"])

    # 3. values: histograms of the categorical columns; then (a separate query: combined with histograms it is
    # slower than both apart) distinct estimates, min/max, blanks and numbers in the free-text columns
    hist = [c for c in cands if _i(res.get(f"c{c.i}_probe")) <= max_categories]
    wide = [c for c in free + [c for c in cands if c not in hist] if c.role != "prediction_id"]
    h_aggs = [(f"c{c.i}_hist", f"histogram(CAST({quote(c.name)} AS VARCHAR))") for c in hist]
    v_aggs: list[tuple[str, str]] = []
    for c in wide:
        q = quote(c.name)
        v_aggs += [(f"c{c.i}_min", f"min({q})"), (f"c{c.i}_max", f"max({q})"),
                   (f"c{c.i}_ndv", f"approx_count_distinct({q})")]
        if c.kind == "text":
            v_aggs.append((f"c{c.i}_blank", f"count_if({_blank_sql(q)})"))
            if c.role in _CATEGORICAL_ROLES:
                v_aggs.append((f"c{c.i}_numeric", f"count_if(regexp_full_match({q}, '{_NUMBER_RE}'))"))
    if n:
        run(h_aggs, f"{view.table} WHERE {w.sql}", list(w.params))
        run(v_aggs, f"{view.table} WHERE {w.sql}", list(w.params))

    # 4. ids: duplicates (rows repeating a non-blank id) and blank ids, from one GROUP BY
    for c in cols:
        if c.role == "prediction_id" and c.kind not in ("vector", "other") and n:
            q = quote(c.name)
            blank = _blank_sql("x") if c.kind == "text" else "FALSE"
            dup, ids, example, nblank = _fetch(
                store, f"SELECT coalesce(sum(k - 1) FILTER (WHERE NOT b), 0), "
                       f"count(*) FILTER (WHERE k > 1 AND NOT b), min(x) FILTER (WHERE k > 1 AND NOT b), "
                       f"coalesce(sum(k) FILTER (WHERE b), 0) FROM "
                       f"(SELECT x, count(*) AS k, {blank} AS b FROM (SELECT {q} AS x FROM {view.table} "
                       f"WHERE ({w.sql}) AND {q} IS NOT NULL) GROUP BY x)", w.params)
            res.update({f"c{c.i}_dup": _i(dup), f"c{c.i}_dupids": _i(ids), f"c{c.i}_dupex": example,
                        f"c{c.i}_blank": _i(nblank)})

    out: dict[str, dict[str, Any]] = {}
    for c in cols:
        pre = f"c{c.i}_"
        g = {k[len(pre):]: v for k, v in res.items() if k.startswith(pre)}
        s: dict[str, Any] = {"role": c.role, "kind": c.kind, "type": c.duck_type, "categorical": False,
                             "nn": _i(g["nn"]), "blank": 0, "nan": _i(g.get("nan")), "inf": _i(g.get("inf")),
                             "is_float": c.is_float}
        if c.kind == "number":
            s.update(min=_f(g["min"]), max=_f(g["max"]), mean=_f(g["mean"]), ndv=_i(g.get("ndv")),
                     ndv_exact=False, ndv_sample=res.get("sample_rows") if sampled else None)
            for (name, _), val in zip(QUANTILES, g.get("q") or [None] * len(QUANTILES)):
                s[name] = _f(val)
            s["quantile_sample"] = res.get("sample_rows") if sampled else None
            if "below" in g:
                s["below"], s["above"] = _i(g["below"]), _i(g["above"])
                s["ref_min"], s["ref_max"] = ref_bounds[c.name]
            if "badscore" in g:
                s["badscore"] = _i(g["badscore"])
        elif c.kind in ("text", "bool", "time"):
            s.update(min=g.get("min"), max=g.get("max"))
            if "ndv" in g:
                s.update(ndv=_i(g["ndv"]), ndv_exact=False)
        if "dup" in g:
            s.update(dup=g["dup"], dupids=g["dupids"], dupex=g["dupex"])
        if "unparse" in g:
            s.update(unparse=_i(g["unparse"]), tsmin=g["tsmin"], tsmax=g["tsmax"])
        if "hist" in g:
            h = g["hist"] or {}
            blank = {k for k in h if c.kind == "text" and _is_blank(str(k))}
            counts = {str(k): int(v) for k, v in h.items() if k not in blank}
            s["blank"] = sum(int(h[k]) for k in blank)
            if len(counts) <= max_categories:
                s["categorical"] = True
                s["counts"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            s["ndv"], s["ndv_exact"] = len(counts), True
            if c.kind == "text":
                s["numeric"] = sum(v for k, v in counts.items() if _NUMBER_PY.fullmatch(k))
            if c.kind != "number":
                keys = sorted(counts)
                s["min"], s["max"] = (keys[0], keys[-1]) if keys else (None, None)
        else:
            s["blank"] = _i(g.get("blank"))
            if "numeric" in g:
                s["numeric"] = _i(g["numeric"])
        s["missing"] = (n - s["nn"]) + s["nan"] + s["blank"]
        s["valid"] = n - s["missing"]
        out[c.name] = s
    return {"n": n, "cols": out, "dataset": view.dataset}


def _fetch(store, sql: str, params: Sequence = (), *, all_rows: bool = False):
    """Run and fetch under the store's lock, so another thread's query cannot interleave with the fetch.
    (``Store`` has no fetch-under-lock method yet; its ``df``/``arrow`` do this for frames.) Always
    ``fetchall``: DuckDB 2 keeps a result "unfinished" after ``fetchone`` and then refuses ``register``."""
    rows = store.fetchall(sql, list(params))
    return rows if all_rows else (rows[0] if rows else None)


def _i(v: Any) -> int:
    return int(v) if v is not None else 0


def _f(v: Any) -> float:
    if v is None:
        return float("nan")
    return float(v)


def _cached(view: View, key: tuple, fn):
    k = ("quality",) + key
    cache = view.store.cache
    if k not in cache:
        cache[k] = fn()
    return cache[k]


# =================================================================================================
# quality_table
# =================================================================================================

def quality_table(reference: View | None, primary: View, schema: Schema, *, columns: Sequence[str] | None = None,
                  max_categories: int = MAX_CATEGORIES) -> pd.DataFrame:
    """Data-quality checks for both datasets (see the module docstring for every rule and threshold).

    Returns a tidy DataFrame with columns ``dataset, column, role, kind, check, status, value, detail``;
    reference rows first, then primary rows, columns in schema order (id, timestamp, features, tags,
    predictions, actuals, ...). ``reference`` may be None (then there are no comparison checks).
    """
    roles = _roles(schema, columns)
    key = (reference.key if reference is not None else None, primary.key, schema.to_json(),
           tuple(roles), max_categories, "table")

    def compute() -> pd.DataFrame:
        ref = None
        if reference is not None:
            ref = _cached(reference, ("profile", reference.key, schema.to_json(), tuple(roles), max_categories),
                          lambda: _profile(reference, schema, roles, max_categories=max_categories))
        bounds = None
        if ref is not None:
            bounds = {c: (s["min"], s["max"]) for c, s in ref["cols"].items()
                      if s["kind"] == "number" and not math.isnan(s["min"])}
        prim = _cached(primary, ("profile", primary.key, reference.key if reference is not None else None,
                                 schema.to_json(), tuple(roles), max_categories),
                       lambda: _profile(primary, schema, roles, max_categories=max_categories, ref_bounds=bounds))
        rows: list[dict] = []
        if ref is not None:
            rows += _rows(ref, None, roles)
        rows += _rows(prim, ref, roles)
        df = pd.DataFrame(rows, columns=COLUMNS)
        df["value"] = df["value"].astype(float)
        return df

    return _cached(primary, key, compute).copy()


def quality_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of pass / warn / fail rows per dataset, and how many columns have at least one fail / warn.

    Columns: ``dataset, n_pass, n_warn, n_fail, columns_failing, columns_warning``.
    """
    out = []
    for ds, g in table.groupby("dataset", sort=False):
        counts = g["status"].value_counts()
        worst = g.groupby("column")["status"].agg(lambda s: max(s, key=STATUSES.index))
        out.append({"dataset": ds, "n_pass": int(counts.get("pass", 0)), "n_warn": int(counts.get("warn", 0)),
                    "n_fail": int(counts.get("fail", 0)), "columns_failing": int((worst == "fail").sum()),
                    "columns_warning": int((worst == "warn").sum())})
    return pd.DataFrame(out, columns=["dataset", "n_pass", "n_warn", "n_fail", "columns_failing",
                                      "columns_warning"])


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return pd.Timestamp(v).isoformat(sep=" ")
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4f}".rstrip("0").rstrip(".")
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return str(v)


def _pct(a: float, b: float) -> float:
    return 100.0 * a / b if b else float("nan")


def _worst(*statuses: str) -> str:
    return max(statuses, key=STATUSES.index)


def _rows(p: dict, ref: dict | None, roles: list[tuple[str, str]]) -> list[dict]:
    """Turn one dataset's profile into check rows (``ref`` given only for the primary)."""
    ds, n = p["dataset"], p["n"]
    out: list[dict] = []
    for name, role in roles:
        s = p["cols"].get(name)
        r = ref["cols"].get(name) if ref is not None else None
        kind = s["kind"] if s else (r["kind"] if r else "other")

        def add(check, status, value, detail):
            out.append({"dataset": ds, "column": name, "role": role, "kind": kind, "check": check,
                        "status": status, "value": value, "detail": detail})

        if s is None:
            add("present", "warn", np.nan, f"Column {name!r} ({role}) is not in the {ds} data.")
            continue

        # type
        status, detail = "pass", f"{s['type']} ({s['kind']})."
        if r is not None and r["kind"] != s["kind"]:
            status = "fail"
            detail = f"{s['type']} ({s['kind']}) in the primary but {r['type']} ({r['kind']}) in the reference."
        elif role in ("prediction_score", "actual_score", "class_score") and s["kind"] != "number":
            status, detail = "fail", f"{s['type']} ({s['kind']}): a score column must hold numbers."
        elif s["kind"] == "other":
            status, detail = "warn", f"{s['type']}: obs cannot profile values of this type."
        add("type", status, np.nan, detail)

        # count
        add("count", "warn" if n == 0 else "pass", float(s["valid"]),
            f"{_fmt(s['valid'])} of {_fmt(n)} rows have a value." if n else f"The {ds} data has no rows here.")

        # missing
        miss = _pct(s["missing"], n)
        if n:
            status = "fail" if miss >= MISSING_FAIL else "warn" if miss >= MISSING_WARN else "pass"
            parts = [f"{miss:.2f}% missing ({_fmt(s['missing'])} of {_fmt(n)} rows"]
            extra = ([f"{_fmt(s['nan'])} NaN"] if s["nan"] else []) + \
                    ([f"{_fmt(s['blank'])} blank"] if s["blank"] else [])
            parts[0] += (", " + ", ".join(extra) if extra else "") + ")."
            if s["missing"] == n:
                parts = [f"Every value is missing ({_fmt(n)} rows)."]
            if r is not None and ref["n"]:
                rmiss = _pct(r["missing"], ref["n"])
                rise = miss - rmiss
                if rise >= MISSING_RISE_FAIL:
                    status = "fail"
                elif rise >= MISSING_RISE_WARN and miss >= 2 * rmiss:
                    status = _worst(status, "warn")
                if abs(rise) >= 0.005:
                    parts.append(f"Reference: {rmiss:.2f}% ({'+' if rise >= 0 else ''}{rise:.2f} points).")
            if role in ("actual_label", "actual_score") and status == "fail":
                status = "warn"
                parts.append("Rows without actuals have no performance metrics.")
            add("missing", status, miss, " ".join(parts))
        else:
            add("missing", "pass", np.nan, "No rows.")

        if s["kind"] in ("vector", "other"):
            continue

        # cardinality
        if "ndv" in s or "dup" in s:
            if "dup" in s:
                ndv, exact = s["valid"] - s["dup"], True
            else:
                ndv, exact = s["ndv"], s.get("ndv_exact", False)
            where = f" in a {_fmt(s['ndv_sample'])}-row sample" if s.get("ndv_sample") else ""
            add("cardinality", "pass", float(ndv),
                f"{'' if exact else 'About '}{_fmt(ndv)} distinct value{'s' if ndv != 1 else ''}{where}.")

        # numeric stats
        if s["kind"] == "number":
            for stat in ("min", "mean", "max", "p01", "p50", "p99"):
                sample = f" (in a {_fmt(s['quantile_sample'])}-row sample)" if stat.startswith("p") and \
                    s.get("quantile_sample") else ""
                add(stat, "pass", s[stat], f"{stat} = {_fmt(s[stat])}{sample}" + (
                    f"; reference {_fmt(r[stat])}." if r is not None and r.get(stat) is not None else "."))
        elif s["kind"] == "time" or "tsmin" in s:
            lo, hi = (s["tsmin"], s["tsmax"]) if "tsmin" in s else (s["min"], s["max"])
            add("min", "pass", np.nan, f"First: {_fmt(lo)}" + (" (UTC)." if "tsmin" in s else "."))
            add("max", "pass", np.nan, f"Last: {_fmt(hi)}" + (" (UTC)." if "tsmin" in s else "."))

        # categories
        if s.get("categorical"):
            counts = s["counts"]
            valid = sum(counts.values())
            if counts:
                top = list(counts.items())[:TOP_K]
                add("top_categories", "pass", _pct(top[0][1], valid),
                    ", ".join(f"{k} {_pct(v, valid):.1f}%" for k, v in top) + (
                        f" (+{len(counts) - TOP_K} more)." if len(counts) > TOP_K else "."))
            if r is not None and r.get("categorical"):
                new = {k: v for k, v in counts.items() if k not in r["counts"]}
                nrows = sum(new.values())
                share = nrows / valid if valid else 0.0
                if new:
                    shown = ", ".join(f"{k} ({v:,})" for k, v in list(new.items())[:10])
                    more = f" and {len(new) - 10} more" if len(new) > 10 else ""
                    add("new_categories", "fail" if share >= NEW_CATEGORY_FAIL else "warn", float(nrows),
                        f"{len(new)} value{'s' if len(new) > 1 else ''} not seen in the reference: {shown}{more}"
                        f" — {_fmt(nrows)} rows, {100 * share:.1f}% of non-missing values.")
                else:
                    add("new_categories", "pass", 0.0, "Every value was seen in the reference.")

        # out of range
        if "below" in s:
            k = s["below"] + s["above"]
            share = k / s["valid"] if s["valid"] else 0.0
            status = "fail" if share >= OUT_OF_RANGE_FAIL else "warn" if share >= OUT_OF_RANGE_WARN else "pass"
            add("out_of_range", status, float(k),
                f"{_fmt(k)} value{'' if k == 1 else 's'} ({100 * share:.2f}%) outside the reference range "
                f"[{_fmt(s['ref_min'])}, {_fmt(s['ref_max'])}]: {_fmt(s['below'])} below, {_fmt(s['above'])} above.")
        if "badscore" in s:
            k = s["badscore"]
            add("score_range", "fail" if k else "pass", float(k),
                f"{_fmt(k)} scores outside [0, 1]." if k else "Every score is within [0, 1].")

        # unparseable
        base = s["nn"] - s["nan"] - s["blank"]
        bad, what = None, ""
        if "unparse" in s:
            bad, what = s["unparse"], "timestamps could not be parsed (they have no time)"
        elif s["kind"] == "number" and s["is_float"]:
            bad, what = s["inf"], "values are ±infinity (left out of the statistics)"
        elif "numeric" in s and base and s["numeric"] / base >= NUMERIC_LOOKING:
            bad, what = base - s["numeric"], "values are not numbers in a column of numbers"
        if bad is not None:
            share = bad / base if base else 0.0
            status = "pass" if not bad else ("fail" if share >= UNPARSEABLE_FAIL else "warn")
            add("unparseable", status, float(bad),
                f"{_fmt(bad)} {what} ({100 * share:.2f}%)." if bad else "Every value is usable.")

        # constant
        if s["valid"] > 0 and s["kind"] in ("number", "text", "bool", "time") and role not in (
                "prediction_id", "timestamp"):
            const = s["min"] == s["max"] and s["min"] is not None and not (
                isinstance(s["min"], float) and math.isnan(s["min"]))
            if const:
                status = "warn"
                if r is not None and r["valid"] > 0 and not (r["min"] == r["max"]):
                    status = "fail"
                add("constant", status, 1.0, f"Every non-missing value is {_fmt(s['min'])}" + (
                    " (it varies in the reference)." if status == "fail" else "."))
            else:
                add("constant", "pass", 0.0, "More than one distinct value.")

        # duplicate ids
        if "dup" in s:
            dup = s["dup"]
            share = dup / n if n else 0.0
            status = "pass" if not dup else ("fail" if share >= DUPLICATE_FAIL else "warn")
            add("duplicate_ids", status, float(dup),
                f"{_fmt(dup)} rows repeat an id already seen ({100 * share:.2f}%); {_fmt(s['dupids'])} ids occur "
                f"more than once, e.g. {s['dupex']!r}." if dup else "Every id is unique.")
    return out


# =================================================================================================
# quality_detail
# =================================================================================================

def quality_detail(reference: View | None, primary: View, schema: Schema, column: str, *,
                   max_categories: int = MAX_CATEGORIES) -> dict[str, Any]:
    """What the page shows for one column.

    Returns a dict:

    - ``checks``: the column's rows of :func:`quality_table`;
    - ``categories``: DataFrame ``value, count_reference, count_primary, share_reference, share_primary, new``
      (categorical columns; shares of non-missing values; sorted by primary count), else None;
    - ``new_categories``: DataFrame ``value, count, share`` of primary values never seen in the reference;
    - ``out_of_range``: DataFrame ``side, bound, count, share`` (side ``below``/``above`` the reference
      min/max; share of non-missing primary values), numeric columns with a reference, else None;
    - ``missing``: DataFrame ``dataset, n_rows, n_missing, missing_share`` (share 0..1).
    """
    if column not in primary.columns() and (reference is None or column not in reference.columns()):
        raise ObsError(f"There is no column named {column!r}.", "Pick one of the dataset's columns.")
    role = schema.roles().get(column, "other")
    roles = [(column, role)]
    table = quality_table(reference, primary, schema, columns=[column], max_categories=max_categories)
    ref = None
    if reference is not None:
        ref = _cached(reference, ("profile", reference.key, schema.to_json(), tuple(roles), max_categories),
                      lambda: _profile(reference, schema, roles, max_categories=max_categories))
    bounds = None
    if ref is not None and column in ref["cols"] and ref["cols"][column]["kind"] == "number" \
            and not math.isnan(ref["cols"][column]["min"]):
        bounds = {column: (ref["cols"][column]["min"], ref["cols"][column]["max"])}
    prim = _cached(primary, ("profile", primary.key, reference.key if reference is not None else None,
                             schema.to_json(), tuple(roles), max_categories),
                   lambda: _profile(primary, schema, roles, max_categories=max_categories, ref_bounds=bounds))
    s = prim["cols"].get(column)
    r = ref["cols"].get(column) if ref is not None else None
    out: dict[str, Any] = {"checks": table.reset_index(drop=True), "categories": None, "new_categories": None,
                           "out_of_range": None}
    miss = []
    for ds, prof, st in (("reference", ref, r), ("primary", prim, s)):
        if prof is None or st is None:
            continue
        miss.append({"dataset": ds, "n_rows": prof["n"], "n_missing": st["missing"],
                     "missing_share": st["missing"] / prof["n"] if prof["n"] else float("nan")})
    out["missing"] = pd.DataFrame(miss, columns=["dataset", "n_rows", "n_missing", "missing_share"])
    if s is not None and s.get("categorical") or (r is not None and r.get("categorical")):
        pc = s.get("counts", {}) if s else {}
        rc = r.get("counts", {}) if r else {}
        values = list(dict.fromkeys([*pc, *rc]))
        cat = pd.DataFrame({"value": values,
                            "count_reference": [rc.get(v, 0) for v in values],
                            "count_primary": [pc.get(v, 0) for v in values]})
        cat["share_reference"] = cat["count_reference"] / max(1, sum(rc.values()))
        cat["share_primary"] = cat["count_primary"] / max(1, sum(pc.values()))
        cat["new"] = [r is not None and r.get("categorical", False) and v not in rc for v in values]
        out["categories"] = cat.sort_values(["count_primary", "count_reference", "value"],
                                            ascending=[False, False, True]).reset_index(drop=True)
        new = cat[cat["new"] & (cat["count_primary"] > 0)]
        out["new_categories"] = pd.DataFrame({"value": new["value"], "count": new["count_primary"],
                                              "share": new["share_primary"]}).sort_values(
            ["count", "value"], ascending=[False, True]).reset_index(drop=True)
    if s is not None and "below" in s:
        valid = s["valid"]
        out["out_of_range"] = pd.DataFrame({
            "side": ["below", "above"], "bound": [s["ref_min"], s["ref_max"]],
            "count": [s["below"], s["above"]],
            "share": [s["below"] / valid if valid else np.nan, s["above"] / valid if valid else np.nan]})
    return out


# =================================================================================================
# Time windows: the same calendar windows and granularity rule as ``timeseries`` (drift over time)
# =================================================================================================

GRANULARITIES = ("hour", "day", "week", "month")
_SECONDS = {"hour": 3600.0, "day": 86400.0, "week": 7 * 86400.0}


def _window_end(starts: pd.Series, granularity: str) -> pd.Series:
    if granularity == "month":
        return starts + pd.DateOffset(months=1)
    return starts + pd.Timedelta(seconds=_SECONDS[granularity])


def _resolve_granularity(view: View, granularity: str | None) -> str:
    """Validate ``granularity`` (hour/day/week/month, or None/"auto": ``timeseries.choose_granularity`` over the
    view's time span — the finest granularity giving 20–60 windows, else the nearest on a log scale)."""
    if granularity not in (None, "auto") and granularity not in GRANULARITIES:
        raise ObsError(f"Unknown granularity {granularity!r}.", "Use hour, day, week, month or auto.")
    w = view.where()
    lo, hi, k = _fetch(view.store, f"SELECT min({TS}), max({TS}), count({TS}) FROM {view.table} WHERE {w.sql}",
                       w.params)
    if not k:
        raise NotEnoughData(f"The {view.dataset} data has no timestamps, so it has no time axis.",
                            "Map a timestamp column in the schema to see values over time.")
    if granularity in GRANULARITIES:
        return granularity
    from .timeseries import choose_granularity   # the one rule for every over-time chart (20–60 windows)
    return choose_granularity(lo, hi)


def _window_sql(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise ObsError(f"Unknown granularity {granularity!r}.")
    return f"date_trunc('{granularity}', {TS})"


# =================================================================================================
# missing_over_time
# =================================================================================================

def missing_over_time(primary: View, schema: Schema, *, granularity: str | None = None,
                      columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Missing share per primary time window and column, in one ``GROUP BY`` pass.

    Windows are tumbling calendar windows (``date_trunc``: hours, days, ISO weeks starting Monday, months) in
    UTC; ``granularity`` None/"auto" picks it with ``timeseries.choose_granularity`` (20–60 windows over the
    primary's span). Only windows that hold rows are returned.
    Missing means NULL, NaN (float columns) or blank text, as in :func:`quality_table`. Rows without a
    timestamp belong to no window. Columns: every schema column the primary has (except the timestamp
    itself), or ``columns=``.

    Returns ``window_start, window_end, column, missing_share (0..1), n_missing, n_rows, too_few_rows``
    (``n_rows`` < ``MIN_WINDOW_ROWS``), ordered by window then column order.
    """
    g = _resolve_granularity(primary, granularity)
    roles = [(c, r) for c, r in _roles(schema, columns) if c in primary.columns() and
             (columns is not None or r != "timestamp")]
    key = ("missing_over_time", primary.key, schema.to_json(), tuple(roles), g)

    def compute() -> pd.DataFrame:
        cols = _plan(primary, schema, roles)
        parts = []
        for c in cols:
            q = quote(c.name)
            cond = f"{q} IS NULL"
            if c.is_float:
                cond += f" OR isnan({q})"
            elif c.kind == "text":
                cond += f" OR {_blank_sql(q)}"
            parts.append(f"count_if({cond}) AS m{c.i}")
        w = primary.where()
        sql = (f"SELECT {_window_sql(g)} AS window_start, count(*) AS n_rows"
               f"{''.join(', ' + p for p in parts)} FROM {primary.table} "
               f"WHERE ({w.sql}) AND {TS} IS NOT NULL GROUP BY 1 ORDER BY 1")
        wide = primary.store.df(sql, w.params)
        frames = []
        for c in cols:
            f = pd.DataFrame({"window_start": wide["window_start"], "column": c.name,
                              "n_missing": wide[f"m{c.i}"].astype("int64"), "n_rows": wide["n_rows"].astype("int64")})
            frames.append(f)
        if not frames:
            return pd.DataFrame(columns=["window_start", "window_end", "column", "missing_share", "n_missing",
                                         "n_rows", "too_few_rows"])
        long = pd.concat(frames, ignore_index=True)
        long["window_start"] = pd.to_datetime(long["window_start"])
        long["window_end"] = _window_end(long["window_start"], g)
        long["missing_share"] = long["n_missing"] / long["n_rows"]
        long["too_few_rows"] = long["n_rows"] < MIN_WINDOW_ROWS
        order = {c.name: k for k, c in enumerate(cols)}
        long = long.sort_values(["window_start", "column"], key=lambda s: s.map(order) if s.name == "column" else s)
        long.attrs["granularity"] = g
        return long[["window_start", "window_end", "column", "missing_share", "n_missing", "n_rows",
                     "too_few_rows"]].reset_index(drop=True)

    out = _cached(primary, key, compute).copy()
    out.attrs["granularity"] = g
    return out
