"""The paper's training algorithm: the networks, their optimisers and one alternating D / G step.

    1. D step:  L_D = -log D(s, v) - 0.5 log(1 - D(s, v_hat.detach())) - 0.5 log(1 - D(s, v_mismatch))
    2. G step:  L = w_corr L_corr + w_pix L_pix + w_perc L_perc + w_gen L_gen, back-propagated once,
                stepping G and the correlation encoders (phi_s, phi_v) together

as the authors' trainer does it, with their optimisers (Adam; ``TrainConfig``). A batch is the
``LipClipDataset`` dict: ``lms`` (B, 1, 64, 128), ``ref`` (B, 3, 64, 64), ``video`` and optionally
``mismatch`` (B, 3, 16, 64, 64), ``landmarks`` (B, 16, 20, 2) (for ``w_mouth``) and ``flow_real``.
The loss terms are listed once in ``config.LOSS_TERMS`` (name, weight and switch, whether it needs
D, its ablation row); each has its function here (``TERM_FUNCTIONS``). Everything a long run needs
around this step (data order, checkpoints and resume, logging, AMP, DDP) is ``loop.Trainer``; the
ablation variants are ``config.ABLATIONS``.
"""
from __future__ import annotations

import random
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..config import LOSS_TERMS, Config
from ..model.correlation import CorrelationNet, correlation_loss
from ..model.discriminator import ThreeStreamDiscriminator
from ..model.generator import LipGenerator
from ..model.geometry import check_geometry
from ..model.losses import (discriminator_loss, frame_differences, generator_adversarial_loss, mismatched,
                            mouth_mask, perceptual_loss, pixel_loss, total_generator_loss)
from ..model.perceptual import LipAutoencoder


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
            raise ValueError("LossConfig.perceptual='autoencoder' needs a LipAutoencoder trained to "
                             "reconstruct lip frames (autoencoder=...): train one with `lmg "
                             "pretrain-autoencoder` and pass it with `lmg train --autoencoder FILE`")
        autoencoder = autoencoder.freeze()
    elif autoencoder is not None:           # given but unused: say so rather than train without it
        raise ValueError("an autoencoder was given but L_perc does not use it (loss.perceptual="
                         f"{cfg.loss.perceptual!r}, loss.use_perc={cfg.loss.use_perc}): add --set "
                         "loss.perceptual=autoencoder, with a variant that has L_perc")
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
    """Whether a loss term switched on reads D (then D is trained too)."""
    return any(t.on(cfg.loss) and t.needs_d(cfg.loss) for t in LOSS_TERMS)


def d_view(video: torch.Tensor, cfg: Config) -> torch.Tensor:
    """What D sees of a video: its frames (paper) or their time differences (ablation (i))."""
    return frame_differences(video) if cfg.loss.d_input == "differences" else video


# ---------------------------------------------------------------------- the generator's loss terms
@dataclass
class TermInputs:
    """What a loss term's function reads: the networks, the batch, the configuration, G's output
    v_hat (``fake``) with the audio features f_s, and D's pass on v_hat (logit, features), made
    once before the first term that needs it (``LossTerm.needs_d``) and shared by the others."""
    models: Models
    batch: dict
    cfg: Config
    fake: torch.Tensor
    f_s: torch.Tensor
    d_fake: tuple[torch.Tensor, list[torch.Tensor]] | None = None


def pixel_term(x: TermInputs) -> torch.Tensor:
    """L_pix: L1 on the frames, plus ``w_mouth`` on the mouth box when the batch has landmarks."""
    L, real = x.cfg.loss, x.batch["video"]
    mouth = mouth_mask(x.batch["landmarks"], real.shape[-1]) if L.w_mouth and "landmarks" in x.batch else None
    return pixel_loss(x.fake, real, mouth, L.w_mouth)


def adversarial_term(x: TermInputs) -> torch.Tensor:
    """L_gen = -log D(s, v_hat)."""
    return generator_adversarial_loss(x.d_fake[0])


