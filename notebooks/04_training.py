# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4 · Training the lip-movement generator
#
# **The paper's training.** Training alternates two updates on every batch of clips $(s, p, v)$ —
# speech, one reference lip image, the 16 real frames — plus a **mismatched** real video $v_u$
# (another sentence):
#
# **Discriminator** (three streams, $\lambda_p = \lambda_u = 0.5$):
#
# $$\mathcal{L}_D = -\log D(s, v) \;-\; \lambda_p \log\big(1 - D(s, \hat v)\big) \;-\; \lambda_u \log\big(1 - D(s, v_u)\big)$$
#
# The third stream is what makes $D$ judge *synchronisation*, not only realism: a real video of the
# wrong sentence must be rejected too.
#
# **Generator** (and the correlation encoders $\varphi_s, \varphi_v$, updated together), with the
# paper's weights:
#
# $$\mathcal{L} = \mathcal{L}_{corr} + 0.5\,\mathcal{L}_{pix} + 1.0\,\mathcal{L}_{perc} + 1.0\,\mathcal{L}_{gen},
# \qquad \mathcal{L}_{corr} = 1 - \cos\!\big(\varphi_s(\tfrac{d f_s}{dt}),\; \varphi_v(F(v))\big)$$
#
# with $F(v)$ the optical flow of the video. In training, the generator is reached through the flow
# of its own output, $F(\hat v)$; the authors' code also scores the real video's flow (section 1).
#
# Optimisers in the authors' code: Adam, lr $2\cdot10^{-4}$, $\beta = (0.5, 0.999)$ for $G$ and $D$;
# lr $10^{-4}$ for $\varphi_s, \varphi_v$; every loss from the first step, no schedule.
#
# **What was trained here is not that recipe, nor that data.** The paper trains on GRID (and LRW); every
# model on these pages is trained on this repository's embedded corpus (notebook 1: 32 rendered
# speakers, GRID's sentence grammar, espeak-ng speech), whose speaker names s1-s32 echo GRID's but
# are not its people. No GPU was available, so every trained model on
# these pages comes from a CPU preset (its name is in the table's header), trained on a 2-core CPU:
# the paper's architecture at a quarter of its width, with identity skips, nearest-neighbour
# upsampling, fewer residual blocks and a smaller output kernel, and the CPU recipe of
# `docs/TRAINING.md` (the run's own time is printed in section 1). The table below
# is generated from the configuration (`lmg_lib/train/recipe_table.py` compares the shipped
# checkpoint's configuration with the `paper` preset field by field); every difference is a row,
# with the measurement that motivated it. Note the pixel weight: $\mathcal{L}_{pix}$ counts **20**
# times (paper: 0.5), with 5x extra on the mouth box, so the logged total `loss_G` is mostly
# $20\,\mathcal{L}_{pix}$.

# %%
from IPython.display import Markdown, display
from lmg_lib.notebook import SHIPPED_CHECKPOINTS
from lmg_lib.util.paths import SHIPPED_FULL          # the run folder of the shipped full model
from lmg_lib.train.checkpoints import load_generator
from lmg_lib.train.recipe_table import preset_of, recipe_markdown

G, shipped_cfg, shipped_extra = load_generator(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "generator.safetensors")
display(Markdown(f"**The shipped full model (`checkpoints/{SHIPPED_FULL}/`): the paper's recipe and what we trained** "
                 f"(preset `{preset_of(shipped_cfg)}`, read from the checkpoint)\n\n" + recipe_markdown(shipped_cfg)))

# %% [markdown]
# The `Trainer` adds what a real run needs: bf16 autocast, channels-last and `torch.compile` on
# CUDA, atomic full checkpoints with exact resume, a stop with a clear message on NaN/inf, CSV logs,
# and multi-GPU through `torchrun` (`lmg train --help`).
#
# **This page.** Sections 1-3 show **trained, shipped runs**: section 1 the shipped full model's
# (full model, cpu2 recipe) curves from its own logs (`train_log.csv`, `val_log.csv` in its folder,
# printed below), section 1.1 the validation curves of every seed of the full model and of both
# baselines against the compute they spent, section 1.2 the baselines' learning-rate search, and
# sections 2-3 the samples the full model's training saved (`samples.jpg`) and the checkpoint itself
# on a held-out speaker (`python tools/make_shipped.py train full_cpu2` remakes it).
#
# **Terms.** LMD (landmark distance): the mean distance in pixels of the 64 px lip crop between the
# lip landmarks of a generated frame and of the real one, lower is better. Opening r: the correlation
# over a clip's frames between the generated and the real mouth opening (inner-lip height), higher is
# better; 0 for a mouth that does not move with the speech. CPBD: a sharpness score (higher =
# sharper), compared with the real frames'. EMA: the exponential moving average of the generator's
# weights, the copy that is validated and shipped. Notebook 6 defines each metric in full. Section 4 is a **smoke demonstration**
# for a reader who executes the notebook: a few dozen steps of the `tiny` preset, enough to watch
# the losses move, not to learn lips; it is not a result. The appendix goes beyond the paper (a
# probe of the CPU recipe's warm-up). On a GPU use `params/full.yaml` (paper preset, 20 000 steps,
# a step count the paper does not state).
#
# **Paper beside this notebook** (Chen et al., ECCV 2018, arXiv:1803.10404):
#
# | paper | here |
# |---|---|
# | method, the three-stream discriminator loss $\mathcal{L}_D$ and the generator's total loss $\mathcal{L}$ with weights (1, 0.5, 1, 1) | the equations above, beside `model/losses.py` and `train/step.py` below; the weights trained here are in the table (1, 20, 1, 1) |
# | training details (the optimiser from the authors' code) | the table above; `lmg_lib/train/step.py`, `lmg_lib/train/recipe.py` |
# | Fig. 6, generated lips of unseen speakers beside the ground truth | section 3 (one held-out speaker, full model, cpu2 recipe); notebook 6 for the full grid |
#
# The training step implements both equations; here is its source and that of the weighted sum,
# read from the library:

# %% tags=["parameters"]
TRAIN = True            # False: skip the smoke demonstration (section 4), only show the shipped model
PRESET = "tiny"         # "tiny" (CPU smoke) | "cpu2" (the shipped model, ~2 h) | "paper" (GPU, 16.7 M)
CONFIG = {              # overrides of the preset, the keys of `lmg train --set` (lmg_lib.config.make_config)
    "train.steps": 40,              # paper preset: 20000 (the paper states no step count); cpu2: 4000
    "train.batch_size": 4,          # paper preset: 24 (authors: 24 on 4 GPUs); cpu2: 8
    "train.sample_every": 20,       # paper preset: 500; cpu2: 150
    "train.log_every": 10,
    "train.checkpoint_every": 20,
    "train.amp": True,              # bf16 autocast (CUDA only)
    "train.compile": False,         # torch.compile (CUDA)
    "train.num_workers": 0,         # DataLoader workers; full scale: 8
}
DEVICE = "cpu"          # "cuda" on a GPU
SEED = 0

# %%
import json
import shutil

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

