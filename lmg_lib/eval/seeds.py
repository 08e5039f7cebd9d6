"""Results across runs: each model's seeds (mean over seeds and their range, beside every run's
own interval over sentences), the paper's Table 3 ordering decided at the level of runs, and the
validation curves against the compute each run spent (notebook 4).

A model's seeds are listed once, in ``SEEDS`` (display name -> run folders, seed 0 first: the run
``results.MODELS`` shows). Until a seed is trained and evaluated its folder is simply absent; the
tables say how many seeds each mean is over, and an ordering needs at least one run on each side.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .records import MODELS, run_facts, unequal_steps
from .records import summary as _summary

# display name -> the run folders of its seeds (seed 0 first)
SEEDS = {name: (run, f"{run}_seed1", f"{run}_seed2") for name, run in MODELS.items()}
# a baseline at the learning rate its search chose on validation (docs/TRAINING.md), where that is
# not cpu2's own: its runs stand beside the cpu2-rate ones, and the orderings are stated against both
SEEDS["Speech2Vid (Chung), lr 3e-4"] = tuple(f"speech2vid_cpu2_lr3e-4{s}" for s in ("", "_seed1", "_seed2"))
SEED_METRICS = ("lmd", "opening_r", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd")


def seed_long(root, seeds: dict = SEEDS, metrics=SEED_METRICS) -> pd.DataFrame:
    """Rows (model, run, metric, mean, ci_low, ci_high) of every evaluated seed run (per_clip source)."""
    rows = []
    for name, runs in seeds.items():
        for run in runs:
            s = _summary(root, run)
            if s is None:
                continue
            s = s[s.source == "per_clip"] if "source" in s else s
            for m in metrics:
                hit = s[s.metric == m]
                if len(hit):
                    r = hit.iloc[0]
                    rows.append(dict(model=name, run=run, metric=m, mean=float(r["mean"]),
                                     ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"])))
    return pd.DataFrame(rows, columns=["model", "run", "metric", "mean", "ci_low", "ci_high"])


def seed_table(root, seeds: dict = SEEDS, metrics=SEED_METRICS, digits: int = 2) -> pd.DataFrame:
    """One row per model: how many seeds are evaluated, and per metric 'mean over seeds
    (min .. max across seeds)' -- a single seed shows its value alone."""
    L = seed_long(root, seeds, metrics)
    f = lambda v: f"{v:.{digits}f}"
    rows = []
    for name in seeds:
        d = L[L.model == name]
        if d.empty:
            continue
        row = {"model": name, "seeds": d.run.nunique()}
        for m in metrics:
            v = d[d.metric == m]["mean"]
            if len(v):
                row[m] = f(v.mean()) if len(v) == 1 else f"{f(v.mean())} ({f(v.min())} .. {f(v.max())})"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def run_table(root, seeds: dict = SEEDS, metrics=("lmd", "opening_r", "psnr", "ssim", "cpbd"), digits: int = 2) -> pd.DataFrame:
    """One row per evaluated run: 'mean [95 % CI over sentences]' per metric."""
    L = seed_long(root, seeds, metrics)
    f = lambda v: f"{v:.{digits}f}"
    L = L.assign(cell=[f"{f(a)} [{f(b)}, {f(c)}]" for a, b, c in zip(L["mean"], L.ci_low, L.ci_high)])
    if L.empty:
        return pd.DataFrame()
    wide = L.pivot(index=["model", "run"], columns="metric", values="cell")
    order = [(n, r) for n, runs in seeds.items() for r in runs if (n, r) in wide.index]
    return wide.loc[order, [m for m in metrics if m in wide.columns]]


