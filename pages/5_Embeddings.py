"""Embeddings: a 3D UMAP point cloud of an embedding, HDBSCAN clusters ranked by drift and performance, and a
selection (click in 3D, lasso/box in 2D, clusters) whose rows can be read and downloaded."""

from __future__ import annotations

import math

import streamlit as st

import obs_core as obs
from obs_core import warmup
from obs_core.viz import drift as vd
from obs_core.viz import embeddings as ve
from pages._ui import cached, session, widgets
from pages._ui.cloud3d import cloud3d

st.set_page_config(page_title="Embeddings · obs", page_icon="🔭", layout="wide")

DEFAULTS = dict(sample_size=2500, n_neighbors=15, min_dist=0.0, min_cluster_size=25, min_samples=0, epsilon=0.0,
                seed=0)
VIEW_HEIGHT = 560
ROWS_SHOWN = 500
IMAGES_SHOWN = 12
MODE_HELP = {"replace": "a gesture replaces the selection", "add": "a gesture adds to the selection",
             "remove": "a gesture removes from the selection"}

sess, cmp = session.require_data()
widgets.sidebar_filters(sess)
widgets.page_header("Embeddings", sess, cmp)

embeddings = cmp.schema.all_embeddings()
if not embeddings:
    st.info("The schema names no embedding. On the **Home** page, give a vector column (lists of numbers) the "
            "role *embedding*, with its raw text or image link if you have them.")
    st.page_link("app.py", label="Go to Home", icon="🏠")
    st.stop()
names = list(embeddings)
if st.session_state.get("emb_name") not in names:
    st.session_state.pop("emb_name", None)
embedding = (st.selectbox("Embedding", names, key="emb_name", persist_state="session")
             if len(names) > 1 else names[0])
emb_cols = embeddings[embedding]
two = cmp.has_reference

headline_box = st.container()
dot_box = st.container()


# ---- Headline and drift over time: drawn at the top, computed after the 3D view so that it shows sooner ----
def _headline() -> None:
    """Embedding drift: AUC (0.5 = indistinguishable), centroid distances, vectors sampled."""
    if not two:
        st.caption("One dataset: there is no reference to drift from, so the point cloud is coloured by cluster "
                   "and the clusters are ranked by worst performance.")
        return
    try:
        ed = cached.embedding_drift(cmp, embedding)
    except obs.ObsError as e:
        widgets.show_error(e)
        return
    auc_ok = ed.auc is not None and math.isfinite(ed.auc)
    m = st.columns(4)
    m[0].metric("Embedding drift (AUC)", f"{ed.auc:.3f}" if auc_ok else "—",
                help="How well a classifier tells primary from reference vectors: 0.5 = indistinguishable, "
                     "1.0 = fully separable. " + ed.rule)
    m[1].metric("Euclidean centroid distance", f"{ed.euclidean:.4f}",
                help="Distance between the mean vector of the primary and the mean vector of the reference.")
    m[2].metric("Cosine centroid distance", f"{ed.cosine:.4f}" if math.isfinite(ed.cosine) else "—")
    m[3].metric("Vectors sampled (AUC)", f"{ed.n_sampled['primary']:,} + {ed.n_sampled['reference']:,}",
                help="Primary + reference vectors the AUC was computed on.")
    note = f" {ed.note}." if ed.note else ""
    st.caption((f"**AUC {ed.auc:.2f}** — 0.5 = indistinguishable, 1.0 = fully separable." if auc_ok else "") + note)


def _drift_over_time() -> None:
    """Euclidean centroid distance per primary window; picking a window restricts every page to it."""
    if not (two and cmp.schema.timestamp):
        return
    tr = sess.time_range
    with st.expander("Embedding drift over time — click a window to restrict the point cloud to it",
                     expanded=tr is not None):
        try:
            dot = cached.drift_over_time(cmp.between_times(), columns=[embedding])
        except obs.ObsError as e:
            widgets.show_error(e)
            dot = None
        if ve.has_embedding_rows(dot, embedding):
            dot_gen = st.session_state.setdefault("emb_dot_gen", 0)
            fig = ve.drift_over_time_figure(dot, embedding, selected=(tr.start, tr.end) if tr else None)
            event = st.plotly_chart(fig, key=f"emb_dot_{dot_gen}", on_select="rerun",
                                    selection_mode=("points", "box"), width="stretch", config={"displaylogo": False})
            span = vd.selected_span(dot, event)
            if span is not None:
                sess.time_range = obs.TimeRange(span[0].to_pydatetime(), span[1].to_pydatetime())
                st.session_state["emb_dot_gen"] = dot_gen + 1
                st.rerun()
            st.caption("Euclidean distance between each primary window's mean vector and the reference's. Click a "
                       "point, or pick *Box Select* in the chart's toolbar and drag over several windows, to restrict "
                       "every page to that time range; the sidebar shows it as a ⏱ chip.")
        elif dot is not None:
            st.caption("No window has enough vectors to draw the embedding's drift over time.")
        if tr is not None:
            c_msg, c_btn = st.columns([4, 1])
            c_msg.info(f"The point cloud shows the primary rows of **{vd.range_text(tr.start, tr.end)}**.",
                       icon="⏱")
            if c_btn.button("Show the whole period", key="emb_clear_range", width="stretch"):
                sess.time_range = None
                st.rerun()


