"""The authors' perceptual network: a 2-D ResNet lip autoencoder, trained to reconstruct lip frames
and then frozen; its (8w, 16, 16) encoder features per frame define L_perc in their code
(``LossConfig.perceptual = "autoencoder"``). The paper's text instead uses the discriminator's
intermediate features (``"discriminator"``, our default). Their weights were never released: train
one with ``lmg pretrain-autoencoder`` (``train.autoencoder.pretrain_autoencoder``) and pass it to
``lmg train --autoencoder FILE`` (``train.step.build_models(cfg, autoencoder=...)``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .blocks import conv_bn_relu, kaiming_init


class ResBlock2d(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class LipAutoencoder(nn.Module):
    """(N, 3, 64, 64) -> features (N, 8w, 16, 16) -> reconstruction (N, 3, 64, 64)."""

    def __init__(self, cfg: ModelConfig = ModelConfig(), n_blocks: int = 6):
        super().__init__()
        w = cfg.width
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3), conv_bn_relu(3, 2 * w, 7, 1, 0),
            conv_bn_relu(2 * w, 4 * w, 3, 2, 1), conv_bn_relu(4 * w, 8 * w, 3, 2, 1),
            *[ResBlock2d(8 * w) for _ in range(n_blocks)])
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8 * w, 4 * w, 3, 2, 1, output_padding=1, bias=False),
            nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1, bias=False),
            nn.BatchNorm2d(2 * w), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(2 * w, 3, 7), nn.Tanh())
        kaiming_init(self)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def video_features(self, video: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, T, H, W) -> [(B*T, 8w, H/4, W/4)], per-frame encoder features."""
        B, C, T, H, W = video.shape
        return [self.encoder(video.transpose(1, 2).reshape(B * T, C, H, W))]

    def freeze(self) -> "LipAutoencoder":
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self
