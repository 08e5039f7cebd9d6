"""Differentiable optical flow F(v) between consecutive frames (replaces the authors' FlowNetS).

The authors fine-tuned FlowNetS on Farneback flow of GRID lips and trained it jointly; no weights
were released. We use Horn-Schunck (1981) unrolled for a fixed number of Jacobi iterations inside a
coarse-to-fine pyramid with backward warping. Every step is a differentiable torch op, so the
gradient of L_corr reaches the generator through the flow, and nothing needs downloading.

Convention: flow[:, :, t] = (u, v) in pixels such that frame t+1 at (x + u, y + v) matches frame t at
(x, y) (OpenCV's ``calcOpticalFlowFarneback(prev=t, next=t+1)`` convention).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_HS_AVG = torch.tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]])
_GAUSS5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def to_gray01(video: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) RGB in [-1, 1] -> (B, T, H, W) luma in [0, 1]."""
    w = video.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1, 1)
    return ((video * w).sum(1) + 1.0) / 2.0


def edge_pad(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """``F.pad(x, (left, right, top, bottom), mode="replicate")`` as one gather of clamped indices:
    the same values and, on CPU, bit-identical gradients, but its backward compiles under
    ``torch.compile`` (inductor has no CPU lowering of ``replication_pad2d_backward``)."""
    H, W = x.shape[-2:]
    rows = torch.arange(-top, H + bottom, device=x.device).clamp_(0, H - 1)
    cols = torch.arange(-left, W + right, device=x.device).clamp_(0, W - 1)
    return x[..., rows[:, None], cols[None, :]]


def _filter(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:     # x (N, 1, H, W), k (3, 3)|(5,)
    if k.dim() == 1:
        p = k.numel() // 2
        x = F.conv2d(edge_pad(x, p, p, 0, 0), k.view(1, 1, 1, -1).to(x))
        return F.conv2d(edge_pad(x, 0, 0, p, p), k.view(1, 1, -1, 1).to(x))
    return F.conv2d(edge_pad(x, 1, 1, 1, 1), k.view(1, 1, 3, 3).to(x))


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out(x) = img(x + flow(x)); img (N, 1, H, W), flow (N, 2, H, W) in pixels."""
    N, _, H, W = img.shape
    ys, xs = torch.meshgrid(torch.arange(H, device=img.device, dtype=img.dtype),
                            torch.arange(W, device=img.device, dtype=img.dtype), indexing="ij")
    gx = 2 * (xs + flow[:, 0]) / max(W - 1, 1) - 1
    gy = 2 * (ys + flow[:, 1]) / max(H - 1, 1) - 1
    return F.grid_sample(img, torch.stack([gx, gy], -1), align_corners=True, padding_mode="border")


def _hs_increment(f1, f2w, alpha: float, iters: int):
    """Horn-Schunck flow increment between f1 and the warped f2 (both (N, 1, H, W)).

    Jacobi iterations on (u, v) stacked as one (N, 2, H, W) tensor: with the local average
    (u_bar, v_bar) and the gradient g = (Ix, Iy),  t = g . (u_bar, v_bar) + It  and
    (u, v) = (u_bar, v_bar) - g t / (alpha^2 + |g|^2)."""
    kx = f1.new_tensor([[0, 0, 0], [-0.5, 0, 0.5], [0, 0, 0]])
    m = (f1 + f2w) / 2
    Ix, Iy, It = _filter(m, kx), _filter(m, kx.t()), f2w - f1
    g = torch.cat([Ix, Iy], 1)                                          # (N, 2, H, W)
    g_norm = g / (alpha ** 2 + Ix ** 2 + Iy ** 2)                       # g / denom
    avg_k = _HS_AVG.to(f1).view(1, 1, 3, 3).expand(2, 1, 3, 3)         # one filter per channel
    uv = torch.zeros_like(g)
    for _ in range(iters):
        bar = F.conv2d(edge_pad(uv, 1, 1, 1, 1), avg_k, groups=2)
        t = (g * bar).sum(1, keepdim=True) + It                         # (N, 1, H, W)
        uv = bar - g_norm * t
    return uv                                                            # (N, 2, H, W)


def horn_schunck(f1: torch.Tensor, f2: torch.Tensor, alpha: float = 0.1, iters: int = 30,
                 levels: int = 2) -> torch.Tensor:
    """Coarse-to-fine Horn-Schunck flow from f1 to f2, (N, 1, H, W) in [0, 1] -> (N, 2, H, W)."""
    f1, f2 = _filter(f1, _GAUSS5), _filter(f2, _GAUSS5)                 # pre-smoothing
    pyr = [(f1, f2)]
    for _ in range(levels - 1):
        a, b = pyr[-1]
        pyr.append((F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)))
    flow = None
    for a, b in reversed(pyr):
        if flow is None:
            flow = torch.zeros(a.shape[0], 2, *a.shape[2:], dtype=a.dtype, device=a.device)
        else:
            flow = 2 * F.interpolate(flow, size=a.shape[2:], mode="bilinear", align_corners=False)
        flow = flow + _hs_increment(a, warp(b, flow), alpha, iters)
    return flow


def video_flow(video: torch.Tensor, alpha: float = 0.1, iters: int = 30, levels: int = 2,
               out_size: int | None = 16) -> torch.Tensor:
    """Flow between consecutive frames of a video.

    video (B, 3, T, H, W) in [-1, 1] -> (B, 2, T-1, h, w); h = w = ``out_size`` (average-pooled,
    still in full-resolution pixels; the authors kept FlowNetS's 16x16 output) or H, W if None.
    """
    B, _, T, H, W = video.shape
    g = to_gray01(video)                                                 # (B, T, H, W)
    f1 = g[:, :-1].reshape(-1, 1, H, W)
    f2 = g[:, 1:].reshape(-1, 1, H, W)
    flow = horn_schunck(f1, f2, alpha, iters, levels)                   # (B*(T-1), 2, H, W)
    if out_size is not None and out_size != H:
        flow = F.adaptive_avg_pool2d(flow, out_size)
    return flow.view(B, T - 1, 2, *flow.shape[2:]).transpose(1, 2)      # (B, 2, T-1, h, w)
