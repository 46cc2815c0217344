"""Data quality: which checks fail in the primary (missing values, new categories, out-of-range values, ...)."""

from __future__ import annotations

import streamlit as st

import obs_core as obs
from obs_core.viz import quality as vq
from obs_core.viz.style import label
from pages._ui import cached, session, widgets

st.set_page_config(page_title="Data quality · obs", page_icon="🧪", layout="wide")

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Data quality", sess, cmp)

with st.spinner("Checking every column…"):
    try:
        table = cached.quality_table(cmp)
        summary = cached.quality_summary(cmp)
    except obs.ObsError as e:
        widgets.show_error(e)
        st.stop()

if not len(table):
    st.info("There are no columns to check. Map some columns in the schema on the **Home** page, then come back.")
    st.page_link("app.py", label="Go to Home", icon="🏠")
    st.stop()

# ---- Headline -----------------------------------------------------------------------------------------
has_ref = cmp.has_reference
prim = summary[summary["dataset"] == "primary"]
n_fail = int(prim["n_fail"].iloc[0]) if len(prim) else 0
n_warn = int(prim["n_warn"].iloc[0]) if len(prim) else 0
icon = "🔴" if n_fail else ("🟠" if n_warn else "🟢")
st.subheader(f"{icon} {vq.headline(summary, 'primary', name='primary')}")
statuses = vq.column_statuses(table, "primary")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Failing checks (primary)", f"{n_fail:,}", help="Checks with status fail in the primary data.")
c2.metric("Warnings (primary)", f"{n_warn:,}", help="Checks with status warn in the primary data.")
c3.metric("Columns with a failing check", f"{int(prim['columns_failing'].iloc[0]) if len(prim) else 0:,}",
          help=", ".join(statuses.loc[statuses["status"] == "fail", "column"]) or "none")
ref = summary[summary["dataset"] == "reference"]
if len(ref):
    c4.metric("Reference: failing / warnings", f"{int(ref['n_fail'].iloc[0]):,} / {int(ref['n_warn'].iloc[0]):,}",
              help="The same checks on the reference data (no comparison checks).")
else:
    c4.metric("Reference", "none", help="Without a reference there are no comparison checks (new categories, "
                                        "out of range, missing-rate rise).")
st.caption("Thresholds: missing ≥ 5 % warns, ≥ 20 % (or +10 points over the reference) fails; new categories warn, "
           "and fail at ≥ 5 % of values; values outside the reference's min–max warn at ≥ 1 %, fail at ≥ 5 %."
           + ("" if has_ref else " Load a reference to get the comparison checks."))

# ---- Checks table -------------------------------------------------------------------------------------
st.header("Checks")
present = [s for s in vq.QUALITY_STATUS_ORDER if s in set(table["status"])]
default_status = [s for s in ("fail", "warn") if s in present] or present
f1, f2, f3, f4 = st.columns([1.3, 1.3, 2.2, 1], vertical_alignment="bottom")
pick_status = f1.pills("Status", present, selection_mode="multi", default=default_status,
                       format_func=vq.status_badge, key=f"dq_status_{sess.version}", persist_state="session")
datasets = [d for d in vq.DATASET_ORDER if d in set(table["dataset"])]
pick_ds = f2.pills("Dataset", datasets, selection_mode="multi", default=datasets, key=f"dq_dataset_{sess.version}", persist_state="session")
all_columns = list(dict.fromkeys(table["column"]))
pick_cols = f3.multiselect("Columns", all_columns, default=[], placeholder="All columns",
                           key=f"dq_columns_{sess.version}", persist_state="session")
show_info = f4.toggle("Statistics rows", value=False, key=f"dq_info_{sess.version}", persist_state="session",
                      help="Also list the descriptive rows (type, counts, min/mean/max, percentiles, top "
                           "categories) that always pass.")