# ---- Parameters ----------------------------------------------------------------------------------
params = st.session_state.setdefault("emb_params", dict(DEFAULTS))
with st.expander("Projection and clustering parameters", expanded=False):
    with st.form("emb_form", border=False):
        a = st.columns(4)
        sample_size = a[0].number_input("Points per dataset", min_value=100, max_value=25_000, step=500,
                                        value=int(params["sample_size"]), key="emb_p_sample",
                                        help="A seeded random sample of each dataset (never the first rows).")
        n_neighbors = a[1].number_input("UMAP n_neighbors", min_value=2, max_value=200, step=1,
                                        value=int(params["n_neighbors"]), key="emb_p_neighbors",
                                        help="Small values (5–15) show local groups, large ones the overall layout.")
        min_dist = a[2].number_input("UMAP min_dist", min_value=0.0, max_value=1.0, step=0.05, format="%.2f",
                                     value=float(params["min_dist"]), key="emb_p_min_dist",
                                     help="0 packs clusters tightly; 0.1–0.5 spreads points out.")
        seed = a[3].number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, value=int(params["seed"]),
                                 key="emb_p_seed", help="Seeds the sample and UMAP: same seed, same picture.")
        b = st.columns(4)
        min_cluster_size = b[0].number_input("HDBSCAN min_cluster_size", min_value=2, max_value=5000, step=5,
                                             value=int(params["min_cluster_size"]), key="emb_p_mcs",
                                             help="Smaller values find more, smaller clusters.")
        min_samples = b[1].number_input("HDBSCAN min_samples", min_value=0, max_value=1000, step=1,
                                        value=int(params["min_samples"]), key="emb_p_ms",
                                        help="0 = the same as min_cluster_size; smaller values leave fewer "
                                             "points as noise.")
        epsilon = b[2].number_input("HDBSCAN cluster_selection_epsilon", min_value=0.0, max_value=100.0,
                                    step=0.1, format="%.2f", value=float(params["epsilon"]), key="emb_p_eps",
                                    help="Merges clusters closer than this distance (UMAP units); 0 = off.")
        b[3].markdown("&nbsp;")
        run = b[3].form_submit_button("Run", type="primary", width="stretch")
    if run:
        params = dict(sample_size=int(sample_size), n_neighbors=int(n_neighbors), min_dist=float(min_dist),
                      seed=int(seed), min_cluster_size=int(min_cluster_size), min_samples=int(min_samples),
                      epsilon=float(epsilon))
        st.session_state["emb_params"] = params
    st.caption("Changing only the HDBSCAN values re-clusters the cached projection (about a second). Results "
               "are kept for this session, so coming back to a setting is instant.")

# ---- The point cloud ---------------------------------------------------------------------------------
run_box = st.empty()
progress_shown = []


def _report(fraction: float, message: str) -> None:
    if fraction >= 1.0 and not progress_shown:
        return   # a cache hit: nothing to show
    progress_shown.append(fraction)
    with run_box.container():
        st.progress(min(max(fraction, 0.0), 1.0), text=message)
        if not warmup.is_warm():
            st.caption("The first projection after the server starts compiles UMAP's numba code (20–90 s) "
                       f"unless the start-up warm-up has finished (warm-up: {warmup.status()['state']}). "
                       "Later projections take seconds.")


schema = cmp.schema
extra = ve.point_columns(schema)
try:
    cloud = cached.point_cloud(cmp, embedding, color_columns=extra, _progress=_report,
                               **ve.cloud_options(params))
except obs.ObsError as e:
    run_box.empty()
    widgets.show_error(e)
    with headline_box:
        _headline()
    with dot_box:
        _drift_over_time()   # e.g. to leave a time window without rows
    st.stop()
run_box.empty()

points = cloud.points
st.caption(ve.cloud_caption(cloud))

