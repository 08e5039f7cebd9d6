"""CPU training step: this checkout against the step of main at 84c20bb, measured in ONE process.

    python benchmarks/train_step_cpu.py --data data/prep            # a preprocessed dataset
    python benchmarks/train_step_cpu.py --data data/prep --threads 2 --steps 20 --rounds 2

The reference is the package exactly as it was at commit 84c20bb (``git archive`` of ``lmg_lib``
into a temporary folder, imported as ``lmg_lib_ref``: every relative import resolves inside it), so
it stays runnable however this checkout changes. Both train the full model of the ``cpu`` preset
AS IT WAS at that commit (ConvTranspose3d upsampling, no identity skips, no mouth weight, separate
discriminator passes for L_perc, constant lr: the configuration is read from the reference and
passed to this checkout with every later switch at its old behaviour), so the maths is the same;
each runs through its own ``Trainer`` on the same clips with its own data loading; rounds alternate
ref / new so that drift of the machine hits both. Two settings:

* ``steady``: a fixed subset of ``2 * steps * batch`` clips, timed over the second epoch (what
  most of a multi-epoch run looks like: the real-flow cache and the shard cache are warm);
* ``cold``: the first ``steps`` steps on the whole training split (first epoch, cold caches).

Prints seconds per step and clips/s of each, and the speed-up ratio. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
REF_COMMIT = "84c20bb"


def load_reference(tmp: Path):
    """Import lmg_lib as it was at REF_COMMIT under the name lmg_lib_ref."""
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", REF_COMMIT, "lmg_lib"],
                          check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch, check=True)
    (tmp / "lmg_lib").rename(tmp / "lmg_lib_ref")
    sys.path.insert(0, str(tmp))
    return importlib.import_module("lmg_lib_ref.train"), importlib.import_module("lmg_lib_ref.data")


def time_run(train_mod, dataset, cfg, out: Path, warm: int, steps: int) -> float:
    """Seconds per step over ``steps`` steps after ``warm`` steps (one Trainer, no progress bar)."""
    tr = train_mod.Trainer(cfg, dataset, out, device="cpu", progress=False)
    tr.fit(stop_after=warm)
    t0 = time.perf_counter()
    tr.fit(stop_after=warm + steps)
    return (time.perf_counter() - t0) / steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="preprocessed dataset folder (train split used)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref_train, ref_data = load_reference(tmp)
        new_train = importlib.import_module("lmg_lib.train")
        new_data = importlib.import_module("lmg_lib.data.dataset")
        from lmg_lib.config import Config
        ref_cfg = importlib.import_module("lmg_lib_ref.config").cpu()
        # the reference's maths in this checkout: its config, the later switches at their old behaviour
        cfg = Config.from_dict(ref_cfg.to_dict()).replace(loss=dict(perc_batch="separate"),
                                                          train=dict(channels_last=True))
        results = {}
        for setting in ("steady", "cold"):
            for rnd in range(args.rounds):
                for name, tm, dm, c in (("ref", ref_train, ref_data, ref_cfg), ("new", new_train, new_data, cfg)):
                    ds = dm.LipClipDataset(args.data, "train", seed=0)
                    bs = c.train.batch_size
                    if setting == "steady":
                        ds = torch.utils.data.Subset(ds, range(0, 2 * args.steps * bs))
                        warm, n = args.steps, args.steps           # time the second epoch
                    else:
                        warm, n = 2, args.steps
                    c2 = c.replace(train=dict(steps=10**6, log_every=10**6, checkpoint_every=10**6,
                                              sample_every=10**6))
                    s = time_run(tm, ds, c2, tmp / f"{setting}_{name}_{rnd}", warm, n)
                    results.setdefault((setting, name), []).append(s)
                    print(f"{setting:6s} round {rnd} {name}: {s:.3f} s/step ({bs / s:.2f} clips/s)", flush=True)
        print(f"\ncpu preset, full model, batch {cfg.train.batch_size}, {args.threads} threads, "
              f"mean over {args.rounds} alternating rounds of {args.steps} steps:")
        for setting in ("steady", "cold"):
            r = sum(results[(setting, "ref")]) / args.rounds
            n = sum(results[(setting, "new")]) / args.rounds
            print(f"  {setting:6s}: ref {r:.3f} s/step ({cfg.train.batch_size / r:.2f} clips/s), "
                  f"new {n:.3f} s/step ({cfg.train.batch_size / n:.2f} clips/s): speed-up {r / n:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
