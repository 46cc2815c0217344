"""Drift over time: each primary window compared with the whole reference; pick windows to focus every page."""

from __future__ import annotations

import streamlit as st

import obs_core as obs
from obs_core.drift import DEFAULT_THRESHOLDS, METRICS
from obs_core.viz import drift as vd
from pages._ui import cached, session, widgets

st.set_page_config(page_title="Drift over time · obs", page_icon="🔭", layout="wide")

GRANULARITIES = ["auto", "hour", "day", "week", "month"]

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Drift over time", sess, cmp)

# The chart always spans the whole primary period (with the column filters), so windows can be picked and
# re-picked; the picked time range applies to every other page and is shaded here.
whole = cmp.between_times()

# ---- Settings (metric, thresholds and bins share their keys with the Drift page) --------------------------
c_metric, c_mod, c_drift, c_gran, c_mode, c_k = st.columns([1.3, 0.9, 0.9, 1, 1.1, 0.9])
metric = c_metric.selectbox("Score", METRICS, format_func=vd.metric_name, key="drift_metric",
                            persist_state="session")
d_mod, d_drift = DEFAULT_THRESHOLDS[metric]
moderate = c_mod.number_input("Moderate from", min_value=0.0, value=d_mod, step=0.01, format="%.3f",
                              key=f"drift_moderate_{metric}", persist_state="session")
drift_at = c_drift.number_input("Drift from", min_value=0.0, value=d_drift, step=0.01, format="%.3f",
                                key=f"drift_drift_{metric}", persist_state="session")
granularity = c_gran.selectbox("Window", GRANULARITIES, key="dot_granularity", persist_state="session",
                               format_func=lambda g: "auto" if g == "auto" else f"one {g}",
                               help="How long each window is. Auto picks hours, days, weeks or months so the "
                                    "period gives 20–60 windows.")
mode = c_mode.segmented_control("Windows", ["tumbling", "rolling"], default="tumbling", key="dot_mode",
                                required=True, persist_state="session",
                                help="Tumbling: each window stands alone. Rolling: each point covers the last "
                                     "N windows (smoother).")
rolling = c_k.number_input("Rolling over", min_value=2, max_value=60, value=7, step=1, key="dot_rolling",
                           disabled=mode != "rolling", persist_state="session",
                           help="How many consecutive windows each rolling point covers (e.g. 7 daily windows = "
                                "a 7-day rolling window).")
n_bins = st.session_state.get("drift_bins", 10)
thresholds = (float(moderate), float(drift_at))
# Same option sets as the Drift page, so both pages share cached results. Window scores do not depend on the
# thresholds (only the lines drawn do), so changing one redraws without recomputing.
dot_options = dict(metric=metric, n_bins=int(n_bins),
                   granularity=None if granularity == "auto" else granularity,
                   rolling=int(rolling) if mode == "rolling" else None)

with st.spinner("Scoring every time window against the reference…"):
    try:
        table = cached.drift_table(whole, metric=metric, thresholds=thresholds, n_bins=int(n_bins))
        dot = cached.drift_over_time(whole, **dot_options)
    except obs.ObsError as e:
        widgets.show_error(e)
        st.page_link("app.py", label="Load or change data on Home", icon="🏠")
        st.stop()

names = table["column"].tolist()
defaults = vd.top_drifted(table, n=5, minimum=3)
if "dot_columns" in st.session_state and not set(st.session_state["dot_columns"]) <= set(names):
    st.session_state.pop("dot_columns")
picked = st.multiselect("Columns", names, default=defaults, key="dot_columns",
                        help="By default the most drifted columns of the drift table (up to 5).",
                        placeholder="Pick one or more columns")

st.caption(f"**{vd.window_summary(dot, span=True)}**; each window is compared with the whole reference "
           f"({vd.metric_name(metric)}). Windows with fewer than {dot.attrs.get('min_rows', 30)} rows are not "
           "scored: they show as gaps in the lines and amber bars below.")

if not picked:
    st.info("Pick at least one column above to draw its drift over time.")
else:
    fig = vd.over_time_figure(dot, columns=picked, height=520, thresholds=thresholds,
                              selected=(sess.time_range.start, sess.time_range.end) if sess.time_range else None)
    event = st.plotly_chart(fig, key="dot_chart", on_select="rerun", selection_mode=("points", "box"),
                            width="stretch", config={"displaylogo": False})
    st.caption("👆 **Click a point, or drag a box over several windows, to restrict every page to that time "
               "range.** The sidebar shows it as a ⏱ chip; click the chip to remove it.")
    span = vd.selected_span(dot, event)
    if span != st.session_state.get("_dot_applied"):
        st.session_state["_dot_applied"] = span
        if span is not None:
            sess.time_range = obs.TimeRange(span[0].to_pydatetime(), span[1].to_pydatetime())
            st.rerun()

if sess.time_range is not None:
    tr = sess.time_range
    c_msg, c_btn = st.columns([4, 1])
    c_msg.info(f"Every page is restricted to **{vd.range_text(tr.start, tr.end)}** "
               f"({cmp.num_rows()['primary']:,} primary rows).", icon="⏱")
    if c_btn.button("Show the whole period", key="dot_clear_range", width="stretch"):
        sess.time_range = None
        st.rerun()

# ---- Embeddings ------------------------------------------------------------------------------------
embeddings = [n for n in cmp.schema.all_embeddings() if n in set(dot["column"])]
if embeddings:
    st.subheader("Embedding drift over time")
    st.plotly_chart(vd.embedding_over_time_figure(dot, embeddings=embeddings), key="dot_embedding_chart",
                    width="stretch", config={"displaylogo": False})
    st.caption("Euclidean distance between the centroid (mean vector) of each primary window and the centroid "
               "of the whole reference. Higher = the inputs moved; the **Embeddings** page shows which group.")