# ---- Controls: colour, selection mode ------------------------------------------------------------------
features = [c for c in extra if c != schema.prediction_id]
options = ve.color_options(points, features)
if st.session_state.get("emb_color") not in options:
    st.session_state.pop("emb_color", None)
c_color, c_mode, c_clear, c_count = st.columns([2, 2, 1.2, 2.5], vertical_alignment="bottom")
color_by = c_color.selectbox("Colour by", options, index=options.index(ve.default_coloring(points)),
                             format_func=ve.option_label, key="emb_color", persist_state="session")
mode = c_mode.segmented_control("Selection mode", list(ve.MODES), default="replace", key="emb_mode",
                                required=True, persist_state="session", format_func=str.capitalize,
                                help="What a click in 3D, a lasso or box in 2D, or ticking clusters does: "
                                     + "; ".join(f"**{k}**: {v}" for k, v in MODE_HELP.items()) + ".")
mode = mode or "replace"


def _clear_selection() -> None:
    sess.selection = set()


c_clear.button("Clear selection", key="emb_clear", on_click=_clear_selection, width="stretch",
               disabled=not sess.selection)
count_box = c_count.empty()

# ---- Apply the selection gestures of the last interaction ----------------------------------------------
# Each gesture is applied once with the current mode; the 2D chart and the cluster table then get fresh keys
# so the next gesture starts clean. 3D clicks carry a nonce instead (the 3D view keeps its camera).
sort_options = [s for s in ve.SORTS if s != "drift" or two]
default_sort = ve.default_sort(cloud.clusters)
if st.session_state.get("emb_sort") not in sort_options:
    st.session_state.pop("emb_sort", None)
sort_by = st.session_state.get("emb_sort") or default_sort
clusters = cloud.sorted_clusters(sort_by)

gen = st.session_state.setdefault("emb_gen", 0)
gestured = False
event_2d = st.session_state.get(f"emb_2d_{gen}")
if ve.is_gesture(event_2d):
    sess.selection = ve.combine(sess.selection, ve.event_row_ids(event_2d), mode)
    gestured = True
picked_rows = [r for r in ve.event_rows(st.session_state.get(f"emb_clusters_{gen}")) if 0 <= r < len(clusters)]
if picked_rows:
    picked = clusters["cluster"].iloc[picked_rows].tolist()
    sess.selection = ve.combine(sess.selection, cloud.row_ids(picked).tolist(), mode)
    gestured = True
if gestured:
    for k in (f"emb_2d_{gen}", f"emb_clusters_{gen}"):
        st.session_state.pop(k, None)
    gen += 1
    st.session_state["emb_gen"] = gen
click = ve.click_of(st.session_state.get("emb_3d"))
if click is not None and click[1] != st.session_state.get("emb_3d_seen"):
    st.session_state["emb_3d_seen"] = click[1]
    sess.selection = ve.combine(sess.selection, [click[0]], mode)

selection = sess.selection
counts = ve.dataset_counts(points, selection)
count_box.markdown(
    f"**{len(selection):,} selected** row{'s' if len(selection) != 1 else ''}"
    + (f" · {counts['primary']:,} primary, {counts['reference']:,} reference" if selection else "")
    + (f" · {counts['outside']:,} outside this cloud" if counts["outside"] else ""))

# ---- 3D and 2D views ------------------------------------------------------------------------------------
id_column = schema.prediction_id if schema.prediction_id in points else None
left, right = st.columns(2, gap="medium")
with left:
    st.markdown("**3D** · drag to rotate, scroll to zoom · **click a point to select it**")
    cloud3d(ve.cloud3d_spec(points, color_by, id_column=id_column, height=VIEW_HEIGHT),
            ve.cloud3d_overlay(points, selection), key="emb_3d", height=VIEW_HEIGHT,
            camera_key=f"obs-cloud3d-{embedding}")
with right:
    st.markdown("**2D** (same projection) · **lasso or box to select** (modebar, top right) · click a legend "
                "entry to hide a group")
    st.plotly_chart(ve.scatter2d(points, color_by, selection=selection, id_column=id_column, height=VIEW_HEIGHT),
                    key=f"emb_2d_{gen}", on_select="rerun", selection_mode=("points", "box", "lasso"),
                    width="stretch", config={"displaylogo": False, "scrollZoom": True})

with headline_box:
    _headline()
with dot_box:
    _drift_over_time()

