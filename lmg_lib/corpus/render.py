"""A small procedural lip renderer: mouth parameters + speaker look -> RGB lip-region frame + landmarks.

Geometry first: ``mouth_landmarks`` turns the 5 mouth parameters of ``visemes.py`` into the 20
mouth points of the 68-point convention (48-59 outer lip contour from the left mouth corner
clockwise over the upper lip, 60-67 inner contour, same order), in image coordinates (x, y) with
pixel centres at integers. ``render_frame`` then draws exactly that geometry: the lip outlines are
Catmull-Rom splines through the landmarks (sharp at the mouth corners), filled with antialiasing
at ``SS``x supersampling and area-downsampled. Layers: shaded skin (directional light, philtrum,
labiomental shadow, fixed pore texture), upper and lower lip (the upper lip darker, a specular
highlight on the lower lip), dark mouth cavity, upper/lower teeth band, tongue, then a global gain
flicker and Gaussian sensor noise.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import cv2
import numpy as np

SS = 2                     # supersampling factor (cv2's antialiased fill does the rest)
_SHIFT = 4                 # cv2 fixed-point bits for sub-pixel polygon vertices

# skin tones from light to dark (linear RGB-ish in [0, 1])
_SKIN_TONES = np.array([[0.96, 0.80, 0.70], [0.90, 0.70, 0.58], [0.80, 0.58, 0.44],
                        [0.66, 0.45, 0.32], [0.50, 0.33, 0.23], [0.36, 0.24, 0.17]])


@dataclass(frozen=True)
class SpeakerLook:
    """Appearance of one speaker (lengths are fractions of the image size)."""
    skin: tuple = (0.85, 0.64, 0.52)         # RGB in [0, 1]
    lip: tuple = (0.72, 0.36, 0.38)          # RGB in [0, 1]
    teeth: tuple = (0.93, 0.90, 0.82)
    lip_thickness: float = 0.085             # upper lip height at rest
    lower_ratio: float = 1.3                 # lower / upper lip thickness
    mouth_width: float = 0.30                # half width of the mouth (corner to centre) at rest
    bow: float = 0.5                         # depth of the cupid's bow, 0..1
    offset: tuple = (0.0, 0.0)               # mouth centre offset (dx, dy) from the image centre
    tilt: float = 0.0                        # head roll, radians
    open_scale: float = 1.0                  # how wide this speaker opens the mouth
    light_angle: float = 0.0                 # direction light comes from, radians (0 = from the left)
    light_strength: float = 0.25
    texture_seed: int = 0

    def vector(self) -> np.ndarray:
        """All appearance numbers as one flat vector (for distinctness checks)."""
        out = []
        for v in asdict(self).values():
            out.extend(np.atleast_1d(np.asarray(v, float)).tolist())
        return np.asarray(out)


def random_look(rng: np.random.Generator, tone: float | None = None) -> SpeakerLook:
    """Draw a speaker appearance; ``tone`` in [0, 1] picks the skin tone (light -> dark)."""
    tone = rng.uniform() if tone is None else tone
    pos = tone * (len(_SKIN_TONES) - 1)
    i = min(int(pos), len(_SKIN_TONES) - 2)
    skin = (1 - (pos - i)) * _SKIN_TONES[i] + (pos - i) * _SKIN_TONES[i + 1]
    skin = np.clip(skin * rng.uniform(0.95, 1.05, 3), 0, 1)
    # lips: the skin tinted towards red, darker and more brown/purple on dark skin
    red = np.array([0.80, 0.28, 0.32]) * rng.uniform(0.85, 1.1)
    lip = np.clip(skin * [0.95, 0.60, 0.66] * rng.uniform(0.8, 0.95) + red * (0.3 - 0.2 * tone)
                  * rng.uniform(0.7, 1.2) - 0.05 * tone, 0.03, 1)
    return SpeakerLook(
        skin=tuple(np.round(skin, 4)), lip=tuple(np.round(lip, 4)),
        teeth=tuple(np.round(np.array([0.94, 0.91, 0.84]) * rng.uniform(0.85, 1.0), 4)),
        lip_thickness=round(rng.uniform(0.08, 0.12), 4), lower_ratio=round(rng.uniform(1.05, 1.5), 4),
        mouth_width=round(rng.uniform(0.29, 0.38), 4), bow=round(rng.uniform(0.2, 1.0), 4),
        offset=(round(rng.uniform(-0.05, 0.05), 4), round(rng.uniform(-0.04, 0.06), 4)),
        tilt=round(rng.uniform(-0.06, 0.06), 4), open_scale=round(rng.uniform(0.8, 1.15), 4),
        light_angle=round(rng.uniform(0, 2 * np.pi), 4),
        light_strength=round(rng.uniform(0.1, 0.4), 4), texture_seed=int(rng.integers(2**31)))


# ---------------------------------------------------------------------------------------------
# geometry

def mouth_landmarks(params: np.ndarray, look: SpeakerLook, size: int = 64,
                    pose: tuple = (0.0, 0.0, 0.0, 1.0)) -> np.ndarray:
    """Mouth parameters (P,) -> the 20 mouth landmarks (20, 2) float32 in image coordinates.

    ``pose`` = (dx, dy, angle, scale): head jitter, dx/dy in pixels, angle in radians.
    """
    o, w, r = np.clip(params[0] * look.open_scale, 0, 1), params[1], params[2]
    S = float(size)
    hw = look.mouth_width * S * (0.82 + 0.36 * w) * (1 - 0.22 * r)        # outer half width
    gap = 0.30 * S * o                                                      # inner opening
    tu = look.lip_thickness * S * (1 + 0.35 * r) * (1 - 0.15 * o)          # upper lip thickness
    tl = tu * look.lower_ratio
    yu, yl, yc = -0.3 * gap, 0.7 * gap, 0.12 * gap                          # inner top/bottom/corner
    hi = hw * (0.88 - 0.25 * r - 0.08 * o)                                  # inner half width
    e = 0.7 - 0.3 * r                                                       # roundness of the opening
    f = lambda x: (1 - np.minimum((x / hi) ** 2, 1)) ** e                    # inner profile, 1 at centre
    bow = look.bow
    xo = np.array([-1, -0.62, -0.24, 0, 0.24, 0.62, 1, 0.6, 0.28, 0, -0.28, -0.6]) * hw
    yo = np.empty(12)
    yo[[0, 6]] = yc + 0.02 * S * o                                          # corners
    up = yc + (yu - yc) * f(xo[1:6])                                        # inner top under 49..53
    yo[1:6] = up - tu * np.array([0.75, 1.08, 1.0 - 0.22 * bow, 1.08, 0.75])
    lo = yc + (yl - yc) * f(xo[7:12])
    yo[7:12] = lo + tl * np.array([0.7, 0.95, 1.0, 0.95, 0.7])
    xi = np.array([-1, -0.5, 0, 0.5, 1, 0.5, 0, -0.5]) * hi
    yi = np.empty(8)
    yi[[0, 4]] = yc
    yi[1:4] = yc + (yu - yc) * f(xi[1:4])
    yi[5:8] = yc + (yl - yc) * f(xi[5:8])
    pts = np.concatenate([np.stack([xo, yo], 1), np.stack([xi, yi], 1)])    # (20, 2) mouth frame
    dx, dy, ang, scale = pose
    a = look.tilt + ang
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
    centre = np.array([(0.5 + look.offset[0]) * S - 0.5 + dx, (0.5 + look.offset[1]) * S - 0.5 + dy])
    return (pts @ rot.T + centre).astype(np.float32)


def _cr_basis(n: int) -> np.ndarray:
    """Catmull-Rom basis (n, 4): weights of p0..p3 at n parameter values in [0, 1)."""
    t = np.linspace(0, 1, n, endpoint=False)
    return 0.5 * np.stack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3,
                           t + 4 * t**2 - 3 * t**3, -t**2 + t**3], 1)


_CR6 = _cr_basis(6)


def _catmull_rom(p: np.ndarray) -> np.ndarray:
    """Open Catmull-Rom spline through points (k, 2) -> (6*(k-1)+1, 2), passing every point."""
    q = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])    # end tangents
    idx = np.arange(len(p) - 1)[:, None] + np.arange(4)                    # (k-1, 4)
    segs = np.einsum("tj,sjd->std", _CR6, q[idx]).reshape(-1, 2)           # (6(k-1), 2)
    return np.concatenate([segs, p[-1:]])


def lip_curves(lm: np.ndarray) -> dict:
    """The four lip outlines (as dense polylines) through the landmarks (20, 2)."""
    out, inn = lm[:12], lm[12:]
    return {"outer_upper": _catmull_rom(out[0:7]),                            # 48 .. 54
            "outer_lower": _catmull_rom(np.concatenate([out[6:12], out[:1]])),  # 54 .. 59, 48
            "inner_upper": _catmull_rom(inn[0:5]),                              # 60 .. 64
            "inner_lower": _catmull_rom(np.concatenate([inn[4:8], inn[:1]]))}   # 64 .. 67, 60


# ---------------------------------------------------------------------------------------------
# pixels

def _mask(polys, shape) -> np.ndarray:
    """Antialiased filled polygon(s) (float coords at render scale) -> float32 alpha in [0, 1]."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(p * (1 << _SHIFT)).astype(np.int32) for p in polys], 255,
                 lineType=cv2.LINE_AA, shift=_SHIFT)
    return m.astype(np.float32) * (1 / 255)


