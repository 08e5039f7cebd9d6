"""The files ``lmg generate`` writes: the mp4 with the speech (optionally the input image beside the
lips) and a PNG strip of frames, all-or-nothing."""
from __future__ import annotations

import numpy as np

from ..util import video_io
from ..util.files import atomic_path


SIDE_BY_SIDE_HEIGHT = 256     # panel height of --side-by-side videos


def side_by_side_frames(frames: np.ndarray, image: np.ndarray, box=None,
                        height: int = SIDE_BY_SIDE_HEIGHT) -> np.ndarray:
    """[input image (with the crop box drawn) | generated lips, both ``height`` px tall] per frame."""
    import cv2
    h, w = image.shape[:2]
    left = np.ascontiguousarray(image)
    if box is not None:
        x0, y0, s = box
        left = left.copy()
        cv2.rectangle(left, (x0, y0), (x0 + s - 1, y0 + s - 1), (0, 255, 0), max(1, round(max(h, w) / 200)))
    lw = max(2, int(round(w * height / h / 2)) * 2)                       # even widths for yuv420p
    left = cv2.resize(left, (lw, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)
    out = np.empty((len(frames), height, lw + height, 3), np.uint8)
    out[:, :, :lw] = left
    for i, f in enumerate(frames):
        out[i, :, lw:] = cv2.resize(f, (height, height), interpolation=cv2.INTER_CUBIC)
    return out


def frame_row(frames: np.ndarray, max_frames: int = 16) -> np.ndarray:
    """One row of up to ``max_frames`` evenly spaced frames (H, k W, 3) uint8."""
    idx = np.unique(np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int))
    return np.concatenate(list(frames[idx]), axis=1)


def check_writable(path, suffixes=(".mp4",)) -> "Path":
    """Raise OSError (with a clear message) unless a file can be created at ``path``."""
    import os
    import tempfile
    from pathlib import Path
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OSError(f"output {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OSError(f"output {path} is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise OSError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    return path


def write_outputs(out, frames: np.ndarray, audio_path, fps: int = 25, side_by_side: dict | None = None,
                  strip=None) -> None:
    """The mp4 (H.264, ``audio_path`` muxed as AAC) and optionally a PNG frame strip, all-or-nothing:
    both are written to temporary files and moved into place only when both succeeded.
    ``side_by_side``: dict(image=..., box=...) puts the input image beside the generated lips."""
    import contextlib
    video = frames if side_by_side is None else side_by_side_frames(frames, side_by_side["image"],
                                                                    side_by_side.get("box"))
    with contextlib.ExitStack() as stack:
        tmp_v = stack.enter_context(atomic_path(out))
        if strip is not None:
            import cv2
            tmp_s = stack.enter_context(atomic_path(strip))
            if not cv2.imwrite(str(tmp_s), np.ascontiguousarray(frame_row(frames)[:, :, ::-1])):
                raise OSError(f"cannot write the frame strip {strip}")
        video_io.write_video(tmp_v, video, fps=fps, audio_path=audio_path)