from lmg_lib.config import get_config, make_config
from lmg_lib.data import collate_clips
from lmg_lib.eval.records import run_label, thousands
from lmg_lib.eval.results import PROBE_BASE
from lmg_lib.model.losses import total_generator_loss
from lmg_lib.notebook import SAVE, artefact_dir, figure_path, open_dataset, show_source, shown
from lmg_lib.train import Trainer, seed_everything
from lmg_lib.train.recipe_table import generator_parameters, millions
from lmg_lib.train.step import train_step
from lmg_lib.util.pixels import to_uint8_frames
from lmg_lib.train.samples import load_samples
from lmg_lib.viz import compare_videos, loss_curves, samples_over_time

seed_everything(SEED)
SHIPPED = f"full model, {run_label(SHIPPED_CHECKPOINTS, SHIPPED_FULL)}"   # the label of every figure of the shipped model
show_source(total_generator_loss,
            equation=r"\mathcal{L} = w_{corr}\,\mathcal{L}_{corr} + w_{pix}\,\mathcal{L}_{pix} + w_{perc}\,\mathcal{L}_{perc} "
                     r"+ w_{gen}\,\mathcal{L}_{gen}, \qquad (w) = (1, 0.5, 1, 1) \text{ in the paper}")
show_source(train_step,
            note="One alternating update: $D$ first, on $[s, v]$, $[s, \\hat v]$ (detached) and $[s, v_u]$; "
                 "then $G$ and $\\varphi_s, \\varphi_v$ together on $\\mathcal{L}$.")

# %% [markdown]
# ## 1. The shipped full model's training (full model, cpu2 recipe)
#
# Left: its training log, each term **as it enters $\mathcal{L}$** (weight times the logged,
# unweighted term), with the total `loss_G` and the discriminator's own loss $\mathcal{L}_D$; a term
# is drawn only while it was on ($D$, $\mathcal{L}_{gen}$ and $\mathcal{L}_{perc}$ switch on at the
# dotted line). Middle and right: what was measured every 150 steps on the **validation speakers**
# (a fixed set of clips, `train.recipe.VAL_CLIPS`; EMA weights): LMD and the mouth-opening correlation r. The shipped generator is the
# step with the best validation LMD (marked), not the last one. The cell below the figure adds up one
# logged row to show where `loss_G` comes from.
#
# What the curves show: the weighted pixel term dominates $\mathcal{L}$ from start to end.
# $\mathcal{L}_{corr}$ starts near 1 (uncorrelated curves) and falls during the first few hundred
# steps, then keeps falling slowly (the cell prints its first, lowest and last values); half of it is
# computed on the *real* video's flow (as in the authors' code), so part of this drop is
# $\varphi_s, \varphi_v$ learning to correlate speech with real lip motion, not the generator.
# After $D$ switches on, $\mathcal{L}_{gen}$ rises while $\mathcal{L}_D$ falls: $D$ gets better at
# telling the generated clips apart, without reaching 0. The line printed under the figure says at
# which step validation LMD was best and what it was at the last step.

# %%
shipped_log = pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "train_log.csv")
shipped_val = pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "val_log.csv")
best_step, start = int(shipped_extra["step"]), shipped_cfg.train.gan_start
fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw=dict(width_ratios=[1.5, 1, 1]))
loss_curves(shipped_log, shipped_cfg, ax=axes[0], title="training log: the terms of L, weighted",
            legend_loc="below")
for ax, (k, label, y) in zip(axes[1:], [("lmd", "validation LMD (lower is better)", "LMD (px, 64 px crop)"),
                                         ("opening_r", "validation mouth-opening r (higher is better)", "opening r")]):
    ax.plot(shipped_val["step"], shipped_val[k], "o-", ms=3, color="C0")
    ax.axvline(start, color="0.3", ls=":", lw=1)
    b = shipped_val.set_index("step").loc[best_step, k]
    ax.plot([best_step], [b], "*", ms=11, color="C3", label=f"shipped: step {best_step}\n(best validation LMD)")
    ax.set(xlabel="training step", ylabel=y); ax.set_title(label, fontsize=9); ax.grid(alpha=0.3)
axes[1].legend(fontsize=7)
fig.suptitle(f"{SHIPPED} (checkpoints/{SHIPPED_FULL}/): its own logs; D, L_gen and L_perc from step {start} (dotted)", fontsize=10)
fig.tight_layout(); fig.savefig(figure_path("training_loss_curves.png"), **SAVE); plt.show()
last = shipped_val.iloc[-1]
record = json.loads((SHIPPED_CHECKPOINTS / SHIPPED_FULL / "record.json").read_text())
print(f"{SHIPPED}: trained by `{record['command']}` in {record['wall_s'] / 60:.0f} min wall, "
      f"{record['cpu_s'] / 60:.0f} CPU-min ({record['threads']} threads)")
print(f"{SHIPPED}, validation LMD: best {shipped_val['lmd'].min():.3f} at step {best_step} (shipped), "
      f"{last['lmd']:.3f} at the last step {int(last['step'])}")
