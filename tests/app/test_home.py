"""AppTest of the Home page: sample, schema form, summary, uploads (good and malformed)."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.app.conftest import by_label, open_app, texts as _texts


@pytest.fixture()
def at():
    return open_app()


def test_opens_on_the_sample_with_a_summary(at):
    assert "Bundled sample loaded" in _texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Primary rows"] == "6,000" and metrics["Reference rows"] == "6,000"
    assert metrics["Model type"] == "Binary"
    assert metrics["Features"] == "11"
    [roles] = [d.value for d in at.dataframe if "role" in d.value.columns]
    assert roles.set_index("role").loc["embedding", "columns"] == "text_vector"


def test_confirming_an_edited_schema_changes_the_summary(at):
    by_label(at, "multiselect", "Features").set_value(["order_value", "channel"])
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Features"] == "2"


def _upload(at, key, name, data):
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream"))
    at.run()


def test_upload_one_csv_and_confirm(at):
    csv = b"id,ts,x,category,prediction,score,label\n" + b"".join(
        f"r{i},2026-10-{1 + i % 20:02d}T00:00:00Z,{i * 0.5},{'ab'[i % 2]},{i % 2},{(i % 10) / 10},{(i // 2) % 2}\n".encode()
        for i in range(200))
    _upload(at, "upload_primary", "prod.csv", csv)
    at.button(key="load_files").click().run()
    assert not at.exception
    assert "Loaded: primary **prod.csv** (200 rows)" in _texts(at)
    submit = at.get("form_submit_button")[0]
    submit.click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Primary rows"] == "200" and metrics["Model type"] == "Binary"


def test_malformed_upload_shows_a_message_and_keeps_the_app(at):
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(1000))}), buf)
    truncated = buf.getvalue()[: len(buf.getvalue()) // 2]
    _upload(at, "upload_primary", "broken.parquet", truncated)
    at.button(key="load_files").click().run()
    assert not at.exception
    assert at.error and "broken.parquet" in at.error[0].value
    # the sample that was loaded before is still there and usable
    assert {m.label: m.value for m in at.metric}["Primary rows"] == "6,000"
    at.button(key="load_sample").click().run()
    assert not at.exception and "Bundled sample loaded" in _texts(at)


def test_schema_errors_are_listed(at):
    _upload(at, "upload_primary", "bad.csv", b"ts,score,label\nyesterday,high,1\nnot a date,0.2,0\n")
    at.button(key="load_files").click().run()
    by_label(at, "selectbox", "Timestamp").set_value("ts")
    by_label(at, "selectbox", "Prediction score").set_value("score")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "cannot be read as dates" in errors and "non-numeric" in errors


def test_duplicate_headers_are_named_before_confirming(at):
    _upload(at, "upload_primary", "dupes.csv", b"a,a,b\n1,2,x\n3,4,y\n")
    at.button(key="load_files").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "2 columns named 'a'" in errors
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert "2 columns named 'a'" in " ".join(e.value for e in at.error)
    assert "Confirm the schema to continue." in _texts(at)
