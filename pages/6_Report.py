"""Report: one self-contained HTML file with the headline, drift, data quality and performance, to share."""

from __future__ import annotations

import streamlit as st

import obs_core as obs
from obs_core.viz.performance import delta_color, fmt_metric, metric_label
from pages._ui import cached, session, widgets

st.set_page_config(page_title="Report · obs", page_icon="📄", layout="wide")

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Report", sess, cmp)

st.markdown("One HTML file with the headline numbers, the drift table and charts, the data-quality summary and the "
            "performance summary. It opens in any browser, offline (plotly.js is inside), and holds only "
            "aggregated results — no rows of your data — so it stays small whatever the number of rows.")

with st.spinner("Computing the headline numbers…"):
    try:
        h = cached.report_headline(cmp)
    except obs.ObsError as e:
        widgets.show_error(e)
        st.stop()

# ---- Preview ------------------------------------------------------------------------------------------
st.header("Headline")
c1, c2, c3 = st.columns(3)
if h.drifted is not None:
    c1.metric("Drifted columns", f"{len(h.drifted)} of {h.columns}", border=True,
              help=", ".join(h.drifted) or "No column drifted.")
else:
    c1.metric("Drifted columns", "—", border=True, help="Drift needs a reference dataset.")
if h.quality_fail is not None:
    c2.metric("Failing quality checks (primary)", f"{h.quality_fail:,}", border=True,
              delta=f"{h.quality_warn:,} warning{'s' if h.quality_warn != 1 else ''}", delta_color="off",
              delta_arrow="off")
else:
    c2.metric("Failing quality checks (primary)", "—", border=True)
if h.metric is not None and h.metric_primary is not None and h.metric_primary == h.metric_primary:
    delta = None
    if h.metric_reference is not None and h.metric_reference == h.metric_reference:
        delta = f"{h.metric_primary - h.metric_reference:+.3f} vs reference {fmt_metric(h.metric, h.metric_reference)}"
    c3.metric(f"{metric_label(h.metric)} (primary)", fmt_metric(h.metric, h.metric_primary), delta=delta,
              delta_color=delta_color(h.metric),
              border=True)
elif h.metric is not None and h.metric_reference is not None:
    c3.metric(f"{metric_label(h.metric)} (reference)", fmt_metric(h.metric, h.metric_reference), border=True,
              help="The primary has no rows with actual labels.")
else:
    c3.metric("Performance", "—", border=True, help="Needs a model type and actual labels.")
st.markdown("\n".join(f"- {s}" for s in h.sentences()))
if cmp.filters or cmp.time_range:
    st.caption("The report uses the sidebar filters, as every page does; they are written in its header.")

# ---- Build --------------------------------------------------------------------------------------------
st.header("Build")
title = st.text_input("Title", value="", placeholder=f"obs report: {h.primary_name}"
                      + (f" vs {h.reference_name}" if h.reference_name else ""), key="report_title",
                      help="Leave empty for the default title.").strip() or None
ready = cached.report_ready(cmp, title=title)
if st.button("Build report", key="report_build", type="primary", disabled=ready, icon="🛠️",
             help="The report below is up to date. Change the filters or the title to build another one."
             if ready else "Computes every section for the current filters (a few seconds)."):
    bar = st.progress(0.0, text="Starting…")
    try:
        cached.report_html(cmp, title=title, progress=lambda f, m: bar.progress(min(1.0, max(0.0, f)), text=m))
    except obs.ObsError as e:
        bar.empty()
        widgets.show_error(e)
        st.stop()
    bar.empty()
    st.rerun()

if cached.report_ready(cmp, title=title):
    html = cached.report_html(cmp, title=title)
    size = len(html.encode("utf-8"))
    st.success(f"Report ready: {size / 1e6:,.1f} MB, of which plotly.js is about 4.8 MB.", icon="✅")
    st.download_button("Download obs_report.html", html.encode("utf-8"), file_name="obs_report.html",
                       mime="text/html", key="report_download", type="primary", icon="⬇️")
    if st.toggle("Preview the report here", value=False, key="report_preview",
                 help="Shows the report in a frame below (scroll inside it)."):
        st.iframe(html, height=760)
else:
    st.caption("Building takes a few seconds: drift over time, quality and segments are computed for the current "
               "filters.")
