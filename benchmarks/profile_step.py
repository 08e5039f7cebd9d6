"""Where a training step of the ``cpu`` preset spends its time, in the warm-up and adversarial phases.

    python benchmarks/profile_step.py --data data/prep                 # 2 threads, 12 profiled steps
    python benchmarks/profile_step.py --data data/prep --variant l1    # another loss configuration

The full model of the ``cpu`` preset trains on a fixed subset of the training split; after
``--warm`` steps (one pass over the subset: the real videos' flow is then cached, as after the first
epoch of a run) each phase is first timed without the profiler
(seconds per step), then ``--steps`` steps run under ``torch.profiler``. The forward passes are
scoped per network (G's audio encoder, identity encoder and decoder; D; the correlation encoders
and the optical flow), the backward passes are summed from autograd's nodes, the optimisers from
their ``step``/``zero_grad`` and the EMA from its update; what is left of the step (data loading,
logging, Python) is "other". Prints one table per phase (ms per step and share of the profiled
step) and the operators with the largest self time. A benchmark, not a test: its numbers are
measurements of this machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scope_forwards(modules: dict[str, torch.nn.Module]) -> None:
    """Wrap each module's forward (and the flow) in a named profiler scope: ``fwd:<name>``."""
    for name, m in modules.items():
        def pre(_m, _a, _name=name):
            _m._rf = record_function(f"fwd:{_name}")
            _m._rf.__enter__()

        def post(_m, _a, _o):
            _m._rf.__exit__(None, None, None)
        m.register_forward_pre_hook(pre)
        m.register_forward_hook(post)


def wrap_call(obj, attr: str, scope: str) -> None:
    fn = getattr(obj, attr)

    def wrapped(*a, **k):
        with record_function(scope):
            return fn(*a, **k)
    setattr(obj, attr, wrapped)


def breakdown(prof, steps: int) -> tuple[dict[str, float], list]:
    """ms per step of each scope, and the operators with the largest self time."""
    ms: dict[str, float] = defaultdict(float)
    for e in prof.events():
        n = e.name
        if n.startswith("fwd:"):
            ms[n] += e.cpu_time_total / 1e3
        elif n.startswith("autograd::engine::evaluate_function"):
            ms["backward (all networks)"] += e.cpu_time_total / 1e3
        elif n.startswith("Optimizer.step") or n.startswith("Optimizer.zero_grad"):
            ms["optimisers (Adam)"] += e.cpu_time_total / 1e3
        elif n == "ema_update":
            ms["EMA of G"] += e.cpu_time_total / 1e3
    # nested forward scopes (G's children inside fwd:G) are shown separately, not summed twice
    table = {k: v / steps for k, v in ms.items()}
    top = sorted(prof.key_averages(), key=lambda a: a.self_cpu_time_total, reverse=True)[:12]
    return table, top


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="preprocessed dataset folder (train split used)")
    ap.add_argument("--variant", default="full")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warm", type=int, default=8, help="steps before timing (caches warm)")
    ap.add_argument("--steps", type=int, default=12, help="steps timed, then profiled, per phase")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from lmg_lib.config import make_config
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.train import Trainer
    from lmg_lib.train.step import unwrap

    base = make_config("cpu", variant=args.variant)
    bs = base.train.batch_size
    # the warm steps see every clip once; the timed and profiled steps revisit them, so the real videos'
    # flow comes from the cache, as in every epoch of a run after its first
    n_clips = args.warm * bs
    ds = torch.utils.data.Subset(LipClipDataset(args.data, "train", seed=0), range(n_clips))
    print(f"cpu preset, variant {args.variant}, batch {bs}, {args.threads} threads, "
          f"{args.warm} warm steps, {args.steps} timed + {args.steps} profiled steps per phase")
    for phase, gan_start in (("warm-up (no D)", 10**6), ("adversarial (D on)", 0)):
        cfg = base.replace(train=dict(steps=10**6, gan_start=gan_start, log_every=10**6,
                                      checkpoint_every=10**6, sample_every=10**6, val_every=0))
        with tempfile.TemporaryDirectory() as tmp:
            tr = Trainer(cfg, ds, Path(tmp) / "run", device="cpu", progress=False)
            G, D, corr = (unwrap(m) for m in (tr.models.G, tr.models.D, tr.models.corr))
            scope_forwards({"G": G, "G.audio_encoder": G.audio_encoder, "G.image_encoder": G.image_encoder,
                            "D": D, "corr.phi_s": corr.phi_s, "corr.phi_v": corr.phi_v})
            wrap_call(corr, "flow", "fwd:corr.flow")
            if tr.ema is not None:
                wrap_call(tr.ema, "update", "ema_update")
            tr.fit(stop_after=args.warm)
            t0 = time.perf_counter()
            tr.fit(stop_after=args.warm + args.steps)
            plain = (time.perf_counter() - t0) / args.steps
            t1 = time.perf_counter()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                tr.fit(stop_after=args.warm + 2 * args.steps)
            step_ms = (time.perf_counter() - t1) / args.steps * 1e3
            table, top = breakdown(prof, args.steps)
            tr.close()
        print(f"\n== {phase}: {plain:.3f} s/step unprofiled ({bs / plain:.2f} clips/s); "
              f"{step_ms:.0f} ms/step (wall) under the profiler")
        parts = ["fwd:G", "fwd:D", "fwd:corr.phi_s", "fwd:corr.phi_v", "fwd:corr.flow",
                 "backward (all networks)", "optimisers (Adam)", "EMA of G"]
        covered = sum(table.get(k, 0.0) for k in parts)
        for k in parts:
            print(f"  {k:28s} {table.get(k, 0.0):8.1f} ms  {100 * table.get(k, 0.0) / step_ms:5.1f} %")
        print(f"  {'other (data, logs, python)':28s} {step_ms - covered:8.1f} ms  "
              f"{100 * (step_ms - covered) / step_ms:5.1f} %")
        enc = {k: table.get(k, 0.0) for k in ("fwd:G.audio_encoder", "fwd:G.image_encoder")}
        for k, v in enc.items():
            print(f"    of which {k[4:]:18s} {v:8.1f} ms")
        # the CPU fast forms call the decoder's layers directly (model.fast_forms), not its forward,
        # so the decoder and the fusion are what is left of G's forward
        print(f"    of which {'fusion + decoder':18s} {table.get('fwd:G', 0.0) - sum(enc.values()):8.1f} ms")
        print("  operators with the largest self time (forward and backward):")
        for a in top:
            print(f"    {a.key[:48]:48s} {a.self_cpu_time_total / 1e3 / args.steps:8.1f} ms "
                  f"{100 * a.self_cpu_time_total / 1e3 / args.steps / step_ms:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
