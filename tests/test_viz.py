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
assert G.training and G.fast_forms, "trace_model must restore the generator's mode and path"
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


# ------------------------------------------------------------------ the results figures (notebooks 5, 6)
def _ablation_long():
    """Fake ablation runs, listed alphabetically (as the folders are), two seeds of l1."""
    import pandas as pd
    from lmg_lib.config import PAPER_LETTER
    rows = []
    for k, v in enumerate(sorted(PAPER_LETTER)):
        if PAPER_LETTER[v] is None:
            continue
        for seed in ((0, 1) if v == "l1" else (0,)):
            for m, base in (("lmd", 1.85), ("ssim", 0.75), ("psnr", 25.0), ("cpbd", 0.5), ("opening_r", 0.55),
                            ("cpbd_real", 0.16)):
                mean = base + 0.01 * k + 0.03 * seed
                rows.append(dict(variant=v, letter=PAPER_LETTER[v], seed=seed, metric=m, mean=mean,
                                 ci_low=mean - 0.02, ci_high=mean + 0.02, n=200))
    return pd.DataFrame(rows)


def test_ablation_figure_rows_in_paper_order_beside_table2():
    """Rows (a)-(i) in the paper's order, not the alphabet; ours' LMD axis does not start at 0 (a
    0.05 px difference must show); the second seed is drawn; the paper's values sit in their own
    panels on the same rows."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from lmg_lib.config import PAPER_LETTER
    from lmg_lib.eval.paper import table2
    from lmg_lib.viz import ablation_figure
    long = _ablation_long()
    fig = ablation_figure(long, table2().set_index("variant"), PAPER_LETTER, real_cpbd=(0.16, 0.141))
    ours_lmd, paper_lmd = fig.axes[0], fig.axes[5]
    rows = [t.get_text().split(")")[0] + ")" for t in ours_lmd.get_yticklabels()]
    assert rows == [f"({c})" for c in "abcdefghi"]
    lo, hi = ours_lmd.get_xlim()
    assert 1.5 < lo < 1.85 and hi - lo < 0.5                                  # spans the values, not from 0
    xs = [x for c in ours_lmd.containers for x in c.lines[0].get_xdata()]          # the dots, not the caps
    assert any(abs(x - (1.85 + 0.01 * sorted(PAPER_LETTER).index("l1") + 0.03)) < 1e-9 for x in xs)   # seed 1
    paper = table2().set_index("variant")["LMD"]
    got = sorted(x for c in paper_lmd.containers for x in c.lines[0].get_xdata())
    assert got == sorted(paper.tolist())
    assert "Table 2" in paper_lmd.get_title()
    plt.close(fig)


def test_dot_axes_clip_one_far_value_and_keep_it_visible():
    import numpy as np
    from lmg_lib.viz import _limits
    lo = np.array([1.8, 1.85, 1.9, 1.87, 2.4]) - 0.02
    a, b, out = _limits(lo, lo + 0.04, clip_outlier=True)
    assert out == 4 and b < 2.4                      # (a) left out of the span, drawn at the edge
    a, b, out = _limits(lo, lo + 0.04)
    assert out is None and b > 2.4


def test_comparison_figure_same_rows_in_every_panel_with_shuffled_audio():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import pandas as pd
    from lmg_lib.viz import comparison_figure
    rows = [("full model, cpu recipe", "lmd", 1.8), ("full model, cpu recipe", "lmd_shuffled", 2.3),
            ("full model, cpu recipe", "cpbd", 0.5), ("static reference", "lmd", 2.2),
            ("real frames", "cpbd", 0.16)]
    long = pd.DataFrame([dict(model=m, metric=k, mean=v, ci_low=v - 0.03, ci_high=v + 0.03) for m, k, v in rows])
    fig = comparison_figure(long, panels=(("lmd", "lmd_shuffled"), ("cpbd",)))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["full model, cpu recipe", "static reference",
                                                                      "real frames"]
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])          # the same rows in both
    cpbd = sorted(c.lines[0].get_ydata()[k] for c in fig.axes[1].containers for k in range(len(c.lines[0].get_ydata())))
    assert cpbd == [0.0, 2.0]                      # full model on row 0, real frames on row 2 (static: none)
    xs = sorted(x for c in fig.axes[0].containers for x in c.lines[0].get_xdata())
    assert any(abs(x - 2.3) < 1e-9 for x in xs) and fig.axes[0].get_xlim()[0] > 1.0   # shuffled drawn, not from 0
    plt.close(fig)


def test_comparison_figure_zoom_spans_only_the_named_rows():
    """The zoom panel's axis spans the trained models only; a far control (the ceiling) and a far
    other-audio dot sit at its edge with their values written, while the full panel still spans them;
    more than five panels go in two rows."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import pandas as pd
    from lmg_lib.viz import comparison_figure
    rows = [("full model", "lmd", 1.44), ("Speech2Vid", "lmd", 1.51), ("static reference", "lmd", 2.19),
            ("audio-only ceiling", "lmd", 0.63), ("full model", "lmd_shuffled", 2.17)]
    long = pd.DataFrame([dict(model=m, metric=k, mean=v, ci_low=v - 0.03, ci_high=v + 0.03) for m, k, v in rows])
    fig = comparison_figure(long, panels=(("lmd", "lmd_shuffled"), ("cpbd",)), zoom=("lmd", ["full model", "Speech2Vid"]))
    full, zoomed = fig.axes[0], fig.axes[1]
    assert full.get_xlim()[0] < 0.63 and full.get_xlim()[1] > 2.19
    assert 1.3 < zoomed.get_xlim()[0] < 1.41 and 1.54 < zoomed.get_xlim()[1] < 1.7
    written = sorted(t.get_text() for t in zoomed.texts)
    # the ceiling and the static frame at the edges, and the full model's other-audio dot too
    # (it was dropped without a mark before)
    assert written == ["0.63", "2.17", "2.19"]
    assert len(fig.axes) == 3
    plt.close(fig)
    fig = comparison_figure(long, zoom=("lmd", ["full model", "Speech2Vid"]))     # 7 default panels + the zoom
    shown = [a for a in fig.axes if a.get_visible()]
    assert len(shown) == 8 and len({round(a.get_position().y0, 3) for a in shown}) == 2
    plt.close(fig)


