"""Turning a timestamp column into UTC instants.

Rule: timezone-aware values are converted to UTC; naive values are taken to be UTC already (the UI says so);
strings are parsed (ISO 8601 first, then other common layouts); numbers are Unix epochs whose unit
(s, ms, us, ns) follows from their magnitude. The result is a naive ``timestamp[us]`` array holding UTC.
Values that cannot be parsed become null and are counted, never replaced by "now".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UTC_NAIVE = pa.timestamp("us")


@dataclass(frozen=True)
class ParsedTimestamps:
    values: pa.Array          # timestamp[us], naive, UTC; null where missing or unparseable
    n_unparseable: int        # non-null inputs that could not be parsed
    example: object | None    # one such input, for the message
    was_naive: bool           # the input carried no time zone (so it was taken as UTC)
    epoch_unit: str | None = None


def _epoch_unit(values: np.ndarray) -> str:
    finite = np.abs(values[np.isfinite(values)])
    m = float(np.median(finite)) if finite.size else 0.0
    if m < 1e11:
        return "s"
    if m < 1e14:
        return "ms"
    if m < 1e17:
        return "us"
    return "ns"


def parse_timestamps(arr: pa.Array | pa.ChunkedArray) -> ParsedTimestamps:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_timestamp(t):
        # Arrow stores UTC instants for zoned timestamps, so a cast to naive keeps the UTC wall time.
        return ParsedTimestamps(pc.cast(arr, UTC_NAIVE, safe=False), 0, None, t.tz is None)
    if pa.types.is_date(t):
        return ParsedTimestamps(pc.cast(pc.cast(arr, pa.timestamp("s")), UTC_NAIVE), 0, None, True)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        vals = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        unit = _epoch_unit(vals)
        scale = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}[unit]
        with np.errstate(invalid="ignore", over="ignore"):
            us = vals * scale
        ok = np.isfinite(us) & (np.abs(us) < 9.2e18)
        out = pa.array(np.where(ok, us, 0).astype("int64"), type=pa.int64(), mask=~ok)
        bad = int(np.count_nonzero(~ok & ~np.isnan(vals)))
        example = None if not bad else vals[~ok & ~np.isnan(vals)][0].item()
        return ParsedTimestamps(pc.cast(out, UTC_NAIVE), bad, example, True, unit)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        s = pd.Series(arr.to_pandas(), dtype="object")
        parsed = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        retry = parsed.isna() & s.notna()
        if retry.any():
            parsed[retry] = pd.to_datetime(s[retry], utc=True, errors="coerce", format="mixed")
        bad_mask = parsed.isna() & s.notna() & (s.astype(str).str.strip() != "")
        bad = int(bad_mask.sum())
        example = s[bad_mask].iloc[0] if bad else None
        naive = not s.dropna().astype(str).str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).any()
        values = pa.array(parsed.dt.tz_convert(None).astype("datetime64[us]"), type=UTC_NAIVE)
        return ParsedTimestamps(values, bad, example, naive)
    if pa.types.is_null(t):
        return ParsedTimestamps(pa.nulls(len(arr), UTC_NAIVE), 0, None, True)
    n = len(arr) - arr.null_count
    example = next((v for v in arr.to_pylist() if v is not None), None)
    return ParsedTimestamps(pa.nulls(len(arr), UTC_NAIVE), n, example, True)
