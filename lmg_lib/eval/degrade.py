"""Frames that look generated, and frames with no mouth: what the LMD landmark regressor must
handle before its landmarks on generated videos can be trusted.

``DEGRADATIONS`` turns real lip frames into the artefacts generators make (blur, noise, the
checkerboard of transposed convolutions, colour shift, a smeared mouth); the regressor is trained on
them (so it is robust) and its error is measured on them (so LMD on generated frames has a known
error bar). ``no_mouth_frames`` makes negatives for its presence ("is there a mouth?") output: noise,
checkerboards, flat colour, scrambled patches, and the real frame with its lips painted over
with the surrounding skin.

Every function takes and returns uint8 (N, S, S, 3) RGB frames and a numpy ``Generator``.
"""
from __future__ import annotations

import cv2
import numpy as np


def _u8(x) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def blur(frames, rng, sigma=(1.0, 2.0)):
    s = rng.uniform(*sigma) if isinstance(sigma, tuple) else sigma
    return np.stack([cv2.GaussianBlur(f, (0, 0), s) for f in frames])


def noise(frames, rng, sd=(4.0, 12.0)):
    s = rng.uniform(*sd) if isinstance(sd, tuple) else sd
    return _u8(frames.astype(np.float32) + rng.normal(0, s, frames.shape))


def checkerboard(frames, rng, amp=(8.0, 25.0)):
    """Add the period-2 (and period-4) pattern that transposed convolutions leave, per channel."""
    a = rng.uniform(*amp) if isinstance(amp, tuple) else amp
    S = frames.shape[1]
    y, x = np.mgrid[0:S, 0:S]
    pat = np.where((x + y) % 2 == 0, 1.0, -1.0) + 0.5 * np.where((x // 2 + y // 2) % 2 == 0, 1.0, -1.0)
    col = rng.uniform(-1, 1, 3)
    return _u8(frames.astype(np.float32) + a / 1.5 * pat[None, :, :, None] * col)


def colour_shift(frames, rng, amount=(0.05, 0.15)):
    g = 1 + rng.uniform(-1, 1, 3) * rng.uniform(*amount)
    return _u8(frames.astype(np.float32) * g)


def smear(frames, rng):
    """A generator's averaged mouth: each frame blended with a blurred copy of a neighbour frame."""
    b = blur(frames, rng, (1.5, 3.0)).astype(np.float32)
    w = rng.uniform(0.3, 0.6)
    return _u8((1 - w) * frames.astype(np.float32) + w * np.roll(b, 1, axis=0))


DEGRADATIONS = {"none": lambda f, rng: f, "blur": blur, "noise": noise, "checkerboard": checkerboard,
                "colour": colour_shift, "smear": smear,
                "blur+checkerboard+noise": lambda f, rng: noise(checkerboard(blur(f, rng), rng), rng)}


def random_degradation(frames, rng):
    """One random composition of degradations (each applied with probability 0.4)."""
    for name in ("smear", "blur", "colour", "checkerboard", "noise"):
        if rng.random() < 0.4:
            frames = DEGRADATIONS[name](frames, rng)
    return frames


# ------------------------------------------------------------------------------ negatives
def paint_out_mouth(frame, landmarks, rng):
    """The frame with the lips (outer contour, dilated) inpainted from the surrounding skin."""
    S = frame.shape[0]
    mask = np.zeros((S, S), np.uint8)
    pts = np.round(landmarks[:12] * 16).astype(np.int32)[None]
    cv2.fillPoly(mask, pts, 255, lineType=cv2.LINE_8, shift=4)
    mask = cv2.dilate(mask, np.ones((5, 5), np.uint8), iterations=int(rng.integers(1, 3)))
    return cv2.inpaint(frame, mask, 5, cv2.INPAINT_TELEA)


def no_mouth_frames(frames, landmarks, rng) -> np.ndarray:
    """As many frames as given, none showing a mouth: noise, checkerboard, flat colour,
    scrambled 8x8 patches of the frame, or the frame with its lips painted over (skin only)."""
    N, S = frames.shape[:2]
    out = np.empty_like(frames)
    for i in range(N):
        kind = rng.integers(5)
        if kind == 0:
            out[i] = _u8(rng.uniform(0, 255, 3) + rng.normal(0, rng.uniform(10, 80), (S, S, 3)))
        elif kind == 1:
            y, x = np.mgrid[0:S, 0:S]
            p = int(rng.choice([1, 2, 4]))
            c = ((x // p + y // p) % 2)[..., None]
            out[i] = _u8(c * rng.uniform(0, 255, 3) + (1 - c) * rng.uniform(0, 255, 3))
        elif kind == 2:
            out[i] = _u8(np.broadcast_to(rng.uniform(0, 255, 3), (S, S, 3)) + rng.normal(0, 3, (S, S, 3)))
        elif kind == 3:
            k = S // 8
            t = frames[i].reshape(k, 8, k, 8, 3).transpose(0, 2, 1, 3, 4).reshape(k * k, 8, 8, 3)
            t = t[rng.permutation(k * k)].reshape(k, k, 8, 8, 3).transpose(0, 2, 1, 3, 4)
            out[i] = t.reshape(S, S, 3)
        else:
            out[i] = paint_out_mouth(frames[i], landmarks[i], rng)
    return out
