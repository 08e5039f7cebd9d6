"""Audio-visual synchronisation offset, after the authors' delay analysis (notebook 2).

For one video: an audio-change series (spectral flux of the LMS, one value per video frame
transition) and a visual-motion series (mean Farneback optical-flow magnitude between consecutive
grey frames), both of length N - 1. For every lag in -max_lag..max_lag one series is shifted, the
overlap is cut into 16-frame chunks, and the Pearson r is averaged over the chunks. The best lag
is the argmax; the confidence is best r minus the median r over lags (as SyncNet's LSE-C).

Sign convention (ours): **a positive lag means the lips lead the audio**: motion at frame t goes
with the audio change at frame t + lag. The authors' ``make_delay`` (3d_gan ``chunk_histo.py``)
pairs audio[t] with flow[t + delay], so their delay = -(our lag).

Deviation (documented): the authors correlate the *signed* mean LMS difference with the
(non-negative) flow magnitude. A rise and a fall of energy then cancel, so by default we use its
absolute value (``flux="abs"``); ``flux="signed"`` reproduces the authors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import AudioConfig
from ..data.audio import spectral_flux
from ..util.pixels import to_uint8

# cv2.calcOpticalFlowFarneback settings of the authors (flow pre-training and delay analysis)
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)

# Best-delay histograms over 3,260 GRID videos, hard-coded in the authors' plot_bucket.py.
# Lags are in THE AUTHORS' sign convention (positive = flow shifted forward = audio leads);
# use ``authors_histogram_in_our_convention`` to compare with ours.
AUTHORS_GRID_DELAY_HISTOGRAM = {
    "lags": list(range(-8, 9)),      # commit c21175c
    "counts": [191, 172, 193, 175, 184, 198, 191, 182, 181, 191, 202, 213, 189, 203, 208, 184, 203],
}
AUTHORS_GRID_DELAY_HISTOGRAM_15 = {
    "lags": list(range(-15, 16)),    # commit b437858
    "counts": [21, 19, 18, 22, 22, 137, 115, 155, 132, 148, 123, 163, 136, 138, 155, 139, 156,
               147, 145, 166, 134, 157, 140, 147, 156, 157, 26, 19, 17, 26, 24],
}


def authors_histogram_in_our_convention(h: dict = AUTHORS_GRID_DELAY_HISTOGRAM) -> dict:
    """The same counts with lags negated (positive = lips lead), sorted by lag."""
    return {"lags": [-l for l in h["lags"][::-1]], "counts": list(h["counts"][::-1])}


def _gray_uint8(frames) -> np.ndarray:
    """(N, H, W[, 3]) uint8, or float in [-1, 1] -> (N, H, W) uint8 grey."""
    f = np.asarray(frames)
    if f.dtype != np.uint8:
        f = to_uint8(f)
    if f.ndim == 4:
        f = np.asarray(f, np.float64) @ np.array([0.299, 0.587, 0.114])
        f = np.round(f)
    return np.asarray(f).astype(np.uint8)


def motion_energy(frames) -> np.ndarray:
    """Mean Farneback flow magnitude (pixels) between consecutive grey frames; shape (N - 1,).
    ``frames``: (N, H, W[, 3]) uint8, or float in [-1, 1]."""
    import cv2
    g = _gray_uint8(frames)
    out = []
    for a, b in zip(g[:-1], g[1:]):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK)
        out.append(float(np.linalg.norm(flow, axis=-1).mean()))
    return np.asarray(out)


def audio_change(lms: np.ndarray, flux: str = "abs", cfg: AudioConfig = AudioConfig()) -> np.ndarray:
    """Per-transition audio change from :func:`lmg_lib.data.audio.spectral_flux`, (N - 1,).
    ``flux``: "signed" (the authors), "abs" (default) or "positive" (rises only)."""
    return spectral_flux(np.asarray(lms).reshape(-1, np.shape(lms)[-1]), cfg, mode=flux)


def lagged_chunk_corr(audio: np.ndarray, motion: np.ndarray, lag: int, chunk: int = 16) -> float:
    """Mean Pearson r over the ``chunk``-long pieces of the overlap of motion[t] and
    audio[t + lag]; NaN if no whole chunk fits. Constant chunks (r undefined) are skipped."""
    n = min(len(audio), len(motion))
    a, m = (audio[lag:n], motion[:n - lag]) if lag >= 0 else (audio[:n + lag], motion[-lag:n])
    rs = []
    for i in range(0, len(a) - chunk + 1, chunk):
        x, y = a[i:i + chunk], m[i:i + chunk]
        if np.std(x) > 0 and np.std(y) > 0:
            rs.append(float(np.corrcoef(x, y)[0, 1]))
    return float(np.mean(rs)) if rs else float("nan")


@dataclass(frozen=True)
class SyncResult:
    """``lag``: best lag in frames (positive = lips lead); ``corr``: its mean chunk r;
    ``confidence``: corr minus the median r over lags; ``lags``/``corrs``: the whole curve."""
    lag: int
    corr: float
    confidence: float
    lags: np.ndarray
    corrs: np.ndarray


def av_offset_from_series(audio: np.ndarray, motion: np.ndarray, max_lag: int = 8,
                          chunk: int = 16) -> SyncResult:
    """Best lag of two per-transition series (see module docstring)."""
    lags = np.arange(-max_lag, max_lag + 1)
    corrs = np.array([lagged_chunk_corr(audio, motion, int(l), chunk) for l in lags])
    if np.all(np.isnan(corrs)):
        return SyncResult(0, float("nan"), float("nan"), lags, corrs)
    k = int(np.nanargmax(corrs))
    return SyncResult(int(lags[k]), float(corrs[k]), float(corrs[k] - np.nanmedian(corrs)), lags, corrs)


def av_offset(frames, lms: np.ndarray, max_lag: int = 8, chunk: int = 16, flux: str = "abs",
              cfg: AudioConfig = AudioConfig()) -> SyncResult:
    """AV offset of one video: ``frames`` (N, H, W[, 3]) and its LMS (4N, 128) or (1, 4N, 128)."""
    motion = motion_energy(frames)
    audio = audio_change(lms, flux=flux, cfg=cfg)
    n = min(len(audio), len(motion))
    return av_offset_from_series(audio[:n], motion[:n], max_lag=max_lag, chunk=chunk)


def best_lag_histogram(lags, max_lag: int = 8) -> dict:
    """Counts of best lags in -max_lag..max_lag: {"lags": [...], "counts": [...]}.
    ``lags``: ints or :class:`SyncResult` objects; results with a NaN correlation are ignored."""
    vals = [r.lag if isinstance(r, SyncResult) else int(r) for r in lags
            if not (isinstance(r, SyncResult) and np.isnan(r.corr))]
    grid = list(range(-max_lag, max_lag + 1))
    return {"lags": grid, "counts": [sum(v == g for v in vals) for g in grid]}
