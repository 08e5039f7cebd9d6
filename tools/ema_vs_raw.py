"""Does the EMA of G help at the end of a run? Its raw and averaged weights on the VALIDATION speakers.

    python tools/ema_vs_raw.py search_b4_nod                  # data/runs/search_b4_nod/checkpoints/last.pt
    python tools/ema_vs_raw.py search_b4_nod --data data      # DATA holds prep/ and runs/

The recipes validate and ship an exponential moving average of G (``train.ema``, 0.999: an average
over roughly the last thousand steps). Where a run is still improving when it stops, that average
lags behind the weights it averages; where the learning rate has decayed (cosine), it should not.
This scores both from a run's last training checkpoint (``checkpoints/last.pt``, which only a
training machine has: it is not shipped) on the clips the run's own validation scores
(``train.recipe.Validator``: the same items, reference frames and metric), so the EMA row equals the
run's last ``val_log.csv`` row and the raw row is the one number this adds. Validation speakers
only: no choice here reads the test speakers.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a training run under DATA/runs/")
    ap.add_argument("--data", default=str(ROOT / "data"), help="folder with prep/ and runs/ (default: data)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    run_dir = Path(a.data) / "runs" / a.run
    ck_path, net_path = run_dir / "checkpoints" / "last.pt", run_dir / "best_generator.safetensors"
    for p in (ck_path, net_path):
        if not p.is_file():
            print(f"error: no {p} (the training checkpoint of a run trained on this machine)", file=sys.stderr)
            return 2
    import torch
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced_items
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import quick_sync_metrics
    from lmg_lib.train.recipe import VAL_CLIPS
    from lmg_lib.train.baselines import BASELINES
    from lmg_lib.train.checkpoints import load_network
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    torch.set_num_threads(a.threads)
    G, cfg = load_network(net_path, BASELINES)[:2]        # the run's network (generator or baseline)
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    if ck.get("ema_G") is None:
        print(f"error: {a.run} kept no EMA of G (train.ema = 0)", file=sys.stderr)
        return 2
    items = evenly_spaced_items(LipClipDataset(Path(a.data) / "prep", "val", seed=cfg.seed), VAL_CLIPS)
    detect = load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt").detect
    print(f"{a.run}, step {ck['step']}, {len(items)} validation clips (EMA decay {cfg.train.ema}):")
    for name, state in (("EMA of G (validated, shipped)", ck["ema_G"]), ("raw G", ck["models"]["G"])):
        G.load_state_dict(state)
        m = quick_sync_metrics(G, items, detect)
        print(f"  {name}: LMD {m['lmd']:.3f} px, opening r {m['opening_r']:.3f}, PSNR {m['psnr']:.2f} dB, "
              f"mouth PSNR {m['psnr_mouth']:.2f} dB, CPBD {m['cpbd']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