def _gauss(n: int, mu: float, sigma: float) -> np.ndarray:
    """Unnormalised Gaussian bump over n pixels, (n,) float32."""
    z = (np.arange(n, dtype=np.float32) - np.float32(mu)) / np.float32(sigma)
    return np.exp(-0.5 * z * z)


class Renderer:
    """Renders frames for one speaker at one size (caches the skin texture and light field)."""

    def __init__(self, look: SpeakerLook, size: int = 64):
        self.look, self.size = look, size
        R = size * SS
        rng = np.random.default_rng(look.texture_seed)
        y, x = np.mgrid[0:R, 0:R].astype(np.float32) / R - 0.5
        light = 1 + look.light_strength * (np.cos(look.light_angle) * -x + np.sin(look.light_angle) * -y)
        vignette = 1 - 0.35 * (x ** 2 + y ** 2)
        pores = cv2.GaussianBlur(rng.normal(0, 1, (R, R)).astype(np.float32), (0, 0), 0.8 * SS)
        self.shade = (light * vignette * (1 + 0.03 * pores)).astype(np.float32)       # (R, R)
        self.shade_lo = cv2.resize(self.shade, (size, size), interpolation=cv2.INTER_AREA)  # (S, S)
        lip = np.asarray(look.lip, np.float32)
        self.skin = np.asarray(look.skin, np.float32)
        self.colours = {"upper": 0.8 * lip, "lower": lip, "highlight": np.ones(3, np.float32),
                        "cavity": np.array([0.08, 0.025, 0.03], np.float32),
                        "teeth": np.asarray(look.teeth, np.float32),
                        "tongue": np.array([0.62, 0.25, 0.27], np.float32)}

    def __call__(self, params: np.ndarray, pose=(0.0, 0.0, 0.0, 1.0), rng=None, noise: float = 2.0,
                 gain: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """params (P,) -> frame (S, S, 3) uint8 RGB, landmarks (20, 2) float32.

        The skin (light field, philtrum and chin shadows) is drawn at the output size. The lips,
        cavity, teeth and tongue are drawn at SS x in a tight box around the mouth as premultiplied
        colour C and coverage A, area-downsampled, and composited: frame = skin (1 - A) + C.
        """
        S = self.size
        lm = mouth_landmarks(params, self.look, S, pose)                      # (20, 2)
        o = float(np.clip(params[0] * self.look.open_scale, 0, 1))
        teeth_v, tongue_v = float(params[3]), float(params[4])
        f32 = np.float32
        hw = f32(0.5 * np.linalg.norm(lm[6] - lm[0]))
        tl = f32(max(lm[9, 1] - lm[18, 1], 0.5))                              # lower lip thickness
        cx = f32(lm[[0, 6], 0].mean())

        # skin at output resolution with separable Gaussian shadows
        g = _gauss
        lum = self.shade_lo - (0.10 * np.outer(g(S, lm[3, 1] - 0.3 * tl, 0.4 * tl), g(S, cx, 0.1 * hw))
                               + 0.16 * np.outer(g(S, lm[9, 1] + 0.7 * tl, 0.4 * tl), g(S, cx, 0.6 * hw))
                               + 0.10 * np.outer(g(S, lm[9, 1] + 0.1 * tl, 0.3 * tl), g(S, cx, 0.9 * hw)))
        img = self.skin * lum[..., None]                                      # (S, S, 3)

        # lips box in output pixels, drawn at SS x
        x0, y0 = np.maximum(np.floor(lm.min(0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(lm.max(0)).astype(int) + 2, S)
        h, w = (y1 - y0) * SS, (x1 - x0) * SS
        p = ((lm - [x0, y0] + 0.5) * SS - 0.5).astype(f32)                    # (20, 2) box coords
        c = lip_curves(p)
        cxb, yu_c, yl_c = f32((cx - x0 + 0.5) * SS - 0.5), p[14, 1], p[18, 1]  # inner 62, 66
        hwb, tlb = hw * SS, tl * SS
        shade = self.shade[y0 * SS:y1 * SS, x0 * SS:x1 * SS, None]            # (h, w, 1)
        C = np.zeros((h, w, 3), f32)
        A = np.zeros((h, w), f32)

        def over(colour, alpha):                                              # premultiplied "over"
            C[...] += (colour - C) * alpha[..., None]
            A[...] += (1 - A) * alpha

        corners = [p[6:7], p[16:17]], [p[12:13], p[0:1]]                      # 54->64, 60->48
        over(self.colours["upper"] * shade, _mask([np.concatenate(
            [c["outer_upper"], *corners[0], c["inner_upper"][::-1], *corners[1]])], (h, w)))
        low = _mask([np.concatenate([c["outer_lower"][:-1], c["inner_lower"][::-1], p[0:1]])], (h, w))
        over(self.colours["lower"] * shade, low)
        over(self.colours["highlight"], 0.22 * low * np.outer(g(h, yl_c + 0.45 * tlb, 0.2 * tlb),
                                                              g(w, cxb, 0.35 * hwb)))
        if o > 0.01:
            cav = _mask([np.concatenate([c["inner_upper"], c["inner_lower"][1:-1]])], (h, w))
            gap = max(yl_c - yu_c, 1e-3)
            depth = 1 - 0.6 * np.outer(g(h, 0.5 * (yu_c + yl_c), 0.8 * gap + 1), g(w, cxb, 0.7 * hwb))
            over(self.colours["cavity"] * depth[..., None], cav)
            th = teeth_v * (0.35 * gap + 0.04 * S * SS)
            iu, il = c["inner_upper"], c["inner_lower"]
            teeth = np.maximum(_mask([np.concatenate([iu, (iu + [0, th])[::-1]])], (h, w)),
                               0.6 * _mask([np.concatenate([il, (il - [0, 0.3 * th * o])[::-1]])], (h, w)))
            side = 1 - 0.45 * (1 - g(w, cxb, 0.8 * hwb))                      # darker at the sides
            over(self.colours["teeth"] * (shade * side[None, :, None]), teeth * cav * 0.95)
            if tongue_v > 0.05:
                tongue = np.zeros((h, w), np.uint8)
                ty = yl_c - gap * (0.1 + 0.35 * tongue_v)
                cv2.ellipse(tongue, (int(cxb * 16), int(ty * 16)),
                            (int(0.55 * hwb * 16), int(0.45 * gap * 16)), 0, 0, 360, 255, -1, cv2.LINE_AA, 4)
                over(self.colours["tongue"] * shade,
                     tongue.astype(f32) * (0.85 * tongue_v / 255) * cav * (1 - teeth))
        C = cv2.resize(C, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        A = cv2.resize(A, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)[..., None]
        box = img[y0:y1, x0:x1]
        box += C - box * A
        out = img * f32(255.0 * gain)
        if rng is not None and noise > 0:
            out += rng.normal(0, noise, out.shape).astype(f32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8), lm


def head_motion(n_frames: int, rng: np.random.Generator, size: int = 64,
                amount: float = 1.0) -> np.ndarray:
    """Smooth small head jitter (n_frames, 4): dx, dy (pixels), angle (rad), scale."""
    t = np.arange(n_frames) / 25.0
    out = np.zeros((n_frames, 4))
    for j, amp in enumerate((0.025 * size, 0.02 * size, 0.03, 0.02)):
        for _ in range(3):   # a few slow sinusoids per channel + a little frame-to-frame tremor
            out[:, j] += amp / 3 * amount * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t
                                                   + rng.uniform(0, 2 * np.pi))
        out[:, j] += 0.1 * amp * amount * rng.normal(size=n_frames)
    out[:, 3] += 1.0
    return out


def render_sequence(params: np.ndarray, look: SpeakerLook, size: int = 64,
                    rng: np.random.Generator | None = None, noise: float = 2.0,
                    jitter: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """params (T, P) -> frames (T, S, S, 3) uint8, landmarks (T, 20, 2) float32.

    With ``rng`` (deterministic) adds head jitter, a slow lighting flicker and sensor noise.
    """
    T = len(params)
    r = Renderer(look, size)
    if rng is not None:
        poses = head_motion(T, rng, size, jitter)
        gains = 1 + 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * np.arange(T) / 25
                                  + rng.uniform(0, 6.3))
    else:
        poses, gains = np.tile([0.0, 0.0, 0.0, 1.0], (T, 1)), np.ones(T)
    frames = np.empty((T, size, size, 3), np.uint8)
    lms = np.empty((T, 20, 2), np.float32)
    for t in range(T):
        frames[t], lms[t] = r(params[t], tuple(poses[t]), rng, noise, float(gains[t]))
    return frames, lms
