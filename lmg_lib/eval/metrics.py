"""Image and landmark metrics of the paper: PSNR, SSIM, CPBD and LMD (see docs/EVALUATION.md).

Conventions shared by every function here:

* Frames are channel-last numpy arrays: one image ``(H, W)`` / ``(H, W, 3)``, a video
  ``(N, H, W)`` / ``(N, H, W, 3)``. uint8 input is converted to float64 *before* any arithmetic.
* ``data_range`` is the span of the pixel scale (255 for 0..255, 2 for [-1, 1]). It is inferred
  only for uint8 input (255); float input must state it, because [-1, 1], [0, 1] and [0, 255]
  frames cannot be told apart reliably.
* Grey conversion uses ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), as PIL ``convert('L')``
  and OpenCV, which the authors used; no rounding is applied.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PSNR_CAP_DB = 100.0   # the authors' value for identical frames (MSE = 0)


# --------------------------------------------------------------------------- helpers
def to_gray(img: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) RGB -> (..., H, W) float64 luma (BT.601); 2-D / grey input is returned as float."""
    a = np.asarray(img, dtype=np.float64)
    if a.shape[-1] == 3 and a.ndim >= 3:
        return a @ np.array([0.299, 0.587, 0.114])
    return a


def _range(x: np.ndarray, data_range: float | None) -> float:
    if data_range is not None:
        return float(data_range)
    if np.asarray(x).dtype == np.uint8:
        return 255.0
    raise ValueError("float input needs an explicit data_range (255 for 0..255, 2 for [-1, 1])")


def _pair(x, y):
    if np.shape(x) != np.shape(y):
        raise ValueError(f"shape mismatch: {np.shape(x)} vs {np.shape(y)}")
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


# --------------------------------------------------------------------------- PSNR
def _psnr_from_mse(mse: float, data_range: float, cap: float | None) -> float:
    if mse == 0:
        return float("inf") if cap is None else float(cap)
    v = 10.0 * np.log10(data_range ** 2 / mse)
    return float(v if cap is None else min(v, cap))


def psnr(x, y, data_range: float | None = None, cap: float | None = PSNR_CAP_DB) -> float:
    """Peak signal-to-noise ratio 10 log10(R^2 / MSE) in dB, computed in float64.

    Identical images give ``cap`` (default 100 dB, the authors' value); ``cap=None`` gives inf.
    """
    dr = _range(x, data_range)
    a, b = _pair(x, y)
    return _psnr_from_mse(float(np.mean((a - b) ** 2)), dr, cap)


def psnr_video(x, y, data_range: float | None = None, reduction: str = "frame_mean",
               cap: float | None = PSNR_CAP_DB) -> float:
    """PSNR of a video ``(N, H, W[, 3])``.

    ``reduction="frame_mean"`` (the authors, our default): PSNR of every frame, then the mean of
    the N values (each frame capped at ``cap``). ``"pooled"`` (sda): one MSE over all pixels of
    all frames, then one PSNR. Frame-mean is always >= pooled (Jensen), often by several dB.
    """
    dr = _range(x, data_range)
    a, b = _pair(x, y)
    if reduction == "pooled":
        return _psnr_from_mse(float(np.mean((a - b) ** 2)), dr, cap)
    if reduction != "frame_mean":
        raise ValueError(f"reduction must be 'frame_mean' or 'pooled', got {reduction!r}")
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    return float(np.mean([_psnr_from_mse(float(m), dr, cap) for m in mse]))


def legacy_uint8_psnr(x, y) -> float:
    """DEMONSTRATION ONLY -- the authors' defective PSNR (3d_gan ``fun_test.py``, ATVGnet).

    ``np.mean((x - y) ** 2)`` on uint8 arrays: the difference and the square both wrap modulo 256,
    so every squared error lies in 0..255, the MSE is at most 255 and the PSNR never drops below
    10 log10(255) = 24.07 dB (unrelated random images score about 28 dB instead of about 8 dB).
    Identical images return 100. Never use it to report results; use :func:`psnr`.
    """
    a = np.asarray(x, dtype=np.uint8)
    b = np.asarray(y, dtype=np.uint8)
    mse = float(np.mean((a - b) ** 2))          # uint8 arithmetic: wraps, on purpose
    if mse == 0:
        return 100.0
    return float(20 * np.log10(255.0 / np.sqrt(mse)))


