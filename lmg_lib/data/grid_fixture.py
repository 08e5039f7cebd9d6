"""A tiny corpus in real GRID's on-disk layout, without ground truth: what a GRID user has, in seconds.

Real GRID cannot be shipped, so the real-data path (``lmg preprocess --backend dlib`` and notebooks
1, 2 and 6 on a GRID folder) is tested on this fixture. It is made from an embedded corpus
(``lmg corpus``): every rendered mouth is blended into a real face photo (``face_paste``), so the
videos are full faces that dlib has to find, and written exactly as GRID is unpacked::

    <out>/s1/video/mpg_6000/<utt>.mpg      MPEG-1, 360x288, 25 fps, with its sound (MP2)
    <out>/audio_25k/s1/<utt>.wav           25 kHz mono PCM
    <out>/alignments/s1/align/<utt>.align  word alignments (1/25000 s)

No ``meta/`` sidecar and no ``corpus.json``: nothing tells a reader that the lips were rendered.
The ground truth the fixture knows (each frame's mouth landmarks in frame pixels, each utterance's
lag) is returned by ``build_grid_fixture`` and never written into the corpus folder.

Each utterance's head drifts slowly (``drift_px``) so that a landmark backend must follow it.
Deterministic: the same source gives byte-identical files.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..util.audio_io import load_audio, resample
from ..util.files import atomic_path
from ..util.video_io import read_frames
from .face_paste import background_face, blend_mouths
from .readers import read_grid

GRID_SIZE = (360, 288)           # GRID's frame: width, height
GRID_AUDIO_RATE = 25000          # audio_25k


@dataclass(frozen=True)
class FixtureConfig:
    speakers: tuple[str, ...] = ("s1", "s28")    # speakers of the source corpus, names kept
    utterances: int = 3                          # the first utterances (sorted) of each
    drift_px: float = 3.0                        # amplitude of the head's slow drift (frame px)
    grow: int = 2                                # lip mask: grown by this many px ...
    feather: float = 1.5                         # ... and blurred by this Gaussian (px)


@dataclass
class GridFixture:
    root: Path
    utterances: list[tuple[str, str]]                            # (speaker, utt), sorted
    mouth: dict[tuple[str, str], np.ndarray] = field(repr=False)  # (n, 20, 2) true mouth points, frame px
    lag_ms: dict[tuple[str, str], float] = field(repr=False)      # lips lead the sound by this much


def drift(n: int, amplitude: float, phase: float) -> np.ndarray:
    """A slow head drift (n, 2) in whole pixels: one period over ~3 s in x, half as fast in y."""
    t = np.arange(n) / 25.0
    return np.round(amplitude * np.stack([np.sin(2 * math.pi * t / 3 + phase),
                                          0.5 * np.sin(math.pi * t / 3 + 2 * phase)], 1)).astype(int)


def shift_frames(frames: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Translate each frame (N, H, W, 3) by its integer (dx, dy), edges replicated."""
    H, W = frames.shape[1:3]
    out = np.empty_like(frames)
    for i, (dx, dy) in enumerate(offsets):
        rows = np.clip(np.arange(H) - dy, 0, H - 1)
        cols = np.clip(np.arange(W) - dx, 0, W - 1)
        out[i] = frames[i][rows][:, cols]
    return out


def write_mpg(path, frames: np.ndarray, audio_path=None, fps: int = 25) -> Path:
    """MPEG-1 video in an MPEG program stream, as GRID's ``.mpg`` (with the sound as MP2 if given).
    High quality (qscale 2), one thread and bit-exact flags: deterministic; atomic."""
    import imageio_ffmpeg
    T, H, W, _ = frames.shape
    params = ["-q:v", "2", "-threads", "1", "-fflags", "+bitexact", "-flags", "+bitexact",
              "-map_metadata", "-1", "-f", "mpeg"]
    with atomic_path(path) as tmp:
        w = imageio_ffmpeg.write_frames(str(tmp), (W, H), fps=fps, codec="mpeg1video", pix_fmt_out="yuv420p",
                                        quality=None, bitrate=None, macro_block_size=1, output_params=params,
                                        audio_path=None if audio_path is None else str(audio_path),
                                        audio_codec=None if audio_path is None else "mp2",
                                        ffmpeg_log_level="error")
        w.send(None)
        for f in frames:
            w.send(np.ascontiguousarray(f))
        w.close()
    return Path(path)


def write_wav(path, y: np.ndarray, sr: int) -> Path:
    import soundfile as sf
    with atomic_path(path) as tmp:
        sf.write(str(tmp), y, sr, subtype="PCM_16", format="WAV")
    return Path(path)


def build_grid_fixture(source, out, cfg: FixtureConfig = FixtureConfig()) -> GridFixture:
    """Write the fixture under ``out`` (replacing what is there) from the embedded corpus ``source``
    (``lmg corpus``; it must have the sidecars of ``cfg.speakers``). Returns the ground truth."""
    source, out = Path(source), Path(out)
    utts = [u for u in read_grid(source, list(cfg.speakers))]
    by_speaker = {s: [u for u in utts if u.speaker == s][:cfg.utterances] for s in cfg.speakers}
    missing = [s for s, us in by_speaker.items() if len(us) < cfg.utterances or any(u.sidecar is None for u in us)]
    if missing:
        raise ValueError(f"{source}: speakers {missing} lack {cfg.utterances} utterances with sidecars "
                         f"(build them with `lmg corpus`)")
    if out.exists():
        shutil.rmtree(out)
    face = background_face(*GRID_SIZE)
    mouth, lag = {}, {}
    for k, u in enumerate(us for s in cfg.speakers for us in by_speaker[s]):
        with np.load(u.sidecar) as z:
            lm, lag[u.key] = np.asarray(z["landmarks"], np.float32), float(z["lag_ms"])
        crops = read_frames(u.video)                                       # (n, 64, 64, 3)
        n = min(len(crops), len(lm))
        frames, pts = blend_mouths(face, crops[:n], lm[:n], cfg.grow, cfg.feather)
        offsets = drift(n, cfg.drift_px, phase=0.7 * k)
        frames = shift_frames(frames, offsets)
        mouth[u.key] = pts + offsets[:, None, :]
        y = load_audio(u.audio)                                            # 16 kHz
        write_mpg(out / u.speaker / "video" / "mpg_6000" / f"{u.utt}.mpg", frames, audio_path=u.audio)
        write_wav(out / "audio_25k" / u.speaker / f"{u.utt}.wav", resample(y, 16000, GRID_AUDIO_RATE),
                  GRID_AUDIO_RATE)
        (out / "alignments" / u.speaker / "align").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(u.align, out / "alignments" / u.speaker / "align" / f"{u.utt}.align")
    keys = sorted(mouth, key=lambda key: (cfg.speakers.index(key[0]), key[1]))
    return GridFixture(out, keys, mouth, lag)
