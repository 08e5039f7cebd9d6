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


def test_params_files_use_the_one_override_path():
    """params/*.yaml: every configuration override is a valid make_config key (a typo in full.yaml is
    caught without a GPU), and smoke.yaml holds exactly the notebooks' default parameters."""
    import jupytext
    import yaml
    from lmg_lib.config import make_config
    defaults = {}
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        cell = next(c for c in jupytext.read(src).cells if "parameters" in c.metadata.get("tags", []))
        exec(cell.source, ns := {})
        defaults[src.stem] = {k: v for k, v in ns.items() if k.isupper()}
    for path in sorted((ROOT / "params").glob("*.yaml")):
        for notebook, params in yaml.safe_load(path.read_text()).items():
            assert notebook in defaults, f"{path.name}: no notebook {notebook}"
            assert set(params) <= set(defaults[notebook]), f"{path.name}: unknown parameters of {notebook}"
            for key in ("CONFIG",):
                if key in params:
                    make_config(params.get("PRESET", defaults[notebook].get("PRESET", "paper")), params[key])
            if path.name == "smoke.yaml":
                assert all(defaults[notebook][k] == v for k, v in params.items()), (notebook, params)
