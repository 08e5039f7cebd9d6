"""What was trained, beside the paper's recipe: the table "the paper's recipe / what we trained /
why", generated from the configuration, and the generator's parameter count, computed.

    recipe_markdown()               # the table of the shipped model's recipe (README, notebooks 4 and 6)
    recipe_markdown("cpu")          # the table of any preset
    recipe_rows(any_config)         # its rows: any preset, or any Config, against the ``paper`` preset
    generator_parameters(cfg)       # the one parameter count (634 699 for ``cpu``)

Every field in which a preset differs from ``paper`` gets a row; the "why" of each is
``WHY[preset][field]`` below, each reason citing the measurement in docs/TRAINING.md (a test checks
that every number of a reason appears there, and that every deviation has a reason). A new preset
gets its table for free; its rows read "no reason recorded" until ``WHY`` has an entry for it.
Fields that change no result (how often to log, AMP on a CPU, ...) are named in one line below the
table. ``PAPER_SOURCE`` says where each value of the ``paper`` preset comes from: the paper, the
authors' code, or our own choice where neither states it.
"""
from __future__ import annotations

import dataclasses

from pathlib import Path

from ..config import SECTIONS, Config, get_config, preset_of

# what the field is, for a reader of the paper (fields without a label are shown by their key)
LABELS = {
    "model.width": "base channel width",
    "model.n_res_blocks": "residual blocks in the decoder",
    "model.out_kernel": "kernel of the decoder's output layer",
    "model.phi_s_channels": "channels of phi_s",
    "model.phi_v_channels": "channels of phi_v",
    "model.flow_iters": "optical-flow iterations",
    "model.upsample": "decoder upsampling",
    "model.identity_skips": "identity skips from the image encoder to the decoder",
    "loss.w_corr": "weight of L_corr", "loss.w_pix": "weight of L_pix",
    "loss.w_perc": "weight of L_perc", "loss.w_gen": "weight of L_gen",
    "loss.w_mouth": "extra L_pix weight on the mouth box",
    "train.batch_size": "clips per step", "train.steps": "steps",
    "train.lr": "Adam learning rate (G, D)", "train.betas": "Adam betas (G, D)",
    "train.lr_schedule": "learning-rate schedule",
    "train.gan_start": "D, L_gen and L_perc switch on at step",
    "train.ema": "EMA of G's weights (decay)",
    "train.val_every": "validate every N steps, keep the best",
}

# where the ``paper`` preset's value comes from (Chen et al. 2018; the authors' code, lelechen63/3d_gan)
PAPER_SOURCE = {
    "model.width": "authors' code", "model.n_res_blocks": "authors' code",
    "model.out_kernel": "authors' code", "model.phi_s_channels": "authors' code",
    "model.phi_v_channels": "authors' code",
    "model.flow_iters": "ours: the authors trained a FlowNetS",
    "model.upsample": "authors' code", "model.identity_skips": "paper",
    "loss.w_pix": "paper; the authors' code: 0.2", "loss.w_mouth": "paper",
    "train.batch_size": "authors' code, on 4 GPUs",
    "train.steps": "not stated; the authors' code allows up to 500 epochs",
    "train.lr": "authors' code", "train.betas": "authors' code", "train.lr_schedule": "authors' code",
    "train.gan_start": "authors' code", "train.ema": "authors' code",
    "train.val_every": "not stated",
}

# fields that change no result: how often to log or save, CUDA-only speed switches, data workers
BOOKKEEPING = {"train.log_every", "train.sample_every", "train.checkpoint_every", "train.amp",
               "train.channels_last", "train.compile", "train.num_workers"}

_SIZE = ("~16x fewer FLOPs than the paper's size, the only way to train on 2 CPU cores (docs/TRAINING.md, "
         "the recipe); phi_s and the flow iterations were scaled down with it, not measured on their own")
_OPT = ("Adam 1e-3, betas (0.9, 0.999) and a cosine decay, against the authors' constant 2e-4, beta1 0.5: "
        "validation opening r -0.01 -> 0.07, LMD 2.94 -> 2.69 at 600 steps (docs/TRAINING.md, probes p0 -> p1; "
        "the cosine decay was not measured on its own)")
