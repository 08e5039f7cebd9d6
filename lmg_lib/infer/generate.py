"""Speech of any length + one lip image -> the lip video: ``generate_video(G, cfg, audio, lip_image)``
-> ``frames (N, S, S, 3) uint8`` with ``N = ceil(duration * 25)``, generated as overlapping clip
windows (``windows.py``), on the fast CPU path (``fast.py``) where it was measured faster (networks
at least ``FAST_MIN_WIDTH`` wide; the plain generator otherwise). ``stream_video`` yields
the same frames one at a time, each as soon as its windows are done, so that memory does not grow
with the length of the speech (``lmg generate`` encodes them as they come).

Short speech is PADDED, not refused: audio shorter than one clip (0.64 s) has its LMS extended to
16 frames at the silence level (-1, the floor of the dB scale -- exactly what
``log_mel_spectrogram`` gives for zero-padded audio) and the first N frames of the clip are kept;
a warning says so. Audio shorter than one video frame (40 ms) or silent is refused by
``util.audio_io.load_audio`` (``AudioError``).
"""
from __future__ import annotations

import logging
import warnings
from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn as nn

from ..config import Config
from ..data.audio import clip_lms, log_mel_spectrogram
from ..util.audio_io import load_audio
from ..util.pixels import to_uint8
from .fast import FastGenerator, fast_generator
from .images import prepare_lip
from .windows import DEFAULT_OVERLAP, blend_stream, blend_windows, window_starts

log = logging.getLogger(__name__)

DEFAULT_BATCH = 4            # windows per forward pass


class PreparedSpeech(NamedTuple):
    lms: np.ndarray          # (4 max(N, 16), n_mels) float32 in [-1, 1]
    n_frames: int            # N = ceil(duration * fps): frames of the output video
    wave: np.ndarray         # the speech, mono float32 at cfg.audio.sample_rate


