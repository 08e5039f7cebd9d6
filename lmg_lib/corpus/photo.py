"""The photographic style of the embedded corpus (opt-in: ``CorpusConfig(style="photo")``,
``lmg corpus --style photo``).

Real lip crops differ from the rendered style in texture more than in geometry: skin with pores,
blotches and stubble, lips with vertical creases, a darker lip line and a wet highlight, a colour
cast from the camera's white balance, blur and the blocks of a video codec. ``PhotoStyle`` adds these
on top of a rendered frame, placed by that frame's own landmarks, so everything the evaluation
relies on (landmarks, lag, phonemes, audio) is the rendered style's, bit for bit: only the look of
an utterance changes. A speaker's texture comes from its own random stream (seed, 4, speaker), an
utterance's camera from (seed, 5, speaker, utterance), so the rendered style's streams are untouched.

Choices made here (no photo was looked at to set them; ranges are from what webcam lip crops of
64 px typically show): skin mottling 2-6 % of luminance at two scales, pores 1-3 %; lip creases are
thin dark lines across the lips (6-12 per mouth width) that follow the mouth, so they stretch and
move with it; a third of the speakers have stubble, a tenth a moustache; JPEG quality 35-90 stands
in for a video codec.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..util.pixels import poly_mask

OUTER, INNER = slice(0, 12), slice(12, 20)          # 48-59 outer lip, 60-67 inner lip
LOWER_LIP = [6, 7, 8, 9, 10, 11, 0, 12, 19, 18, 17, 16]   # outer 54..59, 48, then inner 60, 67..64


@dataclass(frozen=True)
class PhotoLook:
    """A speaker's skin and lip texture (amplitudes are relative luminance changes)."""
    mottle: float = 0.02          # low-frequency skin blotches
    pores: float = 0.02           # fine skin grain
    creases: float = 0.08         # darkening along the vertical lip lines
    crease_freq: float = 11.0     # lip lines per mouth width
    liner: float = 0.15           # darkening at the lip's outer edge
    gloss: float = 0.1            # wet highlight on the lower lip
    stubble: float = 0.0          # beard-dot density in [0, 1]
    moustache: bool = False
    texture_seed: int = 0


def random_photo_look(rng: np.random.Generator) -> PhotoLook:
    return PhotoLook(mottle=round(rng.uniform(0.012, 0.035), 4), pores=round(rng.uniform(0.01, 0.03), 4),
                     creases=round(rng.uniform(0.04, 0.14), 4), crease_freq=round(rng.uniform(8, 14), 3),
                     liner=round(rng.uniform(0.05, 0.25), 4), gloss=round(rng.uniform(0.04, 0.18), 4),
                     stubble=round(float(rng.uniform(0.15, 0.5)) if rng.uniform() < 1 / 3 else 0.0, 4),
                     moustache=bool(rng.uniform() < 0.1), texture_seed=int(rng.integers(2**31)))


@dataclass(frozen=True)
class Camera:
    """One utterance's camera: white balance, contrast, blur, chroma noise, JPEG quality."""
    white_balance: tuple = (1.0, 1.0, 1.0)
    contrast: float = 1.0
    blur: float = 0.0             # Gaussian sigma (px)
    chroma_noise: float = 0.0     # std of low-frequency colour noise per frame (0..1 scale)
    jpeg_quality: int = 90


def random_camera(rng: np.random.Generator) -> Camera:
    return Camera(white_balance=tuple(np.round(rng.uniform(0.93, 1.07, 3), 4)),
                  contrast=round(rng.uniform(0.85, 1.15), 4), blur=round(rng.uniform(0.0, 0.9), 4),
                  chroma_noise=round(rng.uniform(0.0, 0.015), 4), jpeg_quality=int(rng.integers(35, 91)))


