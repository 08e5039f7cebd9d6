"""Precomputed videos scored like a model: whole source videos (for example the audio-only
ceiling's, ``corpus.ceiling.RenderedVideos``) cut into the preprocessed dataset's clips.

Each utterance's video is cropped exactly as ``lmg preprocess`` cropped the real one: with the
crop boxes stored in its shard (``box``, from ``data.crop.crop_boxes``) by ``data.crop.crop_frames``,
first ``n_frames`` frames. So the frames are in the same 64 x 64 crop as the ground truth they are
compared with, as a model's are. ``evaluate_model`` scores an object with ``clip_video`` like a
model (``protocol.evaluate_model``), ``tools/make_shipped.py``'s utterance sync one with
``utterance_video``.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.crop import crop_frames
from ..data.shards import load_shard, read_manifest
from ..util.pixels import from_uint8


class PreparedVideos:
    """``videos(speaker, utt, drive=None) -> (N, H, W, 3) uint8`` source videos, cropped like the
    real clips of the preprocessed dataset ``prep_root``. ``drive``: passed on to ``videos`` (for
    the ceiling, ``(speaker2, utt2, start, start2, length)``: those frames driven by another
    sentence); ``None`` asks for the video of the sentence's own audio."""

    def __init__(self, prep_root, videos: Callable, cache: int = 4):
        self.root, self.videos = Path(prep_root), videos
        man = read_manifest(self.root)
        self.size, self.T = man["config"]["model"]["image_size"], man["config"]["model"]["n_frames"]
        self.shards = {(r["speaker"], r["utterance"]): name for name, r in man["shards"].items()}
        self._cache: OrderedDict = OrderedDict()
        self._max = cache

    def utterance_video(self, speaker: str, utt: str, drive=None) -> np.ndarray:
        """(n, S, S, 3) uint8: the utterance's video in its clips' crop (n = the shard's frames)."""
        key = (speaker, utt, drive)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if (speaker, utt) not in self.shards:
            raise KeyError(f"{speaker}/{utt} is not an utterance of {self.root}")
        box = load_shard(self.root / "shards" / self.shards[(speaker, utt)])["box"].astype(np.int64)   # (n, 3)
        video = np.asarray(self.videos(speaker, utt, drive))
        if len(video) < len(box):
            raise ValueError(f"{speaker}/{utt}: {len(video)} frames for the {len(box)} of its shard")
        out = crop_frames(video[: len(box)], box, self.size)
        if drive is None:                               # only the own-audio videos are asked again
            self._cache[key] = out
            if len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return out

    def clip_video(self, clip: dict, driver: dict | None = None) -> np.ndarray:
        """(3, T, S, S) float32 in [-1, 1], the model's layout, of a manifest clip (speaker,
        utterance, start_frame); ``driver``: another clip whose audio drives these frames."""
        s = int(clip["start_frame"])
        drive = None if driver is None else (driver["speaker"], driver["utterance"], s, int(driver["start_frame"]), self.T)
        frames = self.utterance_video(clip["speaker"], clip["utterance"], drive)[s:s + self.T]
        return from_uint8(frames).transpose(3, 0, 1, 2)
