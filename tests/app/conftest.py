"""AppTest helpers: every page starts from the real entry point (app.py), which opens on the sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _no_warmup(monkeypatch):
    # The numba warm-up thread is exercised by the e2e test; here it would only compete for the 2 cores.
    monkeypatch.setenv("OBS_WARMUP", "0")


def open_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(name: str) -> AppTest:
    """Open app.py (loads the sample), then switch to ``pages/<name>``."""
    at = open_app()
    at.switch_page(f"pages/{name}")
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join(str(m.value) for m in [*at.markdown, *at.success, *at.info, *at.error, *at.caption, *at.warning,
                                           *at.title, *at.header, *at.subheader])


def by_label(at: AppTest, kind: str, label: str):
    """The widget of ``kind`` (e.g. "selectbox") whose label is ``label``."""
    found = [w for w in getattr(at, kind) if w.label == label]
    assert found, f"no {kind} labelled {label!r}: {[w.label for w in getattr(at, kind)]}"
    return found[0]