class PhotoStyle:
    """Applies one speaker's photographic look to rendered frames (caches the skin fields)."""

    def __init__(self, look: PhotoLook, size: int = 64):
        self.look, self.size = look, size
        rng = np.random.default_rng(look.texture_seed)
        field = lambda sigma: cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), sigma)
        norm = lambda f: f / (f.std() + 1e-6)
        self.skin = look.mottle * norm(field(size / 16)) + look.mottle * 0.5 * norm(field(size / 40)) \
            + look.pores * norm(field(0.6))                                                    # (S, S)
        dots = (rng.uniform(size=(size, size)) < look.stubble * 0.5).astype(np.float32)
        self.dots = cv2.GaussianBlur(dots, (0, 0), 0.5)                                          # beard grain
        self.crease_phase = norm(field(size / 20)) * 0.8                                        # wavy lip lines

    def frame(self, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        """Texture of one frame: img (S, S, 3) uint8 + its landmarks (20, 2) -> (S, S, 3) float32 in [0, 1]."""
        S, L = self.size, self.look
        f = img.astype(np.float32) / 255
        mouth = poly_mask(lm[OUTER], (S, S))                              # lips + opening
        opening = poly_mask(lm[INNER], (S, S))
        lips = np.clip(mouth - opening, 0, 1)
        skin = 1 - cv2.GaussianBlur(mouth, (0, 0), 1.0) * 1.5
        skin = np.clip(skin, 0, 1)
        # mouth coordinates: u along the mouth (corner 48 -> corner 54), v across it
        c0, c1 = lm[0], lm[6]
        centre, axis = (c0 + c1) / 2, (c1 - c0) / max(np.linalg.norm(c1 - c0), 1e-3)
        hw = np.linalg.norm(c1 - c0) / 2
        y, x = np.mgrid[0:S, 0:S].astype(np.float32)
        u = ((x - centre[0]) * axis[0] + (y - centre[1]) * axis[1]) / hw                # -1..1 corner to corner
        v = (-(x - centre[0]) * axis[1] + (y - centre[1]) * axis[0]) / hw               # down is positive
        # skin: mottling and pores; stubble below the nose and on the chin; a moustache band
        lum = 1 + skin * self.skin
        beard = self.dots * skin * np.clip((np.abs(v) - 0.25) * 4, 0, 1) * np.clip((1.6 - np.abs(u)) * 2, 0, 1)
        if L.moustache:
            top = lm[[2, 3, 4], 1].min()
            band = np.clip(1 - np.abs(y - (top - 0.22 * hw)) / (0.18 * hw), 0, 1) * np.clip(1.2 - np.abs(u), 0, 1)
            beard = np.maximum(beard, band * skin * cv2.GaussianBlur(self.dots + 0.5, (0, 0), 0.7))
        lum *= 1 - 0.3 * np.clip(beard, 0, 1)
        # lips: vertical creases that follow the mouth, a darker outer edge, a highlight on the lower lip
        crease = np.cos(np.pi * L.crease_freq * (u / 2 + 0.02 * self.crease_phase)) ** 4 * (0.6 + 0.4 * np.tanh(self.crease_phase))
        edge = np.clip(cv2.GaussianBlur(mouth, (0, 0), 0.8) * (1 - cv2.erode(mouth, np.ones((3, 3), np.uint8))), 0, 1)
        lum *= 1 - lips * L.creases * crease - L.liner * edge * (1 - opening)
        lower = poly_mask(lm[LOWER_LIP], (S, S))
        low_mid = lm[[9, 18], 1].mean()
        gloss = lower * np.exp(-0.5 * ((u / 0.25) ** 2 + ((y - low_mid) / (0.08 * hw + 0.5)) ** 2))
        f = np.clip(f * lum[..., None] + L.gloss * gloss[..., None] * (1 - f), 0, 1)
        soft = cv2.GaussianBlur(edge, (0, 0), 1.0)[..., None]                  # real lip borders are soft
        return f + np.clip(2 * soft, 0, 1) * (cv2.GaussianBlur(f, (0, 0), 0.8) - f)

    def __call__(self, frames: np.ndarray, landmarks: np.ndarray, camera: Camera,
                 rng: np.random.Generator) -> np.ndarray:
        """frames (T, S, S, 3) uint8 + landmarks (T, 20, 2) -> (T, S, S, 3) uint8 through the camera."""
        out = np.empty_like(frames)
        wb = np.asarray(camera.white_balance, np.float32)
        for t, (img, lm) in enumerate(zip(frames, landmarks)):
            f = self.frame(img, lm) * wb
            f = (f - f.mean()) * camera.contrast + f.mean()
            if camera.blur > 0.05:
                f = cv2.GaussianBlur(f, (0, 0), camera.blur)
            if camera.chroma_noise > 0:
                f += cv2.resize(rng.normal(0, camera.chroma_noise, (4, 4, 3)).astype(np.float32),
                                (self.size, self.size), interpolation=cv2.INTER_CUBIC)
            u8 = np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)
            ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, camera.jpeg_quality])
            out[t] = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
        return out
