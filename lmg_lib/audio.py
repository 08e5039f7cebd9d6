"""Audio front end: any speech file -> mono 16 kHz -> log-mel spectrogram (LMS) aligned to video frames.

Alignment contract (used by the data pipeline, the model and ``lmg generate``): video frame ``t``
(0-based, 25 fps) owns LMS steps ``4t .. 4t+3``; a clip of 16 frames starting at frame ``k`` is the
(1, 64, 128) block of steps ``4k .. 4k+63``. See ``config.AudioConfig`` for the chosen STFT sizes.
"""
from __future__ import annotations

import io
import os
import subprocess
from math import gcd
from pathlib import Path

import numpy as np

from .config import AudioConfig


class AudioError(ValueError):
    """Raised for audio the pipeline cannot use (unreadable, silent, too short, NaN/inf)."""


def _read_with_ffmpeg(path: Path, sr: int) -> np.ndarray:
    import imageio_ffmpeg
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path),
           "-vn", "-ac", "1", "-ar", str(sr), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"cannot read audio file {path}: {msg[-1] if msg else 'ffmpeg failed'}")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (scipy), exact for integer rate ratios; float32 out."""
    if sr_in == sr_out:
        return y.astype(np.float32, copy=False)
    from scipy.signal import resample_poly
    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(y, sr_out // g, sr_in // g, axis=-1).astype(np.float32)


def load_audio(source, cfg: AudioConfig = AudioConfig(), sr: int | None = None,
               min_seconds: float = 0.04) -> np.ndarray:
    """Load speech as float32 mono at ``cfg.sample_rate``.

    ``source`` is a path (wav/flac/ogg via soundfile, anything else -- mp3, m4a, video files --
    via the ffmpeg binary bundled with imageio-ffmpeg) or an array with its rate ``sr``
    (shape (n,) mono, or (n, channels) / (channels, n) multi-channel, averaged to mono).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise AudioError(f"audio file not found: {path}")
        if path.stat().st_size == 0:
            raise AudioError(f"audio file is empty (0 bytes): {path}")
        try:
            import soundfile as sf
            y, sr = sf.read(str(path), dtype="float32", always_2d=True)   # (n, channels)
            y = y.mean(axis=1)
        except Exception:
            y, sr = _read_with_ffmpeg(path, cfg.sample_rate), cfg.sample_rate
        name = str(path)
    else:
        if sr is None:
            raise AudioError("an audio array needs its sample rate: load_audio(y, sr=...)")
        y = np.asarray(source, dtype=np.float32)
        if y.ndim == 2:   # multi-channel: channels on the short axis
            y = y.mean(axis=0 if y.shape[0] < y.shape[1] else 1)
        elif y.ndim != 1:
            raise AudioError(f"audio array must be 1-D or 2-D, got shape {y.shape}")
        name = "audio array"
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{name} contains NaN or infinite samples")
    if sr <= 0:
        raise AudioError(f"{name}: invalid sample rate {sr}")
    y = resample(y, int(sr), cfg.sample_rate)
    check_audio(y, cfg, min_seconds=min_seconds, name=name)
    return y


def check_audio(y: np.ndarray, cfg: AudioConfig = AudioConfig(), min_seconds: float = 0.04,
                name: str = "audio") -> None:
    """Raise ``AudioError`` for audio that is too short, silent or not finite."""
    dur = len(y) / cfg.sample_rate
    if dur < min_seconds:
        raise AudioError(f"{name} is too short: {dur:.3f} s, need at least {min_seconds:.3f} s")
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{name} contains NaN or infinite samples")
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    rms_db = 20 * np.log10(max(rms, 1e-12))
    if rms_db < cfg.min_rms_db:
        raise AudioError(f"{name} is silent (RMS {rms_db:.1f} dBFS < {cfg.min_rms_db:.0f} dBFS)")


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
