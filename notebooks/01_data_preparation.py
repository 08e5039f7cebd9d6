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
# * synthesised speech from the espeak-ng synthesiser (not recordings), with the time of every phoneme;
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
# `docs/DATA.md`) and `BACKEND = "dlib"` (`params/grid_fixture.yaml` does it for a small fixture in
# GRID's layout, `docs/DATA.md` section 8). The cells that need the embedded corpus's ground truth
# say so and are skipped, and every figure then goes to the artefact folder, never over `figures/`.
#
# **Paper beside this notebook** (Chen et al., ECCV 2018, arXiv:1803.10404):
#
# | paper | here |
# |---|---|
# | Experiments, datasets: GRID, LRW, LDC and their splits (Table 1: clips of 16 frames; test speakers unseen) | sections 1 and 3; the embedded corpus stands in for GRID |
# | Fig. 2, the inputs: the raw speech $s_{raw}$, its log-mel spectrogram $s_{lms}$, the identity lip image $p$ | sections 2 and 4 |
# | Three-stream discriminator: the real but mismatched video $v_u$ it is shown | section 4 |
# | the lips lead the sound by a varying delay (the motivation of the correlation loss) | section 2 (drawn), notebook 2 (measured) |
#
# The spectrogram's one equation, how many STFT steps fall into one 40 ms video frame, is shown
# beside the library function that computes it in section 2.

# %% tags=["parameters"]
CORPUS_PATH = None       # None: build the embedded corpus; or a path to real GRID / LRW
LAYOUT = "grid"          # "grid" or "lrw" (for CORPUS_PATH)
BACKEND = "groundtruth"  # landmark backend: "groundtruth" (embedded), "dlib", "face_alignment"
BACKEND_KWARGS = {}      # e.g. {"detect_every": 5}: dlib's face detector on every 5th frame
N_SPEAKERS = 32          # embedded corpus: speakers (the shipped checkpoint used 32)
UTTERANCES = 2           # embedded corpus: sentences per speaker (full scale: 40)
IMAGE_SIZE = 64
SEED = 0
WORKERS = 0              # 0: all CPU cores

# %%
import json
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Video, display

from lmg_lib.corpus import build as corpus_mod
from lmg_lib.data import LipClipDataset
from lmg_lib.data.audio import log_mel_spectrogram
from lmg_lib.data.preprocess import preprocess
from lmg_lib.data.readers import read_corpus
from lmg_lib.notebook import SAVE, artefact_dir, figure_path, record_source, shown
from lmg_lib.util.audio_io import load_audio
from lmg_lib.util.grid_layout import parse_align
from lmg_lib.util.paths import in_repo
from lmg_lib.viz import frame_strip, save_sample_strip

embedded = CORPUS_PATH is None
corpus_dir = artefact_dir("corpus") if embedded else in_repo(CORPUS_PATH)   # relative: to the repository
dataset_dir = artefact_dir("dataset")
record_source(corpus_dir, built=embedded, layout=LAYOUT)    # notebooks 2 and 6 read the same corpus
source_note = "" if embedded else f" ({corpus_dir.name})"   # figures of another corpus say which
print("corpus:", shown(corpus_dir), "| dataset:", shown(dataset_dir), "| figures:", shown(figure_path("data_utterance.png").parent))

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
    corpus_mod.build_corpus(corpus_dir, ccfg)         # a progress bar (on a re-run it skips finished utterances)
    print(f"{N_SPEAKERS} speakers x {UTTERANCES} utterances, {corpus_mod.disk_size(corpus_dir) / 1e6:.1f} MB on disk")
    full = corpus_mod.CorpusConfig()                  # the default corpus: the one the shipped models trained on
    if (N_SPEAKERS, UTTERANCES) != (full.n_speakers, full.utterances_per_speaker):
        print(f"a smaller corpus than the shipped models' ({full.n_speakers} speakers x {full.utterances_per_speaker} "
              "utterances, `python tools/make_shipped.py corpus`): its numbers are this page's, not theirs")