_BUDGET = ("the one-hour budget of 2 CPU cores at the measured 2.4 s per step (docs/TRAINING.md, the recipe)")
WHY: dict[str, dict[str, str]] = {
    "cpu": {
        "model.width": _SIZE, "model.n_res_blocks": _SIZE, "model.out_kernel": _SIZE,
        "model.phi_s_channels": _SIZE, "model.flow_iters": _SIZE,
        "model.upsample": "the transposed convolutions left a checkerboard: CPBD 0.85, against 0.16-0.24 for a "
                          "real frame (the static reference on the validation speakers, checkpoints/controls/"
                          "val_references.json), 0.29 with nearest upsampling (docs/TRAINING.md, probes p0, p2); the longer "
                          "runs' frames still score above the real frames' (our results table, README and notebook 6): "
                          "edge artefacts remain",
        "model.identity_skips": "chosen when validation opening r rose 0.07 -> 0.64 (docs/TRAINING.md, probes "
                                "p1 -> p3), but p3 also had nearest upsampling and twice the steps, so that gain "
                                "is not theirs alone. Measured on their own afterwards (test speakers, 600 steps, "
                                "run noskips, one seed): without them whole-frame SSIM is lower, 0.721 against "
                                "0.748 and 0.735 (two seeds with), opening r the same (0.59 against 0.58 and "
                                "0.56) and LMD lower, 1.81 against 1.89 and 1.89: they keep the identity, not "
                                "the mouth (docs/TRAINING.md, the ablation runs)",
        "loss.w_pix": "not measured on its own: in an earlier recipe the GAN term outweighed the weighted "
                      "pixel term (L_gen ~2.4 against ~0.08 at step 2 200, docs/TRAINING.md, the recipe's "
                      "curriculum row); weighted 20, the pixel term leads L once D switches on",
        "loss.w_mouth": "the lips are ~10 % of the pixels and all of the speech: validation opening r 0.64 -> "
                        "0.74, LMD 2.15 -> 2.07 (docs/TRAINING.md, probes p3 -> p4; x10 in p5 was no better)",
        "train.batch_size": _BUDGET, "train.steps": _BUDGET,
        "train.lr": _OPT, "train.betas": _OPT, "train.lr_schedule": _OPT,
        "train.gan_start": "in an earlier recipe the GAN term dominated from the start while the mouth had not "
                           "learnt to move: 40 % of the steps with L_pix and L_corr alone; D from step 1 200 "
                           "instead (two seeds) was not clearly better on the validation speakers "
                           "(docs/TRAINING.md, the recipe and the warm-up probe)",
        "train.ema": "averages the weights of a short, noisy run; not measured on its own (an EMA without "
                     "warm-up carried the random initial weights for hundreds of steps, so its decay ramps "
                     "up: docs/TRAINING.md, the sweep)",
        "train.val_every": "the shipped generator is chosen on the validation speakers, never on the test "
                           "speakers: the best validation LMD (the cpu recipe's run `full`: step 1 200 of 1 500; "
                           "docs/TRAINING.md, what the shipped run measured)",
    },
}

# cpu2 = cpu with more steps where they are cheap: the same reasons, but for the schedule
_LONG = ("the recipe search on the validation speakers (docs/TRAINING.md, the recipe search): the cpu recipe "
         "at 3 000 steps was still improving when it stopped (validation LMD 1.43 -> 1.40 over its last 300 "
         "steps); at 4 000 steps with D for the last 300 it reached 1.35 (seed 0, about 2 h on 2 CPU cores; "
         "5 000 would add about 1 000 steps at 1.7 s and their validations, about 30 min: no margin under the 150 min "
         "a run may take)")