def test_dot_axes_hold_every_seed_inside_the_panel():
    """A second seed's value beyond the first seed's span is inside the panel with room to spare,
    not on its edge (the limits are one span over every seed, padded once); the bar chart draws the
    real frames' CPBD where the table has it."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import pandas as pd
    from lmg_lib.config import PAPER_LETTER
    from lmg_lib.eval.paper import table2
    from lmg_lib.viz import ablation_figure, metric_table_figure
    long = _ablation_long()
    far = (long.seed == 1) & (long.metric == "cpbd") & (long.variant == "l1")
    top = long[long.metric == "cpbd"]["ci_high"].max()
    long.loc[far, ["mean", "ci_low", "ci_high"]] = [top + 0.03, top + 0.02, top + 0.04]
    fig = ablation_figure(long, table2().set_index("variant"), PAPER_LETTER)
    cpbd = fig.axes[3]
    lo, hi = cpbd.get_xlim()
    assert hi >= top + 0.04 + 0.02 * (hi - lo), (hi, top)
    plt.close(fig)
    t = pd.DataFrame([dict(model=n, metric=m, mean=v, ci_low=v - 0.01, ci_high=v + 0.01)
                      for n in ("a", "b") for m, v in (("cpbd", 0.5), ("cpbd_real", 0.9))])
    fig = metric_table_figure(t, ["cpbd"])
    ax = fig.axes[0]
    assert any(list(l.get_ydata()) == [0.9, 0.9] for l in ax.get_lines()) and ax.get_ylim()[1] > 0.9
    plt.close(fig)
