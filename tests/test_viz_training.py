"""The training figures of notebook 4 (and the frame grids of notebook 6): titles never overlap the
column titles, columns carry the clip's true frame numbers, and loss curves draw each term as it
enters L (weighted), never a term that was off."""
import matplotlib

matplotlib.use("Agg")          # tests only; the library never selects a backend (test_viz.py)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lmg_lib import viz  # noqa: E402
from lmg_lib.config import make_config  # noqa: E402


def _bottom_of_title_above_every_axes_title(fig) -> bool:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(r)
    tops = [ax.title.get_window_extent(r).y1 for ax in fig.axes if ax.get_title()]
    return bool(tops) and title.y0 >= max(tops)


@pytest.mark.parametrize("rows", [2, 6, 12])                 # 6: notebook 6's grid, 12: notebook 4's snapshots
@pytest.mark.parametrize("title", ["shipped models, held-out s28 · lgif8n · clip 3", "a long title " * 12])
def test_a_grid_title_stays_above_the_column_titles(title, rows):
    frames = np.zeros((16, 8, 8, 3), np.uint8)
    fig = viz.compare_videos({f"row {k}": frames for k in range(rows)}, title=title)
    assert _bottom_of_title_above_every_axes_title(fig)
    assert all(ax.get_window_extent().x1 <= fig.bbox.x1 + 1 for ax in fig.axes)
    plt.close(fig)


def test_snapshot_columns_carry_the_clips_frame_numbers():
    kept = np.arange(16)[::5]                                              # what the shipped samples strip keeps
    snaps = {0: np.zeros((1, len(kept), 8, 8, 3), np.uint8), 150: np.ones((1, len(kept), 8, 8, 3), np.uint8)}
    fig = viz.samples_over_time(snaps, frames=(0, 1, 2, 3), frame_numbers=kept,
                                real=np.zeros((len(kept), 8, 8, 3), np.uint8))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["frame 0", "frame 5", "frame 10", "frame 15"]
    plt.close(fig)
    with pytest.raises(ValueError, match="3 frame labels for 4 frames"):
        viz.compare_videos({"a": np.zeros((16, 8, 8, 3), np.uint8)}, frames=(0, 1, 2, 3), frame_labels=["a"] * 3)


def _log(steps, gan_start):
    on = steps > gan_start
    return pd.DataFrame({"step": steps, "loss_G": 30.0 - steps / 100, "corr": np.full(len(steps), 0.5),
                         "pix": np.full(len(steps), 0.8), "perc": np.where(on, 0.2, 0.0),
                         "gen": np.where(on, 1.5, 0.0), "loss_D": np.where(on, 1.2, 0.0)})


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


def test_loss_curves_draw_weighted_terms_only_while_they_are_on():
    cfg = make_config("cpu")                                    # w_pix 20, D from step 600
    steps = np.arange(25, 1501, 25)
    ax = viz.loss_curves(_log(steps, cfg.train.gan_start), cfg)
    lines = _lines(ax)
    pix = lines["20 x L_pix, mouth box x5 inside"]
    assert np.allclose(pix.get_ydata(), 20 * 0.8)                          # as it enters L, not 0.8
    gen = lines["1 x L_gen"]
    assert gen.get_xdata().min() > cfg.train.gan_start and np.all(gen.get_ydata() > 0)   # never the logged zeros
    assert lines["L_D (D's loss, not in L)"].get_xdata().min() > cfg.train.gan_start
    assert ax.get_ylabel().startswith("weighted") and ax.get_yscale() == "log"
    assert any(line.get_xdata()[0] == cfg.train.gan_start for line in ax.get_lines()
               if line.get_label().startswith("_"))                           # the line where D switches on
    plt.close(ax.figure)


def test_loss_curves_leave_out_a_term_that_is_off():
    cfg = make_config("tiny", variant="l1")                                  # L_pix only: no D
    ax = viz.loss_curves(_log(np.arange(10, 41, 10), 0), cfg)
    assert sorted(_lines(ax)) == ["0.5 x L_pix", "L (loss_G, the total)"]
    plt.close(ax.figure)


def test_learning_curves_one_line_per_run_and_the_validation_references():
    import pandas as pd
    from lmg_lib.viz import learning_curves
    log = lambda k: pd.DataFrame({"cpu_s": [60.0, 120, 180], "lmd": [2.0, 1.8 - k, 1.7 - k], "opening_r": [0.1, 0.5, 0.6]})
    refs = {"seeds": {"0": {"static": {"lmd": 2.3, "opening_r": 0.0}, "lmd_average_mouth": 1.76},
                      "1": {"static": {"lmd": 2.4, "opening_r": 0.0}, "lmd_average_mouth": 1.76}}}
    fig = learning_curves({"full": {"seed 0": log(0), "seed 1": log(0.1)}, "s2v": {"seed 0": log(0.2)}}, refs)
    lmd_ax, r_ax = fig.axes
    runs = [ln for ln in lmd_ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(runs) == 3 and list(runs[0].get_xdata()) == [1.0, 2.0, 3.0]       # CPU-minutes
    assert runs[0].get_color() == runs[1].get_color() != runs[2].get_color()      # colour = model
    flat = sorted(ln.get_ydata()[0] for ln in lmd_ax.get_lines() if len(ln.get_xdata()) == 2)
    assert np.allclose(flat, [1.76, 2.35])             # average mouth, static (mean over seeds)
    assert len([ln for ln in r_ax.get_lines() if len(ln.get_xdata()) == 2]) == 1  # no average mouth for r
