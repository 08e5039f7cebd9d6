"""ThreeStreamDiscriminator D(s, v): is video v a real recording of speech s?

Audio branch: the four audio convs of G's encoder (its own copy) -> flatten -> Linear -> 8w.
Video branch: four Conv3d k4 (3 -> 2w -> 4w -> 8w -> 16w), time and space downsampled to (1, 4, 4).
Joint: the audio vector is tiled over (1, 4, 4), concatenated, Conv3d k3 + BN + ReLU, Conv3d k(1,4,4)
-> one logit per clip. We return logits (the sigmoid lives in the BCE-with-logits losses, which is
the same maths, numerically safer) and the video branch's intermediate features, which the
perceptual / feature-matching loss compares for real and generated videos.

The three streams of the paper are three calls: D(s, v) real, D(s, v_hat) fake, D(s, v_mismatch) fake.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .blocks import conv_bn_relu, kaiming_init
from .encoders import audio_trunk
from .geometry import check_geometry, lms_shape


class ThreeStreamDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        check_geometry(cfg, discriminator=True)
        w, S = cfg.width, cfg.image_size
        _, L, M = lms_shape(cfg)                                                  # (1, 4T, M)
        self.audio = audio_trunk(w)                                               # (B, 8w, T, M/4)
        self.audio_fc = nn.Sequential(nn.Flatten(), nn.Linear(8 * w * (L // 4) * (M // 4), 8 * w),
                                      nn.ReLU(True))
        self.video = nn.ModuleList([
            nn.Sequential(nn.Conv3d(3, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, True)),  # (B, 2w, T/2, S/2, S/2)
            conv_bn_relu(2 * w, 4 * w, 4, 2, 1, dims=3),                           # (B, 4w, T/4, S/4, S/4)
            conv_bn_relu(4 * w, 8 * w, 4, 2, 1, dims=3),                           # (B, 8w, T/8, S/8, S/8)
            conv_bn_relu(8 * w, 16 * w, 4, (1, 2, 2), 1, dims=3),                  # (B, 16w, 1, 4, 4)
        ])
        self.joint = nn.Sequential(conv_bn_relu(24 * w, 16 * w, 3, 1, 1, dims=3),
                                   nn.Conv3d(16 * w, 1, (1, S // 16, S // 16)))
        kaiming_init(self)

    def forward(self, lms: torch.Tensor, video: torch.Tensor):
        """lms (B, 1, 64, 128), video (B, 3, 16, 64, 64) -> logits (B,), [video features]."""
        a = self.audio_fc(self.audio(lms))                       # (B, 8w)
        feats, x = [], video
        for layer in self.video:
            x = layer(x)
            feats.append(x)
        a = a[:, :, None, None, None].expand(-1, -1, *x.shape[2:])  # (B, 8w, 1, 4, 4)
        logit = self.joint(torch.cat([x, a], 1))                    # (B, 1, 1, 1, 1)
        return logit.flatten(), feats
