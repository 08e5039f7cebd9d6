"""A small CNN that finds the 20 mouth landmarks (68-point indices 48-67) on 64x64 lip crops.

LMD needs landmarks on *generated* frames. dlib is unreliable on tight lip crops (see
``data/landmarks.py``), so we train this regressor on the corpus's ground-truth landmarks and report
its held-out error: LMD on generated frames is then measured with a detector of known accuracy.
(Not to be confused with ``data/landmarks.py``, the backends that find landmarks on the source
videos during preprocessing.)

Point order (dlib): 0 = left outer corner (48), 1-5 upper outer lip left to right, 6 = right
outer corner (54), 7-11 lower outer lip right to left, 12 = left inner corner (60), 13-15 upper
inner, 16 = right inner corner (64), 17-19 lower inner right to left. Coordinates are (x, y)
pixels in the crop, origin at the centre of the top-left pixel.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..util.pixels import from_uint8, to_uint8

# index of each point's mirror image under a horizontal flip
FLIP_PERM = [6, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 16, 15, 14, 13, 12, 19, 18, 17]


# --------------------------------------------------------------------------- synthetic mouths
def mouth_points(cx, cy, half_width, upper, lower, opening, angle=0.0) -> np.ndarray:
    """The 20 points of an idealised mouth: outer lip = two half-ellipses of heights
    ``opening/2 + upper`` and ``opening/2 + lower``; inner contour (80 % of the width) of
    half-height ``opening/2``; rotated by ``angle`` radians about (cx, cy). Returns (20, 2)."""
    a, ai, o = half_width, 0.8 * half_width, opening / 2
    pts = [(-a, 0.0)]
    pts += [(a * math.cos(math.pi - k * math.pi / 6), -(o + upper) * math.sin(k * math.pi / 6)) for k in range(1, 6)]
    pts += [(a, 0.0)]
    pts += [(a * math.cos(k * math.pi / 6), (o + lower) * math.sin(k * math.pi / 6)) for k in range(1, 6)]
    pts += [(-ai, 0.0)]
    pts += [(ai * math.cos(math.pi - k * math.pi / 4), -o * math.sin(k * math.pi / 4)) for k in range(1, 4)]
    pts += [(ai, 0.0)]
    pts += [(ai * math.cos(k * math.pi / 4), o * math.sin(k * math.pi / 4)) for k in range(1, 4)]
    p = np.asarray(pts)
    c, s = math.cos(angle), math.sin(angle)
    return p @ np.array([[c, s], [-s, c]]) + np.array([cx, cy])


def draw_mouth(points: np.ndarray, size: int = 64, skin=(200, 150, 130), lip=(170, 70, 80),
               cavity=(40, 10, 20), noise: float = 0.0, rng=None) -> np.ndarray:
    """Render a mouth with anti-aliased, sub-pixel polygons; returns (size, size, 3) uint8 RGB."""
    import cv2
    img = np.empty((size, size, 3), np.uint8)
    img[:] = skin
    sh = 4                                            # cv2 fixed-point shift: 1/16 pixel
    fix = lambda p: np.round(np.asarray(p) * (1 << sh)).astype(np.int32)[None]
    cv2.fillPoly(img, fix(points[:12]), lip, lineType=cv2.LINE_AA, shift=sh)
    cv2.fillPoly(img, fix(points[12:]), cavity, lineType=cv2.LINE_AA, shift=sh)
    if noise > 0:
        rng = rng or np.random.default_rng()
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    return img


def synthetic_mouths(n: int, size: int = 64, seed: int = 0, openings=None):
    """``n`` random synthetic lip crops and their landmarks: (n, size, size, 3) uint8, (n, 20, 2).
    Position, scale, shape, rotation, colours and noise vary; ``openings`` (n,) in pixels fixes
    the mouth opening per frame (and holds everything else constant across frames)."""
    rng = np.random.default_rng(seed)
    s = size / 64
    frames, lms = [], []
    fixed = None
    for i in range(n):
        if openings is None or fixed is None:
            par = dict(cx=size / 2 + rng.uniform(-6, 6) * s, cy=size / 2 + rng.uniform(-6, 6) * s,
                       half_width=rng.uniform(13, 20) * s, upper=rng.uniform(3, 6) * s,
                       lower=rng.uniform(4, 8) * s, opening=rng.uniform(0, 14) * s,
                       angle=rng.uniform(-0.15, 0.15))
            col = dict(skin=tuple(int(v) for v in rng.integers(120, 230, 3)),
                       lip=tuple(int(v) for v in rng.integers(60, 190, 3)),
                       cavity=tuple(int(v) for v in rng.integers(0, 60, 3)),
                       noise=float(rng.uniform(0, 6)))
            fixed = (par, col)
        par, col = dict(fixed[0]), fixed[1]
        if openings is not None:
            par["opening"] = float(openings[i])
        p = mouth_points(**par)
        frames.append(draw_mouth(p, size, rng=rng, **col))
        lms.append(p)
    return np.stack(frames), np.stack(lms).astype(np.float32)


# --------------------------------------------------------------------------- model
def _block(cin, cout, stride=1, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class LipLandmarkRegressor(nn.Module):
    """(B, 3, S, S) in [-1, 1] -> (B, 20, 2) pixel coordinates (x, y).

    Fully convolutional: 20 heatmaps at 1/4 resolution (two stride-2 stages, then dilated
    convolutions for context; about 0.1 M parameters at width 16), each turned into a point by soft-argmax (the expectation of the
    softmax over positions), so outputs are sub-pixel and translation-equivariant."""

    def __init__(self, width: int = 16, n_points: int = 20):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _block(3, w, stride=2), _block(w, 2 * w), _block(2 * w, 2 * w, stride=2),
            _block(2 * w, 2 * w, dilation=2), _block(2 * w, 2 * w, dilation=4), _block(2 * w, 2 * w, dilation=2))
        self.heat = nn.Conv2d(2 * w, n_points, 1)
        self.presence = nn.Linear(2 * w, 1)     # logit of "a mouth is in this frame"
        self.config = dict(width=width, n_points=n_points)

    def forward(self, x: torch.Tensor, with_presence: bool = False):
        """-> points (B, 20, 2); with ``with_presence`` also the presence logits (B,)."""
        feats = self.features(x)
        pts = self._points(self.heat(feats), x)
        return (pts, self.presence(feats.mean((2, 3))).squeeze(1)) if with_presence else pts

    def _points(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:    # h (B, P, h, w)
        B, P, hh, ww = h.shape
        prob = F.softmax(h.flatten(2), dim=-1).view(B, P, hh, ww)
        sy, sx = x.shape[2] / hh, x.shape[3] / ww
        ys = (torch.arange(hh, dtype=x.dtype, device=x.device) + 0.5) * sy - 0.5
        xs = (torch.arange(ww, dtype=x.dtype, device=x.device) + 0.5) * sx - 0.5
        px = (prob.sum(2) * xs).sum(-1)
        py = (prob.sum(3) * ys).sum(-1)
        return torch.stack([px, py], dim=-1)

    @torch.no_grad()
    def detect_with_presence(self, frames: np.ndarray, batch_size: int = 256):
        """uint8 (N, H, W, 3) -> points (N, 20, 2) float32, presence probability (N,)."""
        self.eval()
        x = torch.from_numpy(from_uint8(frames)).permute(0, 3, 1, 2)
        out = [self(x[i:i + batch_size], with_presence=True) for i in range(0, len(x), batch_size)]
        return (torch.cat([o[0] for o in out]).numpy().astype(np.float32),
                torch.sigmoid(torch.cat([o[1] for o in out])).numpy())

    def detect(self, frames: np.ndarray, batch_size: int = 256, min_presence: float = 0.5) -> np.ndarray:
        """The detector interface of ``evaluate``: uint8 (N, H, W, 3) -> (N, 20, 2) float32.
        A frame whose presence probability is below ``min_presence`` ("no mouth here": noise,
        checkerboard, skin only) gets NaN points -- a failed frame, counted, never scored.
        Models saved without a trained presence output (``presence_trained`` False) never fail."""
        pts, p = self.detect_with_presence(frames, batch_size)
        if getattr(self, "presence_trained", False):
            pts[p < min_presence] = np.nan
        return pts


# --------------------------------------------------------------------------- data and training
def frames_and_landmarks(data, max_frames: int | None = None, seed: int = 0):
    """(frames (N, 3, S, S) float32 in [-1, 1], landmarks (N, 20, 2)) from either such a tuple,
    a (uint8 (N, S, S, 3), landmarks) tuple, or a clip dataset of dicts with ``video``
    (3, 16, S, S) and ``landmarks`` (16, 20, 2) (every frame of every clip). ``max_frames``
    keeps a random subset (seeded)."""
    if isinstance(data, tuple):
        x, y = np.asarray(data[0]), np.asarray(data[1], np.float32)
        if x.dtype == np.uint8:
            x = from_uint8(x.transpose(0, 3, 1, 2))
    else:
        xs, ys = [], []
        for i in range(len(data)):
            d = data[i]
            v = np.asarray(d["video"], np.float32)                 # (3, T, S, S)
            xs.append(v.transpose(1, 0, 2, 3))
            ys.append(np.asarray(d["landmarks"], np.float32))
        x, y = np.concatenate(xs), np.concatenate(ys)
    x = np.asarray(x, np.float32)
    if max_frames is not None and len(x) > max_frames:
        idx = np.sort(np.random.default_rng(seed).choice(len(x), max_frames, replace=False))
        x, y = x[idx], y[idx]
    return x, y


def landmark_error(pred: np.ndarray, true: np.ndarray) -> dict:
    """Mean point error in pixels and as a percentage of the true mouth width (points 0-6)."""
    e = np.linalg.norm(np.asarray(pred, np.float64) - true, axis=-1)          # (N, 20)
    mw = np.linalg.norm(true[:, 0] - true[:, 6], axis=-1)
    return {"mean_px": float(e.mean()), "mean_pct_mouth_width": float(100 * (e.mean(1) / mw).mean()),
            "n_frames": int(len(e))}


def _to_u8(x: torch.Tensor) -> np.ndarray:            # (B, 3, S, S) [-1, 1] -> (B, S, S, 3) uint8
    return to_uint8(x.permute(0, 2, 3, 1).numpy())


def _from_u8(x: np.ndarray) -> torch.Tensor:           # (B, S, S, 3) uint8 -> (B, 3, S, S) [-1, 1]
    return torch.from_numpy(from_uint8(x)).permute(0, 3, 1, 2)


def train_landmark_regressor(dataset_train, dataset_val, steps: int = 1000, seed: int = 0,
                             batch_size: int = 32, lr: float = 2e-3, width: int = 16,
                             max_frames: int | None = 20000, flip: bool = True, log_every: int = 0,
                             robust: bool = False, w_presence: float = 0.5):
    """Train :class:`LipLandmarkRegressor` with an L1 loss (pixels), Adam and a cosine schedule;
    random horizontal flips (points permuted by ``FLIP_PERM``). Returns (model, error dict from
    :func:`landmark_error` on ``dataset_val``). Deterministic for a given seed on CPU.

    ``robust``: every training frame goes through a random composition of generator-like
    degradations (``degrade.random_degradation``: blur, noise, checkerboard, colour shift,
    smeared mouth), and each batch gets as many frames with NO mouth (``no_mouth_frames``), on which
    the presence output learns to say so (BCE, weight ``w_presence``); points are learned on
    mouth frames only."""
    from .degrade import no_mouth_frames, random_degradation
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xtr, ytr = (torch.from_numpy(a) for a in frames_and_landmarks(dataset_train, max_frames, seed))
    xva, yva = frames_and_landmarks(dataset_val, max_frames, seed)
    model = LipLandmarkRegressor(width=width)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    size = xtr.shape[-1]
    perm = torch.tensor(FLIP_PERM)
    model.train()
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(xtr), batch_size))
        x, y = xtr[idx].clone(), ytr[idx].clone()
        if flip:
            f = torch.from_numpy(rng.random(batch_size) < 0.5)
            x[f] = x[f].flip(-1)
            y[f] = y[f][:, perm]
            y[f, :, 0] = size - 1 - y[f, :, 0]
        if robust:
            u8 = _to_u8(x)
            neg = no_mouth_frames(u8, y.numpy(), rng)
            x = _from_u8(np.concatenate([np.concatenate([random_degradation(u8[i:i + 1], rng)
                                                         for i in range(batch_size)]), neg]))
            pts, logit = model(x, with_presence=True)
            target = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)])
            loss = (pts[:batch_size] - y).abs().mean() + w_presence * F.binary_cross_entropy_with_logits(logit, target)
        else:
            loss = (model(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log_every and step % log_every == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
    model.eval()
    model.presence_trained = robust
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(xva[i:i + 256])) for i in range(0, len(xva), 256)]).numpy()
    return model, landmark_error(pred, yva)


def degradation_errors(model: LipLandmarkRegressor, frames: np.ndarray, landmarks: np.ndarray,
                       seed: int = 0, min_presence: float = 0.5) -> dict:
    """The regressor's error on real frames made to look generated (``degrade.DEGRADATIONS``)
    and its presence decisions on no-mouth frames. frames uint8 (N, S, S, 3), landmarks (N, 20, 2)
    -> {degradation: {mean_px, detected (fraction of frames called a mouth)}, "no_mouth": {...}}."""
    from .degrade import DEGRADATIONS, no_mouth_frames
    out = {}
    for name, fn in DEGRADATIONS.items():
        rng = np.random.default_rng(seed)
        f = np.concatenate([fn(frames[i:i + 16], rng) for i in range(0, len(frames), 16)])
        pts, p = model.detect_with_presence(f)
        out[name] = {"mean_px": landmark_error(pts, landmarks)["mean_px"],
                     "detected": float((p >= min_presence).mean())}
    _, p = model.detect_with_presence(no_mouth_frames(frames, landmarks, np.random.default_rng(seed)))
    out["no_mouth"] = {"mean_px": float("nan"), "detected": float((p >= min_presence).mean())}
    return out


def save_landmark_regressor(model: LipLandmarkRegressor, path, error: dict | None = None) -> None:
    torch.save({"config": model.config, "state_dict": model.state_dict(), "error": error,
                "presence_trained": bool(getattr(model, "presence_trained", False))}, path)


def load_landmark_regressor(path) -> LipLandmarkRegressor:
    """Load a regressor saved by :func:`save_landmark_regressor` (in eval mode; its held-out
    error is in ``model.error``)."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    m = LipLandmarkRegressor(**ck["config"])
    missing, unexpected = m.load_state_dict(ck["state_dict"], strict=False)
    if unexpected or any(not k.startswith("presence.") for k in missing):
        raise ValueError(f"{path}: not a LipLandmarkRegressor state (missing {missing}, unexpected {unexpected})")
    m.error = ck.get("error")
    m.presence_trained = bool(ck.get("presence_trained", False))
    return m.eval()
