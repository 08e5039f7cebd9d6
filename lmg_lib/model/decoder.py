"""3-D convolutional decoder: fused features (B, 2C, T, 16, 16) -> video (B, 3, T, 64, 64) in [-1, 1].

As in the authors' code: Conv3d compression, residual blocks whose kernels are spatial only
(1, 3, 3), two transposed 3-D convs that upsample space by 2 (time kept), Conv3d k7 + tanh
(the kernel is ``ModelConfig.out_kernel``: 7 as the authors, 3 in the CPU ``tiny`` preset).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .blocks import conv_bn_relu
from .fusion import fused_conv3d


class ResBlock3d(nn.Module):
    """x + conv(1,3,3)-BN-ReLU-conv(1,3,3)-BN(x): mixes space within each frame."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(c, c, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(c), nn.ReLU(inplace=True),
            nn.Conv3d(c, c, (1, 3, 3), 1, (0, 1, 1), bias=False), nn.BatchNorm3d(c))

    def forward(self, x):
        return x + self.body(x)


class NearestUpConv(nn.Sequential):
    """Nearest-neighbour x2 in space, then Conv3d (1, 3, 3), padding 1 -- computed without the
    upsampled tensor: every output pixel (2i + a, 2j + b) sees only a 2 x 2 block of input pixels,
    so the conv splits into four 2 x 2 convs of the input (one per phase (a, b), their taps the
    3 x 3 kernel's taps summed where they fall on the same input pixel), interleaved. Same sums,
    regrouped; 16 multiply-adds per output pixel instead of 36 and no (2H, 2W) intermediate.
    (The children are the plain modules, so the weights are stored as before.)"""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Upsample(scale_factor=(1, 2, 2), mode="nearest"),
                         nn.Conv3d(c_in, c_out, (1, 3, 3), 1, (0, 1, 1), bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (B, C, T, H, W)
        w = self[1].weight[:, :, 0]                               # (Co, C, 3, 3)
        Co = w.shape[0]
        rows = [torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),    # a = 0: input rows i-1, i
                torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2)]    # a = 1: input rows i, i+1
        k = []
        for r in rows:                                            # r (Co, C, 2, 3)
            k += [torch.stack([r[..., 0], r[..., 1] + r[..., 2]], 3),     # b = 0: cols j-1, j
                  torch.stack([r[..., 0] + r[..., 1], r[..., 2]], 3)]     # b = 1: cols j, j+1
        B, _, T, H, W = x.shape
        y = F.conv3d(F.pad(x, (1, 1, 1, 1)), torch.cat(k).unsqueeze(2))   # (B, 4Co, T, H+1, W+1)
        y = y.view(B, 2, 2, Co, T, H + 1, W + 1)
        ph = [[y[:, a, b, :, :, a:a + H, b:b + W] for b in (0, 1)] for a in (0, 1)]
        out = torch.stack([torch.stack(p, -1) for p in ph], -3)  # (B, Co, T, H, 2, W, 2)
        return out.reshape(B, Co, T, 2 * H, 2 * W)


def up3d(c_in: int, c_out: int, mode: str = "transpose") -> nn.Sequential:
    """(T, H, W) -> (T, 2H, 2W). "transpose": ConvTranspose3d k3 stride (1, 2, 2) (the authors');
    "nearest": nearest-neighbour x2 in space, then Conv3d (1, 3, 3) (no checkerboard artefacts)."""
    if mode == "transpose":
        conv = nn.ConvTranspose3d(c_in, c_out, 3, (1, 2, 2), 1, output_padding=(0, 1, 1), bias=False)
    elif mode == "nearest":
        conv = NearestUpConv(c_in, c_out)
    else:
        raise ValueError(f"unknown upsample mode {mode!r}: 'transpose' or 'nearest'")
    return nn.Sequential(conv, nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


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
        return self._rest(self.compress(fused), skips)

    def from_parts(self, f_s: torch.Tensor, f_p: torch.Tensor, skips=None) -> torch.Tensor:
        """``self(fuse(f_s, f_p), skips)`` with the first conv computed by ``fused_conv3d``: the
        same maths without the (B, 16w, T, 16, 16) fused tensor (~30x fewer multiply-adds there)."""
        conv, bn_relu = self.compress[0], self.compress[1:]
        return self._rest(bn_relu(fused_conv3d(f_s, f_p, conv.weight)), skips)

    def _rest(self, x: torch.Tensor, skips) -> torch.Tensor:
        x = self.res(x)
        for i, up in enumerate(self.up):
            x = up(x)                                                           # (B, c, T, 2H, 2W)
            if self.skips:
                e = skips[i]
                x = torch.cat([x, e.unsqueeze(2).expand(-1, -1, x.shape[2], -1, -1)], 1)
        return self.out(x)
