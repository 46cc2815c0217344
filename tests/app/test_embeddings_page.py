"""The Embeddings page under AppTest: the form's Run computes a point cloud; picking the top drift cluster, a
2D lasso (add / remove), a 3D click and Clear change the selection; the download holds exactly the selected
rows; one dataset, image links, no embedding and a picked time window all render without an exception.

Chart and table selections cannot be made through AppTest, so the tests write the events Streamlit would
send (``{"selection": ...}`` for ``st.plotly_chart``/``st.dataframe``, ``{"row_id", "nonce"}`` for the 3D
component) into ``at.session_state`` under the widgets' keys, as FACTS.md describes.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import obs_core as obs
from obs_core.viz import embeddings as ve
from pages._ui import session
from tests.app.conftest import by_label, open_app, texts

PAGE = "pages/5_Embeddings.py"
SMALL = dict(sample_size=300, n_neighbors=15, min_dist=0.0, min_cluster_size=15, min_samples=0, epsilon=0.0,
             seed=0)


def _open(params: dict | None = None, prepare=None):
    """Open app.py (sample), optionally replace the data (``prepare(sess)``), then the Embeddings page with
    small point-cloud parameters."""
    at = open_app()
    if prepare is not None:
        prepare(at.session_state[session.KEY])
    at.session_state["emb_params"] = dict(params or SMALL)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _sess(at) -> session.Session:
    return at.session_state[session.KEY]


def _cloud(at):
    """The point cloud the page shows (the engine's per-session cache returns the same result)."""
    sess = _sess(at)
    cmp = sess.comparison()
    emb = next(iter(cmp.schema.all_embeddings()))
    return cmp, cmp.point_cloud(emb, color_columns=ve.point_columns(cmp.schema),
                                **ve.cloud_options(at.session_state["emb_params"]))


def _lasso(points: pd.DataFrame, ids) -> dict:
    """What st.plotly_chart reports for a lasso around ``ids`` on the 2D view."""
    p = points.set_index("row_id").loc[list(ids)]
    pts = [{"curve_number": 0, "point_number": i, "point_index": i, "x": float(r.x), "y": float(r.y),
            "customdata": int(rid), "legendgroup": "primary"} for i, (rid, r) in enumerate(p.iterrows())]
    return {"selection": {"points": pts, "point_indices": list(range(len(pts))), "box": [],
                          "lasso": [{"xref": "x", "yref": "y", "x": [-9.0, 9.0, 9.0], "y": [-9.0, -9.0, 9.0]}]}}


@pytest.fixture(scope="module")
def at():
    return _open()


def test_run_computes_a_cloud_and_shows_drift(at):
    assert "Embedding drift (AUC)" in [m.label for m in at.metric]
    assert "0.5 = indistinguishable" in texts(at)
    assert "300 primary + 300 reference" in texts(at)
    # The form: a new sample size and seed, then Run (same step, as forms need)
    at.number_input(key="emb_p_sample").set_value(250)
    at.number_input(key="emb_p_seed").set_value(1)
    by_label(at, "button", "Run").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["emb_params"]["sample_size"] == 250
    assert "250 primary + 250 reference" in texts(at)
    # Only HDBSCAN changes: the cached projection is re-clustered
    at.number_input(key="emb_p_mcs").set_value(20)
    by_label(at, "button", "Run").click()
    at.run()
    assert not at.exception, at.exception
    assert "re-clustered the cached projection" in texts(at)
    cmp, cloud = _cloud(at)
    assert cloud.params["projection_reused"] and cloud.n_sampled == {"primary": 250, "reference": 250}
    labels = [c.label for c in at.selectbox]
    assert "Colour by" in labels


def test_top_drift_cluster_is_the_planted_one_and_picking_it_selects_its_points(at):
    at.segmented_control(key="emb_mode").set_value("replace")
    at.run()
    cmp, cloud = _cloud(at)
    top = cloud.sorted_clusters("drift").iloc[0]
    assert top["drift_ratio"] > 0.8                                # new in production
    members = cloud.points[cloud.points["cluster"] == top["cluster"]]
    assert (members.loc[members["dataset"] == "primary", "app_version"] == "5.2").mean() > 0.9
    gen = at.session_state["emb_gen"]
    at.session_state[f"emb_clusters_{gen}"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    assert _sess(at).selection == set(cloud.row_ids([int(top["cluster"])]).tolist())
    assert at.session_state["emb_gen"] == gen + 1               # the table starts clean for the next pick
    assert f"{len(members):,} selected" in texts(at)


def test_lasso_adds_and_removes_click_adds_and_clear_empties(at):
    cmp, cloud = _cloud(at)
    sess = _sess(at)
    before = set(sess.selection)
    outside = [int(r) for r in cloud.points["row_id"] if int(r) not in before][:12]
    at.segmented_control(key="emb_mode").set_value("add")
    at.run()
    at.session_state[f"emb_2d_{at.session_state['emb_gen']}"] = _lasso(cloud.points, outside)
    at.run()
    assert not at.exception, at.exception
    assert sess.selection == before | set(outside)

    at.segmented_control(key="emb_mode").set_value("remove")
    at.run()
    at.session_state[f"emb_2d_{at.session_state['emb_gen']}"] = _lasso(cloud.points, outside[:5])
    at.run()
    assert not at.exception, at.exception
    assert sess.selection == before | set(outside[5:])

    # A 3D click (the component's value) in add mode; the same value on a rerun is not applied twice.
    at.segmented_control(key="emb_mode").set_value("add")
    at.run()
    at.session_state["emb_3d"] = {"row_id": outside[0], "nonce": "click-1"}
    at.run()
    assert not at.exception, at.exception
    assert outside[0] in sess.selection
    at.segmented_control(key="emb_mode").set_value("remove")
    at.run()
    assert outside[0] in sess.selection                          # old click, new mode: nothing happens
    at.session_state["emb_3d"] = {"row_id": outside[0], "nonce": "click-2"}
    at.run()
    assert outside[0] not in sess.selection

    # The download holds exactly the selected rows, with obs_dataset and obs_cluster.
    labels = [b.label for b in at.get("download_button")]
    assert any("CSV" in b for b in labels) and any("Parquet" in b for b in labels)
    ids = sorted(sess.selection)
    df = pd.read_csv(io.BytesIO(cmp.export(ids, format="csv", clusters=cloud.points)))   # what the button serves
    assert sorted(df["obs_row_id"].tolist()) == ids
    expected = cloud.points.set_index("row_id").loc[ids]
    assert df.set_index("obs_row_id").loc[ids, "obs_cluster"].tolist() == expected["cluster"].tolist()
    assert df.set_index("obs_row_id").loc[ids, "obs_dataset"].tolist() == expected["dataset"].tolist()
    assert {"ticket_text", "text_vector", "prediction_id"} <= set(df.columns)
    assert f"Selection · {len(ids):,} rows" in [s.value for s in at.subheader]

    by_label(at, "button", "Clear selection").click()
    at.run()
    assert not at.exception, at.exception
    assert sess.selection == set()
    assert "Nothing selected yet" in texts(at)


def test_picking_a_time_window_restricts_the_cloud(at):
    sess = _sess(at)
    cmp = sess.base
    dot = cmp.drift_over_time(columns=[next(iter(cmp.schema.all_embeddings()))])
    w = dot.sort_values("window_end").iloc[10]
    gen = at.session_state.get("emb_dot_gen", 0) if "emb_dot_gen" in at.session_state else 0
    at.session_state[f"emb_dot_{gen}"] = {"selection": {
        "points": [{"curve_number": 0, "point_index": 10, "x": str(w["window_start"]),
                    "customdata": [str(w["window_start"]), str(w["window_end"])]}],
        "point_indices": [10], "box": [], "lasso": []}}
    at.run()
    assert not at.exception, at.exception
    assert sess.time_range is not None
    _, cloud = _cloud(at)
    assert cloud.n_sampled["primary"] <= int(w["n_rows"]) + 1
    by_label(at, "button", "Show the whole period").click()
    at.run()
    assert not at.exception, at.exception
    assert sess.time_range is None


# ---- other data -------------------------------------------------------------------------------------------

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="


def _png_data_url() -> str:
    return "data:image/png;base64," + PNG_1PX


def _image_dataset(n: int = 240) -> obs.Dataset:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 16)) * 5
    group = np.arange(n) % 3
    vec = (centres[group] + rng.normal(size=(n, 16))).astype(np.float32)
    links = np.array([f"https://example.org/img/{i}.png" for i in range(n)], dtype=object)
    links[1::4] = _png_data_url()
    links[2::4] = [f"/mnt/images/{i}.png" for i in range(2, n, 4)]
    pred = np.where(rng.random(n) < 0.5, "cat", "dog")
    table = pa.table({
        "image_id": [f"img-{i}" for i in range(n)],
        "image_vector": pa.array(list(vec), type=pa.list_(pa.float32(), 16)),
        "image_url": links, "caption": [f"a photo of group {g}" for g in group],
        "brightness": rng.random(n), "prediction_label": pred,
        "actual_label": np.where(group == 2, np.where(pred == "cat", "dog", "cat"), pred),
    })
    buf = io.BytesIO()
    import pyarrow.parquet as pq
    pq.write_table(table, buf)
    return obs.read(buf.getvalue(), name="images.parquet")