WHY["cpu2"] = {**WHY["cpu"], "train.steps": _LONG, "train.gan_start": (
    "the warm-up probe full_warmup1200 (D from step 1 200 of 1 500) led the cpu recipe on validation with "
    "seed 0 (LMD 1.58 against 1.71; its seed 1 reached 1.81), so the "
    "pixel and correlation warm-up gets the steps: D, L_gen and L_perc for the last 300 of 4 000. A step "
    "without D was first thought to cost a third of one with it; the cpu2 runs' logs measure about 1.7 s "
    "against 2.0 s a step (wall, 2 cores), so the warm-up is cheaper by about 15 %, not 3x "
    "(docs/TRAINING.md, the recipe search)"),
    "train.val_every": ("the shipped generator is chosen on the validation speakers, never on the test "
                        "speakers: the best validation LMD (seed 0: step 3 900 of 4 000; docs/TRAINING.md, "
                        "the recipe search)"),
    "train.batch_size": ("kept from the cpu recipe, chosen for its one-hour budget at the measured 2.4 s per step "
                         "(docs/TRAINING.md, the recipe); against steps: 4 clips a step instead of 8 at the same "
                         "4 000 steps (search_b4, seed 0) learnt no faster per clip seen and ended 0.17 px behind "
                         "on validation with half the clips, so the batch stays 8 (docs/TRAINING.md, the recipe search)"),
    **dict.fromkeys(("train.lr", "train.betas", "train.lr_schedule"), _OPT + (
        "; 2e-3 instead of 1e-3 at 4 clips a step (search_b4_nod_lr2e-3 against search_b4_nod, seed 0) learnt "
        "more slowly and ended 0.03 px ahead on validation, less than the spread between the cpu2 seeds: 1e-3 "
        "stays (docs/TRAINING.md, the recipe search)")),
    "train.ema": (WHY["cpu"]["train.ema"] + "; at a run's end it neither lags nor helps: the raw weights score within "
                  "0.02 px of it on validation, either way, in five runs (tools/ema_vs_raw.py, docs/TRAINING.md)")}


def generator_parameters(cfg: Config) -> int:
    """The number of parameters of the generator ``cfg`` builds (BatchNorm statistics excluded):
    the one count that the README, the notebooks and the recipe table print."""
    import torch
    from ..model.blocks import n_params
    from ..model.generator import LipGenerator
    with torch.device("meta"):               # shapes only: no memory, no initialisation cost
        return n_params(LipGenerator(cfg.model))


def millions(n: int) -> str:
    """A parameter count as the pages print it: ``634699`` -> ``0.63 M``."""
    return f"{n / 1e6:.2f} M"


def _fmt(key: str, v, cfg: Config) -> str:
    if key == "train.lr_schedule" and v == "cosine":
        return f"cosine, to {cfg.train.lr_min_ratio:.0%} of the lr"
    if key in ("train.ema", "train.val_every") and not v:
        return "off"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.0e}".replace("e-0", "e-") if 0 < abs(v) < 0.01 else f"{v:g}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(key, x, cfg) for x in v) + ")"
    return str(v)


def _with_sources(values: list[tuple[str, str]]) -> str:
    """``[("32", "authors' code"), ("9", "authors' code"), ("30", "ours")]`` -> "32; 9 (authors'
    code); 30 (ours)": each run of values with the same source, then that source."""
    out = []
    for i, (v, src) in enumerate(values):
        last = i + 1 == len(values) or values[i + 1][1] != src
        out.append(v + (f" ({src})" if last and src else ""))
    return "; ".join(out)


def flat_settings(cfg: Config) -> dict[str, object]:
    """{"train.lr": 1e-3, ...}: every setting of every section under the dotted key --set takes."""
    return {f"{s}.{f.name}": getattr(getattr(cfg, s), f.name)
            for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}


def deviations(cfg: Config | str, baseline: Config | str = "paper") -> list[str]:
    """The ``section.field`` keys in which ``cfg`` differs from ``baseline``, in dataclass order."""
    a = flat_settings(get_config(cfg) if isinstance(cfg, str) else cfg)
    b = flat_settings(get_config(baseline) if isinstance(baseline, str) else baseline)
    return [k for k in a if a[k] != b[k]]


def shipped_config(root=None, run: str | None = None) -> Config:
    """The configuration recorded in a shipped generator's safetensors header (default: THE shipped
    full model, ``util.paths.SHIPPED_FULL``), read without loading the weights."""
    import json
    from ..util.paths import SHIPPED_CHECKPOINTS, SHIPPED_FULL
    from ..util.weights import read_weights_metadata
    path = Path(root or SHIPPED_CHECKPOINTS) / (run or SHIPPED_FULL) / "generator.safetensors"
    return Config.from_dict(json.loads(read_weights_metadata(path)["config"]))


