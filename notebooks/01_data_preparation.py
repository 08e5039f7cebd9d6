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
# # 1 · Data: a talking-lips corpus and the preprocessing the paper uses
#
# The paper trains on **GRID** (33 speakers × 1000 sentences such as *"bin blue at f two now"*,
# 25 fps), **LRW** and LDC. None of them can be downloaded here, so this repository ships a
# generator for an **embedded corpus** with the same structure:
#
# * real speech from the espeak-ng synthesiser, with the time of every phoneme;
# * 64×64 lip frames rendered from that phoneme timing (phoneme → viseme → mouth shape, with smooth
#   coarticulation), 30+ visually distinct speakers;
# * the **exact** 20 mouth landmarks (points 48–67 of the 68-point convention) of every frame, and
#   the **lag** by which the lips lead the sound in each utterance — ground truth that real corpora
#   do not have, and that notebooks 2 and 6 use to check the analyses.
#
# The corpus is written in GRID's on-disk layout and then goes through **the same preprocessing**
# as real GRID or LRW: landmarks → lip crop → log-mel spectrogram per video frame → 16-frame clips
# (0.64 s, a new clip every 8 frames) → shards + a manifest → speaker-disjoint splits.
#
# **With the real corpus**, set `CORPUS_PATH` to your GRID (or LRW) folder (layouts in
# `docs/DATA.md`) and `BACKEND = "dlib"`: nothing else changes.

# %% tags=["parameters"]
CORPUS_PATH = None       # None: build the embedded corpus; or a path to real GRID / LRW
LAYOUT = "grid"          # "grid" or "lrw" (for CORPUS_PATH)
BACKEND = "groundtruth"  # landmark backend: "groundtruth" (embedded), "dlib", "face_alignment"
N_SPEAKERS = 32          # embedded corpus: speakers (the shipped checkpoint used 32)
UTTERANCES = 2           # embedded corpus: sentences per speaker (full scale: 40)
IMAGE_SIZE = 64
SEED = 0
WORKERS = 0              # 0: all CPU cores

# %%
import json
import time
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Video, display

from lmg_lib.corpus import build as corpus_mod
from lmg_lib.data import LipClipDataset
from lmg_lib.data.audio import log_mel_spectrogram
from lmg_lib.data.preprocess import preprocess
from lmg_lib.data.readers import read_corpus
from lmg_lib.notebook import SAVE, artefact_dir, figure_path
from lmg_lib.util.audio_io import load_audio
from lmg_lib.viz import frame_strip, save_sample_strip

embedded = CORPUS_PATH is None
corpus_dir = artefact_dir("corpus") if embedded else Path(CORPUS_PATH)
dataset_dir = artefact_dir("dataset")
print("corpus:", corpus_dir, "| dataset:", dataset_dir)

# %% [markdown]
# ## 1. Generate the embedded corpus
#
# Every random choice (voice, look, sentence, lag, noise) comes from a generator seeded with the
# speaker and utterance, so the same seed always gives the same corpus, and a smaller corpus is a
# subset of a larger one: speaker `s30` is the same person with the same first sentences whether the
# corpus has 2 or 40 sentences per speaker. Re-running skips finished utterances.

# %%
if embedded:
    ccfg = corpus_mod.CorpusConfig(n_speakers=N_SPEAKERS, utterances_per_speaker=UTTERANCES,
                                   image_size=IMAGE_SIZE, seed=SEED, n_workers=WORKERS)
    t0 = time.time()
    corpus_mod.build_corpus(corpus_dir, ccfg)
    print(f"{N_SPEAKERS} speakers x {UTTERANCES} utterances in {time.time() - t0:.1f} s, "
          f"{corpus_mod.disk_size(corpus_dir) / 1e6:.1f} MB on disk")
utts = read_corpus(corpus_dir, LAYOUT)
print(len(utts), "utterances from", len({u.speaker for u in utts}), "speakers; first:", utts[0].speaker, utts[0].utt)
print("files of one utterance:", *[p.relative_to(corpus_dir) for p in (utts[0].video, utts[0].audio, utts[0].align) if p])

# %% [markdown]
# ## 2. One utterance: sound, phonemes, lips
#
# Below: the log-mel spectrogram of one sentence with its word boundaries (from the GRID `.align`
# file), the mouth opening measured from the ground-truth landmarks, and the phoneme onsets shifted
# by the utterance's lag: the mouth moves **before** the sound it makes.

# %%
u = utts[0]
meta = np.load(u.sidecar) if u.sidecar else None
y = load_audio(u.audio)
lms = log_mel_spectrogram(y)
fig, ax = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
ax[0].imshow(lms.T, origin="lower", aspect="auto", cmap="magma", extent=[0, lms.shape[0] / 4, 0, 128])
ax[0].set(ylabel="mel band", title=f"{u.speaker}/{u.utt}: log-mel spectrogram (4 steps per video frame)")
if meta is not None:
    for w, s in zip(meta["words"], meta["word_start"]):
        ax[0].axvline(s / 640, color="w", lw=0.6); ax[0].text(s / 640 + 0.3, 118, str(w), color="w", fontsize=8)
    lm = meta["landmarks"]
    opening = np.linalg.norm(lm[:, 18] - lm[:, 14], axis=1)      # inner lip: point 66 - point 62
    ax[1].plot(opening, label="mouth opening (inner lips, px)")
    lag = float(meta["lag_ms"])
    ax[1].set(xlabel="video frame (40 ms)", ylabel="px",
              title=f"lips lead the sound by {lag:.0f} ms in this utterance ({lag / 40:.1f} frames)")
    ax[1].legend(fontsize=8)
