"""Reading speech: any audio file or array -> float32 mono at 16 kHz, or a clear ``AudioError``.

The first step of the audio front end (``data/audio.py`` turns the result into the log-mel
spectrogram the model reads). It lives here, at the bottom of the package, because the embedded
corpus (``corpus/speech.py``, espeak's output) and video files (``util/video_io.py``) need it too.
"""
from __future__ import annotations

import os
import subprocess
from math import gcd
from pathlib import Path

import numpy as np

from ..config import AudioConfig


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
            y = y[:, 0] if y.shape[1] == 1 else y.mean(axis=1)              # mono: no copy
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
    block = 1 << 20                                      # float64 squares a block at a time (long speech)
    power = sum(float(np.square(y[i:i + block], dtype=np.float64).sum()) for i in range(0, len(y), block))
    rms = float(np.sqrt(power / len(y)))
    rms_db = 20 * np.log10(max(rms, 1e-12))
    if rms_db < cfg.min_rms_db:
        raise AudioError(f"{name} is silent (RMS {rms_db:.1f} dBFS < {cfg.min_rms_db:.0f} dBFS)")
