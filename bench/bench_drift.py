"""Benchmark: per-column drift table and drift over time, computed in DuckDB.

    python bench/bench_drift.py [--rows 1000000] [--repeats 3] [--baseline-rows 100000]

Data: a reference and a primary of ``--rows`` rows x 50 columns (40 numeric, 10 categorical, a few of them
drifted in the primary, ~1% missing values) with timestamps over 90 days, written to Parquet in a temporary
directory by a child process (so this process's peak RSS is obs's, not the generator's), then loaded with
``obs.read`` + ``obs.Comparison``.

Timed (median of ``--repeats`` runs, each with the session cache cleared, i.e. cold: reference profile,
primary counts, KS samples all recomputed):
  * the full drift table (target <= 5 s at 1M vs 1M),
  * drift over time for all columns at daily windows (target <= 10 s),
  * peak RSS of this process (target <= 4 GB),
  * a straightforward pandas + numpy + scipy drift table (reference-quantile bins with np.quantile/searchsorted,
    value_counts, PSI + chi-square + ks_2samp per column) vs obs on the same ``--baseline-rows`` rows: the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from synthetic import inference_table

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

N_NUM, N_CAT, DAYS = 40, 10, 90
TARGETS = {"drift": 5.0, "over_time": 10.0, "rss_gb": 4.0}


# ---------------------------------------------------------------------------------------------------
# data (child process)
# ---------------------------------------------------------------------------------------------------

def _table(n: int, seed: int, drifted: bool):
    return inference_table(n, seed, n_num=N_NUM, n_cat=N_CAT, days=DAYS, drift_num=5 if drifted else 0,
                           drift_cat=2 if drifted else 0)


def generate(out_dir: str, rows: int, baseline_rows: int) -> None:
    import pyarrow.parquet as pq
    for name, seed, drifted in (("reference", 1, False), ("primary", 2, True)):
        t = _table(rows, seed, drifted)
        pq.write_table(t, os.path.join(out_dir, f"{name}.parquet"), compression="zstd", row_group_size=250_000)
        pq.write_table(t.slice(0, baseline_rows), os.path.join(out_dir, f"{name}_small.parquet"))


# ---------------------------------------------------------------------------------------------------
# the straightforward pandas + scipy baseline
# ---------------------------------------------------------------------------------------------------

def pandas_drift(ref, prim, numeric, categorical, n_bins=10):
    from scipy.stats import chi2_contingency, ks_2samp
    out = {}
    for c in numeric:
        r, p = ref[c].to_numpy(dtype=float), prim[c].to_numpy(dtype=float)
        rf, pf = r[~np.isnan(r)], p[~np.isnan(p)]
        edges = np.unique(np.quantile(rf, np.arange(1, n_bins) / n_bins))
        rc = np.append(np.bincount(np.searchsorted(edges, rf, side="right"), minlength=len(edges) + 1),
                       np.isnan(r).sum())
        pc = np.append(np.bincount(np.searchsorted(edges, pf, side="right"), minlength=len(edges) + 1),
                       np.isnan(p).sum())
        q_, p_ = (rc + 0.5) / (rc + 0.5).sum(), (pc + 0.5) / (pc + 0.5).sum()
        keep = (rc + pc) > 0
        out[c] = (float(np.sum((p_ - q_) * np.log(p_ / q_))), chi2_contingency(np.vstack([rc[keep], pc[keep]]))[1],
                  ks_2samp(rf, pf).pvalue)
    for c in categorical:
        rv = ref[c].value_counts(dropna=False)
        pv = prim[c].value_counts(dropna=False)
        cats = rv.index.union(pv.index, sort=False)
        rc = rv.reindex(cats, fill_value=0).to_numpy()
        pc = pv.reindex(cats, fill_value=0).to_numpy()
        q_, p_ = (rc + 0.5) / (rc + 0.5).sum(), (pc + 0.5) / (pc + 0.5).sum()
        out[c] = (float(np.sum((p_ - q_) * np.log(p_ / q_))), chi2_contingency(np.vstack([rc, pc]))[1], None)
    return out


# ---------------------------------------------------------------------------------------------------

CPU: list[float] = []  # CPU seconds (all threads of this process) of the last median_time's runs


def median_time(fn, repeats: int, before=None) -> tuple[float, list[float], object]:
    """Median wall time of ``repeats`` runs; their CPU times go to ``CPU`` (a loaded machine shows as
    wall >> CPU / cores)."""
    times, res = [], None
    CPU.clear()
    for _ in range(repeats):
        if before:
            before()
        c = time.process_time()
        t = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t)
        CPU.append(time.process_time() - c)
    return statistics.median(times), times, res


def cpu_note() -> str:
    return f"cpu {statistics.median(CPU):.2f} s"


def comparison(directory: str, suffix: str = ""):
    import obs_core as obs
    ref = obs.read(os.path.join(directory, f"reference{suffix}.parquet"))
    prim = obs.read(os.path.join(directory, f"primary{suffix}.parquet"))
    schema = obs.Schema(timestamp="event_time", features=tuple(c for c in ref.columns if c != "event_time"))
    return obs.Comparison(schema, primary=prim, reference=ref, check=False), ref, prim, schema


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per dataset (default 1,000,000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-rows", type=int, default=100_000,
                    help="rows per dataset for the pandas+scipy comparison (default 100,000; at most --rows)")
    ap.add_argument("--generate-into", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.baseline_rows = min(args.baseline_rows, args.rows)
    if args.generate_into:
        generate(args.generate_into, args.rows, args.baseline_rows)
        return 0

    with tempfile.TemporaryDirectory(prefix="obs_bench_") as d:
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.abspath(__file__), "--rows", str(args.rows), "--baseline-rows",
                        str(args.baseline_rows), "--generate-into", d], check=True)
        print(f"generated 2 x {args.rows:,} rows x {N_NUM + N_CAT} columns (+ timestamp) in "
              f"{time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        cmp, *_ = comparison(d)
        print(f"obs.read + Comparison (DuckDB load): {time.perf_counter() - t:.2f} s")
        clear = cmp.store.cache.clear

        med, runs, df = median_time(cmp.drift, args.repeats, before=clear)
        n_drift = int((df["status"] == "drift").sum())
        print(f"drift table, cold ({len(df)} columns, {n_drift} drifted): median {med:.2f} s "
              f"(runs {', '.join(f'{x:.2f}' for x in runs)}; {cpu_note()})  target <= {TARGETS['drift']:.0f} s  "
              f"{'OK' if med <= TARGETS['drift'] else 'MISSED'}")
        cmp.drift()
        f = cmp.between_times("2026-02-01", None)
        med_w, _, _ = median_time(f.drift, args.repeats)
        print(f"drift table, profile cached, new primary filter: median {med_w:.2f} s ({cpu_note()})")

        med, runs, ot = median_time(lambda: cmp.drift_over_time(granularity="day"), args.repeats, before=clear)
        print(f"drift over time, daily, all columns, cold ({ot.attrs['n_windows']} windows x "
              f"{ot['column'].nunique()} columns): median {med:.2f} s (runs {', '.join(f'{x:.2f}' for x in runs)}; "
              f"{cpu_note()})  "
              f"target <= {TARGETS['over_time']:.0f} s  {'OK' if med <= TARGETS['over_time'] else 'MISSED'}")
        cmp.drift_over_time(granularity="day")
        med_w, _, _ = median_time(lambda: cmp.drift_over_time(granularity="day"), args.repeats)
        print(f"drift over time, profile cached: median {med_w:.2f} s ({cpu_note()})")
        cmp.close()
        rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB on Linux
        print(f"peak RSS (load + all of the above): {rss_gb:.2f} GB  target <= {TARGETS['rss_gb']:.0f} GB  "
              f"{'OK' if rss_gb <= TARGETS['rss_gb'] else 'MISSED'}")

        # baseline on the same smaller data
        import pandas as pd
        small, *_ = comparison(d, "_small")
        n_small = small.num_rows()["primary"]
        med_obs, _, _ = median_time(small.drift, args.repeats, before=small.store.cache.clear)
        cpu_obs = cpu_note()
        ref_df = pd.read_parquet(os.path.join(d, "reference_small.parquet"))
        prim_df = pd.read_parquet(os.path.join(d, "primary_small.parquet"))
        numeric = [c for c in ref_df.columns if c.startswith("num_")]
        categorical = [c for c in ref_df.columns if c.startswith("cat_")]
        med_pd, _, _ = median_time(lambda: pandas_drift(ref_df, prim_df, numeric, categorical), args.repeats)
        cpu_pd = cpu_note()
        small.close()
        print(f"{n_small:,} vs {n_small:,} rows: pandas+scipy {med_pd:.2f} s ({cpu_pd}), obs (cold) {med_obs:.2f} s "
              f"({cpu_obs}) -> pandas time / obs time = {med_pd / med_obs:.2f} "
              f"({'obs faster' if med_pd > med_obs else 'obs slower'})")

    print(f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; with load above the core count "
          "the wall times are inflated: compare with the cpu figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
