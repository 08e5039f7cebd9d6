"""3-D convolutional decoder: fused features (B, 2C, T, 16, 16) -> video (B, 3, T, 64, 64) in [-1, 1].

As in the authors' code: Conv3d compression, residual blocks whose kernels are spatial only
(1, 3, 3), two transposed 3-D convs that upsample space by 2 (time kept), Conv3d k7 + tanh
(the kernel is ``ModelConfig.out_kernel``: 7 as the authors, 3 in the CPU ``tiny`` preset).
Two switches of ``ModelConfig`` go beyond the paper: ``upsample="nearest"`` and
``identity_skips`` (the image encoder's features concatenated after each upsampling, U-Net style).

``forward`` is the paper's form and the reference. ``model/fast_forms.py`` computes the same sums
regrouped (the generator's ``fast_forms`` switch); ``infer/fast.py`` folds these layers for
inference through ``ResBlock3d.layers()`` and the stages ``compress``, ``res``, ``up``, ``out``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .blocks import conv_bn_relu


class ResBlock3d(nn.Module):
    """x + conv(1,3,3)-BN-ReLU-conv(1,3,3)-BN(x): mixes space within each frame."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(c, c, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(c), nn.ReLU(inplace=True),
            nn.Conv3d(c, c, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(c))

    def forward(self, x):                      # (B, c, T, H, W) -> same
        return x + self.body(x)

    def layers(self) -> list[nn.Module]:
        """The layers of the residual branch, in order (forward adds its input to their output)."""
        return list(self.body)


class NearestUpConv(nn.Sequential):
    """Nearest-neighbour x2 in space, then Conv3d (1, 3, 3) with padding 1 (Odena et al. 2016:
    no checkerboard artefacts). (B, C, T, H, W) -> (B, C', T, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Upsample(scale_factor=(1, 2, 2), mode="nearest"),
                         nn.Conv3d(c_in, c_out, (1, 3, 3), 1, (0, 1, 1), bias=False))


def up3d(c_in: int, c_out: int, mode: str = "transpose") -> nn.Sequential:
    """(T, H, W) -> (T, 2H, 2W). "transpose": ConvTranspose3d k3 stride (1, 2, 2) (the authors');
    "nearest": nearest-neighbour x2 in space, then Conv3d (1, 3, 3)."""
    if mode == "transpose":
        conv = nn.ConvTranspose3d(c_in, c_out, 3, (1, 2, 2), 1, output_padding=(0, 1, 1), bias=False)
    elif mode == "nearest":
        conv = NearestUpConv(c_in, c_out)
    else:
        raise ValueError(f"unknown upsample mode {mode!r}: 'transpose' or 'nearest'")
    return nn.Sequential(conv, nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


def tile_skip(x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Identity skip (not in the paper): x (B, c, T, H, W) and the image encoder's e (B, c', H, W)
    tiled over time -> (B, c + c', T, H, W)."""
    return torch.cat([x, e.unsqueeze(2).expand(-1, -1, x.shape[2], -1, -1)], 1)


class VideoDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.width
        self.compress = conv_bn_relu(16 * w, 8 * w, 3, 1, 1, dims=3)           # (B, 8w, T, 16, 16)
        self.res = nn.Sequential(*[ResBlock3d(8 * w) for _ in range(cfg.n_res_blocks)])
        sk = 2 if cfg.identity_skips else 1                                     # skip: channels x2
        self.skips = cfg.identity_skips
        self.up = nn.ModuleList([up3d(8 * w, 4 * w, cfg.upsample),              # (B, 4w, T, 32, 32)
                                 up3d(4 * w * sk, 2 * w, cfg.upsample)])        # (B, 2w, T, 64, 64)
        k = cfg.out_kernel
        self.out = nn.Sequential(nn.Conv3d(2 * w * sk, 3, k, 1, k // 2), nn.Tanh())  # (B, 3, T, 64, 64)

    def forward(self, fused: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        """fused (B, 16w, T, 16, 16); ``skips`` (with ``identity_skips``): the image encoder's
        [(B, 4w, 32, 32), (B, 2w, 64, 64)] features, tiled over time and concatenated."""
        x = self.res(self.compress(fused))                  # (B, 8w, T, 16, 16)
        for i, up in enumerate(self.up):
            x = up(x)                                       # (B, 4w, T, 32, 32), (B, 2w, T, 64, 64)
            if self.skips:
                x = tile_skip(x, skips[i])                  # channels x2
        return self.out(x)                                  # (B, 3, T, 64, 64)
