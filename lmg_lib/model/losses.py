"""Losses as pure functions of tensors (the training loop wires them to the networks).

Generator:  L = w_corr L_corr + w_pix L_pix + w_perc L_perc + w_gen L_gen  (paper: 1, 0.5, 1, 1)
Discriminator (three streams):
    L_D = -log D(s, v) - lambda_p log(1 - D(s, v_hat)) - lambda_u log(1 - D(s, v_mismatch))
with lambda_p = lambda_u = 0.5. D returns logits; log D = logsigmoid(logit).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import LOSS_TERMS, LossConfig


def pixel_loss(fake: torch.Tensor, real: torch.Tensor, mouth: torch.Tensor | None = None,
               w_mouth: float = 0.0) -> torch.Tensor:
    """L_pix = mean |v - v_hat| (L1; the paper leaves the norm open, the authors' code uses L1).
    With ``w_mouth`` > 0 (not in the paper) ``+ w_mouth * mean |v - v_hat|`` over the mouth box
    (``mouth``: (B, 1, T, H, W) 0/1 mask, see ``mouth_mask``): the lips are ~10 % of the pixels but
    all of the speech."""
    err = (fake - real).abs()
    loss = err.mean()
    if w_mouth and mouth is not None:
        loss = loss + w_mouth * (err * mouth).sum() / (mouth.sum() * err.shape[1]).clamp_min(1)
    return loss


def mouth_mask(landmarks: torch.Tensor, size: int, margin: float = 3.0) -> torch.Tensor:
    """(B, T, 20, 2) mouth landmarks (x, y px) -> (B, 1, T, size, size) 0/1 mask of their bounding
    box grown by ``margin`` pixels."""
    lo = landmarks.amin(2) - margin                                  # (B, T, 2)
    hi = landmarks.amax(2) + margin
    r = torch.arange(size, dtype=landmarks.dtype, device=landmarks.device)
    inside = lambda k: (r >= lo[..., k, None]) & (r <= hi[..., k, None])     # (B, T, size)
    return (inside(1)[..., :, None] & inside(0)[..., None, :]).unsqueeze(1).to(landmarks.dtype)


def perceptual_loss(feats_fake: list[torch.Tensor], feats_real: list[torch.Tensor]) -> torch.Tensor:
    """L_perc = mean over layers of || phi(v) - phi(v_hat) ||^2 (mean squared error per layer).
    Real features are treated as constants (no gradient into the feature network from them)."""
    if len(feats_fake) != len(feats_real) or not feats_fake:
        raise ValueError("perceptual_loss needs the same, non-zero number of feature maps")
    return torch.stack([F.mse_loss(f, r.detach()) for f, r in zip(feats_fake, feats_real)]).mean()


def generator_adversarial_loss(logit_fake: torch.Tensor) -> torch.Tensor:
    """L_gen = -log D(s, v_hat) (non-saturating)."""
    return F.binary_cross_entropy_with_logits(logit_fake, torch.ones_like(logit_fake))


def discriminator_loss(logit_real, logit_fake, logit_mismatch, lambda_p: float = 0.5,
                       lambda_u: float = 0.5) -> tuple[torch.Tensor, dict]:
    """Three-stream L_D; returns the total and its terms (for logging). ``logit_mismatch=None``
    with ``lambda_u=0`` is the two-stream discriminator (ablations (g), (h))."""
    real = F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real))
    fake = F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
    total = real + lambda_p * fake
    logs = {"d_real": real.detach(), "d_fake": fake.detach()}
    if logit_mismatch is None:
        if lambda_u:
            raise ValueError("the mismatched stream is weighted (lambda_u > 0) but was not given")
        return total, logs
    mism = F.binary_cross_entropy_with_logits(logit_mismatch, torch.zeros_like(logit_mismatch))
    logs["d_mismatch"] = mism.detach()
    return total + lambda_u * mism, logs


def frame_differences(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> v_t - v_{t-1}, same shape; the first frame's difference is zero so that
    D keeps its 16 time steps against the 16 audio steps (ablation (i))."""
    d = video[:, :, 1:] - video[:, :, :-1]
    return torch.cat([torch.zeros_like(video[:, :, :1]), d], dim=2)


def mismatched(x: torch.Tensor) -> torch.Tensor:
    """Pair every clip with ANOTHER clip of the batch (a cyclic shift, never itself).
    Fallback for the third stream when the data gives no mismatched video."""
    if x.shape[0] < 2:
        raise ValueError("a mismatched pair needs a batch of at least 2 clips")
    return x.roll(1, dims=0)


def total_generator_loss(terms: dict[str, torch.Tensor], cfg: LossConfig) -> tuple[torch.Tensor, dict]:
    """Weighted sum of the terms switched on, in the order of ``config.LOSS_TERMS``. ``terms`` maps
    each term's name to its scalar loss (a term switched off may be missing). Returns (total,
    the unweighted terms for logging)."""
    total, logged = None, {}
    for term in LOSS_TERMS:
        if not term.on(cfg):
            continue
        if term.name not in terms:
            raise KeyError(f"loss term {term.name!r} is switched on in LossConfig but was not computed")
        part = term.weight(cfg) * terms[term.name]
        logged[term.name] = terms[term.name].detach()
        total = part if total is None else total + part
    if total is None:
        raise ValueError("every loss term is disabled: enable at least one (e.g. use_pix=True)")
    return total, logged
