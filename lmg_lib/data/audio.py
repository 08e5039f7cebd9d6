"""Audio front end: speech -> log-mel spectrogram (LMS) aligned to video frames.

Reading the file (any format, rate and channel count -> mono float32 at 16 kHz) is
``util.audio_io.load_audio``; this module turns the samples into the model's input.

Alignment contract (used by the data pipeline, the model and ``lmg generate``): video frame ``t``
(0-based, 25 fps) owns LMS steps ``4t .. 4t+3``; a clip of 16 frames starting at frame ``k`` is the
(1, 64, 128) block of steps ``4k .. 4k+63``. See ``config.AudioConfig`` for the chosen STFT sizes.
"""
from __future__ import annotations

import numpy as np

from ..config import AudioConfig
from ..util.audio_io import AudioError

MEL_BLOCK_STEPS = 3000       # LMS steps per STFT block (30 s of speech): long speech in bounded memory


def n_video_frames(n_samples: int, cfg: AudioConfig = AudioConfig()) -> int:
    """Number of whole 40 ms video frames covered by ``n_samples`` of audio."""
    return n_samples // cfg.samples_per_frame


def mel_power(y: np.ndarray, cfg: AudioConfig = AudioConfig(), block: int = MEL_BLOCK_STEPS) -> np.ndarray:
    """Power mel spectrogram (Hann, centred STFT, zeros beyond both ends) -> (n_mels, 1 + len(y) // hop)
    float32, as ``librosa.feature.melspectrogram(center=True)``. Longer than ``block`` steps, it is
    computed ``block`` steps at a time, each block with the ``n_fft / 2`` samples of context its
    frames reach, so the STFT (513 complex bins a step) never holds more than one block: the same
    frames, equal to ~1e-7 relative (the matrix products round differently)."""
    import librosa
    kw = dict(sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, window="hann", power=2.0,
              n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax or cfg.sample_rate / 2)
    hop, half = cfg.hop_length, cfg.n_fft // 2
    n_steps = 1 + len(y) // hop
    if n_steps <= block:
        return librosa.feature.melspectrogram(y=y, center=True, **kw)
    out = np.empty((cfg.n_mels, n_steps), np.float32)
    for s0 in range(0, n_steps, block):
        s1 = min(s0 + block, n_steps)
        a, b = s0 * hop - half, (s1 - 1) * hop + half                 # the samples steps s0..s1-1 see
        seg = y[max(a, 0):b]
        left = max(-a, 0)
        seg = np.pad(seg, (left, b - a - left - len(seg)))             # zeros beyond the ends
        out[:, s0:s1] = librosa.feature.melspectrogram(y=seg, center=False, **kw)
    return out


def power_to_db_(S: np.ndarray, top_db: float, amin: float = 1e-10) -> np.ndarray:
    """``librosa.power_to_db(S, ref=np.max, amin=amin, top_db=top_db)`` computed IN PLACE in ``S``
    (the same operations, so the same numbers, without the full-size temporaries). Returns ``S``."""
    ref = S.max()
    np.maximum(S, amin, out=S)
    np.log10(S, out=S)
    S *= 10.0
    S -= 10.0 * np.log10(np.maximum(amin, ref))
    return np.maximum(S, S.max() - top_db, out=S)


def log_mel_spectrogram(y: np.ndarray, cfg: AudioConfig = AudioConfig(),
                        n_frames: int | None = None) -> np.ndarray:
    """LMS of a whole utterance, (n_frames * steps_per_frame, n_mels) float32 in [-1, 1].

    Power mel spectrogram (Hann, centred STFT) -> dB relative to the utterance maximum with
    ``top_db`` of range (as librosa's ``power_to_db``) -> scaled from [-top_db, 0] to [-1, 1].
    ``n_frames`` defaults to the whole frames in ``y``; audio is zero-padded if it is shorter.
    Memory: the result plus one (n_mels, steps) float32 array and one 30 s STFT block (``mel_power``).
    """
    if n_frames is None:
        n_frames = n_video_frames(len(y), cfg)
    if n_frames < 1:
        raise AudioError(f"audio of {len(y)} samples is shorter than one video frame")
    need = n_frames * cfg.samples_per_frame
    if len(y) < need:
        y = np.pad(y, (0, need - len(y)))
    db = power_to_db_(mel_power(y[:need], cfg), cfg.top_db)            # (n_mels, steps + 1)
    db /= cfg.top_db / 2
    db += 1.0
    lms = db.T[: n_frames * cfg.steps_per_frame]                       # (steps, n_mels)
    return np.ascontiguousarray(lms, dtype=np.float32)


def clip_lms(lms: np.ndarray, start_frame: int, n_frames: int = 16,
             cfg: AudioConfig = AudioConfig()) -> np.ndarray:
    """The (1, n_frames * steps_per_frame, n_mels) block of video frames [start, start + n)."""
    s = cfg.steps_per_frame
    block = lms[start_frame * s:(start_frame + n_frames) * s]
    if block.shape[0] != n_frames * s:
        raise AudioError(f"clip [{start_frame}, {start_frame + n_frames}) runs past the audio "
                         f"({lms.shape[0] // s} frames)")
    return block[None]


def spectral_flux(lms: np.ndarray, cfg: AudioConfig = AudioConfig(), mode: str = "signed") -> np.ndarray:
    """Per-video-frame audio change, (n_frames - 1,): the mean LMS of frame t minus that of frame
    t-1, as in the authors' delay analysis (``mode="signed"``). ``"abs"`` takes its magnitude (rises
    and falls both count as change) and ``"positive"`` keeps rises only."""
    s = cfg.steps_per_frame
    per_frame = lms[: lms.shape[0] // s * s].reshape(-1, s, lms.shape[1]).mean(axis=(1, 2))
    d = np.diff(per_frame)
    if mode == "signed":
        return d
    if mode == "abs":
        return np.abs(d)
    if mode == "positive":
        return np.maximum(d, 0.0)
    raise ValueError(f"spectral_flux mode must be 'signed', 'abs' or 'positive', got {mode!r}")
