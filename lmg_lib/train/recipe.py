"""The CPU recipe around the paper's step: what made the model converge on 2 CPU cores
(docs/TRAINING.md has the measurements), and what makes a step cheaper without changing its maths.

Recipe (``TrainConfig``; every default is the authors' plain schedule):
* ``warm_config``: a warm-up of ``gan_start`` steps with the pixel (and correlation) terms only,
  before the discriminator and the D-based terms switch on (a curriculum: pixels first, GAN later);
* ``lr_factor``: cosine decay of every learning rate to ``lr_min_ratio`` of its value;
* ``EMA``: an exponential moving average of G's weights, which is what gets validated and exported;
* ``Validator``: every ``val_every`` steps, sync metrics on fixed clips of the VALIDATION speakers
  (LMD against the true landmarks, mouth-opening r, the shuffled-audio control), ``val_log.csv``,
  and the best generator so far (by validation LMD) as ``best_generator.safetensors``.

Speed, same maths (``benchmarks/train_step_cpu.py`` measures it):
* ``RealFlowCache``: the real videos' optical flow has no learned weights, so each clip's flow is
  computed once and kept;
* ``prefetched``: data loading in a background thread, overlapping the step.
"""
from __future__ import annotations

import copy
import csv
import json
import math
import queue
import threading
from pathlib import Path

import torch
import torch.nn as nn

from ..config import LOSS_TERMS, Config, TrainConfig
from ..util.files import atomic_write


def warm_config(cfg: Config) -> Config:
    """The loss configuration of the warm-up steps: only the terms that need no D
    (``LossTerm.warm``: L_pix, L_corr and an autoencoder L_perc; no L_gen, no discriminator L_perc).
    ``cfg`` itself if no term would remain."""
    warm = cfg.replace(loss={t.switch: t.warm(cfg.loss) for t in LOSS_TERMS})
    return warm if any(t.on(warm.loss) for t in LOSS_TERMS) else cfg


def lr_factor(t: TrainConfig, step: int) -> float:
    """Multiplier of every learning rate at ``step``: 1 (constant) or
    m + (1 - m) (1 + cos(pi step / steps)) / 2 with m = ``lr_min_ratio`` (cosine)."""
    if t.lr_schedule == "constant":
        return 1.0
    m = t.lr_min_ratio
    return m + (1 - m) * 0.5 * (1 + math.cos(math.pi * min(step / max(t.steps, 1), 1.0)))


class EMA:
    """Exponential moving average of a network's parameters (buffers copied). The decay warms up as
    min(decay, (1 + s) / (10 + s)), so that the average forgets the random initialisation."""

    def __init__(self, net: nn.Module, decay: float):
        self.decay = decay
        self.net = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.net.parameters(), net.parameters()):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.net.buffers(), net.buffers()):
            e.copy_(b)


class RealFlowCache:
    """flow(real video) per clip index, computed once (no gradient: the flow has no weights)."""

    def __init__(self):
        self.flows: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def __call__(self, flow_fn, video: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        keys = index.tolist()
        missing = [j for j, k in enumerate(keys) if k not in self.flows]
        if missing:
            for j, f in zip(missing, flow_fn(video[missing].float())):
                self.flows[keys[j]] = f
        return torch.stack([self.flows[k] for k in keys])


def prefetched(iterable, enabled: bool = True, depth: int = 2):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead, in the same order.
    Exceptions are re-raised in the consumer; leaving the loop early stops the thread."""
    if not enabled:
        yield from iterable
        return
    q: queue.Queue = queue.Queue(depth)
    stop, end = threading.Event(), object()

    def put(item) -> bool:                  # False: the consumer has left (never block on a full queue)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for x in iterable:
                if not put((None, x)):
                    return
            put((None, end))
        except BaseException as e:          # handed to the consumer
            put((e, None))

    th = threading.Thread(target=work, daemon=True, name="prefetch")
    th.start()
    try:
        while True:
            err, x = q.get()
            if err is not None:
                raise err
            if x is end:
                return
            yield x
    finally:
        stop.set()
        th.join()


VAL_CLIPS = 48      # validation clips scored every val_every steps (evenly spaced over the split)


class Validator:
    """Fixed clips of the validation split, scored with ``eval.protocol.quick_sync_metrics``."""

    def __init__(self, val_dataset, detector, out_dir, n_clips: int = VAL_CLIPS):
        from ..data.dataset import evenly_spaced_items
        self.items = evenly_spaced_items(val_dataset, n_clips)
        self.detect, self.out = detector.detect, Path(out_dir)
        self.best = {"step": -1, "lmd": float("inf")}

    def truncate(self, step: int) -> None:
        """On resume: drop rows a killed run logged after its last checkpoint (they are redone)."""
        path = self.out / "val_log.csv"
        if path.exists():
            rows = list(csv.reader(open(path, newline="")))
            keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
            atomic_write(path, lambda tmp: csv.writer(open(tmp, "w", newline="")).writerows(keep))

    def __call__(self, G: nn.Module, step: int, export, clock=None) -> dict:
        """Score ``G``, append to val_log.csv; if the LMD improved call ``export(path, row)``.
        ``clock()``: the run's {"cpu_s", "wall_s"} so far, logged after the scoring (so it counts it)."""
        from ..eval.protocol import quick_sync_metrics
        was = G.training
        row = {"step": step, **quick_sync_metrics(G, self.items, self.detect)}
        G.train(was)
        if clock is not None:
            row.update(clock())
        path = self.out / "val_log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(list(row))
            w.writerow([repr(float(v)) if isinstance(v, float) else v for v in row.values()])
        if row["lmd"] < self.best["lmd"]:
            self.best = dict(row)
            export(self.out / "best_generator.safetensors", row)
            atomic_write(self.out / "best.json", lambda tmp: Path(tmp).write_text(json.dumps(self.best, indent=2)))
        return row


def to_channels_last(module: nn.Module) -> nn.Module:
    """channels_last_3d for 5-D (Conv3d) weights, channels_last for 4-D (Conv2d) ones."""
    for p in module.parameters():
        if p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
        elif p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
    return module