def _load_one(ds: obs.Dataset, **schema_changes):
    def prepare(sess):
        session.load_datasets(sess, reference=None, primary=ds, source="upload")
        schema = sess.schema
        if schema_changes:
            schema = schema.replace(**schema_changes)
        problems = session.confirm(sess, schema)
        assert sess.ready, problems
    return prepare


def test_one_dataset_with_image_links():
    ds = _image_dataset()
    emb = obs.EmbeddingColumns("image_vector", raw_data="caption", link_to_data="image_url")
    at = _open(dict(SMALL, sample_size=200, min_cluster_size=10),
               prepare=_load_one(ds, embeddings={"image": emb}, prediction_id="image_id",
                                 prediction_label="prediction_label", actual_label="actual_label"))
    assert "no reference to drift from" in texts(at)
    assert "Embedding drift (AUC)" not in [m.label for m in at.metric]
    assert at.selectbox(key="emb_color").value == "cluster"
    assert at.segmented_control(key="emb_sort").value == "performance"
    sess = _sess(at)
    _, cloud = _cloud(at)
    worst = cloud.sorted_clusters("performance").iloc[0]
    assert worst["metric_primary"] == cloud.clusters["metric_primary"].min()
    # select the first 8 rows: http and data: URLs become images, the file path stays text
    ids = sorted(cloud.points["row_id"])[:8]
    at.session_state[f"emb_2d_{at.session_state['emb_gen']}"] = _lasso(cloud.points, ids)
    at.run()
    assert not at.exception, at.exception
    assert sess.selection == set(ids)
    links = ds.table.column("image_url").to_pylist()             # row ids of a lone primary = row numbers
    expected = [i for i in ids if not links[i].startswith("/")]
    shown = [img.url for el in at.image for img in el.proto.imgs]
    assert len(shown) == len(expected) >= 4
    assert not any("/mnt/images" in u for u in shown)
    assert any("example.org" in u for u in shown)
    table = [d.value for d in at.dataframe if "image_url" in d.value.columns][0]
    assert any(str(v).startswith("/mnt/images/") for v in table["image_url"])


def test_no_embedding_shows_what_to_do():
    table = pa.table({"id": [f"r{i}" for i in range(50)], "x": np.arange(50.0), "label": ["a", "b"] * 25})
    buf = io.BytesIO()
    import pyarrow.parquet as pq
    pq.write_table(table, buf)
    at = _open(prepare=_load_one(obs.read(buf.getvalue(), name="plain.parquet")))
    assert "names no embedding" in texts(at)


def test_filters_that_leave_no_rows_show_a_message_not_a_traceback():
    def prepare(sess):
        sess.filters = [obs.Filter("channel", "in", ["nowhere"])]
    at = _open(prepare=prepare)
    assert any("No primary row" in e.value or "vectors" in e.value for e in at.error), [e.value for e in at.error]
