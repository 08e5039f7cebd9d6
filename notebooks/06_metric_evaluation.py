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
# # 6 · Metric evaluation: the full model against the baselines (Chen et al. 2018, Table 3)
#
# The paper compares its model with two baselines on held-out speakers with four metrics:
#
# * **PSNR** $= 10 \log_{10}\!\big(\mathrm{MAX}^2 / \mathrm{MSE}\big)$ and **SSIM**: closeness to the
#   real frames (grey, per frame, averaged over a clip); here also on the **mouth box** (the box of
#   the true mouth landmarks), where the speech is;
# * **CPBD**: no-reference sharpness of the generated frames. Compare it with the real frames':
#   far above them is checkerboard artefact, far below is blur;
# * **LMD**: mean distance between mouth landmarks of the real and generated frames after centring
#   each set, in pixels of the 64 px crop. Here the real side is the corpus's **ground truth** and
#   the generated side comes from a lip-landmark regressor whose error on blurred, noisy and
#   checkerboarded frames is measured and which refuses frames without a mouth.
#
# LMD alone can be fooled: a model that ignores the audio and draws the speaker's average mouth
# already scores well. So every model is also driven by **another sentence's audio** (shuffled), and
# the table has **controls**: the static reference frame, the **average mouth** (the best constant
# mouth), the **audio-only ceiling** of the mouth-opening correlation r (the lips lead the sound by a
# random per-sentence lag no model can know; the table's ceiling row says how high an audio-only
# predictor gets), and a
# **lip-sync expert** (SyncNet-style, trained on the training speakers only) with its LSE-D / LSE-C:
# LSE-D is the distance between the expert's audio and video embeddings at the best offset (lower =
# better sync), LSE-C its confidence, the median distance over the offsets minus
# that best one (higher = better sync). **opening_r** in the tables is the per-clip correlation between the generated
# and the real mouth opening (section 4 draws it), averaged over sentences.
# A model *follows the speech* only if its true-audio LMD interval lies below both its shuffled-audio
# LMD and the average mouth. The protocol is `docs/EVALUATION.md`.
#
# | row | what it is |
# |---|---|
# | **full model** | the full model of Chen et al. 2018 (variant (e)), trained here with the recipe printed below (its folder is printed with it) |
# | **Speech2Vid (Chung)** | "You said that?"-style per-frame encoder-decoder, L1 only, same data, recipe printed below |
# | **VGAN (Vondrick)** | audio-conditioned video GAN whose generator has two streams (a moving foreground, a static background), same data, recipe printed below |
# | **static reference** | the reference frame repeated |
# | **average mouth** | each test speaker's mean mouth over its other sentences (landmark space) |
# | **audio-only ceiling** | the corpus's own viseme trajectory from the audio, averaged over the corpus's distribution of lip-to-sound lags (no model can know a sentence's own lag) |
# | **real frames** | CPBD and the sync expert on the real videos |
#
# Every trained model is named with its recipe (the preset it was trained with and what its training
# command changed, read from its `record.json`): none of them is the paper's trained network. What
# goes beyond the paper's evaluation (real photographs) is in the appendices after the exercises.
#
# **On a real corpus** (notebook 1 run with `CORPUS_PATH`, e.g. `params/grid_fixture.yaml`), sections
# 1-5 still show the shipped models on the embedded corpus's held-out speakers; sections 6-7 use
# notebook 1's dataset. The lip-landmark regressor was trained on the embedded corpus's rendered lips
# only, so there LMD uses dlib as the authors did (each lip crop pasted into a real face photo so
# that dlib finds a face, `lmg_lib/eval/dlib_lmd.py`); forcing the regressor on such data warns.
# Figures then go to the artefact folder.

# %%
from IPython.display import Markdown, display
from lmg_lib.notebook import SHIPPED_CHECKPOINTS
from lmg_lib.train.checkpoints import load_generator
from lmg_lib.eval.records import MODELS, models_line
from lmg_lib.train.recipe_table import preset_of, recipe_markdown
from lmg_lib.util.paths import SHIPPED_FULL
shipped_cfg = load_generator(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "generator.safetensors")[1]
display(Markdown(f"**What was trained: the paper's recipe against the `{preset_of(shipped_cfg)}` preset of the shipped "
                 f"full model** (read from `checkpoints/{SHIPPED_FULL}/`, the table generated from the "
                 "configuration by `lmg_lib/train/recipe_table.py`). Speech2Vid and VGAN were trained on the same "
                 "data with their own networks and losses; each run's recipe, steps and seed, read from its files: "
                 + models_line(SHIPPED_CHECKPOINTS, MODELS)[len("The models: "):]
                 + " None of them is the paper's trained network.\n\n" + recipe_markdown(shipped_cfg)))

# %% tags=["parameters"]
MAX_TEST_CLIPS = 0       # 0: every test clip of notebook 1's dataset (sections 6-7)
N_SYNC = 6               # test utterances for the AV-offset check (0: all)
LMD_LANDMARKS = "auto"   # LMD on notebook 1's dataset: "auto" (regressor on the embedded corpus, else dlib), "regressor", "dlib"
SEED = 0

# %%
import inspect
import json
import os
import platform
import textwrap

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, Video, display

from lmg_lib.data import evenly_spaced
from lmg_lib.data.audio import log_mel_spectrogram
from lmg_lib.data.dataset import LipClipDataset
from lmg_lib.data.readers import read_corpus
from lmg_lib.eval import av_sync, metrics as M
from lmg_lib.eval.protocol import evaluate_model
from lmg_lib.eval.protocol import mean_ci
from lmg_lib.eval.results import (MODELS, PROBE_BASE, orderings, results_long, results_markdown, results_table,
                                  seed_targets, seeds_markdown, shown_targets, to_markdown)
from lmg_lib.eval.seeds import run_orderings, seed_long, seed_rows_note
from lmg_lib.eval.records import run_facts, run_label, thousands
from lmg_lib.util.paths import SHIPPED_FULL        # the run folder of the shipped full model
from lmg_lib.export import describe_run
from lmg_lib.eval.sync import follows_speech, mouth_opening, shuffled_pairs
from lmg_lib.infer import generate_video
from lmg_lib.notebook import (REPO_ROOT, SAVE, SHIPPED_CHECKPOINTS, artefact_dir, data_source, figure_path, held_out_subset,
                              landmark_detector, lip_frames, lmd_landmarks, open_dataset, reproduction_gaps,
                              shipped_model, subset_bytes_match)
from lmg_lib.eval.paper import as_printed, table2, table3
from lmg_lib.train import seed_everything
from lmg_lib.train.baselines import StaticBaseline
from lmg_lib.util.audio_io import load_audio
from lmg_lib.util.pixels import to_uint8_frames
from lmg_lib.util.video_io import read_frames, write_video
from lmg_lib.viz import compare_videos, comparison_figure

seed_everything(SEED)
test_full = open_dataset("test", seed=SEED)             # notebook 1's smoke dataset: sections 6-7
test_set = evenly_spaced(test_full, MAX_TEST_CLIPS)
detector = landmark_detector()
shipped = {name: run for name, run in {"full": SHIPPED_FULL, "Speech2Vid": MODELS["Speech2Vid (Chung)"],
                                       "VGAN": MODELS["VGAN (Vondrick)"]}.items()
           if (SHIPPED_CHECKPOINTS / run / "generator.safetensors").exists()}
models = {name: shipped_model(run)[0] for name, run in shipped.items()}
G, cfg = shipped_model(SHIPPED_FULL)
record = json.loads((SHIPPED_CHECKPOINTS / SHIPPED_FULL / "record.json").read_text())
# every trained model is named with its recipe, read from its record.json ("full model, cpu recipe")
about = {name: describe_run(SHIPPED_CHECKPOINTS / run) for name, run in shipped.items()}
named = {name: f"{'full model' if name == 'full' else name}, {about[name]['recipe']}" for name in shipped}
trained = {disp: f"{disp}, {describe_run(SHIPPED_CHECKPOINTS / run)['recipe']}" for disp, run in MODELS.items()}
for name in shipped:
    print(f"{named[name]}: {about[name]['line']}")
