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
# # 5 · Ablations: what each loss term contributes (Chen et al. 2018, Table 2)
#
# The paper's ablation study trains the same generator with different sets of losses and
# discriminators and compares them on held-out speakers. Its nine variants (a)-(i) are switches of
# the loss configuration in `lmg_lib.config.ABLATIONS`, each with its paper letter in
# `PAPER_LETTER` (the table below is printed from the code). `corr` is not in the paper.
#
# Where the paper leaves a detail open we chose, and the docstrings say so: (f) feeds phi_s the audio
# feature at the later frame of each of the 15 transitions (instead of its time derivative), and
# (i)'s discriminator sees the frame differences with a zero first difference, so that it keeps the
# 16 time steps the audio has.
#
# **Two scales.** Section 2 trains a few variants of the `tiny` preset for a few dozen steps: it
# shows the *protocol* (same seed, same batches, only the switches differ) and its frames are noise.
# The *results* (sections 3-5) come from the shipped runs `checkpoints/ablation_<variant>/`, made by
# `tools/make_shipped.py train ablation_<variant>` (the `cpu` preset shortened, see its docstring),
# evaluated on the default corpus's held-out speakers.

# %% tags=["parameters"]
PRESET = "tiny"                                   # full scale: "paper"
VARIANTS = ["l1", "gan", "full"]                  # smoke: the protocol on three variants
CONFIG = {                                        # overrides of the preset (`lmg train --set` keys)
    "train.steps": 30,                            # per variant; full scale: 20000
    "train.batch_size": 4,                        # full scale: 24
    "train.log_every": 10,
    "train.checkpoint_every": 30,
}
MAX_TEST_CLIPS = 24                               # 0: every test clip
DEVICE = "cpu"
SEED = 0

# %%
import shutil

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch
import ipywidgets as widgets
from IPython.display import Markdown, display

from lmg_lib.config import ABLATIONS, PAPER_LETTER, make_config
from lmg_lib.data import evenly_spaced
from lmg_lib.data.dataset import LipClipDataset
from lmg_lib.eval import metrics as M
from lmg_lib.eval.paper import table2
from lmg_lib.eval.results import ablation_claims, ablation_long, to_markdown
from lmg_lib.notebook import (SAVE, SHIPPED_CHECKPOINTS, artefact_dir, compare_models, figure_path, held_out_subset,
                              landmark_detector, open_dataset, shipped_model)
from lmg_lib.train import Trainer, seed_everything
from lmg_lib.train.checkpoints import load_generator
from lmg_lib.util.pixels import to_uint8_frames
from lmg_lib.viz import explorer_view, metric_table_figure

train_set, test_full = open_dataset("train", seed=SEED), open_dataset("test", seed=SEED)
test_set = evenly_spaced(test_full, MAX_TEST_CLIPS)
detector = landmark_detector()
cfg = make_config(PRESET, {"seed": SEED, **CONFIG})
print(f"{len(train_set)} training clips; {len(test_set)} test clips of speakers "
      f"{sorted(test_full.by_speaker)}; landmark detector error on held-out speakers: {detector.error}")

# %% [markdown]
# ## 1. The variants, as the code defines them

# %%
paper = table2().set_index("variant")
variants = pd.DataFrame([{"variant": v, "paper": PAPER_LETTER[v] or "not in the paper",
                          **{k: on for k, on in spec.items()},
                          "paper's D": paper.loc[PAPER_LETTER[v], "D"] if PAPER_LETTER[v] else ""}
                         for v, spec in ABLATIONS.items()]).fillna("")
display(Markdown(to_markdown(variants, index=False)))

# %% [markdown]
# ## 2. The protocol at smoke scale (not a result)

# %%
out = artefact_dir("ablations")
generators = {}
for v in VARIANTS:
    seed_everything(SEED)
    shutil.rmtree(out / v, ignore_errors=True)
    tr = Trainer(make_config(cfg, variant=v), train_set, out / v, device=DEVICE)
    res = tr.fit()
    tr.close()
    generators[v] = load_generator(res["generator"])[0]
items = [test_set[i] for i in range(len(test_set))]
lms, ref = torch.stack([d["lms"] for d in items]), torch.stack([d["ref"] for d in items])
with torch.inference_mode():                  # each variant's test videos, generated once
    videos = {v: G(lms, ref)[0].numpy() for v, G in generators.items()}
