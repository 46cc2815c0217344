"""Per-session state: the loaded datasets, the confirmed schema, the comparison, filters and selection.

Everything a user loads lives in ``st.session_state`` (one entry per browser session), so two sessions
never see each other's data. Nothing user-specific goes into a global cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

import obs_core as obs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "sample_data"
SAMPLE_FILES = {"reference": SAMPLE_DIR / "reference.parquet", "primary": SAMPLE_DIR / "production.parquet"}
KEY = "_obs_session"


@dataclass
class Session:
    reference: obs.Dataset | None = None
    primary: obs.Dataset | None = None
    schema: obs.Schema | None = None      # the proposed or edited schema
    confirmed: bool = False                # the user (or the sample loader) confirmed the schema
    problems: list = field(default_factory=list)
    base: obs.Comparison | None = None     # the comparison without filters
    source: str = ""                       # "sample" | "upload"
    filters: list = field(default_factory=list)         # list[obs.Filter], applied on every page
    time_range: obs.TimeRange | None = None
    selection: set = field(default_factory=set)          # selected row ids (embeddings page)
    version: int = 0                       # bumps on every (re)load: widget keys and caches follow it

    @property
    def ready(self) -> bool:
        return self.base is not None

    def comparison(self) -> obs.Comparison | None:
        """The comparison with the sidebar filters and time range applied."""
        if self.base is None:
            return None
        if not self.filters and self.time_range is None:
            return self.base
        return self.base.with_filters(self.filters, self.time_range)

    def reset_data(self) -> None:
        if self.base is not None:
            self.base.close()
        self.reference = self.primary = self.schema = self.base = None
        self.confirmed = False
        self.problems = []
        self.filters = []
        self.time_range = None
        self.selection = set()
        self.version += 1


def get() -> Session:
    """This browser session's state (created on first use)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = Session()
    return st.session_state[KEY]


def load_datasets(sess: Session, *, reference: obs.Dataset | None, primary: obs.Dataset | None, source: str) -> None:
    """Replace the session's data and propose a schema (not yet confirmed)."""
    sess.reset_data()
    if primary is None and reference is not None:  # one file: it is the data under study
        primary, reference = reference, None
    sess.reference, sess.primary, sess.source = reference, primary, source
    sess.schema = obs.infer_schema(*(d for d in (reference, primary) if d is not None))
    sess.problems = obs.validate(sess.schema, reference=reference, primary=primary)  # shown before confirming


def confirm(sess: Session, schema: obs.Schema) -> list:
    """Validate ``schema`` and, if it has no errors, build the comparison. Returns the problems."""
    sess.schema = schema
    sess.problems = obs.validate(schema, reference=sess.reference, primary=sess.primary)
    if any(p.severity == "error" for p in sess.problems):
        sess.confirmed = False
        sess.base = None
        return sess.problems
    if sess.base is not None:
        sess.base.close()
    sess.base = obs.Comparison(schema, primary=sess.primary, reference=sess.reference, check=False)
    sess.confirmed = True
    sess.filters, sess.time_range, sess.selection = [], None, set()
    sess.version += 1
    return sess.problems


def load_sample(sess: Session) -> None:
    """Load the bundled sample and confirm its proposed schema (it is known to fit)."""
    ref = obs.read(SAMPLE_FILES["reference"], name="reference (sample, September)")
    prod = obs.read(SAMPLE_FILES["primary"], name="production (sample, October)")
    load_datasets(sess, reference=ref, primary=prod, source="sample")
    confirm(sess, sess.schema)


def ensure_started(sess: Session) -> None:
    """First visit of a session: open on the bundled sample so there is something to look at."""
    if not st.session_state.get("_obs_started"):
        st.session_state["_obs_started"] = True
        if sess.base is None and sess.primary is None and os.environ.get("OBS_NO_SAMPLE") != "1":
            load_sample(sess)


def require_data() -> tuple[Session, obs.Comparison]:
    """For pages: the session and its filtered comparison, or an empty state that says what to do."""
    from .startup import start_warm_up
    start_warm_up()  # a first visit may land on any page, not only Home
    sess = get()
    ensure_started(sess)
    if not sess.ready:
        st.info("No data yet. Load the bundled sample or upload your files on the **Home** page, then confirm "
                "the schema.")
        st.page_link("app.py", label="Go to Home", icon="🏠")
        st.stop()
    return sess, sess.comparison()


def cache_key(cmp: obs.Comparison) -> tuple:
    """What a result depends on: data fingerprints, schema, filters and time range."""
    return cmp.cache_key + (id(cmp.store),)


def hash_funcs() -> dict[Any, Any]:
    return {obs.Comparison: cache_key}
