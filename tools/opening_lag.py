"""Is a shipped model's mouth early, late, or too small? A diagnostic on the VALIDATION speakers.

    python tools/opening_lag.py full_cpu2 full_cpu2_seed1 full_cpu2_seed2      # run folders
    python tools/opening_lag.py full_cpu2 --clips 120 --data data/prep

For each run: its generator (or baseline) on ``--clips`` evenly spaced clips of the validation split,
the lip-landmark regressor on the generated frames, and per clip the Pearson r of the generated
mouth opening against the true one shifted by -3 .. +3 frames (``eval.sync.shifted_r``: + = the
generated mouth moves early). Prints the mean r per shift, the peak of the parabola through the best
shift (``eval.sync.peak_shift``: how far from 0 the best alignment lies, and what r it would give),
and the median ratio of the generated opening's standard deviation to the true one's (below 1: the
mouth opens too little), beside the same ratio of the regressor on the real frames (its own scale).
A model whose r peaks at a shift other than 0, or whose ratio is far from the real frames', has a
timing or amplitude error that a change of recipe could target; one that peaks at 0 with the real
frames' amplitude is limited by the shape of its curve. Validation speakers only: no choice here
reads the test speakers.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHIFTS = range(-3, 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders under checkpoints/")
    ap.add_argument("--data", default=str(ROOT / "data" / "prep"), help="preprocessed dataset (its val split)")
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import torch
    from tqdm.auto import tqdm
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced_items
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import generate_clips
    from lmg_lib.eval.sync import mouth_opening, peak_shift, shifted_r
    from lmg_lib.train.baselines import BASELINES
    from lmg_lib.train.checkpoints import load_network
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    from lmg_lib.util.pixels import to_uint8_frames
    torch.set_num_threads(a.threads)
    detect = load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt").detect
    for run in a.runs:
        path = SHIPPED_CHECKPOINTS / run / "generator.safetensors"
        if not path.is_file():
            print(f"error: no {path}", file=sys.stderr)
            return 2
        G, cfg = load_network(path, BASELINES)[:2]
        items = evenly_spaced_items(LipClipDataset(a.data, "val", seed=cfg.seed), a.clips)   # its own val references
        fake = generate_clips(G, items, 16)
        rs, amp, amp_real = {s: [] for s in SHIFTS}, [], []
        for j, d in enumerate(tqdm(items, desc=run, unit="clip", leave=False)):
            true = mouth_opening(np.asarray(d["landmarks"], np.float64))
            if true.std() < 1e-3:
                continue                                        # nothing to follow: not scored
            gen = mouth_opening(np.asarray(detect(to_uint8_frames(fake[j])), np.float64))
            real = mouth_opening(np.asarray(detect(to_uint8_frames(np.asarray(d["video"]))), np.float64))
            for s in SHIFTS:
                rs[s].append(shifted_r(gen, true, s))
            amp.append(gen.std() / true.std())
            amp_real.append(real.std() / true.std())
        mean_r = [float(np.nanmean(rs[s])) for s in SHIFTS]
        x, r_top = peak_shift(list(SHIFTS), mean_r)
        print(f"{run}: {len(amp)} validation clips; mean opening r by shift (+ = generated early): "
              + ", ".join(f"{s:+d}: {r:.3f}" for s, r in zip(SHIFTS, mean_r))
              + f"; parabola's peak at {x:+.2f} frames ({1000 * x / cfg.audio.fps:+.0f} ms), r {r_top:.3f} there "
              f"(+{r_top - mean_r[list(SHIFTS).index(0)]:.3f} over shift 0); opening std / true: generated "
              f"{np.median(amp):.2f}, real frames {np.median(amp_real):.2f} (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
