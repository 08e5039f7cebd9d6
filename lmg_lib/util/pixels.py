"""The pixel scale, in one place: networks see RGB in [-1, 1], files and metrics see uint8.

    from_uint8(x) = x / 127.5 - 1            uint8 [0, 255] -> float32 [-1, 1]
    to_uint8(x)   = round((x + 1) * 127.5)   float [-1, 1] -> uint8, clipped, computed in float64

``to_uint8`` rounds as an image writer does (the authors compared saved frames); it is the only
quantisation the evaluation applies to generated videos.
"""
from __future__ import annotations

import numpy as np


def from_uint8(x) -> np.ndarray:
    """uint8 (any shape) -> float32 in [-1, 1], same shape."""
    return np.asarray(x).astype(np.float32) / 127.5 - 1.0


def to_uint8(x) -> np.ndarray:
    """float in [-1, 1] (any shape; out-of-range values are clipped) -> uint8, same shape."""
    return np.clip(np.round((np.asarray(x, dtype=np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_uint8_frames(video) -> np.ndarray:
    """A clip in the model's layout (3, T, S, S) in [-1, 1] -> frames (T, S, S, 3) uint8."""
    return to_uint8(video).transpose(1, 2, 3, 0)


def poly_mask(points, shape) -> np.ndarray:
    """Antialiased filled polygon -> float32 alpha (H, W) in [0, 1]. ``points`` (K, 2) in pixel
    coordinates whose pixel centres are at integers (drawn at 1/16 px by cv2.fillPoly)."""
    import cv2
    m = np.zeros(tuple(shape), np.uint8)
    cv2.fillPoly(m, [np.round((np.asarray(points) + 0.5) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float32) / 255