def run_orderings(root, seeds: dict = SEEDS, model: str = "full model", metric: str = "lmd",
                  lower: bool = True) -> pd.DataFrame:
    """The paper's ordering (``model`` better than each baseline on ``metric``) at the level of runs:
    holds = every seed of ``model`` beats every seed of the baseline; does not hold = every seed
    of the baseline beats every seed of ``model``; mixed otherwise. The count of seed pairs in
    ``model``'s favour and the gap of the closest pair are given: with two or three seeds a side,
    "holds" by 0.03 px is a weak statement (``closest_px``: that gap as a number), and so is the
    chance that the seed alone would give the same verdict (1 in C(n_a + n_b, n_a)). A run-level
    statement: sentence intervals are in ``run_table``."""
    L = seed_long(root, seeds, (metric,))
    mine = L[L.model == model]["mean"].to_numpy()
    rows = []
    for base in seeds:
        if base == model:
            continue
        theirs = L[L.model == base]["mean"].to_numpy()
        label = f"every {model} seed {'<' if lower else '>'} every baseline seed ({metric.upper()})"
        if not len(mine) or not len(theirs):
            rows.append((base, label, "not trained", "", len(mine), len(theirs), np.nan))
            continue
        sign = 1 if lower else -1
        wins = int(sum(sign * (a - b) < 0 for a in mine for b in theirs))
        n = len(mine) * len(theirs)
        verdict = ("holds" if wins == n else "does not hold" if wins == 0 else "mixed")
        closest = min(abs(a - b) for a in mine for b in theirs)           # how near a reversal the verdict is
        rng = lambda v: f"{v.min():.3f}" if len(v) == 1 else f"{v.min():.3f}..{v.max():.3f}"
        steps = unequal_steps(root, seeds[model][0], seeds[base][0])      # '' at equal steps
        # if the seed alone decided (the runs exchangeable), every run of one side lands below every
        # run of the other with this chance: 1 / C(n_a + n_b, n_a), e.g. 1 in 10 for 3 against 2
        chance = 1 / math.comb(len(mine) + len(theirs), len(mine))
        odds = f"; by chance alone 1 in {round(1 / chance)}" if verdict != "mixed" else ""
        rows.append((base, label, verdict, f"{wins} of {n} seed pairs; {rng(mine)} vs {rng(theirs)}, closest pair "
                                           f"{closest:.3f} apart{odds}{steps}", len(mine), len(theirs), closest))
    return pd.DataFrame(rows, columns=["baseline", "paper's ordering, at the level of runs", "here", "evidence",
                                       f"{model} seeds", "baseline seeds", "closest_px"])


# the learning curves against compute (notebook 4): model -> {run label: run folder}; runs whose
# val_log.csv records the CPU seconds spent (``cpu_s``, logged since the recipe search began)
CURVES = {"full model": {"cpu recipe, 3 000 steps, D from step 2 700, seed 0": "search_long3000",
                         "cpu2 recipe, 4 000 steps, seed 0": "full_cpu2",
                         "cpu2 recipe, 4 000 steps, seed 1": "full_cpu2_seed1",
                         "cpu2 recipe, 4 000 steps, seed 2": "full_cpu2_seed2"},
          "Speech2Vid (Chung)": {"cpu recipe, 3 000 steps, seed 0": "speech2vid_long3000",
                                 "cpu2 recipe, 4 000 steps, seed 0": "speech2vid_cpu2",
                                 "cpu2 recipe, 4 000 steps, seed 1": "speech2vid_cpu2_seed1"},
          "VGAN (Vondrick)": {"cpu2 recipe, 4 000 steps, seed 0": "vgan_cpu2",
                              "cpu2 recipe, 4 000 steps, seed 1": "vgan_cpu2_seed1",
                              "cpu2 recipe, 4 000 steps, seed 2": "vgan_cpu2_seed2"},
          # at the rate its search chose (trained on the slower machine: more CPU-minutes a step)
          "Speech2Vid (Chung), lr 3e-4": {f"cpu2 recipe, 4 000 steps, seed {i}": run
                                          for i, run in enumerate(SEEDS["Speech2Vid (Chung), lr 3e-4"])}}


# the baselines' learning-rate search (docs/TRAINING.md): model -> its runs at cpu2's steps, seed 0,
# three rates a factor of about 3 apart, the chosen one between two worse ones; the choice is made on
# the validation speakers (Speech2Vid's 3e-3 was not needed once 3e-4 beat 1e-3 and 1e-4 lost to it)
LR_SEARCH = {"Speech2Vid (Chung)": ("speech2vid_cpu2_lr1e-4", "speech2vid_cpu2_lr3e-4", "speech2vid_cpu2"),
             "VGAN (Vondrick)": ("vgan_cpu2_lr3e-4", "vgan_cpu2", "vgan_cpu2_lr3e-3")}


