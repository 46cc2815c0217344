"""The schema form: shows the proposed roles and returns the schema the user confirms."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import obs_core as obs

NONE = "(none)"


def _pick(label: str, options: list[str], current: str | None, key: str, help: str | None = None) -> str | None:
    opts = [NONE] + options
    idx = opts.index(current) if current in opts else 0
    v = st.selectbox(label, opts, index=idx, key=key, help=help)
    return None if v == NONE else v


def schema_form(schema: obs.Schema, columns: list[str], *, key: str) -> obs.Schema | None:
    """Render the form; return the edited schema when the user presses Confirm, else None."""
    with st.form(key=f"schema_form_{key}"):
        st.markdown("**Model**")
        c1, c2, c3 = st.columns(3)
        types = [NONE] + [m.value for m in obs.ModelType]
        labels = {NONE: "(none — no performance)", **{m.value: m.label for m in obs.ModelType}}
        mt = c1.selectbox("Model type", types, format_func=labels.get, key=f"sf_mt_{key}",
                          index=types.index(schema.model_type.value) if schema.model_type else 0)
        pos = c2.text_input("Positive class (binary)", value=schema.positive_class or "", key=f"sf_pos_{key}")
        pid = _pick("Prediction id", columns, schema.prediction_id, f"sf_pid_{key}",
                    help="A unique id per prediction; never used as a feature.")
        with c3:
            ts = _pick("Timestamp", columns, schema.timestamp, f"sf_ts_{key}",
                       help="No timestamp means no time axis. Times without a zone are read as UTC.")
        st.markdown("**Predictions and actuals**")
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            pl = _pick("Prediction label", columns, schema.prediction_label, f"sf_pl_{key}")
        with c2:
            ps = _pick("Prediction score", columns, schema.prediction_score, f"sf_ps_{key}",
                       help="Binary: the probability of the positive class. Regression: the predicted value.")
        with c3:
            al = _pick("Actual label", columns, schema.actual_label, f"sf_al_{key}")
        with c4:
            acs = _pick("Actual score", columns, schema.actual_score, f"sf_as_{key}")
        st.markdown("**Features, tags and excluded columns**")
        features = st.multiselect("Features", columns, default=[c for c in schema.features if c in columns],
                                  key=f"sf_feat_{key}")
        c1, c2 = st.columns(2)
        tags = c1.multiselect("Tags (metadata)", columns, default=[c for c in schema.tags if c in columns],
                              key=f"sf_tags_{key}")
        excluded = c2.multiselect("Excluded", columns, default=[c for c in schema.excluded if c in columns],
                                  key=f"sf_excl_{key}")
        st.markdown("**Embeddings** — one row per embedding: its vector column, and optionally its raw text "
                    "and a link (URL) to its data.")
        emb_rows = [{"name": n, "vector": e.vector, "raw_data": e.raw_data, "link_to_data": e.link_to_data}
                    for n, e in schema.all_embeddings().items()]
        emb = st.data_editor(
            pd.DataFrame(emb_rows or [], columns=["name", "vector", "raw_data", "link_to_data"]),
            num_rows="dynamic", key=f"sf_emb_{key}", hide_index=True, width="stretch",
            column_config={
                "name": st.column_config.TextColumn("Name", required=True),
                "vector": st.column_config.SelectboxColumn("Vector column", options=columns, required=True),
                "raw_data": st.column_config.SelectboxColumn("Raw text", options=columns),
                "link_to_data": st.column_config.SelectboxColumn("Link to data", options=columns),
            })
        if schema.class_scores:
            st.caption("Per-class score columns: " + ", ".join(f"{k} → {c}" for k, c in schema.class_scores))
        submitted = st.form_submit_button("Confirm schema", type="primary")
    if not submitted:
        return None
    embeddings, prompt, response = {}, None, None
    for r in emb.to_dict("records"):
        if not r.get("vector") or pd.isna(r.get("vector")):
            continue
        ec = obs.EmbeddingColumns(r["vector"], *(None if pd.isna(r.get(k)) or not r.get(k) else r[k]
                                                 for k in ("raw_data", "link_to_data")))
        name = str(r.get("name") or r["vector"])
        if name == "prompt":
            prompt = ec
        elif name == "response":
            response = ec
        else:
            embeddings[name] = ec
    named = {c for c in (pid, ts, pl, ps, al, acs) if c}
    return schema.replace(
        model_type=None if mt == NONE else obs.ModelType(mt), positive_class=pos.strip() or None,
        prediction_id=pid, timestamp=ts, prediction_label=pl, prediction_score=ps, actual_label=al,
        actual_score=acs, features=tuple(c for c in features if c not in named), tags=tuple(tags),
        excluded=tuple(excluded), embeddings=embeddings, prompt=prompt, response=response,
    )
