"""The one place that reads and writes safetensors: weights (fp16 by default) with string metadata,
written atomically. Every network file of the project goes through here (``train.checkpoints``
for the generator and baselines, ``train.autoencoder``, ``eval.sync_expert``)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .files import atomic_write


def save_weights(path: str | os.PathLike, state: dict, metadata: dict[str, str], fp16: bool = True) -> Path:
    """``state`` (a state_dict) -> ``path`` with ``metadata``; floating tensors as fp16 if ``fp16``."""
    from safetensors.torch import save_file
    state = {k: (v.half() if fp16 and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in state.items()}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata=metadata))


def read_weights_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a safetensors file (FileNotFoundError / ValueError with the reason)."""
    from safetensors import safe_open
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except Exception as e:
        raise ValueError(f"cannot read checkpoint {path}: {e}") from None


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, floating ones as float32."""
    from safetensors.torch import load_file
    return {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
