"""Performance: how the model's metrics moved between the reference and the primary, when, and for whom."""

from __future__ import annotations

import streamlit as st

import obs_core as obs
from obs_core.performance import headline_metric
from obs_core.report import segment_candidates
from obs_core.viz import performance as vp
from obs_core.viz.style import label
from pages._ui import cached, session, widgets

st.set_page_config(page_title="Performance · obs", page_icon="🎯", layout="wide")

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Performance", sess, cmp)

schema = cmp.schema
if schema.model_type is None:
    st.info("The schema has no model type, so there is nothing to measure. Set the model type (binary, multiclass "
            "or regression) and the prediction and actual columns in the schema on the **Home** page.")
    st.page_link("app.py", label="Go to Home", icon="🏠")
    st.stop()

with st.spinner("Computing metrics…"):
    try:
        perf = cached.performance(cmp)
    except obs.ObsError as e:
        widgets.show_error(e)
        st.stop()

model = schema.model_type
headline = headline_metric(model)
cov = vp.coverage(perf)
names = {"primary": f"the primary ({sess.primary.name})" if sess.primary else "the primary",
         "reference": f"the reference ({sess.reference.name})" if sess.reference else "the reference"}
evaluated = dict(zip(cov["dataset"], cov["evaluated"]))
primary_ok = evaluated.get("primary", 0) > 0
reference_ok = evaluated.get("reference", 0) > 0
# Where to compute segments and fairness: the primary, or the reference when the primary has no actuals.
focus = "primary" if primary_ok else ("reference" if reference_ok else None)

# ---- Cards --------------------------------------------------------------------------------------------
st.caption(f"{model.label} · positive class **{schema.positive_class}**" if schema.positive_class and
           model is obs.ModelType.BINARY else model.label)
for sentence in vp.coverage_sentences(cov, names):
    (st.warning if "has no actual labels" in sentence else st.info)(sentence, icon="ℹ️")
if focus is None:
    st.error("Neither dataset has rows with both a prediction and an actual, so no metric can be computed. Map the "
             "actual column in the schema on the **Home** page.", icon="🛑")
    st.page_link("app.py", label="Go to Home", icon="🏠")
    st.stop()

cards = vp.metric_cards(perf)
per_row = 4
for i in range(0, len(cards), per_row):
    cols = st.columns(per_row)
    for col, card in zip(cols, cards[i:i + per_row]):
        col.metric(card["label"], card["value"], delta=card["delta"], delta_color=card["delta_color"],
                   help=card["help"], border=True)
if primary_ok and reference_ok:
    st.caption("Cards show the primary; the delta compares it with the reference (green = better, whichever way "
               "the metric points).")
elif not primary_ok:
    st.caption("Cards show the reference: the primary has no rows with an actual label to compare.")

metrics = [c["metric"] for c in cards]

# ---- Over time ----------------------------------------------------------------------------------------
st.header("Over time")
m1, m2, _ = st.columns([1, 1, 2])
metric = m1.selectbox("Metric", metrics, index=metrics.index(headline) if headline in metrics else 0,
                      format_func=vp.metric_label, key=f"perf_metric_{sess.version}", persist_state="session",
                      help="Used by the chart over time and by the segment table below.")
if not schema.timestamp:
    st.caption("No timestamp in the schema, so there is no time axis. Map one on the **Home** page to see metrics "
               "over time.")
else:
    granularity = m2.selectbox("Time window", ["auto", "hour", "day", "week", "month"],
                               key=f"perf_granularity_{sess.version}", persist_state="session",
                               format_func=lambda g: "auto (20–60 windows)" if g == "auto" else g,
                               help="Tumbling calendar windows in UTC. Auto picks the one giving 20–60 windows.")
    try:
        with st.spinner("Computing metrics per window…"):
            pt = cached.performance(cmp, granularity=granularity)
    except obs.ObsError as e:
        widgets.show_error(e)
    else:
        n_win = vp.windows(pt)
        g_name = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}.get(
            pt.attrs.get("granularity", granularity), "")
        st.plotly_chart(vp.metric_over_time(pt, metric), width="stretch", key="perf_over_time")
        st.caption(f"{n_win:,} {g_name} window{'s' if n_win != 1 else ''} of the primary; the dashed line is the "
                   "whole reference. Hollow markers: windows with fewer than 30 evaluated rows (noisy)."
                   + ("" if primary_ok else " The primary has no actuals, so only its row counts are shown."))

