"""Drift: which columns changed between the reference and the primary, how much, and since when."""

from __future__ import annotations

import streamlit as st

import obs_core as obs
from obs_core.drift import DEFAULT_THRESHOLDS, METRICS
from obs_core.viz import drift as vd
from obs_core.viz.style import PRIMARY_COLOR, REFERENCE_COLOR, status_badge
from pages._ui import cached, session, widgets

st.set_page_config(page_title="Drift · obs", page_icon="🔭", layout="wide")

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Drift", sess, cmp)

# ---- Settings (same keys on the Drift over time page; kept for the whole session) ---------------------
c_metric, c_mod, c_drift, c_bins = st.columns([1.4, 1, 1, 1])
metric = c_metric.selectbox("Score", METRICS, format_func=vd.metric_name, key="drift_metric",
                            persist_state="session",
                            help="PSI (default), Jensen–Shannon distance, KL divergence (primary‖reference) or "
                                 "Hellinger distance, on reference-fitted bins with α = 0.5 smoothing.")
d_mod, d_drift = DEFAULT_THRESHOLDS[metric]
moderate = c_mod.number_input("Moderate from", min_value=0.0, value=d_mod, step=0.01, format="%.3f",
                              key=f"drift_moderate_{metric}", persist_state="session",
                              help=f"A score at or above this is 🟠 moderate (default {d_mod:g} for "
                                   f"{vd.metric_name(metric)}).")
drift_at = c_drift.number_input("Drift from", min_value=0.0, value=d_drift, step=0.01, format="%.3f",
                                key=f"drift_drift_{metric}", persist_state="session",
                                help=f"A score at or above this is 🔴 drift (default {d_drift:g}).")
n_bins = c_bins.number_input("Bins (numeric columns)", min_value=2, max_value=50, value=10, step=1,
                             key="drift_bins", persist_state="session",
                             help="Numeric columns are cut at this many reference quantiles; categorical columns "
                                  "get one bin per reference category, plus unseen and missing bins.")
options = dict(metric=metric, thresholds=(float(moderate), float(drift_at)), n_bins=int(n_bins))

with st.spinner("Comparing every column with the reference…"):
    try:
        table = cached.drift_table(cmp, **options)
    except obs.ObsError as e:
        widgets.show_error(e)
        st.page_link("app.py", label="Load or change data on Home", icon="🏠")
        st.stop()

if not len(table):
    st.info("There are no columns to compare. Mark some columns as features on the **Home** page "
            "(schema form), then come back.")
    st.page_link("app.py", label="Go to Home", icon="🏠")
    st.stop()

counts = vd.drift_counts(table)
icon = "🔴" if counts["drift"] else ("🟠" if counts["moderate"] else "🟢")
st.subheader(f"{icon} {vd.headline(table, sess.reference.name if sess.reference else None)}")
st.caption(f"Score: {vd.metric_name(metric)} between the reference and primary shares of rows per bin "
           f"(bins fitted on the reference; missing values and new categories get bins of their own). "
           f"🟠 moderate ≥ {moderate:g}, 🔴 drift ≥ {drift_at:g}. p-values: KS for numeric columns, chi-square "
           "for categorical ones, Benjamini–Hochberg corrected. Click a column header to sort; select a row to "
           "see that column below.")

view = vd.table_view(table)
event = st.dataframe(
    view, key="drift_table", on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
    height=min(38 + 35 * len(view), 600),
    column_order=["column", "status", "score", "reference_shares", "primary_shares", "missing_reference",
                  "missing_primary", "unseen", "test", "p_value_adj", "role", "type", "rows", "note"],
    column_config={
        "column": st.column_config.TextColumn("Column", pinned=True),
        "status": st.column_config.TextColumn("Status", width=95,
                                              help="🔴 drift · 🟠 moderate · 🟢 no drift · ⚪ not scored (see Note)"),
        "score": st.column_config.NumberColumn(vd.metric_name(metric), format="%.3f", width=80,
                                               help=f"{vd.metric_name(metric)}: reference vs primary."),
        "reference_shares": st.column_config.BarChartColumn("Reference", y_min=0, color=REFERENCE_COLOR, width=95,
                                                            help="Share of reference rows per bin."),
        "primary_shares": st.column_config.BarChartColumn("Primary", y_min=0, color=PRIMARY_COLOR, width=95,
                                                          help="Share of primary rows per bin (same bins)."),
        "missing_reference": st.column_config.NumberColumn("Missing ref.", format="%.1f%%", width=85,
                                                           help="Share of reference rows with no value."),
        "missing_primary": st.column_config.NumberColumn("Missing prim.", format="%.1f%%", width=95,
                                                         help="Share of primary rows with no value."),
        "unseen": st.column_config.TextColumn("Unseen", width=65,
                                              help="Share of primary rows with a category the reference never "
                                                   "had (categorical columns only)."),
        "test": st.column_config.TextColumn("Test", width=80,
                                            help="KS for numeric columns, chi-square for categorical ones."),
        "p_value_adj": st.column_config.NumberColumn("p (adj.)", format="%.2g", width=75,
                                                     help="The test's p-value, Benjamini–Hochberg corrected "
                                                          "across the columns of this table."),
        "role": st.column_config.TextColumn("Role", width=80),
        "type": st.column_config.TextColumn("Type", width=90),
        "rows": st.column_config.TextColumn("Rows (ref. / prim.)", width=120),
        "note": st.column_config.TextColumn("Note"),
    })

