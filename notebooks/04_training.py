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
# Training alternates two updates on every batch of clips $(s, p, v)$ — speech, one reference lip
# image, the 16 real frames — plus a **mismatched** real video $v_u$ (another sentence):
#
# **Discriminator** (three streams, $\lambda_p = \lambda_u = 0.5$):
#
# $$\mathcal{L}_D = -\log D(s, v) \;-\; \lambda_p \log\big(1 - D(s, \hat v)\big) \;-\; \lambda_u \log\big(1 - D(s, v_u)\big)$$
#
# The third stream is what makes $D$ judge *synchronisation*, not only realism: a real video of the
# wrong sentence must be rejected too.
#
# **Generator** (and the correlation encoders $\varphi_s, \varphi_v$, updated together):
#
# $$\mathcal{L} = \mathcal{L}_{corr} + 0.5\,\mathcal{L}_{pix} + 1.0\,\mathcal{L}_{perc} + 1.0\,\mathcal{L}_{gen},
# \qquad \mathcal{L}_{corr} = 1 - \cos\!\big(\varphi_s(\tfrac{d f_s}{dt}),\; \varphi_v(F(\hat v))\big)$$
#
# Optimisers as in the authors' code: Adam, lr $2\cdot10^{-4}$, $\beta = (0.5, 0.999)$ for $G$ and
# $D$; lr $10^{-4}$ for $\varphi_s, \varphi_v$. The `Trainer` adds what a real run needs: bf16
# autocast, channels-last and `torch.compile` on CUDA, atomic full checkpoints with exact resume,
# a stop with a clear message on NaN/inf, CSV logs, and multi-GPU through `torchrun`
# (`lmg train --help`).
#
# **What runs here.** With the smoke defaults the notebook trains the `tiny` preset for a few dozen
# steps on the CPU — enough to watch the losses move and the samples change, not to learn lips.
# The model the later notebooks evaluate is the **shipped full model** (`checkpoints/full/`, the
# paper's architecture at width 8 with the CPU recipe of `docs/TRAINING.md`, trained on the
# 32-speaker embedded corpus on a 2-core CPU because no GPU was available;
# `python tools/make_shipped.py train full` remakes it). Its training log and the samples saved
# during its training are shown below too. On a GPU use `params/full.yaml` (paper preset, 20 000 steps).
#
# **Paper beside this notebook** (Chen et al., ECCV 2018, arXiv:1803.10404):
#
# | paper | here |
# |---|---|
# | method, the three-stream discriminator loss $\mathcal{L}_D$ and the generator's total loss $\mathcal{L}$ with weights (1, 0.5, 1, 1) | the equations above, beside `model/losses.py` and `train/step.py` in the next cells |
# | training details: Adam, lr $2\cdot10^{-4}$, $\beta = (0.5, 0.999)$ (the rest from the authors' code) | section 1; `lmg_lib/train/step.py` |
# | Fig. 6, generated lips of unseen speakers beside the ground truth | section 4 (one held-out speaker, the shipped checkpoint); notebook 6 for the full grid |
#
# The training step implements both equations; here is its source and that of the weighted sum,
# read from the library:

# %% tags=["parameters"]
TRAIN = True            # False: skip training, only show the shipped checkpoint
PRESET = "tiny"         # "tiny" (CPU smoke) | "cpu" (the shipped model) | "paper" (GPU, 16.7 M)
CONFIG = {              # overrides of the preset, the keys of `lmg train --set` (lmg_lib.config.make_config)
    "train.steps": 40,              # full scale (GPU): 20000
    "train.batch_size": 4,          # full scale: 24 (authors: 24 on 4 GPUs)
    "train.sample_every": 20,       # full scale: 1000
    "train.log_every": 10,
    "train.checkpoint_every": 20,
    "train.amp": True,              # bf16 autocast (CUDA only)
    "train.compile": False,         # torch.compile (CUDA)
    "train.num_workers": 0,         # DataLoader workers; full scale: 8
}
DEVICE = "cpu"          # "cuda" on a GPU
SEED = 0

# %%
import shutil

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

from lmg_lib.config import make_config
from lmg_lib.data import collate_clips
from lmg_lib.model.losses import total_generator_loss
from lmg_lib.notebook import SAVE, SHIPPED_CHECKPOINTS, artefact_dir, figure_path, open_dataset, show_source, shown
from lmg_lib.train import Trainer, seed_everything
from lmg_lib.train.step import train_step
from lmg_lib.train.checkpoints import load_generator
from lmg_lib.util.pixels import to_uint8_frames
from lmg_lib.viz import compare_videos, samples_over_time

