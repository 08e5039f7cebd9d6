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
# The model the later notebooks evaluate is the **shipped checkpoint** (`checkpoints/lmg_cpu.safetensors`,
# the paper's architecture at width 8, trained on the 32-speaker embedded corpus on a 2-core CPU
# because no GPU was available; `tools/make_shipped_checkpoint.py` remakes it). Its training log and
# samples are shown below too. On a GPU use `params/full.yaml` (paper preset, 20 000 steps).

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
from lmg_lib.notebook import SAVE, SHIPPED_CHECKPOINTS, artefact_dir, figure_path, open_dataset
from lmg_lib.train import Trainer, seed_everything
from lmg_lib.train.checkpoints import load_generator
from lmg_lib.util.pixels import to_uint8_frames
from lmg_lib.viz import compare_videos, samples_over_time

seed_everything(SEED)
train_set, test_set = open_dataset("train", seed=SEED), open_dataset("test", seed=SEED)
cfg = make_config(PRESET, {"seed": SEED, **CONFIG})
run_dir = artefact_dir("checkpoints") / f"train_{PRESET}"
print(f"{len(train_set)} training clips, {len(test_set)} test clips; preset {PRESET}: width "
      f"{cfg.model.width}, {cfg.model.n_res_blocks} residual blocks; run folder {run_dir}")

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
    print({k: result[k] for k in ("step", "epoch", "generator")})

# %% [markdown]
# ## 2. Loss curves
#
# Left: this notebook's run. Right: the shipped checkpoint's run (2 200 steps of batch 8 on the
# embedded corpus, 2 CPU cores). $\mathcal{L}_{corr}$ starts near 1 (uncorrelated) and falls as the
# generated lip motion starts to follow the speech's changes; $\mathcal{L}_D$ stays away from 0 while
# neither player wins.

# %%
shipped_log = pd.read_csv(SHIPPED_CHECKPOINTS / "lmg_cpu.train_log.csv")
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
shipped_log.tail(3)

# %% [markdown]
# ## 3. Samples over time
#
# Rows: training steps; last row: the real frames. At smoke scale (40 steps) the generator does not yet
# leave the noise of its random initialisation; the shipped model's samples follow below.

# %%
if TRAIN:
    samples = {int(p.stem.split("_")[1]): np.load(p) for p in sorted((run_dir / "samples").glob("*.npy"))}
    samples_over_time(samples, clip=0, real=to_uint8_frames(sample_batch["video"][0].numpy()),
                      path=figure_path("training_samples_over_time.png"))
    print("snapshots at steps", sorted(samples))

# %% [markdown]
# ## 4. The shipped checkpoint on held-out speakers
#
# The checkpoint stores its own configuration, so `load_generator` rebuilds the right network.
# Rows: the real clip, the generated one, and the reference image repeated (what a model that
# ignores the audio would produce).

# %%
G, shipped_cfg, shipped_extra = load_generator(SHIPPED_CHECKPOINTS / "lmg_cpu.safetensors")
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
print("checks passed")
