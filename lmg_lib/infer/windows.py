"""Windows and seams: speech longer than one clip is generated as overlapping clip windows that are
cross-faded.

The generator makes 16-frame clips (0.64 s). Longer speech is cut into 16-frame windows that overlap
by ``overlap`` frames (default 4, i.e. a hop of 12 frames); the LAST window is aligned to the end of
the speech, so it may overlap its predecessor by more. In every overlap the two windows are
cross-faded with a raised-cosine ramp (``blend_weights``): the incoming window's weight rises as
``0.5 - 0.5 cos(pi (j + 1) / (L + 1))`` over the L shared frames and the outgoing one falls by the
same amount, so the weights of every frame sum to 1 (they are also normalised explicitly, which
covers the rare case of three windows sharing a frame). Overlap costs compute: windows per second of
speech = 25 / (16 - overlap); overlap 4 costs 33 % over back-to-back clips, overlap 8 (the training
hop) 100 %. ``overlap=0`` gives back-to-back clips (visible seams).

``blend_windows`` blends clips held all at once; ``blend_stream`` takes them one at a time and
yields each frame as soon as no later window covers it (the same sums in the same order, so the
same numbers), which keeps ``lmg generate``'s memory flat however long the speech.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

DEFAULT_OVERLAP = 4          # frames shared by consecutive windows (hop = 16 - overlap)


def window_starts(n_frames: int, clip: int = 16, overlap: int = DEFAULT_OVERLAP) -> list[int]:
    """Start frames of the windows covering ``n_frames``: hop ``clip - overlap``, the last window
    aligned to the end. ``n_frames <= clip`` -> [0]."""
    if not 0 <= overlap < clip:
        raise ValueError(f"overlap must be in [0, {clip}), got {overlap}")
    if n_frames <= clip:
        return [0]
    hop = clip - overlap
    starts = list(range(0, n_frames - clip, hop))
    return starts + [n_frames - clip]


def _ramp(L: int) -> np.ndarray:
    """Raised-cosine fade-in over L frames, never 0 or 1: r_j + r_{L-1-j} = 1."""
    j = np.arange(1, L + 1)
    return 0.5 - 0.5 * np.cos(np.pi * j / (L + 1))


def blend_weights(starts: list[int], n_frames: int, clip: int = 16) -> np.ndarray:
    """(n_windows, clip) weights: raised-cosine cross-fades over each overlap, normalised so that
    the weights of every output frame sum to exactly 1."""
    n = len(starts)
    w = np.ones((n, clip), np.float64)
    for i in range(n):
        if i > 0:                                   # fade in over the overlap with window i-1
            L = starts[i - 1] + clip - starts[i]
            if L > 0:
                w[i, :L] = np.minimum(w[i, :L], _ramp(L))
        if i + 1 < n:                               # fade out over the overlap with window i+1
            L = starts[i] + clip - starts[i + 1]
            if L > 0:
                w[i, clip - L:] = np.minimum(w[i, clip - L:], _ramp(L)[::-1])
    total = np.zeros(max(n_frames, clip))
    for s, wi in zip(starts, w):
        total[s:s + clip] += wi
    for i, s in enumerate(starts):
        w[i] /= total[s:s + clip]
    return w


def blend_windows(clips: np.ndarray, starts: list[int], n_frames: int) -> np.ndarray:
    """clips (n_windows, clip, ...) float -> (n_frames, ...) cross-faded (see ``blend_weights``)."""
    clip = clips.shape[1]
    w = blend_weights(starts, n_frames, clip)
    out = np.zeros((max(n_frames, clip),) + clips.shape[2:], np.float64)
    for i, s in enumerate(starts):
        out[s:s + clip] += clips[i] * w[i].reshape((-1,) + (1,) * (clips.ndim - 2))
    return out[:n_frames]


def blend_stream(clips: Iterable[np.ndarray], starts: list[int], n_frames: int,
                 clip: int = 16) -> Iterator[np.ndarray]:
    """``blend_windows`` one window at a time: clips (clip, ...) float, in window order -> the
    ``n_frames`` frames (...) float64 of ``blend_windows``, equal exactly, each yielded once every
    window covering it has been added. Holds at most one clip of frames."""
    w = blend_weights(starts, n_frames, clip)
    pending: dict[int, np.ndarray] = {}                # frame index -> running weighted sum
    i = -1
    for i, c in enumerate(clips):
        if i >= len(starts):
            raise ValueError(f"more clips than the {len(starts)} windows")
        s = starts[i]
        weighted = c * w[i].reshape((-1,) + (1,) * (c.ndim - 1))            # (clip, ...) float64
        for j in range(clip):
            acc = pending.setdefault(s + j, np.zeros(weighted.shape[1:]))
            acc += weighted[j]
        done = starts[i + 1] if i + 1 < len(starts) else max(n_frames, clip)  # later windows start here
        for f in sorted(k for k in pending if k < done):
            frame = pending.pop(f)
            if f < n_frames:
                yield frame
    if i + 1 != len(starts):
        raise ValueError(f"{i + 1} clips for {len(starts)} windows")
