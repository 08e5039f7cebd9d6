"""Inference: a lip video for speech of ANY length, and a fast (exact) CPU generator.

``generate_video(G, cfg, audio, lip_image)`` -> ``frames (N, S, S, 3) uint8`` with
``N = ceil(duration * 25)``.

Windows and seams
-----------------
The generator makes 16-frame clips (0.64 s). Longer speech is cut into 16-frame windows that overlap
by ``overlap`` frames (default 4, i.e. a hop of 12 frames); the LAST window is aligned to the end of
the speech, so it may overlap its predecessor by more. In every overlap the two windows are
cross-faded with a raised-cosine ramp (``blend_weights``): the incoming window's weight rises as
``0.5 - 0.5 cos(pi (j + 1) / (L + 1))`` over the L shared frames and the outgoing one falls by the
same amount, so the weights of every frame sum to 1 (they are also normalised explicitly, which
covers the rare case of three windows sharing a frame). Overlap costs compute: windows per second of
speech = 25 / (16 - overlap); overlap 4 costs 33 % over back-to-back clips, overlap 8 (the training
hop) 100 %. ``overlap=0`` gives back-to-back clips (visible seams).

Short speech
------------
Audio shorter than one clip (0.64 s) is PADDED, not refused: its LMS is extended to 16 frames at the
silence level (-1, the floor of the dB scale -- exactly what ``log_mel_spectrogram`` gives for
zero-padded audio) and the first N frames of the clip are kept; a warning says so. Audio shorter
than one video frame (40 ms) or silent is refused by ``util.audio_io.load_audio`` (``AudioError``).

Fast generator (``fast_generator(G)``)
--------------------------------------
An equivalent inference-only module (same outputs to ~1e-5 in fp32, tested): measured per layer with
torch.profiler at paper width on a 2-core AVX2 CPU, the plain model spends ~60 % in the 18 residual
Conv3d (1,3,3), ~17 % in the k7 output Conv3d (3 output channels: oneDNN runs it at ~5 GFLOP/s),
~13 % in the first decoder Conv3d (512 -> 256 channels, k3) and ~10 % in the two ConvTranspose3d
(which take PyTorch's slow path). The fast module:

1. folds every BatchNorm into the preceding (transposed) convolution (exact in eval mode);
2. first decoder conv, algebraically: ``fuse`` replicates f_s along the last axis and tiles f_p over
   time, so ``conv3d(cat(s_rep, p_tiled)) = conv_s(s_rep) + conv_p(p_tiled)``; s_rep's part is a 2-D
   conv of f_s over (time, rows) with the kernel summed over its column taps (3 variants: interior,
   first and last column, where the zero padding removes a tap), p_tiled's part a 2-D conv of f_p
   over (rows, cols) with the kernel summed over time taps (interior, first and last frame).
   29 GFLOP -> 0.9 GFLOP, and the f_p half is computed ONCE for all windows;
3. residual convs (1,3,3) as Winograd F(4x4, 3x3) in channels-last layout: 36 batched matrix
   products (MKL) instead of 9 taps per pixel -- 4x fewer multiplications; exact in exact arithmetic,
   float32 rounding differs by ~1e-6 relative (kernel transforms computed in float64);
4. transposed convs: Winograd F(2, 3) along time (4 matrix products per 2 frames instead of 6),
   each product mapping input pixels to their 3x3 output taps, then a col2im scatter-add;
5. the k7 output conv via 3-D real FFTs (cross-correlation by the conjugate spectrum; FFT sizes with
   small prime factors, no wrap-around), ~10x fewer operations; float32 FFT rounding ~1e-6;
6. the identity features (f_p and its decoder contribution) computed once; windows batched.
"""
from __future__ import annotations

import logging
import math
import warnings
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data.audio import clip_lms, log_mel_spectrogram
from .config import Config
from .util.audio_io import load_audio
from .util.pixels import from_uint8, to_uint8

log = logging.getLogger(__name__)

DEFAULT_OVERLAP = 4          # frames shared by consecutive windows (hop = 16 - overlap)
DEFAULT_BATCH = 4            # windows per forward pass


# ---------------------------------------------------------------------------------------------
# BatchNorm folding

def _bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.double() - bn.running_mean.double() * scale
    return scale, shift


