"""obs — Home: load data (bundled sample or your files), confirm the schema, see what was loaded."""

from __future__ import annotations

import os
from pathlib import Path

# Numba's on-disk cache must be configured before anything imports numba (UMAP), so compiled code is
# reused across restarts.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "obs" / "numba"))

import streamlit as st  # noqa: E402

import obs_core as obs  # noqa: E402
from pages._ui import session, widgets  # noqa: E402
from pages._ui.schema_form import schema_form  # noqa: E402
from pages._ui.startup import start_warm_up  # noqa: E402

st.set_page_config(page_title="obs — ML observability", page_icon="🔭", layout="wide")
start_warm_up()

sess = session.get()
session.ensure_started(sess)

st.title("🔭 obs")
st.markdown("Compare a **reference** set of model inferences (training, last month) with a **primary** set "
            "(production, this week): what drifted and when, where data quality broke, how performance moved, "
            "and which group of inputs is new or failing.")

# ---- Load -------------------------------------------------------------------------------------------
st.header("1 · Data")
if sess.primary is not None:
    parts = [f"primary **{sess.primary.name}** ({sess.primary.num_rows:,} rows)"]
    if sess.reference is not None:
        parts.append(f"reference **{sess.reference.name}** ({sess.reference.num_rows:,} rows)")
    st.success(("Bundled sample loaded: " if sess.source == "sample" else "Loaded: ") + " · ".join(parts), icon="✅")

c_sample, c_upload = st.columns([1, 2])
with c_sample:
    st.subheader("Bundled sample")
    st.caption("A support-ticket escalation model: September (reference) vs October (production), with planted "
               "drift, a new category, rising missing values and a new cluster of tickets.")
    if st.button("Load the sample", key="load_sample", width="stretch"):
        with st.status("Loading the bundled sample…", expanded=False) as status:
            try:
                session.load_sample(sess)
            except obs.ObsError as e:
                status.update(label="Could not load the sample", state="error")
                widgets.show_error(e)
            else:
                status.update(label="Sample loaded", state="complete")
                st.rerun()
with c_upload:
    st.subheader("Your files")
    st.caption("CSV, TSV, Parquet, JSON, JSONL, Avro or Arrow/Feather. Either file may be the only one: "
               "with one file you get data quality, performance and embeddings, but no drift.")
    u1, u2 = st.columns(2)
    ref_file = u1.file_uploader("Reference (baseline)", key="upload_reference")
    prim_file = u2.file_uploader("Primary (production)", key="upload_primary")
    if st.button("Load these files", key="load_files", type="primary", disabled=not (ref_file or prim_file)):
        with st.status("Reading files…", expanded=True) as status:
            try:
                loaded = {}
                for label, f in (("reference", ref_file), ("primary", prim_file)):
                    if f is not None:
                        st.write(f"Reading {f.name} ({f.size / 1e6:,.1f} MB)…")
                        loaded[label] = obs.read(f.getvalue(), name=f.name)
                        st.write(f"{f.name}: {loaded[label].num_rows:,} rows × {len(loaded[label].columns)} columns "
                                 f"({loaded[label].source_format})")
                st.write("Proposing a schema…")
                session.load_datasets(sess, reference=loaded.get("reference"), primary=loaded.get("primary"),
                                      source="upload")
            except obs.ObsError as e:
                status.update(label="A file could not be loaded", state="error")
                widgets.show_error(e)
                st.caption("Nothing was changed: the data you had loaded before is still there.")
            else:
                status.update(label="Files read: check the proposed schema below", state="complete")
                st.rerun()

if sess.primary is None:
    st.info("Load the sample or upload at least one file to begin.")
    st.stop()

# ---- Schema -----------------------------------------------------------------------------------------
st.header("2 · Schema")
columns = list(dict.fromkeys([*(sess.reference.columns if sess.reference else []), *sess.primary.columns]))
with st.expander("Column roles" + (" (confirmed)" if sess.confirmed else " — proposed, please check and confirm"),
                 expanded=not sess.confirmed):
    edited = schema_form(sess.schema, columns, key=str(sess.version))
    schema_json = st.download_button("Download schema as JSON", sess.schema.to_json(), file_name="obs_schema.json",
                                     mime="application/json", key="schema_download")
    up = st.file_uploader("Or load a schema JSON", type=["json"], key=f"schema_upload_{sess.version}")
    if up is not None:
        try:
            edited = obs.Schema.from_json(up.getvalue().decode("utf-8", errors="replace"))
        except obs.ObsError as e:
            widgets.show_error(e)
if edited is not None:
    with st.status("Checking the schema and loading into DuckDB…", expanded=False) as status:
        try:
            problems = session.confirm(sess, edited)
        except obs.ObsError as e:
            status.update(label="The data could not be loaded", state="error")
            widgets.show_error(e)
        else:
            if sess.confirmed:
                status.update(label="Schema confirmed", state="complete")
            else:
                status.update(label="The schema has errors: see below", state="error")

if sess.problems:
    n_err = sum(p.severity == "error" for p in sess.problems)
    with st.expander(f"Checks: {n_err} error(s), {sum(p.severity == 'warning' for p in sess.problems)} warning(s), "
                     f"{sum(p.severity == 'info' for p in sess.problems)} note(s)", expanded=n_err > 0):
        widgets.show_problems(sess.problems)

if not sess.ready:
    st.info("Confirm the schema to continue.")
    st.stop()

# ---- Summary ----------------------------------------------------------------------------------------
st.header("3 · Summary")
cmp = sess.base
try:
    summary = cmp.summary()
    roles = cmp.roles()
except obs.ObsError as e:
    widgets.show_error(e)
    st.stop()
cols = st.columns(4)
for i, row in enumerate(summary.itertuples()):
    cols[i].metric(f"{row.dataset.title()} rows", f"{row.rows:,}", help=row.name)
cols[2].metric("Model type", cmp.schema.model_type.label.split()[0] if cmp.schema.model_type else "not set",
               help=cmp.schema.model_type.label if cmp.schema.model_type else "Set it in the schema form to get "
               "performance metrics.")
cols[3].metric("Features", len(cmp.schema.features))
summary_view = summary.assign(
    first=summary["first"].map(lambda t: "—" if t is None or str(t) == "NaT" else f"{t:%Y-%m-%d %H:%M} UTC"),
    last=summary["last"].map(lambda t: "—" if t is None or str(t) == "NaT" else f"{t:%Y-%m-%d %H:%M} UTC"))
st.dataframe(summary_view, hide_index=True, width="stretch")
if cmp.schema.timestamp is None:
    st.caption("No timestamp column: there is no time axis, so charts over time are not available.")
st.dataframe(roles, hide_index=True, width="stretch")
st.markdown("Next: open **Drift**, **Data quality**, **Performance** or **Embeddings** in the sidebar.")
