"""Notebook helpers: the artefact folder the notebooks share, and the setup and evaluation steps that
more than one notebook needs, written once.

The only state shared between notebooks is the artefact folder, ``$LMG_ARTEFACTS`` (default
``artefacts/`` in the repository; ``make test`` uses ``build/test-artefacts``):

    artefacts/
      corpus/        01  the embedded corpus in GRID layout (nothing when a real GRID path is given)
      dataset/       01  preprocessed clips: shards + manifest.json
      delay/         02  per-video best lags (csv)
      checkpoints/   04  train_<preset>/: the notebook's training run (generator.safetensors)
      ablations/     05  one training run per variant, table.csv
      evaluation/    06  metric tables (csv), the Speech2Vid baseline's run

Figures go to ``figures/`` (committed), not here. A notebook whose input is missing stops at once
and names the notebook to run first (``require``).
"""
from __future__ import annotations

import os
from pathlib import Path

from .util.paths import FIGURES, REPO_ROOT, SHIPPED_CHECKPOINTS, artefacts_root  # noqa: F401

SAVE = dict(dpi=110, metadata={"Software": None})     # savefig settings of every figure (stable PNGs)
METRICS = ("psnr", "ssim", "cpbd", "lmd")             # the paper's four metrics, in its order


class MissingArtefact(FileNotFoundError):
    """An artefact an earlier notebook should have written is missing."""


def artefact_dir(*parts: str, create: bool = True) -> Path:
    p = artefacts_root().joinpath(*parts)
    if create:
        p.mkdir(parents=True, exist_ok=True)
    return p


def require(path: str | os.PathLike, made_by: str) -> Path:
    """Fail early, with the notebook to run, when an earlier notebook's artefact is missing."""
    path = Path(path)
    if not path.exists():
        raise MissingArtefact(f"{path} is missing: run {made_by} first (or `make reproduce`)")
    return path


def figure_path(name: str) -> Path:
    FIGURES.mkdir(parents=True, exist_ok=True)
    return FIGURES / name


def source_markdown(*objs, equation: str | None = None, note: str | None = None) -> str:
    """Markdown that puts a paper equation (LaTeX, shown as a display formula) above the source of
    the library code implementing it, read from the installed package (``inspect``), never copied:
    the notebook shows what actually runs. Each object gets a header with its file and lines."""
    import inspect
    import textwrap
    parts = [f"$${equation}$$"] if equation else []
    if note:
        parts.append(note)
    for obj in objs:
        lines, start = inspect.getsourcelines(obj)
        path = Path(inspect.getsourcefile(obj)).resolve()
        try:
            path = path.relative_to(REPO_ROOT)
        except ValueError:
            pass
        parts.append(f"`{path.as_posix()}`, lines {start}-{start + len(lines) - 1}: "
                     f"`{obj.__qualname__}`\n\n```python\n{textwrap.dedent(''.join(lines)).rstrip()}\n```")
    return "\n\n".join(parts)


def show_source(*objs, equation: str | None = None, note: str | None = None) -> None:
    """Display ``source_markdown(...)`` in the notebook: the paper's equation beside its code."""
    from IPython.display import Markdown, display
    display(Markdown(source_markdown(*objs, equation=equation, note=note)))


def open_dataset(split: str, seed: int = 0):
    """Notebook 1's preprocessed dataset (``LipClipDataset``), or a clear error naming notebook 1."""
    from .data.dataset import LipClipDataset
    manifest = require(artefact_dir("dataset", create=False) / "manifest.json", "01_data_preparation")
    return LipClipDataset(manifest.parent, split, seed=seed)


def checkpoint_path(spec: str | None = None) -> Path:
    """A checkpoint spec as ``lmg generate --checkpoint`` reads it (None or "shipped", a path, or
    "artefacts:<path>", e.g. notebook 4's run), required to exist."""
    from .train.checkpoints import resolve_checkpoint
    return require(resolve_checkpoint(spec), "04_training (or use the shipped checkpoint)")


def landmark_detector():
    """The shipped lip-landmark regressor that measures LMD (its held-out error in ``.error``)."""
    from .eval.lip_landmarks import load_landmark_regressor
    return load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt")


def compare_models(models: dict, dataset, detect=None, metrics=METRICS, title: str | None = None,
                   path=None):
    """Evaluate every model on ``dataset`` with the protocol of ``eval.protocol.evaluate`` and draw
    the comparison. ``models`` maps a name to a model (``(lms, ref) -> video``) or to its videos,
    precomputed in dataset order. Returns (table, per_clip, figure): every group (speakers and
    "all") with a leading ``model`` column; per-clip metrics by model; the bar chart of the overall
    means with 95 % intervals (saved to ``path`` if given)."""
    import pandas as pd
    from .eval.protocol import evaluate
    from .viz import metric_table_figure
    tables, per_clip = [], {}
    for name, model in models.items():
        summary, clips = evaluate(model, dataset, detect=detect, return_per_clip=True)
        summary.insert(0, "model", name)
        tables.append(summary)
        per_clip[name] = clips
    table = pd.concat(tables, ignore_index=True)
    fig = metric_table_figure(table[table.group == "all"], list(metrics), path=path, title=title)
    return table, per_clip, fig


# ------------------------------------------------------------------ the shipped results
DEFAULT_TEST_SPEAKERS = tuple(f"s{i}" for i in range(28, 33))   # held out by the default corpus's split


def held_out_subset(root, utterances: int = 2, workers: int = 1) -> Path:
    """The first ``utterances`` sentences of every test speaker of the DEFAULT corpus, rebuilt
    (byte-identical: each utterance is seeded on its own) and preprocessed into ``root/prep``
    (57 clips for 2 sentences, ~10 s of CPU). The shipped models' metrics on exactly these clips are
    recorded in ``checkpoints/<run>/subset_per_clip.csv``, so tests and notebook 6 can reproduce
    them without the 3.5-minute default corpus. Returns the preprocessed folder."""
    from .corpus.build import CorpusConfig, build_corpus
    from .data.preprocess import preprocess
    root = Path(root)
    build_corpus(root / "corpus", CorpusConfig(n_workers=workers), progress=False,
                 speakers=list(DEFAULT_TEST_SPEAKERS), max_utterances=utterances)
    preprocess(root / "corpus", root / "prep", workers=workers, test_speakers=list(DEFAULT_TEST_SPEAKERS),
               progress=False, log=lambda *a, **k: None)
    return root / "prep"


def shipped_model(name: str):
    """(model in eval mode, config) of the shipped run ``checkpoints/<name>/generator.safetensors``:
    the full model or an ablation variant (``LipGenerator``), or a baseline (speech2vid, vgan)."""
    from .train.baselines import BASELINES
    from .train.checkpoints import load_network
    model, cfg, _ = load_network(SHIPPED_CHECKPOINTS / name / "generator.safetensors", BASELINES)
    return model, cfg
