"""Audio-identity fusion (the paper's fusion figure).

f_s (B, C, T, F) is the speech feature: one F-vector per output frame. f_p (B, C, H, W) is the
identity feature of the single lip image. With H = W = F:

* f_s is replicated along a new last axis: (B, C, T, F) -> (B, C, T, F, F), i.e. frame t's audio
  vector is copied into every column of an F x F plane;
* f_p is tiled over time: (B, C, H, W) -> (B, C, T, H, W), the same identity plane at every frame;
* both are concatenated on channels -> (B, 2C, T, F, F), which the 3-D decoder turns into video.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fuse(f_s: torch.Tensor, f_p: torch.Tensor) -> torch.Tensor:
    B, C, T, F = f_s.shape
    if f_p.dim() != 4 or f_p.shape[0] != B or f_p.shape[2:] != (F, F):
        raise ValueError(f"fuse needs f_p of shape (B, C', {F}, {F}) to match f_s {tuple(f_s.shape)}, "
                         f"got {tuple(f_p.shape)}")
    s = f_s.unsqueeze(-1).expand(B, C, T, F, F)                    # (B, C, T, F, F)
    p = f_p.unsqueeze(2).expand(B, f_p.shape[1], T, F, F)          # (B, C', T, H, W)
    return torch.cat([s, p], dim=1)                                # (B, C + C', T, F, F)


def fused_conv3d(f_s: torch.Tensor, f_p: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv3d(fuse(f_s, f_p), weight, padding=1)`` (k3, stride 1, no bias) without building the
    (B, 2C, T, F, F) fused tensor: the same sum of products, regrouped.

    The f_s half is constant along the last axis, so its 3-D convolution is a 2-D convolution of
    f_s over (t, h) with the kernel summed over its column taps -- all 3 taps in interior columns,
    2 in the first and last column (the third tap falls on the zero padding). Likewise the f_p half
    is constant over time: a 2-D convolution of f_p over (h, w) with the kernel summed over its
    time taps (2 at the first and last frame). About 30x fewer multiply-adds, same gradients.
    f_s (B, C, T, F), f_p (B, C', F, F), weight (Co, C + C', 3, 3, 3) -> (B, Co, T, F, F)."""
    B, C, T, Fq = f_s.shape
    Co = weight.shape[0]
    ws, wp = weight[:, :C], weight[:, C:]
    # kernels for interior / first / last column (s) and interior / first / last frame (p)
    ks = torch.cat([ws.sum(4), ws[..., 1:].sum(4), ws[..., :2].sum(4)])           # (3Co, C, 3, 3)
    kp = torch.cat([wp.sum(2), wp[:, :, 1:].sum(2), wp[:, :, :2].sum(2)])         # (3Co, C', 3, 3)
    s = F.conv2d(f_s, ks, padding=1).view(B, 3, Co, T, Fq, 1)                     # over (t, h)
    p = F.conv2d(f_p, kp, padding=1).view(B, 3, Co, 1, Fq, Fq)                    # over (h, w)
    s = torch.cat([s[:, 1], s[:, 0].expand(-1, -1, -1, -1, Fq - 2), s[:, 2]], -1)  # (B, Co, T, F, F)
    p = torch.cat([p[:, 1], p[:, 0].expand(-1, -1, T - 2, -1, -1), p[:, 2]], 2)    # (B, Co, T, F, F)
    return s + p
