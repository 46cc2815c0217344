"""House rules that code review alone would miss."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_obs_core_stays_light():
    code = ("import sys, obs_core; heavy = [m for m in ('streamlit', 'umap', 'hdbscan', 'numba', 'sklearn') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            mods.add(node.module)
    return mods


def test_obs_core_never_imports_streamlit():
    for path in (ROOT / "obs_core").glob("*.py"):
        assert not any(m.split(".")[0] == "streamlit" for m in _imports(path)), path


ALLOWED_IN_PAGES = {"streamlit", "obs_core", "pages._ui", "pages", "__future__", "datetime", "typing", "os",
                    "pathlib", "pandas", "plotly", "plotly.graph_objects", "plotly.express", "json", "math",
                    "html", "base64", "io", "dataclasses", "functools", "time", "pydeck"}
FORBIDDEN_CALLS = ("duckdb", "scipy", "sklearn", "umap", "hdbscan", ".groupby(", ".execute(", "SELECT ")


def test_pages_only_render():
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "pages" / "_ui").glob("*.py"))]
    for path in files:
        mods = _imports(path)
        bad = {m for m in mods if not any(m == a or m.startswith(a + ".") for a in ALLOWED_IN_PAGES)}
        assert not bad, f"{path.name} imports {bad}"
        text = path.read_text()
        for word in FORBIDDEN_CALLS:
            assert word not in text, f"{path.name} contains {word!r}: statistics and SQL belong in obs_core"
        tree = ast.parse(text)
        assert not any(isinstance(n, ast.ClassDef) for n in ast.walk(tree)) or path.parent.name == "_ui", \
            f"{path.name} defines a class"
        assert "st.navigation" not in text