# ---- By model type ------------------------------------------------------------------------------------
if model in (obs.ModelType.BINARY, obs.ModelType.MULTICLASS):
    st.header("Errors")
    cm = None
    try:
        cm = cached.confusion_matrix(cmp)
    except obs.ObsError as e:
        widgets.show_error(e)
    else:
        st.plotly_chart(vp.confusion_figure(cm), width="stretch", key="perf_confusion")
        st.caption("Rows: actual class; columns: predicted. Each cell shows the count and the share of the actual "
                   "class's rows, so the diagonal is the recall of each class.")
    score = schema.prediction_score
    if model is obs.ModelType.BINARY and score:
        try:
            with st.spinner("Binning scores…"):
                calib = cached.calibration(cmp, n_bins=10)
        except obs.ObsError as e:
            widgets.show_error(e)
        else:
            left, right = st.columns(2)
            left.plotly_chart(vp.calibration_figure(calib, positive_class=schema.positive_class), width="stretch",
                              key="perf_calibration")
            right.plotly_chart(vp.score_distribution_figure(calib, positive_class=schema.positive_class,
                                                            negative_class=vp.other_class(
                                                                cm, schema.positive_class)),
                               width="stretch", key="perf_scores")
            st.caption("Scores are cut at the reference's deciles. A calibrated model sits on the dotted diagonal; "
                       "well-separated classes pile up at opposite ends of the score.")
elif model is obs.ModelType.REGRESSION:
    st.header("Residuals")
    pred = schema.prediction_score or schema.prediction_label
    try:
        by_pred = cached.performance(cmp, by=pred, n_bins=10)
    except obs.ObsError as e:
        widgets.show_error(e)
    else:
        st.plotly_chart(vp.residual_figure(by_pred), width="stretch", key="perf_residuals")
        st.caption("Mean error (prediction − actual) and MAE per predicted-value bin (reference deciles).")

# ---- Segments -----------------------------------------------------------------------------------------
st.header("Segments: where is the model worse?")
kinds = cmp.filterable_columns()
skip = {schema.prediction_id, schema.timestamp}
candidates = segment_candidates(cmp)
others = [c for c in [*schema.features, *schema.tags] if c in kinds and kinds[c] != "time" and c not in candidates]
seg_options = [c for c in [*candidates, *others] if c not in skip]
if not seg_options:
    st.info("There is no feature or tag column to segment by. Mark some in the schema on the **Home** page.")