print(f"the full model (checkpoints/{SHIPPED_FULL}/) was trained by `{record['command']}` "
      f"({record['cpu_s'] / 60:.0f} CPU-min, {record['wall_s'] / 60:.0f} min wall); its configuration is exactly "
      f"the `{preset_of(cfg)}` preset (config.preset_of compares the two), so it is labelled so")
det_err = detector.error
print(f"landmark regressor (measures LMD): {det_err['mean_px']:.2f} px mean error ({det_err['mean_pct_mouth_width']:.1f} % of the mouth width) on {det_err['n_frames']} held-out frames")
source = data_source()                                  # the corpus of notebook 1's dataset
lmd_detect = lmd_landmarks(test_full, LMD_LANDMARKS)    # warns if the regressor is out of its domain
lmd_name = "regressor" if isinstance(lmd_detect, type(detector)) else "dlib"
if lmd_name == "dlib":
    print(f"LMD on notebook 1's dataset ({source['corpus'].name}, not the embedded corpus the regressor "
          f"was trained on): {lmd_detect.name}")

# %% [markdown]
# ## 1. The shipped results on the held-out speakers
#
# Computed once by `tools/make_shipped.py evaluate` on every test clip of the default corpus
# (speakers s28-s32 of the embedded, rendered corpus: not GRID, whose speaker numbering it only
# borrows) and shipped as `checkpoints/<run>/per_clip.csv`; here they are only read. Mean and 95 %
# interval over sentences. `lmd_gap_closed` is the share of the distance from the static reference's
# LMD to the audio-only ceiling's that a model covers (0: no better than the static frame, 1: as good
# as the ceiling); the ceiling is an oracle row, its mouths drawn from the phoneme timing and scored
# like a model. In the figure every panel has the same rows; an open dot is the same model driven by
# another sentence's audio (a model that follows the speech gets worse).

# %%
long = results_long(SHIPPED_CHECKPOINTS).replace({"model": trained})
display(Markdown(to_markdown(results_table(SHIPPED_CHECKPOINTS).rename(index=trained))))
n_sent = int(long[long.metric == "lmd"]["n"].max())
comparison_figure(long, path=figure_path("eval_comparison.png"), zoom=("lmd", [*trained.values(), "average mouth"],
                                                                    "the trained models and the average mouth"),
                  title=f"Shipped models and controls on the held-out speakers: mean and 95 % interval over "
                        f"{n_sent} sentences (the same rows in every panel; axes span the values, not from 0)")
plt.show()
md = results_markdown(SHIPPED_CHECKPOINTS)
_ = figure_path("eval_table.md").write_text(md + "\n")          # the README's table

# %% [markdown]
# ### The targets, and the paper beside us
#
# Chen et al. 2018, Table 3 (whose GRID rows are compared here) comes from the paper's networks (the authors' released code computes
# PSNR on wrapped uint8 differences, section 7; their LMD's normalisation is unresolved), so compare
# **orderings**: does the full model beat the baselines here as it did there? The targets are those of
# the repository's issue "Half-way to the ceiling" (docs/TRAINING.md), stated for the mean over the full
# model's seeds; the table gives each seed and that mean. The paragraph under the tables states the
# answers and applies the introduction's rule (does each model follow the speech?).

# %%
tg = seed_targets(SHIPPED_CHECKPOINTS)
recipe = ", ".join(p for p in run_label(SHIPPED_CHECKPOINTS, MODELS["full model"]).split(", ") if not p.startswith("seed "))
display(Markdown(f"**Targets** (full model, {recipe}; every evaluated seed, and the mean that 'holds' judges)\n\n"
                 + to_markdown(shown_targets(tg), index=False)))
display(Markdown("**Chen et al. 2018, Table 3** (as printed)\n\n"
                 + to_markdown(as_printed(table3()).set_index(["dataset", "method"]))))
order = orderings(SHIPPED_CHECKPOINTS)
display(Markdown(to_markdown(order, index=False)))
val_of = lambda model, m, f="mean": long[(long.model == trained.get(model, model)) & (long.metric == m)][f].iloc[0]
word = lambda v: "holds" if v.startswith("holds") else "does not hold" if v.startswith("does not") else "is not separated"
lmd_rows = order[order.iloc[:, 0].str.contains("LMD")].set_index(order.columns[0])["here"]
equal = lmd_rows[lmd_rows.index.str.contains("at equal steps")]        # only while the steps differ
main = lmd_rows.drop(equal.index)
verdicts = "; ".join(f"{word(v)} {'from' if word(v) == 'is not separated' else 'against'} {k.split('< ', 1)[1]}"
                     for k, v in main.items())                              # one per baseline
unequal = lmd_rows.drop(equal.index).str.extract(r"unequal steps: ([\d ]+ vs [\d ]+)")[0].dropna()
follow, no_follow = [], []
for model in MODELS:
    ok = val_of(model, "lmd", "ci_high") < min(val_of(model, "lmd_shuffled", "ci_low"), val_of("average mouth", "lmd", "ci_low"))
    (follow if ok else no_follow).append(f"{model} (LMD {val_of(model, 'lmd'):.2f}, opening r {val_of(model, 'opening_r'):.2f} "
                                         f"against {val_of(model, 'opening_r_shuffled'):.2f} with another sentence's audio)")
by_run = run_orderings(SHIPPED_CHECKPOINTS).query("here != 'not trained'")
mean_col = next(c for c in tg.columns if c.startswith("mean of "))
met = [f"{t} ({v:.3f})" for t, v, h in zip(tg.target, tg[mean_col], tg.holds) if h]
missed = [f"{t} ({v:.3f}; wanted {w})" for t, v, w, h in zip(tg.target, tg[mean_col], tg.wanted, tg.holds) if h is False]
facts = run_facts(SHIPPED_CHECKPOINTS, MODELS["full model"])
lse = {m: (val_of(m, "lse_d"), val_of(m, "lse_c")) for m in [*MODELS, "real frames"]
       if ((long.model == trained.get(m, m)) & (long.metric == "lse_d")).any()}