view = vq.checks_view(table, statuses=pick_status, datasets=pick_ds, columns=pick_cols, include_info=show_info)
if len(view):
    st.dataframe(
        view, hide_index=True, width="stretch", height=min(38 + 35 * len(view), 460),
        column_order=["Status", "Dataset", "Column", "Check", "Value", "Detail"],
        column_config={
            "Status": st.column_config.TextColumn("Status", width=72, help="🔴 fail · 🟠 warn · 🟢 pass"),
            "Dataset": st.column_config.TextColumn("Dataset", width=80),
            "Column": st.column_config.TextColumn("Column", width=135),
            "Check": st.column_config.TextColumn("Check", width=125),
            "Value": st.column_config.NumberColumn("Value", format="%.4g", width=70,
                                                   help="Percent for missing values; rows for new categories, "
                                                        "out of range and duplicates; the statistic otherwise."),
            "Detail": st.column_config.TextColumn("Detail", width=700,
                                                  help="Hover a cell to read a long detail in full."),
        })
    st.caption(f"Showing {len(view):,} of {len(table):,} checks, worst first. Click a column header to sort.")
else:
    st.info("No check matches these filters. Add **pass** to the status filter or clear the column filter.")
st.download_button("Download the quality table (CSV)", table.to_csv(index=False).encode("utf-8"),
                   file_name="obs_quality.csv", mime="text/csv", key="dq_download", icon="⬇️")

# ---- Detail per column --------------------------------------------------------------------------------
st.header("Column detail")
options = vq.column_options(statuses)
names = vq.column_option_label(statuses)
column = st.selectbox("Column", options, index=0, format_func=lambda c: names.get(c, c),
                      key=f"dq_detail_column_{sess.version}", persist_state="session",
                      help="Worst first: 🔴 a failing check, 🟠 a warning, 🟢 every check passes (primary).")
try:
    detail = cached.quality_detail(cmp, column)
except obs.ObsError as e:
    widgets.show_error(e)
    st.stop()

issues = detail["checks"]
bad = issues[(issues["status"] != "pass") & (issues["dataset"] == "primary")]
for r in bad.itertuples():
    (st.error if r.status == "fail" else st.warning)(f"**{vq.check_label(r.check)}** — {r.detail}",
                                                     icon="🔴" if r.status == "fail" else "🟠")
if bad.empty:
    st.success(f"Every check passes for **{column}** in the primary.", icon="🟢")

left, right = st.columns(2)
with left:
    if detail["categories"] is not None:
        st.plotly_chart(vq.categories_bar(detail["categories"], column), width="stretch",
                        key=f"dq_categories_{column}")
        new = detail["new_categories"]
        if new is not None and len(new):
            st.caption(f"{len(new):,} new categor{'y' if len(new) == 1 else 'ies'} in the primary: " +
                       ", ".join(f"**{v}** ({n:,} rows)" for v, n in zip(new["value"].head(10), new["count"].head(10)))
                       + (" …" if len(new) > 10 else ""))
        elif has_ref:
            st.caption("No new categories: every primary value was seen in the reference.")
    elif detail["out_of_range"] is not None:
        st.plotly_chart(vq.out_of_range_bar(detail["out_of_range"], column, checks=issues), width="stretch",
                        key=f"dq_range_{column}")
    else:
        st.info(f"**{label(column)}** has no category or range checks"
                + ("" if has_ref else " (they compare with a reference, and none is loaded)") + ".")
with right:
    ref_share = vq.missing_share(detail["missing"], "reference")
    prim_share = vq.missing_share(detail["missing"], "primary")
    if cmp.schema.timestamp and column != cmp.schema.timestamp:
        try:
            mot = cached.missing_over_time(cmp, columns=[column])
        except obs.ObsError as e:
            widgets.show_error(e)
        else:
            st.plotly_chart(vq.missing_over_time_line(mot, column, reference_share=ref_share,
                                                      primary_share=prim_share),
                            width="stretch", key=f"dq_missing_{column}")
            st.caption("Share of primary rows where the value is missing, per time window; the dashed line is the "
                       "reference's overall rate. Pale markers: windows with fewer than 30 rows.")
    else:
        st.caption("No timestamp in the schema, so missing values cannot be shown over time." if
                   not cmp.schema.timestamp else "This is the timestamp column.")
        st.dataframe(detail["missing"], hide_index=True, width="stretch",
                     column_config={"missing_share": st.column_config.NumberColumn("missing share",
                                                                                   format="percent")})

with st.expander(f"Every check for {column}", expanded=False):
    st.dataframe(vq.checks_view(issues), hide_index=True, width="stretch",
                 column_order=["Status", "Dataset", "Check", "Value", "Detail"],
                 column_config={"Value": st.column_config.NumberColumn("Value", format="%.4g")})