corr = shipped_log[["step", "corr"]].dropna()
q = max(1, len(corr) // 10)
print(f"{SHIPPED}, L_corr: first {q} logs {corr['corr'].head(q).mean():.2f}, last {q} logs "
      f"{corr['corr'].tail(q).mean():.2f} (minimum {corr['corr'].min():.2f} at step {int(corr.loc[corr['corr'].idxmin(), 'step'])} "
      f"of {int(corr['step'].iloc[-1])})")

# %% [markdown]
# Where a logged `loss_G` comes from: the log holds each term **unweighted**, and $\mathcal{L}$ is
# their sum with the weights of the table above. The last logged row, added up:

# %%
row = shipped_log.iloc[-1]
L = shipped_cfg.loss
parts = {k: getattr(L, f"w_{k}") * row[k] for k in ("corr", "pix", "perc", "gen") if getattr(L, f"use_{k}")}
print(f"step {int(row['step'])}: loss_G {row['loss_G']:.2f} = " + " + ".join(
    f"{getattr(L, f'w_{k}'):g} x {k} {row[k]:.2f}" for k in parts) + f" = {sum(parts.values()):.2f}")
print(f"with the paper's weights (1, 0.5, 1, 1) the same terms would sum to "
      f"{row['corr'] + 0.5 * row['pix'] + row['perc'] + row['gen']:.2f}")

# %% [markdown]
# ### 1.1 Validation against compute: what each model buys per CPU-minute
#
# The runs of the recipe search (docs/TRAINING.md) log, at every validation, the CPU seconds the
# run had spent (training and validation, both cores summed: `cpu_s` in `val_log.csv`). Drawn
# against those CPU-minutes, each model's validation curve says how much compute it needs to get
# where it gets, and whether it was still improving when it stopped. Colours are models; line
# styles are seeds, the same in every model (solid seed 0, dashed seed 1, dotted seed 2; dash-dot
# the `cpu` recipe's 3 000-step runs); the CPU-minutes are on a log axis, since the baselines cost
# a fraction of the full model's. The grey lines are the static reference frame and the average
# mouth (a constant) scored on the same validation clips (`checkpoints/controls/val_references.json`,
# `tools/make_shipped.py valref`), averaged over the seeds: each seed draws its own reference frame
# for each validation clip, so the static reference moves with the seed (the cell prints it per
# seed), and validation LMDs compare exactly only within a seed. Runs that trained on a slower
# machine spent more CPU-minutes for the same steps (the cell prints the CPU each run's `record.json`
# names, where it does): read their curves for where they end, not for what they cost. The table under the figure is computed from the same logs:
# `lmd_drop_last_quarter` is how much validation LMD fell over the last quarter of a run's
# CPU-minutes, and a run counts as flat when that is under `FLAT_PX`. Each label names its preset,
# steps and seed; "D from step" appears where a run moved its preset's adversarial phase (the
# sentence under the figure says what the `cpu` preset itself does).

# %%
from lmg_lib.eval.seeds import CURVES, FLAT_PX, curve_summary, learning_curve_logs
from lmg_lib.viz import learning_curves

curve_logs, not_shipped = learning_curve_logs(SHIPPED_CHECKPOINTS)
val_refs = json.loads((SHIPPED_CHECKPOINTS / "controls" / "val_references.json").read_text())
learning_curves(curve_logs, val_refs, path=figure_path("training_learning_curves.png"), logx=True,
                run_styles=lambda run: 3 if run.startswith("cpu recipe") else int(run[-1]),   # style = seed
                title=f"Validation LMD and opening r against CPU-minutes ({val_refs['clips']} clips of the "
                      f"validation speakers; shipped runs, their own logs)")
plt.show()
cpu_preset = get_config("cpu").train
display(Markdown(f"The `cpu` preset itself trains {thousands(cpu_preset.steps)} steps with D from step "
                 f"{thousands(cpu_preset.gan_start)} (`checkpoints/{PROBE_BASE}/`, the probes' base); the runs "
                 "labelled *cpu recipe, 3 000 steps* changed its steps and its D step by `--steps` and "
                 "`--set train.gan_start` (their `record.json`); `cpu2` is the preset those changes became."))
print("static reference frame's validation LMD per seed:",
      ", ".join(f"seed {k} {v['static']['lmd']:.2f} px" for k, v in val_refs["seeds"].items()))
for model, runs in CURVES.items():
    for label, run in runs.items():
        rec = SHIPPED_CHECKPOINTS / run / "record.json"
        if rec.exists() and json.loads(rec.read_text()).get("cpus"):
            print(f"{model} ({label}): trained on {', '.join(json.loads(rec.read_text())['cpus'])}")
curves = curve_summary(curve_logs)
display(curves.round(4))
if not_shipped:
    print("listed in eval.seeds.CURVES but not shipped in this checkout:", ", ".join(not_shipped))
for _, c in curves.iterrows():
    state = ("flat" if c["flat"] else "past its best: it ends above its best by more than FLAT_PX"
             if c["lmd_last"] - c["lmd_best"] >= FLAT_PX else "still improving")
    print(f"{c['model']} ({c['run']}): {c['cpu_min']:.0f} CPU-min, LMD {c['lmd_last']:.2f} at the end, "
          f"within 0.05 px of its best after {c['cpu_min_within_0.05_of_best']:.0f} CPU-min; "
          f"fell {c['lmd_drop_last_quarter']:.4f} px over its last quarter: {state} (flat: under FLAT_PX = {FLAT_PX} px)")

# %% [markdown]
# ### 1.2 The baselines' learning rate, chosen on the validation speakers
#
# A baseline trained at a learning rate that suits the full model but not itself would lose the
# comparison for the wrong reason. So each baseline is trained at rates a factor of about three apart
# around `cpu2`'s 1e-3 until its best is bracketed (the table lists them), everything else as its `cpu2` run (steps, schedule,
# seed 0; `tools/make_shipped.py train speech2vid_cpu2_lr3e-4` and so on), and the rate whose
# validation LMD reached the lowest value (at any validation step: the step whose generator a run
# ships) is the choice, and a choice is bracketed when a rate on either side of it was tried and
# did worse (a run of the search not shipped yet is listed under the table). One seed per rate: a margin
# smaller than the spread between seeds of one recipe (the best validation LMD of the `cpu2` seeds
# in section 1.1's table, compared in the line under each choice) is a choice by rule, not evidence
# that the rate is better. (That spread also holds the seeds' different reference frames, section
# 1.1: a rough yardstick, not the training noise alone; every run of the search is seed 0, so the
# rates themselves compare on the same clips and references.) Only the validation speakers are read here; the test speakers play no
# part (`eval.seeds.LR_SEARCH` lists the runs, `eval.seeds.lr_search` reads them). The runs at
# rates other than 1e-3 trained on a slower machine than the two `cpu2` runs beside them
# (docs/TRAINING.md), so their CPU-minutes are longer for the same 4 000 steps: read the curves for
# where they end, not for what they cost. One line style per rate, one colour per model.

# %%
from lmg_lib.eval.seeds import LR_SEARCH, lr_search

lr_logs, lr_table = lr_search(SHIPPED_CHECKPOINTS)
if lr_logs:
    learning_curves(lr_logs, val_refs, path=figure_path("training_lr_search.png"),
                    colors={model: f"C{i}" for i, model in enumerate(curve_logs)},     # section 1.1's colours
                    run_styles={run: i for i, run in enumerate(sorted({r for runs in lr_logs.values() for r in runs},
                                                                       key=lambda r: float(r.split()[-1])))},
                    title="The baselines' learning-rate search: validation LMD and opening r against CPU-minutes "
                          "(cpu2 recipe otherwise, 4 000 steps, seed 0; shipped runs, their own logs)")
    plt.show()
    display(lr_table.round(4))
    cpu2_lr = get_config("cpu2").train.lr
    for model, g in lr_table.groupby("model", sort=False):
        if not g["chosen"].any():
            print(f"{model}: only {', '.join(g.run)} shipped, no choice made")
            continue
        c = g[g.chosen].iloc[0]
        others = "; ".join(f"lr {r.lr:g}: {r.best_val_lmd:.3f} at step {thousands(r.best_step)}"
                           for r in g[~g.chosen].itertuples())
        margin = g[~g.chosen]["best_val_lmd"].min() - c.best_val_lmd
        seed_best = curves[(curves.model == model) & curves.run.str.startswith("cpu2 recipe")]["lmd_best"].to_numpy()
        edge = c.lr in (g.lr.min(), g.lr.max())
        print(f"{model}: lr {c.lr:g} chosen so far (best validation LMD {c.best_val_lmd:.3f} at step "
              f"{thousands(c.best_step)}, opening r {c.opening_r_at_best:.2f}), against {others}: a margin of "
              f"{margin:.3f} px, one seed each"
              + (f", against {np.ptp(seed_best):.3f} px between the best validation LMD of its {len(seed_best)} "
                 "cpu2 seeds (section 1.1). " if len(seed_best) > 1 else ". ")
              + ("That is cpu2's own rate: the Table 3 seeds (notebook 6) are at it." if c.lr == cpu2_lr else
                 f"That is not cpu2's rate ({cpu2_lr:g}): notebook 6 lists this run as its own model beside "
                 "the cpu2-rate seeds, which stay Table 3's until its own seeds are trained.")
              + (" It is the edge of the rates tried: the search has not bracketed a minimum." if edge else ""))
missing = [r for runs in LR_SEARCH.values() for r in runs if r not in set(lr_table.run)]
if missing:
    print("listed in eval.seeds.LR_SEARCH but not shipped in this checkout:", ", ".join(missing))

# %% [markdown]
# ### 1.3 Levers tried against `cpu2`, on the validation speakers
#
# The `cpu2` full model closes a little under half of the static-to-ceiling gap on the test speakers
# (notebook 6), so the recipe search goes on. Each lever is a run of a shipped run's command (its
# base: `cpu2`'s seed 0, or a cheaper probe of it) with one setting changed and the **same seed** as
# its base (the same validation clips and reference frames, section 1.1); its generator's header records what changed
# (`eval.levers.LEVERS` lists the pairs, `eval.levers.lever_table` reads them). The x axis is the number
# of training clips seen (steps x batch size), which does not depend on the machine: a lever that
# changes the batch size is read both at equal steps and at equal clips. Only the validation
# speakers are read here; a lever is a candidate for seeds when it beats its base by more than the
# spread between the `cpu2` seeds' best validation LMDs (section 1.1's table), never on one run.
# Each run is drawn once: `search_b4_nod` is the base of two levers, and it and `search_b4` are one
# run up to step 3 600 (section 1.4), so their curves lie on each other there.

# %%
from lmg_lib.eval.levers import LEVERS, lever_table

lever_logs, levers = lever_table(SHIPPED_CHECKPOINTS)
cpu2_best = curves[(curves.model == "full model") & curves.run.str.startswith("cpu2 recipe")]["lmd_best"].to_numpy()
if lever_logs:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    colour = {}                                     # each run drawn once, in its own colour (bases are shared)
    for label, pair in lever_logs.items():
        r = levers.set_index("lever").loc[label]
        for side, ls in (("base", "-"), ("lever", "--")):
            run = r.base if side == "base" else r.run
            if run in colour:
                continue
            colour[run] = c = f"C{len(colour)}"
            name = (f"{run} (batch {r.base_batch})" if side == "base" else f"{label} ({run})")
            for ax, key in zip(axes, ["lmd", "opening_r"]):
                ax.plot(pair[side]["clips"] / 1000, pair[side][key], ls, marker="o", ms=2.5, color=c,
                        alpha=0.6 if side == "base" else 1.0, zorder=2 if side == "base" else 3, label=name)
                if r[f"{side}_gan_start"] < r[f"{side}_steps"]:              # D switches on in this run
                    ax.axvline(r[f"{side}_gan_start"] * r[f"{side}_batch"] / 1000, color=c, ls=":", lw=1)
    for ax, t, y in zip(axes, ["validation LMD (px, lower is better)", "validation mouth-opening r"], ["LMD (px)", "opening r"]):
        ax.set_xlabel("training clips seen (thousands) = steps x batch size"); ax.set_ylabel(y)
        ax.set_title(t, fontsize=9); ax.grid(alpha=0.3)
    fig.suptitle("Levers of the cpu2 recipe, each run (dashed) against its base (solid): validation speakers, the same "
                 "seed,\neach run's own log (shipped runs; dotted: where a run's D switches on, if it does)", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1)); fig.savefig(figure_path("training_levers.png"), **SAVE); plt.show()
    display(levers.set_index("lever").T.round(3))
    spread = float(np.ptp(cpu2_best)) if len(cpu2_best) > 1 else float("nan")
    for r in levers.itertuples():
        ahead = r.base_best_lmd - r.lever_best_lmd
        cpus = {run: json.loads((SHIPPED_CHECKPOINTS / run / "record.json").read_text()).get("cpus") for run in (r.run, r.base)}
        verdict = ("ahead of its base by more than the spread between the cpu2 seeds: a candidate for seeds" if ahead > spread
                   else "not ahead of its base by more than the spread between the cpu2 seeds: not a candidate")
        print(f"{r.lever} ({r.changes}): best validation LMD {r.lever_best_lmd:.3f} at step {thousands(r.lever_best_step)} "
              f"({thousands(r.lever_best_step * r.lever_batch)} clips), last {r.lever_last_lmd:.3f}, opening r "
              f"{r.lever_last_opening_r:.2f}; its base {r.base}: best {r.base_best_lmd:.3f}, at equal steps "
              f"{r.base_lmd_equal_steps:.3f}, at equal clips (its step {thousands(r.base_step_equal_clips)}) "
              f"{r.base_lmd_equal_clips:.3f}. Best against best, lever minus base: {-ahead:+.3f} px, against a spread of "
              f"{spread:.3f} px between the cpu2 seeds' best: {verdict}. CPU-minutes {r.lever_cpu_min:.0f} against "
              f"{r.base_cpu_min:.0f} ({'; '.join(f'{k}: ' + (', '.join(v) if v else 'CPU not recorded') for k, v in cpus.items())}): "
              "compare CPU-minutes only between runs on the same CPU.")