def speech_lms(audio, cfg: Config) -> PreparedSpeech:
    """audio (path, (array, sr) or 1-D array at cfg's rate) -> PreparedSpeech (LMS of max(N, 16)
    frames, N, wave). Speech shorter than one clip is padded with silence, with a warning."""
    if isinstance(audio, PreparedSpeech):
        return audio
    if isinstance(audio, tuple):
        y = load_audio(audio[0], cfg.audio, sr=audio[1])
    elif isinstance(audio, np.ndarray):
        y = load_audio(audio, cfg.audio, sr=cfg.audio.sample_rate)
    else:
        y = load_audio(audio, cfg.audio)
    spf = cfg.audio.samples_per_frame
    n = -(-len(y) // spf)                                              # ceil(duration * fps)
    T = cfg.model.n_frames
    if n < T:
        msg = (f"speech is {len(y) / cfg.audio.sample_rate:.2f} s, shorter than one clip "
               f"({T / cfg.audio.fps:.2f} s): padded with silence to {T} frames, {n} kept")
        warnings.warn(msg, stacklevel=3)
        log.warning(msg)
    lms = log_mel_spectrogram(y, cfg.audio, n_frames=max(n, T))
    return PreparedSpeech(lms, n, y)


class _Windows(NamedTuple):
    model: nn.Module         # a FastGenerator, or the plain generator in eval mode
    lms: np.ndarray          # (4 max(N, 16), n_mels)
    n_frames: int            # N
    starts: list[int]        # first frame of each window
    lip: torch.Tensor        # (1, 3, S, S) in [-1, 1] on the device


# The fast path pays only on wide networks (benchmarks/cpu_rtf.py, docs/PERFORMANCE.md): 2.08x the plain
# path's speed at the paper's width (32), 0.29x at the cpu preset's width 8 (every shipped model).
# Below FAST_MIN_WIDTH (no width in between was measured) the default is the plain path.
FAST_MIN_WIDTH = 32


def fast_pays(cfg: Config, device: torch.device) -> bool:
    """The default of ``fast=None``: the fast path on a CPU for a network at least FAST_MIN_WIDTH wide."""
    return device.type == "cpu" and cfg.model.width >= FAST_MIN_WIDTH


@torch.inference_mode()
def _windows(G: nn.Module, cfg: Config, audio, lip_image, overlap: int, fast: bool | None,
             device: torch.device) -> _Windows:
    """What both generate_video and stream_video start from: the model to run, the speech, the windows."""
    T, S = cfg.model.n_frames, cfg.model.image_size
    lms, n, _ = speech_lms(audio, cfg)
    lip = prepare_lip(lip_image, S).to(device)
    if fast is None:
        fast = fast_pays(cfg, device)
    if isinstance(G, FastGenerator):
        model = G
    elif fast and device.type == "cpu":
        model = fast_generator(G)
    else:
        model = G.eval()
    return _Windows(model, lms, n, window_starts(max(n, T), T, overlap), lip)


@torch.inference_mode()
def _window_clips(w: _Windows, cfg: Config, batch: int, device: torch.device,
                  progress=None) -> Iterator[np.ndarray]:
    """The clip of every window, in order, ``batch`` windows per forward pass -> (b, T, S, S, 3)
    float32 in [-1, 1] per pass."""
    T = cfg.model.n_frames
    ident = w.model.identity(w.lip) if isinstance(w.model, FastGenerator) else None
    for i in range(0, len(w.starts), batch):
        idx = w.starts[i:i + batch]
        x = torch.from_numpy(np.stack([clip_lms(w.lms, s, T, cfg.audio) for s in idx])).to(device)
        if ident is not None:
            video, _ = w.model.decode(x, ident)
        else:
            video, _ = w.model(x, w.lip.expand(len(idx), -1, -1, -1))
        yield video.float().permute(0, 2, 3, 4, 1).cpu().numpy()
        if progress is not None:
            progress(min(i + batch, len(w.starts)), len(w.starts))


@torch.inference_mode()
def generate_video(G: nn.Module, cfg: Config, audio, lip_image, overlap: int = DEFAULT_OVERLAP,
                   batch: int = DEFAULT_BATCH, fast: bool | None = None, device: str | torch.device = "cpu",
                   progress=None) -> np.ndarray:
    """Speech of any length + one lip image -> frames (N, S, S, 3) uint8, N = ceil(duration * 25).

    ``G``: a ``LipGenerator`` (or a ``FastGenerator``); ``fast=True`` wraps a plain generator with
    ``fast_generator`` (CPU only; on CUDA the plain module is used), ``fast=False`` runs it as it is,
    ``fast=None`` takes the path measured faster for its width (``fast_pays``). ``audio``: a path, a 1-D array
    at ``cfg.audio.sample_rate``, ``(array, sample_rate)`` or a ``PreparedSpeech``. ``lip_image``: a lip crop as uint8
    (H, W, 3) RGB (resized to the model's size) or a float tensor in [-1, 1]. Holds every window
    and frame (~0.4 MB a frame at 64 px): for long speech stream the frames with ``stream_video``."""
    device = torch.device(device)
    T, S = cfg.model.n_frames, cfg.model.image_size
    w = _windows(G, cfg, audio, lip_image, overlap, fast, device)
    clips = np.empty((len(w.starts), T, S, S, 3), np.float32)
    i = 0
    for b in _window_clips(w, cfg, batch, device, progress):
        clips[i:i + len(b)] = b
        i += len(b)
    frames = blend_windows(clips, w.starts, max(w.n_frames, T))[:w.n_frames]
    return to_uint8(frames)


def stream_video(G: nn.Module, cfg: Config, audio, lip_image, overlap: int = DEFAULT_OVERLAP,
                 batch: int = DEFAULT_BATCH, fast: bool | None = None, device: str | torch.device = "cpu",
                 progress=None) -> Iterator[np.ndarray]:
    """``generate_video`` one frame at a time: yields the same N frames (S, S, 3) uint8 (equal
    exactly), each as soon as every window covering it is done, so memory does not grow with the
    length of the speech (one batch of windows and one clip of blended frames). Arguments as
    ``generate_video``; pass a ``PreparedSpeech`` to know N before the first frame."""
    device = torch.device(device)
    w = _windows(G, cfg, audio, lip_image, overlap, fast, device)
    clips = (c for b in _window_clips(w, cfg, batch, device, progress) for c in b)    # (T, S, S, 3)
    for frame in blend_stream(clips, w.starts, w.n_frames, cfg.model.n_frames):
        yield to_uint8(frame)
