"""Benchmark: reading files and loading them into a session's DuckDB store.

    python bench/bench_load.py                 # both targets below
    python bench/bench_load.py --rows 200000   # smaller, quicker

Targets (issue "Foundation"):
  1. A 1,000,000-row x 30-column Parquet file (plus a 384-d float32 embedding on 100,000 of the rows) read
     and loaded into the store: <= 5 s; peak RSS <= 3x the file size.
  2. A ~200 MB CSV upload (bytes in memory, as Streamlit hands them over) read and loaded: peak RSS added by
     the load <= 2x the RAM of its DuckDB table.

Each case runs in a fresh child process so its peak RSS is its own; times are the median of 3 runs.
Not a test: CI does not time anything.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def make_parquet(path: str, rows: int, vec_rows: int, dim: int = 384) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    cols = {"prediction_id": pa.array([f"id-{i}" for i in range(rows)]),
            "prediction_ts": pa.array(np.datetime64("2026-01-01", "us")
                                      + np.sort(rng.integers(0, 90 * 86_400 * 10**6, rows)).astype("timedelta64[us]"))}
    for i in range(22):
        cols[f"num_{i}"] = rng.normal(i, 1 + i, rows)
    for i in range(5):
        cols[f"cat_{i}"] = pa.array(rng.choice([f"c{j}" for j in range(3 + 4 * i)], rows)).dictionary_encode()
    cols["prediction_score"] = rng.random(rows)
    # 384 float32s on vec_rows random rows, null elsewhere, as a list column (what pandas and most writers give)
    present = np.zeros(rows, bool)
    present[rng.choice(rows, vec_rows, replace=False)] = True
    offsets = np.concatenate([[0], np.cumsum(np.where(present, dim, 0))]).astype("int32")
    values = pa.array(rng.normal(size=vec_rows * dim).astype("float32"))
    cols["embedding"] = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~present))
    table = pa.table(cols)
    pq.write_table(table, path, row_group_size=128_000)


def make_csv(path: str, target_mb: int) -> None:
    rng = np.random.default_rng(1)
    rows = int(target_mb * 1e6 / 190)
    import pyarrow as pa
    import pyarrow.csv as pcsv
    cols = {"prediction_id": [f"r{i}" for i in range(rows)],
            "prediction_ts": pa.array(np.datetime64("2026-01-01", "s")
                                      + rng.integers(0, 90 * 86_400, rows).astype("timedelta64[s]"))}
    for i in range(10):
        cols[f"num_{i}"] = np.round(rng.normal(i, 1 + i, rows), 6)
    for i in range(4):
        cols[f"cat_{i}"] = rng.choice(["alpha", "beta", "gamma", "delta"], rows)
    cols["prediction_label"] = rng.choice(["yes", "no"], rows)
    cols["prediction_score"] = np.round(rng.random(rows), 6)
    pcsv.write_csv(pa.table(cols), path)


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import obs_core as obs
from obs_core.store import Store
path, mode = {path!r}, {mode!r}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = open(path, "rb").read() if mode == "bytes" else path
after_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ds = obs.read(data, name=path.rsplit("/", 1)[-1])
t_read = time.perf_counter() - t0
schema = obs.infer_schema(ds)
st = Store()
st.load("primary", ds.table, timestamp=schema.timestamp, fingerprint=ds.fingerprint)
t_total = time.perf_counter() - t0
del ds, data
import gc; gc.collect()
size = st.fetchall("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")[0][0]
print(json.dumps(dict(read=t_read, total=t_total, peak_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      base_kb=base, after_bytes_kb=after_bytes, duckdb_bytes=int(size or 0))))
"""


def run_child(path: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, path=path, mode=mode)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--csv-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pq_path = os.path.join(tmp, "inferences.parquet")
        make_parquet(pq_path, args.rows, max(1, args.rows // 10))
        size = os.path.getsize(pq_path)
        runs = [run_child(pq_path, "path") for _ in range(args.runs)]
        t = statistics.median(r["total"] for r in runs)
        peak = statistics.median(r["peak_kb"] for r in runs) * 1024
        print(f"Parquet {args.rows:,} rows x 30 cols + 384-d on {args.rows // 10:,} rows ({size / 1e6:.0f} MB)")
        print(f"  read + load into the store: {t:.2f} s (median of {len(runs)}; read alone "
              f"{statistics.median(r['read'] for r in runs):.2f} s)   target <= 5 s")
        print(f"  peak RSS: {peak / 1e6:.0f} MB = {peak / size:.2f}x the file   target <= 3x")

        csv_path = os.path.join(tmp, "upload.csv")
        make_csv(csv_path, args.csv_mb)
        size = os.path.getsize(csv_path)
        runs = [run_child(csv_path, "bytes") for _ in range(args.runs)]
        r = sorted(runs, key=lambda r: r["peak_kb"])[len(runs) // 2]
        added = (r["peak_kb"] - r["after_bytes_kb"]) * 1024
        print(f"CSV upload {size / 1e6:.0f} MB held as bytes")
        print(f"  read + load: {statistics.median(x['total'] for x in runs):.2f} s; DuckDB table "
              f"{r['duckdb_bytes'] / 1e6:.0f} MB; RAM added by the load {added / 1e6:.0f} MB = "
              f"{added / max(r['duckdb_bytes'], 1):.2f}x the table   target <= 2x")


if __name__ == "__main__":
    main()
