"""Training: the networks, their optimisers, one alternating D / G step, and the ``Trainer`` around it.

One step, as the authors' trainer does it:
1. D step:  L_D = -log D(s, v) - 0.5 log(1 - D(s, v_hat.detach())) - 0.5 log(1 - D(s, v_mismatch))
2. G step:  L = w_corr L_corr + w_pix L_pix + w_perc L_perc + w_gen L_gen, back-propagated once and
   stepping G and the correlation encoders (phi_s, phi_v) together.

``Trainer`` (and ``lmg train``) adds everything a real run needs:

* data: any map-style ``Dataset`` yielding the ``LipClipDataset`` dict contract (``lms``, ``ref``,
  ``video``, optionally ``mismatch``); a seeded ``ResumableSampler`` (a ``DistributedSampler`` that
  can start mid-epoch) gives a data position ``(epoch, batch index within the epoch)``;
* speed: bf16 autocast (fp16 + GradScaler where bf16 is missing), channels_last_3d, optional
  ``torch.compile`` -- all on CUDA only; the loss values stay on the device and are only read
  (one synchronisation) at log steps;
* robustness: full checkpoints (every model, optimiser, GradScaler, python / numpy / torch RNG, step,
  data position, running log sums) written atomically every ``checkpoint_every`` steps and at the
  end; ``resume=True`` continues on exactly the next batch (bit-identical on CPU); a non-finite loss
  stops the run with ``NonFiniteLossError`` naming the step and the last good checkpoint;
* logs: ``train_log.csv`` (one row per log step), TensorBoard if importable, tqdm;
* multi-GPU / multi-node: run under ``torchrun``; DistributedDataParallel, only rank 0 writes.

BatchNorm under DDP: every rank normalises with its own batch statistics (the authors' 4-GPU
``DataParallel`` did the same: BN statistics per GPU of 6 clips). The running statistics are
broadcast from rank 0 at each forward (``broadcast_buffers``), so every rank holds rank 0's buffers
and the exported generator is the same whichever rank wrote it. ``sync_bn=True`` (``--sync-bn``,
CUDA/NCCL only) converts every BatchNorm to ``SyncBatchNorm`` for statistics over the global batch,
which matters when the per-GPU batch is small (< 8 clips).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .checkpoint import atomic_save, export_generator
from .util.files import atomic_write
from .config import Config, apply_variant
from .data.dataset import collate_clips
from .model.correlation import CorrelationNet, correlation_loss
from .model.discriminator import ThreeStreamDiscriminator
from .model.generator import LipGenerator
from .model.geometry import check_geometry
from .model.losses import (TERMS, discriminator_loss, generator_adversarial_loss, mismatched,
                     perceptual_loss, pixel_loss, total_generator_loss)
from .model.perceptual import LipAutoencoder
from .util.pixels import to_uint8_frames

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class Models:
    G: LipGenerator
    D: ThreeStreamDiscriminator
    corr: CorrelationNet
    autoencoder: LipAutoencoder | None = None   # frozen; only for LossConfig.perceptual="autoencoder"

    def modules(self) -> dict[str, nn.Module]:
        d = {"G": self.G, "D": self.D, "corr": self.corr}
        if self.autoencoder is not None:
            d["autoencoder"] = self.autoencoder
        return d

    def to(self, device) -> "Models":
        for m in self.modules().values():
            m.to(device)
        return self


def build_models(cfg: Config, autoencoder: LipAutoencoder | None = None) -> Models:
    """Seeded construction of G, D and the correlation encoders."""
    check_geometry(cfg.model, cfg.audio, discriminator=True)
    seed_everything(cfg.seed)
    G, D, corr = LipGenerator(cfg.model), ThreeStreamDiscriminator(cfg.model), CorrelationNet(cfg.model)
    if cfg.loss.perceptual == "autoencoder" and cfg.loss.use_perc:
        if autoencoder is None:
            raise ValueError("LossConfig.perceptual='autoencoder' needs a trained LipAutoencoder "
                             "(see pretrain_autoencoder)")
        autoencoder = autoencoder.freeze()
    return Models(G, D, corr, autoencoder)


def build_optimizers(models: Models, cfg: Config) -> dict[str, torch.optim.Optimizer]:
    t = cfg.train
    return {
        "G": torch.optim.Adam(models.G.parameters(), lr=t.lr, betas=t.betas),
        "D": torch.optim.Adam(models.D.parameters(), lr=t.lr, betas=t.betas),
        "corr": torch.optim.Adam(models.corr.parameters(), lr=t.lr_corr, betas=t.betas_corr,
                                 weight_decay=t.weight_decay_corr),
    }


def needs_discriminator(cfg: Config) -> bool:
    L = cfg.loss
    return L.use_gen or (L.use_perc and L.perceptual == "discriminator")


def generator_terms(models: Models, batch: dict, cfg: Config, fake: torch.Tensor,
                    f_s: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every enabled generator loss term on one batch (differentiable w.r.t. G and phi)."""
    L, lms, real = cfg.loss, batch["lms"], batch["video"]
    terms: dict[str, torch.Tensor] = {}
    if L.use_pix:
        terms["pix"] = pixel_loss(fake, real)
    if needs_discriminator(cfg):
        logit_fake, feats_fake = models.D(lms, fake)
        if L.use_gen:
            terms["gen"] = generator_adversarial_loss(logit_fake)
        if L.use_perc and L.perceptual == "discriminator":
            with torch.no_grad():
                _, feats_real = models.D(lms, real)
            terms["perc"] = perceptual_loss(feats_fake, feats_real)
    if L.use_perc and L.perceptual == "autoencoder":
        ae = models.autoencoder
        with torch.no_grad():
            feats_real = ae.video_features(real)
        terms["perc"] = perceptual_loss(ae.video_features(fake), feats_real)
    if L.use_corr:
        a, b_fake = models.corr(f_s, fake)
        loss = correlation_loss(a, b_fake, L.corr_negative_weight)
        if L.corr_real_weight > 0:
            inner = unwrap(models.corr)        # DDP / compiled wrappers only wrap forward()
            b_real = inner.phi_v(inner.flow(real))
            loss = (1 - L.corr_real_weight) * loss + L.corr_real_weight * correlation_loss(
                a, b_real, L.corr_negative_weight)
        terms["corr"] = loss
    return terms


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module under DistributedDataParallel and torch.compile wrappers."""
    while True:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def train_step(models: Models, opts: dict, batch: dict, cfg: Config, *,
               amp_dtype: torch.dtype | None = None, scaler=None, sync: bool = True) -> dict:
    """One alternating D / G update; returns the logged scalars.

    ``amp_dtype``: run the forward passes under ``torch.autocast`` with this dtype (bf16 / fp16);
    ``scaler``: a ``torch.amp.GradScaler`` (fp16 only). ``sync=False`` returns detached 0-d tensors
    left on the device (no CPU-GPU synchronisation); ``sync=True`` returns Python floats."""
    lms, ref, real = batch["lms"], batch["ref"], batch["video"]
    models.G.train(); models.D.train(); models.corr.train()
    autocast = (torch.autocast(device_type=lms.device.type, dtype=amp_dtype) if amp_dtype is not None
                else nullcontext())
    scale = scaler.scale if scaler is not None else (lambda x: x)
    step = scaler.step if scaler is not None else (lambda opt: opt.step())
    with autocast:
        fake, f_s = models.G(lms, ref)
    logs: dict[str, torch.Tensor] = {}
    if needs_discriminator(cfg):
        mism = batch.get("mismatch")
        mism = mismatched(real) if mism is None else mism
        opts["D"].zero_grad(set_to_none=True)
        with autocast:
            ld, dlogs = discriminator_loss(models.D(lms, real)[0], models.D(lms, fake.detach())[0],
                                           models.D(lms, mism)[0], cfg.loss.lambda_p, cfg.loss.lambda_u)
        scale(ld).backward()
        step(opts["D"])
        logs["loss_D"] = ld.detach()
        logs.update(dlogs)
    with autocast:
        total, terms = total_generator_loss(generator_terms(models, batch, cfg, fake, f_s), cfg.loss)
    for k in ("G", "corr", "D"):
        opts[k].zero_grad(set_to_none=True)
    scale(total).backward()
    step(opts["G"])
    if cfg.loss.use_corr:
        step(opts["corr"])
    if scaler is not None:
        scaler.update()
    logs["loss_G"] = total.detach()
    logs.update(terms)
    if not sync:
        return logs
    keys = list(logs)
    return dict(zip(keys, torch.stack([logs[k].float() for k in keys]).tolist()))


def log_keys(cfg: Config) -> list[str]:
    """The scalars ``train_step`` returns for this loss configuration, in CSV column order."""
    keys = ["loss_G"] + [t for t in TERMS if getattr(cfg.loss, f"use_{t}")]
    if needs_discriminator(cfg):
        keys += ["loss_D", "d_real", "d_fake", "d_mismatch"]
    return keys


class _EpochIndexed(torch.utils.data.Dataset):
    """Receives (epoch, index) from ``ResumableSampler`` and calls the dataset's ``set_epoch``
    inside the worker, so per-epoch randomness is right even with persistent workers."""

    def __init__(self, dataset):
        self.dataset, self._epoch = dataset, None

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        epoch, i = key
        if epoch != self._epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        self._epoch = epoch
        return self.dataset[i]


class ResumableSampler(torch.utils.data.distributed.DistributedSampler):
    """The rank's share of a seeded permutation per epoch (``DistributedSampler``: the permutation
    depends only on (seed, epoch)), starting ``start`` samples into the epoch; yields (epoch, index)."""

    def __init__(self, dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=False)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = int(start)

    def __iter__(self):
        return iter([(self.epoch, i) for i in list(super().__iter__())[self.start:]])

    def __len__(self) -> int:
        return max(self.num_samples - self.start, 0)


# ========================================================================== distributed
def init_distributed(device: str | None = None) -> tuple[int, int, int, bool]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT):
    NCCL on CUDA, gloo on CPU. Returns (rank, world_size, local_rank, initialised_here)."""
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0, False
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), local, False
    cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return rank, world, local, True


