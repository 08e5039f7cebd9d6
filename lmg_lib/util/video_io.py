"""Video files: write H.264 mp4 (25 fps) with the speech muxed as AAC, read frames and audio back.

Uses the static ffmpeg bundled with imageio-ffmpeg (no system ffmpeg needed). Every write goes to a
temporary file in the destination folder and is moved into place with ``os.replace``, so an
interrupted or failed write never leaves a half-written file under the final name.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..config import AudioConfig
from .audio_io import AudioError, load_audio
from .files import atomic_path


class VideoError(ValueError):
    """A video file cannot be written or read."""


@contextlib.contextmanager
def video_writer(path, width: int, height: int, fps: int = 25, audio_path=None, crf: int = 18,
                 comment: str | None = None) -> Iterator[Callable[[np.ndarray], None]]:
    """``with video_writer(path, W, H) as write: write(frame)`` for frames (H, W, 3) uint8 RGB, one
    at a time (ffmpeg encodes as they come, so nothing but the current frame is held): H.264
    (yuv420p) mp4, ``audio_path`` (a wav) muxed as AAC, ``comment`` stored as the file's comment
    tag. Deterministic (bit-exact, no input metadata, one encoder thread) and atomic: the file
    appears under ``path`` only when the block ends without an exception."""
    import imageio_ffmpeg
    if audio_path is not None and not Path(audio_path).is_file():
        raise VideoError(f"audio file not found: {audio_path}")
    params = ["-crf", str(crf), "-preset", "fast", "-threads", "1", "-fflags", "+bitexact", "-map_metadata", "-1"]
    if comment is not None:
        params += ["-metadata", f"comment={comment}"]
    n = 0

    def write(frame: np.ndarray) -> None:
        nonlocal n
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise VideoError(f"frame {n} must be ({height}, {width}, 3) uint8, got {frame.shape} {frame.dtype}")
        writer.send(np.ascontiguousarray(frame))
        n += 1

    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=1,
            quality=None, output_params=params, audio_path=None if audio_path is None else str(audio_path),
            audio_codec=None if audio_path is None else "aac", ffmpeg_log_level="error")
        writer.send(None)                                       # start ffmpeg
        try:
            yield write
        finally:
            writer.close()
        if n == 0:
            raise VideoError(f"no frames were written to {path}")


def write_video(path, frames: np.ndarray, fps: int = 25, audio_path=None, crf: int = 18,
                comment: str | None = None) -> Path:
    """Write frames (T, H, W, 3) uint8 RGB as H.264 (yuv420p) mp4, with ``audio_path`` (a wav)
    muxed as AAC if given (``video_writer`` with every frame at hand). Atomic. Returns the path."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise VideoError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got "
                         f"{frames.shape} {frames.dtype}")
    T, H, W, _ = frames.shape
    with video_writer(path, W, H, fps, audio_path, crf, comment) as write:
        for f in frames:
            write(f)
    return Path(path)


def _check_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"video file not found: {path}")
    if path.stat().st_size == 0:
        raise VideoError(f"video file is empty (0 bytes): {path}")
    return path


def read_frames(path) -> np.ndarray:
    """Decode all frames of a video -> (T, H, W, 3) uint8 RGB."""
    import av
    path = _check_file(path)
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VideoError(f"{path} has no video stream")
            frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(video=0)]
    except av.FFmpegError as e:
        raise VideoError(f"cannot read video {path}: {e}") from None
    if not frames:
        raise VideoError(f"{path} contains no decodable frames")
    return np.stack(frames)


def read_audio(path, sample_rate: int = 16000, n_samples: int | None = None) -> np.ndarray:
    """Decode the audio track -> (n,) float32 mono at ``sample_rate``. AAC decoding adds encoder
    padding; pass ``n_samples`` (e.g. from the wav) to trim/pad to the known length."""
    path = _check_file(path)
    if not probe(path)["has_audio"]:
        raise VideoError(f"{path} has no audio stream")
    try:
        y = load_audio(path, AudioConfig(sample_rate=sample_rate))
    except AudioError as e:
        raise VideoError(str(e)) from None
    if n_samples is not None:
        y = np.pad(y[:n_samples], (0, max(0, n_samples - len(y))))
    return y


def probe(path) -> dict:
    """Stream facts without decoding: n_frames, fps, width, height, has_audio, audio_rate."""
    import av
    path = _check_file(path)
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VideoError(f"{path} has no video stream")
            v = c.streams.video[0]
            a = c.streams.audio[0] if c.streams.audio else None
            return {"n_frames": int(v.frames), "fps": float(v.average_rate or 0),
                    "width": v.codec_context.width, "height": v.codec_context.height,
                    "has_audio": a is not None, "audio_rate": a.rate if a is not None else None}
    except av.FFmpegError as e:
        raise VideoError(f"cannot read video {path}: {e}") from None
