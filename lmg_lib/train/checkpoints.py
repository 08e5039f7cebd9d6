"""Checkpoints: one export and one load for the generator and every baseline, the full training
checkpoint, and the checkpoint specs of the command line.

* ``export_network`` / ``load_network``: the weights as safetensors (fp16 by default, BatchNorm
  statistics included) with the full ``Config`` as JSON in the file's metadata, so a checkpoint
  always rebuilds its own network. Generator files carry format ``lmg-generator-v1`` (what
  ``lmg generate`` runs; ``load_generator``); baselines ``lmg-baseline-v1`` and their class name
  (``baselines.load_baseline``).
* The training checkpoint ``<run>/checkpoints/last.pt`` (models, optimisers, RNG states, step, data
  position; format ``lmg-train-v1``), written by ``loop.Trainer`` with the helpers here.
* ``resolve_checkpoint(spec)``: a path, ``shipped`` (the default), a shipped run's name or ``artefacts:<path>``.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..config import LOSS_TERMS, Config, variant_of
from ..model.generator import LipGenerator
from ..model.geometry import check_geometry
from ..util.files import atomic_write
from ..util.weights import load_weights, read_weights_metadata, save_weights
from ..util.paths import SHIPPED_FULL, artefacts_root, in_repo
from .recipe_table import flat_settings
from .step import unwrap

FORMAT = "lmg-generator-v1"              # a LipGenerator
BASELINE_FORMAT = "lmg-baseline-v1"      # any other network with the generator's call signature
TRAIN_FORMAT = "lmg-train-v1"            # a full training checkpoint (last.pt)
SHIPPED_GENERATOR = f"checkpoints/{SHIPPED_FULL}/generator.safetensors"   # the spec "shipped": the shipped full model


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or made for another configuration."""


def resolve_checkpoint(spec: str | None = None) -> Path:
    """A checkpoint spec -> a path: None or "shipped" (the shipped generator), "artefacts:<path>"
    (under the notebooks' artefact folder, $LMG_ARTEFACTS), the name of a shipped run
    (``photo_full`` -> ``checkpoints/photo_full/generator.safetensors``), or a path."""
    if spec in (None, "", "shipped"):
        return in_repo(SHIPPED_GENERATOR)
    if spec.startswith("artefacts:"):
        return artefacts_root() / spec.split(":", 1)[1]
    shipped = in_repo(Path(SHIPPED_GENERATOR).parent.parent) / spec / "generator.safetensors"
    if not Path(spec).exists() and "/" not in spec and shipped.is_file():
        return shipped                  # a shipped run by name: full, photo_full, ablation_l1, ...
    return Path(spec)


# ------------------------------------------------------------------- networks (safetensors)
def export_network(net: nn.Module, cfg: Config, path: str | os.PathLike, fp16: bool = True,
                   extra: dict | None = None) -> Path:
    """Write ``net``'s weights and ``cfg`` to ``path`` (atomically)."""
    if isinstance(net, LipGenerator):
        meta = {"format": FORMAT, "config": cfg.to_json(), "extra": json.dumps(extra or {})}
    else:
        meta = {"format": BASELINE_FORMAT, "class": type(net).__name__, "config": cfg.to_json(),
                "extra": json.dumps(extra or {})}
    return save_weights(path, net.state_dict(), meta, fp16=fp16)


def read_metadata(path: str | os.PathLike, formats=(FORMAT, BASELINE_FORMAT)) -> dict:
    try:
        meta = read_weights_metadata(path)
    except (FileNotFoundError, ValueError) as e:
        raise CheckpointError(str(e)) from None
    if meta.get("format") not in formats:
        what = "an lmg generator" if formats == (FORMAT,) else "an lmg network"
        raise CheckpointError(f"{path} is not {what} checkpoint (format {meta.get('format')!r})")
    return meta


def load_network(path: str | os.PathLike, classes: dict[str, type] | None = None,
                 device: str | torch.device = "cpu", expect: Config | None = None,
                 formats=(FORMAT, BASELINE_FORMAT)) -> tuple[nn.Module, Config, dict]:
    """Rebuild the network a checkpoint was made with; returns (network in eval mode, config,
    extra). ``classes``: the baseline classes by name (``baselines.BASELINES``); ``expect``: raise
    ``CheckpointError`` if the checkpoint's model/audio config differs."""
    meta = read_metadata(path, formats)
    cfg = Config.from_dict(json.loads(meta["config"]))
    if expect is not None and (expect.model != cfg.model or expect.audio != cfg.audio):
        raise CheckpointError(f"checkpoint {path} was made for config {cfg.name!r} "
                              f"({cfg.model}), not {expect.name!r} ({expect.model})")
    if meta["format"] == FORMAT:
        try:
            check_geometry(cfg.model, cfg.audio)
        except ValueError as e:
            raise CheckpointError(f"checkpoint {path}: {e}") from None
        net = LipGenerator(cfg.model)
    elif meta.get("class") in (classes or {}):
        net = classes[meta["class"]](cfg.model)
    else:
        raise CheckpointError(f"{path} holds a {meta.get('class')!r}, not one of {sorted(classes or {})}")
    try:
        net.load_state_dict(load_weights(path))
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not match its own config: {e}") from None
    return net.to(device).eval(), cfg, json.loads(meta.get("extra", "{}"))


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu",
                   expect: Config | None = None) -> tuple[LipGenerator, Config, dict]:
    """The generator of a generator checkpoint (``lmg generate``): (G in eval mode, config, extra)."""
    return load_network(path, device=device, expect=expect, formats=(FORMAT,))


