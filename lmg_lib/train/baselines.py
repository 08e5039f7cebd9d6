"""Baselines with the generator's call signature ``(lms (B,1,64,128), ref (B,3,S,S)) -> (video, aux)``.

* ``Speech2VidBaseline`` -- a "You said that?" (Chung, Jamaludin & Zisserman, BMVC 2017) style model:
  a 2-D encoder-decoder applied to every frame on its own. The audio encoder reads the LMS window
  centred on that frame (``context`` frames either side, 0.36 s for context 4; Speech2Vid read
  0.35 s of MFCC), the identity encoder reads the reference lip image, the audio vector is tiled
  over the identity bottleneck and a 2-D decoder with U-Net skip connections from the identity
  encoder draws the frame. No temporal model, trained with L1 only (``loop.train_baseline``, which
  is ``Trainer`` with ``variant="l1"``). Differences from Speech2Vid: LMS instead of MFCC, one
  reference image instead of five, 64x64 lips instead of 109x109 faces, no deblurring CNN.
* ``VGANBaseline`` -- an audio-conditioned VGAN (Vondrick et al. 2016), the paper's other
  baseline: a static background from the identity and a masked moving foreground from the audio.
* ``StaticBaseline`` -- the reference frame repeated for all 16 frames (the "no motion" floor of
  every metric).

A new baseline is a class here with the ``(ModelConfig)`` constructor and the generator's call
signature, listed in ``BASELINES`` so that its checkpoints load (``checkpoints.export_network``
writes them).
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import Config, ModelConfig
from ..model.blocks import conv_bn_relu, kaiming_init
from ..model.encoders import AudioEncoder, ImageEncoder
from ..model.geometry import LMS_STEPS_PER_FRAME
from .checkpoints import BASELINE_FORMAT, load_network


class StaticBaseline(nn.Module):
    """video[:, :, t] = ref for every t; aux is None."""

    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        self.cfg = cfg

    def forward(self, lms: torch.Tensor, ref: torch.Tensor):
        return ref.unsqueeze(2).repeat(1, 1, self.cfg.n_frames, 1, 1), None


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class Speech2VidBaseline(nn.Module):
    """Per-frame 2-D encoder-decoder. aux: the per-frame audio vectors (B, 8w, T)."""

    def __init__(self, cfg: ModelConfig = ModelConfig(), context: int = 4,
                 steps_per_frame: int = LMS_STEPS_PER_FRAME):
        super().__init__()
        if cfg.image_size % 8:
            raise ValueError("Speech2VidBaseline needs an image size divisible by 8")
        self.cfg, self.context, self.spf = cfg, context, steps_per_frame
        w = cfg.width
        self.audio = nn.Sequential(                                  # (N, 1, (2c+1)*4, n_mels)
            conv_bn_relu(1, w, 3, 1, 1), conv_bn_relu(w, 2 * w, 3, 2, 1),
            conv_bn_relu(2 * w, 4 * w, 3, 2, 1), conv_bn_relu(4 * w, 8 * w, 3, 2, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8 * w, 8 * w), nn.ReLU(inplace=True))
        self.id1 = nn.Sequential(nn.ReflectionPad2d(3), conv_bn_relu(3, 2 * w, 7, 1, 0))   # S
        self.id2 = conv_bn_relu(2 * w, 4 * w, 3, 2, 1)                                   # S/2
        self.id3 = conv_bn_relu(4 * w, 8 * w, 3, 2, 1)                                   # S/4
        self.id4 = conv_bn_relu(8 * w, 8 * w, 3, 2, 1)                                   # S/8
        self.fuse = conv_bn_relu(16 * w, 8 * w, 3, 1, 1)
        self.up3 = _up(8 * w, 8 * w)                                  # S/4, + id3 skip
        self.up2 = _up(16 * w, 4 * w)                                 # S/2, + id2 skip
        self.up1 = _up(8 * w, 2 * w)                                  # S,   + id1 skip
        self.out = nn.Sequential(nn.Conv2d(4 * w, 3, 3, 1, 1), nn.Tanh())
        kaiming_init(self)

    def audio_windows(self, lms: torch.Tensor) -> torch.Tensor:
        """(B, 1, 4T, M) -> (B*T, 1, (2c+1)*4, M): each frame's LMS steps with ``context`` frames
        either side (edge frames replicated at the clip's ends)."""
        B, _, L, M = lms.shape
        T, c, k = self.cfg.n_frames, self.context, self.spf
        x = F.pad(lms, (0, 0, c * k, c * k), mode="replicate")                     # (B, 1, L + 2ck, M)
        win = x.unfold(2, (2 * c + 1) * k, k)                                       # (B, 1, T, M, W)
        return win.permute(0, 2, 1, 4, 3).reshape(B * T, 1, (2 * c + 1) * k, M)

    def forward(self, lms: torch.Tensor, ref: torch.Tensor):
        B, T, S = ref.shape[0], self.cfg.n_frames, ref.shape[-1]
        a = self.audio(self.audio_windows(lms))                                     # (B*T, 8w)
        # the identity features are the same for every frame: compute them once per clip
        e1 = self.id1(ref); e2 = self.id2(e1); e3 = self.id3(e2); e4 = self.id4(e3)
        rep = lambda e: e.unsqueeze(1).expand(B, T, *e.shape[1:]).reshape(B * T, *e.shape[1:])
        z = self.fuse(torch.cat([rep(e4), a[:, :, None, None].expand(-1, -1, *e4.shape[-2:])], 1))
        y = self.up3(z)
        y = self.up2(torch.cat([y, rep(e3)], 1))
        y = self.up1(torch.cat([y, rep(e2)], 1))
        y = self.out(torch.cat([y, rep(e1)], 1))                                    # (B*T, 3, S, S)
        video = y.view(B, T, 3, S, S).permute(0, 2, 1, 3, 4)                        # (B, 3, T, S, S)
        return video, a.view(B, T, -1).permute(0, 2, 1)


class VGANBaseline(nn.Module):
    """An audio-conditioned VGAN ("Generating Videos with Scene Dynamics", Vondrick, Pirsiavash &
    Torralba, NeurIPS 2016), the paper's "Vondrick" row: a two-stream generator that paints a
    static background image b from the identity and a moving foreground video f with a mask m
    from the audio, and composes  v = m * f + (1 - m) * b.

    Conditioning (the paper's comparison conditions VGAN on speech and the lip image; the authors'
    code for it was not released): the identity is the image encoder's f_p pooled to a vector, the
    motion is f_s pooled over its mel axis, one vector per frame. Both streams start from 4 x 4
    (VGAN's latent grid) and upsample by 2 four times: the background with 2-D transposed convs,
    the foreground with 3-D ones whose kernels span 3 frames (VGAN's spatio-temporal decoder).
    aux: f_s, so the correlation loss applies as to the generator."""

    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        if cfg.image_size != 64:
            raise ValueError("VGANBaseline draws 64 x 64 frames (4 x 4 grown four times)")
        self.cfg, w = cfg, cfg.width
        self.audio_encoder, self.image_encoder = AudioEncoder(cfg), ImageEncoder(cfg)
        c = 8 * w
        self.to_grid_b = nn.Linear(c, c * 16)                                  # id -> (c, 4, 4)
        self.to_grid_f = nn.Conv1d(2 * c, c * 16, 1)                           # (audio, id) per frame
        up2 = lambda i, o: [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
        up3 = lambda i, o: [nn.ConvTranspose3d(i, o, (3, 4, 4), (1, 2, 2), (1, 1, 1), bias=False),
                            nn.BatchNorm3d(o), nn.ReLU(True)]
        self.background = nn.Sequential(*up2(c, c // 2), *up2(c // 2, c // 4), *up2(c // 4, c // 8),
                                        *up2(c // 8, c // 8), nn.Conv2d(c // 8, 3, 3, 1, 1), nn.Tanh())
        self.foreground = nn.Sequential(*up3(c, c // 2), *up3(c // 2, c // 4), *up3(c // 4, c // 8),
                                        *up3(c // 8, c // 8))
        self.to_video = nn.Sequential(nn.Conv3d(c // 8, 3, 3, 1, 1), nn.Tanh())
        self.to_mask = nn.Sequential(nn.Conv3d(c // 8, 1, 3, 1, 1), nn.Sigmoid())
        kaiming_init(self)

    def forward(self, lms: torch.Tensor, ref: torch.Tensor):
        f_s = self.audio_encoder(lms)                                          # (B, c, T, F)
        ident = self.image_encoder(ref).mean((2, 3))                           # (B, c)
        B, c, T, _ = f_s.shape
        b = self.background(self.to_grid_b(ident).view(B, c, 4, 4))            # (B, 3, 64, 64)
        a = torch.cat([f_s.mean(3), ident[:, :, None].expand(B, c, T)], 1)     # (B, 2c, T)
        g = self.to_grid_f(a).view(B, c, 16, T).permute(0, 1, 3, 2).reshape(B, c, T, 4, 4)
        h = self.foreground(g)                                                 # (B, c/8, T, 64, 64)
        m = self.to_mask(h)                                                    # (B, 1, T, 64, 64)
        return m * self.to_video(h) + (1 - m) * b.unsqueeze(2), f_s


BASELINES = {"StaticBaseline": StaticBaseline, "Speech2VidBaseline": Speech2VidBaseline,
             "VGANBaseline": VGANBaseline}


def load_baseline(path: str | os.PathLike, device="cpu") -> tuple[nn.Module, Config]:
    """A baseline checkpoint (written by ``checkpoints.export_network``) -> (model in eval mode, config)."""
    model, cfg, _ = load_network(path, BASELINES, device=device, formats=(BASELINE_FORMAT,))
    return model, cfg