utts = read_corpus(corpus_dir, LAYOUT)
print(len(utts), "utterances from", len({u.speaker for u in utts}), "speakers; first:", utts[0].speaker, utts[0].utt)
print("files of one utterance:", *[p.relative_to(corpus_dir) for p in (utts[0].video, utts[0].audio, utts[0].align) if p])

# %% [markdown]
# ## 2. One utterance: sound, phonemes, lips
#
# Below: the log-mel spectrogram of one sentence with its word boundaries (on the embedded corpus
# from its sidecar's word times; on GRID from the `.align` file), and the mouth opening measured from the ground-truth landmarks with the onsets of the
# lip-closing sounds *b, p, m* marked twice: grey where the sound starts, red where it starts
# minus the utterance's lag. The mouth closes at the red marks: it moves **before** the sound it
# makes.

# %%
u = utts[0]
meta = np.load(u.sidecar) if u.sidecar else None
y = load_audio(u.audio)
lms = log_mel_spectrogram(y)
fig, ax = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
# x is the video frame index, frame t centred at t (as the opening curve below): its 4 steps span t - 0.5 .. t + 0.5
im = ax[0].imshow(lms.T, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
                  extent=[-0.5, lms.shape[0] / 4 - 0.5, 0, 128])
cb = fig.colorbar(im, cax=ax[0].inset_axes([1.01, 0, 0.012, 1]))   # beside the panel: both keep one width
cb.set_label("log-mel, [-1, 1]", fontsize=7); cb.ax.tick_params(labelsize=6)
ax[0].set(ylabel="mel band", title=f"{u.speaker}/{u.utt}{source_note}: log-mel spectrogram (4 steps per video frame)")
if meta is None:    # a real corpus: words from its .align file; no ground-truth landmarks or lag
    for w in (parse_align(u.align) if u.align else []):
        if w.word != "sil":
            ax[0].axvline(w.start * 25 - 0.5, color="w", lw=0.6)
            ax[0].text(w.start * 25 - 0.2, 118, w.word, color="w", fontsize=8)
    ax[1].text(0.5, 0.5, "no ground-truth landmarks or lag in this corpus (embedded corpus only)",
               ha="center", va="center", transform=ax[1].transAxes); ax[1].set(xlabel="video frame (40 ms)", yticks=[])
    print("a corpus without sidecars: the mouth-opening panel needs the embedded corpus's ground truth")