# --------------------------------------------------------------------- training checkpoints
def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` through ``atomic_write``."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def rng_state(device: torch.device) -> dict:
    """Every random state a training step draws from (python, numpy, torch, CUDA)."""
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def set_rng_state(rng: dict, device: torch.device) -> None:
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], device)


def read_training_checkpoint(path) -> dict:
    """``last.pt`` as written (format ``lmg-train-v1`` checked), without comparing any settings."""
    # our own file: it holds numpy RNG state, hence weights_only=False
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("format") != TRAIN_FORMAT:
        raise ValueError(f"{path} is not a training checkpoint ({ck.get('format')!r})")
    return ck


def load_training_checkpoint(path, cfg: Config, variant: str, world: int) -> dict:
    """Read ``last.pt`` and refuse it if it was written for another configuration, variant or
    number of processes (the data position would not carry over)."""
    ck = read_training_checkpoint(path)
    saved = Config.from_dict(ck["config"])
    same = (saved.model == cfg.model and saved.audio == cfg.audio and saved.loss == cfg.loss
            and saved.seed == cfg.seed and saved.train.batch_size == cfg.train.batch_size)
    if not same or ck["variant"] != variant:
        raise ValueError(f"{path} was written for another configuration/variant "
                         f"({saved.name}/{ck['variant']}): resume with the same settings")
    if ck["world_size"] != world:
        raise ValueError(f"{path} was written by {ck['world_size']} process(es), not {world}: "
                         "the data position would not carry over")
    return ck


def param_digest(models) -> str:
    """sha256 over every parameter and buffer of G, D and phi (``step.Models``; bit-exact comparison
    of runs and ranks)."""
    h = hashlib.sha256()
    for name, m in models.modules().items():
        for k, v in unwrap(m).state_dict().items():
            h.update(name.encode() + k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ------------------------------------------------------------- branching a run at a checkpoint
D_ONLY = {"loss.lambda_p", "loss.lambda_u", "loss.d_input", "loss.perc_batch"}   # D's own loss and input


def d_phase_settings(cfg: Config) -> set[str]:
    """The settings that act only once D is on (from step ``train.gan_start``): its own, D's loss and
    input, and the weight and switch of every loss term that reads D (``LossTerm.needs_d``)."""
    terms = {f"loss.{f}" for t in LOSS_TERMS if t.needs_d(cfg.loss) for f in (f"w_{t.name}", t.switch)}
    return {"train.gan_start"} | D_ONLY | terms


def check_branch(saved: Config, cfg: Config, step: int, source="the trunk") -> None:
    """Raise ValueError unless a run of ``cfg`` may start from a checkpoint of ``saved`` at ``step``."""
    a, b = ({"seed": c.seed, **flat_settings(c)} for c in (saved, cfg))
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    early = [k for k in differ if k not in d_phase_settings(saved) | d_phase_settings(cfg)]
    if early:
        raise ValueError(f"--branch-from {source}: {', '.join(early)} act(s) before D is on, so the "
                         f"run up to step {step} would not be the same: train it from the start")
    if step > min(saved.train.gan_start, cfg.train.gan_start):
        raise ValueError(f"--branch-from {source}: its checkpoint is at step {step}, after a gan_start "
                         f"({saved.train.gan_start}, {cfg.train.gan_start}): D had already trained")


def branch_run(source, out, cfg: Config) -> int:
    """Start the run folder ``out`` from the run folder ``source`` at its last checkpoint (step s):
    ``out`` is then exactly the run ``cfg`` would have been up to step s, provided ``cfg`` differs
    from the source's configuration only in settings that act once D is on (``d_phase_settings``)
    and s is at most both runs' ``gan_start``; anything else is refused. Copies the checkpoint (with
    ``cfg``), the logs and samples (``resume`` drops rows after s) and the best generator so far;
    the caller then resumes ``out``. Returns s."""
    source, out = Path(source), Path(out)
    path = source / "checkpoints" / "last.pt"
    if (out / "checkpoints" / "last.pt").exists():
        raise FileExistsError(f"{out} already holds a run: --resume continues it")
    if not path.exists():
        raise FileNotFoundError(f"--branch-from: no checkpoint at {path}")
    ck = read_training_checkpoint(path)
    saved, s = Config.from_dict(ck["config"]), ck["step"]
    check_branch(saved, cfg, s, source)
    best = ck.get("best") or {"step": -1}
    if best["step"] >= 0:                       # the best generator so far must be the one at best["step"]
        got = json.loads(read_metadata(source / "best_generator.safetensors")["extra"]).get("step")
        if got != best["step"]:
            raise ValueError(f"--branch-from {source}: best_generator.safetensors is from step {got}, "
                             f"not the checkpoint's best step {best['step']}")
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    for f in ("train_log.csv", "val_log.csv", "best.json", "best_generator.safetensors"):
        if (source / f).exists() and (f.endswith(".csv") or best["step"] >= 0):
            atomic_write(out / f, lambda tmp, f=f: Path(tmp).write_bytes((source / f).read_bytes()))
    for p in sorted(source.glob("samples/step_*.npy")):
        if int(p.stem[5:]) <= s:
            (out / "samples").mkdir(exist_ok=True)
            atomic_write(out / "samples" / p.name, lambda tmp, p=p: Path(tmp).write_bytes(p.read_bytes()))
    atomic_save({**ck, "config": cfg.to_dict(), "variant": variant_of(cfg),
                 "branched_from": {"run": str(source), "step": s}}, out / "checkpoints" / "last.pt")
    return s
