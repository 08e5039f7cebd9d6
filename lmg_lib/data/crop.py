"""Lip-crop geometry, one owner for preprocessing (every frame of a corpus, ``preprocess.py``) and
inference (one face photo, ``lmg generate``): mouth landmarks -> a square box -> the crop.

The box is centred on the mouth box with side ``CROP_SCALE * max(width, height)`` of it, as the
authors; out-of-frame parts are filled by edge replication, and crops are resized with area
interpolation (linear when growing). Landmarks are mapped into crop pixels with pixel centres at
integers.
"""
from __future__ import annotations

import numpy as np

CROP_SCALE = 1.3                 # authors: square side = 1.3 * max(mouth width, mouth height)


def crop_boxes(lm: np.ndarray, valid: np.ndarray, mode: str = "utterance",
               scale: float = CROP_SCALE) -> np.ndarray:
    """Square crop boxes (N, 3) int (x0, y0, side) in source pixels from mouth landmarks (N, 20, 2).

    ``utterance``: one box for all frames (median centre and size over valid frames);
    ``frame``: the authors' box on every frame."""
    lo, hi = lm.min(axis=1), lm.max(axis=1)                 # (N, 2) each
    centre = (lo + hi) / 2                                  # (N, 2)
    side = scale * (hi - lo).max(axis=1)                    # (N,)
    if mode == "utterance":
        centre = np.broadcast_to(np.median(centre[valid], axis=0), centre.shape)
        side = np.broadcast_to(np.median(side[valid]), side.shape)
    elif mode != "frame":
        raise ValueError(f"unknown box mode {mode!r}; choose 'utterance' or 'frame'")
    side = np.maximum(np.round(side), 4)
    x0y0 = np.round(centre - side[:, None] / 2)
    return np.concatenate([x0y0, side[:, None]], axis=1).astype(np.int64)


def crop_frames(frames: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 + boxes (N, 3) -> (N, size, size, 3) uint8; edges replicated."""
    import cv2
    n, h, w, _ = frames.shape
    out = np.empty((n, size, size, 3), np.uint8)
    for i, (x0, y0, s) in enumerate(boxes):
        rows = np.clip(np.arange(y0, y0 + s), 0, h - 1)
        cols = np.clip(np.arange(x0, x0 + s), 0, w - 1)
        patch = frames[i][rows][:, cols]
        interp = cv2.INTER_AREA if s >= size else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (size, size), interpolation=interp)
    return out


def to_crop_coords(lm: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Source pixel coordinates (N, 20, 2) -> crop pixel coordinates (pixel centres at integers)."""
    k = size / boxes[:, 2].astype(np.float64)               # (N,)
    return ((lm - boxes[:, None, :2] + 0.5) * k[:, None, None] - 0.5).astype(np.float32)
