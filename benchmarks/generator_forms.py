"""Training speed of the generator's two fast forms (model/fast_forms.py) against the paper's forms.

    nice -n 19 .venv/bin/python benchmarks/generator_forms.py [--preset cpu] [--batch 8] [--rounds 5]

Times one forward + backward pass of the preset's seeded generator in training mode (channels-last
weights as the Trainer uses them, random inputs) in four settings: the paper's forms
(``G.fast_forms = False``), each fast form alone (the other one replaced by its paper form) and
both (``G.fast_forms = True``, the default). The settings alternate within every round so that
drift of the machine hits all of them; prints the median CPU seconds per pass (process time: on a
busy machine the time this process waits for a core is not counted) and the speed relative to the
paper's forms. Single-threaded unless ``--threads``. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lmg_lib.config import make_config
from lmg_lib.model import fast_forms
from lmg_lib.model.fusion import fuse
from lmg_lib.model.generator import LipGenerator
from lmg_lib.train.recipe import to_channels_last

FAST = {"fused_conv3d": fast_forms.fused_conv3d, "nearest_up_conv3d": fast_forms.nearest_up_conv3d}
PAPER = {"fused_conv3d": lambda f_s, f_p, w: F.conv3d(fuse(f_s, f_p), w, padding=1),
         "nearest_up_conv3d": lambda x, w: F.conv3d(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"),
                                                    w, padding=(0, 1, 1))}
SETTINGS = {"paper forms": (False, ()), "fused_conv3d only": (True, ("fused_conv3d",)),
            "nearest_up_conv3d only": (True, ("nearest_up_conv3d",)),
            "both (default)": (True, ("fused_conv3d", "nearest_up_conv3d"))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = make_config(a.preset)
    torch.manual_seed(0)
    G = to_channels_last(LipGenerator(cfg.model)).train()
    S = cfg.model.image_size
    lms, lip = torch.randn(a.batch, *cfg.lms_shape), torch.rand(a.batch, 3, S, S) * 2 - 1

    def step(setting):
        on, fast = SETTINGS[setting]
        G.fast_forms = on
        for name in FAST:
            setattr(fast_forms, name, FAST[name] if name in fast else PAPER[name])
        G.zero_grad(set_to_none=True)
        t = time.process_time()
        video, f_s = G(lms, lip)
        (video.square().mean() + f_s.square().mean()).backward()
        return time.process_time() - t

    times = {k: [] for k in SETTINGS}
    for k in SETTINGS:                                       # warm-up
        step(k)
    for _ in range(a.rounds):
        for k in SETTINGS:
            times[k].append(step(k))
    base = statistics.median(times["paper forms"])
    print(f"{a.preset} preset generator (upsample {cfg.model.upsample!r}), batch {a.batch}, "
          f"{a.threads} thread(s), forward + backward, median CPU seconds of {a.rounds} rounds:")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:<24} {m:6.3f} s   {base / m:4.2f}x the paper forms' speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
