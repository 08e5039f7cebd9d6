"""Samples over training, shipped compactly: one image strip and a small index beside it.

During a run the ``Trainer`` saves the generated frames of a fixed batch every ``sample_every``
steps (``samples/step_NNNNNN.npy``, uint8 (B, 16, S, S, 3)). What is shipped in
``checkpoints/<run>/`` is the picture the notebooks show: for every sample clip one block of rows,
its real frames first and then one row per saved step, and the kept frames (0, 5, 10, 15) as the
columns, stored as ONE JPEG (quality 95, no chroma subsampling; 0.15-0.5 MB a run where the
arrays with float32 real clips took 0.8-1.8 MB) with ``samples.json`` (the steps, the frame numbers, the layout). The pixels are thus
JPEG-compressed pictures of the samples, for looking at: no metric is computed from them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = "lmg-samples-strip-1"


def save_samples(dest, frames: np.ndarray, steps, real: np.ndarray, kept, quality: int = 95) -> Path:
    """``frames`` uint8 (n_steps, B, F, S, S, 3), ``real`` uint8 (B, F, S, S, 3), ``kept`` the F frame
    numbers -> ``dest/samples.jpg`` and ``dest/samples.json``; returns the image's path."""
    from PIL import Image
    frames, real = np.asarray(frames, np.uint8), np.asarray(real, np.uint8)
    n, B, F, S = frames.shape[:4]
    if real.shape != (B, F, S, S, 3) or len(steps) != n or len(kept) != F:
        raise ValueError(f"samples: frames {frames.shape}, real {real.shape}, {len(steps)} steps and "
                         f"{len(kept)} frame numbers do not fit together")
    rows = np.concatenate([real[None], frames], 0)                  # (1 + n, B, F, S, S, 3)
    grid = rows.transpose(1, 0, 3, 2, 4, 5).reshape(B * (1 + n) * S, F * S, 3)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(dest / "samples.jpg", quality=quality, subsampling=0)
    index = {"format": FORMAT, "steps": [int(s) for s in steps], "frames": [int(k) for k in kept],
             "clips": B, "size": S, "layout": "per clip: real, then one row per step; columns: frames"}
    (dest / "samples.json").write_text(json.dumps(index, indent=1) + "\n")
    return dest / "samples.jpg"


def load_samples(run_dir) -> dict:
    """{"frames": uint8 (n_steps, B, F, S, S, 3), "steps": [...], "real": uint8 (B, F, S, S, 3),
    "kept": the F frame numbers} from a shipped run folder (``save_samples``)."""
    from PIL import Image
    run_dir = Path(run_dir)
    index = json.loads((run_dir / "samples.json").read_text())
    if index.get("format") != FORMAT:
        raise ValueError(f"{run_dir / 'samples.json'}: not a samples index ({index.get('format')!r})")
    B, S, F, n = index["clips"], index["size"], len(index["frames"]), len(index["steps"])
    grid = np.asarray(Image.open(run_dir / "samples.jpg").convert("RGB"))
    if grid.shape != (B * (1 + n) * S, F * S, 3):
        raise ValueError(f"{run_dir / 'samples.jpg'}: {grid.shape} is not the layout of samples.json")
    rows = grid.reshape(B, 1 + n, S, F, S, 3).transpose(1, 0, 3, 2, 4, 5)   # (1 + n, B, F, S, S, 3)
    return {"frames": rows[1:], "steps": index["steps"], "real": rows[0], "kept": index["frames"]}
