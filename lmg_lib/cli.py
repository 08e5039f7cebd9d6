"""The `lmg` command.

    lmg info                      parameter counts and one forward pass of each preset
"""
from __future__ import annotations

import argparse
import sys
import time


def cmd_info(args) -> int:
    import torch
    from .blocks import n_params
    from .config import get_config
    from .correlation import CorrelationNet
    from .discriminator import ThreeStreamDiscriminator
    from .generator import LipGenerator
    torch.manual_seed(0)
    for name in args.presets:
        cfg = get_config(name)
        G, D, C = LipGenerator(cfg.model).eval(), ThreeStreamDiscriminator(cfg.model).eval(), CorrelationNet(cfg.model)
        lms, lip = torch.rand(1, *cfg.lms_shape) * 2 - 1, torch.rand(1, 3, 64, 64) * 2 - 1
        t = time.perf_counter()
        with torch.inference_mode():
            video, f_s = G(lms, lip)
            logit, _ = D(lms, video)
            a, b = C(f_s, video)
        dt = time.perf_counter() - t
        print(f"[{name}] G {n_params(G) / 1e6:.2f} M, D {n_params(D) / 1e6:.2f} M, "
              f"phi_s+phi_v {n_params(C) / 1e6:.3f} M | LMS {tuple(lms.shape)} + lip {tuple(lip.shape)} "
              f"-> video {tuple(video.shape)}, f_s {tuple(f_s.shape)}, D logit {tuple(logit.shape)}, "
              f"corr curves {tuple(a.shape)} | forward {dt:.2f} s on {torch.get_num_threads()} CPU threads")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="lmg", description="Lip Movements Generation at a Glance")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("info", help="parameter counts and a forward pass of the presets")
    i.add_argument("--presets", nargs="+", default=["tiny", "paper"])
    i.set_defaults(fn=cmd_info)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
