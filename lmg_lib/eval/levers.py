"""Levers of the recipe search (issue "Half-way to the ceiling", docs/TRAINING.md, notebook 4):
runs that change one setting of a shipped recipe, read against their base on the validation speakers
(``lever_table``), and runs that share their training up to a step and differ only after it, in the
adversarial phase (``d_phase_table``: branches of one checkpoint, ``lmg train --branch-from``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .records import run_facts
from .records import summary as _summary
from .results import paired_intervals


# The levers tried against the cpu2 recipe (issue "Half-way to the ceiling", docs/TRAINING.md):
# label -> (lever run, base run). A lever run is its base's command with one setting changed (its
# generator's header says which: ``run_facts``' ``changed``) and the same seed, so that both are
# validated on the same clips with the same reference frames and their curves compare.
# search_b4_ae's base is search_b4_nod (no D: the adversarial phase did nothing measurable at that
# scale, ``D_PHASE``), so that L_perc's source (or the learning rate) is the one thing changed.
LEVERS = {"cpu2 at 4 clips a step instead of 8, seed 0": ("search_b4", "full_cpu2"),
          "L_perc on a frozen lip autoencoder from step 0 (the authors' code), no D": ("search_b4_ae", "search_b4_nod"),
          "Adam's learning rate 2e-3 instead of 1e-3, no D": ("search_b4_nod_lr2e-3", "search_b4_nod")}


def lever_table(root, levers: dict = LEVERS) -> tuple[dict, pd.DataFrame]:
    """Each shipped lever run against its base, on the validation speakers only: the logs
    ({label: {"lever": log, "base": log}}, each with ``clips`` = step x its batch size), and one row
    per lever: what it changes, each run's batch size, D's first step (``gan_start``), last step, best validation LMD (and step),
    last validation LMD and opening r, and CPU-minutes; the base's validation LMD at the lever's
    last step (equal steps) and at the base's logged step nearest the lever's clips seen (equal
    clips: ``base_step_equal_clips``). A lever whose seed differs from its base's is an error (the
    validation references depend on the seed). Levers not shipped are left out."""
    logs, rows = {}, []
    for label, (run, base) in levers.items():
        if not all((Path(root) / r / "val_log.csv").exists() for r in (run, base)):
            continue
        facts, base_facts = run_facts(root, run), run_facts(root, base)
        if facts.get("seed") != base_facts.get("seed"):
            raise ValueError(f"lever {run} (seed {facts.get('seed')}) and its base {base} (seed "
                             f"{base_facts.get('seed')}) are validated on different reference frames")
        pair = {}
        for side, r, f in (("lever", run, facts), ("base", base, base_facts)):
            log = pd.read_csv(Path(root) / r / "val_log.csv")
            pair[side] = log.assign(clips=log["step"] * f["batch_size"])
        logs[label] = pair
        lev, bas = pair["lever"], pair["base"]
        last = lev.iloc[-1]
        at = lambda log, step: log.iloc[int(np.argmin(np.abs(log["step"].to_numpy() - step)))]
        equal_clips = at(bas, last["clips"] / base_facts["batch_size"])
        row = {"lever": label, "run": run, "base": base,
               "changes": ", ".join(f"{k}={v}" for k, v in facts.get("changed", {}).items()
                                    if k not in base_facts.get("changed", {})) or "nothing recorded"}
        for side, f, log in (("lever", facts, lev), ("base", base_facts, bas)):
            best = log.loc[log["lmd"].idxmin()]
            row.update({f"{side}_batch": f["batch_size"], f"{side}_gan_start": f.get("gan_start", np.nan),
                        f"{side}_steps": int(log["step"].iloc[-1]),
                        f"{side}_best_lmd": float(best["lmd"]), f"{side}_best_step": int(best["step"]),
                        f"{side}_last_lmd": float(log["lmd"].iloc[-1]),
                        f"{side}_last_opening_r": float(log["opening_r"].iloc[-1]),
                        f"{side}_cpu_min": float(log["cpu_s"].iloc[-1]) / 60 if "cpu_s" in log else np.nan})
        row.update({"base_lmd_equal_steps": float(at(bas, last["step"])["lmd"]),
                    "base_step_equal_clips": int(equal_clips["step"]), "base_lmd_equal_clips": float(equal_clips["lmd"])})
        rows.append(row)
    return logs, pd.DataFrame(rows)


# The adversarial phase at search_b4's scale: runs that are one run up to step 3 600 (search_b4 and
# search_b4_nod trained from step 0, the same settings up to search_b4's D; search_b4_gen025 a branch
# of search_b4_nod's checkpoint there) and then differ in whether D enters and how strongly L_gen
# does. The first is the base.
D_PHASE = {"D, L_gen and L_perc for the last 300 steps (as cpu2)": "search_b4",
           "no D, L_gen or discriminator L_perc at all": "search_b4_nod",
           "L_gen a quarter as strong (w_gen 0.25), D for the last 300 steps": "search_b4_gen025"}
D_PHASE_METRICS = ("lmd", "opening_r", "cpbd")


def d_phase_table(root, runs: dict = D_PHASE, metrics=D_PHASE_METRICS,
                  context: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs that share their training up to a step and differ after it (shipped ones only; the first
    is the base): their validation logs from ``context`` validations before the last step at which
    every log holds the same values (``shared_step``; checked, not assumed: how much one run's
    validation moves between checkpoints), long (label, run, step and ``metrics``); and one row per
    run: D's first step, L_gen's weight, each validation metric at the shared step, at the end and
    its mean over the later validations, and on the test speakers (where evaluated) each metric and
    its difference from the base paired by sentence, with the 95 % interval."""
    found = {k: r for k, r in runs.items() if (Path(root) / r / "val_log.csv").exists()}
    if len(found) < 2:
        return pd.DataFrame(), pd.DataFrame()
    logs = {k: pd.read_csv(Path(root) / r / "val_log.csv").set_index("step") for k, r in found.items()}
    steps = sorted(set.intersection(*(set(log.index) for log in logs.values())))
    same = [s for s in steps if all(np.allclose(log.loc[s, list(metrics)], logs[next(iter(logs))].loc[s, list(metrics)],
                                                rtol=0, atol=1e-9) for log in logs.values())]
    shared = max((s for s in same if all(t in same for t in steps if t <= s)), default=None)
    if shared is None:
        raise ValueError(f"{', '.join(found.values())} differ from their first validation on: not one trunk")
    start = same[max(0, same.index(shared) - context)]
    base = next(iter(found.values()))
    long, rows = [], []
    for label, run in found.items():
        facts, log = run_facts(root, run), logs[label]
        after = log[log.index > shared]
        long.append(log[log.index >= start][list(metrics)].reset_index().assign(label=label, run=run))
        row = {"label": label, "run": run, "gan_start": facts.get("gan_start"), "w_gen": facts.get("w_gen", 1.0),
               "shared_step": shared, "last_step": int(log.index[-1])}
        for m in metrics:
            row.update({f"val_{m}_shared": float(log.loc[shared, m]), f"val_{m}_last": float(log[m].iloc[-1]),
                        f"val_{m}_mean_after": float(after[m].mean())})
        summ = _summary(root, run)
        if summ is not None:
            means = summ.set_index("metric")["mean"]
            paired = paired_intervals(root, run, base, metrics) if run != base else {}
            for m in metrics:
                row[f"test_{m}"] = float(means[m]) if m in means else np.nan
                row[f"test_{m}_minus_base"] = paired.get(m, [np.nan] * 3)
        rows.append(row)
    return pd.concat(long, ignore_index=True), pd.DataFrame(rows)