by_lse, by_lmd = sorted(MODELS, key=lambda m: lse[m][0]), sorted(MODELS, key=lambda m: val_of(m, "lmd"))
chung = table3("GRID").set_index("method")
spread = float(np.ptp(seed_long(SHIPPED_CHECKPOINTS, metrics=("lmd",)).query("model == 'full model'")["mean"]))
cpu_min = {m: json.loads((SHIPPED_CHECKPOINTS / r / "record.json").read_text())["cpu_s"] / 60 for m, r in MODELS.items()}
display(Markdown("\n".join([
    f"**Here**, on the held-out speakers:",
    f"- **the targets** ({mean_col} of the full model): {len(met)} of {len(met) + len(missed)} hold"
    + (f"; missed: {'; '.join(missed)}" if missed else "") + ".",
    "- **the paper's LMD ordering** (the full model below each baseline), asked per sentence and per run:",
    f"  - **per sentence** (the table above: seed 0 of each model on the same {n_sent} sentences; the "
    f"ordering holds where the 95 % interval of the per-sentence difference, full model minus baseline, "
    f"lies on the paper's side of 0: paired, since both are scored on the same sentences): it {verdicts}.",
    *([f"  - **per run** (every seed of the full model against every seed of the baseline, *Across seeds* below; "
       "a statement about training runs, which the sentence intervals cannot make): it " + "; ".join(
           f"{o.here} against {o.baseline} ({o.evidence})" for o in by_run.itertuples())
       + (f". The narrowest margin, {(n := by_run.loc[by_run.closest_px.idxmin()]).closest_px:.3f} px against "
          f"{n.baseline}, is {'smaller' if n.closest_px < spread else 'larger'} than the spread between the full "
          f"model's own seeds ({spread:.3f} px): with two or three seeds a side, "
          + ("a narrow win." if n.closest_px < spread else "a clear one.")
          + " 'By chance alone' is how often the seed alone would put every run of one side below every run "
          "of the other.")] if len(by_run) else []),
    *[f"  - {line}" for line in seed_rows_note(SHIPPED_CHECKPOINTS)],
    *([f"  - **at unequal steps** ({unequal.iloc[0]} steps): at equal steps (the full model of the baselines' "
       f"recipe, `checkpoints/{PROBE_BASE}/`) it {' / '.join(sorted({word(v) for v in equal}))} "
       f"({'; '.join(equal.str.extract(r'[(](.*)[)]')[0])}), so this table does not show that the full model's "
       "losses beat the baselines'."] if len(equal) and len(unequal) else []),
    "- **equal steps are not equal compute**: one training run (seed 0, `record.json`) took "
    + ", ".join(f"{m} {v:.0f} CPU-min" for m, v in cpu_min.items())
    + f": at the same steps the full model used "
      f"{cpu_min['full model'] / min(cpu_min.values()):.1f}x the compute of the cheapest baseline. Notebook 4 "
      "draws the three against CPU-minutes.",
    f"- **the adversarial phase is short**: in the {facts['preset']} recipe the discriminator, and with it "
    f"L_gen (and the full model's L_perc), trains only for the last {thousands(facts['steps'] - facts['gan_start'])} of "
    f"{thousands(facts['steps'])} steps, for the full model and VGAN alike; before that both learn from their pixel loss "
    "(the full model also from L_corr). VGAN here is mostly a pixel-trained video generator with a GAN finish.",
    f"- **does each model follow the speech?** By the introduction's rule (true-audio LMD interval below both "
    f"the shuffled-audio LMD's and the average mouth's, {val_of('average mouth', 'lmd'):.2f} px), "
    + (f"{'; '.join(follow)} follow{'s' if len(follow) == 1 else ''} the speech" if follow else "no model passes")
    + (f"; {'; '.join(no_follow)} {'does' if len(no_follow) == 1 else 'do'} not: "
       "the mouth moves with the speech (r well above the shuffled audio's), but its LMD interval is not "
       "separated from the best constant mouth's" if no_follow else "") + ".",
    f"- **sharpness** (CPBD; the introduction's rule: far above the real frames' is artefact, not detail): real "
    f"frames {val_of('real frames', 'cpbd'):.2f}, " + ", ".join(
        f"{m} {val_of(m, 'cpbd'):.2f} ({val_of(m, 'cpbd') / val_of('real frames', 'cpbd'):.1f}x)" for m in MODELS)
    + f": {'every model' if all(val_of(m, 'cpbd') > 2 * val_of('real frames', 'cpbd') for m in MODELS) else 'not every model'}"
      " is more than twice as 'sharp' as the real frames, i.e. draws edges the real mouths do not have. In the "
      f"paper the pixel-trained Chung baseline was blurry instead (CPBD {chung.loc['Chung', 'CPBD']:.3f} against the "
      f"real frames' {chung.loc['ground truth', 'CPBD']:.3f}): our Speech2Vid does not reproduce that blur.",
    *([f"- **the sync expert** (this repository's own, trained on the corpus; a Euclidean distance of unit "
       "embeddings, so its LSE-D is not on the scale of Wav2Lip's SyncNet; lower LSE-D and higher LSE-C = better "
       "sync): LSE-D / LSE-C " + ", ".join(f"{m} {d:.2f} / {c:.2f}" for m, (d, c) in lse.items())
       + (". It orders the models as LMD does." if by_lse == by_lmd else
          f". It orders the models otherwise than LMD (by LSE-D: {', '.join(by_lse)}; by LMD: {', '.join(by_lmd)}): "
          "the expert scores how the whole mouth moves with the audio, LMD where the landmarks are, so a "
          "model can sync well and still miss the shapes; neither alone settles 'follows the speech'.")]
      if all(m in lse for m in MODELS) else [])])))
# how the two sides' numbers were computed, next to the paper's table
cpbd_variant = inspect.signature(M.cpbd_video).parameters["variant"].default    # what the evaluation calls
t2, t3 = table2().set_index("variant").loc["e"], table3("GRID").set_index("method").loc["full model"]
agree = [m for m in ("LMD", "SSIM", "CPBD") if t2[m] == t3[m]]
display(Markdown("\n".join([
    f"- **CPBD**: ours is `metrics.cpbd(variant=\"{cpbd_variant}\")`, the PyPI `cpbd` algorithm (adaptive "
    "Sobel with thinning), on each generated 64 px frame; the authors' code used its own port "
    "(`variant=\"authors\"`, a fixed Sobel threshold). The two are not comparable (`docs/EVALUATION.md`, "
    "section 3): compare each model with the real frames' CPBD of the same column.",
    "- **LMD**: ours is the per-point mean in px of the 64 px crop; the paper does not state its "
    "normalisation (its code sums the 20 points; the published values are implausible for that sum), "
    "so the paper's LMD values cannot be put on our scale (`docs/EVALUATION.md`, section 4).",
    "- **PSNR**: the paper's was computed on uint8 frames whose squared error wraps (section 7 below). "
    f"The paper also gives its full model's GRID PSNR twice: {t2['PSNR']} in Table 2 and {t3['PSNR']} in "
    f"Table 3, for the same model (its {', '.join(agree)} agree between the two tables); both are quoted "
    "as printed."])))

# %% [markdown]
# ### Across seeds
#
# One run per model is one draw: the same recipe with another seed lands elsewhere. Where a model
# has more than one evaluated seed, its mean over seeds and the range across them, each run with its
# per-sentence interval, and the paper's ordering checked run against run (every full-model seed
# against every baseline seed). The intervals above count sentences, not runs; only this table says
# whether a difference outlasts the seed.

# %%
by_seed = seeds_markdown(SHIPPED_CHECKPOINTS)
display(Markdown(by_seed or "Every model has one evaluated seed so far: no spread across seeds to show."))

# %% [markdown]
# ## 2. Reproduce the full model's numbers here, on a subset
#
# Two sentences of every test speaker, rebuilt from the corpus seed, evaluated live with the shipped
# networks and compared with the per-clip numbers `make_shipped` recorded for exactly these clips.
# On a CPU that renders like the shipping machines the rebuilt files are byte-identical (the shard
# hashes are checked against the shipped list) and the numbers agree to float summation order; on
# another CPU (an AVX2-only AMD EPYC was one) the same clips come out slightly different, and the
# check is the median per-clip difference against a tolerance well under what another network
# gives (`notebook.CROSS_CPU_MEDIAN`). The same check runs in the test suite (`tests/test_shipped.py`).

# %%
sub = LipClipDataset(held_out_subset(artefact_dir("heldout")), "test")
want_hashes = json.loads((SHIPPED_CHECKPOINTS / "heldout_subset.json").read_text())
same_bytes = subset_bytes_match(sub.manifest, want_hashes)      # the same clips; the same bytes?
live = evaluate_model(G, sub, detector.detect, shuffled=True)
recorded = pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "subset_per_clip.csv")
cols = ["lmd", "lmd_shuffled", "opening_r", "psnr", "ssim", "cpbd"]
gaps = reproduction_gaps(live, recorded, cols, same_bytes)
assert all(stat <= tol for stat, tol in gaps.values()), gaps
static_sub = evaluate_model(StaticBaseline(cfg.model), sub, detector.detect, shuffled=False)
sub_sentences = len({(c["speaker"], c["utterance"]) for c in sub.clips})
print(f"{len(sub)} clips, " + ("the shipped bytes: largest |live - recorded| - 1e-3 |recorded| per metric (tolerance 0.002)"
                               if same_bytes else "rebuilt with other bytes on this CPU (the same clips): median "
                               "|live - recorded| per metric against its cross-CPU tolerance") + ":")
