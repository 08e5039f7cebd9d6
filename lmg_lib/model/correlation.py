"""Audio-visual correlation loss: L_corr = 1 - cos(phi_s(d f_s / dt), phi_v(F(v))).

phi_s reads the temporal derivative of the audio feature f_s (how the sound CHANGES) and phi_v the
optical flow of the video (how the lips MOVE); both give one value per frame transition (T-1 = 15).
The loss asks the two 15-step curves to point the same way.

Collapse and its fix (a deviation from the authors' code, where both encoders end in ReLU and the
loss has no negatives): encoders that output the same non-negative vector for every input give
cos = 1 and L_corr = 0 without looking at the data. Here
1. the encoders end in a linear layer (no final ReLU) and the curves are centred over time before
   the cosine (a Pearson correlation), so a curve that is constant in time scores 0, not 1;
2. every clip's audio curve is also compared with the video curve of another clip in the batch, and
   any positive similarity to that negative is penalised: L = (1 - cos(a_i, b_i)) + w relu(cos(a_i, b_j)).
An input-independent pair of encoders gives the same cosine c to positives and negatives, so
L >= 1 - c + max(c, 0) >= 1, while encoders that really track the data can approach 0.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .flow import video_flow
from .geometry import check_geometry, feature_size


def _stack(convs):
    layers = []
    for i, c in enumerate(convs):
        layers.append(c)
        if i < len(convs) - 1:
            layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class AudioDerivativeEncoder(nn.Module):
    """phi_s: f_s (B, C, T, F) -> its time derivative (B, C, T-1, F) -> curve (B, T-1).

    ``derivative=False`` is the paper's ablation (f): phi_s reads f_s itself. The paper does not say
    how 16 audio steps meet 15 flow steps there; we take f_s at the later frame of each transition
    (steps 1..15), so both versions see the same time axis."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch = (cfg.feature_dim,) + tuple(cfg.phi_s_channels)
        self.net = _stack([nn.Conv2d(a, b, 3, (1, 2), 1) for a, b in zip(ch[:-1], ch[1:])])

    def forward(self, f_s: torch.Tensor, derivative: bool = True) -> torch.Tensor:
        d = f_s[:, :, 1:] - f_s[:, :, :-1] if derivative else f_s[:, :, 1:]   # (B, C, T-1, F)
        return self.net(d).mean(dim=(1, 3))            # (B, T-1)


class FlowEncoder(nn.Module):
    """phi_v: flow (B, 2, T-1, h, w) -> curve (B, T-1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch = (2,) + tuple(cfg.phi_v_channels)
        self.net = _stack([nn.Conv3d(a, b, 3, (1, 2, 2), 1) for a, b in zip(ch[:-1], ch[1:])])

    def forward(self, flow: torch.Tensor) -> torch.Tensor:
        return self.net(flow).mean(dim=(1, 3, 4))      # (B, T-1)


def centred_cosine(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Cosine of the time-centred curves (= Pearson r), (B, n) x (B, n) -> (B,). 0 if either is flat."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(eps)


def correlation_loss(a: torch.Tensor, b: torch.Tensor, negative_weight: float = 1.0) -> torch.Tensor:
    """a = phi_s(...) (B, n), b = phi_v(...) (B, n) -> scalar L_corr (see the module docstring).
    Negatives pair clip i's audio with clip i-1's video (needs B > 1; skipped for B == 1)."""
    loss = (1 - centred_cosine(a, b)).mean()
    if negative_weight and a.shape[0] > 1:
        loss = loss + negative_weight * F.relu(centred_cosine(a, b.roll(1, dims=0))).mean()
    return loss


class CorrelationNet(nn.Module):
    """phi_s, phi_v and the differentiable flow F, bundled: (f_s, video) -> (a, b) curves."""

    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        check_geometry(cfg)
        self.cfg = cfg
        self.phi_s = AudioDerivativeEncoder(cfg)
        self.phi_v = FlowEncoder(cfg)

    def flow(self, video: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        return video_flow(video, c.flow_alpha, c.flow_iters, c.flow_levels, out_size=feature_size(c))

    def forward(self, f_s: torch.Tensor, video: torch.Tensor,
                derivative: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        return self.phi_s(f_s, derivative), self.phi_v(self.flow(video))
