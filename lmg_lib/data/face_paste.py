"""A real face to put lips into, for the two places where lips must sit in a face for dlib to see them.

dlib finds a mouth only inside a face it has detected, and it is unreliable on tight lip crops
(``landmarks.py``). Two steps of this project therefore put lips into a real photograph:

* the GRID-layout fixture (``grid_fixture.py``) blends the embedded corpus's rendered mouths into
  the face, so that its videos are full faces as in GRID (a soft mask along the lips, the colour
  matched to the skin around them);
* LMD measured as the authors did (``eval/dlib_lmd.py``): every 64x64 lip crop is pasted, as a
  hard square, into a fixed background face and dlib runs on that face (their ``bg.jpg`` is not
  released).

The face is scikit-image's ``astronaut`` (Eileen Collins, a public-domain NASA portrait), whose
own mouth is inpainted away so that only the pasted lips are there to be found.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .crop import crop_boxes


@dataclass(frozen=True)
class BackgroundFace:
    image: np.ndarray            # (H, W, 3) uint8, the face's own mouth inpainted away
    mouth: np.ndarray            # (20, 2) float32, its mouth landmarks (dlib), image pixels
    face_box: tuple              # (left, top, right, bottom) of dlib's face box

    @property
    def mouth_centre(self) -> np.ndarray:      # (2,) centre of the mouth box
        return (self.mouth.min(0) + self.mouth.max(0)) / 2

    @property
    def mouth_width(self) -> float:
        return float(self.mouth[:, 0].max() - self.mouth[:, 0].min())


@lru_cache(maxsize=8)
def background_face(width: int = 360, height: int = 288, mouth_width: float | None = None) -> BackgroundFace:
    """The astronaut's face in a ``width`` x ``height`` frame (GRID's 360x288 by default), scaled so
    that its mouth is ``mouth_width`` px wide (None: the photo's own scale, 45 px), the mouth centred
    horizontally, the mouth region inpainted. Deterministic; cached."""
    import cv2
    from skimage.data import astronaut
    from .landmarks import DlibLandmarks, LandmarkError
    dlib = DlibLandmarks()
    photo = astronaut()                                                    # (512, 512, 3)
    lm = dlib.detect(photo[None])[0]                                       # (20, 2)
    if np.isnan(lm).any():
        raise LandmarkError("dlib found no face in skimage.data.astronaut()")
    k = 1.0 if mouth_width is None else mouth_width / float(lm[:, 0].max() - lm[:, 0].min())
    if k != 1.0:
        photo = cv2.resize(photo, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        lm = (lm + 0.5) * k - 0.5
    c = (lm.min(0) + lm.max(0)) / 2
    x0 = int(round(c[0] - width / 2))
    y0 = int(np.clip(round(c[1] - 0.55 * height), 0, max(0, photo.shape[0] - height)))
    rows = np.clip(np.arange(y0, y0 + height), 0, photo.shape[0] - 1)     # edges replicated
    cols = np.clip(np.arange(x0, x0 + width), 0, photo.shape[1] - 1)
    img = np.ascontiguousarray(photo[rows][:, cols])
    lm = (lm - [x0, y0]).astype(np.float32)
    hole = np.zeros(img.shape[:2], np.uint8)                               # the mouth, a little wider
    cv2.fillConvexPoly(hole, cv2.convexHull(np.round(lm[:12]).astype(np.int32)), 255)
    grow = max(3, int(round(0.15 * (lm[:, 0].max() - lm[:, 0].min()))))
    hole = cv2.dilate(hole, np.ones((grow, grow), np.uint8))
    img = cv2.inpaint(img, hole, 5, cv2.INPAINT_TELEA)
    dlib.detect(img[None])
    box = dlib.last_face_boxes[0]
    if box is None:
        raise LandmarkError("dlib finds no face in the background face once its mouth is inpainted")
    img.setflags(write=False)
    return BackgroundFace(img, lm, tuple(int(v) for v in box))


def lip_alpha(points: np.ndarray, size: int, grow: int = 2, feather: float = 1.5) -> np.ndarray:
    """Soft mask of the outer lip (points 0-11 of (20, 2)) in a ``size`` px square: the polygon,
    grown by ``grow`` px and blurred with a Gaussian of ``feather`` px -> (size, size) float32 in [0, 1]."""
    import cv2
    a = np.zeros((size, size), np.uint8)
    cv2.fillPoly(a, [np.round(points[:12] * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    if grow:
        a = cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return cv2.GaussianBlur(a.astype(np.float32) / 255, (0, 0), feather) if feather else a / 255.0


def blend_mouths(face: BackgroundFace, crops: np.ndarray, landmarks: np.ndarray, grow: int = 2,
                 feather: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Blend the mouths of lip crops (N, s, s, 3) uint8 with landmarks (N, 20, 2) into ``face``:
    scaled to the face's mouth width, the sequence's median mouth centre on the face's mouth centre,
    a soft lip mask (``lip_alpha``) and one brightness gain so that the skin around the lips matches
    the face's (one gain for the whole sequence: no flicker; a gain per channel would tint the teeth).
    -> frames (N, H, W, 3) uint8 and the mouths' landmarks in frame pixels (N, 20, 2) float32."""
    import cv2
    crops, landmarks = np.asarray(crops), np.asarray(landmarks, np.float64)
    n, s = len(crops), crops.shape[1]
    width = np.median(landmarks[:, :, 0].max(1) - landmarks[:, :, 0].min(1))
    k = face.mouth_width / width                                          # crop px -> face px
    S = int(round(s * k))
    centre = np.median((landmarks.min(1) + landmarks.max(1)) / 2, axis=0)
    x0, y0 = np.round(face.mouth_centre - (centre + 0.5) * k + 0.5).astype(int)
    H, W = face.image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + S > W or y0 + S > H:
        raise ValueError(f"the scaled crop ({S} px at {x0}, {y0}) does not fit the {W}x{H} face")
    pts = (landmarks + 0.5) * k - 0.5                                     # (N, 20, 2) in the patch
    patch = np.stack([cv2.resize(c, (S, S), interpolation=cv2.INTER_CUBIC) for c in crops]).astype(np.float32)
    alpha = np.stack([lip_alpha(p, S, grow, feather) for p in pts])[..., None]   # (N, S, S, 1)
    region = face.image[y0:y0 + S, x0:x0 + S].astype(np.float32)          # (S, S, 3)
    inside = alpha.max(0)[..., 0] > 0.05
    ring = (cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & ~inside
    gain = region[ring].mean() / max(float(patch[:, ring].mean()), 1.0)   # brightness only: hues kept
    frames = np.repeat(face.image[None], n, axis=0)
    mixed = alpha * (patch * gain) + (1 - alpha) * region
    frames[:, y0:y0 + S, x0:x0 + S] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return frames, (pts + [x0, y0]).astype(np.float32)


def paste_crops(face: BackgroundFace, crops: np.ndarray, scale: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """The authors' paste for LMD: each lip crop (N, s, s, 3) uint8, as a hard square, over the
    face's own lip-crop box (``crop.crop_boxes`` of its mouth, side ``scale`` x the mouth box,
    resized to that side if it is not ``s``). -> frames (N, H, W, 3) uint8, box (3,) int (x0, y0, side)."""
    import cv2
    crops = np.asarray(crops)
    box = crop_boxes(face.mouth[None].astype(np.float64), np.ones(1, bool), "frame", scale)[0]
    x0, y0, side = (int(v) for v in box)
    H, W = face.image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + side > W or y0 + side > H:
        raise ValueError(f"the face's lip box {box} does not fit its {W}x{H} image")
    frames = np.repeat(face.image[None], len(crops), axis=0)
    for i, c in enumerate(crops):
        frames[i, y0:y0 + side, x0:x0 + side] = c if c.shape[0] == side else cv2.resize(c, (side, side),
                                                                                           interpolation=cv2.INTER_LINEAR)
    return frames, box
