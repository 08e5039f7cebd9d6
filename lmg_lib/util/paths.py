"""Where things are: the repository (shipped checkpoints, figures) and the notebooks' artefact folder.

The artefact folder is ``$LMG_ARTEFACTS`` (default ``artefacts/`` in the repository): the only state
the notebooks share (layout in ``lmg_lib/notebook.py``). Paths in ``checkpoints/`` are found from
the working directory first, then from the repository (an editable install run from elsewhere).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIGURES = REPO_ROOT / "figures"
SHIPPED_CHECKPOINTS = REPO_ROOT / "checkpoints"
# the run folder (under checkpoints/) of THE shipped full model: `lmg generate`'s default, the model
# of the notebooks' figures and of the explorer, the full model of Table 3 (eval.records.MODELS)
SHIPPED_FULL = "full_cpu2"


def artefacts_root() -> Path:
    """``$LMG_ARTEFACTS``, or ``artefacts/`` in the repository."""
    return Path(os.environ.get("LMG_ARTEFACTS", REPO_ROOT / "artefacts"))


def in_repo(path) -> Path:
    """``path`` itself if it exists or is absolute, else the same relative path in the repository
    if that exists there (e.g. ``checkpoints/full/generator.safetensors`` from any working directory)."""
    p = Path(path)
    if not p.is_absolute() and not p.exists() and (REPO_ROOT / p).exists():
        return REPO_ROOT / p
    return p