# --------------------------------------------------------------------------- SSIM
def ssim(x, y, gray: bool = True, data_range: float | None = None) -> float:
    """SSIM of one image pair with scikit-image's ``structural_similarity`` defaults
    (7x7 uniform window, K1 0.01, K2 0.03), as the authors' ``compare_ssim``.

    ``gray=True`` (the authors): RGB input is converted to BT.601 luma first. ``gray=False``:
    per-channel SSIM averaged over channels (``channel_axis=-1``), as ATVGnet.
    """
    from skimage.metrics import structural_similarity
    dr = _range(x, data_range)
    a, b = _pair(x, y)
    if gray:
        a, b = to_gray(a), to_gray(b)
        return float(structural_similarity(a, b, data_range=dr))
    if a.ndim != 3:
        raise ValueError("gray=False needs (H, W, C) colour images")
    return float(structural_similarity(a, b, data_range=dr, channel_axis=-1))


def ssim_video(x, y, gray: bool = True, data_range: float | None = None) -> float:
    """Mean SSIM over the N frames of ``(N, H, W[, 3])`` videos."""
    dr = _range(x, data_range)
    a, b = _pair(x, y)
    return float(np.mean([ssim(fa, fb, gray=gray, data_range=dr) for fa, fb in zip(a, b)]))


# --------------------------------------------------------------------------- CPBD
CPBD_BLOCK = 64          # block side (pixels)
CPBD_EDGE_FRACTION = 0.002   # a block is an edge block if > 0.2 % of its pixels are Canny edges
CPBD_BETA = 3.6


def _runs(mask: np.ndarray, direction: int) -> np.ndarray:
    """Length of the run of True values ending at (direction=-1, walking left) or starting at
    (direction=+1, walking right) each column, per row (vectorised)."""
    m = mask if direction < 0 else mask[:, ::-1]
    cols = np.arange(m.shape[1])
    last_false = np.maximum.accumulate(np.where(m, -1, cols), axis=1)
    run = cols - last_false
    return run if direction < 0 else run[:, ::-1]


def _edge_widths(img: np.ndarray, edges: np.ndarray, tie_continues_right: bool) -> np.ndarray:
    """Marziliano edge widths along the horizontal gradient direction (the reference MATLAB code
    measures only edges whose gradient angle rounds to 0 or +-180 degrees): from the edge pixel,
    walk left and right while the intensity keeps rising (angle 0) / falling (angle 180); the width
    is the number of steps on both sides (each side at least 1, at most 101)."""
    h, w = img.shape
    gy, gx = np.gradient(img)
    # the reference code leaves the angle at 0 where gx == 0 (also for vertical gradients)
    angle = np.where(gx != 0, np.degrees(np.arctan2(gy, np.where(gx != 0, gx, 1.0))), 0.0)
    q = 45 * np.round(angle / 45)
    d = np.diff(img, axis=1)                                  # d[:, c] = I[c+1] - I[c]
    pad = np.zeros((h, 1), dtype=np.int64)
    rl = {s: np.hstack([_runs(m, -1), pad]) for s, m in (("pos", d > 0), ("neg", d < 0))}
    rr = {s: np.hstack([_runs(m, +1), pad]) for s, m in
          (("pos", d > 0), ("neg", d < 0), ("nonpos", d <= 0))}
    cols = np.arange(w)
    left_idx, right_idx = cols - 2, np.minimum(cols + 1, w - 1)   # d index where each walk starts

    def side(run, idx):
        v = np.minimum(run[:, np.clip(idx, 0, w - 1)], 100)
        v[:, idx < 0] = 0
        return 1 + v

    w0 = side(rl["pos"], left_idx) + side(rr["pos"], right_idx)
    w180 = side(rl["neg"], left_idx) + side(rr["nonpos" if tie_continues_right else "neg"], right_idx)
    widths = np.zeros_like(img)
    interior = np.zeros(img.shape, dtype=bool)
    interior[1:-1, 1:-1] = True
    e = edges.astype(bool) & interior
    widths[e & (q == 0)] = w0[e & (q == 0)]
    sel = e & (np.abs(q) == 180)
    widths[sel] = w180[sel]
    return widths