missing = [run for run, _ in LEVERS.values() if run not in set(levers.get("run", []))]
if missing:
    print("listed in eval.levers.LEVERS but not shipped in this checkout:", ", ".join(missing))

# %% [markdown]
# ### 1.4 The adversarial phase, three ways, from one trunk
#
# In `cpu2` the discriminator D, the adversarial term L_gen and D's perceptual term L_perc enter for
# the last 300 of the 4 000 steps. Do they help the mouth, or only the texture? Three runs at
# `search_b4`'s scale (4 clips a step, so that each fits one sitting on the slower machine) are
# **one run up to step 3 600** and differ only after it: `search_b4` itself, no D at all
# (`search_b4_nod`: `train.gan_start=4000`, trained from step 0), and L_gen a quarter as strong
# (`search_b4_gen025`: `loss.w_gen=0.25`). The last is a branch of `search_b4_nod`'s step-3 600
# checkpoint: `lmg train --branch-from` starts a run from another run's checkpoint only when the two
# differ in nothing that acts before D switches on, and the branch is then bit for bit the run its
# command makes from step 0 (`tests/test_branch.py`), so it cost 400 steps instead of 4 000.
# `eval.levers.d_phase_table` checks that the validation logs agree up to the branch point (the
# shared step below is found, not assumed) and reads each run against `search_b4`: the validation
# speakers for the choice, the test speakers paired by sentence for what the trained networks do.
# Validation LMD moves by several hundredths between neighbouring checkpoints of one run (the 48
# validation clips are few; grey: the validations the runs share), so the mean over the validations
# after the branch point is printed beside the last one. The validation CPBD is a read of only the
# first 8 of those clips (CPBD is the slow metric): over six shipped runs it did not predict the test
# speakers' CPBD, where a read of 120 validation clips with CPBD on each (`tools/val_read.py`) did;
# docs/TRAINING.md has both reads, and a choice on CPBD is made on the larger one.