else:
    for w, s in zip(meta["words"], meta["word_start"]):
        t_w = s / (int(meta["sample_rate"]) // int(meta["fps"])) - 0.5          # sample -> frame index (centred)
        ax[0].axvline(t_w, color="w", lw=0.6); ax[0].text(t_w + 0.3, 118, str(w), color="w", fontsize=8)
    lm = meta["landmarks"]
    opening = np.linalg.norm(lm[:, 18] - lm[:, 14], axis=1)      # inner lip: point 66 - point 62
    ax[1].plot(opening, label="mouth opening (inner lips, px)")
    lag = float(meta["lag_ms"])
    # onsets of the bilabials b, p, m: audio sample -> video frame (frame t covers (t + 0.5) / fps)
    spf = int(meta["sample_rate"]) // int(meta["fps"])                    # samples per video frame
    bilabial = [(str(ph), st / spf - 0.5) for ph, st in zip(meta["phonemes"], meta["phoneme_start"])
                if str(ph) in ("b", "p", "m")]
    for k, (ph, t_sound) in enumerate(bilabial):
        ax[1].axvline(t_sound, color="0.6", ls=":", lw=1, label="b/p/m: sound onset" if k == 0 else None)
        ax[1].axvline(t_sound - lag / 40, color="r", lw=1, label="b/p/m onset minus the lag" if k == 0 else None)
        ax[1].text(t_sound - lag / 40, opening.max(), ph, color="r", fontsize=8, ha="right", va="top")
    ax[1].set(xlabel="video frame (40 ms)", ylabel="px",
              title=f"lips lead the sound by {lag:.0f} ms in this utterance ({lag / 40:.1f} frames)")
    ax[1].set_ylim(-0.5, 1.45 * opening.max())
    ax[1].legend(fontsize=7, loc="upper left", ncol=3)
fig.tight_layout(); fig.savefig(figure_path("data_utterance.png"), **SAVE)

# %% [markdown]
# The paper's audio input is a log-amplitude mel spectrogram of the speech. Here it is, as the
# library computes it (the source is read from `lmg_lib`, not copied), with the slicing that gives
# every 40 ms video frame exactly four spectrogram steps:

# %%
from lmg_lib.data.audio import clip_lms
from lmg_lib.notebook import show_source
show_source(log_mel_spectrogram, clip_lms,
            equation=r"s_{lms} = \log \mathrm{Mel}_{128}\big(|\mathrm{STFT}(s_{raw})|^2\big), \qquad "
                     r"\text{video frame } t \text{ owns steps } 4t, \dots, 4t+3 \;(\text{hop } 10\text{ ms})")

# %% [markdown]
# A strip of consecutive frames with the ground-truth landmarks (outer lip cyan, inner yellow),
# and the mp4 with its sound, exactly as a GRID video would be read.

# %%
if embedded:
    save_sample_strip(corpus_dir, figure_path("data_sample_strip.png"), speaker=u.speaker, utt=u.utt, close=False)
    display(Video(str(u.video), embed=True, width=256))
    speakers = sorted({x.speaker for x in utts}, key=lambda s: int(s[1:]))
    from lmg_lib.util.video_io import read_frames
    faces = [read_frames(next(x.video for x in utts if x.speaker == s))[10] for s in speakers]
    from lmg_lib.data.preprocess import assign_splits
    split_of, _ = assign_splits(utts)                  # the speaker-disjoint rule of section 3
    frame_strip(np.stack(faces), path=figure_path("data_speakers.png"), cols=min(16, len(faces)),
                titles=[f"{s} {split_of[s]}" for s in speakers], scale=1.0,
                title="The embedded corpus's speakers (frame 10 of a sentence each), with the split each "
                      "belongs to: train, val (validation) or test (held out)")
else:
    print("the strip of ground-truth landmarks and the speakers' faces need the embedded corpus: skipped")

# %% [markdown]
# ## 3. Preprocess: crops, spectrograms, clips, shards, splits
#
# As the authors: landmarks → a square lip crop around the mouth → 64×64 RGB; one spectrogram slice
# per video frame; 16-frame clips every 8 frames. Unlike the authors we keep **one crop box per
# utterance** (median over frames) so landmark jitter does not shake the crop, and the splits are
# **speaker-disjoint**: validation and test speakers are never seen in training (the authors' code
# holds out a GRID speaker too, s33; the paper's Table 1 validation set instead keeps the training
# speakers with unseen sentences, so our validation numbers are harder than theirs would be). Shards
# carry checksums; a damaged shard is reported, never used.
#
# **The audio front end, ours against the authors' code** (`data.audio.log_mel_spectrogram`;
# `config.AudioConfig` says why): both give 4 log-mel steps of 128 bands per 40 ms video frame, a
# 16-frame clip being (1, 64, 128). The authors cut the waveform into one 40 ms slice per frame and
# take a spectrogram of each (hop 512, which gives 4 steps only between 38.4 and 51.2 kHz; GRID at
# its native rate, mels up to 16 kHz) and express power in dB against a fixed reference (1). We
# resample every input to 16 kHz and take one centred STFT of the whole utterance with a 10 ms hop,
# so a 64 ms window spans a little more than its frame; mels reach 8 kHz (the Nyquist frequency at
# 16 kHz); and dB are relative to the utterance's loudest bin (top_db 80), so a quiet and a loud
# recording of the same sentence give the same input.

# %%
manifest = preprocess(corpus_dir, dataset_dir, layout=LAYOUT, backend=BACKEND, size=IMAGE_SIZE,
                      workers=WORKERS, backend_kwargs=BACKEND_KWARGS, progress=True)
print("split rule:", manifest["splits"]["rule"])
for split in ("train", "val", "test"):
    spk = sorted({c["speaker"] for c in manifest["clips"] if c["split"] == split}, key=lambda s: (len(s), s))
    n = sum(c["split"] == split for c in manifest["clips"])
    print(f"{split:>5}: {n:4d} clips from {len(spk)} speakers {spk if len(spk) <= 8 else spk[:3] + ['...'] + spk[-2:]}")
# the corpus the shipped models were trained and scored on is larger (its configuration is recorded
# beside every evaluated run); the same rule splits its speakers the same way
from types import SimpleNamespace
from lmg_lib.data.preprocess import assign_splits
from lmg_lib.notebook import SHIPPED_CHECKPOINTS
from lmg_lib.util.paths import SHIPPED_FULL
shipped_corpus = json.loads((SHIPPED_CHECKPOINTS / SHIPPED_FULL / "evaluated_on.json").read_text())["corpus_config"]
_, shipped_split = assign_splits([SimpleNamespace(speaker=f"s{i + 1}", split=None)
                                  for i in range(shipped_corpus["n_speakers"])], rule="fraction")
print(f"the shipped models' corpus ({shipped_corpus['n_speakers']} speakers x {shipped_corpus['utterances_per_speaker']} "
      f"sentences; checkpoints/{SHIPPED_FULL}/evaluated_on.json): "
      + "; ".join(f"{k} {v[0]}-{v[-1]} ({len(v)} speakers)" for k, v in shipped_split.items() if k != "rule"))
import pandas as pd
scored = set(pd.read_csv(SHIPPED_CHECKPOINTS / SHIPPED_FULL / "per_clip.csv")["speaker"])   # what its evaluation read
assert scored == set(shipped_split["test"]), (scored, shipped_split["test"])

# %% [markdown]
# ## 4. What the model sees
#
# One training example: the clip's spectrogram $s$ (1×64×128), a **reference** lip frame of the
# same speaker from another sentence (the "glance"; the authors' code takes a random frame of the
# same video instead, which can show the very mouth shape to be generated: we do not), the 16 real
# frames $v$ the generator must
# produce, and a **mismatched** real video $v_u$ (another sentence) for the discriminator's third
# stream.

# %%
test = LipClipDataset(dataset_dir, "test", seed=SEED)
item = test[0]
to_img = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).byte().permute(1, 2, 0).numpy()
shown_frames = range(0, 16, 3)                                  # 6 of the clip's 16 frames
fig = plt.figure(figsize=(12, 3.6))
gs = fig.add_gridspec(2, 5 + len(shown_frames), width_ratios=[2.4, 0.1, 0.6, 1.15, 0.45] + [1] * len(shown_frames),
                      left=0.055, right=0.995, top=0.8, bottom=0.15, wspace=0.08, hspace=0.1)
