"""Benchmark: the HTML report (``obs_core.report.build_report``) at 1,000,000 rows per dataset.

    python bench/bench_report.py [--rows 1000000] [--with-vectors]

Data: the bundled sample (6,000 + 6,000 rows, with its planted drift, new categories, rising missing values and
the weak 5.2 cluster) tiled to ``--rows`` rows per dataset with unique prediction ids, so distributions and the
report's findings stay the same while the row count grows. The 128-d ``text_vector`` column is dropped unless
``--with-vectors`` (the report does not use embeddings; at 1M rows it would add ~0.5 GB per dataset to load).

Printed, next to the targets:
  * report size in bytes and MB (target <= 5 MB; plotly.js, embedded once, is ~4.8 MB of it) and the size at
    the sample's 6,000 rows (it must not grow with the rows: the ratio should be ~1.0);
  * build time, cold (every engine result computed) and warm (the comparison's caches filled), with the time
    spent per section (from the progress callback); target <= 30 s cold at 1M vs 1M on 2 cores;
  * peak RSS of this process and the machine's load average (a shared machine stretches wall time).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {"size_mb": 5.0, "build_s": 30.0}


def _tile(table, rows: int):
    import pyarrow as pa
    import pyarrow.compute as pc
    k = -(-rows // table.num_rows)
    parts = []
    for i in range(k):
        ids = pc.binary_join_element_wise(table["prediction_id"], pa.scalar(f"-{i}"), "")
        parts.append(table.set_column(table.schema.get_field_index("prediction_id"), "prediction_id", ids))
    return pa.concat_tables(parts).slice(0, rows).combine_chunks()


def _build(cmp):
    from obs_core import report
    marks = []
    t0 = time.perf_counter()
    html = report.build_report(cmp, progress=lambda f, m: marks.append((time.perf_counter() - t0, m)))
    total = time.perf_counter() - t0
    sections = []
    for (t_a, m_a), (t_b, _) in zip(marks, marks[1:]):
        sections.append((m_a.rstrip("…"), t_b - t_a))
    return html, total, sections


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per dataset (default 1,000,000)")
    ap.add_argument("--with-vectors", action="store_true", help="keep the 128-d embedding column")
    args = ap.parse_args()

    import obs_core as obs

    ref0 = obs.read(ROOT / "sample_data" / "reference.parquet", name="reference (sample)")
    prod0 = obs.read(ROOT / "sample_data" / "production.parquet", name="production (sample)")
    drop = [] if args.with_vectors else ["text_vector"]

    small = obs.Comparison(obs.infer_schema(ref0, prod0), primary=prod0, reference=ref0)
    small_html, small_s, _ = _build(small)
    small.close()

    t = time.perf_counter()
    ref = obs.read(_tile(ref0.table.drop_columns(drop), args.rows), name=f"reference x{args.rows:,}")
    prod = obs.read(_tile(prod0.table.drop_columns(drop), args.rows), name=f"production x{args.rows:,}")
    cmp = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    load_s = time.perf_counter() - t

    html, cold_s, sections = _build(cmp)
    _, warm_s, _ = _build(cmp)
    cmp.close()

    size = len(html.encode("utf-8"))
    small_size = len(small_html.encode("utf-8"))
    from plotly.offline import get_plotlyjs
    js = len(get_plotlyjs().encode("utf-8"))
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    ok = lambda good: "OK " if good else "MISS"  # noqa: E731

    print(f"obs report benchmark — {args.rows:,} rows per dataset"
          f"{' (with vectors)' if args.with_vectors else ' (without the embedding column)'}")
    print(f"  load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}  (2 cores)")
    print(f"  load + Comparison            {load_s:8.1f} s")
    print(f"  [{ok(size <= TARGETS['size_mb'] * 1e6)}] report size            {size:>10,} B = {size / 1e6:.2f} MB   "
          f"target <= {TARGETS['size_mb']:.0f} MB (plotly.js {js / 1e6:.2f} MB, the rest {(size - js) / 1e3:,.0f} kB)")
    print(f"        size at 6,000 rows     {small_size:>10,} B = {small_size / 1e6:.2f} MB   "
          f"ratio {size / small_size:.3f} (does not grow with rows)")
    print(f"  [{ok(cold_s <= TARGETS['build_s'])}] build, cold            {cold_s:8.1f} s     "
          f"target <= {TARGETS['build_s']:.0f} s   (6,000 rows: {small_s:.1f} s)")
    for name, s in sections:
        print(f"          {name:<24} {s:7.1f} s")
    print(f"        build, warm caches     {warm_s:8.1f} s")
    print(f"        peak RSS               {rss_gb:8.2f} GB")


if __name__ == "__main__":
    main()
