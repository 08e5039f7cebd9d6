"""The committed .ipynb notebooks are the jupytext .py sources, without outputs."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_notebooks_in_sync_with_py_sources():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_notebook_has_a_parameters_cell_and_checks():
    import jupytext
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(src)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{src.name}: needs exactly one cell tagged 'parameters'"
        assert "assert" in nb.cells[-1].source, f"{src.name}: the last cell must be a checks cell"
