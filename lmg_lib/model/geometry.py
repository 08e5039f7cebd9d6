"""Clip geometry: every shape the networks read and make follows from ``ModelConfig``.

The audio encoder halves the spectrogram's time axis twice and its mel axis three times, the image
encoder halves the lip image twice, and the fusion needs both feature maps to be the same size:

    LMS (1, 4T, M) -> f_s (C, T, M/8)        lip (3, S, S) -> f_p (C, S/4, S/4)        M/8 = S/4

so a configuration of T frames of S x S pixels reads LMS clips of ``lms_shape = (1, 4T, 2S)``: 4
spectrogram steps per video frame and 2S mel bands (the paper: T = 16, S = 64, (1, 64, 128)).
``check_geometry`` refuses, with the reason, audio settings that do not give that shape and clip
sizes a network cannot make (the discriminator's video branch reduces exactly 16 frames to one).
"""
from __future__ import annotations

from ..config import AudioConfig, ModelConfig

LMS_STEPS_PER_FRAME = 4     # the audio encoder's time stride: one f_s step per video frame
MEL_STRIDE = 8              # the audio encoder's mel stride: F = M / 8
IMAGE_STRIDE = 4            # the image encoder's stride: f_p is S/4 x S/4 (= F x F)
DISCRIMINATOR_FRAMES = 16   # D's video branch: three stride-2 Conv3d and a k4 one, 16 frames -> 1


def feature_size(cfg: ModelConfig) -> int:
    """F = H = W of f_s and f_p (16 for 64 px lips)."""
    return cfg.image_size // IMAGE_STRIDE


def lms_shape(cfg: ModelConfig) -> tuple[int, int, int]:
    """The LMS clip the networks read: (1, 4T, 2S) = (1, 64, 128) for the paper."""
    return (1, LMS_STEPS_PER_FRAME * cfg.n_frames, MEL_STRIDE * feature_size(cfg))


def check_geometry(cfg: ModelConfig, audio: AudioConfig | None = None, discriminator: bool = False) -> None:
    """Raise ``ValueError`` (naming every reason) if the networks cannot honour this geometry.
    ``audio``: also check that the data's LMS clips have the shape the networks read;
    ``discriminator``: also check the clip size the three-stream discriminator needs."""
    T, S = cfg.n_frames, cfg.image_size
    why = []
    if S < IMAGE_STRIDE or S % IMAGE_STRIDE:
        why.append(f"image_size {S} is not a multiple of {IMAGE_STRIDE} (the image encoder halves it twice)")
    if T < 2:
        why.append(f"n_frames {T} < 2 (the correlation loss compares frame-to-frame changes)")
    if discriminator:
        if T != DISCRIMINATOR_FRAMES:
            why.append(f"n_frames {T}: the discriminator's video branch reduces exactly "
                       f"{DISCRIMINATOR_FRAMES} frames to one")
        if S % 16:
            why.append(f"image_size {S} is not a multiple of 16 (the discriminator halves it four times)")
    if audio is not None and not why:
        have = (1, T * audio.steps_per_frame, audio.n_mels)
        if have != lms_shape(cfg):
            why.append(f"the audio settings give LMS clips {have} (steps_per_frame {audio.steps_per_frame}, "
                       f"n_mels {audio.n_mels}) but {T}-frame {S}x{S} networks read {lms_shape(cfg)} "
                       f"({LMS_STEPS_PER_FRAME} steps per frame, 2 x image_size mel bands)")
    if why:
        raise ValueError("clip geometry the networks cannot honour: " + "; ".join(why))