else:
    default = seg_options[0]
    try:
        with st.spinner("Looking for the column where the model is worst…"):
            ranked = cached.worst_segment_columns(cmp, metric=metric, dataset=focus)
    except obs.ObsError as e:
        widgets.show_error(e)
        ranked = None
    if ranked is not None and len(ranked) and ranked["impact"].notna().iloc[0]:
        default = ranked["column"].iloc[0]
    s1, s2, _ = st.columns([1.3, 1, 2])
    by = s1.selectbox("Segment by", seg_options, index=seg_options.index(default),
                      key=f"perf_segment_by_{sess.version}_{metric}_{focus}", persist_state="session",
                      help="Default: the column whose worst segment costs the most (impact), among tags and "
                           "categorical features.")
    n_bins = 5
    if kinds.get(by) == "number":
        n_bins = s2.number_input("Bins", min_value=2, max_value=20, value=5, step=1, key="perf_segment_bins", persist_state="session",
                                 help="Numeric columns are cut at reference quantiles.")
    try:
        seg = cached.segments(cmp, by=by, metric=metric, n_bins=int(n_bins), dataset=focus)
    except obs.ObsError as e:
        widgets.show_error(e)
    else:
        if seg.empty:
            st.info(f"**{by}** has no segments with rows under the current filters.")
        else:
            worst = seg.iloc[0]
            if worst["impact"] == worst["impact"] and worst["impact"] > 0:
                st.markdown(f"Worst segment: **{by} = {worst['segment']}** — {vp.metric_label(metric)} "
                            f"**{vp.fmt_metric(metric, worst['value'])}** vs "
                            f"{vp.fmt_metric(metric, worst['overall'])} overall, on {int(worst['n_rows']):,} rows "
                            f"({100 * worst['share']:.1f}% of the {focus}).")
            left, right = st.columns([1.1, 1])
            left.dataframe(
                vp.segments_view(seg), hide_index=True, width="stretch",
                column_config={
                    "Value": st.column_config.NumberColumn(vp.metric_label(metric), format="%.3f"),
                    "Reference": st.column_config.NumberColumn("Reference", format="%.3f",
                                                               help="The same segment in the reference."),
                    "vs overall": st.column_config.NumberColumn("vs overall", format="%+.3f"),
                    "Rows": st.column_config.NumberColumn("Rows", format="localized",
                                                          help="Evaluated rows (prediction and actual)."),
                    "Share": st.column_config.NumberColumn("Share", format="%.1f%%"),
                    "Impact": st.column_config.NumberColumn(
                        "Impact", format="%+.4f",
                        help="How much the segment pulls the overall metric down: (overall − segment) × share "
                             "(reversed for lower-is-better metrics). Positive = worse than overall."),
                })
            right.plotly_chart(vp.segments_figure(seg), width="stretch", key="perf_segments")
            if focus == "reference":
                st.caption("Computed on the reference: the primary has no actual labels.")

# ---- Fairness -----------------------------------------------------------------------------------------
if model is obs.ModelType.BINARY:
    st.header("Fairness")
    fair_options = [c for c in seg_options if c not in skip]
    preferred = ("gender", "sex", "race", "ethnicity", "age", "nationality", "country", "region", "language")
    fair_default = next((c for p in preferred for c in fair_options if p in c.lower()),
                        next((c for c in fair_options if kinds.get(c) in ("text", "bool")),
                             fair_options[0] if fair_options else None))
    if fair_default is None:
        st.info("There is no column to compare groups by.")
    else:
        a, b, _ = st.columns([1.3, 1.3, 1.4])
        sensitive = a.selectbox("Sensitive column", fair_options, index=fair_options.index(fair_default),
                                key=f"perf_sensitive_{sess.version}", persist_state="session",
                                help="Groups are its categories (numeric columns: 5 reference-quantile bins).")
        try:
            fair = cached.fairness(cmp, sensitive=sensitive, dataset=focus)
        except obs.ObsError as e:
            widgets.show_error(e)
        else:
            groups = fair["group"].astype(str).tolist()
            auto_base = str(fair.attrs.get("base_group", groups[0]))
            base = b.selectbox("Base group", groups, index=groups.index(auto_base) if auto_base in groups else 0,
                               key=f"perf_base_{sess.version}_{sensitive}", persist_state="session",
                               help="Every group's rates are divided by this group's. Default: the largest group.")
            if base != auto_base:
                try:
                    fair = cached.fairness(cmp, sensitive=sensitive, base_group=base, dataset=focus)
                except obs.ObsError as e:
                    widgets.show_error(e)
                    st.stop()
            flagged = vp.fairness_flags(fair)
            if flagged:
                st.warning(f"{len(flagged)} group{'s' if len(flagged) != 1 else ''} of **{label(sensitive)}** "
                           f"outside the 0.8–1.25 band (four-fifths rule) against **{base}**: " +
                           "; ".join(f"**{g}** ({f})" for g, f in flagged), icon="⚖️")
            else:
                st.success(f"Every group of **{label(sensitive)}** is within 0.8–1.25 of **{base}** on selection "
                           "rate, TPR, FPR and precision.", icon="⚖️")
            st.dataframe(vp.fairness_styled(fair), hide_index=True, width="stretch")
            st.plotly_chart(vp.fairness_figure(fair), width="stretch", key="perf_fairness")
            st.caption("Selection rate = share predicted positive; TPR = recall of the positive class; FPR = share "
                       "of negatives predicted positive; precision = share of positive predictions that are right. "
                       "Red cells: ratio to the base group outside 0.8–1.25.")