ax = fig.add_subplot(gs[:, 0])                                  # columns 2 and 4 stay empty: gaps
im = ax.imshow(item["lms"][0].T, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
               extent=[0, item["lms"].shape[1], 0, item["lms"].shape[2]])
ax.set_title(f"speech s: LMS {tuple(item['lms'].shape)}", fontsize=9)
ax.set_xlabel("time step (10 ms; 4 per video frame)", fontsize=8); ax.set_ylabel("mel band", fontsize=8)
ax.tick_params(labelsize=7)
cb = fig.colorbar(im, cax=fig.add_subplot(gs[:, 1])); cb.ax.tick_params(labelsize=7)
cb.set_label("log power (dB), scaled to [-1, 1]", fontsize=7)
same = item["ref_utterance"] == item["utterance"]
ax = fig.add_subplot(gs[:, 3]); ax.imshow(to_img(item["ref"])); ax.set_xticks([]); ax.set_yticks([])
ax.set_title("reference p\n(same speaker,\n" + ("same sentence)" if same else "another sentence)"), fontsize=8)
for r, (key, name) in enumerate([("video", "v: real frames\nto generate"), ("mismatch", "v_u: mismatched\n(another sentence)")]):
    for c, t in enumerate(shown_frames):
        a = fig.add_subplot(gs[r, 5 + c]); a.imshow(to_img(item[key][:, t])); a.set_xticks([]); a.set_yticks([])
        if key == "video":
            lm = item["landmarks"][t].numpy(); a.plot(lm[:, 0], lm[:, 1], ".", ms=1.5, color="cyan")
        if r == 0:
            a.set_title(f"frame {t}", fontsize=8)
        if c == 0:
            a.set_ylabel(name, fontsize=8)
