"""Cached calls into obs_core for the pages.

Caches are session-scoped (``scope="session"``): user data never sits in a process-wide cache. Keys are the
comparison's data fingerprints, schema, filters and time range plus the call's options, so returning to a
page is instant and any change of filter recomputes.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import obs_core as obs

from .session import hash_funcs

_CACHE = dict(scope="session", hash_funcs=hash_funcs(), show_spinner=False, max_entries=64)


@st.cache_data(**_CACHE)
def drift_table(cmp: obs.Comparison, **options: Any):
    return cmp.drift(**options)


@st.cache_data(**_CACHE)
def drift_bins(cmp: obs.Comparison, column: str, **options: Any):
    from obs_core import drift
    return drift.drift_bins(cmp.reference, cmp.primary, cmp.schema, column, **options)


@st.cache_data(**_CACHE)
def drift_over_time(cmp: obs.Comparison, **options: Any):
    return cmp.drift_over_time(**options)


@st.cache_data(**_CACHE)
def quality_table(cmp: obs.Comparison, **options: Any):
    return cmp.quality(**options)


@st.cache_data(**_CACHE)
def performance(cmp: obs.Comparison, **options: Any):
    return cmp.performance(**options)


@st.cache_data(**_CACHE)
def segments(cmp: obs.Comparison, **options: Any):
    return cmp.segments(**options)


@st.cache_data(**_CACHE)
def fairness(cmp: obs.Comparison, **options: Any):
    return cmp.fairness(**options)


@st.cache_data(**_CACHE)
def embedding_drift(cmp: obs.Comparison, embedding: str, **options: Any):
    return cmp.embedding_drift(embedding, **options)


@st.cache_data(**_CACHE)
def num_rows(cmp: obs.Comparison) -> dict[str, int]:
    return cmp.num_rows()


# ---- Data quality, performance and report pages --------------------------------------------------------

@st.cache_data(**_CACHE)
def quality_summary(cmp: obs.Comparison):
    from obs_core import quality
    return quality.quality_summary(cmp.quality())


@st.cache_data(**_CACHE)
def quality_detail(cmp: obs.Comparison, column: str, **options: Any):
    from obs_core import quality
    return quality.quality_detail(cmp.reference, cmp.primary, cmp.schema, column, **options)


@st.cache_data(**_CACHE)
def missing_over_time(cmp: obs.Comparison, **options: Any):
    from obs_core import quality
    return quality.missing_over_time(cmp.primary, cmp.schema, **options)


@st.cache_data(**_CACHE)
def confusion_matrix(cmp: obs.Comparison, **options: Any):
    from obs_core import performance
    return performance.confusion_matrix(cmp.reference, cmp.primary, cmp.schema, **options)


@st.cache_data(**_CACHE)
def calibration(cmp: obs.Comparison, **options: Any):
    from obs_core import performance
    return performance.calibration(cmp.reference, cmp.primary, cmp.schema, **options)


@st.cache_data(**_CACHE)
def worst_segment_columns(cmp: obs.Comparison, **options: Any):
    from obs_core import report
    return report.rank_segment_columns(cmp, **options)


@st.cache_data(**_CACHE)
def report_headline(cmp: obs.Comparison):
    from obs_core import report
    return report.headline(cmp)


def report_html(cmp: obs.Comparison, *, title: str | None = None, progress: Any = None) -> str:
    """The HTML report, kept in this session's state (keyed like the caches) so a rerun or download does not
    rebuild it; ``progress(fraction, message)`` is called while it is built."""
    from obs_core import report
    from .session import cache_key
    store = st.session_state.setdefault("_obs_reports", {})
    key = (cache_key(cmp), title)
    if key not in store:
        store.clear()   # keep one report per session: they are ~5 MB each
        store[key] = report.build_report(cmp, title=title, progress=progress)
    return store[key]


def report_ready(cmp: obs.Comparison, *, title: str | None = None) -> bool:
    from .session import cache_key
    return (cache_key(cmp), title) in st.session_state.get("_obs_reports", {})


# ---- Embeddings page ------------------------------------------------------------------------------

def point_cloud(cmp: obs.Comparison, embedding: str, *, _progress: Any = None, **options: Any):
    """``cmp.point_cloud(embedding, **options)``; ``_progress(fraction, message)`` is called between stages.

    Deliberately not ``st.cache_data``: the engine already memoises clouds per session in the comparison's
    store (keyed by data fingerprints, filters, time range, embedding, sample size, UMAP/HDBSCAN parameters and
    seed), so a revisit is instant and new HDBSCAN parameters reuse the cached projection. ``st.cache_data``
    would record the progress bar's updates and, on a cache hit, replay them into a block created outside the
    function (``CacheReplayClosureError``), and it would pickle away the store handle ``recluster`` needs.
    """
    return cmp.point_cloud(embedding, progress=_progress, **options)
