"""(Beyond the paper) ``lmg generate --view face``: the whole photo, with each generated lip crop
pasted back into the mouth region it was cut from, as users of lip-sync tools expect.

A generated frame is an S x S crop of the box (x0, y0, side) that ``images.lip_from_face`` cut
(``data/crop.py``). Pasting it back:

    1. resize the crop to side x side (cubic);
    2. colour matching in CIELAB: the crop's mean and standard deviation per channel over the RING
       (the soft mask's outer half: skin around the lips, which should look like the photo) are
       matched to the photo's over the same pixels, and the transfer is applied to the whole crop.
       The ring excludes the mouth, so a mouth that opens (darker) does not shift the skin;
    3. blend with a soft mask: 1 on a squarish superellipse around the mouth, falling to 0 with a raised cosine
       before the box edge (``FEATHER`` of the half side). Outside the box the photo is unchanged,
       exactly (the mask is 0 there and those pixels are copied, not blended).

Parts of the box outside the photo (the crop replicated the edge) are clipped away.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INNER = 0.7           # mask == 1 inside this radius (a superellipse, in units of the half side)
FEATHER = 0.98        # ... and falls to 0 at this radius (raised cosine between the two)
RING = 0.82           # colour statistics over the mask's outer part: radius in [RING, FEATHER)
POWER = 4             # superellipse |x|^4 + |y|^4 = r^4: squarish, so the mouth corners (at ~0.77
                      # of the half side: the box is 1.3 x the mouth width) stay inside the blend


def _radius(side: int) -> np.ndarray:
    """(side, side) superellipse radius of every pixel from the box centre, in half sides."""
    c = (side - 1) / 2
    yy, xx = np.mgrid[0:side, 0:side]
    x, y = np.abs(xx - c) / (side / 2), np.abs(yy - c) / (side / 2)
    return (x ** POWER + y ** POWER) ** (1.0 / POWER)


def soft_mask(side: int, inner: float = INNER, outer: float = FEATHER) -> np.ndarray:
    """(side, side) float32 in [0, 1]: 1 within radius ``inner``, 0 beyond ``outer`` (radii in
    units of the half side, from the box centre), a raised cosine between: smooth (C1), symmetric."""
    t = np.clip((_radius(side) - inner) / (outer - inner), 0.0, 1.0)
    return (0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32)


def ring_mask(side: int) -> np.ndarray:
    """(side, side) bool: the skin ring where colour statistics are taken (radius in [RING, FEATHER))."""
    r = _radius(side)
    return (r >= RING) & (r < FEATHER)


def _lab(rgb_u8: np.ndarray) -> np.ndarray:
    import cv2
    return cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)   # L in [0, 100]


def _rgb(lab: np.ndarray) -> np.ndarray:
    import cv2
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0.0, 1.0)    # float [0, 1]


def colour_match(src_u8: np.ndarray, ref_u8: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Match ``src``'s per-channel CIELAB mean and std over ``where`` to ``ref``'s over the same
    pixels; applied to every pixel of ``src``. (H, W, 3) uint8 x2, (H, W) bool -> (H, W, 3) float
    RGB in [0, 1]. The gain is limited to [0.5, 2] so a flat region cannot blow up the contrast."""
    s, r = _lab(src_u8), _lab(ref_u8)
    sm, ss = s[where].mean(0), s[where].std(0)                          # (3,) each
    rm, rs = r[where].mean(0), r[where].std(0)
    gain = np.clip(rs / np.maximum(ss, 1e-3), 0.5, 2.0)
    return _rgb((s - sm) * gain + rm)


@dataclass
class FacePaster:
    """Pastes S x S lip crops back into ``image`` (H, W, 3) uint8 at ``box`` = (x0, y0, side)."""
    image: np.ndarray
    box: tuple[int, int, int]
    colour: bool = True

    def __post_init__(self):
        x0, y0, s = (int(v) for v in self.box)
        H, W = self.image.shape[:2]
        self.ys = slice(max(y0, 0), min(y0 + s, H))                     # the box, clipped to the photo
        self.xs = slice(max(x0, 0), min(x0 + s, W))
        if self.ys.start >= self.ys.stop or self.xs.start >= self.xs.stop:
            raise ValueError(f"crop box {self.box} lies outside the {W}x{H} photo")
        self.cy = slice(self.ys.start - y0, self.ys.stop - y0)            # the same pixels in box coords
        self.cx = slice(self.xs.start - x0, self.xs.stop - x0)
        self.side = s
        self.mask = soft_mask(s)[self.cy, self.cx][:, :, None]            # (h, w, 1)
        self.ring = ring_mask(s)[self.cy, self.cx]                        # (h, w)
        self.region = self.image[self.ys, self.xs]                        # (h, w, 3) uint8, the photo

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """crop (S, S, 3) uint8 -> the photo (H, W, 3) uint8 with the crop blended into the box."""
        import cv2
        big = cv2.resize(np.ascontiguousarray(crop), (self.side, self.side), interpolation=cv2.INTER_CUBIC)
        big = big[self.cy, self.cx]                                       # (h, w, 3) uint8
        if self.colour and self.ring.any():
            big_f = colour_match(big, self.region, self.ring)             # (h, w, 3) float [0, 1]
        else:
            big_f = big.astype(np.float32) / 255.0
        ref = self.region.astype(np.float32) / 255.0
        mixed = self.mask * big_f + (1.0 - self.mask) * ref
        out = self.image.copy()
        out[self.ys, self.xs] = np.clip(np.round(mixed * 255.0), 0, 255).astype(np.uint8)
        return out

    def crop_of(self, face: np.ndarray, size: int) -> np.ndarray:
        """The S x S lip crop of a (pasted) face, cut with the same box: (size, size, 3) uint8."""
        from ..data.crop import crop_frames
        return crop_frames(face[None], np.asarray([self.box]), size)[0]


def paste_stream(frames, paster: FacePaster):
    """Lip crops, one at a time -> pasted faces, one at a time (keeps ``stream_video``'s flat memory)."""
    for f in frames:
        yield paster(f)