no_shipped = not any(SHIPPED_CHECKPOINTS.glob("ablation_*/summary.csv"))   # then this is the figure, titled so
smoke, smoke_clips, _ = compare_models(
    {v: list(video) for v, video in videos.items()}, test_set, detect=detector.detect,
    path=figure_path("ablation_table.png") if no_shipped else None,
    title=f"smoke-scale protocol demonstration ({PRESET}, {cfg.train.steps} steps): noise, not a result")
smoke.to_csv(out / "smoke_table.csv", index=False, float_format="%.4f")
plt.show()

# %% [markdown]
# ## 3. The shipped ablation runs beside the paper
#
# Mean and 95 % interval over the held-out sentences (s28-s32, 1138 clips of 200 sentences), LMD
# against the ground-truth landmarks. Chen et al. 2018, Table 2 is on GRID with the paper's networks
# and 20k+ steps on GPUs; ours is the embedded corpus and a CPU budget, so compare orderings, not
# values. A run trained with a second seed (`_seed1`) shows how much of a difference is seed noise.

# %%
abl = ablation_long(SHIPPED_CHECKPOINTS, PAPER_LETTER)
shipped = sorted(set(abl.variant)) if len(abl) else []
if shipped:
    show = abl.assign(model=abl.apply(lambda r: f"({r.letter or '-'}) {r.variant}" + (f" seed {r.seed}" if r.seed else ""),
                                      axis=1))
    metric_table_figure(show, ["lmd", "opening_r", "ssim", "psnr", "cpbd"], path=figure_path("ablation_table.png"),
                        title="Shipped ablation runs (cpu preset, shortened), held-out speakers, mean and 95 % CI")
    plt.show()
    ours = show.pivot_table(index="model", columns="metric", values="mean")[["lmd", "ssim", "psnr", "cpbd", "opening_r"]]
    display(Markdown("**Ours** (embedded corpus)\n\n" + to_markdown(ours.round(3))))
display(Markdown("**Chen et al. 2018, Table 2** (GRID)\n\n" + to_markdown(paper[["LMD", "SSIM", "PSNR", "CPBD"]])))
claims = ablation_claims(abl)
display(Markdown(to_markdown(claims, index=False)))
print(f"shipped ablation runs: {shipped or 'none yet'}")

# %% [markdown]
# **Reading the table.** Where ours disagrees with the paper, three reasons come first:
# - *scale*: 600 steps of 8 clips on two CPU cores against the paper's GPU training to convergence;
#   the full recipe's validation LMD is still falling at step 600 (1.94 there, 1.70 at step 1 200 in
#   the shipped full run), so these runs compare early learning, and LMD intervals overlap except
#   for (a): the GAN term alone learns no mouth in 600 steps, where the paper's (a) is a working model;
# - *synthetic data*: the embedded corpus's mouths are simple enough for a per-frame L1 model, so the
#   pixel loss alone gets close on LMD; the paper's GRID faces are not;
# - *our correlation loss*: a variant of the authors' that does not collapse (notebook 3), so the
#   non-derivative variant (f) loses less than in the paper.
#
# Look also at the columns the paper has no column for: LMD with another sentence's audio and the
# mouth-opening r. They show how much each variant's mouth depends on the speech, even where the mean
# LMD does not move. The seed-1 rows tell how much of a difference is seed noise: (e)'s LMD hardly
# moves with the seed, (b)'s moves by 0.08 px, as much as the spread of the eight working variants.

# %% [markdown]
# ### Beyond Table 2: the identity skips
#
# The `cpu` preset adds skips from the identity encoder to the decoder (`ModelConfig.identity_skips`,
# off in `paper`). `checkpoints/noskips/` is run (e) trained the same way without them, i.e. the
# paper's generator. Held-out speakers, same protocol as the table above:

# %%
skip_runs = {"(e) with skips, seed 0": "ablation_full", "(e) with skips, seed 1": "ablation_full_seed1",
             "(e) without skips (paper's generator)": "noskips"}
