"""(Beyond the paper) ``lmg generate --view warp``: move the photo's own mouth instead of pasting a
generated one.

The generator's crops of a real photo are soft and corpus-like. This mode keeps the photo's pixels and
only moves them, driven by the mouth SHAPE of each generated frame: 20 lip landmarks found on the
generated crop (the caller passes them: ``lmg generate`` uses the lip-landmark regressor of
``eval/lip_landmarks.py``). Their motion relative to the model's own rest mouth for this photo (its
landmarks on frames generated from silence) is moved onto the photo's dlib mouth landmarks,

    target[t] = photo_lm + (gen_lm[t] - gen_rest) * (photo mouth width / generated mouth width),

and a piecewise-affine warp moves the lip region from ``photo_lm`` to ``target[t]``: a triangulation
of the 20 mouth points and 16 fixed anchors on the crop box's edge, so everything outside the box is
the photo, exactly. Where the mouth opens wider than the photo's, the new inside of the inner lips is
synthesised: a dark cavity with a band of teeth under the upper lip, blended in proportion to the
extra opening (a mouth as open as the photo's shows the photo's own interior, warped).

The numbers this mode reports must not be measured with the landmarks that drove it: the benchmark
scores it with dlib on the warped photo (``benchmarks/real_photos.py``).
"""
from __future__ import annotations

import numpy as np

from ..util.pixels import poly_mask

OUTER, INNER = slice(0, 12), slice(12, 20)     # 48-59 outer lip, 60-67 inner lip
N_ANCHORS = 16
MAX_SHIFT = 0.35                               # clip a point's motion to this fraction of the mouth width


def mouth_width(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[6] - lm[0]))


def inner_gap(lm: np.ndarray) -> float:
    """Distance between the inner lips at the centre (points 62 and 66), px."""
    return float(np.linalg.norm(lm[14] - lm[18]))


def crop_to_photo(pts: np.ndarray, box, size: int) -> np.ndarray:
    """Crop pixel coordinates (..., 2) of an S x S crop of ``box`` = (x0, y0, side) -> photo pixels."""
    x0, y0, side = box
    return (pts + 0.5) * (side / size) - 0.5 + np.array([x0, y0], np.float32)


