"""The generator G(s, p): speech LMS + one lip image -> a 16-frame lip video of that identity."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .blocks import kaiming_init
from . import fast_forms
from .decoder import VideoDecoder
from .encoders import AudioEncoder, ImageEncoder
from .fusion import fuse
from .geometry import check_geometry, lms_shape


class LipGenerator(nn.Module):
    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        check_geometry(cfg)
        self.cfg = cfg
        self.audio_encoder = AudioEncoder(cfg)
        self.image_encoder = ImageEncoder(cfg)
        self.decoder = VideoDecoder(cfg)
        # the ONE switch of model/fast_forms.py: the same sums regrouped, tested equal, used on a
        # CPU where they are measured faster; False runs the paper's forms below everywhere
        self.fast_forms = True
        kaiming_init(self)

    def forward(self, lms: torch.Tensor, lip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """lms (B, 1, 64, 128), lip (B, 3, 64, 64) -> video (B, 3, 16, 64, 64) in [-1, 1], f_s."""
        check_inputs(lms, lip, self.cfg)
        f_s = self.audio_encoder(lms)                                  # (B, C, T, F)
        f_p, skips = self.image_encoder(lip, return_skips=True)       # (B, C, H, W), [32^2, 64^2 maps]
        skips = skips if self.cfg.identity_skips else None            # identity skips: not in the paper
        if self.fast_forms and f_s.device.type == "cpu":
            return fast_forms.decode(self.decoder, f_s, f_p, skips), f_s
        return self.decoder(fuse(f_s, f_p), skips), f_s                # (B, 3, T, 64, 64), f_s


def check_inputs(lms: torch.Tensor, lip: torch.Tensor, cfg: ModelConfig) -> None:
    """Clear errors for inputs of the wrong shape, channels or range."""
    S, want = cfg.image_size, lms_shape(cfg)
    if lms.dim() != 4 or tuple(lms.shape[1:]) != want:
        raise ValueError(f"LMS must be (B, {', '.join(map(str, want))}), got {tuple(lms.shape)}")
    if lip.dim() != 4 or lip.shape[1] != 3:
        raise ValueError(f"lip image must be RGB (B, 3, {S}, {S}), got {tuple(lip.shape)}"
                         + (" (grayscale/RGBA: convert to RGB first)" if lip.dim() == 4 else ""))
    if lip.shape[2:] != (S, S):
        raise ValueError(f"lip image must be {S}x{S}, got {lip.shape[2]}x{lip.shape[3]}")
    if lip.shape[0] != lms.shape[0]:
        raise ValueError(f"batch sizes differ: LMS {lms.shape[0]} vs lip {lip.shape[0]}")
    if not torch.isfinite(lip).all() or lip.abs().max() > 1.0 + 1e-4:
        raise ValueError("lip image must be finite and scaled to [-1, 1]")
