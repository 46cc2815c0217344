"""Benchmark: the Drift pages as a user meets them (Streamlit AppTest, the real page scripts, no browser).

    python bench/bench_pages.py [--rows 1000000] [--repeats 3]

Data: a reference and a primary of ``--rows`` rows x 17 columns (12 numeric, 5 categorical; 3 numeric and 1
categorical drifted in the primary, ~1% missing values) with timestamps over 90 days, written to Parquet in a
temporary directory by a child process.

Session set-up (untimed, reported): ``app.py`` runs once under AppTest with ``OBS_NO_SAMPLE=1`` (so it does not
open on the bundled sample), then this process reaches into that session's state
(``at.session_state[pages._ui.session.KEY]``, the same ``Session`` object the pages use) and calls
``session.load_datasets`` + ``session.confirm`` with the two files read by ``obs.read``, as the Home page does
after an upload. Every repeat confirms again, which builds a new ``Comparison`` (new DuckDB store), so every
"first" figure below is cold: reference profile, counts, KS samples and Streamlit caches all recomputed.

Timed (wall time of ``at.run()``, i.e. a finished script run; median of ``--repeats``):
  * first Drift page: drift table + top column's bins + its drift over time (target <= 10 s),
  * a widget change on the Drift page: raise the drift threshold (target <= 2 s),
  * another column's detail (target <= 2 s),
  * page switch to Drift over time (target <= 2 s), a granularity change there (weekly: a new computation,
    reported against the 10 s first-computation target), and back to Drift (target <= 2 s),
  * a new sidebar filter on the Drift page (new primary counts; the reference profile is reused; reported
    against the 10 s first-computation target).
The first repeat also pays one-off imports (scipy.stats, plotly) that a running server pays once per process:
its run is listed next to the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


from synthetic import inference_table

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

N_NUM, N_CAT, DAYS = 12, 5, 90
TARGETS = {"first": 10.0, "change": 2.0}


def _table(n: int, seed: int, drifted: bool):
    return inference_table(n, seed, n_num=N_NUM, n_cat=N_CAT, days=DAYS, drift_num=3 if drifted else 0,
                           drift_cat=1 if drifted else 0, drift_late=True)


def generate(out_dir: str, rows: int) -> None:
    import pyarrow.parquet as pq
    for name, seed, drifted in (("reference", 1, False), ("primary", 2, True)):
        pq.write_table(_table(rows, seed, drifted), os.path.join(out_dir, f"{name}.parquet"), compression="zstd",
                       row_group_size=250_000)


def timed_run(at) -> float:
    t = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t
    assert not at.exception, at.exception
    return dt


def _widget(at, kind: str, label: str):
    [w] = [w for w in getattr(at, kind) if w.label == label]
    return w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per dataset (default 1,000,000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--generate-into", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate_into:
        generate(args.generate_into, args.rows)
        return 0

    os.environ["OBS_WARMUP"] = "0"       # no numba warm-up thread competing for the 2 cores
    os.environ["OBS_NO_SAMPLE"] = "1"    # do not open on the bundled sample
    os.chdir(ROOT)
    from streamlit.testing.v1 import AppTest

    import obs_core as obs
    from pages._ui import session

    with tempfile.TemporaryDirectory(prefix="obs_bench_pages_") as d:
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.abspath(__file__), "--rows", str(args.rows), "--generate-into", d],
                       check=True)
        print(f"generated 2 x {args.rows:,} rows x {N_NUM + N_CAT} columns (+ timestamp, {DAYS} days) in "
              f"{time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        ref = obs.read(os.path.join(d, "reference.parquet"), name="reference")
        prim = obs.read(os.path.join(d, "primary.parquet"), name="primary")
        print(f"obs.read of both files: {time.perf_counter() - t:.2f} s")

        at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=600)
        at.run()
        sess = at.session_state[session.KEY]
        results: dict[str, list[float]] = {}

        def note(name: str, seconds: float) -> None:
            results.setdefault(name, []).append(seconds)

        for r in range(args.repeats):
            t = time.perf_counter()
            session.load_datasets(sess, reference=ref, primary=prim, source="upload")
            problems = session.confirm(sess, sess.schema)
            assert sess.ready, problems
            note("session set-up: schema, validation, DuckDB load (untimed target)", time.perf_counter() - t)

            at.switch_page("pages/1_Drift.py")
            note("Drift page, first computation", timed_run(at))
            if r == 0:
                head = [s.value for s in at.subheader if "drifted since" in s.value]
                print(f"  headline: {head[0] if head else '?'}")
            _widget(at, "number_input", "Drift from").set_value(0.3)
            note("Drift page, change the drift threshold", timed_run(at))
            columns = at.dataframe[0].value["column"].tolist()
            _widget(at, "selectbox", "Show details for column").set_value(columns[len(columns) // 2])
            note("Drift page, open another column's detail", timed_run(at))
            at.switch_page("pages/2_Drift_over_time.py")
            note("switch to Drift over time", timed_run(at))
            _widget(at, "selectbox", "Window").set_value("week")
            note("Drift over time, weekly windows (new computation)", timed_run(at))
            _widget(at, "selectbox", "Window").set_value("auto")
            at.run()
            at.switch_page("pages/1_Drift.py")
            note("switch back to Drift", timed_run(at))
            sess.filters = [obs.Filter("cat_01", "in", ("c0", "c1", "c2"))]  # what the sidebar's Apply does
            note("Drift page, a new sidebar filter (new computation)", timed_run(at))
            sess.filters = []
            at.run()
            _widget(at, "number_input", "Drift from").set_value(0.25)  # next repeat starts from the default
            at.run()

        targets = {
            "Drift page, first computation": TARGETS["first"],
            "Drift page, change the drift threshold": TARGETS["change"],
            "Drift page, open another column's detail": TARGETS["change"],
            "switch to Drift over time": TARGETS["change"],
            "Drift over time, weekly windows (new computation)": TARGETS["first"],
            "switch back to Drift": TARGETS["change"],
            "Drift page, a new sidebar filter (new computation)": TARGETS["first"],
        }
        print(f"\n{'step':<58} {'median':>8} {'runs':>22} {'target':>8}")
        for name, runs in results.items():
            med = statistics.median(runs)
            tgt = targets.get(name)
            verdict = "" if tgt is None else ("OK" if med <= tgt else "MISSED")
            print(f"{name:<58} {med:>7.2f}s {', '.join(f'{x:.2f}' for x in runs):>22} "
                  f"{'' if tgt is None else f'<= {tgt:.0f} s':>8} {verdict}")
        if sess.base is not None:
            sess.base.close()
    print(f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