def _dist():
    import torch.distributed as dist
    return dist if dist.is_available() and dist.is_initialized() else None


# =========================================================================== trainer
class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


CKPT_FORMAT = "lmg-train-v1"


def to_channels_last(module: nn.Module) -> nn.Module:
    """channels_last_3d for 5-D (Conv3d) weights, channels_last for 4-D (Conv2d) ones."""
    for p in module.parameters():
        if p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
        elif p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
    return module


def _fmt(x) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


class Trainer:
    """Alternating D / G training of ``cfg`` on ``dataset`` into ``out_dir``.

    Files in ``out_dir``: ``checkpoints/last.pt`` (full training state), ``train_log.csv``,
    ``config.json``, ``generator.safetensors`` (fp16 export, at the end), ``final.json`` and
    ``tensorboard/`` (if TensorBoard is installed).

    ``generator``: train another network with the generator's call signature instead of
    ``LipGenerator`` (e.g. ``baselines.Speech2VidBaseline`` with ``variant="l1"``).
    ``sample_batch``: a fixed batch (``lms``, ``ref``) whose generated videos are saved every
    ``sample_every`` steps (and at step 0 and the end) as ``samples/step_NNNNNN.npy``, uint8
    (B, 16, S, S, 3): samples over time, without touching the training RNG or BatchNorm statistics."""

    def __init__(self, cfg: Config, dataset, out_dir, *, variant: str = "full",
                 device: str | None = None, resume: bool = False, progress: bool = True,
                 generator: nn.Module | None = None, autoencoder: LipAutoencoder | None = None,
                 sync_bn: bool = False, sample_batch: dict | None = None):
        self.cfg = cfg = apply_variant(cfg, variant)
        self.variant, self.out = variant, Path(out_dir)
        self.rank, self.world, local, self._owns_pg = init_distributed(device)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and self.world > 1:
            device = f"cuda:{local}"
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.is_main = self.rank == 0
        self.progress = progress
        t = cfg.train
        self.ckpt_path = self.out / "checkpoints" / "last.pt"
        self.csv_path = self.out / "train_log.csv"
        if self.ckpt_path.exists() and not resume:
            raise FileExistsError(f"{self.ckpt_path} exists: pass resume=True (--resume) to continue "
                                  f"that run, or choose another output folder")
        if resume and not self.ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.ckpt_path}")

        # ---- models and optimisers (seeded)
        self.models = build_models(cfg, autoencoder=autoencoder)
        if generator is not None:
            self.models.G = generator
        if self.cuda and t.channels_last:
            for m in self.models.modules().values():
                to_channels_last(m)
        self.models.to(self.device)
        if sync_bn and self.world > 1:
            for k in ("G", "D", "corr"):
                setattr(self.models, k, nn.SyncBatchNorm.convert_sync_batchnorm(getattr(self.models, k)))
        self.opts = build_optimizers(self.models, cfg)
        self.amp_dtype = None
        self.scaler = None
        if self.cuda and t.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            if self.amp_dtype == torch.float16:
                self.scaler = torch.amp.GradScaler("cuda")
        self.step_models = self._wrap(self.models)

        # ---- data
        if len(dataset) == 0:
            raise ValueError("the training dataset is empty")
        self.sampler = ResumableSampler(dataset, self.world, self.rank, seed=cfg.seed)
        self.steps_per_epoch = self.sampler.num_samples // t.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(dataset)} clips over {self.world} rank(s) cannot fill one batch "
                             f"of {t.batch_size}: lower --batch-size")
        self.loader_gen = torch.Generator()
        self.loader = torch.utils.data.DataLoader(
            _EpochIndexed(dataset), batch_size=t.batch_size, sampler=self.sampler, drop_last=True,
            num_workers=t.num_workers, persistent_workers=t.num_workers > 0, pin_memory=self.cuda,
            collate_fn=collate_clips, generator=self.loader_gen)

        # ---- state
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.keys = log_keys(cfg)
        self._acc = {k: torch.zeros((), device=self.device) for k in self.keys}
        self._acc_n = 0
        self._first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self._last_good: tuple[Path, int] | None = None
        if resume:
            self.load_checkpoint(self.ckpt_path)
        self.tb = None
        self.sample_batch = sample_batch

    def save_sample(self) -> Path | None:
        """Generate ``sample_batch`` with G in eval mode and save it (rank 0 only)."""
        if self.sample_batch is None or not self.is_main:
            return None
        G = unwrap(self.models.G)
        was_training = G.training
        G.eval()
        with torch.no_grad():
            out = G(self.sample_batch["lms"].to(self.device), self.sample_batch["ref"].to(self.device))
        G.train(was_training)
        video = (out[0] if isinstance(out, (tuple, list)) else out).float().cpu().numpy()
        frames = np.stack([to_uint8_frames(v) for v in video])
        path = self.out / "samples" / f"step_{self.step:06d}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: np.save(tmp, frames))
        return path

    # ------------------------------------------------------------------------ wrapping
    def _wrap(self, models: Models) -> Models:
        """DDP (for the networks this variant trains) and torch.compile, around the same modules."""
        cfg = self.cfg
        used = {"G": True, "D": needs_discriminator(cfg), "corr": cfg.loss.use_corr}
        out = {}
        for k in ("G", "D", "corr"):
            m = getattr(models, k)
            if self.world > 1 and used[k]:
                m = nn.parallel.DistributedDataParallel(
                    m, device_ids=[self.device.index] if self.cuda else None)
            if cfg.train.compile and used[k]:
                m = torch.compile(m)
            out[k] = m
        return Models(out["G"], out["D"], out["corr"], models.autoencoder)

    # ---------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        acc = {k: float(v) for k, v in self._acc.items()}
        rng = {"python": random.getstate(), "numpy": np.random.get_state(),
               "torch": torch.get_rng_state()}
        if self.cuda:
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"format": CKPT_FORMAT, "step": self.step, "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch, "world_size": self.world,
                "variant": self.variant, "config": self.cfg.to_dict(),
                "models": {k: unwrap(m).state_dict() for k, m in self.models.modules().items()
                           if k != "autoencoder"},
                "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "rng": rng, "log_acc": acc, "log_acc_n": self._acc_n}

    def save_checkpoint(self) -> Path:
        self._check_finite()                       # never write a checkpoint of a diverged run
        if self.is_main:
            atomic_save(self.state_dict(), self.ckpt_path)
        self._last_good = (self.ckpt_path, self.step)
        return self.ckpt_path

    def load_checkpoint(self, path) -> None:
        # our own file: it holds numpy RNG state, hence weights_only=False
        ck = torch.load(path, map_location="cpu", weights_only=False)
        if ck.get("format") != CKPT_FORMAT:
            raise ValueError(f"{path} is not a training checkpoint ({ck.get('format')!r})")
        saved = Config.from_dict(ck["config"])
        mine = self.cfg
        same = (saved.model == mine.model and saved.audio == mine.audio and saved.loss == mine.loss
                and saved.seed == mine.seed and saved.train.batch_size == mine.train.batch_size)
        if not same or ck["variant"] != self.variant:
            raise ValueError(f"{path} was written for another configuration/variant "
                             f"({saved.name}/{ck['variant']}): resume with the same settings")
        if ck["world_size"] != self.world:
            raise ValueError(f"{path} was written by {ck['world_size']} process(es), not {self.world}: "
                             "the data position would not carry over")
        for k, sd in ck["models"].items():
            unwrap(getattr(self.models, k)).load_state_dict(sd)
        for k, sd in ck["optimizers"].items():
            self.opts[k].load_state_dict(sd)
        if self.scaler is not None and ck["scaler"] is not None:
            self.scaler.load_state_dict(ck["scaler"])
        self.step, self.epoch, self.batch_in_epoch = ck["step"], ck["epoch"], ck["batch_in_epoch"]
        self._acc = {k: torch.tensor(ck["log_acc"].get(k, 0.0), device=self.device) for k in self.keys}
        self._acc_n = ck["log_acc_n"]
        rng = ck["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if self.cuda and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self._last_good = (Path(path), self.step)

    # -------------------------------------------------------------------------- logging
    def _open_logs(self) -> None:
        if not self.is_main:
            return
        t = self.cfg.train
        self.columns = ["step", "epoch", *self.keys, "lr", "lr_corr", "clips_per_s"]
        if self.csv_path.exists() and self.step > 0:
            # drop rows a killed run logged after its last checkpoint: they are redone
            with open(self.csv_path, newline="") as f:
                rows = list(csv.reader(f))
            keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= self.step]
            buf = io.StringIO()
            csv.writer(buf).writerows(keep)
            atomic_write(self.csv_path, lambda tmp: Path(tmp).write_text(buf.getvalue()))
        else:
            self.out.mkdir(parents=True, exist_ok=True)
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(self.columns)
        (self.out / "config.json").write_text(json.dumps(
            {"config": self.cfg.to_dict(), "variant": self.variant, "world_size": self.world}, indent=2))
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(self.out / "tensorboard"), purge_step=self.step or None)
        except Exception:            # tensorboard not installed: the CSV is the log
            self.tb = None

    def _gather(self) -> dict:
        """Mean of each scalar since the last log row over all ranks (one device synchronisation)."""
        vals = torch.stack([self._acc[k] for k in self.keys])
        d = _dist()
        if d is not None:
            d.all_reduce(vals)
            vals /= self.world
        vals = (vals / max(self._acc_n, 1)).tolist()
        for k in self.keys:
            self._acc[k].zero_()
        self._acc_n = 0
        return dict(zip(self.keys, vals))

    def _write_row(self, row: dict, rate: float) -> None:
        if not self.is_main:
            return
        rec = {"step": self.step, "epoch": self.epoch, **row,
               "lr": self.opts["G"].param_groups[0]["lr"],
               "lr_corr": self.opts["corr"].param_groups[0]["lr"], "clips_per_s": rate}
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([_fmt(rec[c]) for c in self.columns])
        if self.tb is not None:
            for k, v in rec.items():
                if k not in ("step", "epoch"):
                    self.tb.add_scalar(f"train/{k}", v, self.step)

    def _check_finite(self) -> None:
        bad = self._first_bad.clone()
        d = _dist()
        if d is not None:
            d.all_reduce(bad, op=d.ReduceOp.MAX)
        bad = int(bad)
        if bad >= 0:
            if self._last_good is not None:
                where = f"last good checkpoint: {self._last_good[0]} (step {self._last_good[1]})"
            else:
                where = "no checkpoint was written before it"
            raise NonFiniteLossError(
                f"non-finite loss (NaN or inf) at step {bad}; training stopped. {where}. "
                "Lower the learning rate, check the data, or resume from that checkpoint.")

    # ------------------------------------------------------------------------- the loop
    def _to_device(self, batch: dict) -> dict:
        out = {}
        for k, v in batch.items():
            v = v.to(self.device, non_blocking=True)
            if self.cuda and self.cfg.train.channels_last and v.dim() in (4, 5):
                v = v.contiguous(memory_format=torch.channels_last_3d if v.dim() == 5
                                 else torch.channels_last)
            out[k] = v
        return out

    def fit(self, stop_after: int | None = None) -> dict:
        """Train up to ``cfg.train.steps``. ``stop_after``: stop right after that global step as if
        the process were killed (no final checkpoint, no export) -- for testing ``resume``."""
        from tqdm.auto import tqdm
        t = self.cfg.train
        total = t.steps
        self._open_logs()
        check_every = 1 if not self.cuda else max(1, t.log_every)
        bar = tqdm(total=total, initial=self.step, disable=not (self.progress and self.is_main),
                   unit="step", dynamic_ncols=True, desc=f"train {self.variant}")
        last_t, last_step = time.perf_counter(), self.step
        row: dict = {}
        if self.step == 0:
            self.save_sample()
        try:
            while self.step < total:
                self.sampler.set_position(self.epoch, self.batch_in_epoch * t.batch_size)
                self.loader_gen.manual_seed(self.cfg.seed * 1_000_003 + self.epoch)
                finished_epoch = True
                for batch in self.loader:
                    logs = train_step(self.step_models, self.opts, self._to_device(batch), self.cfg,
                                      amp_dtype=self.amp_dtype, scaler=self.scaler, sync=False)
                    self.step += 1
                    self.batch_in_epoch += 1
                    finite = torch.stack([v.float() for v in logs.values()]).isfinite().all()
                    self._first_bad = torch.where(finite | (self._first_bad >= 0), self._first_bad,
                                                  torch.full_like(self._first_bad, self.step))
                    for k in self.keys:
                        self._acc[k] += logs[k].float()
                    self._acc_n += 1
                    bar.update(1)
                    if self.step % check_every == 0:
                        self._check_finite()
                    if self.step % t.log_every == 0 or self.step == total:
                        self._check_finite()
                        row = self._gather()            # the one device synchronisation
                        now = time.perf_counter()
                        rate = (self.step - last_step) * t.batch_size * self.world / max(now - last_t, 1e-9)
                        self._write_row(row, rate)
                        last_t, last_step = time.perf_counter(), self.step
                        bar.set_postfix({k: f"{v:.3g}" for k, v in list(row.items())[:4]} | {"clips/s": f"{rate:.1f}"})
                    if self.step % t.sample_every == 0 or self.step == total:
                        self.save_sample()
                    if self.step % t.checkpoint_every == 0:
                        self.save_checkpoint()
                    if stop_after is not None and self.step >= stop_after:
                        return {"step": self.step, "stopped": True}
                    if self.step >= total:
                        finished_epoch = False
                        break
                if finished_epoch:
                    self.epoch += 1
                    self.batch_in_epoch = 0
        finally:
            bar.close()
            if self.tb is not None:
                self.tb.close()
        if self._last_good is None or self._last_good[1] != self.step:
            self.save_checkpoint()
        return self.finish()

    def finish(self) -> dict:
        """Check the ranks agree, export the generator, write final.json."""
        d = _dist()
        if d is not None:
            # BatchNorm running statistics: each rank's last forward updated them with its own
            # batch; hand every rank rank 0's (the ones rank 0 exports), as DDP does per forward.
            for m in self.models.modules().values():
                for b in unwrap(m).buffers():
                    d.broadcast(b, src=0)
        digests = [param_digest(self.models)]
        if d is not None:
            gathered = [None] * self.world
            d.all_gather_object(gathered, digests[0])
            digests = gathered
            if len(set(digests)) != 1:
                raise RuntimeError(f"ranks disagree on the parameters after training: {digests}")
        result = {"step": self.step, "epoch": self.epoch, "variant": self.variant,
                  "world_size": self.world, "rank_param_sha256": digests,
                  "checkpoint": str(self.ckpt_path)}
        if self.is_main:
            G = unwrap(self.models.G)
            extra = {"variant": self.variant, "step": self.step}
            if isinstance(G, LipGenerator):
                path = export_generator(G, self.cfg, self.out / "generator.safetensors", extra=extra)
            else:
                from .baselines import export_baseline
                path = export_baseline(G, self.cfg, self.out / f"{type(G).__name__}.safetensors", extra)
            result["generator"] = str(path)
            atomic_write(self.out / "final.json",
                         lambda tmp: Path(tmp).write_text(json.dumps(result, indent=2)))
        return result

    def close(self) -> None:
        d = _dist()
        if d is not None and self._owns_pg:
            d.destroy_process_group()


def param_digest(models: Models) -> str:
    """sha256 over every parameter and buffer of G, D and phi (bit-exact comparison of runs/ranks)."""
    h = hashlib.sha256()
    for name, m in models.modules().items():
        for k, v in unwrap(m).state_dict().items():
            h.update(name.encode() + k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