fig.tight_layout(); fig.savefig(figure_path("data_utterance.png"), **SAVE)

# %% [markdown]
# A strip of consecutive frames with the ground-truth landmarks (outer lip cyan, inner yellow),
# and the mp4 with its sound, exactly as a GRID video would be read.

# %%
if embedded:
    save_sample_strip(corpus_dir, figure_path("data_sample_strip.png"), speaker=u.speaker, utt=u.utt)
    display(Video(str(u.video), embed=True, width=256))
    speakers = sorted({x.speaker for x in utts}, key=lambda s: int(s[1:]))
    from lmg_lib.util.video_io import read_frames
    faces = [read_frames(next(x.video for x in utts if x.speaker == s))[10] for s in speakers]
    frame_strip(np.stack(faces), path=figure_path("data_speakers.png"), cols=min(16, len(faces)),
                titles=speakers, scale=1.0)
    plt.close("all")

# %% [markdown]
# ## 3. Preprocess: crops, spectrograms, clips, shards, splits
#
# As the authors: landmarks → a square lip crop around the mouth → 64×64 RGB; one spectrogram slice
# per video frame; 16-frame clips every 8 frames. Unlike the authors we keep **one crop box per
# utterance** (median over frames) so landmark jitter does not shake the crop, and the splits are
# **speaker-disjoint** (the paper holds out speakers too: GRID's s33). Shards carry checksums; a
# damaged shard is reported, never used.

# %%
t0 = time.time()
manifest = preprocess(corpus_dir, dataset_dir, layout=LAYOUT, backend=BACKEND, size=IMAGE_SIZE,
                      workers=WORKERS, progress=True)
print(f"preprocessed in {time.time() - t0:.1f} s")
print("split rule:", manifest["splits"]["rule"])
for split in ("train", "val", "test"):
    spk = sorted({c["speaker"] for c in manifest["clips"] if c["split"] == split}, key=lambda s: (len(s), s))
    n = sum(c["split"] == split for c in manifest["clips"])
    print(f"{split:>5}: {n:4d} clips from {len(spk)} speakers {spk if len(spk) <= 8 else spk[:3] + ['...'] + spk[-2:]}")

# %% [markdown]
# ## 4. What the model sees
#
# One training example: the clip's spectrogram $s$ (1×64×128), a **reference** lip frame of the
# same speaker from another sentence (the "glance"), the 16 real frames $v$ the generator must
# produce, and a **mismatched** real video $v_u$ (another sentence) for the discriminator's third
# stream.

# %%
test = LipClipDataset(dataset_dir, "test", seed=SEED)
item = test[0]
to_img = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).byte().permute(1, 2, 0).numpy()
fig = plt.figure(figsize=(12, 4.2))
gs = fig.add_gridspec(3, 9)
ax = fig.add_subplot(gs[:, 0:2]); ax.imshow(item["lms"][0].T, origin="lower", aspect="auto", cmap="magma"); ax.set_title("speech s (LMS)")
ax = fig.add_subplot(gs[0, 2]); ax.imshow(to_img(item["ref"])); ax.set_title("reference p", fontsize=8); ax.axis("off")
for k in range(6):
    a = fig.add_subplot(gs[1, 3 + k]); a.imshow(to_img(item["video"][:, 2 * k])); a.axis("off"); a.set_title(f"v, frame {2 * k}", fontsize=7)
    lm = item["landmarks"][2 * k].numpy(); a.plot(lm[:, 0], lm[:, 1], ".", ms=1.5, color="cyan")
    b = fig.add_subplot(gs[2, 3 + k]); b.imshow(to_img(item["mismatch"][:, 2 * k])); b.axis("off"); b.set_title(f"mismatch, {2 * k}", fontsize=7)
fig.tight_layout(); fig.savefig(figure_path("data_training_example.png"), **SAVE)
print({k: tuple(v.shape) for k, v in item.items() if hasattr(v, "shape")},
      "| speaker", item["speaker"], "| utterance", item["utterance"], "| lag", item["lag_ms"], "ms")

# %% [markdown]
# ## Checks

# %%
assert len(utts) >= 2 and all(u.video.exists() and u.audio.exists() for u in utts)
assert item["lms"].shape == (1, 64, 128) and item["video"].shape == (3, 16, IMAGE_SIZE, IMAGE_SIZE)
assert item["ref"].shape == (3, IMAGE_SIZE, IMAGE_SIZE) and item["mismatch"].shape == item["video"].shape
assert float(item["video"].min()) >= -1 and float(item["video"].max()) <= 1
assert item["mismatch_utterance"] != item["utterance"]
splits = {s: {c["speaker"] for c in manifest["clips"] if c["split"] == s} for s in ("train", "val", "test")}
assert not (splits["train"] & splits["test"]) and not (splits["train"] & splits["val"]), "splits share speakers"
if embedded:
    assert meta is not None and 0 <= float(meta["lag_ms"]) <= 200
    assert (opening.max() - opening.min()) > 2, "the mouth should open and close"
print("checks passed")
