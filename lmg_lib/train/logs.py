"""Training logs: ``train_log.csv`` (one row per log step) and TensorBoard when it is installed,
written by rank 0 only; ``config.json`` records what the run was started with."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..config import LOSS_TERMS, Config
from ..util.files import atomic_write
from .step import needs_discriminator


def log_keys(cfg: Config) -> list[str]:
    """The scalars ``train_step`` returns for this loss configuration, in CSV column order: the total,
    every loss term switched on (``config.LOSS_TERMS``), and D's loss with its streams."""
    keys = ["loss_G"] + [t.name for t in LOSS_TERMS if t.on(cfg.loss)]
    if needs_discriminator(cfg):
        keys += ["loss_D", "d_real", "d_fake"] + (["d_mismatch"] if cfg.loss.lambda_u else [])
    return keys


def _fmt(x) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


class TrainLog:
    """Columns: step, epoch, the ``keys`` of ``log_keys``, lr, lr_corr, clips_per_s."""

    def __init__(self, out: Path, keys: list[str]):
        self.out, self.path = Path(out), Path(out) / "train_log.csv"
        self.columns = ["step", "epoch", *keys, "lr", "lr_corr", "clips_per_s"]
        self.tb = None

    def open(self, step: int, run: dict) -> None:
        """Start (``step`` 0) or continue a log; ``run`` is written to ``config.json``."""
        if self.path.exists() and step > 0:
            # drop rows a killed run logged after its last checkpoint: they are redone
            with open(self.path, newline="") as f:
                rows = list(csv.reader(f))
            keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
            buf = io.StringIO()
            csv.writer(buf).writerows(keep)
            atomic_write(self.path, lambda tmp: Path(tmp).write_text(buf.getvalue()))
        else:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(self.columns)
        (self.out / "config.json").write_text(json.dumps(run, indent=2))
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(self.out / "tensorboard"), purge_step=step or None)
        except Exception:            # tensorboard not installed: the CSV is the log
            self.tb = None

    def write(self, rec: dict) -> None:
        """One row; ``rec`` maps every column to its value."""
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([_fmt(rec[c]) for c in self.columns])
        if self.tb is not None:
            for k, v in rec.items():
                if k not in ("step", "epoch"):
                    self.tb.add_scalar(f"train/{k}", v, rec["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