def _anchors(box) -> np.ndarray:
    x0, y0, side = box
    t = np.linspace(0, 1, N_ANCHORS // 4, endpoint=False)
    e = side - 1
    edges = [np.stack([x0 + t * e, np.full_like(t, y0)], 1), np.stack([np.full_like(t, x0 + e), y0 + t * e], 1),
             np.stack([x0 + e - t * e, np.full_like(t, y0 + e)], 1), np.stack([np.full_like(t, x0), y0 + e - t * e], 1)]
    return np.concatenate(edges).astype(np.float32)                     # (16, 2)


class MouthWarper:
    """Warps one photo's mouth region to target mouth landmarks, frame by frame."""

    def __init__(self, image: np.ndarray, box, photo_lm: np.ndarray, rest_lm: np.ndarray):
        from scipy.spatial import Delaunay
        self.image, self.box = image, tuple(int(v) for v in box)
        x0, y0, side = self.box
        H, W = image.shape[:2]
        self.xs = slice(max(x0, 0), min(x0 + side, W))
        self.ys = slice(max(y0, 0), min(y0 + side, H))
        self.region = image[self.ys, self.xs].astype(np.float32)          # (h, w, 3)
        self.origin = np.array([self.xs.start, self.ys.start], np.float32)
        self.photo_lm = np.asarray(photo_lm, np.float32)                  # (20, 2) photo pixels
        self.rest_lm = np.asarray(rest_lm, np.float32)                    # (20, 2) photo pixels
        self.scale = mouth_width(self.photo_lm) / max(mouth_width(self.rest_lm), 1e-3)
        self.src = np.concatenate([self.photo_lm, _anchors(self.box)]) - self.origin   # (36, 2) region px
        self.tri = Delaunay(self.src).simplices                           # fixed topology
        self.gap0 = inner_gap(self.photo_lm)
        inner = poly_mask(self.src[INNER], self.region.shape[:2]) > 0.5                         # the photo's own mouth interior
        lum = self.region.mean(-1)
        bright = inner & (lum > 140)                                      # teeth the photo shows, if any
        self.teeth = self.region[bright].mean(0) if bright.sum() >= 5 else np.array([215.0, 205.0, 185.0])
        lips = (poly_mask(self.src[OUTER], self.region.shape[:2]) > 0.5) & ~inner
        self.cavity = (self.region[lips].mean(0) if lips.any() else np.array([120.0, 50, 50])) * 0.18

    def target(self, gen_lm: np.ndarray) -> np.ndarray:
        """Generated-frame landmarks (20, 2), photo pixels -> the photo's target landmarks (20, 2)."""
        d = (np.asarray(gen_lm, np.float32) - self.rest_lm) * self.scale
        lim = MAX_SHIFT * mouth_width(self.photo_lm)
        d *= np.minimum(1.0, lim / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6))
        return self.photo_lm + d

    def __call__(self, target_lm: np.ndarray) -> np.ndarray:
        """Target mouth landmarks (20, 2), photo pixels (NaN: no motion) -> the warped photo (H, W, 3) uint8."""
        import cv2
        tgt = np.asarray(target_lm, np.float32)
        if np.isnan(tgt).any():
            tgt = self.photo_lm
        dst = np.concatenate([tgt - self.origin, self.src[20:]])
        h, w = self.region.shape[:2]
        map_x, map_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        for simplex in self.tri:                                          # dst triangle -> src pixels
            d, s = dst[simplex], self.src[simplex]
            if abs(np.cross(d[1] - d[0], d[2] - d[0])) < 0.5:
                continue
            A = cv2.getAffineTransform(d.astype(np.float32), s.astype(np.float32))   # (2, 3) dst -> src
            lo = np.maximum(np.floor(d.min(0)).astype(int), 0)
            hi = np.minimum(np.ceil(d.max(0)).astype(int) + 1, [w, h])
            if (hi <= lo).any():
                continue
            yy, xx = np.mgrid[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
            inside = _in_triangle(xx, yy, d)
            map_x[lo[1]:hi[1], lo[0]:hi[0]][inside] = (A[0, 0] * xx + A[0, 1] * yy + A[0, 2])[inside]
            map_y[lo[1]:hi[1], lo[0]:hi[0]][inside] = (A[1, 0] * xx + A[1, 1] * yy + A[1, 2])[inside]
        out = cv2.remap(self.region, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        gap = inner_gap(tgt)
        extra = np.clip((gap - self.gap0) / max(gap, 1e-3), 0, 1)        # share of the opening that is new
        if extra > 0.02:
            t = tgt - self.origin
            mouth = cv2.GaussianBlur(poly_mask(t[INNER], self.region.shape[:2]), (0, 0), 0.6)
            up = t[14, 1]                                                 # inner upper lip, centre (62)
            band = np.clip((up + 0.3 * gap + 1 - np.arange(h, dtype=np.float32)[:, None]) / 1.5, 0, 1)   # teeth under the top lip
            inside = self.cavity * (1 - band[..., None]) + self.teeth * band[..., None]
            a = (0.95 * extra * mouth)[..., None]
            out = out * (1 - a) + inside * a
        image = self.image.copy()
        image[self.ys, self.xs] = np.clip(np.round(out), 0, 255).astype(np.uint8)
        return image


def _in_triangle(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Pixels (x, y) inside (or on) triangle t (3, 2), by the signs of the three edge functions."""
    def edge(a, b):
        return (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
    e0, e1, e2 = edge(t[0], t[1]), edge(t[1], t[2]), edge(t[2], t[0])
    return ((e0 >= -1e-3) & (e1 >= -1e-3) & (e2 >= -1e-3)) | ((e0 <= 1e-3) & (e1 <= 1e-3) & (e2 <= 1e-3))


def rest_audio(sample_rate: int, seconds: float = 0.64) -> tuple[np.ndarray, int]:
    """Near-silence (white noise at about -50 dBFS, seeded): the speech the model's rest mouth is
    generated from (pure zeros are refused as silent input)."""
    y = np.random.default_rng(0).normal(0, 0.003, int(seconds * sample_rate)).astype(np.float32)
    return y, sample_rate


def smooth3(prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """[1, 2, 1] / 4 over three frames' landmarks: the regressor's frame-to-frame jitter, halved."""
    return 0.25 * prev + 0.5 * cur + 0.25 * nxt


def warp_stream(frames, warper: MouthWarper, detect, size: int):
    """Generated crops, one at a time -> warped photos, one at a time (one frame of look-ahead for the
    smoothing; flat memory like ``stream_video``). ``detect``: crop (S, S, 3) uint8 -> (20, 2) crop px."""
    box = warper.box
    lms: list[np.ndarray] = []
    emit = lambda p, c, n: warper(warper.target(crop_to_photo(smooth3(p, c, n), box, size)))
    for f in frames:
        lms.append(np.asarray(detect(f), np.float32))
        if len(lms) == 2:                              # the first frame: no frame before it
            yield emit(lms[0], lms[0], lms[1])
        elif len(lms) == 3:
            yield emit(*lms)
            lms.pop(0)
    if len(lms) == 1:
        yield emit(lms[0], lms[0], lms[0])
    elif lms:
        yield emit(lms[-2], lms[-1], lms[-1])


def warp_photo_stream(G, cfg, lip: dict, frames, detector, device: str = "cpu"):
    """The whole of ``--view warp`` for one face photo: ``lip`` is ``lip_image_from``'s dict (kind
    'face'), ``frames`` the generated crops (any iterable), ``detector`` anything with
    ``detect_with_presence`` (``lmg generate`` passes the shipped lip-landmark regressor; its points are
    used whatever its presence score: generated crops of a photo are outside its training domain).
    The rest shape is the detector's mean mouth on crops generated from near-silence."""
    from .generate import generate_video
    from .images import mouth_landmarks
    S = cfg.model.image_size
    rest = generate_video(G, cfg, rest_audio(cfg.audio.sample_rate), lip["lip"], device=device)
    rest_lm = crop_to_photo(detector.detect_with_presence(rest)[0].mean(0), lip["box"], S)
    warper = MouthWarper(lip["image"], lip["box"], mouth_landmarks(lip["image"]), rest_lm)
    return warp_stream(frames, warper, lambda f: detector.detect_with_presence(f[None])[0][0], S)
