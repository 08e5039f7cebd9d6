"""The fast CPU generator ``fast_generator(G)``: an inference-only module equivalent to a
``LipGenerator`` in eval mode (same outputs to ~1e-5 in fp32, tested). Measured per layer with
torch.profiler at paper width on a 2-core AVX2 CPU, the plain model spends ~60 % in the 18 residual
Conv3d (1,3,3), ~17 % in the k7 output Conv3d (3 output channels: oneDNN runs it at ~5 GFLOP/s),
~13 % in the first decoder Conv3d (512 -> 256 channels, k3) and ~10 % in the two ConvTranspose3d
(which take PyTorch's slow path). The fast module:

1. folds every BatchNorm into the preceding (transposed) convolution (exact in eval mode);
2. first decoder conv, algebraically: ``fuse`` replicates f_s along the last axis and tiles f_p over
   time, so ``conv3d(cat(s_rep, p_tiled)) = conv_s(s_rep) + conv_p(p_tiled)``; s_rep's part is a 2-D
   conv of f_s over (time, rows) with the kernel summed over its column taps (3 variants: interior,
   first and last column, where the zero padding removes a tap), p_tiled's part a 2-D conv of f_p
   over (rows, cols) with the kernel summed over time taps (interior, first and last frame); the
   kernels are ``model.fast_forms.fusion_kernels``. 29 GFLOP -> 0.9 GFLOP, and the f_p half is
   computed ONCE for all windows;
3. residual convs (1,3,3) as Winograd F(4x4, 3x3) in channels-last layout: 36 batched matrix
   products (MKL) instead of 9 taps per pixel -- 4x fewer multiplications; exact in exact arithmetic,
   float32 rounding differs by ~1e-6 relative (kernel transforms computed in float64);
4. transposed convs: Winograd F(2, 3) along time (4 matrix products per 2 frames instead of 6),
   each product mapping input pixels to their 3x3 output taps, then a col2im scatter-add;
5. the k7 output conv via 3-D real FFTs (cross-correlation by the conjugate spectrum; FFT sizes with
   small prime factors, no wrap-around), ~10x fewer operations; float32 FFT rounding ~1e-6;
6. the identity features (f_p and its decoder contribution) computed once; windows batched.

The two encoders run as they are (a copy in eval mode: the image encoder runs once per identity,
and folding the audio encoder's BatchNorms saved nothing measurable), so any encoder with the same
outputs works here. The decoder is folded stage by stage through what each stage offers: its
layers in order (``ResBlock3d.layers()``, a ``Sequential``'s children), matched against the forms
above. A stage it cannot fold raises ``FoldError``, one line naming the module (the plain
generator, ``lmg generate --plain``, still runs it): never a silently different result.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model.decoder import ResBlock3d, VideoDecoder
from ..model.fast_forms import fusion_kernels
from ..model.generator import check_inputs
from .fold import FoldError, cannot, check_spatial, fold, fold_conv_bn

__all__ = ["FastGenerator", "fast_generator", "FoldError"]


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

    def __init__(self, conv: nn.Conv3d, bn: nn.Module, c_s: int):
        super().__init__()
        if tuple(conv.kernel_size) != (3, 3, 3) or tuple(conv.padding) != (1, 1, 1) or \
                tuple(conv.stride) != (1, 1, 1) or tuple(conv.dilation) != (1, 1, 1) or conv.groups != 1:
            raise ValueError("FusedCompress needs a k3, stride 1, padding 1 Conv3d")
        w, b = fold_conv_bn(conv, bn)                           # (Co, 2C, kt, kh, kw)
        ws, wp = fusion_kernels(w, c_s)                         # (3 Co, C, 3, 3), (3 Co, C', 3, 3)
        self.register_buffer("ws", ws.float())
        self.register_buffer("wp", wp.float())
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

    def __init__(self, ct: nn.ConvTranspose3d, bn: nn.Module):
        super().__init__()
        if tuple(ct.kernel_size) != (3, 3, 3) or tuple(ct.stride) != (1, 2, 2) or \
                tuple(ct.padding) != (1, 1, 1) or tuple(ct.output_padding) != (0, 1, 1) or \
                tuple(ct.dilation) != (1, 1, 1) or ct.groups != 1:
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
        if any(s != 1 for s in conv.stride) or tuple(conv.padding) != tuple(kk // 2 for kk in k) or \
                any(d != 1 for d in conv.dilation) or conv.groups != 1:
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


class UpNearest(nn.Module):
    """The "nearest" upsampler (nearest x2, Conv3d (1,3,3), BN, ReLU) on channels-last
    (B, T, H, W, C): BN folded, the spatial conv as a 2-D conv of every frame."""

    def __init__(self, up: nn.Upsample, conv: nn.Conv3d, bn: nn.Module, winograd: bool = True):
        super().__init__()
        sf = up.scale_factor if isinstance(up.scale_factor, (tuple, list)) else (up.scale_factor,)
        if up.mode != "nearest" or up.size is not None or tuple(sf) != (1, 2, 2):
            raise ValueError("UpNearest needs Upsample(scale_factor=(1, 2, 2), mode='nearest')")
        check_spatial(conv, "UpNearest")
        w, b = fold_conv_bn(conv, bn)                           # (Co, Ci, 1, 3, 3)
        self.conv = (WinogradConv2d if winograd else Conv2dCL)(w[:, :, 0], b, relu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, H, W, C = x.shape
        x = x.reshape(B * T, H, 1, W, 1, C).expand(B * T, H, 2, W, 2, C).reshape(B * T, 2 * H, 2 * W, C)
        return self.conv(x).view(B, T, 2 * H, 2 * W, -1)


class FastGenerator(nn.Module):
    """Inference-only equivalent of a ``LipGenerator`` (eval mode, BN folded; see module docstring).

    ``forward(lms, lip) -> (video, f_s)`` like the generator. For many windows of one identity use
    ``identity(lip)`` once and ``decode(lms, ident)`` per batch of windows."""

    def __init__(self, G: nn.Module, winograd: bool = True, fft_out: bool = True):
        super().__init__()
        self._check = check_inputs
        G = G.eval()
        cfg = G.cfg
        self.cfg = cfg
        T, S = cfg.n_frames, cfg.image_size
        self.audio = copy.deepcopy(G.audio_encoder).requires_grad_(False)      # run as they are
        self.image = copy.deepcopy(G.image_encoder).requires_grad_(False)
        self.skips = cfg.identity_skips
        dec = G.decoder
        if not isinstance(dec, VideoDecoder):
            raise cannot("G.decoder", dec, "not a VideoDecoder")
        self.compress = fold("G.decoder.compress", dec.compress, lambda conv, bn, _: FusedCompress(
            conv, bn, cfg.feature_dim), nn.Conv3d, nn.BatchNorm3d, nn.ReLU)
        Conv = WinogradConv2d if winograd else Conv2dCL
        self.res = nn.ModuleList()
        for i, blk in enumerate(dec.res):       # only a ResBlock3d says that it adds its input back
            name = f"G.decoder.res.{i}"
            if not isinstance(blk, ResBlock3d):
                raise cannot(name, blk, "not a ResBlock3d (x + its layers)")
            self.res.append(fold(name, blk, lambda c1, bn1, _, c2, bn2: _res_block(Conv, c1, bn1, c2, bn2),
                                  nn.Conv3d, nn.BatchNorm3d, nn.ReLU, nn.Conv3d, nn.BatchNorm3d))
        up_forms = {"transpose": ((nn.ConvTranspose3d, nn.BatchNorm3d, nn.ReLU),
                                  lambda ct, bn, _: UpGemm(ct, bn)),
                    "nearest": ((nn.Upsample, nn.Conv3d, nn.BatchNorm3d, nn.ReLU),
                                lambda up, conv, bn, _: UpNearest(up, conv, bn, winograd))}
        kinds, build = up_forms[cfg.upsample]
        self.up = nn.ModuleList(fold(f"G.decoder.up.{i}", up, build, *kinds) for i, up in enumerate(dec.up))
        self.out = fold("G.decoder.out", dec.out, lambda conv, _: FFTConv3d(conv, T, S, S) if fft_out
                         else _OutDirect(conv), nn.Conv3d, nn.Tanh)
        self.eval()

    @torch.inference_mode()
    def identity(self, lip: torch.Tensor):
        """lip (1, 3, S, S) in [-1, 1] -> the identity's decoder term (1, 3, H, W, C), and with
        ``identity_skips`` its channels-last encoder features [(1, S/2, S/2, 4w), (1, S, S, 2w)]."""
        if not self.skips:
            return self.compress.identity_part(self.image(lip))
        f_p, skips = self.image(lip, return_skips=True)
        return self.compress.identity_part(f_p), [e.permute(0, 2, 3, 1).contiguous() for e in skips]

    @torch.inference_mode()
    def decode(self, lms: torch.Tensor, ident: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """lms (B, 1, 4T, n_mels) + identity term -> video (B, 3, T, S, S), f_s (B, C, T, F)."""
        f_s = self.audio(lms)
        ident, skips = ident if self.skips else (ident, None)
        x = self.compress(f_s, ident)                                  # (B, T, 16, 16, C)
        B, T, H, W, C = x.shape
        x = x.reshape(B * T, H, W, C)
        for c1, c2 in self.res:
            x = c2(c1(x), residual=x)
        x = x.view(B, T, H, W, C)
        for i, up in enumerate(self.up):
            x = up(x).contiguous()
            if self.skips:                                             # tiled over time
                e = skips[i]
                e = e.expand(B, *e.shape[1:]) if e.shape[0] == 1 else e
                x = torch.cat([x, e.unsqueeze(1).expand(-1, T, -1, -1, -1)], -1)
        return self.out(x), f_s

    @torch.inference_mode()
    def forward(self, lms: torch.Tensor, lip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(lms, lip, self.cfg)
        if lip.shape[0] > 1 and not (lip == lip[:1]).all():
            parts = [self.identity(lip[i:i + 1]) for i in range(lip.shape[0])]
            if self.skips:
                ident = (torch.cat([p[0] for p in parts]),
                         [torch.cat([p[1][k] for p in parts]) for k in range(2)])
            else:
                ident = torch.cat(parts)
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


def _res_block(Conv, c1, bn1, c2, bn2) -> nn.ModuleList:
    for c in (c1, c2):
        check_spatial(c, "a residual block")
    (w1, b1), (w2, b2) = fold_conv_bn(c1, bn1), fold_conv_bn(c2, bn2)
    return nn.ModuleList([Conv(w1[:, :, 0], b1, relu=True), Conv(w2[:, :, 0], b2)])


def fast_generator(G: nn.Module, winograd: bool = True, fft_out: bool = True) -> FastGenerator:
    """An inference-only module equivalent to ``G`` in eval mode (see the module docstring)."""
    return FastGenerator(G, winograd=winograd, fft_out=fft_out).eval()