def lr_search(root, search: dict = LR_SEARCH) -> tuple[dict, pd.DataFrame]:
    """The learning-rate search of each model in ``search`` as learning-curve logs ({model: {'lr
    0.001': val_log}}, for ``viz.learning_curves``) and a table: one row per shipped run with its
    learning rate (read from its generator's header), its best validation LMD and the step it was
    reached at (the step it ships), the opening r there, and ``chosen`` (the lowest best validation
    LMD of its model). Runs not shipped are left out of both; a model with one run has no choice."""
    logs, rows = {}, []
    for model, runs in search.items():
        for run in runs:
            d = Path(root) / run
            if not (d / "val_log.csv").exists() or not (d / "generator.safetensors").exists():
                continue
            lr = run_facts(root, run)["lr"]
            log = pd.read_csv(d / "val_log.csv")
            best = log.loc[log["lmd"].idxmin()]
            logs.setdefault(model, {})[f"lr {lr:g}"] = log
            rows.append({"model": model, "run": run, "lr": lr, "steps": int(log["step"].iloc[-1]),
                         "best_val_lmd": float(best["lmd"]), "best_step": int(best["step"]),
                         "val_lmd_last": float(log["lmd"].iloc[-1]), "opening_r_at_best": float(best["opening_r"]),
                         "cpu_min": float(log["cpu_s"].iloc[-1]) / 60})
    t = pd.DataFrame(rows, columns=["model", "run", "lr", "steps", "best_val_lmd", "best_step", "val_lmd_last",
                                    "opening_r_at_best", "cpu_min"])
    t["chosen"] = t.groupby("model")["best_val_lmd"].transform(lambda v: (v == v.min()) & (len(v) > 1)).astype(bool)
    return logs, t


def seed_rows_note(root, seeds: dict = SEEDS, search: dict = LR_SEARCH) -> list[str]:
    """One line per model of ``seeds`` that is not a Table 3 model (a baseline at another learning
    rate): what it is and why it stands there, read from its generator's header and from the
    learning-rate search (``lr_search``): whether it is the rate the search chooses now (a search
    that tries more rates may move on)."""
    from ..config import PRESETS
    _, t = lr_search(root, search)
    lines = []
    for name, runs in seeds.items():
        if name in MODELS or "lr" not in (facts := run_facts(root, runs[0])):
            continue
        base = next((m for m in MODELS if name.startswith(m)), name)
        mine, tried = t[t.model == base], len(t[t.model == base])
        chosen = mine[mine.chosen].lr
        preset_lr = PRESETS[facts["preset"]]().train.lr if facts.get("preset") in PRESETS else None
        why = ("the rate its learning-rate search chooses on the validation speakers" if len(chosen) and
               np.isclose(chosen.iloc[0], facts["lr"]) else
               f"not the rate its learning-rate search chooses now (lr {chosen.iloc[0]:g})"
               if len(chosen) else "a rate of its learning-rate search")
        lines.append(f"*{name}*: {base} at lr {facts['lr']:g}"
                     + (f" instead of the {facts['preset']} recipe's {preset_lr:g}" if preset_lr is not None else "")
                     + f", {why} ({tried} rates tried; notebook 4, section 1.2). Its runs stand beside the "
                       "preset-rate ones, and the ordering is stated against both.")
    return lines


def learning_curve_logs(root, curves: dict = CURVES) -> tuple[dict, list[str]]:
    """The validation logs of ``curves`` that are shipped under ``root`` ({model: {run label:
    DataFrame}}), and the run folders that are not (listed, not silently dropped). A shipped log
    without ``cpu_s`` is an error: the curve could not be drawn against compute."""
    logs, missing = {}, []
    for model, runs in curves.items():
        for label, run in runs.items():
            p = Path(root) / run / "val_log.csv"
            if not p.exists():
                missing.append(run)
                continue
            log = pd.read_csv(p)
            if "cpu_s" not in log:
                raise ValueError(f"{p} has no cpu_s column: it was trained before CPU time was logged")
            logs.setdefault(model, {})[label] = log
    return logs, missing


FLAT_PX = 0.03      # a validation curve is "flat" if LMD fell by less than this over its last quarter of compute


def curve_summary(logs: dict) -> pd.DataFrame:
    """One row per run of ``learning_curve_logs``: CPU-minutes and steps at the end, the last and
    best validation LMD, how much LMD fell over the last quarter of its CPU-minutes (``FLAT_PX``
    decides ``flat``), the last opening r, and the CPU-minutes at which LMD first came within
    0.05 px of its best."""
    rows = []
    for model, runs in logs.items():
        for run, log in runs.items():
            cpu = log["cpu_s"].to_numpy() / 60
            lmd = log["lmd"].to_numpy()
            late = cpu >= 0.75 * cpu[-1]
            before = lmd[~late][-1] if (~late).any() else lmd[0]
            drop = float(before - lmd[late].min())
            rows.append({"model": model, "run": run, "steps": int(log["step"].iloc[-1]),
                         "cpu_min": float(cpu[-1]), "lmd_last": float(lmd[-1]), "lmd_best": float(lmd.min()),
                         "lmd_drop_last_quarter": drop, "flat": drop < FLAT_PX,
                         "opening_r_last": float(log["opening_r"].iloc[-1]),
                         "cpu_min_within_0.05_of_best": float(cpu[np.argmax(lmd <= lmd.min() + 0.05)])})
    return pd.DataFrame(rows)