st.download_button("⬇ Download the drift table (CSV)", vd.csv_bytes(table), file_name="obs_drift.csv",
                   mime="text/csv", key="drift_csv", on_click="ignore")

# ---- Detail of one column -------------------------------------------------------------------------
st.divider()
columns = table["column"].tolist()
picked_rows = list(event["selection"]["rows"]) if event is not None else []
picked = columns[picked_rows[0]] if picked_rows and picked_rows[0] < len(columns) else None
if picked != st.session_state.get("_drift_table_picked"):
    st.session_state["_drift_table_picked"] = picked
    if picked is not None:
        st.session_state["drift_detail_column"] = picked
if st.session_state.get("drift_detail_column") not in columns:
    st.session_state.pop("drift_detail_column", None)
labels = {r.column: f"{r.column} — {status_badge(r.status)}" for r in table.itertuples()}
column = st.selectbox("Show details for column", columns, format_func=labels.get, key="drift_detail_column",
                      help="Or select a row in the table above.")
row = table[table["column"] == column].iloc[0]

st.subheader(f"{column}")
facts = [f"{status_badge(row['status'])}", f"{vd.metric_name(metric)} **{row['score']:.3f}**"
         if row["score"] == row["score"] else "not scored"]
if row["p_value_adj"] == row["p_value_adj"]:
    facts.append(f"{row['test']} p (adj.) {row['p_value_adj']:.2g}")
if row["missing_reference"] == row["missing_reference"]:
    facts.append(f"missing {row['missing_reference']:.1%} → {row['missing_primary']:.1%}")
if row["unseen_share"] == row["unseen_share"] and row["unseen_share"] > 0:
    facts.append(f"{row['unseen_share']:.1%} of primary rows have new values")
st.markdown(" · ".join(facts))
if row["rule"]:
    st.caption(f"How: {row['rule']}" + (f" Note: {row['note']}." if row["note"] else ""))
elif row["note"]:
    st.caption(f"Note: {row['note']}.")

left, right = st.columns(2)
with left:
    try:
        with st.spinner("Counting per bin…"):
            bins = cached.drift_bins(cmp, column, n_bins=int(n_bins))
    except obs.ObsError as e:
        widgets.show_error(e)
    else:
        st.plotly_chart(vd.bins_figure(bins, column, score=row["score"], metric=metric, status=row["status"]),
                        key="drift_bins_chart", width="stretch", config={"displaylogo": False})
with right:
    try:
        with st.spinner("Scoring every time window…"):
            # Scores per window do not depend on the thresholds (only their status does, which is not shown),
            # so a threshold change redraws from the cache; the Drift over time page's defaults hit it too.
            dot = cached.drift_over_time(cmp, metric=metric, n_bins=int(n_bins), granularity=None, rolling=None)
    except obs.ObsError as e:
        st.info(e.user_message + (f" {e.hint}" if e.hint else ""), icon="ℹ️")
    else:
        st.plotly_chart(vd.over_time_figure(dot, columns=[column], title=f"{column} — drift over time",
                                            thresholds=(float(moderate), float(drift_at)), height=380),
                        key="drift_detail_time_chart", width="stretch", config={"displaylogo": False})
        st.caption(f"{vd.window_summary(dot)}, each compared with the whole reference. "
                   "Pick windows on the **Drift over time** page to restrict every page to them.")