fig.suptitle((f"{corpus_dir.name}: " if not embedded else "") + f"one example as the model sees it (a clip of "
             f"{item['speaker']}, a held-out test speaker); landmarks (cyan) from the {BACKEND} backend", fontsize=9, y=0.98)
fig.savefig(figure_path("data_training_example.png"), **SAVE)
print({k: tuple(v.shape) for k, v in item.items() if hasattr(v, "shape")},
      "| speaker", item["speaker"], "| utterance", item["utterance"], "| lag", f"{float(item['lag_ms']):.1f}", "ms")

# %% [markdown]
# ## Exercises
#
# Each exercise has a hint (click to open) and a worked solution, collapsed on the exported page
# (click "Solution" to open it), whose last lines check its answer: a wrong answer fails them.
# The solutions take well under a second.
#
# **Exercise 1 · Lips before sound.** For every *b*, *p* or *m* in the corpus, find the video frame
# where the inner lips are closest together near the sound's onset. Is that frame closer to the
# sound onset or to the onset minus the utterance's lag?
#
# <details><summary>Hint</summary>
#
# The sidecar `.npz` of each utterance holds `phonemes`, `phoneme_start` (in audio samples),
# `landmarks` and `lag_ms`. At 16 kHz and 25 fps a video frame is 640 samples and frame $t$ is
# centred on $(t + 0.5) / 25$ s. Search a window that contains both candidate frames.
# </details>

# %% tags=["solution"]
def closure_errors(utterances):
    """(frames from the shifted onset, frames from the sound onset) for every b/p/m."""
    shifted, plain = [], []
    for x in utterances:
        m = np.load(x.sidecar)
        op = np.linalg.norm(m["landmarks"][:, 18] - m["landmarks"][:, 14], axis=1)
        spf, lag = int(m["sample_rate"]) // int(m["fps"]), float(m["lag_ms"]) / 40
        for ph, st in zip(m["phonemes"], m["phoneme_start"]):
            if str(ph) in ("b", "p", "m"):
                t_sound = st / spf - 0.5
                lo, hi = int(max(0, np.floor(t_sound - lag - 3))), int(min(len(op), np.ceil(t_sound + 3)))
                t_closed = lo + int(np.argmin(op[lo:hi]))
                shifted.append(t_closed - (t_sound - lag)); plain.append(t_closed - t_sound)
    return np.abs(shifted), np.abs(plain)

if embedded:
    err_shifted, err_plain = closure_errors([x for x in utts if x.sidecar])
    print(f"{len(err_shifted)} b/p/m: the lips close {err_shifted.mean():.2f} frames from the onset minus "
          f"the lag, {err_plain.mean():.2f} frames from the sound onset")
    assert err_shifted.mean() < err_plain.mean()
    # (the corpus draws each utterance's lead and renders the lips by it: this checks that the timing
    # was read right -- samples, frames, the lag's sign --, not a fact about real speech; notebook 2)
else:
    print("exercise 1 needs the embedded corpus's phoneme timing and lags: skipped on this corpus")

# %% [markdown]
# **Exercise 2 · Why the authors asserted 4 steps per frame.** The authors cut the speech into one
# slice per video frame (40 ms) and ran a centred STFT with `n_fft` 1024 and hop 512 on each slice.
# For which sample rates does a slice give exactly 4 spectrogram steps? (Here the hop is 10 ms at
# 16 kHz, so 4 steps per frame hold at any input rate.)
#
# <details><summary>Hint</summary>
#
# A centred STFT of $n$ samples has $1 + \lfloor n / \text{hop} \rfloor$ frames, and a 40 ms slice at
# rate $r$ has $0.04\,r$ samples.
# </details>

