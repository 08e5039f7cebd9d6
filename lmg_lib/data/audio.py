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


def n_video_frames(n_samples: int, cfg: AudioConfig = AudioConfig()) -> int:
    """Number of whole 40 ms video frames covered by ``n_samples`` of audio."""
    return n_samples // cfg.samples_per_frame


def log_mel_spectrogram(y: np.ndarray, cfg: AudioConfig = AudioConfig(),
                        n_frames: int | None = None) -> np.ndarray:
    """LMS of a whole utterance, (n_frames * steps_per_frame, n_mels) float32 in [-1, 1].

    Power mel spectrogram (Hann, centred STFT) -> dB relative to the utterance maximum with
    ``top_db`` of range (as librosa's ``power_to_db``) -> scaled from [-top_db, 0] to [-1, 1].
    ``n_frames`` defaults to the whole frames in ``y``; audio is zero-padded if it is shorter.
    """
    import librosa
    if n_frames is None:
        n_frames = n_video_frames(len(y), cfg)
    if n_frames < 1:
        raise AudioError(f"audio of {len(y)} samples is shorter than one video frame")
    need = n_frames * cfg.samples_per_frame
    if len(y) < need:
        y = np.pad(y, (0, need - len(y)))
    y = y[:need]
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, window="hann",
        center=True, power=2.0, n_mels=cfg.n_mels, fmin=cfg.fmin,
        fmax=cfg.fmax or cfg.sample_rate / 2)                       # (n_mels, steps + 1)
    db = librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=cfg.top_db)
    lms = (db / (cfg.top_db / 2) + 1.0).T[: n_frames * cfg.steps_per_frame]  # (steps, n_mels)
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