def _sobel_edges(img: np.ndarray, variant: str) -> np.ndarray:
    """Vertical-edge Sobel map (horizontal derivative, kernel / 8) as in the reference codes.
    ``package``: MATLAB/Octave ``edge(..,'sobel')`` rule -- squared response above
    2 sqrt(mean(squared response)), then thinning to horizontal or vertical local maxima.
    ``authors``: squared response > 4.0, no thinning (3d_gan ``matlab_sobel_edge``)."""
    from scipy.ndimage import correlate
    k = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64) / 8.0
    s = correlate(img, k) ** 2
    if variant == "authors":
        return s > 4.0
    s[s <= 2 * np.sqrt(np.mean(s))] = 0
    z = np.zeros_like(s)
    left, right = np.hstack([z[:, :1], s[:, :-1]]), np.hstack([s[:, 1:], z[:, :1]])
    up, down = np.vstack([z[:1], s[:-1]]), np.vstack([s[1:], z[:1]])
    return ((s > left) & (s > right)) | ((s > up) & (s > down))


def cpbd(image, variant: str = "package", data_range: float = 255.0) -> float:
    """Cumulative probability of blur detection (Narvekar & Karam, IEEE TIP 2011); higher = sharper.

    ``image``: 2-D grey or (H, W, 3) RGB (RGB -> BT.601 luma) whose full scale is ``data_range``
    (255 for uint8 or 0..255 floats, 1.0 for 0..1 floats); it is rescaled to 0..255, on which the
    thresholds below are defined. The range is given, not guessed: a dark 0..255 frame is scored
    as it is (it used to be refused as if it were on the 0..1 scale).
    Algorithm: Canny edges (sigma 1, thresholds 0.1 / 0.2 as scikit-image's float defaults) mark
    edge blocks among the whole 64x64 blocks (> 0.2 % edge pixels; partial blocks at the right and
    bottom are ignored); in each edge block every Sobel edge gets a width w (:func:`_edge_widths`)
    and a just-noticeable width w_JNB = 5 if the block contrast int(max - min) <= 50 else 3;
    P(blur) = 1 - exp(-(w / w_JNB)^3.6), rounded to a percent; CPBD = fraction of all such edges
    with P(blur) <= 0.63 (percent bins 0..63).

    ``variant="package"`` reproduces PyPI ``cpbd`` 1.0.7 (a port of the authors' MATLAB code;
    0.748166 on ``skimage.data.camera()``); ``"authors"`` reproduces the 3d_gan / ATVGnet port
    (Sobel threshold 4.0 without thinning, a tie rule on the falling side, bins 0..62).
    An image with no whole 64x64 block (< 64 px) or without edge blocks scores 0.0; a 64x64 lip
    frame is exactly one block and is scored as it is (see docs/EVALUATION.md).
    """
    from skimage.feature import canny
    if variant not in ("package", "authors"):
        raise ValueError("variant must be 'package' or 'authors'")
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    img = to_gray(image)
    if img.ndim != 2:
        raise ValueError(f"cpbd needs one 2-D grey or (H, W, 3) image, got shape {np.shape(image)}")
    if data_range != 255.0:
        img = img * (255.0 / data_range)
    canny_edges = canny(img, sigma=1.0, low_threshold=0.1, high_threshold=0.2)
    widths = _edge_widths(img, _sobel_edges(img, variant), tie_continues_right=variant == "authors")
    last_bin = 63 if variant == "package" else 62
    n_sharp = n_total = 0
    B = CPBD_BLOCK
    for i in range(img.shape[0] // B):
        for j in range(img.shape[1] // B):
            blk = (slice(B * i, B * (i + 1)), slice(B * j, B * (j + 1)))
            if np.count_nonzero(canny_edges[blk]) <= B * B * CPBD_EDGE_FRACTION:
                continue
            w = widths[blk][widths[blk] != 0]
            jnb = 5.0 if int(img[blk].max() - img[blk].min()) <= 50 else 3.0
            p = 1.0 - np.exp(-np.abs(w / jnb) ** CPBD_BETA)
            n_sharp += int(np.count_nonzero(np.round(p * 100) <= last_bin))
            n_total += w.size
    return n_sharp / n_total if n_total else 0.0


def cpbd_video(frames, variant: str = "package", data_range: float = 255.0) -> float:
    """Mean CPBD over the frames of ``(N, H, W[, 3])`` whose full scale is ``data_range``."""
    return float(np.mean([cpbd(f, variant=variant, data_range=data_range) for f in np.asarray(frames)]))


# --------------------------------------------------------------------------- LMD
@dataclass(frozen=True)
class LMDResult:
    """``value``: LMD averaged over the valid frames (NaN if none); ``n_frames``: frames given;
    ``n_failed``: frames skipped because a landmark set contained NaN (failed detection);
    ``per_frame``: the per-frame distances (NaN where failed)."""
    value: float
    n_frames: int
    n_failed: int
    per_frame: np.ndarray

    def __float__(self) -> float:
        return float(self.value)


def mouth_width(lm: np.ndarray) -> np.ndarray:
    """Distance between the outer mouth corners (points 48 and 54 = indices 0 and 6); (N,)."""
    lm = np.asarray(lm, dtype=np.float64)
    return np.linalg.norm(lm[..., 0, :] - lm[..., 6, :], axis=-1)


def lmd(lm_real, lm_fake, reduce: str = "mean", normalize: str | None = None) -> LMDResult:
    """Landmark distance between real and generated mouth landmarks ``(N, 20, 2)`` (points 48-67).

    Per frame both point sets are centred on their own mean (translation removed, no scale or
    rotation alignment, as the authors); the Euclidean distance of each of the 20 points is taken,
    then ``reduce="mean"`` (default, pixels per point) or ``"sum"`` (the authors' per-frame sum,
    exactly 20 x the mean); finally the mean over frames. ``normalize="mouth_width"`` divides each
    frame's value by the real mouth width (scale-free; not the authors' -- the published
    normalisation is unresolved). Frames with any NaN in either set are counted in ``n_failed`` and
    excluded from the mean, never silently dropped.
    """
    r = np.asarray(lm_real, dtype=np.float64)
    f = np.asarray(lm_fake, dtype=np.float64)
    if r.shape != f.shape or r.ndim != 3 or r.shape[1:] != (20, 2):
        raise ValueError(f"landmarks must both be (N, 20, 2), got {r.shape} and {f.shape}")
    if reduce not in ("mean", "sum"):
        raise ValueError("reduce must be 'mean' or 'sum'")
    failed = ~(np.isfinite(r).all(axis=(1, 2)) & np.isfinite(f).all(axis=(1, 2)))
    rc = r - r.mean(axis=1, keepdims=True)
    fc = f - f.mean(axis=1, keepdims=True)
    dist = np.linalg.norm(rc - fc, axis=-1)                    # (N, 20)
    per_frame = dist.mean(axis=1) if reduce == "mean" else dist.sum(axis=1)
    if normalize == "mouth_width":
        per_frame = per_frame / mouth_width(r)
    elif normalize is not None:
        raise ValueError("normalize must be None or 'mouth_width'")
    per_frame = np.where(failed, np.nan, per_frame)
    value = float(np.mean(per_frame[~failed])) if (~failed).any() else float("nan")
    return LMDResult(value, len(r), int(failed.sum()), per_frame)