def fold_conv_bn(conv: nn.Module, bn: nn.Module | None, transposed: bool = False):
    """(weight, bias) in float64 of ``bn(conv(x))`` as one convolution (eval-mode BN)."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(
        w.shape[1] if transposed else w.shape[0], dtype=torch.float64)
    if bn is None:
        return w, b
    scale, shift = _bn_scale_shift(bn)
    shape = [1, -1] + [1] * (w.dim() - 2) if transposed else [-1] + [1] * (w.dim() - 1)
    return w * scale.view(shape), b * scale + shift


def _fold_seq(seq: nn.Sequential) -> nn.Module:
    """conv-BN-ReLU (or any sequence of them) -> the same with BN folded into the conv."""
    out, mods, i = [], list(seq), 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, (nn.Conv2d, nn.Conv3d)) and i + 1 < len(mods) and \
                isinstance(mods[i + 1], (nn.BatchNorm2d, nn.BatchNorm3d)):
            w, b = fold_conv_bn(m, mods[i + 1])
            c = type(m)(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=True)
            c.weight.data, c.bias.data = w.float(), b.float()
            out.append(c)
            i += 2
        elif isinstance(m, nn.Sequential):
            out.append(_fold_seq(m))
            i += 1
        else:
            out.append(m)
            i += 1
    return nn.Sequential(*out)


# ---------------------------------------------------------------------------------------------
# Winograd F(4x4, 3x3) (Lavin & Gray 2016), channels-last

_BT = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=torch.float64)
_G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64)
_AT = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]], dtype=torch.float64)


class WinogradConv2d(nn.Module):
    """3x3 conv, stride 1, zero padding 1, on channels-last input (N, H, W, C) -> (N, H, W, C_out),
    with bias and optional ReLU. Weight (C_out, C_in, 3, 3) float64 in."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, relu: bool = False):
        super().__init__()
        w = weight.double()
        U = torch.einsum("ai,ocij,bj->abco", _G, w, _G)                # (6, 6, C_in, C_out)
        self.register_buffer("U", U.reshape(36, w.shape[1], w.shape[0]).float().contiguous())
        self.register_buffer("bias", bias.float().contiguous())
        self.register_buffer("KB", torch.kron(_BT, _BT).float())       # (36, 36)
        self.register_buffer("KA", torch.kron(_AT, _AT).float())       # (16, 36)
        self.relu = relu

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        N, H, W, C = x.shape
        th, tw = -(-H // 4), -(-W // 4)
        xp = F.pad(x, (0, 0, 1, 1 + 4 * tw - W, 1, 1 + 4 * th - H))   # (N, 4th+2, 4tw+2, C)
        sN, sH, sW, sC = xp.stride()
        tiles = xp.as_strided((6, 6, N, th, tw, C), (sH, sW, sN, 4 * sH, 4 * sW, sC))
        d = tiles.reshape(36, -1)                                      # gather (copy)
        V = torch.mm(self.KB, d).view(36, N * th * tw, C)              # input transform
        M = torch.bmm(V, self.U)                                       # (36, tiles, C_out)
        Co = M.shape[-1]
        Y = torch.mm(self.KA, M.view(36, -1)).view(4, 4, N, th, tw, Co)   # output transform
        y = Y.permute(2, 3, 0, 4, 1, 5).reshape(N, 4 * th, 4 * tw, Co)
        if 4 * th != H or 4 * tw != W:
            y = y[:, :H, :W]
        y = y + self.bias
        if self.relu:
            y = y.relu_()
        if residual is not None:
            y = y + residual
        return y.contiguous()


class Conv2dCL(nn.Module):
    """Plain (oneDNN) 3x3 conv on channels-last (N, H, W, C): the exact fallback of WinogradConv2d."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, relu: bool = False):
        super().__init__()
        self.register_buffer("weight", weight.float().contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", bias.float())
        self.relu = relu

    def forward(self, x, residual=None):
        y = F.conv2d(x.permute(0, 3, 1, 2), self.weight, self.bias, padding=1).permute(0, 2, 3, 1)
        if self.relu:
            y = y.relu()
        if residual is not None:
            y = y + residual
        return y.contiguous()


# ---------------------------------------------------------------------------------------------
# decoder pieces

class FusedCompress(nn.Module):
    """The first decoder Conv3d(2C -> C', k3, pad 1) + BN + ReLU applied to ``fuse(f_s, f_p)``,
    computed as 2-D convolutions of f_s and f_p (see the module docstring). Channels-last output
    (B, T, F, F, C')."""

    def __init__(self, seq: nn.Sequential, c_s: int):
        super().__init__()
        conv, bn = seq[0], seq[1]
        if tuple(conv.kernel_size) != (3, 3, 3) or tuple(conv.padding) != (1, 1, 1) or \
                tuple(conv.stride) != (1, 1, 1):
            raise ValueError("FusedCompress needs a k3, stride 1, padding 1 Conv3d")
        w, b = fold_conv_bn(conv, bn)                           # (Co, 2C, kt, kh, kw)
        ws, wp = w[:, :c_s], w[:, c_s:]
        # s part: kernel over (kt, kh), summed over the column taps valid at interior/first/last col
        s_k = [ws.sum(4), ws[..., 1:].sum(4), ws[..., :2].sum(4)]
        # p part: kernel over (kh, kw), summed over the time taps valid at interior/first/last frame
        p_k = [wp.sum(2), wp[:, :, 1:].sum(2), wp[:, :, :2].sum(2)]
        self.register_buffer("ws", torch.cat(s_k).float())      # (3 Co, C, 3, 3)
        self.register_buffer("wp", torch.cat(p_k).float())      # (3 Co, C', 3, 3)
        self.register_buffer("bias", b.float())
        self.co = w.shape[0]

    def identity_part(self, f_p: torch.Tensor) -> torch.Tensor:
        """f_p (1 or B, C', H, W) -> (B, 3, H, W, Co): interior / first-frame / last-frame terms."""
        y = F.conv2d(f_p, self.wp, padding=1)                          # (B, 3Co, H, W)
        B, _, H, W = y.shape
        return y.view(B, 3, self.co, H, W).permute(0, 1, 3, 4, 2).contiguous()

    def forward(self, f_s: torch.Tensor, p_part: torch.Tensor) -> torch.Tensor:
        B, _, T, Fq = f_s.shape
        s = F.conv2d(f_s, self.ws, padding=1).view(B, 3, self.co, T, Fq)
        s = s.permute(0, 1, 3, 4, 2)                                   # (B, 3, T, H, Co)
        W = p_part.shape[3]
        out = s[:, 0, :, :, None, :] + p_part[:, 0, None]             # (B, T, H, W, Co)
        out[:, :, :, 0] += s[:, 1] - s[:, 0]                           # first column
        out[:, :, :, W - 1] += s[:, 2] - s[:, 0]                       # last column
        out[:, 0] += p_part[:, 1] - p_part[:, 0]                       # first frame
        out[:, T - 1] += p_part[:, 2] - p_part[:, 0]                   # last frame
        out += self.bias
        return out.relu_()


class UpGemm(nn.Module):
    """ConvTranspose3d(k3, stride (1,2,2), pad 1, output_padding (0,1,1)) + BN + ReLU on
    channels-last (B, T, H, W, C) -> (B, T, 2H, 2W, C').

    Time: Winograd F(2, 3) -- two output frames from four input frames with four matrix products
    instead of six (1.5x fewer multiplications). Space: each product maps every input pixel to its
    3x3 output taps (C -> 9 C'), scattered to the stride-2 output grid (col2im)."""

    def __init__(self, seq: nn.Sequential):
        super().__init__()
        ct, bn = seq[0], seq[1]
        if tuple(ct.kernel_size) != (3, 3, 3) or tuple(ct.stride) != (1, 2, 2) or \
                tuple(ct.padding) != (1, 1, 1) or tuple(ct.output_padding) != (0, 1, 1):
            raise ValueError("UpGemm needs ConvTranspose3d(k3, stride (1,2,2), pad 1, output_padding (0,1,1))")
        w, b = fold_conv_bn(ct, bn, transposed=True)            # (C, Co, kt, kh, kw)
        C, Co = w.shape[:2]
        # in time the transposed conv (stride 1, pad 1) is a correlation with the flipped kernel
        g = [w[:, :, 2 - j].permute(0, 2, 3, 1).reshape(C, 9 * Co) for j in range(3)]
        U = torch.stack([g[0], (g[0] + g[1] + g[2]) / 2, (g[0] - g[1] + g[2]) / 2, g[2]])
        self.register_buffer("U", U.float().contiguous())      # (4, C, 9 Co)
        self.register_buffer("bias", b.float())
        self.co = Co

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, H, W, C = x.shape
        Co, Te = self.co, T + T % 2
        xp = F.pad(x, (0, 0, 0, 0, 0, 0, 1, 1 + T % 2))                 # (B, Te + 2, H, W, C)
        d = [xp[:, i:i + Te:2] for i in range(4)]                      # frames 2m + i
        D = [(d[0] - d[2]), (d[1] + d[2]), (d[2] - d[1]), (d[1] - d[3])]
        D = [t.reshape(-1, C) for t in D]
        Y1, Y2 = torch.mm(D[1], self.U[1]), torch.mm(D[2], self.U[2])
        ye = torch.addmm(Y1 + Y2, D[0], self.U[0])                     # even output frames
        yo = torch.addmm(Y1.sub_(Y2), D[3], self.U[3], alpha=-1)       # odd output frames
        P = x.new_zeros(B, Te, 2 * H + 2, 2 * W + 2, Co)               # spatial index + 1
        for par, y in ((0, ye), (1, yo)):
            y = y.view(B, Te // 2, H, W, 3, 3, Co)
            for kh in range(3):
                for kw in range(3):
                    P[:, par::2, kh:kh + 2 * H:2, kw:kw + 2 * W:2] += y[:, :, :, :, kh, kw]
        out = P[:, :T, 1:2 * H + 1, 1:2 * W + 1]
        return (out + self.bias).relu_()


def _fft_size(n: int) -> int:
    """Smallest m >= n whose prime factors are 2, 3 and 5."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


class FFTConv3d(nn.Module):
    """Conv3d(k, stride 1, pad k//2) with bias, then tanh, via real 3-D FFTs. Channels-last input
    (B, T, H, W, C) -> channels-first (B, C_out, T, H, W)."""

    def __init__(self, conv: nn.Conv3d, T: int, H: int, W: int):
        super().__init__()
        k = conv.kernel_size
        if any(s != 1 for s in conv.stride) or tuple(conv.padding) != tuple(kk // 2 for kk in k):
            raise ValueError("FFTConv3d needs stride 1 and 'same' padding")
        self.k, self.shape = k, (T, H, W)
        self.size = tuple(_fft_size(n + kk - 1) for n, kk in zip(self.shape, k))
        w = conv.weight.detach().double()                             # (Co, C, kt, kh, kw)
        wf = torch.fft.rfftn(w, s=self.size, dim=(2, 3, 4)).conj()    # cross-correlation
        Co, C = w.shape[:2]
        # (freq, C, Co) for a batched complex matmul over frequencies
        self.register_buffer("wf", wf.reshape(Co, C, -1).permute(2, 1, 0).to(torch.complex64).contiguous())
        b = conv.bias.detach() if conv.bias is not None else torch.zeros(Co)
        self.register_buffer("bias", b.float().view(1, Co, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, H, W, C = x.shape
        (pt, ph, pw), (Lt, Lh, Lw) = (kk // 2 for kk in self.k), self.size
        xp = F.pad(x, (0, 0, pw, Lw - W - pw, ph, Lh - H - ph, pt, Lt - T - pt))   # (B, Lt, Lh, Lw, C)
        X = torch.fft.rfftn(xp, dim=(1, 2, 3))                         # (B, Lt, Lh, Lw//2+1, C)
        nf = X.shape[1] * X.shape[2] * X.shape[3]
        Xf = X.reshape(B, nf, C).transpose(0, 1)                       # (freq, B, C)
        Yf = torch.bmm(Xf, self.wf)                                    # (freq, B, Co)
        Co = Yf.shape[-1]
        Yf = Yf.permute(1, 2, 0).reshape(B, Co, Lt, Lh, X.shape[3])
        y = torch.fft.irfftn(Yf, s=self.size, dim=(2, 3, 4))[:, :, :T, :H, :W]
        return torch.tanh(y + self.bias)


class FastGenerator(nn.Module):
    """Inference-only equivalent of a ``LipGenerator`` (eval mode, BN folded; see module docstring).

    ``forward(lms, lip) -> (video, f_s)`` like the generator. For many windows of one identity use
    ``identity(lip)`` once and ``decode(lms, ident)`` per batch of windows."""

    def __init__(self, G: nn.Module, winograd: bool = True, fft_out: bool = True):
        super().__init__()
        from .model.generator import check_inputs
        self._check = check_inputs
        G = G.eval()
        cfg = G.cfg
        self.cfg = cfg
        T, S = cfg.n_frames, cfg.image_size
        self.audio = _fold_seq(nn.Sequential(*G.audio_encoder.trunk, G.audio_encoder.last)).eval()
        self.image = _fold_seq(G.image_encoder.net).eval()
        self.compress = FusedCompress(G.decoder.compress, cfg.feature_dim)
        Conv = WinogradConv2d if winograd else Conv2dCL
        self.res = nn.ModuleList()
        for blk in G.decoder.res:
            c1, bn1, _, c2, bn2 = blk.body
            w1, b1 = fold_conv_bn(c1, bn1)
            w2, b2 = fold_conv_bn(c2, bn2)
            self.res.append(nn.ModuleList([Conv(w1[:, :, 0], b1, relu=True), Conv(w2[:, :, 0], b2)]))
        self.up = nn.ModuleList([UpGemm(s) for s in G.decoder.up])
        out = G.decoder.out[0]
        if fft_out:
            self.out = FFTConv3d(out, T, S, S)
        else:
            self.out = _OutDirect(out)

    @torch.inference_mode()
    def identity(self, lip: torch.Tensor) -> torch.Tensor:
        """lip (1, 3, S, S) in [-1, 1] -> the identity's decoder term (1, 3, H, W, C)."""
        return self.compress.identity_part(self.image(lip))

    @torch.inference_mode()
    def decode(self, lms: torch.Tensor, ident: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """lms (B, 1, 4T, n_mels) + identity term -> video (B, 3, T, S, S), f_s (B, C, T, F)."""
        f_s = self.audio(lms)
        x = self.compress(f_s, ident)                                  # (B, T, 16, 16, C)
        B, T, H, W, C = x.shape
        x = x.reshape(B * T, H, W, C)
        for c1, c2 in self.res:
            x = c2(c1(x), residual=x)
        x = x.view(B, T, H, W, C)
        for up in self.up:
            x = up(x).contiguous()
        return self.out(x), f_s

    @torch.inference_mode()
    def forward(self, lms: torch.Tensor, lip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(lms, lip, self.cfg)
        if lip.shape[0] > 1 and not (lip == lip[:1]).all():
            ident = torch.cat([self.identity(lip[i:i + 1]) for i in range(lip.shape[0])])
        else:
            ident = self.identity(lip[:1])
        return self.decode(lms, ident)


class _OutDirect(nn.Module):
    """The output Conv3d + tanh on channels-last input (exact fallback of FFTConv3d)."""

    def __init__(self, conv: nn.Conv3d):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return torch.tanh(self.conv(x.permute(0, 4, 1, 2, 3)))


def fast_generator(G: nn.Module, winograd: bool = True, fft_out: bool = True) -> FastGenerator:
    """An inference-only module equivalent to ``G`` in eval mode (see the module docstring)."""
    return FastGenerator(G, winograd=winograd, fft_out=fft_out).eval()


# ---------------------------------------------------------------------------------------------
# windows and blending

def window_starts(n_frames: int, clip: int = 16, overlap: int = DEFAULT_OVERLAP) -> list[int]:
    """Start frames of the windows covering ``n_frames``: hop ``clip - overlap``, the last window
    aligned to the end. ``n_frames <= clip`` -> [0]."""
    if not 0 <= overlap < clip:
        raise ValueError(f"overlap must be in [0, {clip}), got {overlap}")
    if n_frames <= clip:
        return [0]
    hop = clip - overlap
    starts = list(range(0, n_frames - clip, hop))
    return starts + [n_frames - clip]


def _ramp(L: int) -> np.ndarray:
    """Raised-cosine fade-in over L frames, never 0 or 1: r_j + r_{L-1-j} = 1."""
    j = np.arange(1, L + 1)
    return 0.5 - 0.5 * np.cos(np.pi * j / (L + 1))


def blend_weights(starts: list[int], n_frames: int, clip: int = 16) -> np.ndarray:
    """(n_windows, clip) weights: raised-cosine cross-fades over each overlap, normalised so that
    the weights of every output frame sum to exactly 1."""
    n = len(starts)
    w = np.ones((n, clip), np.float64)
    for i in range(n):
        if i > 0:                                   # fade in over the overlap with window i-1
            L = starts[i - 1] + clip - starts[i]
            if L > 0:
                w[i, :L] = np.minimum(w[i, :L], _ramp(L))
        if i + 1 < n:                               # fade out over the overlap with window i+1
            L = starts[i] + clip - starts[i + 1]
            if L > 0:
                w[i, clip - L:] = np.minimum(w[i, clip - L:], _ramp(L)[::-1])
    total = np.zeros(max(n_frames, clip))
    for s, wi in zip(starts, w):
        total[s:s + clip] += wi
    for i, s in enumerate(starts):
        w[i] /= total[s:s + clip]
    return w


def blend_windows(clips: np.ndarray, starts: list[int], n_frames: int) -> np.ndarray:
    """clips (n_windows, clip, ...) float -> (n_frames, ...) cross-faded (see ``blend_weights``)."""
    clip = clips.shape[1]
    w = blend_weights(starts, n_frames, clip)
    out = np.zeros((max(n_frames, clip),) + clips.shape[2:], np.float64)
    for i, s in enumerate(starts):
        out[s:s + clip] += clips[i] * w[i].reshape((-1,) + (1,) * (clips.ndim - 2))
    return out[:n_frames]


# ---------------------------------------------------------------------------------------------
# the input image: a lip crop or a face photo

class ImageError(ValueError):
    """An input image that cannot be used (not an image, unsupported channels, no face found)."""


LIP_MAX_SIDE = 128     # --image-kind auto: images up to this size are lip crops, larger ones faces


def load_image(source, notes: list | None = None) -> np.ndarray:
    """An image file (any format Pillow reads) or array -> uint8 (H, W, 3) RGB.

    Grayscale is replicated to RGB, an alpha channel is dropped, palette / CMYK / 16-bit images are
    converted; each conversion appends a line to ``notes``. Raises ``ImageError``."""
    notes = notes if notes is not None else []
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 2:
            notes.append("grayscale image converted to RGB")
            a = np.repeat(a[:, :, None], 3, axis=2)
        elif a.ndim == 3 and a.shape[2] in (2, 4):
            notes.append("alpha channel dropped")
            a = np.repeat(a[:, :, :1], 3, axis=2) if a.shape[2] == 2 else a[:, :, :3]
        elif not (a.ndim == 3 and a.shape[2] == 3):
            raise ImageError(f"image array must be (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA, "
                             f"got shape {a.shape}")
        if a.dtype != np.uint8:
            a = a.astype(np.float64)
            if a.size and np.nanmax(a) <= 1.0 and np.nanmin(a) >= 0.0:
                a = a * 255.0
            a = np.clip(np.nan_to_num(a), 0, 255).round().astype(np.uint8)
        if min(a.shape[:2]) < 1:
            raise ImageError(f"image is empty ({a.shape[1]}x{a.shape[0]})")
        return np.ascontiguousarray(a)
    from pathlib import Path
    from PIL import Image, UnidentifiedImageError
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"image file not found: {path}")
    try:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            mode = im.mode
            if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
                notes.append(f"{path.name}: alpha channel dropped")
                im = im.convert("RGBA").convert("RGB") if mode != "LA" else im.convert("L").convert("RGB")
                if mode == "LA":
                    notes.append(f"{path.name}: grayscale image converted to RGB")
            elif mode in ("L", "1"):
                notes.append(f"{path.name}: grayscale image converted to RGB")
                im = im.convert("RGB")
            elif mode.startswith("I") or mode == "F":      # 16/32-bit integer or float grayscale
                notes.append(f"{path.name}: {mode} grayscale image scaled to 8 bits and converted to RGB")
                a = np.asarray(im, dtype=np.float64)
                lo, hi = float(a.min()), float(a.max())
                a = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
                return np.ascontiguousarray(np.repeat(a.round().astype(np.uint8)[:, :, None], 3, 2))
            elif mode != "RGB":
                notes.append(f"{path.name}: {mode} image converted to RGB")
                im = im.convert("RGB")
            a = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path} is not an image Pillow can read ({type(e).__name__})") from None
    if a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
        raise ImageError(f"{path}: unsupported image layout {a.shape}")
    return np.ascontiguousarray(a)


_DLIB = None


def _dlib_backend():
    global _DLIB
    if _DLIB is None:
        from .data.landmarks import get_backend
        _DLIB = get_backend("dlib")
    return _DLIB


def lip_from_face(rgb: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """Mouth landmarks (dlib on the full image) -> the training crop rule (``data/crop.py``):
    a square on the mouth-box centre with side ``CROP_SCALE * max(w, h)`` (1.3, as the authors),
    edges replicated, resized to ``size``. Returns (crop uint8 (size, size, 3), box (x0, y0, side))
    or None when no face is found."""
    from .data.crop import crop_boxes, crop_frames
    det = _dlib_backend()
    lm = None
    for up in (0, 1):                        # upsample once for small faces
        det.upsample = up
        lm = det.detect(rgb[None])           # (1, 20, 2), NaN if no face
        if not np.isnan(lm).any():
            break
        if max(rgb.shape[:2]) > 1200:
            break
    det.upsample = 0
    if lm is None or np.isnan(lm).any():
        return None
    box = crop_boxes(lm, np.ones(1, bool), mode="frame")          # (1, 3)
    return crop_frames(rgb[None], box, size)[0], tuple(int(v) for v in box[0])


def lip_image_from(source, size: int, kind: str = "auto", notes: list | None = None) -> dict:
    """Image path/array -> dict(lip=uint8 (size, size, 3), image=the RGB input, kind='lip'|'face',
    box=(x0, y0, side) or None). ``kind``: 'lip' (the image is a lip crop, resized), 'face' (find
    the mouth with dlib; no face -> ImageError) or 'auto' (images up to LIP_MAX_SIDE px on their
    longer side are lip crops; larger ones are searched for a face and used as a lip crop, with a
    note, if none is found)."""
    if kind not in ("auto", "lip", "face"):
        raise ValueError(f"image kind must be auto, lip or face, got {kind!r}")
    notes = notes if notes is not None else []
    rgb = load_image(source, notes)
    H, W = rgb.shape[:2]
    if kind == "face" or (kind == "auto" and max(H, W) > LIP_MAX_SIDE):
        found = lip_from_face(rgb, size)
        if found is not None:
            return dict(lip=found[0], image=rgb, kind="face", box=found[1])
        if kind == "face":
            raise ImageError(f"no face found in the {W}x{H} image (dlib); give a frontal face photo, "
                             f"or a lip crop with --image-kind lip")
        notes.append(f"no face found in the {W}x{H} image: using the whole image as a lip crop "
                     f"(--image-kind face to require a face)")
    if H != W and max(H, W) > 1.5 * min(H, W):
        notes.append(f"lip crop is {W}x{H}, not square: resized to {size}x{size} (aspect changes)")
    if min(H, W) < size // 2:
        notes.append(f"lip crop is only {W}x{H}: upscaled to {size}x{size}")
    return dict(lip=np.asarray(prepare_lip_uint8(rgb, size)), image=rgb, kind="lip", box=None)


def prepare_lip_uint8(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 lip crop to (size, size, 3) (area when shrinking, linear when growing)."""
    if rgb.shape[:2] == (size, size):
        return rgb
    import cv2
    interp = cv2.INTER_AREA if min(rgb.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(rgb), (size, size), interpolation=interp)


# ---------------------------------------------------------------------------------------------
# the whole pipeline

def prepare_lip(lip_image, size: int) -> torch.Tensor:
    """uint8 (H, W, 3) RGB (any size: resized) or float tensor (3, S, S) in [-1, 1] ->
    (1, 3, S, S) float32 in [-1, 1]."""
    if isinstance(lip_image, torch.Tensor) and lip_image.is_floating_point():
        t = lip_image.float()
        return (t if t.dim() == 4 else t[None])
    a = np.asarray(lip_image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"lip image must be (H, W, 3) RGB, got shape {a.shape}")
    a = prepare_lip_uint8(a.astype(np.uint8, copy=False), size)
    return torch.from_numpy(from_uint8(a)).permute(2, 0, 1)[None]


class PreparedSpeech(NamedTuple):
    lms: np.ndarray          # (4 max(N, 16), n_mels) float32 in [-1, 1]
    n_frames: int            # N = ceil(duration * fps): frames of the output video
    wave: np.ndarray         # the speech, mono float32 at cfg.audio.sample_rate


def speech_lms(audio, cfg: Config) -> PreparedSpeech:
    """audio (path, (array, sr) or 1-D array at cfg's rate) -> PreparedSpeech (LMS of max(N, 16)
    frames, N, wave). Speech shorter than one clip is padded with silence, with a warning."""
    if isinstance(audio, PreparedSpeech):
        return audio
    if isinstance(audio, tuple):
        y = load_audio(audio[0], cfg.audio, sr=audio[1])
    elif isinstance(audio, np.ndarray):
        y = load_audio(audio, cfg.audio, sr=cfg.audio.sample_rate)
    else:
        y = load_audio(audio, cfg.audio)
    spf = cfg.audio.samples_per_frame
    n = -(-len(y) // spf)                                              # ceil(duration * fps)
    T = cfg.model.n_frames
    if n < T:
        msg = (f"speech is {len(y) / cfg.audio.sample_rate:.2f} s, shorter than one clip "
               f"({T / cfg.audio.fps:.2f} s): padded with silence to {T} frames, {n} kept")
        warnings.warn(msg, stacklevel=3)
        log.warning(msg)
    lms = log_mel_spectrogram(y, cfg.audio, n_frames=max(n, T))
    return PreparedSpeech(lms, n, y)


@torch.inference_mode()
def generate_video(G: nn.Module, cfg: Config, audio, lip_image, overlap: int = DEFAULT_OVERLAP,
                   batch: int = DEFAULT_BATCH, fast: bool = True, device: str | torch.device = "cpu",
                   progress=None) -> np.ndarray:
    """Speech of any length + one lip image -> frames (N, S, S, 3) uint8, N = ceil(duration * 25).

    ``G``: a ``LipGenerator`` (or a ``FastGenerator``); ``fast=True`` wraps a plain generator with
    ``fast_generator`` (CPU only; on CUDA the plain module is used). ``audio``: a path, a 1-D array
    at ``cfg.audio.sample_rate``, ``(array, sample_rate)`` or a ``PreparedSpeech``. ``lip_image``: a lip crop as uint8
    (H, W, 3) RGB (resized to the model's size) or a float tensor in [-1, 1]."""
    device = torch.device(device)
    T, S = cfg.model.n_frames, cfg.model.image_size
    lms, n, _ = speech_lms(audio, cfg)
    lip = prepare_lip(lip_image, S).to(device)
    if isinstance(G, FastGenerator):
        model = G
    elif fast and device.type == "cpu":
        model = fast_generator(G)
    else:
        model = G.eval()
    starts = window_starts(max(n, T), T, overlap)
    clips = np.empty((len(starts), T, S, S, 3), np.float32)
    ident = model.identity(lip) if isinstance(model, FastGenerator) else None
    for i in range(0, len(starts), batch):
        idx = starts[i:i + batch]
        x = torch.from_numpy(np.stack([clip_lms(lms, s, T, cfg.audio) for s in idx])).to(device)
        if ident is not None:
            video, _ = model.decode(x, ident)
        else:
            video, _ = model(x, lip.expand(len(idx), -1, -1, -1))
        clips[i:i + len(idx)] = video.float().permute(0, 2, 3, 4, 1).cpu().numpy()
        if progress is not None:
            progress(min(i + batch, len(starts)), len(starts))
    frames = blend_windows(clips, starts, max(n, T))[:n]
    return to_uint8(frames)


# ---------------------------------------------------------------------------------------------
# outputs

SIDE_BY_SIDE_HEIGHT = 256     # panel height of --side-by-side videos


def side_by_side_frames(frames: np.ndarray, image: np.ndarray, box=None,
                        height: int = SIDE_BY_SIDE_HEIGHT) -> np.ndarray:
    """[input image (with the crop box drawn) | generated lips, both ``height`` px tall] per frame."""
    import cv2
    h, w = image.shape[:2]
    left = np.ascontiguousarray(image)
    if box is not None:
        x0, y0, s = box
        left = left.copy()
        cv2.rectangle(left, (x0, y0), (x0 + s - 1, y0 + s - 1), (0, 255, 0), max(1, round(max(h, w) / 200)))
    lw = max(2, int(round(w * height / h / 2)) * 2)                       # even widths for yuv420p
    left = cv2.resize(left, (lw, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)
    out = np.empty((len(frames), height, lw + height, 3), np.uint8)
    out[:, :, :lw] = left
    for i, f in enumerate(frames):
        out[i, :, lw:] = cv2.resize(f, (height, height), interpolation=cv2.INTER_CUBIC)
    return out


def frame_row(frames: np.ndarray, max_frames: int = 16) -> np.ndarray:
    """One row of up to ``max_frames`` evenly spaced frames (H, k W, 3) uint8."""
    idx = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))
    return np.concatenate(list(frames[idx]), axis=1)


def check_writable(path, suffixes=(".mp4",)) -> "Path":
    """Raise OSError (with a clear message) unless a file can be created at ``path``."""
    import os
    import tempfile
    from pathlib import Path
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OSError(f"output {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OSError(f"output {path} is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise OSError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    return path


def write_outputs(out, frames: np.ndarray, audio_path, fps: int = 25, side_by_side: dict | None = None,
                  strip=None) -> None:
    """The mp4 (H.264, ``audio_path`` muxed as AAC) and optionally a PNG frame strip, all-or-nothing:
    both are written to temporary files and moved into place only when both succeeded.
    ``side_by_side``: dict(image=..., box=...) puts the input image beside the generated lips."""
    import contextlib
    from .util.files import atomic_path
    from .util.video_io import write_video
    video = frames if side_by_side is None else side_by_side_frames(frames, side_by_side["image"],
                                                                    side_by_side.get("box"))
    with contextlib.ExitStack() as stack:
        tmp_v = stack.enter_context(atomic_path(out))
        if strip is not None:
            import cv2
            tmp_s = stack.enter_context(atomic_path(strip))
            if not cv2.imwrite(str(tmp_s), np.ascontiguousarray(frame_row(frames)[:, :, ::-1])):
                raise OSError(f"cannot write the frame strip {strip}")
        write_video(tmp_v, video, fps=fps, audio_path=audio_path)
