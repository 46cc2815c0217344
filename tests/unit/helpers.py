"""Builders shared by the engine tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

import obs_core as obs
from obs_core.store import Store, View

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def make_views(reference, primary, timestamp: str | None = None) -> tuple[View, View]:
    """A store holding both datasets (Arrow tables, or dicts of lists / DataFrames); (reference, primary) views."""
    st = Store(threads=2)
    ref = reference if isinstance(reference, pa.Table) else pa.table(reference)
    prim = primary if isinstance(primary, pa.Table) else pa.table(primary)
    st.load("primary", prim, timestamp=timestamp, fingerprint="p")
    st.load("reference", ref, timestamp=timestamp, fingerprint="r", row_id_offset=prim.num_rows)
    return View(st, "reference"), View(st, "primary")


def sample_comparison():
    """The bundled sample as a Comparison (a generator, for pytest fixtures: closed afterwards)."""
    ref = obs.read(str(SAMPLE / "reference.parquet"))
    prod = obs.read(str(SAMPLE / "production.parquet"))
    c = obs.Comparison(obs.infer_schema(ref, prod), primary=prod, reference=ref)
    yield c
    c.close()
