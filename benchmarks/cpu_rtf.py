"""CPU real-time factor of the paper-size generator: plain fp32 eager vs lmg_lib.infer's fast path.

    .venv/bin/python benchmarks/cpu_rtf.py [--threads 2] [--clips 3] [--batch 1] [--overlap 4]

Prints seconds per 16-frame clip (best of ``--clips`` timed runs after one warm-up), the real-time
factor (compute seconds per second of speech) of each path, the speed-up and the max abs difference
of the two outputs. RTF counts the window overlap of ``lmg generate``: with overlap K each clip
advances the video by 16 - K frames, so RTF = seconds per clip / ((16 - K) / 25); ``--overlap 0``
gives the back-to-back figure (seconds per clip / 0.64 s). A random, seeded generator with
non-trivial BatchNorm statistics is used (speed does not depend on the weights).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch


def _time(fn, n: int) -> float:
    fn()                                                   # warm-up
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--clips", type=int, default=3, help="timed runs per path (best is reported)")
    p.add_argument("--batch", type=int, default=1, help="clips per forward pass")
    p.add_argument("--overlap", type=int, default=4, help="window overlap of lmg generate (frames)")
    p.add_argument("--config", default="paper")
    p.add_argument("--skip-plain", action="store_true", help="time only the fast path")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from lmg_lib.config import get_config
    from lmg_lib.model.generator import LipGenerator
    from lmg_lib.infer import fast_generator

    cfg = get_config(args.config)
    torch.manual_seed(0)
    G = LipGenerator(cfg.model)
    for m in G.modules():                                   # BN as after training: not identity
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.0)
    G.eval()
    B, T = args.batch, cfg.model.n_frames
    lms = torch.rand(B, *cfg.lms_shape) * 2 - 1
    lip = (torch.rand(1, 3, cfg.model.image_size, cfg.model.image_size) * 2 - 1).expand(B, -1, -1, -1)
    t_build = time.perf_counter()
    FG = fast_generator(G)
    t_build = time.perf_counter() - t_build
    hop_s = (T - args.overlap) / cfg.audio.fps
    print(f"{cfg.name} generator, batch {B}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; fast path built in {t_build:.2f} s")
    with torch.inference_mode():
        out_fast, _ = FG(lms, lip)
        ident = FG.identity(lip[:1])                        # computed once per video in lmg generate
        t_fast = _time(lambda: FG.decode(lms, ident), args.clips) / B
        if not args.skip_plain:
            out_plain, _ = G(lms, lip)
            t_plain = _time(lambda: G(lms, lip), args.clips) / B
            diff = (out_plain - out_fast).abs().max().item()
    rows = ([("plain fp32 eager", t_plain)] if not args.skip_plain else []) + [("fast (infer/fast.py)", t_fast)]
    for name, t in rows:
        print(f"{name:22s} {t:7.3f} s/clip   RTF {t / hop_s:5.2f} (overlap {args.overlap})   "
              f"RTF {t / (T / cfg.audio.fps):5.2f} (back-to-back)")
    if not args.skip_plain:
        print(f"speed-up {t_plain / t_fast:.2f}x   max |plain - fast| = {diff:.2e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
