"""Audio-identity fusion (the paper's fusion figure).

f_s (B, C, T, F) is the speech feature: one F-vector per output frame. f_p (B, C, H, W) is the
identity feature of the single lip image. With H = W = F:

* f_s is replicated along a new last axis: (B, C, T, F) -> (B, C, T, F, F), i.e. frame t's audio
  vector is copied into every column of an F x F plane;
* f_p is tiled over time: (B, C, H, W) -> (B, C, T, H, W), the same identity plane at every frame;
* both are concatenated on channels -> (B, 2C, T, F, F), which the 3-D decoder turns into video.

(``model/fast_forms.py`` computes the decoder's first convolution of this tensor without building
it, the same sums regrouped.)
"""
from __future__ import annotations

import torch


def fuse(f_s: torch.Tensor, f_p: torch.Tensor) -> torch.Tensor:
    B, C, T, F = f_s.shape
    if f_p.dim() != 4 or f_p.shape[0] != B or f_p.shape[2:] != (F, F):
        raise ValueError(f"fuse needs f_p of shape (B, C', {F}, {F}) to match f_s {tuple(f_s.shape)}, "
                         f"got {tuple(f_p.shape)}")
    s = f_s.unsqueeze(-1).expand(B, C, T, F, F)                    # (B, C, T, F, F)
    p = f_p.unsqueeze(2).expand(B, f_p.shape[1], T, F, F)          # (B, C', T, H, W)
    return torch.cat([s, p], dim=1)                                # (B, C + C', T, F, F)