print("\n".join(f"  {c}: {stat:.4f} (tolerance {tol:g})" for c, (stat, tol) in gaps.items()))
print(f"this CPU: {platform.processor() or platform.machine()} ({os.cpu_count()} cores visible)")
print(f"subset means ({len(sub)} clips of {sub_sentences} sentences, not section 1's {n_sent}: they differ from its "
      f"table by the choice of clips): LMD {live.lmd.mean():.2f} (shuffled audio {live.lmd_shuffled.mean():.2f}, "
      f"static {static_sub.lmd.mean():.2f}); opening r {live.opening_r.mean():.2f} "
      f"(shuffled {live.opening_r_shuffled.mean():.2f})")

# %% [markdown]
# ## 3. Qualitative comparison (the paper's frame-grid figure)
#
# Two held-out speakers; rows: real frames, the shipped models (each with its recipe), the full model
# driven by another sentence's audio, and the static reference. Dots are the detected landmarks LMD
# compares.

# %%
partner = shuffled_pairs([c["speaker"] for c in sub.clips], [c["utterance"] for c in sub.clips], SEED)
picks = [3, len(sub) - 4]
for j, i in enumerate(picks):
    d = sub[i]
    vids = {"real": to_uint8_frames(d["video"].numpy())}
    with torch.inference_mode():
        for name, model in models.items():
            vids[named[name].replace(", ", "\n", 1)] = to_uint8_frames(model(d["lms"][None], d["ref"][None])[0][0].numpy())
        vids[named["full"].replace(", ", "\n", 1) + ",\nother audio"] = to_uint8_frames(G(sub[partner[i]]["lms"][None], d["ref"][None])[0][0].numpy())
    vids["static"] = to_uint8_frames(d["ref"][:, None].expand(-1, 16, -1, -1).numpy())
    compare_videos(vids, landmarks={k: detector.detect(v) for k, v in vids.items()},
                   title=f"shipped models, held-out {d['speaker']} · {d['utterance']} · clip {int(d['clip'])}",
                   path=figure_path(f"eval_qualitative_{j}.png"))
    plt.show()

# %% [markdown]
# ## 4. Does the mouth open with the speech?
#
# The inner-lip opening (mean gap of the three inner-lip point pairs) over the 16 frames: the real
# clip's ground truth, the full model with its own audio, and with another sentence's audio. The
# per-clip correlation r of the first two is the table's `opening_r`.

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 2.6), sharey=True)
for ax, i in zip(axes, [3, len(sub) // 2, len(sub) - 4]):
    d = sub[i]
    with torch.inference_mode():
        own = to_uint8_frames(G(d["lms"][None], d["ref"][None])[0][0].numpy())
        other = to_uint8_frames(G(sub[partner[i]]["lms"][None], d["ref"][None])[0][0].numpy())
    real_lm, own_lm, other_lm = d["landmarks"].numpy(), detector.detect(own), detector.detect(other)
    ax.plot(mouth_opening(real_lm), "k-", lw=2, label="real (ground truth)")
    ax.plot(mouth_opening(own_lm), "C0-o", ms=3, label=f"{named['full']}, own audio")
    ax.plot(mouth_opening(other_lm), "C3--", label=f"{named['full']}, other audio")
    from lmg_lib.eval.sync import opening_r                           # the clip's r, as the evaluation computes it
    ax.set_title(f"{d['speaker']} · {d['utterance']} · clip {int(d['clip'])}\nr = {opening_r(own_lm, real_lm):.2f} "
                 f"own audio, {opening_r(other_lm, real_lm):.2f} other audio", fontsize=8.5)
    ax.set_xlabel("frame"); ax.xaxis.set_major_locator(plt.MultipleLocator(3))
axes[0].set_ylabel("inner-lip opening (px)")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
fig.suptitle(f"Mouth opening over time, shipped {named['full']}, held-out speakers", fontsize=10)
fig.tight_layout(rect=(0, 0.1, 1, 1)); fig.savefig(figure_path("eval_opening_curves.png"), **SAVE); plt.show()

# %% [markdown]
# ## 5. Watch and listen
#
# One held-out sentence, real (left) and generated by the shipped full model (its recipe is printed at
# the top) from one reference frame (right), with the sentence's audio. Whole sentences are generated as overlapping 16-frame
# windows, as `lmg generate` does.

# %%
u0 = sub.clips[0]
wav = artefact_dir("heldout") / "corpus" / u0["speaker"] / "audio" / f"{u0['utterance']}.wav"
real = read_frames(artefact_dir("heldout") / "corpus" / u0["speaker"] / "video" / f"{u0['utterance']}.mp4")
ref8 = to_uint8_frames(sub[0]["ref"][:, None].numpy())[0]
fake = generate_video(G, cfg, load_audio(wav, cfg.audio), ref8)
n = min(len(real), len(fake))
both = np.concatenate([real[:n], fake[:n]], axis=2).repeat(3, axis=1).repeat(3, axis=2)
video_path = write_video(artefact_dir("evaluation") / "heldout_real_vs_generated.mp4", both, fps=25, audio_path=wav)
display(Video(str(video_path), embed=True, width=384))

# %% [markdown]
# ## 6. Do generated lips keep the lead? (AV offset)
#
# Two instruments. The main one is this repository's lip-sync expert, run on every shipped test
# sentence, real and generated (`per_utterance_sync.csv`): it sees a sentence's own lag in the real
# videos (the correlation printed below). The second is notebook 2's AV-offset estimator on a few
# whole sentences generated here (consecutive 16-frame windows blended, as `lmg generate` does):
# notebook 2 showed that one sentence gives it a noisy estimate, and it is off by frames even on
# the real videos, so it is a cross-check, read last.

# %%
in_dataset = {(c["speaker"], c["utterance"]) for c in test_full.clips}   # test utterances notebook 1 kept
utts = [u for u in read_corpus(source["corpus"], source["layout"]) if u.key in in_dataset]
utts = utts[:N_SYNC] if N_SYNC else utts
first_clip = {}                                     # one reference image per test speaker
for i, c in enumerate(test_full.clips):
    first_clip.setdefault(c["speaker"], i)
refs = {spk: to_uint8_frames(test_full[i]["ref"][:, None].numpy())[0] for spk, i in first_clip.items()}
sync = []
for u in utts:
    wave = load_audio(u.audio, cfg.audio)
    real = read_frames(u.video) if source["embedded"] else lip_frames(u.speaker, u.utt)   # lip crops
    fake = generate_video(G, cfg, wave, refs[u.speaker])
    lms = log_mel_spectrogram(wave, cfg.audio, n_frames=len(real))
    r, f = av_sync.av_offset(real, lms), av_sync.av_offset(fake, lms)
    true = float(np.load(u.sidecar)["lag_ms"]) / 40 if u.sidecar is not None else np.nan
    sync.append(dict(speaker=u.speaker, utterance=u.utt, true_lag=true, real_lag=r.lag, generated_lag=f.lag,
                     real_conf=r.confidence, generated_conf=f.confidence))
sync = pd.DataFrame(sync)
sync.to_csv(artefact_dir("evaluation") / "av_offset.csv", index=False, float_format="%.3f")

# %% [markdown]
# **What the numbers say**, the sync expert first (its offset on every shipped test sentence, 0 = the
# corpus's typical lead, one step = one 40 ms frame), then the noisy estimator; the conclusion below
# is written from them, and the estimator's per-sentence values follow it.

# %%
def verdict(m, lo, hi, unit="frames"):
    """'m [lo, hi]' and whether the interval holds 0."""
    f = lambda x: f"{x + 0.0:+.2f}" if round(x, 2) != 0 else "0.00"     # no "-0.00"
    return f"{f(m)} [{f(lo)}, {f(hi)}] {unit}", lo <= 0 <= hi


gen_minus_real = mean_ci(sync.generated_lag - sync.real_lag)
miss_real = float((sync.real_lag - sync.true_lag).abs().mean())      # the estimator's own error on real videos
ups = pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "per_utterance_sync.csv")
expert = mean_ci(ups.offset)                                         # whole frames; 0 = the typical lead
counts = ups.offset.value_counts().sort_index()
tracks = float(np.corrcoef(ups.lag_ms, ups.offset)[0, 1])          # does it follow each sentence's own lag?
ups_real = pd.read_csv(SHIPPED_CHECKPOINTS / "controls" / "per_utterance_sync.csv")   # the real videos, same sentences
tracks_real = float(np.corrcoef(ups_real.lag_ms, ups_real.offset)[0, 1])   # can the expert see a sentence's lag at all?
resolves = tracks_real > 0.5
d_txt, d_zero = verdict(*gen_minus_real)
e_txt, _ = verdict(*expert)
within_half = -0.5 < expert[1] and expert[2] < 0.5                  # the expert resolves whole frames
display(Markdown("\n".join([
    f"- Sync expert, {len(ups)} test sentences: offsets of the generated sentences "
    + ", ".join(f"{int(k):+d} frames: {v}" for k, v in counts.items()) + f"; mean {e_txt} "
    + ("(within half a frame of the typical lead: the generated mouth leads the sound by the corpus's "
       "typical lag)" if within_half else "(more than half a frame from the typical lead)")
    + f". Its correlation with each sentence's true lag is r = {tracks:.2f} on the generated sentences, "
    f"against r = {tracks_real:.2f} on the real videos of the same {len(ups_real)} sentences "
    f"(`checkpoints/controls/per_utterance_sync.csv`)"
    + ((": the expert does see each sentence's own lag in real videos, and the model does not reproduce it, "
        "which no model that hears only the audio can know (why the ceiling of the opening r is below 1)."
        if abs(tracks) < 0.3 else ": the model partly follows each sentence's own lag.") if resolves else
       ": the expert cannot resolve a sentence's own lag even in real videos, so this says nothing about the model."),
    f"- Cross-check, notebook 2's estimator on {len(sync)} sentences (noisy): the real videos' lips lead by {sync.real_lag.mean():.2f} frames "
    + (f"(true lag {sync.true_lag.mean():.2f}; on the real videos the estimator is off by {miss_real:.2f} "
       "frames on average), " if sync.true_lag.notna().all() else "")
    + f"the generated ones by {sync.generated_lag.mean():.2f}; generated minus real {d_txt}: "
    + ("the interval holds 0, so at this sample size the estimator finds no difference between the "
       "generated and the real lead; it is too noisy to find a small one." if d_zero else
       "the interval excludes 0: the generated lips do not keep the real lead."),
    "- So: the generated lips keep the *typical* lead of the lips over the sound, learnt from the "
    "training videos, but not each sentence's own lead." if within_half and abs(tracks) < 0.3 and resolves else
    "- So: see the two lines above.",
])))
display(sync.round(2))                      # the estimator's values, sentence by sentence

# %% [markdown]
# ## 7. Metric pitfalls in the published code
#
# **uint8 PSNR.** The authors' PSNR squares the difference of two `uint8` arrays, so the difference
# and its square wrap around modulo 256: every squared error lies in 0..255, the MSE is at most 255
# and the PSNR never drops below $10\log_{10}(255^2/255) = 24.07$ dB — two *unrelated* images score
# about 28 dB. **LMD sum vs mean.** Their LMD sums the 20 point distances per frame:
# 20× the per-point mean, so numbers from papers using the two conventions are not comparable. The
# paper itself does not state which normalisation its LMD values use, and they are implausible for
# the sum (`docs/EVALUATION.md`, section 4), so neither bar below is on the paper's scale.

# %%
d0 = test_set[0]
with torch.no_grad():
    f0 = to_uint8_frames(G(d0["lms"][None], d0["ref"][None])[0][0].numpy())
r0 = to_uint8_frames(d0["video"].numpy())
a, g = r0[0], f0[0]
b = to_uint8_frames(test_set[len(test_set) - 1]["video"].numpy())[0][::-1]      # another speaker, flipped
noise = np.random.default_rng(SEED).integers(0, 256, a.shape, dtype=np.uint8)
pairs = {"real vs unrelated lips": b, "real vs uniform noise": noise, f"real vs {named['full']} (frame 0)": g}
pit = pd.DataFrame([dict(pair=k, float_psnr=M.psnr(a, x, data_range=255), legacy_uint8_psnr=M.legacy_uint8_psnr(a, x))
                    for k, x in pairs.items()])
BAR_NAMES = {"float_psnr": "PSNR on float differences (ours)", "legacy_uint8_psnr": "PSNR on wrapped uint8 differences (authors' code)"}
lr_, lf_ = lmd_detect.detect(r0), lmd_detect.detect(f0)
lmd_mean, lmd_sum = M.lmd(lr_, lf_).value, M.lmd(lr_, lf_, reduce="sum").value
fig, ax = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw=dict(width_ratios=[1.6, 1]))
pit.set_index("pair")[["float_psnr", "legacy_uint8_psnr"]].rename(columns=BAR_NAMES).plot.barh(ax=ax[0])
ax[0].set_yticks(ax[0].get_yticks(), [textwrap.fill(t.get_text(), 26) for t in ax[0].get_yticklabels()], fontsize=8)
floor_db = 20 * np.log10(np.sqrt(255.0))                 # the wrapped PSNR's floor (largest wrapped MSE 255)
ax[0].axvline(floor_db, ls="--", color="grey", label=f"floor of the wrapped PSNR ({floor_db:.2f} dB)")
ax[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False)   # clear of the bars
ax[0].set_xlabel("PSNR (dB)"); ax[0].set_ylabel(""); ax[0].set_title("uint8 wrap-around, one frame", fontsize=9)
ax[1].bar(["mean over\npoints\n(this repo)", "sum over\npoints\n(authors' code)"], [lmd_mean, lmd_sum])
ax[1].tick_params(axis="x", labelsize=8)
ax[1].set_ylim(0, 1.4 * lmd_sum)
ax[1].text(0.5, 0.97, "the paper does not state\nits LMD normalisation", transform=ax[1].transAxes, ha="center",
           va="top", fontsize=7, color="0.3")
