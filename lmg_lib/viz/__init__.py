"""Small matplotlib helpers for the notebooks and ``lmg corpus --strip`` (deterministic PNGs).

No function here selects or switches matplotlib's backend: the caller's backend decides (the inline
backend in a notebook, so every figure is shown *and* saved; Agg on a headless machine). Figures are
returned open; a function that only returns a path (``save_sample_strip``) closes its figure unless
asked not to.

By subject: ``frames.py`` (strips, samples, side-by-side videos, the explorer's view),
``training.py`` (loss curves, the architecture diagram), ``results.py`` (metric tables, the
ablation and comparison figures); every name is importable from ``lmg_lib.viz``."""
from .frames import (_save, _title_rect, compare_videos, explorer_view, frame_strip,  # noqa: F401
                     samples_over_time, save_sample_strip)
from .results import (OUR_UNITS, PAPER_UNITS, _dots, _limits, _rows_axis, ablation_figure,  # noqa: F401
                      ablation_line, comparison_figure, metric_label, metric_table_figure)
from .training import architecture_diagram, learning_curves, loss_curves, trace_model  # noqa: F401