# %% tags=["solution"]
rates = np.arange(8000, 96001, 50)
steps = 1 + (rates * 0.04).astype(int) // 512
four = rates[steps == 4]
print(f"4 steps per slice for {four.min()} <= sr <= {four.max()} Hz on a 50 Hz grid, i.e. 38 400 <= sr < 51 200 (44.1 kHz: "
      f"{1 + int(44100 * 0.04) // 512}, GRID's 50 kHz: {1 + int(50000 * 0.04) // 512}, 16 kHz: {1 + int(16000 * 0.04) // 512})")
# exactly: 3 * 512 <= 0.04 r < 4 * 512, i.e. 38 400 <= r < 51 200 Hz (the grid of 50 Hz ends at 51 150)
assert four.min() == 38400 and four.max() == 51150 and 1 + int(51200 * 0.04) // 512 == 5
# ours: 4 spectrogram steps for every frame of the utterance's video (section 2's sentence; the
# landmarks count its frames), at the wav's own rate
if meta is not None:
    assert lms.shape[0] == 4 * len(meta["landmarks"]), (lms.shape, len(meta["landmarks"]))

# %% [markdown]
# **Exercise 3 · Clips per video.** With 16-frame clips starting every 8 frames, how many clips
# does a GRID video of 75 frames give? Check the rule against every utterance of the manifest.
#
# <details><summary>Hint</summary>
#
# Starts are $0, 8, 16, \dots$ up to $n - 16$; `manifest["shards"]` records `n_frames` and
# `n_clips` per utterance.
# </details>

# %% tags=["solution"]
n_clips = lambda n: (n - 16) // 8 + 1 if n >= 16 else 0
print("a 75-frame GRID video gives", n_clips(75), "clips")
mismatch_rule = [k for k, sh in manifest["shards"].items() if sh["n_clips"] != n_clips(sh["n_frames"])]
print(len(manifest["shards"]), "utterances;", len(mismatch_rule), "with another number of clips (dropped windows)")
assert n_clips(75) == 8 and (mismatch_rule == [] or not embedded)

# %% [markdown]
# **Exercise 4 · Where does the mismatched video come from?** The discriminator's third stream pairs
# the speech $s$ with a real video $v_u$ of *another* clip. Which speaker and sentence is it from,
# and why does that choice matter?
#
# <details><summary>Hint</summary>
#
# Look at `mismatch_speaker` and `mismatch_utterance` of a few items. If $v_u$ showed another person,
# what could the discriminator use to reject it without listening to the speech?
# </details>

# %% tags=["solution"]
items = [test[i] for i in range(0, len(test), max(1, len(test) // 5))][:5]
for it in items:
    print(f"{it['speaker']}/{it['utterance']}  ->  mismatch {it['mismatch_speaker']}/{it['mismatch_utterance']}")
# same person, another sentence: only the lip-speech agreement tells v_u from the real v.
# The paper pairs the real audio with another video (k != j) without saying which; taking it from the
# same speaker's other sentence is this repository's choice. The authors' released code mismatches the
# other way round: the real video with another sample's *audio* (their D loss; the data pipeline here
# keeps the paper's choice). Either way the pair differs from the real one only in sync.
assert all(it["mismatch_speaker"] == it["speaker"] and it["mismatch_utterance"] != it["utterance"] for it in items)
# why it matters, measured: by appearance alone (mean |difference| of the clip's mean frame from the
# reference lip image p) v_u is as close to p as the real v; another person's video is far off, so a
# D shown another person could reject v_u by its look without listening
look = lambda x, ref: float((x.mean(1) - ref).abs().mean())
for it in items:
    other = next((test[j] for j in range(len(test)) if test.clips[j]["speaker"] != it["speaker"]), None)
    if other is None:
        continue                                          # a test set of one speaker: nothing to compare
    d_v, d_u, d_o = look(it["video"], it["ref"]), look(it["mismatch"], it["ref"]), look(other["video"], it["ref"])
    print(f"  {it['speaker']}: |v - p| {d_v:.3f}, |v_u - p| {d_u:.3f}, another person's video {d_o:.3f}")
    assert abs(d_u - d_v) < 0.5 * (d_o - d_v), "v_u should look like the person; another speaker should not"

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