def recipe_rows(cfg: Config | str, why: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One row per reason: setting, paper, ours, why. Fields that share a reason share a row (the
    position of the first); the generator's parameter count follows the architecture's rows.
    ``why`` defaults to ``WHY[preset_of(cfg)]``. Bookkeeping fields are left out (``bookkeeping``)."""
    cfg = get_config(cfg) if isinstance(cfg, str) else cfg
    paper = get_config("paper")
    why = WHY.get(preset_of(cfg), {}) if why is None else why
    mine, theirs = flat_settings(cfg), flat_settings(paper)
    groups: dict[str, list[str]] = {}
    for key in deviations(cfg, paper):
        if key not in BOOKKEEPING:
            groups.setdefault(why.get(key) or f"no reason recorded (key {key})", []).append(key)
    rows = []
    for reason, keys in groups.items():
        rows.append({"setting": "; ".join(f"{LABELS.get(k, k)} (`{k}`)" for k in keys),
                     "paper": _with_sources([(_fmt(k, theirs[k], paper), PAPER_SOURCE.get(k, "")) for k in keys]),
                     "ours": "; ".join(_fmt(k, mine[k], cfg) for k in keys),
                     "why": reason, "section": keys[0].split(".")[0]})
    n_model = sum(r["section"] == "model" for r in rows)
    n_paper, n_ours = generator_parameters(paper), generator_parameters(cfg)
    rows.insert(n_model, {"setting": "generator parameters (counted on the built network)",
                          "paper": f"{millions(n_paper)} ({n_paper:,})".replace(",", " "),
                          "ours": f"{millions(n_ours)} ({n_ours:,})".replace(",", " "),
                          "why": "follows from the rows above" if n_ours != n_paper else "the same network",
                          "section": "model"})
    return rows


def bookkeeping(cfg: Config | str) -> str:
    """The one line that names the deviations that change no result, with their values."""
    cfg = get_config(cfg) if isinstance(cfg, str) else cfg
    mine, theirs = flat_settings(cfg), flat_settings(get_config("paper"))
    keys = [k for k in deviations(cfg) if k in BOOKKEEPING]
    return ", ".join(f"`{k}` {_fmt(k, theirs[k], cfg)} -> {_fmt(k, mine[k], cfg)}" for k in keys)


def recipe_markdown(cfg: Config | str | None = None) -> str:
    """The markdown table "the paper's recipe / what we trained / why" for ``cfg`` (a preset's name
    or a Config; default: the shipped full model's, ``shipped_config()``), with the line of
    bookkeeping differences and what is the same below it."""
    cfg = shipped_config() if cfg is None else get_config(cfg) if isinstance(cfg, str) else cfg
    paper = flat_settings(get_config("paper"))
    rows = recipe_rows(cfg)
    lines = [f"| setting | the paper's recipe (`paper` preset) | what we trained (`{preset_of(cfg)}` preset) | why |",
             "|---|---|---|---|"]
    lines += [f"| {r['setting']} | {r['paper']} | {r['ours']} | {r['why']} |" for r in rows]
    same_w = [k for k in paper if k.startswith(("loss.w_", "loss.lambda_")) and k not in deviations(cfg)]
    note = (f"\nEvery other setting is the same in both presets: among them the audio front end and "
            + ", ".join(f"`{k}` {_fmt(k, paper[k], cfg)}" for k in same_w)
            + f". So the generator's loss is L = "
            + " + ".join(f"{_fmt(k, getattr(cfg.loss, k.split('.')[1]), cfg)} L_{k.split('_', 1)[1]}"
                         for k in ("loss.w_corr", "loss.w_pix", "loss.w_perc", "loss.w_gen"))
            + (f", L_pix with {_fmt('loss.w_mouth', cfg.loss.w_mouth, cfg)}x extra weight on the mouth box"
               if cfg.loss.w_mouth else "") + ".")
    extra = bookkeeping(cfg)
    if extra:
        note += f" Also different, changing no result (logging, saving, CUDA-only switches): {extra}."
    return "\n".join(lines) + "\n" + note
