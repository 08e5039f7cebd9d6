"""3-D convolutional decoder: fused features (B, 2C, T, 16, 16) -> video (B, 3, T, 64, 64) in [-1, 1].

As in the authors' code: Conv3d compression, residual blocks whose kernels are spatial only
(1, 3, 3), two transposed 3-D convs that upsample space by 2 (time kept), Conv3d k7 + tanh
(the kernel is ``ModelConfig.out_kernel``: 7 as the authors, 3 in the CPU ``tiny`` preset).
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

    def forward(self, x):
        return x + self.body(x)


def up3d(c_in: int, c_out: int) -> nn.Sequential:
    """ConvTranspose3d k3 stride (1, 2, 2): (T, H, W) -> (T, 2H, 2W)."""
    return nn.Sequential(
        nn.ConvTranspose3d(c_in, c_out, 3, (1, 2, 2), 1, output_padding=(0, 1, 1), bias=False),
        nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


class VideoDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.width
        self.compress = conv_bn_relu(16 * w, 8 * w, 3, 1, 1, dims=3)           # (B, 8w, T, 16, 16)
        self.res = nn.Sequential(*[ResBlock3d(8 * w) for _ in range(cfg.n_res_blocks)])
        self.up = nn.Sequential(up3d(8 * w, 4 * w), up3d(4 * w, 2 * w))       # (B, 2w, T, 64, 64)
        k = cfg.out_kernel
        self.out = nn.Sequential(nn.Conv3d(2 * w, 3, k, 1, k // 2), nn.Tanh())  # (B, 3, T, 64, 64)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        return self.out(self.up(self.res(self.compress(fused))))
