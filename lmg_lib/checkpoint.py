"""Checkpoints.

* ``export_generator`` / ``load_generator``: the inference checkpoint users run (``lmg generate``):
  the generator's weights as safetensors (fp16 by default, BatchNorm statistics included) with the
  full ``Config`` as JSON in the file's metadata, so a checkpoint always rebuilds its own network.
* Full training checkpoints (models, optimisers, RNG states, step, data position) live in
  ``train.py`` and use ``atomic_save`` from here.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .config import Config
from .util.files import atomic_write
from .model.generator import LipGenerator
from .model.geometry import check_geometry

FORMAT = "lmg-generator-v1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or made for another configuration."""


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` through ``atomic_write``."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def export_generator(G: LipGenerator, cfg: Config, path: str | os.PathLike, fp16: bool = True,
                     extra: dict | None = None) -> Path:
    from safetensors.torch import save_file
    state = {k: (v.half() if fp16 and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in G.state_dict().items()}
    meta = {"format": FORMAT, "config": cfg.to_json(), "extra": json.dumps(extra or {})}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))


def read_metadata(path: str | os.PathLike) -> dict:
    from safetensors import safe_open
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lmg generator checkpoint (format {meta.get('format')!r})")
    return meta


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu",
                   expect: Config | None = None) -> tuple[LipGenerator, Config, dict]:
    """Rebuild the generator a checkpoint was made with; returns (G in eval mode, config, extra).
    ``expect``: raise ``CheckpointError`` if the checkpoint's model/audio config differs."""
    from safetensors.torch import load_file
    meta = read_metadata(path)
    cfg = Config.from_dict(json.loads(meta["config"]))
    if expect is not None and (expect.model != cfg.model or expect.audio != cfg.audio):
        raise CheckpointError(f"checkpoint {path} was made for config {cfg.name!r} "
                              f"({cfg.model}), not {expect.name!r} ({expect.model})")
    try:
        check_geometry(cfg.model, cfg.audio)
    except ValueError as e:
        raise CheckpointError(f"checkpoint {path}: {e}") from None
    G = LipGenerator(cfg.model)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    try:
        G.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not match its own config: {e}") from None
    return G.to(device).eval(), cfg, json.loads(meta.get("extra", "{}"))