ax[1].set_title(f"LMD of one clip (px)\n{named['full']}" if source["embedded"] else
                f"LMD of one {source['corpus'].name} clip (px, {lmd_name})\n{named['full']}", fontsize=8)
fig.tight_layout(); fig.savefig(figure_path("eval_pitfalls.png"), **SAVE)
print(pit.round(2).to_string(index=False)); print(f"LMD mean {lmd_mean:.3f} px, sum {lmd_sum:.3f} px")

# %% [markdown]
# ## Exercises
#
# Each exercise has a hint (click to open) and a worked solution (on the exported page, click
# "Solution" to open it) whose check fails on a wrong answer. They use the subset of section 2 and
# the shipped tables, a few seconds each. Exercise 5 closes Appendix B.
#
# **Exercise 1 · Fool LMD.** Score a "model" that ignores the audio and draws each speaker's average
# mouth: for every clip of the subset, the mean (centred) mouth of that speaker over its *other*
# sentences, repeated over the 16 frames, against the clip's true landmarks. How close does it get to
# the full model's LMD? Why is the shuffled-audio column the better control?
#
# <details><summary>Hint</summary>
#
# `sub[i]["landmarks"]` is a clip's (16, 20, 2) true mouth; centre each frame on its mean point before
# averaging, and score with `M.lmd(true, predicted).value`. A constant mouth cannot follow the speech;
# a model driven by another sentence's audio shows what of its score the audio explains.
# </details>

# %% tags=["solution"]
true_lm = {}
for i in range(len(sub)):
    d = sub[i]
    true_lm.setdefault((d["speaker"], d["utterance"]), []).append(d["landmarks"].numpy().astype(float))
centred = {k: np.concatenate(v) - np.concatenate(v).mean(1, keepdims=True) for k, v in true_lm.items()}
mine = []
for i in range(len(sub)):
    d = sub[i]
    others = [c for (spk, utt), c in centred.items() if spk == d["speaker"] and utt != d["utterance"]]
    mouth = np.concatenate(others).mean(0)                               # (20, 2): the speaker's average mouth
    mine.append(M.lmd(d["landmarks"].numpy().astype(float), np.repeat(mouth[None], 16, 0)).value)
