"""LMD's landmarks on data that is not the embedded corpus: dlib on lip crops pasted into a face,
as the authors measured LMD, and the warning that the shipped regressor is out of its domain there.

The shipped lip-landmark regressor (``lip_landmarks.py``) was trained on the embedded corpus's
rendered lips (and degraded copies of them); its error is known only there. On real lips (GRID,
LRW, a GRID-layout folder without sidecars) it is outside its training domain: ``check_domain``
warns (``LandmarkDomainWarning``) and ``PastedFaceDlib`` is the detector to use instead.

The authors pasted every 64x64 crop, real and generated, into a fixed background face (their
``bg.jpg``, rows 237:301, cols 181:245; not released) so that dlib detects a face, and took dlib's
mouth points 48-67. Here the background face is ``data.face_paste.background_face`` (the astronaut,
her mouth inpainted away), scaled so that her own lip-crop box is the crop's size, and the crop
replaces that box; the points are mapped back into crop pixels. A frame where dlib finds no face is
NaN (counted as failed by ``metrics.lmd``; the authors' code crashed or skipped it).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..data.crop import CROP_SCALE, to_crop_coords
from ..data.face_paste import background_face, paste_crops
from ..data.landmarks import DlibLandmarks


class LandmarkDomainWarning(UserWarning):
    """The lip-landmark regressor is used on data unlike the frames it was trained on."""


def is_embedded_dataset(manifest: dict) -> bool:
    """True when every shard of a preprocessed dataset comes from the embedded corpus: only its
    sidecars give an utterance a lag (``lag_ms`` is null for real data)."""
    shards = manifest.get("shards", {})
    return bool(shards) and all(s.get("lag_ms") is not None for s in shards.values())


def check_domain(manifest: dict, what: str = "the shipped lip-landmark regressor") -> bool:
    """Warn (``LandmarkDomainWarning``) when ``manifest``'s dataset is not the embedded corpus, on
    which the regressor was trained; returns whether it is in its domain."""
    if is_embedded_dataset(manifest):
        return True
    warnings.warn(f"{what} was trained on the embedded corpus's rendered lips; the dataset of "
                  f"{manifest.get('corpus', '?')} (landmarks: {manifest.get('settings', {}).get('backend', '?')}) "
                  f"is outside its training domain, so its LMD error there is unknown. Use "
                  f"eval.dlib_lmd.PastedFaceDlib (dlib on crops pasted into a face, as the authors).",
                  LandmarkDomainWarning, stacklevel=2)
    return False


class PastedFaceDlib:
    """The detector interface of ``evaluate``: lip crops uint8 (N, S, S, 3) -> (N, 20, 2) float32
    in crop pixels, NaN where dlib finds no face. ``detect_every`` as ``DlibLandmarks`` (1: the face
    detector on every pasted frame, as the authors)."""
    name = "dlib on crops pasted into a face (the authors' LMD)"
    error = "not measured by training: dlib's 68-point model, on a real face photo"

    def __init__(self, size: int = 64, detect_every: int = 1):
        self.size = int(size)
        self.face = background_face(200, 200, mouth_width=self.size / CROP_SCALE)
        self.dlib = DlibLandmarks(detect_every=detect_every, keep_box=False)

    def detect(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[1:] != (self.size, self.size, 3) or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (N, {self.size}, {self.size}, 3), got {frames.dtype} {frames.shape}")
        faces, box = paste_crops(self.face, frames)                     # (N, 200, 200, 3), (x0, y0, side)
        pts = self.dlib.detect(faces)                                   # (N, 20, 2) face pixels, NaN: no face
        return to_crop_coords(pts, np.broadcast_to(box, (len(frames), 3)), self.size)