skip_rows = {}
for label, run in skip_runs.items():
    f = SHIPPED_CHECKPOINTS / run / "summary.csv"
    if f.is_file():
        s_ = pd.read_csv(f).set_index("metric")
        skip_rows[label] = {m: f"{s_.loc[m, 'mean']:.3f} [{s_.loc[m, 'ci_low']:.3f}, {s_.loc[m, 'ci_high']:.3f}]"
                            for m in ("lmd", "lmd_shuffled", "opening_r", "ssim", "psnr", "cpbd")}
if skip_rows:
    display(Markdown(to_markdown(pd.DataFrame(skip_rows).T)))
else:
    print("checkpoints/noskips/ is not shipped: python tools/make_shipped.py train noskips, then evaluate noskips")

# %% [markdown]
# On the rendered held-out speakers the skips cost nothing in sync (LMD and opening r overlap, the
# run without them even a little lower in LMD, inside the seed noise) and buy a little whole-frame
# SSIM. Their real job shows on a face the model never saw: on scikit-image's astronaut the skin
# around the generated mouth keeps SSIM 0.78 with the skips and 0.57 without
# (`docs/REAL_FACES.md`, part 2; notebook 6 shows real faces).

# %% [markdown]
# ## 4. Explorer
#
# Pick a variant, a held-out clip (speaker · utterance · clip) and a frame: the real frame and every
# variant's frame side by side, detected landmarks as dots, per-clip PSNR / SSIM / LMD under each,
# and the chosen variant's whole clip below. It shows the shipped runs on the held-out subset that
# the tests also use (2 sentences of each test speaker, rebuilt from the corpus seed); without
# shipped runs, the smoke variants above.

# %%
if shipped:
    ex_set = LipClipDataset(held_out_subset(artefact_dir("heldout")), "test")
    ex_items = [ex_set[i] for i in range(0, len(ex_set), 4)]
    ex_models = {v: shipped_model(f"ablation_{v}")[0] for v in shipped}
else:
    ex_items, ex_models = items, generators
ex_lms, ex_ref = torch.stack([d["lms"] for d in ex_items]), torch.stack([d["ref"] for d in ex_items])
with torch.inference_mode():
    fakes = {v: [to_uint8_frames(x) for x in G(ex_lms, ex_ref)[0].numpy()] for v, G in ex_models.items()}
reals = [to_uint8_frames(d["video"].numpy()) for d in ex_items]
labels = {f"{d['speaker']} · {d['utterance']} · clip {int(d['clip'])}": i for i, d in enumerate(ex_items)}
names = list(ex_models)


def view(variant=names[-1], clip=next(iter(labels)), frame=8):
    i = labels[clip]
    lm = {"real": detector.detect(reals[i]), **{v: detector.detect(fakes[v][i]) for v in names}}
    rg = M.to_gray(reals[i])
    m = {v: {"psnr": M.psnr_video(rg, M.to_gray(fakes[v][i]), data_range=255.0),
             "ssim": M.ssim_video(rg, M.to_gray(fakes[v][i]), data_range=255.0),
             "lmd": M.lmd(ex_items[i]["landmarks"].numpy().astype(float), lm[v]).value} for v in names}
    fig = explorer_view(reals[i], {v: fakes[v][i] for v in names}, frame, variant, metrics=m,
                        landmarks=lm, title=clip + ("" if shipped else " (smoke variants: noise)"))
    plt.show()
    return fig


fig = view()
fig.savefig(figure_path("ablation_explorer_default.png"), **SAVE)      # its title says which runs it shows
display(widgets.interactive(view, variant=names, clip=list(labels), frame=(0, 15)))

# %% [markdown]
# ## Checks

# %%
overall = smoke[smoke.group == "all"]
assert set(overall.model) == set(VARIANTS) and overall.groupby("model").size().nunique() == 1
assert overall[overall.metric == "ssim"]["mean"].between(0, 1).all()
assert overall[overall.metric == "psnr"]["mean"].between(5, 60).all()
# the regressor finds a mouth in every real test frame (it may refuse the smoke variants' noise)
assert all(np.isfinite(detector.detect(r)).all() for r in reals[:8])
assert all(len(f) == len(ex_items) and f[0].shape == (16, 64, 64, 3) for f in fakes.values())
assert len(claims) == 7 and set(variants.paper) >= set("abcdefghi")
print("checks passed")