# %%
from lmg_lib.eval.levers import D_PHASE, D_PHASE_METRICS, d_phase_table

d_long, d_phase = d_phase_table(SHIPPED_CHECKPOINTS)
if len(d_phase):
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    titles = {"lmd": "validation LMD (px, lower is better)", "opening_r": "validation mouth-opening r",
              "cpbd": "validation CPBD (sharpness; its first 8 clips)"}
    for i, r in enumerate(d_phase.itertuples()):
        log = d_long[d_long.run == r.run]
        for ax, m in zip(axes, D_PHASE_METRICS):
            ax.plot(log.step, log[m], "-o", ms=3, color=f"C{i}", lw=2 if i == 0 else 1.3,
                    label=f"{r.run}: {r.label}")
            if r.gan_start < r.last_step:
                ax.axvline(r.gan_start, color=f"C{i}", ls=":", lw=1)
    for ax, m in zip(axes, D_PHASE_METRICS):
        ax.axvspan(d_long.step.min(), d_phase.shared_step[0], color="0.9", zorder=0)
        ax.set_title(titles[m], fontsize=9); ax.set_xlabel("training step (4 clips each)"); ax.grid(alpha=0.3)
    fig.suptitle(f"The adversarial phase at search_b4's scale (cpu2 at 4 clips a step, seed 0): shipped runs that are one run "
                 f"up to step {thousands(int(d_phase.shared_step[0]))} (grey); dotted: where each run's D switches on", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1)); fig.savefig(figure_path("training_d_phase.png"), **SAVE); plt.show()
    d_shown = d_phase.set_index("run").drop(columns=["label"])
    display(d_shown[[c for c in d_shown.columns if not c.endswith("_minus_base")]].T.round(3))
    base = d_phase.iloc[0]
    for r in d_phase.iloc[1:].itertuples():
        line = (f"{r.run} ({r.label}): validation LMD {r.val_lmd_last:.3f} at its end, {r.val_lmd_mean_after:.3f} over "
                f"its validations after step {thousands(r.shared_step)} ({base.run}: {base.val_lmd_last:.3f}, "
                f"{base.val_lmd_mean_after:.3f}); CPBD {r.val_cpbd_last:.3f} ({base.val_cpbd_last:.3f}).")
        if hasattr(r, "test_lmd_minus_base") and isinstance(r.test_lmd_minus_base, list):
            line += " Test speakers, minus " + base.run + " paired by sentence: " + "; ".join(
                f"{m} {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]" for m in D_PHASE_METRICS
                for d in [getattr(r, f"test_{m}_minus_base")])
        print(line)
missing = [run for run in D_PHASE.values() if run not in set(d_phase.get("run", []))]
if missing:
    print("listed in eval.levers.D_PHASE but not shipped in this checkout:", ", ".join(missing))

# %% [markdown]
# ## 2. Samples saved during its training (full model, cpu2 recipe)
#
# Rows: training steps; last row: the real frames. Frames 0, 5, 10 and 15 of a fixed clip of a
# **validation** speaker, generated by the training process every 150 steps and shipped in
# `samples.jpg` in its folder (one JPEG strip, quality 95, with `samples.json`: a picture to look
# at, not a source of numbers; the title says when the discriminator switched on). The column titles are the
# clip's frame numbers.