seed_everything(SEED)
train_set, test_set = open_dataset("train", seed=SEED), open_dataset("test", seed=SEED)
cfg = make_config(PRESET, {"seed": SEED, **CONFIG})
run_dir = artefact_dir("checkpoints") / f"train_{PRESET}"
print(f"{len(train_set)} training clips, {len(test_set)} test clips; preset {PRESET}: width "
      f"{cfg.model.width}, {cfg.model.n_res_blocks} residual blocks; run folder {shown(run_dir)}")

# %%
show_source(total_generator_loss,
            equation=r"\mathcal{L} = w_{corr}\,\mathcal{L}_{corr} + w_{pix}\,\mathcal{L}_{pix} + w_{perc}\,\mathcal{L}_{perc} "
                     r"+ w_{gen}\,\mathcal{L}_{gen}, \qquad (w) = (1, 0.5, 1, 1) \text{ in the paper}")
show_source(train_step,
            note="One alternating update: $D$ first, on $[s, v]$, $[s, \\hat v]$ (detached) and $[s, v_u]$; "
                 "then $G$ and $\\varphi_s, \\varphi_v$ together on $\\mathcal{L}$.")

# %% [markdown]
# ## 1. Train
#
# A fixed batch of four **test-speaker** clips is generated every `train.sample_every` steps (with the
# generator in eval mode, so the snapshots change neither the training randomness nor BatchNorm's
# statistics). The run folder holds `checkpoints/last.pt` (resumable), `train_log.csv`,
# `samples/` and the exported `generator.safetensors`.

# %%
sample_idx = np.linspace(0, len(test_set) - 1, 4).astype(int)
sample_batch = collate_clips([test_set[i] for i in sample_idx])
if TRAIN:
    shutil.rmtree(run_dir, ignore_errors=True)           # a notebook run starts from scratch
    trainer = Trainer(cfg, train_set, run_dir, device=DEVICE, sample_batch=sample_batch)
    result = trainer.fit()
    trainer.close()
    print(f"step {result['step']}, epoch {result['epoch']}, generator {shown(result['generator'])}")

# %% [markdown]
# ## 2. Loss curves
#
# Left: this notebook's run. Right: the shipped checkpoint's run (its own log,
# `checkpoints/full/train_log.csv`; embedded corpus, 2 CPU cores).
#
# What the curves show, and what they do not:
#
# * **This run** (smoke scale: the `tiny` preset for 40 steps) is too short to learn anything:
#   $\mathcal{L}_{corr}$ stays flat near 1, the value of curves that are not correlated at all, and
#   the other terms barely move. It only shows that every term is computed and logged.
# * **The shipped run**: $\mathcal{L}_{corr}$ starts near 1 and drops during the first few hundred
#   steps, then stays roughly flat for the rest of the run (the cell below prints its first and
#   last values). Half of $\mathcal{L}_{corr}$ is computed on the *real* video's flow (as in the
#   authors' code), so part of this drop is $\varphi_s, \varphi_v$ learning to correlate speech
#   with real lip motion, not the generator; the flat tail says the correlation term stopped
#   improving long before the end. $\mathcal{L}_D$ stays away from 0: neither player wins.

# %%
shipped_log = pd.read_csv(SHIPPED_CHECKPOINTS / "full" / "train_log.csv")
logs = {"this run": pd.read_csv(run_dir / "train_log.csv")} if TRAIN else {}
logs["shipped checkpoint"] = shipped_log
terms = ["corr", "pix", "perc", "gen", "loss_D"]
fig, axes = plt.subplots(1, len(logs), figsize=(5.2 * len(logs), 3.2), squeeze=False)
for ax, (name, log) in zip(axes[0], logs.items()):
    for k in terms:
        if k in log:
            ax.plot(log["step"], log[k], label=k)
    ax.set_xlabel("step"); ax.set_title(name); ax.legend(fontsize=7); ax.grid(alpha=0.3)