# ---- Clusters -------------------------------------------------------------------------------------------
st.subheader("Clusters")
c_sort, c_note = st.columns([2, 5], vertical_alignment="bottom")
c_sort.segmented_control("Rank by", sort_options, default=default_sort, key="emb_sort", required=True,
                         persist_state="session", format_func=str.capitalize,
                         help="Drift: clusters that are new in the primary first (drift ratio +1 = only primary, "
                              "−1 = only reference). Performance: worst model metric first. Size: largest first.")
metric = cloud.metric
c_note.caption("Tick clusters to select their points (with the selection mode above). Noise (points in no "
               "cluster) is always last." + (f" Metric: **{metric}** per cluster and dataset." if metric else ""))
table = ve.cluster_table(clusters, points, selection)
column_config = {
    "cluster": None,
    "name": st.column_config.TextColumn("Cluster"),
    "size": st.column_config.NumberColumn("Points", format="%d"),
    "n_primary": st.column_config.NumberColumn("Primary", format="%d"),
    "n_reference": st.column_config.NumberColumn("Reference", format="%d"),
    "drift_ratio": st.column_config.NumberColumn(
        "Drift ratio", format="%+.2f",
        help="(P − R) / (P + R) on shares of each dataset's sample: +1 only primary, −1 only reference."),
    "metric_primary": st.column_config.NumberColumn(ve.metric_title(metric, "primary"), format="%.3f"),
    "metric_reference": st.column_config.NumberColumn(ve.metric_title(metric, "reference"), format="%.3f"),
    "selected": st.column_config.NumberColumn("Selected", format="%d"),
}
order = ["name", "size", "n_primary", "n_reference", "drift_ratio", "metric_primary", "metric_reference",
         "selected"]
if not two:
    order = [c for c in order if c not in ("n_reference", "drift_ratio", "metric_reference")]
if metric is None:
    order = [c for c in order if not c.startswith("metric_")]
st.dataframe(table, key=f"emb_clusters_{gen}", on_select="rerun", selection_mode="multi-row", hide_index=True,
             column_order=order, column_config=column_config, width="stretch",
             height=min(38 + 35 * len(table), 420))

# ---- Selection ------------------------------------------------------------------------------------------
st.subheader(f"Selection · {len(selection):,} row{'s' if len(selection) != 1 else ''}")
if not selection:
    st.info("Nothing selected yet: click a point in the 3D view, lasso or box points in the 2D view, or tick "
            "clusters in the table.", icon="👆")
    st.stop()

ids = sorted(selection)
c_counts, c_dl = st.columns([3, 2])
with c_counts:
    st.dataframe(ve.selection_counts(points, ids), hide_index=True, width="stretch",
                 column_config={"cluster": "Cluster", "primary": "Primary", "reference": "Reference",
                                "total": "Total"})
with c_dl:
    st.markdown("**Download the selected rows** — every original column plus `obs_dataset` and `obs_cluster`.")
    d1, d2 = st.columns(2)
    stem = f"obs_selection_{embedding}_{len(ids)}"
    d1.download_button("⬇️ CSV", data=lambda ids=ids, pts=points: cmp.export(ids, format="csv", clusters=pts),
                       file_name=f"{stem}.csv", mime="text/csv", key="emb_dl_csv", on_click="ignore",
                       width="stretch")
    d2.download_button("⬇️ Parquet", data=lambda ids=ids, pts=points: cmp.export(ids, format="parquet",
                                                                                   clusters=pts),
                       file_name=f"{stem}.parquet", mime="application/vnd.apache.parquet", key="emb_dl_parquet",
                       on_click="ignore", width="stretch")

try:
    rows = cmp.rows(ids[:ROWS_SHOWN])
except obs.ObsError as e:
    widgets.show_error(e)
    st.stop()
shown_cols = [c for c in (schema.prediction_id, schema.timestamp, emb_cols.raw_data, emb_cols.link_to_data,
                          schema.prediction_label, schema.actual_label) if c]
view = ve.rows_view(rows, points, columns=shown_cols)
images = ve.gallery(rows, emb_cols.link_to_data, schema.prediction_id)
if images:
    st.markdown(f"**Images** ({min(len(images), IMAGES_SHOWN)} of {len(images):,} linked)")
    grid = st.columns(6)
    for i, (src, caption) in enumerate(images[:IMAGES_SHOWN]):
        grid[i % 6].image(src, caption=caption or None, width="stretch")
st.markdown(f"**Rows** ({len(view):,}{' of ' + format(len(ids), ',') if len(ids) > ROWS_SHOWN else ''})")
text_cfg = {emb_cols.raw_data: st.column_config.TextColumn(emb_cols.raw_data, width="large")} \
    if emb_cols.raw_data else {}
st.dataframe(view, hide_index=True, width="stretch", column_config=text_cfg, height=360)
