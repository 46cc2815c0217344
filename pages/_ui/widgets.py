"""Widgets shared by the pages: error display, problems list, the sidebar filters with their chips."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

import obs_core as obs

from .session import Session

SEVERITY_ICON = {"error": "🛑", "warning": "⚠️", "info": "ℹ️"}


def show_error(e: obs.ObsError) -> None:
    st.error(e.user_message + (f"\n\n{e.hint}" if e.hint else ""), icon="🛑")


def show_problems(problems: list, *, limit: int = 30) -> None:
    """Validation problems, errors first, each with its message (which names column, rows, example, fix)."""
    for p in problems[:limit]:
        text = f"**{p.column}** — {p.message}" if p.column else p.message
        {"error": st.error, "warning": st.warning}.get(p.severity, st.info)(text, icon=SEVERITY_ICON[p.severity])
    if len(problems) > limit:
        st.caption(f"… and {len(problems) - limit} more.")


def page_header(title: str, sess: Session, cmp: obs.Comparison) -> None:
    st.title(title)
    n = cmp.num_rows()
    names = []
    if sess.primary is not None:
        names.append(f"primary **{sess.primary.name}** ({n['primary']:,} rows)")
    if sess.reference is not None and "reference" in n:
        names.append(f"reference **{sess.reference.name}** ({n['reference']:,} rows)")
    st.caption(" vs ".join(names) + (" · filtered" if cmp.filters or cmp.time_range else ""))


def _fmt_time(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if isinstance(t, dt.datetime) else str(t)


def sidebar_filters(sess: Session) -> None:
    """Time range + column filters, kept in the session so they hold across pages; chips remove them."""
    base = sess.base
    if base is None:
        return
    sb = st.sidebar
    sb.header("Filters")
    v = sess.version
    # Time range of the primary (the reference is another period, so it is not cut).
    lo, hi = base.time_span("primary")
    if lo is not None and hi is not None and hi > lo:
        start = sess.time_range.start if sess.time_range and sess.time_range.start else lo
        end = sess.time_range.end if sess.time_range and sess.time_range.end else hi
        start, end = max(lo, min(start, hi)), max(lo, min(end, hi))
        step = dt.timedelta(hours=1) if (hi - lo) > dt.timedelta(days=2) else dt.timedelta(minutes=5)
        picked = sb.slider("Primary time range (UTC)", min_value=lo, max_value=hi, value=(start, end), step=step,
                           format="MMM D HH:mm", key=f"time_range_{v}_{sess.time_range}")
        if picked != (start, end):
            a, b = picked
            sess.time_range = None if (a <= lo and b >= hi) else obs.TimeRange(a, b + dt.timedelta(microseconds=1))
            st.rerun()
    cols = base.filterable_columns()
    with sb.expander("Add a filter", expanded=False):
        column = st.selectbox("Column", ["—"] + [c for c in cols if c != base.schema.timestamp],
                              key=f"filter_col_{v}")
        if column != "—":
            kind = cols[column]
            new: obs.Filter | None = None
            if kind == "number":
                a, b = base.value_range(column)
                if a is None:
                    st.caption("This column has no values.")
                elif a == b:
                    st.caption(f"Every value is {a}.")
                else:
                    a, b = float(a), float(b)
                    rng = st.slider("Range", min_value=a, max_value=b, value=(a, b), key=f"filter_rng_{v}_{column}")
                    if st.button("Apply", key=f"filter_apply_{v}"):
                        new = obs.Filter(column, "between", (rng[0], rng[1]))
            elif kind in ("text", "bool"):
                values = base.distinct_values(column, limit=200)
                picked = st.multiselect("Values", values["value"].tolist(), key=f"filter_vals_{v}_{column}",
                                        format_func=lambda x: f"{x}")
                mode = st.radio("Keep", ["only these", "all but these"], horizontal=True, key=f"filter_mode_{v}")
                if st.button("Apply", key=f"filter_apply_{v}", disabled=not picked):
                    new = obs.Filter(column, "in" if mode == "only these" else "not_in", tuple(picked))
            elif kind == "time":
                a, b = base.value_range(column)
                st.caption(f"{_fmt_time(a)} → {_fmt_time(b)}")
            missing = st.checkbox("Only rows where it is missing", key=f"filter_null_{v}_{column}")
            if missing and st.button("Apply missing filter", key=f"filter_apply_null_{v}"):
                new = obs.Filter(column, "is_null")
            if new is not None:
                try:
                    base.with_filters([*sess.filters, new], sess.time_range)
                except obs.ObsError as e:
                    show_error(e)
                else:
                    sess.filters = [*sess.filters, new]
                    st.rerun()
    chips(sess, container=sb)


def chips(sess: Session, container: Any = None) -> None:
    """Active filters as removable chips."""
    c = container or st
    items = [(f"⏱ {_fmt_time(sess.time_range.start)} → {_fmt_time(sess.time_range.end)}", "time")] \
        if sess.time_range else []
    items += [(f.label(), i) for i, f in enumerate(sess.filters)]
    if not items:
        c.caption("No filters: every row is included.")
        return
    c.caption("Active filters (click to remove):")
    for label, ident in items:
        if c.button(f"✕ {label}", key=f"chip_{sess.version}_{ident}_{label}"):
            if ident == "time":
                sess.time_range = None
            else:
                sess.filters = [f for j, f in enumerate(sess.filters) if j != ident]
            st.rerun()
    if len(items) > 1 and c.button("Clear all filters", key=f"chip_clear_{sess.version}"):
        sess.filters, sess.time_range = [], None
        st.rerun()