# %%
shipped_samples = load_samples(SHIPPED_CHECKPOINTS / SHIPPED_FULL)   # lmg_lib.train.samples
kept = shipped_samples["kept"]                                  # the frame numbers the strip keeps
steps = shipped_samples["steps"]
keep = sorted(set(steps[:: max(1, len(steps) // 6)] + [steps[-1]]))          # about seven snapshots
samples_over_time({st: shipped_samples["frames"][steps.index(st)] for st in keep}, clip=0,
                  frames=range(len(kept)), frame_numbers=kept,
                  real=shipped_samples["real"][0],
                  path=figure_path("training_samples_over_time.png"),
                  title=f"{SHIPPED}: samples its training saved (a validation speaker's clip, "
                        f"frames {', '.join(map(str, kept))}); D from step {start}")
plt.show()

# %% [markdown]
# ## 3. The shipped checkpoint on a held-out speaker (full model, cpu2 recipe)
#
# The checkpoint stores its own configuration, so `load_generator` rebuilt the right network in the
# first cell. A fixed batch of four **test-speaker** clips of notebook 1's dataset: rows are the real
# clip, the generated one, and the reference image repeated (what a model that ignores the audio
# would produce).

# %%
train_set, test_set = open_dataset("train", seed=SEED), open_dataset("test", seed=SEED)
sample_idx = np.linspace(0, len(test_set) - 1, 4).astype(int)
sample_batch = collate_clips([test_set[i] for i in sample_idx])
with torch.inference_mode():
    fake = G(sample_batch["lms"], sample_batch["ref"])[0]
k = 1
videos = {"real": to_uint8_frames(sample_batch["video"][k].numpy()),
          "generated": to_uint8_frames(fake[k].numpy()),
          "reference": to_uint8_frames(sample_batch["ref"][k][:, None].repeat(1, 16, 1, 1).numpy())}
compare_videos(videos, title=f"{SHIPPED}: speaker {test_set[sample_idx[k]]['speaker']} (held out)",
               path=figure_path("training_generated_vs_real.png"))
n_params = generator_parameters(shipped_cfg)
print(f"{SHIPPED}: preset {preset_of(shipped_cfg)}, {millions(n_params)} generator parameters ({n_params}), "
      f"the EMA weights of step {best_step}")

# %% [markdown]
# ### Watch and listen: `lmg generate`
#
# The command anyone can run on their own speech and photo, here on a held-out sentence of the
# notebook-1 corpus and one lip frame of its speaker (saved as a PNG): it cuts the speech into
# overlapping 16-frame windows, generates them with the shipped full model (cpu2 recipe) and writes an
# mp4 with the speech. Left the real video, right the generated one.

# %%
import cv2
from IPython.display import Video
import contextlib
import io
from lmg_lib.cli import main as lmg
from lmg_lib.util.video_io import read_frames, write_video
d = test_set[sample_idx[k]]
utt_dir = artefact_dir("corpus", create=False) / d["speaker"]
wav, real_mp4 = utt_dir / "audio" / f"{d['utterance']}.wav", utt_dir / "video" / f"{d['utterance']}.mp4"
demo = artefact_dir("training") / "demo"
demo.mkdir(parents=True, exist_ok=True)
lip_png = demo / "lip.png"
cv2.imwrite(str(lip_png), to_uint8_frames(d["ref"][:, None].numpy())[0][:, :, ::-1])
said = io.StringIO()                      # the command's report, without this machine's paths and timings
with contextlib.redirect_stdout(said):
    assert lmg(["generate", "--audio", str(wav), "--image", str(lip_png), "--image-kind", "lips",
                "--out", str(demo / "generated.mp4")]) == 0
print(said.getvalue().split("; generated and encoded")[0].replace(str(demo / "generated.mp4"), shown(demo / "generated.mp4")),
      "(its speed on this machine: docs/PERFORMANCE.md)")
real_v, gen_v = read_frames(real_mp4), read_frames(demo / "generated.mp4")
n = min(len(real_v), len(gen_v))
both = write_video(demo / "real_vs_generated.mp4", np.concatenate([real_v[:n], gen_v[:n]], 2).repeat(3, 1).repeat(3, 2),
                   fps=25, audio_path=wav)
display(Video(str(both), embed=True, width=384))

# %% [markdown]
# ## 4. A smoke demonstration (not a result)
#
# For a reader who executes this notebook: train the `PRESET` of the parameters cell (smoke default:
# the `tiny` preset, 40 steps on the CPU) from scratch, to see every term computed and logged and
# the samples change. At this scale the model stays close to its random initial weights: nothing
# below is a result, and nothing is saved to `figures/`. A fixed batch of four test-speaker clips
# (the figure shows the first; exercise 4 uses the others) is generated every `train.sample_every` steps (with the generator in eval mode, so the snapshots
# change neither the training randomness nor BatchNorm's statistics). The run folder holds
# `checkpoints/last.pt` (resumable), `train_log.csv`, `samples/` and the exported
# `generator.safetensors`.

# %%
cfg = make_config(PRESET, {"seed": SEED, **CONFIG})
run_dir = artefact_dir("checkpoints") / f"train_{PRESET}"
SMOKE = f"smoke demonstration, preset {PRESET}, {cfg.train.steps} steps" + (" (not a result)" if cfg.train.steps < 1000 else "")
if TRAIN:
    print(f"{len(train_set)} training clips; preset {PRESET}: width {cfg.model.width}, {cfg.model.n_res_blocks} "
          f"residual blocks, {millions(generator_parameters(cfg))} generator parameters; run folder {shown(run_dir)}")
    shutil.rmtree(run_dir, ignore_errors=True)           # a notebook run starts from scratch
    trainer = Trainer(cfg, train_set, run_dir, device=DEVICE, sample_batch=sample_batch)
    result = trainer.fit()
    trainer.close()
    print(f"step {result['step']}, epoch {result['epoch']}, generator {shown(result['generator'])}")
    smoke_log = pd.read_csv(run_dir / "train_log.csv")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    loss_curves(smoke_log, cfg, ax=ax, title=SMOKE)
    fig.tight_layout(); plt.show()
    c = smoke_log["corr"] if "corr" in smoke_log else None
    if c is not None:
        print(f"{SMOKE}, L_corr: {c.iloc[0]:.3f} -> {c.iloc[-1]:.3f} (about 1: curves not yet correlated)")
    samples = {int(p.stem.split("_")[1]): np.load(p) for p in sorted((run_dir / "samples").glob("*.npy"))}
    samples_over_time(samples, clip=0, real=to_uint8_frames(sample_batch["video"][0].numpy()),
                      title=f"{SMOKE}: its samples of a test speaker's clip")
    plt.show()
    print("snapshots at steps", sorted(samples))
else:
    print("TRAIN = False: no smoke demonstration")

# %% [markdown]
# ## Appendix (beyond the paper): when should the discriminator switch on?
#
# Not in the paper, which trains every loss from step 0: a probe of the CPU recipe's curriculum.
# The `cpu` preset trains $\mathcal{L}_{pix}$ and $\mathcal{L}_{corr}$ alone for its first
# `train.gan_start` steps (of `train.steps`: both in the figure's title), then adds $D$,
# $\mathcal{L}_{gen}$ and $\mathcal{L}_{perc}$. The probes of this question are the same command
# with a later `train.gan_start` and the **same number of steps** (`full_warmup1200` and its seed 1):
# the full model with the cpu recipe, with a later discriminator. (The recipe search's longer runs
# change the number of steps too, so they are not in this comparison: section 1.1 and
# docs/TRAINING.md show them.) Left and middle:
# validation speakers (the same fixed clips, EMA weights) during training, the dotted lines where each run's
# discriminator switches on. Right: the **test speakers** (200 sentences), each probe minus the
# probes' base (the full model with the `cpu` recipe, not the shipped `cpu2` one), paired by sentence.

# %%
from lmg_lib.eval.results import PROBE_BASE, PROBES, paired_difference
probe_cfg = {run: load_generator(SHIPPED_CHECKPOINTS / run / "generator.safetensors")[1]
             for run in [PROBE_BASE, *PROBES.values()] if (SHIPPED_CHECKPOINTS / run / "val_log.csv").exists()}
# the question is when D switches on: only the runs with the base run's number of steps
gan_start = {run: c.train.gan_start for run, c in probe_cfg.items()
             if c.train.steps == probe_cfg[PROBE_BASE].train.steps}
base_label = f"full model, {preset_of(probe_cfg[PROBE_BASE])} recipe"      # the base run's own preset, not the shipped one
names = {PROBE_BASE: base_label, **{run: f"probe, {name}" for name, run in PROBES.items()}}
runs = {f"{names[run]} (D from {g})": run for run, g in gan_start.items()}      # label -> run, D's step read from the run
fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
for (label, run), c in zip(runs.items(), ["C0", "C1", "C2", "C3"]):
    v = pd.read_csv(SHIPPED_CHECKPOINTS / run / "val_log.csv")
    for ax, key in zip(axes[:2], ["lmd", "opening_r"]):
        ax.plot(v["step"], v[key], "o-", ms=3, color=c, label=label)
        ax.axvline(gan_start[run], color=c, ls=":", lw=1)
for ax, t, y in zip(axes[:2], ["validation LMD (px, lower is better)", "validation mouth-opening r"], ["LMD (px)", "opening r"]):
    ax.set_xlabel("training step"); ax.set_ylabel(y); ax.set_title(t, fontsize=9); ax.grid(alpha=0.3)
diffs = {label: paired_difference(SHIPPED_CHECKPOINTS, run, PROBE_BASE).set_index("metric")
         for label, run in runs.items() if run != PROBE_BASE and (SHIPPED_CHECKPOINTS / run / "per_clip.csv").exists()}
metrics = ["lmd", "opening_r", "ssim", "cpbd"]                 # drawn (PSNR in dB would set the scale)
printed = ["lmd", "opening_r", "psnr", "ssim", "cpbd"]
for j, ((label, d), c) in enumerate(zip(diffs.items(), ["C1", "C2", "C3"])):
    y = np.arange(len(metrics)) + 0.15 * (j - (len(diffs) - 1) / 2)
    axes[2].errorbar(d.loc[metrics, "mean"], y, xerr=[d.loc[metrics, "mean"] - d.loc[metrics, "ci_low"],
                     d.loc[metrics, "ci_high"] - d.loc[metrics, "mean"]], fmt="o", color=c, ms=4, label=label)
axes[2].axvline(0, color="k", lw=0.8); axes[2].set_yticks(range(len(metrics)), metrics)
axes[2].xaxis.set_major_locator(plt.MaxNLocator(4))
axes[2].set_title(f"test speakers: probe minus {base_label} (95 % CI, paired)", fontsize=9); axes[2].grid(alpha=0.3)
axes[2].set_xlabel(f"probe minus {base_label} (LMD in px; others unitless)")
later = sorted({g for run, g in gan_start.items() if run != PROBE_BASE})
fig.suptitle(f"Appendix, beyond the paper: the {base_label} ({probe_cfg[PROBE_BASE].train.steps} steps, "
             f"checkpoints/{PROBE_BASE}/), with the discriminator from step {gan_start[PROBE_BASE]} and (probes) from step "
             f"{', '.join(map(str, later))}", fontsize=10)
# the legends below the panels (over them they hid the start of a curve), room kept for them
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower left", bbox_to_anchor=(0.01, 0.0), fontsize=7, frameon=False)
fig.legend(*axes[2].get_legend_handles_labels(), loc="lower right", bbox_to_anchor=(0.99, 0.0), fontsize=7, frameon=False)
fig.tight_layout(rect=(0, 0.16, 1, 1)); fig.savefig(figure_path("training_warmup_probe.png"), **SAVE); plt.show()
for label, d in diffs.items():
    print(label, f"minus {base_label} (checkpoints/{PROBE_BASE}/), test speakers:",
          ", ".join(f"{m} {d.loc[m, 'mean']:+.3f} [{d.loc[m, 'ci_low']:+.3f}, {d.loc[m, 'ci_high']:+.3f}]" for m in printed))
side = lambda d, m: "lower" if d.loc[m, "ci_high"] < 0 else "higher" if d.loc[m, "ci_low"] > 0 else "not separated"
sides = {m: {side(d, m) for d in diffs.values()} for m in printed}
agree = [f"{m} {next(iter(v))}" for m, v in sides.items() if len(v) == 1 and v != {"not separated"}]
differ = [m for m, v in sides.items() if len(v) > 1 or v == {"not separated"}]
if len(diffs) > 1:
    display(Markdown(f"**What the {len(diffs)} probes (seeds of one later-D recipe) say on the test speakers:** "
                     f"against the base run they agree, with every paired interval clear of 0, on "
                     f"{', '.join(agree) or 'no metric'}; on {', '.join(differ) or 'no metric'} they do not agree "
                     "or do not separate from the base run."))

# %% [markdown]
# How to read it (the printed lines carry the numbers; `docs/TRAINING.md` has their discussion): a
# paired interval clear of 0 is a difference these sentences resolve **for that pair of runs**. The
# two probes are the same recipe with two seeds, so where they agree in sign (the sentence above)
# the later D is a likely cause, and where they disagree the seed decides. But the base run is one
# seed: on the validation speakers (left) the seed moves a run about as much as the recipe does, and
# a paired interval counts sentences, not training runs. So the `cpu` preset was left as it is
# (every run shipped with it can be remade by its command), and the later D was tested again in the
# recipe search, which trains longer runs and compares them on validation and across seeds
# (`eval.seeds`): its choice is the `cpu2` preset, D for the last 300 of 4 000 steps (section 1).

# %% [markdown]
# ## Exercises
#
# Each exercise has a hint (click to open) and a worked solution, collapsed on the exported page
# (click "Solution" to open it), whose last lines check its answer: a wrong answer fails them.
# Each solution takes well under a second.
#
# **Exercise 1 · Where does the logged `loss_G` come from?** The shipped log's last row has a
# `loss_G` many times its `pix` (section 1 printed both). Rebuild `loss_G` from the logged terms for every row of the
# shipped log. Which weights make it add up: the paper's (1, 0.5, 1, 1) or another set?
#
# <details><summary>Hint</summary>
#
# The log holds each term unweighted. The weights are in `shipped_cfg.loss` (`w_corr`, `w_pix`,
# `w_perc`, `w_gen`), and a term switched off (`use_*`) is not in the sum. Before $D$ switches on,
# `gen` and `perc` were not computed and are logged as 0.
# </details>

# %% tags=["solution"]
def rebuilt_loss(log, w):
    """The sum of the logged terms with the weights ``w`` (corr, pix, perc, gen)."""
    return sum(wk * log[k] for k, wk in zip(("corr", "pix", "perc", "gen"), w))

L = shipped_cfg.loss
ours = rebuilt_loss(shipped_log, (L.w_corr, L.w_pix, L.w_perc, L.w_gen))
papers = rebuilt_loss(shipped_log, (1.0, 0.5, 1.0, 1.0))
err = lambda rebuilt: float(((rebuilt - shipped_log["loss_G"]).abs() / shipped_log["loss_G"]).max())
print(f"largest relative error over {len(shipped_log)} rows: with the trained weights "
      f"({L.w_corr:g}, {L.w_pix:g}, {L.w_perc:g}, {L.w_gen:g}) {err(ours):.1e}, with the paper's {err(papers):.2f}")
assert err(ours) < 1e-4 < 0.5 < err(papers), "the trained weights must rebuild loss_G, the paper's must not"

# %% [markdown]
# **Exercise 2 · The authors' uint8 PSNR on your own frames.** The authors computed PSNR on grey
# uint8 frames with the squared error taken in uint8 arithmetic, which wraps around modulo 256.
# Compute it frame by frame for the shipped model's clip above (`videos["generated"]` against
# `videos["real"]`) and for two unrelated random images, next to the correct float PSNR.
#
# <details><summary>Hint</summary>
#
# `lmg_lib.eval.metrics.legacy_uint8_psnr` reproduces their formula for one image pair and
# `psnr` computes it in float. Convert RGB to grey first (`metrics.to_gray`). What is the largest
# MSE a wrapped uint8 square can give, and hence the lowest PSNR?
# </details>

# %% tags=["solution"]
from lmg_lib.eval.metrics import legacy_uint8_psnr, psnr, to_gray
grey = lambda v: np.round(to_gray(v)).astype(np.uint8)
real_g, fake_g = grey(videos["real"]), grey(videos["generated"])
legacy = np.mean([legacy_uint8_psnr(a, b) for a, b in zip(real_g, fake_g)])
correct = np.mean([psnr(a.astype(float), b.astype(float), data_range=255) for a, b in zip(real_g, fake_g)])
rng_p = np.random.default_rng(SEED)
ra, rb = rng_p.integers(0, 256, (2, 64, 64), dtype=np.uint8)
floor = 20 * np.log10(255 / np.sqrt(255))                    # the largest wrapped MSE is 255
print(f"{SHIPPED} clip: authors' uint8 PSNR {legacy:.2f} dB, float PSNR {correct:.2f} dB")
print(f"two random images: authors' {legacy_uint8_psnr(ra, rb):.2f} dB, float {psnr(ra.astype(float), rb.astype(float), data_range=255):.2f} dB"
      f" (floor of the wrapped version: {floor:.2f} dB)")
# wrapping only ever shrinks a squared error: the authors' PSNR is above the float one, and on unrelated
# images (float PSNR under 10 dB) it cannot fall below the floor, so it reads as a passable match
assert legacy > correct and legacy_uint8_psnr(ra, rb) > floor > 20 > psnr(ra.astype(float), rb.astype(float), data_range=255)
assert legacy_uint8_psnr(ra, rb) - psnr(ra.astype(float), rb.astype(float), data_range=255) > 15

# %% [markdown]
# **Exercise 3 · Which discriminator stream is hardest?** The shipped log records the three terms of
# $\mathcal{L}_D$ separately (`d_real`, `d_fake`, `d_mismatch`). First show that they add up to the
# logged `loss_D` with the weights of the equation at the top. Then, over the steps in which $D$
# trains, which one is largest, i.e. which kind of pair does $D$ find hardest to judge, and does it
# judge that kind better than a coin?
#
# <details><summary>Hint</summary>
#
# $\lambda_p$ and $\lambda_u$ are `shipped_cfg.loss.lambda_p` and `lambda_u`. Use only the rows
# after `gan_start` (before, $D$ was not trained and the log holds 0). Each term is a binary
# cross-entropy: $\log 2 \approx 0.69$ means $D$ cannot tell at all. A large `d_mismatch` means real
# videos of the wrong sentence still pass as real.
# </details>

# %% tags=["solution"]
d_on = shipped_log[shipped_log["step"] > shipped_cfg.train.gan_start]
rebuilt_D = d_on["d_real"] + L.lambda_p * d_on["d_fake"] + L.lambda_u * d_on["d_mismatch"]
late = d_on[["d_real", "d_fake", "d_mismatch"]].mean()           # every logged step with D
hardest = late.idxmax()
print(f"L_D = d_real + {L.lambda_p:g} d_fake + {L.lambda_u:g} d_mismatch: largest error "
      f"{float((rebuilt_D - d_on['loss_D']).abs().max()):.1e} over {len(d_on)} rows")
print(f"steps {int(d_on['step'].min())}-{int(d_on['step'].max())}, mean BCE per stream:", late.round(3).to_dict(),
      f"| hardest: {hardest}, {late[hardest]:.3f} {'above' if late[hardest] > np.log(2) else 'below'} "
      f"log 2 = {np.log(2):.3f} (a coin)")
assert np.allclose(rebuilt_D, d_on["loss_D"], rtol=1e-4) and (late > 0).all()
# the answer on the shipped log: real videos of another sentence are the hardest pairs, and D does worse
# than a coin on them (it calls them real): the third stream had not yet taught D to judge sync
assert hardest == "d_mismatch" and late[hardest] > np.log(2)
assert not np.allclose(d_on["d_real"] + d_on["d_fake"] + d_on["d_mismatch"], d_on["loss_D"], rtol=1e-2)   # unweighted: wrong

# %% [markdown]
# **Exercise 4 · Does the generator listen?** Give the shipped generator the same reference images
# but the speech of *another* clip of the batch. How much do the generated frames change, and is
# the change concentrated where the mouth is?
#
# <details><summary>Hint</summary>
#
# `sample_batch["lms"].roll(1, 0)` pairs every reference image with another clip's speech. Compare
# the mean absolute difference inside the mouth box of the landmarks (`sample_batch["landmarks"]`)
# with the one outside it.
# </details>

# %% tags=["solution"]
from lmg_lib.model.losses import mouth_mask
with torch.inference_mode():
    fake_swapped = G(sample_batch["lms"].roll(1, 0), sample_batch["ref"])[0]
diff = (fake_swapped - fake).abs().mean(1, keepdim=True)                              # (B, 1, T, S, S)
box = mouth_mask(sample_batch["landmarks"], fake.shape[-1])
inside = float((diff * box).sum() / box.sum()); outside = float((diff * (1 - box)).sum() / (1 - box).sum())
print(f"mean |change| with another clip's speech: inside the mouth box {inside:.4f}, outside {outside:.4f} "
      f"(scale [-1, 1]): {inside / outside:.1f}x more inside")
assert inside > 2 * outside > 0, "the speech should change the mouth, and the mouth much more than the rest"

# %% [markdown]
# **Exercise 5 · A learning-rate schedule the paper does not have.** The authors trained with a
# constant learning rate. Read the shipped checkpoint's configuration and its log: which schedule
# did the CPU recipe use? Rebuild the logged learning rate of every row from the configuration.
#
# <details><summary>Hint</summary>
#
# `shipped_cfg.train` holds `lr`, `lr_schedule`, `lr_min_ratio` and `steps`. Write the schedule's
# formula yourself (a cosine from 1 down to `lr_min_ratio` over `steps`), then compare it with the
# library's `lmg_lib.train.recipe.lr_factor(train_config, step)` and with the log. A row of the log
# is written after its step's update, with the learning rate that update used: that of the step
# before the logged number.
# </details>

# %% tags=["solution"]
from lmg_lib.train.recipe import lr_factor
t = shipped_cfg.train
steps_used = shipped_log["step"].to_numpy() - 1                     # the update before each logged row
m = t.lr_min_ratio
mine = t.lr * (m + (1 - m) * 0.5 * (1 + np.cos(np.pi * steps_used / t.steps)))   # my cosine
expected_lr = np.array([t.lr * lr_factor(t, int(s)) for s in steps_used])
assert t.lr_schedule == "cosine" and np.allclose(mine, expected_lr, rtol=1e-9)
print(f"shipped recipe: lr {t.lr:g}, schedule {t.lr_schedule!r} to {t.lr_min_ratio:.0%}; logged lr from "
      f"{shipped_log['lr'].iloc[0]:.2e} to {shipped_log['lr'].iloc[-1]:.2e}; largest relative error of the "
      f"rebuilt schedule {float(np.max(np.abs(expected_lr / shipped_log['lr'] - 1))):.1e}")
assert np.allclose(mine, shipped_log["lr"], rtol=1e-5)
assert not np.allclose(t.lr, shipped_log["lr"], rtol=1e-2)          # not the authors' constant rate

# %% [markdown]
# ## Checks

# %%
if TRAIN:
    log = smoke_log
    assert log["step"].iloc[-1] == cfg.train.steps and np.isfinite(log.drop(columns=["step"]).to_numpy(float)).all()
    assert (run_dir / "generator.safetensors").exists() and (run_dir / "checkpoints" / "last.pt").exists()
    assert len(samples) >= 2 and all(v.shape[1:] == (16, 64, 64, 3) for v in samples.values())
    G_run, _, _ = load_generator(run_dir / "generator.safetensors", expect=cfg)
from lmg_lib.config import PRESETS
assert preset_of(shipped_cfg) in PRESETS and shipped_log["step"].iloc[-1] == shipped_cfg.train.steps
assert np.isfinite(shipped_log["corr"]).all()
assert shipped_log["corr"].tail(5).mean() < shipped_log["corr"].head(5).mean(), "L_corr should fall"
assert best_step == int(shipped_val.loc[shipped_val["lmd"].idxmin(), "step"]), "the shipped step is the best validation LMD"
assert fake.shape == sample_batch["video"].shape and float(fake.abs().max()) <= 1
assert np.abs(videos["generated"].astype(int) - videos["real"].astype(int)).mean() < 40
assert abs(len(real_v) - len(gen_v)) <= 1 and both.stat().st_size > 10_000
print("checks passed")
