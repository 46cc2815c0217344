"""A 3D point cloud that reports clicks: a static Streamlit component (no build step, no network).

``st.plotly_chart`` drops plotly's 3D click events, so this component draws the page's ``go.Scatter3d`` figure
itself and sends the clicked point's ``customdata`` (its row id) back with ``streamlit:setComponentValue``.

Two renderers read the same plotly figure JSON (traces, colours, sizes, legend groups, hover text):

* ``"points"`` (default): a small WebGL point renderer in ``main.js`` (one ``gl.POINTS`` draw per group, orbit /
  pan / zoom, hover text, a legend whose entries hide and isolate groups, clicks picked on the CPU). Measured
  in headless Chromium with software WebGL it rotates 20,000 points at ~30 frames/s where plotly's gl3d scene
  manages 2-3 (see ``bench/bench_embeddings_page.py``), and it draws in milliseconds instead of seconds.
* ``"plotly"``: plotly.js's own 3D scene, with the plotly.js of the installed ``plotly`` package
  (``plotly.offline.get_plotlyjs()``, written next to ``index.html`` on first use, or into a temporary folder
  when the source tree is read-only); loaded only by this renderer.

Value: ``None`` until the first click, then ``{"row_id": int, "nonce": str}``; the nonce changes with every
click, so the page can tell a new click from the same value coming back on a rerun.
Args: ``spec`` (the base figure as plotly JSON), ``overlay`` (a JSON list of extra traces, e.g. the selected
points: changing it redraws without resending the base figure), ``height`` (px), ``camera_key`` (the camera
is kept in the browser's sessionStorage under it, so it survives reruns and page switches) and ``renderer``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

HERE = Path(__file__).resolve().parent
ASSETS = ("index.html", "main.js")
PLOTLY_JS = "plotly.min.js"


def _vendor_plotly() -> Path:
    """A folder holding the component's assets and the installed plotly's plotly.min.js."""
    import plotly
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().encode("utf-8")
    fallback = Path(tempfile.gettempdir()) / f"obs_cloud3d_plotly_{plotly.__version__}"
    for folder in (HERE, fallback):
        target = folder / PLOTLY_JS
        try:
            if folder != HERE:
                folder.mkdir(parents=True, exist_ok=True)
                for name in ASSETS:
                    shutil.copyfile(HERE / name, folder / name)
            if not (target.exists() and target.stat().st_size == len(js)):
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".plotly-", suffix=".js")
                with os.fdopen(fd, "wb") as f:
                    f.write(js)
                os.chmod(tmp, 0o644)      # mkstemp makes it private; it is a public static file
                os.replace(tmp, target)   # atomic: concurrent processes never serve a half-written file
            return folder
        except OSError:
            continue
    raise RuntimeError("Could not write plotly.min.js for the 3D view (no writable folder).")


_component = components.declare_component("cloud3d", path=str(_vendor_plotly()))


RENDERERS = ("points", "plotly")


def cloud3d(spec: str, overlay: str = "[]", *, key: str, height: int = 560, camera_key: str = "obs-cloud3d",
            renderer: str = "points") -> Any:
    """Render the 3D figure ``spec``; returns the last click ``{"row_id", "nonce"}`` or None."""
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, not {renderer!r}")
    return _component(spec=spec, overlay=overlay, height=int(height), camera_key=camera_key, renderer=renderer,
                      key=key, default=None)
