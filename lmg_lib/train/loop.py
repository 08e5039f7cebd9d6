"""The training loop around ``step.train_step``: ``Trainer`` adds everything a real run needs.

* data: any map-style ``Dataset`` yielding the ``LipClipDataset`` dict contract (``lms``, ``ref``,
  ``video``, optionally ``mismatch``); a seeded ``ResumableSampler`` (a ``DistributedSampler`` that
  can start mid-epoch) gives a data position ``(epoch, batch index within the epoch)``;
* speed: bf16 autocast (fp16 + GradScaler where bf16 is missing) and optional ``torch.compile`` on
  CUDA; channels_last(_3d) on CUDA and CPU; the real videos' flow computed once per clip and data
  loading in a background thread (``recipe.py``); the loss values stay on the device and are only
  read (one synchronisation) at log steps;
* the recipe (``recipe.py``): warm-up without D (``gan_start``), cosine learning rates, an EMA of G,
  validation with the best checkpoint kept (``val_every``, needs ``val_dataset`` and ``detector``);
* robustness: full checkpoints (every model, optimiser, GradScaler, python / numpy / torch RNG, step,
  data position, running log sums) written atomically every ``checkpoint_every`` steps and at the
  end; ``resume=True`` continues on exactly the next batch (bit-identical on CPU); a non-finite loss
  stops the run with ``NonFiniteLossError`` naming the step and the last good checkpoint;
* logs: ``train_log.csv`` (one row per log step), ``val_log.csv`` with the CPU / wall seconds spent,
  TensorBoard if importable, tqdm (``logs.py``);
* multi-GPU / multi-node: run under ``torchrun``; DistributedDataParallel, only rank 0 writes
  (BatchNorm under DDP: ``distributed.py``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..config import Config, make_config, variant_of
from ..data.dataset import collate_clips
from ..model.generator import LipGenerator
from ..model.perceptual import LipAutoencoder
from ..util.clock import RunClock
from ..util.files import atomic_write
from ..util.pixels import to_uint8_frames
from .baselines import Speech2VidBaseline
from .checkpoints import (TRAIN_FORMAT, atomic_save, export_network, load_training_checkpoint,
                          param_digest, rng_state, set_rng_state)
from .distributed import ResumableSampler, _EpochIndexed, current_group, init_distributed
from .logs import TrainLog, log_keys
from .recipe import EMA, VAL_CLIPS, RealFlowCache, Validator, lr_factor, prefetched, to_channels_last, warm_config
from .step import Models, build_models, build_optimizers, needs_discriminator, train_step, unwrap


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


class Trainer:
    """Alternating D / G training of ``cfg`` on ``dataset`` into ``out_dir``.

    Files in ``out_dir``: ``checkpoints/last.pt`` (full training state), ``train_log.csv``,
    ``config.json``, ``generator.safetensors`` (fp16 export, at the end), ``final.json`` and
    ``tensorboard/`` (if TensorBoard is installed).

    ``cfg`` is trained as it is: an ablation variant is chosen when the configuration is made
    (``make_config(preset, overrides, variant="l1")``); ``self.variant`` only names it
    (``config.variant_of``: the variant whose loss switches ``cfg`` has, else "custom").
    ``generator``: train another network with the generator's call signature instead of
    ``LipGenerator`` (e.g. ``baselines.Speech2VidBaseline`` with the "l1" loss: ``train_baseline``).
    ``sample_batch``: a fixed batch (``lms``, ``ref``) whose generated videos are saved every
    ``sample_every`` steps (and at step 0 and the end) as ``samples/step_NNNNNN.npy``, uint8
    (B, 16, S, S, 3): samples over time, without touching the training RNG or BatchNorm statistics."""

    def __init__(self, cfg: Config, dataset, out_dir, *,
                 device: str | None = None, resume: bool = False, progress: bool = True,
                 generator: nn.Module | None = None, autoencoder: LipAutoencoder | None = None,
                 sync_bn: bool = False, sample_batch: dict | None = None,
                 val_dataset=None, detector=None, n_val: int = VAL_CLIPS):
        if not isinstance(cfg, Config):
            raise TypeError(f"cfg must be a Config (make_config), not {type(cfg).__name__}")
        self.cfg = cfg
        self.variant, self.out = variant_of(cfg), Path(out_dir)
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
        if self.ckpt_path.exists() and not resume:
            raise FileExistsError(f"{self.ckpt_path} exists: pass resume=True (--resume) to continue "
                                  f"that run, or choose another output folder")
        if resume and not self.ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.ckpt_path}")

        # ---- models and optimisers (seeded)
        self.models = build_models(cfg, autoencoder=autoencoder)
        if generator is not None:
            self.models.G = generator
        if t.channels_last:
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
        self.warm_cfg = warm_config(cfg)
        self.base_lr = {"G": t.lr, "D": t.lr, "corr": t.lr_corr}
        self.ema = EMA(unwrap(self.models.G), t.ema) if t.ema > 0 else None
        self.validator = (Validator(val_dataset, detector, self.out, n_val)
                          if t.val_every and val_dataset is not None and detector is not None else None)
        self.flow_cache = RealFlowCache()

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
        self.log = TrainLog(self.out, self.keys)
        self._acc = {k: torch.zeros((), device=self.device) for k in self.keys}
        self._acc_n = 0
        self._first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self._last_good: tuple[Path, int] | None = None
        self.clock = RunClock()        # compute spent (training and validation): val_log's x axis
        if resume:
            self.load_checkpoint(self.ckpt_path)
        self.sample_batch = sample_batch
        self._zero = torch.zeros((), device=self.device)

    def save_sample(self) -> Path | None:
        """Generate ``sample_batch`` with G in eval mode and save it (rank 0 only)."""
        if self.sample_batch is None or not self.is_main:
            return None
        G = self.export_G()
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
        return {"format": TRAIN_FORMAT, "step": self.step, "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch, "world_size": self.world,
                "variant": self.variant, "config": self.cfg.to_dict(),
                "models": {k: unwrap(m).state_dict() for k, m in self.models.modules().items()
                           if k != "autoencoder"},
                "optimizers": {k: o.state_dict() for k, o in self.opts.items()},
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "rng": rng_state(self.device), "log_acc": {k: float(v) for k, v in self._acc.items()},
                "log_acc_n": self._acc_n,
                "ema_G": self.ema.net.state_dict() if self.ema is not None else None,
                "clock": self.clock.state(),
                "best": self.validator.best if self.validator is not None else None}

    def save_checkpoint(self) -> Path:
        self._check_finite()                       # never write a checkpoint of a diverged run
        if self.is_main:
            atomic_save(self.state_dict(), self.ckpt_path)
        self._last_good = (self.ckpt_path, self.step)
        return self.ckpt_path

    def load_checkpoint(self, path) -> None:
        ck = load_training_checkpoint(path, self.cfg, self.variant, self.world)
        for k, sd in ck["models"].items():
            unwrap(getattr(self.models, k)).load_state_dict(sd)
        for k, sd in ck["optimizers"].items():
            self.opts[k].load_state_dict(sd)
        if self.scaler is not None and ck["scaler"] is not None:
            self.scaler.load_state_dict(ck["scaler"])
        self.step, self.epoch, self.batch_in_epoch = ck["step"], ck["epoch"], ck["batch_in_epoch"]
        self._acc = {k: torch.tensor(ck["log_acc"].get(k, 0.0), device=self.device) for k in self.keys}
        self._acc_n = ck["log_acc_n"]
        set_rng_state(ck["rng"], self.device)
        if self.ema is not None:
            self.ema.net.load_state_dict(ck["ema_G"])
        if self.validator is not None:
            self.validator.best = ck.get("best") or self.validator.best
            self.validator.truncate(self.step)
        self.clock.load(ck.get("clock"))
        self._last_good = (Path(path), self.step)

    # -------------------------------------------------------------------------- logging
    def _gather(self) -> dict:
        """Mean of each scalar since the last log row over all ranks (one device synchronisation)."""
        vals = torch.stack([self._acc[k] for k in self.keys])
        d = current_group()
        if d is not None:
            d.all_reduce(vals)
            vals /= self.world
        vals = (vals / max(self._acc_n, 1)).tolist()
        for k in self.keys:
            self._acc[k].zero_()
        self._acc_n = 0
        return dict(zip(self.keys, vals))

    def _write_row(self, row: dict, rate: float) -> None:
        if self.is_main:
            self.log.write({"step": self.step, "epoch": self.epoch, **row,
                            "lr": self.opts["G"].param_groups[0]["lr"],
                            "lr_corr": self.opts["corr"].param_groups[0]["lr"], "clips_per_s": rate})

    def _check_finite(self) -> None:
        bad = self._first_bad.clone()
        d = current_group()
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
            if self.cfg.train.channels_last and k in ("lms", "ref", "video", "mismatch"):
                v = v.contiguous(memory_format=torch.channels_last_3d if v.dim() == 5
                                 else torch.channels_last)
            out[k] = v
        return out

    def _with_real_flow(self, batch: dict) -> dict:
        """Add ``flow_real`` (cached per clip) when the correlation loss uses the real flow."""
        L = self.cfg.loss
        if not (L.use_corr and L.corr_real_weight > 0 and "index" in batch):
            return batch
        return {**batch, "flow_real": self.flow_cache(unwrap(self.models.corr).flow, batch["video"],
                                                      batch["index"])}

    def export_G(self) -> nn.Module:
        """The generator that is validated and exported: its EMA when ``ema`` > 0."""
        return self.ema.net if self.ema is not None else unwrap(self.models.G)

    def _export_best(self, path: Path, row: dict) -> None:
        export_network(self.export_G(), self.cfg, path,
                       extra={"variant": self.variant, "step": self.step, "val": row})

    def fit(self, stop_after: int | None = None) -> dict:
        """Train up to ``cfg.train.steps``. ``stop_after``: stop right after that global step as if
        the process were killed (no final checkpoint, no export) -- for testing ``resume``."""
        from tqdm.auto import tqdm
        t = self.cfg.train
        total = t.steps
        if self.is_main:
            self.log.open(self.step, {"config": self.cfg.to_dict(), "variant": self.variant,
                                      "world_size": self.world})
        check_every = 1 if not self.cuda else max(1, t.log_every)
        bar = tqdm(total=total, initial=self.step, disable=not (self.progress and self.is_main),
                   unit="step", dynamic_ncols=True, desc=f"train ({self.cfg.name} preset, variant {self.variant})")
        last_t, last_step = time.perf_counter(), self.step
        row: dict = {}
        if self.step == 0:
            self.save_sample()
        try:
            while self.step < total:
                self.sampler.set_position(self.epoch, self.batch_in_epoch * t.batch_size)
                self.loader_gen.manual_seed(self.cfg.seed * 1_000_003 + self.epoch)
                finished_epoch = True
                for batch in prefetched(self.loader, enabled=t.num_workers == 0):
                    batch = self._with_real_flow(self._to_device(batch))
                    for k, o in self.opts.items():
                        for g in o.param_groups:
                            g["lr"] = self.base_lr[k] * lr_factor(t, self.step)
                    step_cfg = self.warm_cfg if self.step < t.gan_start else self.cfg
                    logs = train_step(self.step_models, self.opts, batch, step_cfg,
                                      amp_dtype=self.amp_dtype, scaler=self.scaler, sync=False)
                    logs = {k: logs.get(k, self._zero) for k in self.keys}     # warm-up: no D terms
                    if self.ema is not None:
                        self.ema.update(unwrap(self.models.G), self.step)
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
                    if self.validator is not None and self.is_main and (
                            self.step % t.val_every == 0 or self.step == total):
                        self.validator(self.export_G(), self.step, self._export_best, clock=self.clock)
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
            self.log.close()
        if self._last_good is None or self._last_good[1] != self.step:
            self.save_checkpoint()
        return self.finish()

    def finish(self) -> dict:
        """Check the ranks agree, export the generator, write final.json."""
        d = current_group()
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
            G = self.export_G()
            extra = {"variant": self.variant, "step": self.step, "ema": self.cfg.train.ema,
                     "best": self.validator.best if self.validator is not None else None}
            name = "generator" if isinstance(G, LipGenerator) else type(G).__name__
            path = export_network(G, self.cfg, self.out / f"{name}.safetensors", extra=extra)
            result["generator"] = str(path)
            atomic_write(self.out / "final.json",
                         lambda tmp: Path(tmp).write_text(json.dumps(result, indent=2)))
        return result

    def close(self) -> None:
        d = current_group()
        if d is not None and self._owns_pg:
            d.destroy_process_group()


def train_baseline(cfg: Config, dataset, out_dir, **trainer_kwargs) -> dict:
    """Train ``baselines.Speech2VidBaseline`` with L1 only (``cfg`` with the "l1" variant's loss)."""
    trainer = Trainer(make_config(cfg, variant="l1"), dataset, out_dir,
                      generator=Speech2VidBaseline(cfg.model), **trainer_kwargs)
    try:
        return trainer.fit()
    finally:
        trainer.close()
