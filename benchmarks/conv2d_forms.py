"""The decoder's (1, 3, 3) residual convolutions as Conv3d against the same maths as Conv2d over the
frames (batch x time folded into the batch axis): forward + backward time at the `cpu` presets'
shapes, in each memory layout. A benchmark, not a test: it prints, it does not assert.

    python benchmarks/conv2d_forms.py                 # 2 threads, batch 8, 16 frames
    python benchmarks/conv2d_forms.py --threads 2 --repeats 10

docs/TRAINING.md ("photo_full_cpu2 does not fit on the slower machine") reports what it measured on
the AVX2-only machine: no faster in channels-last, the layout the recipes train in.
"""
from __future__ import annotations

import argparse
import time

import torch


def ms_per_call(f, repeats: int) -> float:
    f()                                                       # warm-up (oneDNN picks its kernels)
    t = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - t) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    B, T = a.batch, a.frames
    for C, H in [(8, 64), (16, 32), (32, 16)]:                # channels x size along the width-8 decoder
        for channels_last in (False, True):
            x = torch.randn(B, C, T, H, H)
            c3 = torch.nn.Conv3d(C, C, (1, 3, 3), padding=(0, 1, 1))
            c2 = torch.nn.Conv2d(C, C, 3, padding=1)
            c2.weight.data, c2.bias.data = c3.weight.data[:, :, 0].clone(), c3.bias.data.clone()
            if channels_last:
                x, c3 = x.to(memory_format=torch.channels_last_3d), c3.to(memory_format=torch.channels_last_3d)
                c2 = c2.to(memory_format=torch.channels_last)
            x.requires_grad_()

            def as_3d():
                c3(x).sum().backward()

            def as_2d():
                xx = x.transpose(1, 2).reshape(B * T, C, H, H)
                c2(xx.contiguous(memory_format=torch.channels_last) if channels_last else xx).sum().backward()

            t3, t2 = ms_per_call(as_3d, a.repeats), ms_per_call(as_2d, a.repeats)
            print(f"C {C:2d}, {H}x{H}, {'channels-last' if channels_last else 'NCDHW        '}: Conv3d {t3:6.1f} ms, "
                  f"Conv2d over frames {t2:6.1f} ms, ratio {t3 / t2:.2f}x (forward + backward, {a.threads} threads)")


if __name__ == "__main__":
    main()
