"""Two layers of the generator computed faster: the same sums as the paper's forms in
``fusion.py`` and ``decoder.py``, regrouped. ONE switch chooses them, ``LipGenerator.fast_forms``,
on by default for CPU tensors, where ``benchmarks/generator_forms.py`` measures them faster
(forward + backward of the ``cpu`` preset's generator, batch 8, one thread: 1.31x, of which the
upsampling 1.25x and the fusion conv 1.06x); on a GPU they are not measured, so the paper's forms
run there. ``tests/test_model.py`` holds both forms equal, outputs and gradients, on random weights
and on the shipped ``full`` model. ``infer/fast.py`` reuses ``fusion_kernels`` for its
inference-only fast path.

* ``fused_conv3d``: the decoder's first Conv3d applied to ``fuse(f_s, f_p)``, without the
  (B, 2C, T, F, F) fused tensor;
* ``nearest_up_conv3d``: nearest x2 then Conv3d (1, 3, 3), without the (2H, 2W) upsampled tensor;
* ``decode(decoder, f_s, f_p, skips)``: ``decoder(fuse(f_s, f_p), skips)`` with both.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .decoder import NearestUpConv, VideoDecoder, tile_skip


def fusion_kernels(weight: torch.Tensor, c_s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A k3 Conv3d weight (Co, C + C', 3, 3, 3) over ``fuse(f_s, f_p)`` -> the 2-D kernels
    (3Co, C, 3, 3) over f_s's (t, h) and (3Co, C', 3, 3) over f_p's (h, w).

    The f_s half of the fused tensor is constant along the last axis, so its 3-D convolution is a
    2-D convolution over (t, h) with the kernel summed over its column taps: all 3 in interior
    columns, 2 in the first and last column (the third tap falls on the zero padding). Likewise the
    f_p half is constant over time: a 2-D convolution over (h, w) with the kernel summed over its
    time taps (2 at the first and last frame). Order of the 3 blocks: interior, first, last."""
    ws, wp = weight[:, :c_s], weight[:, c_s:]
    ks = torch.cat([ws.sum(4), ws[..., 1:].sum(4), ws[..., :2].sum(4)])           # (3Co, C, 3, 3)
    kp = torch.cat([wp.sum(2), wp[:, :, 1:].sum(2), wp[:, :, :2].sum(2)])         # (3Co, C', 3, 3)
    return ks, kp


def fused_conv3d(f_s: torch.Tensor, f_p: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv3d(fuse(f_s, f_p), weight, padding=1)`` (k3, stride 1, no bias), 2TF/(T+F)x fewer
    multiply-adds. f_s (B, C, T, F), f_p (B, C', F, F), weight (Co, C + C', 3, 3, 3) -> (B, Co, T, F, F)."""
    B, C, T, Fq = f_s.shape
    Co = weight.shape[0]
    ks, kp = fusion_kernels(weight, C)
    s = F.conv2d(f_s, ks, padding=1).view(B, 3, Co, T, Fq, 1)                     # over (t, h)
    p = F.conv2d(f_p, kp, padding=1).view(B, 3, Co, 1, Fq, Fq)                    # over (h, w)
    s = torch.cat([s[:, 1], s[:, 0].expand(-1, -1, -1, -1, Fq - 2), s[:, 2]], -1)  # (B, Co, T, F, F)
    p = torch.cat([p[:, 1], p[:, 0].expand(-1, -1, T - 2, -1, -1), p[:, 2]], 2)    # (B, Co, T, F, F)
    return s + p


def nearest_up_conv3d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``NearestUpConv``: conv3d(nearest x2 (x), weight, padding (0, 1, 1)) with weight
    (Co, C, 1, 3, 3). Every output pixel (2i + a, 2j + b) sees only a 2 x 2 block of input pixels,
    so the conv splits into four 2 x 2 convs of the input, one per phase (a, b), whose taps are the
    3 x 3 kernel's taps summed where they fall on the same input pixel; interleaved. 16
    multiply-adds per output pixel instead of 36. (B, C, T, H, W) -> (B, Co, T, 2H, 2W)."""
    w = weight[:, :, 0]                                               # (Co, C, 3, 3)
    Co = w.shape[0]
    rows = [torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),    # a = 0: input rows i-1, i
            torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2)]    # a = 1: input rows i, i+1
    k = []
    for r in rows:                                                    # r (Co, C, 2, 3)
        k += [torch.stack([r[..., 0], r[..., 1] + r[..., 2]], 3),     # b = 0: cols j-1, j
              torch.stack([r[..., 0] + r[..., 1], r[..., 2]], 3)]     # b = 1: cols j, j+1
    B, _, T, H, W = x.shape
    y = F.conv3d(F.pad(x, (1, 1, 1, 1)), torch.cat(k).unsqueeze(2))   # (B, 4Co, T, H+1, W+1)
    y = y.view(B, 2, 2, Co, T, H + 1, W + 1)
    ph = [[y[:, a, b, :, :, a:a + H, b:b + W] for b in (0, 1)] for a in (0, 1)]
    out = torch.stack([torch.stack(p, -1) for p in ph], -3)          # (B, Co, T, H, 2, W, 2)
    return out.reshape(B, Co, T, 2 * H, 2 * W)


def decode(dec: VideoDecoder, f_s: torch.Tensor, f_p: torch.Tensor,
           skips: list[torch.Tensor] | None = None) -> torch.Tensor:
    """``dec(fuse(f_s, f_p), skips)`` (``VideoDecoder.forward``, step for step) with its first conv
    by ``fused_conv3d`` and its nearest upsampling convs by ``nearest_up_conv3d``."""
    conv, bn_relu = dec.compress[0], dec.compress[1:]
    x = dec.res(bn_relu(fused_conv3d(f_s, f_p, conv.weight)))        # (B, 8w, T, 16, 16)
    for i, (up, bn, relu) in enumerate(dec.up):
        x = relu(bn(nearest_up_conv3d(x, up[1].weight) if isinstance(up, NearestUpConv) else up(x)))
        if dec.skips:
            x = tile_skip(x, skips[i])
    return dec.out(x)                                                 # (B, 3, T, 64, 64)