def perceptual_term(x: TermInputs) -> torch.Tensor:
    """L_perc: the distance of v_hat's and v's features in D (paper) or in the frozen lip
    autoencoder (authors' code, ``LossConfig.perceptual``)."""
    L, lms, real, fake = x.cfg.loss, x.batch["lms"], x.batch["video"], x.fake
    if L.perceptual == "autoencoder":
        ae = x.models.autoencoder
        with torch.no_grad():
            feats_real = ae.video_features(real)
        return perceptual_loss(ae.video_features(fake), feats_real)
    if L.perc_batch == "joint":     # one pass: real and generated share BN statistics
        B = fake.shape[0]
        _, feats = x.models.D(torch.cat([lms, lms]), d_view(torch.cat([real, fake]), x.cfg))
        feats_real, feats_fake = [f[:B] for f in feats], [f[B:] for f in feats]
    else:
        feats_fake = x.d_fake[1]
        with torch.no_grad():
            _, feats_real = x.models.D(lms, d_view(real, x.cfg))
    return perceptual_loss(feats_fake, feats_real)


def correlation_term(x: TermInputs) -> torch.Tensor:
    """L_corr between f_s and the optical flow of v_hat, mixed with the real video's flow
    (``corr_real_weight``: the real half trains phi_s / phi_v on true audio-visual pairs)."""
    L, models, real = x.cfg.loss, x.models, x.batch["video"]
    # flow and correlation in fp32 even under autocast: bf16 quantises small lip motion
    with torch.autocast(device_type=x.fake.device.type, enabled=False):
        a, b_fake = models.corr(x.f_s.float(), x.fake.float(), L.corr_derivative)
        loss = correlation_loss(a, b_fake, L.corr_negative_weight)
        if L.corr_real_weight > 0:
            inner = unwrap(models.corr)          # DDP / compiled wrappers only wrap forward()
            flow_real = x.batch.get("flow_real")  # the Trainer's cache of the real videos' flow
            flow_real = inner.flow(real.float()) if flow_real is None else flow_real.float()
            loss = (1 - L.corr_real_weight) * loss + L.corr_real_weight * correlation_loss(
                a, inner.phi_v(flow_real), L.corr_negative_weight)
    return loss


# Each term of config.LOSS_TERMS and its function, in the order the G step computes them. The order
# builds the autograd graph, which fixes the order in which the backward pass sums gradients: a new
# term goes last, so that the runs of the other terms stay bit-identical.
TERM_FUNCTIONS = {"pix": pixel_term, "gen": adversarial_term, "perc": perceptual_term, "corr": correlation_term}
_TERM = {t.name: t for t in LOSS_TERMS}
if set(TERM_FUNCTIONS) != set(_TERM):
    raise ImportError(f"train.step.TERM_FUNCTIONS {sorted(TERM_FUNCTIONS)} and config.LOSS_TERMS "
                      f"{sorted(_TERM)} must name the same loss terms")


def generator_terms(models: Models, batch: dict, cfg: Config, fake: torch.Tensor,
                    f_s: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every loss term switched on, on one batch (differentiable w.r.t. G and phi)."""
    x = TermInputs(models, batch, cfg, fake, f_s)
    terms: dict[str, torch.Tensor] = {}
    for name, fn in TERM_FUNCTIONS.items():
        term = _TERM[name]
        if not term.on(cfg.loss):
            continue
        if term.needs_d(cfg.loss) and x.d_fake is None:
            x.d_fake = models.D(batch["lms"], d_view(fake, cfg))
        terms[name] = fn(x)
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
        opts["D"].zero_grad(set_to_none=True)
        with autocast:
            logit_real = models.D(lms, d_view(real, cfg))[0]
            logit_fake = models.D(lms, d_view(fake.detach(), cfg))[0]
            logit_mism = None
            if cfg.loss.lambda_u:           # the third stream: the speech s with a real video of another clip (v_u)
                mism = batch.get("mismatch")
                mism = mismatched(real) if mism is None else mism
                logit_mism = models.D(lms, d_view(mism, cfg))[0]
            ld, dlogs = discriminator_loss(logit_real, logit_fake, logit_mism, cfg.loss.lambda_p,
                                           cfg.loss.lambda_u)
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