fig.tight_layout(); fig.savefig(figure_path("training_loss_curves.png"), **SAVE)
corr = shipped_log[["step", "corr"]].dropna()
q = max(1, len(corr) // 10)
print(f"shipped run, L_corr: first {q} logs {corr['corr'].head(q).mean():.2f}, last {q} logs "
      f"{corr['corr'].tail(q).mean():.2f} (minimum {corr['corr'].min():.2f} at step {int(corr.loc[corr['corr'].idxmin(), 'step'])} "
      f"of {int(corr['step'].iloc[-1])})")
if TRAIN:
    c = logs["this run"]["corr"]
    print(f"this run, L_corr: {c.iloc[0]:.3f} -> {c.iloc[-1]:.3f} over {int(logs['this run']['step'].iloc[-1])} steps")
shipped_log.tail(3)

# %% [markdown]
# ## 3. Samples over time
#
# Rows: training steps; last row: the real frames. First the shipped full model's run: frames 0, 5,
# 10 and 15 of a fixed validation clip, generated by the training process every 150 steps and
# shipped in `checkpoints/full/samples.npz` (the discriminator switches on at step 600). Then this
# notebook's run, which at smoke scale (40 steps) does not leave the noise of its random
# initialisation (its title says so; it is not saved to `figures/`).

# %%
shipped_samples = np.load(SHIPPED_CHECKPOINTS / "full" / "samples.npz")
steps = [int(x) for x in shipped_samples["steps"]]
keep = sorted(set(steps[:: max(1, len(steps) // 6)] + [steps[-1]]))          # about seven snapshots
samples_over_time({st: shipped_samples["frames"][steps.index(st)] for st in keep}, clip=0, frames=(0, 1, 2, 3),
                  real=to_uint8_frames(shipped_samples["real"][0])[::5],
                  path=figure_path("training_samples_over_time.png"),
                  title="shipped full model: samples saved during its training (validation speaker; frames 0, 5, 10, 15)")
plt.show()
if TRAIN:
    samples = {int(p.stem.split("_")[1]): np.load(p) for p in sorted((run_dir / "samples").glob("*.npy"))}
    samples_over_time(samples, clip=0, real=to_uint8_frames(sample_batch["video"][0].numpy()),
                      title=f"this notebook's run: preset {PRESET}, {cfg.train.steps} steps"
                            + (" (smoke scale: still close to its random initial weights)" if cfg.train.steps < 1000 else ""))
    plt.show()
    print("snapshots at steps", sorted(samples))

# %% [markdown]
# ## 4. The shipped checkpoint on held-out speakers
#
# The checkpoint stores its own configuration, so `load_generator` rebuilds the right network.
# Rows: the real clip, the generated one, and the reference image repeated (what a model that
# ignores the audio would produce).

# %%
G, shipped_cfg, shipped_extra = load_generator(SHIPPED_CHECKPOINTS / "full" / "generator.safetensors")
with torch.inference_mode():
    fake = G(sample_batch["lms"], sample_batch["ref"])[0]
k = 1
videos = {"real": to_uint8_frames(sample_batch["video"][k].numpy()),
          "generated": to_uint8_frames(fake[k].numpy()),
          "reference": to_uint8_frames(sample_batch["ref"][k][:, None].repeat(1, 16, 1, 1).numpy())}
compare_videos(videos, title=f"speaker {test_set[sample_idx[k]]['speaker']} (held out), shipped checkpoint",
               path=figure_path("training_generated_vs_real.png"))
print(f"shipped: preset {shipped_cfg.name}, {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters")

# %% [markdown]
# ### Watch and listen: `lmg generate`
#
# The command anyone can run on their own speech and photo, here on a held-out sentence of the
# notebook-1 corpus and one lip frame of its speaker (saved as a PNG): it cuts the speech into
# overlapping 16-frame windows, generates them with the shipped full model and writes an mp4 with
# the speech. Left the real video, right the generated one.

# %%
import cv2
from IPython.display import Video, display
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
# ## 5. When should the discriminator switch on? A probe of the curriculum
#
# The paper trains every loss from step 0. The CPU recipe trains $\mathcal{L}_{pix}$ and
# $\mathcal{L}_{corr}$ alone for the first 40 % of the steps (600 of 1 500), then adds $D$,
# $\mathcal{L}_{gen}$ and $\mathcal{L}_{perc}$. The shipped full model's validation curve (blue)
# stops falling 600 steps after the discriminator arrives. The probe `full_warmup1200` is the same
# command with `--set train.gan_start=1200` (the adversarial terms for the last 300 steps only),
# `full_warmup1200_seed1` the same again with seed 1. Left and middle: validation speakers
# (48 clips, EMA weights) during training, the dotted lines where each run's discriminator
# switches on. Right: the **test speakers** (200 sentences), each probe minus the full model,
# paired by sentence.

# %%
from lmg_lib.eval.results import PROBES, paired_difference
gan_start = {run: load_generator(SHIPPED_CHECKPOINTS / run / "generator.safetensors")[1].train.gan_start
             for run in ["full", *PROBES.values()] if (SHIPPED_CHECKPOINTS / run / "val_log.csv").exists()}
names = {"full": "full", **{run: name for name, run in PROBES.items()}}
runs = {f"{names[run]} (D from {g})": run for run, g in gan_start.items()}      # label -> run, D's step read from the run
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for (label, run), c in zip(runs.items(), ["C0", "C1", "C2", "C3"]):
    v = pd.read_csv(SHIPPED_CHECKPOINTS / run / "val_log.csv")
    for ax, k in zip(axes[:2], ["lmd", "opening_r"]):
        ax.plot(v["step"], v[k], "o-", ms=3, color=c, label=label)
        ax.axvline(gan_start[run], color=c, ls=":", lw=1)
for ax, t in zip(axes[:2], ["validation LMD (px, lower is better)", "validation mouth-opening r"]):
    ax.set_xlabel("step"); ax.set_title(t, fontsize=9); ax.grid(alpha=0.3)
axes[0].legend(fontsize=7)
diffs = {label: paired_difference(SHIPPED_CHECKPOINTS, run, "full").set_index("metric")
         for label, run in runs.items() if run != "full" and (SHIPPED_CHECKPOINTS / run / "per_clip.csv").exists()}
metrics = ["lmd", "opening_r", "ssim", "cpbd"]
for j, ((label, d), c) in enumerate(zip(diffs.items(), ["C1", "C2", "C3"])):
    y = np.arange(len(metrics)) + 0.15 * (j - (len(diffs) - 1) / 2)
    axes[2].errorbar(d.loc[metrics, "mean"], y, xerr=[d.loc[metrics, "mean"] - d.loc[metrics, "ci_low"],
                     d.loc[metrics, "ci_high"] - d.loc[metrics, "mean"]], fmt="o", color=c, ms=4, label=label)
axes[2].axvline(0, color="k", lw=0.8); axes[2].set_yticks(range(len(metrics)), metrics)
axes[2].xaxis.set_major_locator(plt.MaxNLocator(4))
axes[2].set_title("test speakers: probe minus full model (95 % CI, paired)", fontsize=9); axes[2].grid(alpha=0.3)
fig.suptitle("shipped checkpoints full, full_warmup1200*: the discriminator later", fontsize=10)
fig.tight_layout(); fig.savefig(figure_path("training_warmup_probe.png"), **SAVE); plt.show()
for label, d in diffs.items():
    print(label, "minus full, test speakers:",
          ", ".join(f"{m} {d.loc[m, 'mean']:+.3f} [{d.loc[m, 'ci_low']:+.3f}, {d.loc[m, 'ci_high']:+.3f}]" for m in metrics))

# %% [markdown]
# What it measured (`docs/TRAINING.md` has the numbers): on the test speakers both probes have a
# lower LMD and a higher opening r than the full model, by more than their paired intervals, but
# PSNR and SSIM go up with seed 0 and down with seed 1. On the validation speakers the seed moves a
# run as much as the recipe: seed 1 lags seed 0 from step 300 on and ends above the full run's
# LMD. A paired interval counts sentences, not training runs, so it cannot tell a recipe from a
# seed; that is why the `cpu` preset and the shipped full model were left as they are. Both probes
# still miss the recipe's targets (r >= 0.75, LMD <= 0.6x static).

# %% [markdown]
# ## Exercises
#
# Each exercise has a hint (click to open) and a solution cell that checks its own answer in well
# under a second.
#
# **Exercise 1 · The authors' uint8 PSNR on your own frames.** The authors computed PSNR on grey
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

# %%
from lmg_lib.eval.metrics import legacy_uint8_psnr, psnr, to_gray
grey = lambda v: np.round(to_gray(v)).astype(np.uint8)
real_g, fake_g = grey(videos["real"]), grey(videos["generated"])
legacy = np.mean([legacy_uint8_psnr(a, b) for a, b in zip(real_g, fake_g)])
correct = np.mean([psnr(a.astype(float), b.astype(float), data_range=255) for a, b in zip(real_g, fake_g)])
rng_p = np.random.default_rng(SEED)
ra, rb = rng_p.integers(0, 256, (2, 64, 64), dtype=np.uint8)
print(f"shipped clip: authors' uint8 PSNR {legacy:.2f} dB, float PSNR {correct:.2f} dB")
print(f"two random images: authors' {legacy_uint8_psnr(ra, rb):.2f} dB, float {psnr(ra.astype(float), rb.astype(float), data_range=255):.2f} dB"
      f" (floor of the wrapped version: {20 * np.log10(255 / np.sqrt(255)):.2f} dB)")
assert legacy >= 24.07 and legacy_uint8_psnr(ra, rb) > 24.07 > psnr(ra.astype(float), rb.astype(float), data_range=255)

# %% [markdown]
# **Exercise 2 · Which discriminator stream is hardest?** The shipped log records the three terms of
# $\mathcal{L}_D$ separately (`d_real`, `d_fake`, `d_mismatch`). Over the last quarter of the run,
# which one is largest, i.e. which kind of pair does $D$ find hardest to judge?
#
# <details><summary>Hint</summary>
#
# Each term is a binary cross-entropy: $\log 2 \approx 0.69$ means $D$ cannot tell at all. A large
# `d_mismatch` means real videos of the wrong sentence still pass as real.
# </details>

# %%
d_terms = shipped_log[["step", "d_real", "d_fake", "d_mismatch"]].dropna()
late = d_terms[d_terms["step"] >= d_terms["step"].max() * 0.75].drop(columns="step").mean()
print("last quarter, mean BCE per stream:", late.round(3).to_dict(), "| hardest:", late.idxmax())
assert len(d_terms) > 0 and np.isfinite(late.to_numpy()).all()

# %% [markdown]
# **Exercise 3 · Does the generator listen?** Give the shipped generator the same reference images
# but the speech of *another* clip of the batch. How much do the generated frames change, and is
# the change concentrated where the mouth is?
#
# <details><summary>Hint</summary>
#
# `sample_batch["lms"].roll(1, 0)` pairs every reference image with another clip's speech. Compare
# the mean absolute difference inside the mouth box of the landmarks (`sample_batch["landmarks"]`)
# with the one outside it.
# </details>

# %%
from lmg_lib.model.losses import mouth_mask
with torch.inference_mode():
    fake_swapped = G(sample_batch["lms"].roll(1, 0), sample_batch["ref"])[0]
diff = (fake_swapped - fake).abs().mean(1, keepdim=True)                              # (B, 1, T, S, S)
box = mouth_mask(sample_batch["landmarks"], fake.shape[-1])
inside = float((diff * box).sum() / box.sum()); outside = float((diff * (1 - box)).sum() / (1 - box).sum())
print(f"mean |change| with another clip's speech: inside the mouth box {inside:.4f}, outside {outside:.4f} (scale [-1, 1])")
assert inside > 0

# %% [markdown]
# **Exercise 4 · A learning-rate schedule the paper does not have.** The authors trained with a
# constant learning rate. Read the shipped checkpoint's configuration and its log: which schedule
# did the CPU recipe use, and what does the learning rate do over the run?
#
# <details><summary>Hint</summary>
#
# `shipped_cfg.train` holds `lr`, `lr_schedule` and `gan_start`; the log has an `lr` column.
# </details>

# %%
t = shipped_cfg.train
print(f"shipped recipe: lr {t.lr}, schedule {t.lr_schedule!r}, discriminator from step {t.gan_start}; "
      f"logged lr from {shipped_log['lr'].iloc[0]:.2e} to {shipped_log['lr'].iloc[-1]:.2e}")
if t.lr_schedule == "cosine":
    assert shipped_log["lr"].iloc[-1] < shipped_log["lr"].max()
else:
    assert shipped_log["lr"].nunique() >= 1

# %% [markdown]
# ## Checks

# %%
if TRAIN:
    log = logs["this run"]
    assert log["step"].iloc[-1] == cfg.train.steps and np.isfinite(log.drop(columns=["step"]).to_numpy(float)).all()
    assert (run_dir / "generator.safetensors").exists() and (run_dir / "checkpoints" / "last.pt").exists()
    assert len(samples) >= 2 and all(v.shape[1:] == (16, 64, 64, 3) for v in samples.values())
    G_run, _, _ = load_generator(run_dir / "generator.safetensors", expect=cfg)
assert shipped_log["step"].iloc[-1] >= 1000 and np.isfinite(shipped_log["corr"]).all()
assert shipped_log["corr"].tail(5).mean() < shipped_log["corr"].head(5).mean(), "L_corr should fall"
assert fake.shape == sample_batch["video"].shape and float(fake.abs().max()) <= 1
assert np.abs(videos["generated"].astype(int) - videos["real"].astype(int)).mean() < 40
assert abs(len(real_v) - len(gen_v)) <= 1 and both.stat().st_size > 10_000
print("checks passed")
