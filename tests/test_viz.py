"""lmg_lib never changes matplotlib's backend (a notebook must show its figures, not only save them),
and the architecture diagram is drawn from the real modules' shapes."""
import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_library_code_selects_a_backend():
    """No ``matplotlib.use`` / ``pyplot.switch_backend`` / ``MPLBACKEND`` anywhere in lmg_lib."""
    bad = []
    for p in sorted((ROOT / "lmg_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.Attribute) and node.attr in ("use", "switch_backend"):
                base = node.value
                name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                if name in ("matplotlib", "mpl", "plt", "pyplot"):
                    bad.append(f"{p.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Constant) and node.value == "MPLBACKEND":
                bad.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad


def test_viz_keeps_the_callers_backend(tmp_path):
    """In a fresh interpreter whose backend is not Agg, importing lmg_lib.viz and drawing with it
    (frame strip, saved strip, comparison grid, architecture diagram) leaves the backend alone, and
    a figure saved to a file stays open for the caller (a notebook displays it)."""
    code = f"""
import matplotlib
before = matplotlib.get_backend()
import numpy as np, torch
import matplotlib.pyplot as plt
from lmg_lib import viz
from lmg_lib.config import make_config
from lmg_lib.model.generator import LipGenerator
from lmg_lib.model.correlation import CorrelationNet
from lmg_lib.model.discriminator import ThreeStreamDiscriminator
frames = np.zeros((4, 16, 16, 3), np.uint8)
fig = viz.frame_strip(frames, path={str(tmp_path / 'strip.png')!r})
assert plt.fignum_exists(fig.number), "frame_strip closed the figure it returns"
viz.compare_videos({{"a": frames}}, frames=(0, 1), path={str(tmp_path / 'grid.png')!r})
cfg = make_config("tiny")
G, C, D = LipGenerator(cfg.model), CorrelationNet(cfg.model), ThreeStreamDiscriminator(cfg.model)
G.train()
fig, tr = viz.architecture_diagram(G, torch.zeros(1, *cfg.lms_shape), torch.zeros(1, 3, 64, 64), C, D,
                                   preset="tiny", path={str(tmp_path / 'arch.png')!r})
assert G.training and G.fast_fusion, "trace_model must restore the generator's mode and path"
w = cfg.model.width
assert tuple(tr["f_s"].shape) == (1, 8 * w, 16, 16) and tuple(tr["fused"].shape) == (1, 16 * w, 16, 16, 16)
assert tuple(tr["v_hat"].shape) == (1, 3, 16, 64, 64) and tuple(tr["flow"].shape) == (1, 2, 15, 16, 16)
assert tuple(tr["phi_s"].shape) == tuple(tr["phi_v"].shape) == (1, 15) and tuple(tr["logit"].shape) == (1,)
assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())
print("backend", matplotlib.get_backend())
"""
    env = {**os.environ, "MPLBACKEND": "pdf", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backend pdf" in r.stdout
    for name in ("strip.png", "grid.png", "arch.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cpbd_is_never_labelled_higher_is_better():
    from lmg_lib.viz import metric_label
    assert metric_label("cpbd") == "cpbd (compare with real frames)"
    assert metric_label("lmd") == "lmd (lower is better)" and metric_label("psnr") == "psnr (higher is better)"


def test_show_source_reads_the_library_not_a_copy():
    from lmg_lib.model.fusion import fuse
    from lmg_lib.notebook import source_markdown
    import inspect
    md = source_markdown(fuse, equation=r"f_v = [f_s, f_p]")
    assert md.startswith("$$f_v = [f_s, f_p]$$") and "lmg_lib/model/fusion.py" in md
    assert inspect.getsource(fuse).strip() in md


def test_pages_print_paths_relative_to_the_repository(tmp_path):
    """Exported pages must not depend on where the repository was cloned: notebooks print paths
    through ``shown``, which drops the clone's absolute prefix (and hides paths outside it)."""
    from lmg_lib.notebook import REPO_ROOT, shown
    assert shown(REPO_ROOT / "figures" / "a.png") == "figures/a.png"
    assert str(tmp_path) not in shown(tmp_path / "b.png") and shown(tmp_path / "b.png").endswith("b.png")


def test_notebooks_print_no_absolute_paths_or_wall_times():
    """The notebooks behind the committed HTML pages print paths through ``shown`` and print no
    wall-clock time of their own (progress bars are drawn without elapsed time by the exporter)."""
    import ast
    from lmg_lib.notebook import REPO_ROOT
    for nb in sorted((REPO_ROOT / "notebooks").glob("0*.py")):
        tree = ast.parse(nb.read_text())
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "print"):
                continue
            def path_name(e):             # a folder variable, or a path built from one with "/"
                while isinstance(e, ast.BinOp) and isinstance(e.op, ast.Div):
                    e = e.left
                return e.id if isinstance(e, ast.Name) and e.id.endswith("_dir") else None
            shown_args = [*call.args] + [v.value for a in call.args if isinstance(a, ast.JoinedStr)
                                         for v in a.values if isinstance(v, ast.FormattedValue)]
            bare = sorted(filter(None, map(path_name, shown_args)))
            assert not bare, f"{nb.name}:{call.lineno} prints {bare} (use notebook.shown)"
            times = [a for a in ast.walk(call) if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name)
                     and a.value.id == "time" and a.attr in ("time", "perf_counter")]
            assert not times, f"{nb.name}:{call.lineno} prints a wall time"
