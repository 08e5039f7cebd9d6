"""Training throughput: fp32 eager vs the optimised path, in ONE process, same architecture.

    python benchmarks/train_throughput.py                       # CUDA if available, else CPU
    python benchmarks/train_throughput.py --config paper --batch-size 24 --steps 20   # on a GPU
    python benchmarks/train_throughput.py --device cpu --config tiny --peak-tflops 0.13

Both paths run ``lmg_lib.train.train_step`` through ``Trainer`` (the code that trains), on one
fixed synthetic batch already on the device (data loading excluded):

* CUDA: fp32 eager  vs  bf16 autocast + channels_last_3d + torch.compile;
* CPU:  fp32 eager  vs  fp32 torch.compile (autocast and channels_last are CUDA-only in the
  trainer; bf16 on CPUs without AMX is slower, so it is not the optimised path here).

Prints clips/s of each, the speed-up, the FLOPs of one training step (counted with
``torch.utils.flop_counter.FlopCounterMode``; a multiply-add counts 2) and the model FLOP
utilisation (achieved FLOP/s / peak). Peak: a table of known GPUs, ``--peak-tflops``, or on CPU
an estimate (threads x clock x FLOP/cycle from the ISA flags) labelled as such. Also prints the
generator's GFLOP per 16-frame clip at paper width.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from lmg_lib.config import get_config, make_config, paper
from lmg_lib.model.discriminator import ThreeStreamDiscriminator
from lmg_lib.model.generator import LipGenerator
from lmg_lib.data import SyntheticClipDataset, collate_clips
from lmg_lib.train import Trainer, train_step

# dense peak TFLOP/s: (bf16 tensor core, fp32 non-tensor)
GPU_PEAKS = {
    "H100 SXM": (989.0, 67.0), "H100 80GB HBM3": (989.0, 67.0), "H200": (989.0, 67.0),
    "H100 PCIe": (756.0, 51.0), "H100 NVL": (835.0, 60.0), "GH200": (989.0, 67.0),
    "A100": (312.0, 19.5), "L40S": (362.0, 91.6), "L4": (121.0, 30.3), "A10G": (70.0, 31.2),
    "RTX 4090": (165.2, 82.6), "RTX 3090": (71.0, 35.6), "V100": (125.0, 15.7), "T4": (65.0, 8.1),
}


def gpu_peak(name: str) -> tuple[float, float] | None:
    for key in sorted(GPU_PEAKS, key=len, reverse=True):
        if key.lower() in name.lower():
            return GPU_PEAKS[key]
    return None


def cpu_peak_estimate() -> tuple[float, str]:
    """fp32 TFLOP/s ~ threads x GHz x FLOP/cycle/core (2 FMA units: AVX-512 64, AVX2 32, else 8)."""
    info = open("/proc/cpuinfo").read() if sys.platform.startswith("linux") else ""
    flags = set(re.findall(r"^flags\s*:\s*(.*)$", info, re.M)[0].split()) if "flags" in info else set()
    mhz = [float(x) for x in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", info, re.M)] or [2000.0]
    fpc = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    n = torch.get_num_threads()
    ghz = max(mhz) / 1000
    return n * ghz * fpc / 1000, f"estimate: {n} threads x {ghz:.2f} GHz x {fpc} FLOP/cycle"


def flops_of(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


def generator_gflop_per_clip() -> float:
    G = LipGenerator(paper().model).eval()
    lms, lip = torch.rand(1, *paper().lms_shape) * 2 - 1, torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        return flops_of(lambda: G(lms, lip)) / 1e9


def discriminator_gflop_per_clip() -> float:
    D = ThreeStreamDiscriminator(paper().model).eval()
    lms, v = torch.rand(1, *paper().lms_shape), torch.rand(1, 3, 16, 64, 64)
    with torch.no_grad():
        return flops_of(lambda: D(lms, v)) / 1e9


def run_path(cfg, device, batch_size, steps, warmup, variant, label):
    ds = SyntheticClipDataset(batch_size, cfg, seed=cfg.seed)
    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(make_config(cfg, {"train.batch_size": batch_size}, variant=variant), ds, out,
                     device=device, progress=False)
        batch = tr._to_device(collate_clips([ds[i] for i in range(batch_size)]))
        step = lambda: train_step(tr.step_models, tr.opts, batch, tr.cfg, amp_dtype=tr.amp_dtype,
                                  scaler=tr.scaler, sync=False)
        sync = torch.cuda.synchronize if tr.cuda else (lambda: None)
        t0 = time.perf_counter()
        for _ in range(warmup):
            step()
        sync()
        t_warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(steps):
            logs = step()
        sync()
        dt = time.perf_counter() - t0
        assert all(torch.isfinite(v) for v in logs.values()), f"{label}: non-finite loss"
        flops = flops_of(step) if label == "fp32 eager" else None
    rate = steps * batch_size / dt
    print(f"  {label:<45s} {rate:9.2f} clips/s   ({dt / steps * 1e3:8.1f} ms/step; warm-up "
          f"{warmup} steps {t_warm:.1f} s)", flush=True)
    return rate, flops


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--config", help="preset (default: paper on CUDA, tiny on CPU)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int, help="timed steps per path")
    p.add_argument("--warmup", type=int, help="untimed steps per path (compile happens here)")
    p.add_argument("--variant", default="full")
    p.add_argument("--peak-tflops", type=float, help="peak of the device for the optimised path's "
                   "dtype (default: table of GPUs / CPU estimate)")
    p.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    args = p.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device == "cuda"
    cfg = get_config(args.config or ("paper" if cuda else "tiny"))
    B = args.batch_size or (24 if cuda else 2)
    steps = args.steps or (20 if cuda else 5)
    warmup = args.warmup or (5 if cuda else 2)
    torch.backends.cudnn.benchmark = True

    name = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"device: {name}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    print(f"config {cfg.name}, variant {args.variant}, batch {B}, {steps} timed steps "
          f"(+{warmup} warm-up) per path, data loading excluded")
    gG, gD = generator_gflop_per_clip(), discriminator_gflop_per_clip()
    print(f"paper-width generator: {gG:.1f} GFLOP per 16-frame clip forward "
          f"({gG / 2:.1f} G multiply-adds); discriminator {gD:.1f} GFLOP per clip forward")

    eager = cfg.replace(train=dict(amp=False, channels_last=False, compile=False))
    opt = cfg.replace(train=dict(amp=cuda, channels_last=cuda, compile=not args.no_compile))
    opt_label = ("bf16 autocast + channels_last_3d" if cuda else "fp32") + (
        " + torch.compile" if not args.no_compile else "")
    r_eager, flops = run_path(eager, device, B, steps, warmup, args.variant, "fp32 eager")
    r_opt, _ = run_path(opt, device, B, steps, warmup, args.variant, opt_label)
    print(f"speed-up {opt_label} vs fp32 eager: {r_opt / r_eager:.2f}x")

    per_clip = flops / B
    print(f"training step FLOPs (FlopCounterMode, fwd+bwd of G, D, phi, flow): "
          f"{flops / 1e9:.1f} GFLOP per step = {per_clip / 1e9:.1f} GFLOP per clip")
    if args.peak_tflops:
        peak_opt = peak_fp32 = args.peak_tflops
        src = "--peak-tflops"
    elif cuda:
        peaks = gpu_peak(name)
        if peaks is None:
            print(f"unknown GPU {name!r}: pass --peak-tflops for the utilisation")
            return 0
        peak_opt, peak_fp32 = peaks
        src = f"table: {name} bf16 {peaks[0]} / fp32 {peaks[1]} TFLOP/s dense"
    else:
        peak_fp32, src = cpu_peak_estimate()
        peak_opt = peak_fp32
    mfu = lambda rate, peak: rate * per_clip / (peak * 1e12)
    print(f"peak ({src})")
    print(f"MFU fp32 eager: {100 * mfu(r_eager, peak_fp32):.2f} % of {peak_fp32:g} TFLOP/s")
    print(f"MFU {opt_label}: {100 * mfu(r_opt, peak_opt):.2f} % of {peak_opt:g} TFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