mine = np.array(mine)
print(f"average mouth LMD {mine.mean():.2f} px, full model {live.lmd.mean():.2f} px with its own audio and "
      f"{live.lmd_shuffled.mean():.2f} px with another sentence's audio (subset of {len(sub)} clips)")
from lmg_lib.eval.protocol import landmark_baselines
assert np.allclose(mine, landmark_baselines(sub).lmd_average_mouth, atol=1e-9)   # the evaluation's own control
print("Why the shuffled-audio column is the better control: the average mouth is a different 'model' (a constant "
      "in landmark space, with none of the network's blur or artefacts), so a gap to it mixes what the audio "
      "explains with how the network draws. The same network driven by another sentence's audio keeps everything "
      "but the audio's content (reference frame, weights, artefacts): the gap between the two columns is what the "
      "audio itself explains.")

# %% [markdown]
# **Exercise 2 · Shift the audio.** Drive the full model with each clip's spectrogram rolled by
# k = -4, -2, -1, 0, 1, 2, 4 video frames (4 LMS steps per frame; negative = earlier) and plot LMD
# against k. Is the minimum at 0?
#
# <details><summary>Hint</summary>
#
# `d["lms"]` is (1, 4·16, 128): time is the second axis. `torch.roll(lms, 4 * k, dims=1)` moves the
# sound k frames later (negative k: earlier; the end wraps round to the start, so a large |k|
# also feeds the clip sound from its other end). Detect the generated landmarks with
# `detector.detect` on `to_uint8_frames(...)` and score with `M.lmd`; at k = 0 you must get the
# per-clip LMD section 2 computed live.
# </details>

# %% tags=["solution"]
shifts = [-4, -2, -1, 0, 1, 2, 4]
lms_all = torch.stack([sub[i]["lms"] for i in range(len(sub))])          # (N, 1, 64, 128)
ref_all = torch.stack([sub[i]["ref"] for i in range(len(sub))])
time_axis = 2                                                            # 4 LMS steps per video frame
assert lms_all.shape[time_axis] == 4 * sub[0]["video"].shape[1] != lms_all.shape[3]   # not the mel axis
lmd_k = {}
for k in shifts:
    with torch.inference_mode():
        vids_k = G(torch.roll(lms_all, 4 * k, dims=time_axis), ref_all)[0].numpy()
    lmd_k[k] = np.array([M.lmd(sub[i]["landmarks"].numpy().astype(float),
                               detector.detect(to_uint8_frames(vids_k[i]))).value for i in range(len(sub))])
fig, ax = plt.subplots(figsize=(4, 2.6))
ax.plot(shifts, [lmd_k[k].mean() for k in shifts], "o-")
ax.set_xlabel("audio rolled later by k frames"); ax.set_ylabel("mean LMD (px)")
ax.set_title(f"{named['full']}, subset of section 2", fontsize=8); fig.tight_layout(); plt.show()
means = {k: float(v.mean()) for k, v in lmd_k.items()}
k_best = min(means, key=means.get)
# is the minimum at 0? each neighbour against k = 0, paired by clip: an interval that holds 0 is a tie
beside = {k: mean_ci(lmd_k[k] - lmd_k[0]) for k in (-1, 1)}
ties = [k for k, (m, lo, hi) in beside.items() if lo <= 0 <= hi]
print({k: round(v, 3) for k, v in means.items()}, f"minimum at k = {k_best}; " + "; ".join(
    f"k = {k:+d} minus k = 0: {m:+.3f} [{lo:+.3f}, {hi:+.3f}] px" for k, (m, lo, hi) in beside.items())
    + (f": k = {', '.join(f'{k:+d}' for k in ties)} cannot be told apart from k = 0 on this subset, so the "
       "minimum is at 0 only to within one frame (40 ms)" if ties else ": both neighbours are worse than k = 0"))
assert np.abs(lmd_k[0] - live.lmd.to_numpy()).max() < 2e-3              # k = 0 is section 2's live evaluation
assert means[max(shifts)] > means[0] and means[min(shifts)] > means[0]  # shifted either way, sync is lost
assert abs(k_best) <= 1                                                 # the minimum is within a frame of 0

# %% [markdown]
# **Exercise 3 · The uint8 trap.** Compute the authors' PSNR yourself, with the difference and its
# square taken in `uint8` as their code does, for the three pairs of section 7. What is its floor, and
# can any of the paper's PSNR values (Tables 2 and 3) be told apart from a wrapped one?
#
# <details><summary>Hint</summary>
#
# In numpy, `a - b` of two `uint8` arrays wraps modulo 256, and so does its square. The floor follows
# from the largest possible MSE.
# </details>

# %% tags=["solution"]
def uint8_psnr(a, b):
    d = a.astype(np.uint8) - b.astype(np.uint8)                          # wraps modulo 256
    mse = np.mean(d * d)                                                 # so does the square: each term < 256
    return 100.0 if mse == 0 else 20 * np.log10(255.0 / np.sqrt(mse))


by_hand = {k: uint8_psnr(a, x) for k, x in pairs.items()}
floor = 20 * np.log10(255.0 / np.sqrt(255.0))
paper_psnr = np.r_[table2()["PSNR"].to_numpy(float), table3()["PSNR"].dropna().to_numpy(float)]
above = int((paper_psnr > floor).sum())
print({k: round(float(v), 2) for k, v in by_hand.items()}, f"floor {floor:.2f} dB; the paper's PSNRs lie in "
      f"[{paper_psnr.min():.2f}, {paper_psnr.max():.2f}] dB: {above} of {len(paper_psnr)} are above the floor "
      "(a value above it is possible with or without wrapping; one below it would rule wrapping out)")
assert np.allclose(list(by_hand.values()), [M.legacy_uint8_psnr(a, x) for x in pairs.values()], atol=1e-9)
# every published PSNR lies above the floor: none of them rules wrapping out
assert abs(floor - 10 * np.log10(255.0)) < 1e-12 and above == len(paper_psnr)

# %% [markdown]
# **Exercise 4 · Does the sync expert hear the difference?** From
# `per_utterance_sync.csv` of the shipped full model, compute the full model's mean LSE-C with its own audio and
# with another sentence's audio, and the paired difference per sentence with its 95 % interval. On how
# many sentences is LSE-C higher with the own audio?
#
# <details><summary>Hint</summary>
#
# The columns `lse_c` and `lse_c_shuffled` are per sentence already; LSE-C is the depth of the
# distance curve's minimum (higher = a clearer match). A t interval as in notebook 5's exercises.
# </details>

# %% tags=["solution"]
own, other = ups["lse_c"], ups["lse_c_shuffled"]
d_c = mean_ci(own - other)
print(f"LSE-C {own.mean():.3f} own audio, {other.mean():.3f} another sentence's; paired difference "
      f"{d_c[0]:+.3f} [{d_c[1]:+.3f}, {d_c[2]:+.3f}]; higher with the own audio on {(own > other).sum()} of {len(ups)}")
summary_full = pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "summary.csv").set_index("metric")
# the evaluation's own summary, from the full-precision values (the csv keeps 6 significant digits)
assert abs(own.mean() - summary_full.loc["lse_c", "mean"]) < 1e-5
assert abs(other.mean() - summary_full.loc["lse_c_shuffled", "mean"]) < 1e-5
# the interval by a second route (scipy's t distribution)
from scipy import stats
diff_c = (own - other).to_numpy()
assert np.allclose(d_c[1:], stats.t.interval(0.95, len(diff_c) - 1, loc=diff_c.mean(), scale=stats.sem(diff_c)))
# the answer on the shipped model: the own audio wins on most sentences, and by a sign test, not by chance
wins = int((own > other).sum())
assert wins > len(ups) / 2 and stats.binomtest(wins, len(ups)).pvalue < 0.01, wins

