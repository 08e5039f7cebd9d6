"""A larger read of shipped runs on the VALIDATION speakers than the one their training logged.

    python tools/val_read.py search_b4_nod search_b4_ae            # 120 clips, CPBD on every one
    python tools/val_read.py full_cpu2 --clips 48 --cpbd-clips 8   # = the training's own validation

During training each run is validated on 48 clips with CPBD on the first 8 of them only
(``train.recipe.Validator``, ``eval.protocol.quick_sync_metrics``: CPBD is the slow metric), which
is enough to choose a step by LMD but a noisy read of sharpness. This scores each run's shipped
generator (``checkpoints/<run>/generator.safetensors``: the step its validation chose) with the same
metric on ``--clips`` evenly spaced validation clips, CPBD on ``--cpbd-clips`` of them (default: all),
and prints each metric's mean with a 95 % interval over the clips, and the real frames' CPBD on the
same clips (the target's scale: CPBD within 0.5-2x of it); for two runs with the same seed
(the same clips and reference frames) also the paired difference of the second minus the first.
Validation speakers only: no choice here reads the test speakers.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METRICS = ("lmd", "opening_r", "psnr", "psnr_mouth", "cpbd")


def interval(x) -> str:
    """mean [95 % t interval] over the clips: ``eval.protocol.mean_ci``, as Table 3's intervals."""
    from lmg_lib.eval.protocol import mean_ci
    return "{:.3f} [{:.3f}, {:.3f}]".format(*mean_ci(x))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders under checkpoints/")
    ap.add_argument("--data", default=str(ROOT / "data" / "prep"), help="preprocessed dataset (its val split)")
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--cpbd-clips", type=int, default=None, help="clips CPBD is computed on (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import torch
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced_items
    from lmg_lib.eval import metrics as M
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import quick_sync_metrics
    from lmg_lib.train.baselines import BASELINES
    from lmg_lib.train.checkpoints import load_network
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    from lmg_lib.util.pixels import to_uint8_frames
    torch.set_num_threads(a.threads)
    paths = [SHIPPED_CHECKPOINTS / run / "generator.safetensors" for run in a.runs]
    for p in paths:
        if not p.is_file():
            print(f"error: no {p}", file=sys.stderr)
            return 2
    detect = load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt").detect
    per_clip, seeds = {}, {}
    for run, path in zip(a.runs, paths):
        G, cfg = load_network(path, BASELINES)[:2]
        items = evenly_spaced_items(LipClipDataset(a.data, "val", seed=cfg.seed), a.clips)   # its own references
        m = quick_sync_metrics(G, items, detect, n_cpbd=a.cpbd_clips or len(items), per_clip=True)
        per_clip[run], seeds[run] = m, cfg.seed
        print(f"{run} (seed {cfg.seed}), {len(items)} validation clips: "
              + "; ".join(f"{k} {interval(m[k])}" for k in METRICS), flush=True)
    n = a.cpbd_clips or len(items)                  # the real frames are the same clips whatever the seed
    real = [M.cpbd_video(M.to_gray(to_uint8_frames(np.asarray(d["video"])))) for d in items[:n]]
    print(f"real frames, the same {len(real)} clips: cpbd {interval(real)}")
    if len(a.runs) == 2 and len(set(seeds.values())) == 1:
        first, second = (per_clip[r] for r in a.runs)
        print(f"{a.runs[1]} minus {a.runs[0]}, paired by clip: "
              + "; ".join(f"{k} {interval(np.asarray(second[k]) - np.asarray(first[k]))}" for k in METRICS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
