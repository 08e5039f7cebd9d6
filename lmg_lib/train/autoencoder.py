"""The authors' perceptual network, trained: ``pretrain_autoencoder`` fits ``LipAutoencoder`` to
reconstruct single lip frames of the TRAINING speakers (L1, Adam, cosine schedule), then it is frozen
and its encoder features define L_perc when ``LossConfig.perceptual == "autoencoder"`` (the
authors' code; their weights were never released).

    lmg pretrain-autoencoder --config cpu --data DIR --out runs/ae.safetensors [--steps 1500]
    lmg train --config cpu --data DIR --out runs/cpu_ae --set loss.perceptual=autoencoder \
              --autoencoder runs/ae.safetensors
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from ..config import Config, ModelConfig
from ..util.weights import load_weights, read_weights_metadata, save_weights
from ..model.perceptual import LipAutoencoder

FORMAT = "lmg-autoencoder-v1"


def pretrain_autoencoder(dataset, cfg: ModelConfig, steps: int = 1500, batch_size: int = 32,
                         lr: float = 2e-3, seed: int = 0, max_frames: int = 20000,
                         progress: bool = True) -> tuple[LipAutoencoder, dict]:
    """Train on up to ``max_frames`` random frames of ``dataset`` (clip dicts with ``video``).
    Returns (frozen autoencoder in eval mode, {"l1_train": the last batch's L1, "cpu_s": CPU
    seconds, "steps": steps})."""
    from tqdm.auto import tqdm
    from ..eval.lip_landmarks import frames_and_landmarks
    if steps < 1 or batch_size < 1 or max_frames < 1:
        raise ValueError(f"steps, batch_size and max_frames must be >= 1 (got {steps}, {batch_size}, {max_frames})")
    if len(dataset) == 0:
        raise ValueError("the dataset has no clips to train the autoencoder on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.process_time()
    x = torch.from_numpy(frames_and_landmarks(dataset, max_frames, seed)[0])   # (N, 3, S, S)
    ae = LipAutoencoder(cfg)
    opt = torch.optim.Adam(ae.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    ae.train()
    loss = torch.zeros(())
    for step in tqdm(range(steps), disable=not progress, desc="autoencoder", unit="step"):
        b = x[torch.from_numpy(rng.integers(0, len(x), batch_size))]
        loss = (ae(b) - b).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return ae.freeze(), {"l1_train": loss.item(), "cpu_s": time.process_time() - t0, "steps": steps}


def save_autoencoder(ae: LipAutoencoder, cfg: ModelConfig, path, info: dict | None = None) -> Path:
    """``ae``'s weights (fp32) with ``cfg`` and ``info`` (``pretrain_autoencoder``'s record), for
    ``load_autoencoder`` (``lmg train --autoencoder``)."""
    meta = {"format": FORMAT, "model": json.dumps(Config(model=cfg).to_dict()["model"]),
            "info": json.dumps(info or {})}
    return save_weights(path, ae.state_dict(), meta, fp16=False)


def load_autoencoder(path: str | os.PathLike) -> LipAutoencoder:
    """The frozen autoencoder ``save_autoencoder`` wrote (ValueError for any other file)."""
    meta = read_weights_metadata(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an lmg autoencoder checkpoint")
    cfg = Config.from_dict({"model": json.loads(meta["model"])}).model
    ae = LipAutoencoder(cfg)
    ae.load_state_dict(load_weights(path))
    return ae.freeze()