# %% [markdown]
# ## Appendix A (beyond the paper): a real face
#
# Nothing in this appendix is in the paper's evaluation. The full model has only seen the embedded
# corpus's rendered lips. What does it do with a photograph it never saw? The model drawn here is the
# one the committed benchmark measured (its folder is read from the benchmark's table and printed
# in the figure's title: the `cpu` recipe's `checkpoints/full/`, the same recipe as `photo_full` in
# Appendix B, not the `cpu2` model of the tables above). scikit-image's astronaut portrait (NASA, public domain) and an espeak-ng
# sentence: dlib finds the mouth, the crop goes through the generator, and `lmg generate --view face`
# pastes each generated crop back into the photo (soft mask, colours matched on a skin ring; beyond
# the paper); `--view warp` instead moves the photo's own mouth to the mouth shape of each generated
# crop (a piecewise-affine warp; beyond the paper). Rows: crop mode (the paper's output), face mode,
# warp mode; the video shows face (left) and warp (right) with the speech. The numbers are the
# benchmark's, `benchmarks/real_photos.py`, committed in `docs/real_photos/` and explained in
# `docs/REAL_FACES.md`: nothing was tuned on this photo.

# %%
import importlib.util
import soundfile
from skimage import data as skdata
from lmg_lib.corpus.speech import Voice, synthesize
from lmg_lib.infer import lip_image_from
from lmg_lib.infer.paste import FacePaster

spec = importlib.util.spec_from_file_location("real_photos", REPO_ROOT / "benchmarks" / "real_photos.py")
benchmark = importlib.util.module_from_spec(spec); spec.loader.exec_module(benchmark)   # its sentence and targets
bench = pd.read_csv(REPO_ROOT / "docs" / "real_photos" / "real_photos.csv")
bench_run = bench.checkpoint.iloc[0].split("/")[1]                 # the run the benchmark measured
G_b, cfg_b = shipped_model(bench_run)
bench_name = f"full model, {describe_run(SHIPPED_CHECKPOINTS / bench_run)['recipe']} (checkpoints/{bench_run}/)"
S = cfg_b.model.image_size
speech = synthesize(benchmark.SENTENCE, Voice(), cfg_b.audio)
photo = lip_image_from(skdata.astronaut(), S, "face")            # dlib: the lip crop and its box
crops = generate_video(G_b, cfg_b, (speech.audio, speech.sample_rate), photo["lip"])   # (N, S, S, 3)
paster = FacePaster(photo["image"], photo["box"])
x0, y0, side = photo["box"]
lo = lambda im: im[max(y0 - side, 0):y0 + 2 * side, max(x0 - side, 0):x0 + 2 * side]   # the lower face
faces = np.stack([lo(paster(c)) for c in crops])                  # (N, h, w, 3) pasted photos
# warp mode: the mouth shape found on each generated crop moves the photo's own mouth
from lmg_lib.eval.lip_landmarks import load_landmark_regressor
from lmg_lib.infer.warp import warp_photo_stream
reg = load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt")
warped = np.stack([lo(f) for f in warp_photo_stream(G_b, cfg_b, photo, crops, reg)])
k = np.linspace(0, len(crops) - 1, 6).round().astype(int)
fig, ax = plt.subplots(3, 7, figsize=(11, 5.4))
for row, (imgs, label) in enumerate(((crops, "crop mode"), (faces, "face mode"), (warped, "warp mode"))):
    first = photo["lip"] if row == 0 else lo(photo["image"])
    for j, im in enumerate([first, *imgs[k]]):
        ax[row, j].imshow(im); ax[row, j].axis("off")
        ax[row, j].set_title("input" if j == 0 else f"{label}, t={k[j - 1] / 25:.2f} s", fontsize=7)
fig.suptitle(f"{bench_name} on a real photo it never saw (astronaut, scikit-image; espeak-ng speech)",
             fontsize=9)
