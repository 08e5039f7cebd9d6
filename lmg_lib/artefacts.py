"""The artefact folder: the only state shared between notebooks.

Every notebook reads and writes under one folder, ``$LMG_ARTEFACTS`` (default ``artefacts/`` in the
repository root). Layout, and which notebook writes what:

    artefacts/
      corpus/        01  the embedded corpus in GRID layout (or nothing, when a real GRID path is given)
      dataset/       01  preprocessed clips: shards + manifest.json
      delay/         02  per-video best lags (csv)
      checkpoints/   04  generator checkpoint trained in the notebook (train_<preset>.safetensors)
      ablations/     05  per-variant checkpoints and metrics
      evaluation/    06  metric tables (csv)
      landmarks/     06  the lip-landmark regressor used for LMD on generated frames

Figures go to ``figures/`` (committed), not here.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURES = REPO_ROOT / "figures"
SHIPPED_CHECKPOINTS = REPO_ROOT / "checkpoints"


class MissingArtefact(FileNotFoundError):
    """An artefact an earlier notebook should have written is missing."""


def artefact_dir(*parts: str, create: bool = True) -> Path:
    root = Path(os.environ.get("LMG_ARTEFACTS", REPO_ROOT / "artefacts"))
    p = root.joinpath(*parts)
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
