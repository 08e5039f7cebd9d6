"""The two encoders of the generator: speech -> f_s and one lip image -> f_p."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .blocks import conv_bn_relu


def audio_trunk(w: int) -> nn.Sequential:
    """First four audio convs, shared in design by G's audio encoder and D's audio branch.
    (B, 1, 64, 128) -> (B, 8w, 16, 32): time 64 -> 16, mel 128 -> 32."""
    return nn.Sequential(
        conv_bn_relu(1, w, 3, 1, 1),           # (B, w,  64, 128)
        conv_bn_relu(w, 2 * w, 3, 2, 1),       # (B, 2w, 32, 64)
        conv_bn_relu(2 * w, 4 * w, 3, 1, 1),   # (B, 4w, 32, 64)
        conv_bn_relu(4 * w, 8 * w, 3, 2, 1),   # (B, 8w, 16, 32)
    )


class AudioEncoder(nn.Module):
    """LMS (B, 1, 4T, 128) -> f_s (B, C, T, F) with C = 8w and T = F = 16 (paper size)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.width
        self.trunk = audio_trunk(w)
        self.last = conv_bn_relu(8 * w, 8 * w, 3, (1, 2), 1)   # mel 32 -> 16, time kept

    def forward(self, lms: torch.Tensor) -> torch.Tensor:   # (B, 1, 64, 128)
        return self.last(self.trunk(lms))                    # (B, C, T=16, F=16)


class ImageEncoder(nn.Module):
    """Lip image (B, 3, 64, 64) in [-1, 1] -> f_p (B, C, H, W) with C = 8w, H = W = 16."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.width
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3),
            conv_bn_relu(3, 2 * w, 7, 1, 0),       # (B, 2w, 64, 64)
            conv_bn_relu(2 * w, 4 * w, 3, 2, 1),   # (B, 4w, 32, 32)
            conv_bn_relu(4 * w, 8 * w, 3, 2, 1),   # (B, 8w, 16, 16)
        )

    def forward(self, lip: torch.Tensor, return_skips: bool = False):
        """-> f_p (B, 8w, 16, 16); with ``return_skips`` also [(B, 4w, 32, 32), (B, 2w, 64, 64)]."""
        if not return_skips:
            return self.net(lip)
        e1 = self.net[1](self.net[0](lip))       # (B, 2w, 64, 64)
        e2 = self.net[2](e1)                     # (B, 4w, 32, 32)
        return self.net[3](e2), [e2, e1]
