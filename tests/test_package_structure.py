"""The package's shape (docs/PACKAGE.md): rooms that import only downward, no import cycle, no
library file over 400 lines, one owner per contract, one source of truth for the dependencies.

The import graph is read from the source with ``ast`` (nothing is imported), counting every import,
including those inside functions."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# room -> the rooms it may import besides itself (config and util are the bottom layer)
ROOMS = {
    "config": set(),
    "util": {"config"},
    "model": {"config"},
    "corpus": {"config", "util"},
    "data": {"config", "util"},
    "eval": {"config", "util", "data"},
    "train": {"config", "util", "model", "data", "eval"},
    "infer": {"config", "util", "model", "data"},
}
TOP = {"cli", "notebook", "viz", "export", "__main__"}   # the front door and the notebooks' helpers: anything
PACKAGE_INIT = {"config"}                           # lmg_lib/__init__.py runs before every import


def modules(lib: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``lib`` (a package's name for its __init__)."""
    out = {}
    for p in sorted(lib.rglob("*.py")):
        parts = p.relative_to(lib.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def imports(name: str, path: Path, known) -> set[str]:
    """The package modules ``name`` imports anywhere in its file (resolved to existing modules)."""
    top = name.split(".")[0]
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(pkg.split(".")[:len(pkg.split(".")) - node.level + 1]) if node.level else ""
            mod = ".".join(x for x in (base, node.module) if x)
            targets = [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            if t.split(".")[0] != top:
                continue
            while t not in known and "." in t:
                t = t.rsplit(".", 1)[0]
            found.add(t)
    found.discard(name)
    return found


def graph(lib: Path) -> dict[str, set[str]]:
    mods = modules(lib)
    return {m: imports(m, p, mods) for m, p in mods.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<package>"


def layer_violations(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for a, targets in g.items():
        ra = room(a)
        if ra not in ROOMS and ra not in TOP and ra != "<package>":
            bad.append(f"{a}: not in a room of docs/PACKAGE.md ({sorted(ROOMS)} or top {sorted(TOP)})")
            continue
        for b in sorted(targets):
            rb = room(b)
            ok = (ra == rb or ra in TOP or (ra == "<package>" and rb in PACKAGE_INIT)
                  or rb in ROOMS.get(ra, ()))
            if not ok:
                bad.append(f"{a} -> {b}: {ra} may import only {sorted(ROOMS.get(ra, PACKAGE_INIT))}")
    return bad


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == "open":
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m)
    return found


LIB_GRAPH = graph(ROOT / "lmg_lib")


def test_every_import_goes_down_the_layers():
    assert layer_violations(LIB_GRAPH) == []


def test_no_import_cycle():
    assert cycles(LIB_GRAPH) == []


def test_the_checks_see_what_they_should(tmp_path):
    """The checker on a small fake package: an upward import (inside a function) and a cycle."""
    lib = tmp_path / "lmg_lib"
    for f, text in {"__init__.py": "from .config import X\n", "config.py": "X = 1\n",
                    "model/__init__.py": "", "model/a.py": "def f():\n    from ..train import b\n",
                    "train/__init__.py": "", "train/b.py": "from . import c\n",
                    "train/c.py": "import lmg_lib.train.b\nfrom ..model import a\n"}.items():
        (lib / f).parent.mkdir(parents=True, exist_ok=True)
        (lib / f).write_text(text)
    g = graph(lib)
    assert g["lmg_lib.model.a"] == {"lmg_lib.train.b"} and g["lmg_lib.train.c"] == {"lmg_lib.train.b", "lmg_lib.model.a"}
    assert layer_violations(g) == ["lmg_lib.model.a -> lmg_lib.train.b: model may import only ['config']"]
    assert ["lmg_lib.train.b", "lmg_lib.train.c", "lmg_lib.train.b"] in cycles(g)


@pytest.mark.parametrize("path", sorted((ROOT / "lmg_lib").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_library_file_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


def _files_containing(text: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT / "lmg_lib")) for p in (ROOT / "lmg_lib").rglob("*.py")
                  if text in p.read_text())


def test_one_owner_per_contract():
    assert [f for f in _files_containing("argparse") if not f.startswith("cli/")] == []   # one front door
    assert _files_containing("127.5") == ["util/pixels.py"]                 # the pixel scale
    assert _files_containing("from safetensors") == ["util/weights.py"]      # network files
    assert _files_containing("CROP_SCALE =") == ["data/crop.py"]            # the lip-crop geometry
    assert _files_containing("np.savez(f, **arrays)") == ["data/shards.py"]  # the shard format


def test_environment_yml_is_generated_from_pyproject():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "make_environment.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