fig.tight_layout(); fig.savefig(figure_path("real_face_astronaut.png"), **SAVE); plt.show()
wav = artefact_dir("evaluation") / "astronaut_speech.wav"
soundfile.write(wav, speech.audio, speech.sample_rate)
even = lambda v: v[:, :v.shape[1] // 2 * 2, :v.shape[2] // 2 * 2]
display(Video(str(write_video(artefact_dir("evaluation") / "astronaut_face_warp.mp4",
                              np.concatenate([even(faces), even(warped)], axis=2), fps=25, audio_path=wav)),
              embed=True, width=480))
print(f"the benchmark's rows for {bench_name}; targets: " + ", ".join(f"{k} {op} {t}" for k, (op, t) in benchmark.TARGETS.items()))
astro = bench[bench.photo == "astronaut"][["photo", "mode", "ssim_out", "lip_dE", "open_r", "cpbd_ratio", "opening_by"]]
astro.assign(missed=[", ".join(f"{k} {r[k]:.3f}" for k in benchmark.TARGETS if benchmark.holds(k, r[k]) == "missed")
                     or "none" for _, r in astro.iterrows()]).round(3)       # each row's targets it misses

# %% [markdown]
# Read the three rows (crop, face, warp) against the benchmark's targets printed above (the
# `missed` column names each row's misses; `docs/REAL_FACES.md`: SSIM outside the mouth, lip colour delta E, opening r with the phoneme
# timing, CPBD relative to the input's). The crop itself is a soft, corpus-like mouth with stripe and
# checkerboard artefacts: the identity skips keep the skin's colour, not its texture. Pasting it back
# does **not** hide them: in face mode the pasted mouth is the crop scaled up, and where it opens its
# stripes show plainly in the frames above (the skin around it is the photo's, which is what keeps
# `ssim_out` high). Warping keeps the photo's pixels (so its identity numbers hold almost by
# construction) and only its opening r, measured by dlib on the warped photo, says whether it follows
# the speech. One photo and one sentence: the benchmark's circular-shift null (its `open_r_null95`
# column) says how high r gets by chance.

# %% [markdown]
# ## Appendix B (beyond the paper): a model trained on the photographic corpus style
#
# `lmg corpus --style photo` renders the same speakers, sentences and mouths with photographic skin
# and lip texture and a per-sentence camera (notebook 1 shows the style; `docs/REAL_FACES.md` says how
# it is made). `checkpoints/photo_full/` is the full model trained on it with the recipe printed below,
# and scored on that style's held-out speakers against its own controls. Does a photographic
# training corpus help on a real photo? Below: the same astronaut and sentence through both
# shipped models, and the benchmark's rows for each (`docs/real_photos/`).

# %%
from lmg_lib.eval.results import photo_markdown
photo_md = photo_markdown(SHIPPED_CHECKPOINTS)
if photo_md is None:
    print("checkpoints/photo_full/ is not shipped or not evaluated: python tools/make_shipped.py corpus --style "
          "photo --data data_photo, then train / evaluate photo_full and photo_controls with --data data_photo")
else:
    photo_recipe = describe_run(SHIPPED_CHECKPOINTS / "photo_full")["recipe"]
    display(Markdown(f"`photo_full`: {photo_recipe}\n\n"                      # its row named by run and recipe
                     + photo_md.replace("| full model |", f"| photo_full ({photo_recipe.split(',')[0]}) |")))
    from lmg_lib.eval.results import PHOTO_MODELS
    pl = results_long(SHIPPED_CHECKPOINTS, PHOTO_MODELS, "photo_controls", "photo_ceiling")
    at = lambda model, f="mean": float(pl[(pl.model == model) & (pl.metric == "lmd")][f].iloc[0])
    beats = at("full model", "ci_high") < at("average mouth", "ci_low")
    display(Markdown(f"On its own held-out speakers `photo_full`'s LMD is {at('full model'):.2f} px against "
                     f"{at('average mouth'):.2f} for that style's average mouth: it "
                     + ("beats the constant mouth there." if beats else "does **not** beat the constant mouth "
                        "there, so what it gains on the photo below does not come from a mouth that follows the "
                        "speech better on its own corpus.")))
    G_photo, cfg_photo = shipped_model("photo_full")
    crops_photo = generate_video(G_photo, cfg_photo, (speech.audio, speech.sample_rate), photo["lip"])
    faces_photo = np.stack([lo(paster(c)) for c in crops_photo])
    warped_photo = np.stack([lo(f) for f in warp_photo_stream(G_photo, cfg_photo, photo, crops_photo, reg)])
    fig, ax = plt.subplots(6, 7, figsize=(11, 10.8))
    short = lambda run: f"{run} ({describe_run(SHIPPED_CHECKPOINTS / run)['recipe'].split(',')[0]})"   # e.g. 'full (cpu recipe)'
    rows_ = ((crops, f"{short(bench_run)}, crop"), (crops_photo, f"{short('photo_full')}, crop"),
             (faces, f"{short(bench_run)}, face"), (faces_photo, f"{short('photo_full')}, face"),
             (warped, f"{short(bench_run)}, warp"), (warped_photo, f"{short('photo_full')}, warp"))
    for row, (imgs, label) in enumerate(rows_):
        first = photo["lip"] if row < 2 else lo(photo["image"])
        for j, im in enumerate([first, *imgs[k]]):
            ax[row, j].imshow(im); ax[row, j].axis("off")
            ax[row, j].set_title("input" if j == 0 else f"{label}, t={k[j - 1] / 25:.2f} s", fontsize=7)
    fig.suptitle(f"{bench_name}, default corpus, vs photo_full "
                 f"({photo_recipe}, photographic corpus style) on the astronaut", fontsize=9)
    fig.tight_layout(); fig.savefig(figure_path("real_face_photo_style.png"), **SAVE); plt.show()
    bench_photo = pd.read_csv(REPO_ROOT / "docs" / "real_photos" / "real_photos_photo_full.csv")
    both = pd.concat([bench, bench_photo])
    both["model"] = both.checkpoint.str.split("/").str[1]
    display(both[both.photo == "astronaut"][["model", "mode", "ssim_out", "lip_dE", "open_r", "open_r_ci_low",
                                             "open_r_ci_high", "open_r_null95", "cpbd_ratio"]].round(3))
    # the same astronaut with three more sentences and voices: mean opening r over every sentence
    more = pd.read_csv(REPO_ROOT / "docs" / "real_photos" / "real_photos_more_sentences.csv")
    every = pd.concat([both[both.photo == "astronaut"].assign(sentence=benchmark.SENTENCE),
                       more.assign(model=more.checkpoint.str.split("/").str[1])])
    mean_r = every.groupby(["mode", "model"])["open_r"].mean().unstack("model")
    target_r = benchmark.TARGETS["open_r"][1]
    below = every[every.open_r < target_r].groupby("model")["sentence"].nunique()
    display(Markdown(f"Mean opening r over the {every.sentence.nunique()} sentences, by mode "
                     f"(target >= {target_r}; sentences with some mode below it: "
                     + ", ".join(f"{m} {below.get(m, 0)}" for m in mean_r.columns) + ")\n\n"
                     + to_markdown(mean_r)))

# %% [markdown]
# Read the six rows against the same targets. On this photo and this sentence the photographic style
# helps where the mouth's *shape* matters: in crop mode every target holds for `photo_full`, the lip
# regressor finds a mouth in most of its frames (column `open_detected` of
# `docs/real_photos/real_photos_photo_full.csv`, not drawn here), and in warp
# mode, whose motion comes only from the mouth shapes found on the crops, the opening r against the
# phoneme timing rises well above that of `full` (the full model with the `cpu` recipe, the
# benchmark's run above), with intervals apart. It does not help
# everywhere: pasted back (face mode) its lips are further from the photo's colour and softer.
#
# The sentence is GRID grammar, the kind both models were trained on. On the ordinary sentences with
# other voices (`docs/real_photos/real_photos_more_sentences.csv`) the opening r of both models falls
# below the target, in one case to chance; the mean over every sentence (the table above) says which
# model is ahead in each mode. `lmg generate` uses `photo_full` for a face photo on this evidence
# alone: ahead on one person's photo, while on its own corpus it does not beat the constant mouth
# (the sentence above), so a reader should not take it for a better model, only for the better of
# two on this photo (a lip crop gets the shipped `cpu2` model, which has not been compared with
# `photo_full` on real photos). The real-photo numbers are one person's, not a general result
# (`docs/REAL_FACES.md`); `photo_full` retrained with the `cpu2` recipe is still to do.

# %% [markdown]
# **Exercise 5 (Appendix B) · One photo is an anecdote.** From the committed benchmark tables
# (`docs/real_photos/real_photos.csv`, `real_photos_photo_full.csv` for the GRID sentence,
# `real_photos_more_sentences.csv` for the others), list per sentence the warp-mode opening r of
# `full` and `photo_full` with their intervals. On how many sentences is `photo_full` ahead, and on
# how many do the intervals overlap? (To go further, run `benchmarks/real_photos.py --lfw 0 --sentence
# S --voice V` with both checkpoints on sentences of your own.)
#
# <details><summary>Hint</summary>
#
# The astronaut's GRID sentence is `benchmark.SENTENCE`; its rows have no `sentence` column. An
# interval is `[open_r_ci_low, open_r_ci_high]` (NaN where the benchmark could not compute one).
# </details>

# %% tags=["solution"]
tables = {n: pd.read_csv(REPO_ROOT / "docs" / "real_photos" / f) for n, f in
          (("grid", "real_photos.csv"), ("grid_photo", "real_photos_photo_full.csv"),
           ("more", "real_photos_more_sentences.csv"))}
rows = pd.concat([tables["grid"].assign(sentence=benchmark.SENTENCE), tables["grid_photo"].assign(sentence=benchmark.SENTENCE),
                  tables["more"]])
rows = rows[(rows.photo == "astronaut") & (rows["mode"] == "warp")].assign(model=lambda t: t.checkpoint.str.split("/").str[1])
warp = rows.pivot_table(index="sentence", columns="model", values=["open_r", "open_r_ci_low", "open_r_ci_high"])
ahead = (warp["open_r"]["photo_full"] > warp["open_r"]["full"])
overlap = ~((warp["open_r_ci_low"]["photo_full"] > warp["open_r_ci_high"]["full"])
            | (warp["open_r_ci_low"]["full"] > warp["open_r_ci_high"]["photo_full"]))
display(Markdown(to_markdown(warp["open_r"].assign(photo_full_ahead=ahead, intervals_overlap=overlap))))
print(f"photo_full ahead on {ahead.sum()} of {len(warp)} sentences; intervals overlap (or are missing) on {overlap.sum()}")
# the check: the same sentences, means and counts as Appendix B's table, which reads the tables its own way
assert len(warp) == every.sentence.nunique()
w = every[every["mode"] == "warp"].set_index(["sentence", "model"])
assert ahead.sum() == sum(w.loc[(t, "photo_full"), "open_r"] > w.loc[(t, "full"), "open_r"] for t in warp.index)
apart = lambda a, b: w.loc[a, "open_r_ci_low"] > w.loc[b, "open_r_ci_high"]          # a's interval above b's
assert overlap.sum() == sum(not (apart((t, "photo_full"), (t, "full")) or apart((t, "full"), (t, "photo_full")))
                            for t in warp.index)
assert np.allclose(warp["open_r"].mean().loc[["full", "photo_full"]], mean_r.loc["warp", ["full", "photo_full"]], atol=1e-12)

# %% [markdown]
# ## Checks

# %%
assert "full" in shipped and not long.empty
assert all(stat <= tol for stat, tol in gaps.values()), gaps      # section 2's reproduction
assert live.lmd.mean() < 0.9 * live.lmd_shuffled.mean() and live.lmd.mean() < 0.92 * static_sub.lmd.mean()
assert live.opening_r.mean() > 0.4 and live.opening_r_shuffled.mean() < 0.2
assert pit["legacy_uint8_psnr"].min() > 24 and pit.loc[1, "float_psnr"] < 15
assert abs(lmd_sum - 20 * lmd_mean) < 1e-9
assert len(sync) == len(utts) and sync[["real_lag", "generated_lag"]].notna().all().all()
assert tracks_real > 0.5            # the expert sees each sentence's own lag in the real videos (else §6 says nothing)
assert video_path.stat().st_size > 10_000
print("checks passed")
