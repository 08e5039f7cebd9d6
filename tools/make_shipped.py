"""Make everything shipped in ``checkpoints/`` (never retrained by CI), one stage at a time.

    python tools/make_shipped.py corpus                 # default corpus + shards into DATA (~3.5 min)
    python tools/make_shipped.py landmarks              # the LMD regressor, robust, with its error bar
    python tools/train_sync_expert.py --data data/prep --out checkpoints/   # the sync expert
    python tools/make_shipped.py train full             # the full model (cpu preset)
    python tools/make_shipped.py train speech2vid       # Chung et al.'s baseline, same recipe and steps
    python tools/make_shipped.py train vgan             # Vondrick et al.'s baseline, same recipe and steps
    python tools/make_shipped.py evaluate full          # per-clip metrics on the test speakers
    python tools/make_shipped.py evaluate controls      # static, average mouth, real frames, ceiling's landmarks
    python tools/make_shipped.py evaluate ceiling       # the audio-only ceiling's frames, scored like a model
    python tools/make_shipped.py evaluate ceiling --trial 4 --threads 1   # 4 test sentences, a quick check
    python tools/make_shipped.py corpus --style photo --data data_photo   # the photographic style
    python tools/make_shipped.py train photo_full --data data_photo      # the full recipe on it
    python tools/make_shipped.py evaluate photo_full --data data_photo   # (and photo_controls)

``--data DIR`` (default ``data``) holds ``corpus/``, ``prep/`` and the training runs ``runs/<name>``
(resumable: a stage run again continues from its last checkpoint). Each trained network is shipped
as ``checkpoints/<name>/``: ``generator.safetensors`` (fp16; the best validation checkpoint),
``train_log.csv``, ``val_log.csv``, ``samples.jpg`` + ``samples.json`` (generated frames of fixed
validation clips saved during training, one JPEG strip: ``lmg_lib.train.samples``) and ``record.json`` (the ``lmg train`` command, commit, corpus fingerprint,
seed, CPU and wall time). ``evaluate`` writes ``checkpoints/<name>/per_clip.csv`` (every test clip,
true and shuffled audio), ``per_utterance_sync.csv`` (the sync expert on whole test utterances) and
``summary.csv`` (means with 95 % intervals over utterances); ``evaluate controls`` the same for the
static reference, the average mouth, the audio-only ceiling's landmarks and the real frames;
``evaluate ceiling`` (``photo_ceiling`` on a photo-style DATA) the files of a model for the
audio-only ceiling's frames (``lmg_lib/corpus/ceiling.py``: the mouths predicted from the phoneme
timing, rendered with each test speaker's look and the corpus's own noise and head motion, cropped
like the real clips). ``--trial N``: only N evenly spaced test sentences, written to a temporary
folder (a quick check, never shipped).
The ablation runs ``ablation_<variant>`` are the cpu preset shortened to ABLATION_STEPS. Every
choice (recipe, best step) was made on the validation speakers s25-s27; the test speakers s28-s32
are only evaluated.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIP = ROOT / "checkpoints"

from lmg_lib.config import ABLATIONS  # noqa: E402  (after the path insert)

# per-clip tables keep 6 significant digits (half the bytes of Python's repr; the metrics' own
# noise is far larger and the tests reproduce them to rtol 1e-3)
TABLE_FLOATS = "%.6g"

# name -> the `lmg train` arguments (besides --data/--out) of each shipped network
RUNS: dict[str, list[str]] = {
    "full": ["--config", "cpu", "--model", "generator", "--variant", "full"],
    "speech2vid": ["--config", "cpu", "--model", "speech2vid", "--variant", "l1"],
    "vgan": ["--config", "cpu", "--model", "vgan", "--variant", "gan"],
}
# The ablation study (Chen et al. 2018, Table 2) at a scale two CPU cores can afford for nine
# variants: the cpu preset shortened to ABLATION_STEPS, with the GAN terms switched on after a third
# of them (gan_only (a) has no pixel term, so its warm-up trains nothing but phi: its D starts at 0).
ABLATION_STEPS = 600
_SHORT = ["--steps", str(ABLATION_STEPS), "--set", f"train.gan_start={ABLATION_STEPS // 3}",
          "--set", "train.val_every=150", "--set", "train.sample_every=150", "--set", "train.checkpoint_every=150"]
for _v in ABLATIONS:
    RUNS[f"ablation_{_v}"] = ["--config", "cpu", "--model", "generator", "--variant", _v, *_SHORT] + (
        ["--set", "train.gan_start=0"] if _v == "gan_only" else [])
# (b) and (e) again with another seed: how much of a difference between variants is seed noise
for _v in ("l1", "full"):
    RUNS[f"ablation_{_v}_seed1"] = [*RUNS[f"ablation_{_v}"], "--seed", "1"]
# (e) without the identity skips (beyond the paper, on in the cpu preset): the paper's generator
RUNS["noskips"] = [*RUNS["ablation_full"], "--set", "model.identity_skips=false"]
# A probe of the full recipe (issue "The model must visibly speak", not tried before): the pixel-only
# warm-up doubled, the adversarial terms on for the last 300 of the 1500 steps only
RUNS["full_warmup1200"] = [*RUNS["full"], "--set", "train.gan_start=1200"]
# ... and again with another seed: is its gain over the full recipe larger than the seed noise?
RUNS["full_warmup1200_seed1"] = [*RUNS["full_warmup1200"], "--seed", "1"]
# The recipe search of issue "Half-way to the ceiling" (chosen on the validation speakers only):
# longer runs whose pixel (+ corr) phase is cheap (about 1.1 s a step against 3.7 s with D), the
# adversarial terms for the last 300 steps as in full_warmup1200, the cosine over all the steps.
RUNS["search_long3000"] = [*RUNS["full"], "--steps", "3000", "--set", "train.gan_start=2700"]
RUNS["search_long3000_seed1"] = [*RUNS["search_long3000"], "--seed", "1"]
# search_long3000 was still improving on validation when it stopped (1.43 -> 1.40 over its last
# 300 steps): the same recipe at 4000 steps (about 2 h on this machine at 1.75 s a step; 5000 would
# pass the 150 min a run may take), D for the last 300
RUNS["search_long4000"] = [*RUNS["full"], "--steps", "4000", "--set", "train.gan_start=3700"]
# ... chosen: it is the preset cpu2 (config.cpu2 is that configuration, tests/test_recipe_table.py).
# Its seed-0 run, trained as search_long4000 by the command above, ships as checkpoints/full_cpu2/
# (its record.json keeps the command it was trained by); seeds 1 and 2 and both baselines at the
# same 4000 steps are trained with the preset itself.
RUNS["full_cpu2"] = ["--config", "cpu2", "--model", "generator", "--variant", "full"]
RUNS["speech2vid_cpu2"] = ["--config", "cpu2", "--model", "speech2vid", "--variant", "l1"]
RUNS["vgan_cpu2"] = ["--config", "cpu2", "--model", "vgan", "--variant", "gan"]
for _r in ("full_cpu2", "speech2vid_cpu2", "vgan_cpu2"):
    for _s in (1, 2):
        RUNS[f"{_r}_seed{_s}"] = [*RUNS[_r], "--seed", str(_s)]
# The baselines' learning-rate search (issue "Half-way to the ceiling": each baseline's lr chosen on
# validation with a budget like the full model's, whose sweep moved lr 2e-4 -> 1e-3 and tried 2e-3):
# a factor of about 3 either side of cpu2's 1e-3, seed 0, same schedule and steps; the choice is the
# lowest best-validation LMD (val_log.csv), never a test number.
for _r in ("speech2vid_cpu2", "vgan_cpu2"):
    for _lr in ("3e-4", "3e-3"):
        RUNS[f"{_r}_lr{_lr}"] = [*RUNS[_r], "--set", f"train.lr={_lr}"]
# Speech2Vid's best rate so far (3e-4) is the edge of those tried: one more step down
RUNS["speech2vid_cpu2_lr1e-4"] = [*RUNS["speech2vid_cpu2"], "--set", "train.lr=1e-4"]
# the seeds of a rate the search chose (eval.seeds.SEEDS lists them beside the cpu2-rate seeds)
for _s in (1, 2):
    RUNS[f"speech2vid_cpu2_lr3e-4_seed{_s}"] = [*RUNS["speech2vid_cpu2_lr3e-4"], "--seed", str(_s)]
# Speech2Vid (L1 only, so gan_start changes nothing but keeps the schedule's numbers equal) at the
# same 3000 steps: does the stronger baseline also gain from the longer schedule?
RUNS["speech2vid_long3000"] = [*RUNS["speech2vid"], "--steps", "3000", "--set", "train.gan_start=2700"]
# A lever of issue "Half-way to the ceiling": batch size against steps. cpu2 with 4 clips a step
# instead of 8 (half the compute of a cpu2 run, the same 4000 steps, cosine and D for the last 300):
# compared on validation with cpu2's seed 0 at the same step and at the same number of clips seen
RUNS["search_b4"] = [*RUNS["full_cpu2"], "--batch-size", "4"]
# The next lever, "when and how strongly D and L_gen enter", at search_b4's scale (it fits the AVX2-only
# machine in one go): no D, L_gen or discriminator L_perc at all (gan_start = steps). Its first 3 700
# steps are search_b4's exactly (the same seed, data and schedule; the warm-up does not read D)
RUNS["search_b4_nod"] = [*RUNS["search_b4"], "--set", "train.gan_start=4000"]
# Branches (``lmg train --branch-from``): a run that differs from its trunk only in what acts once D is
# on starts from the trunk's checkpoint at a step before both gan_starts, so it trains only the rest
# and is still, bit for bit, the run its command makes from step 0 (tests/test_branch.py). The trunk
# is trained up to that step first when it is not there: data/runs/<trunk>@<step>, with --stop-after.
BRANCHES: dict[str, tuple[str, int]] = {}
# ... a D lever at search_b4's scale, from search_b4_nod's step 3 600 (= search_b4's: the same
# settings up to step 3 700): L_gen a quarter as strong. (D for the last 150 steps was planned too and
# dropped: without D at all the run ended within 0.005 px of search_b4 on validation, docs/TRAINING.md)
RUNS["search_b4_gen025"] = [*RUNS["search_b4"], "--set", "loss.w_gen=0.25"]
BRANCHES["search_b4_gen025"] = ("search_b4_nod", 3600)
# The autoencoder perceptual path (the authors' code: L_perc on a frozen lip autoencoder's features,
# from step 0, instead of D's), at search_b4_nod's scale so that it compares with one lever changed
# and fits one sitting on the AVX2-only machine (about 1.4x the step). PRETRAINED: the autoencoder a
# run needs, data/runs/<name>.safetensors, made by `lmg pretrain-autoencoder` with these arguments
# when it is missing (1 000 steps, not the default 1 500, so that it and the run fit one sitting).
PRETRAINED: dict[str, tuple[str, list[str]]] = {}
RUNS["search_b4_ae"] = [*RUNS["search_b4_nod"], "--set", "loss.perceptual=autoencoder"]
PRETRAINED["search_b4_ae"] = ("ae_cpu2", ["--config", "cpu2", "--steps", "1000"])
# The learning rate, bracketed from above at search_b4_nod's scale (cpu2's 1e-3 was chosen at 1 200
# steps of the `cpu` sweep, where 2e-3 came only with a heavier mouth box): the same run at 2e-3, one
# change, chosen on validation against search_b4_nod (the same seed, data, clips and reference frames)
RUNS["search_b4_nod_lr2e-3"] = [*RUNS["search_b4_nod"], "--set", "train.lr=2e-3"]
# The full model's recipe on the photographic corpus style (issue "real faces"): its own DATA
# (``corpus --style photo --data data_photo``), its own controls (``evaluate photo_controls``).
RUNS["photo_full"] = list(RUNS["full"])
# ... and with the cpu2 recipe, as the shipped full model (planned, not yet trained: about 2 h on the
# machines that trained cpu2, about 3.7 h on the AVX2-only one, docs/TRAINING.md: over a run's 150 min)
RUNS["photo_full_cpu2"] = list(RUNS["full_cpu2"])
PHOTO = {"photo_full", "photo_full_cpu2", "photo_controls", "photo_ceiling"}
CEILINGS = ("ceiling", "photo_ceiling")            # evaluate: precomputed frames scored like a model

def git_commit() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "lmg_lib"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+uncommitted lmg_lib changes" if dirty else "")
    except OSError:
        return "unknown"


def corpus_record(data: Path) -> dict:
    man = json.loads((data / "prep" / "manifest.json").read_text())
    corpus = json.loads((data / "corpus" / "corpus.json").read_text()) if (data / "corpus" / "corpus.json").exists() else {}
    return {"manifest_fingerprint": man.get("fingerprint"), "corpus_config": corpus.get("config"),
            "corpus_format": corpus.get("format")}


def corpus_style(data: Path) -> str:
    f = data / "corpus" / "corpus.json"
    return json.loads(f.read_text())["config"].get("style", "rendered") if f.exists() else "missing"


def check_style(data: Path, name: str) -> None:
    """Photo-style runs only on a photo-style DATA, every other run only on the default style."""
    want, have = ("photo" if name in PHOTO else "rendered"), corpus_style(data)
    if have != want:
        hint = " --style photo --data data_photo" if want == "photo" else ""
        raise SystemExit(f"error: {name} needs the {want}-style corpus in {data}, found {have}: "
                         f"python tools/make_shipped.py corpus{hint}")


def stage_corpus(data: Path, args) -> None:
    from lmg_lib.cli import main as lmg
    lmg(["corpus", "--out", str(data / "corpus"), "--speakers", "32", "--utterances", "40", "--seed", "0",
         "--workers", str(args.workers), *(["--style", args.style] if args.style != "rendered" else [])])
    lmg(["preprocess", "--corpus", str(data / "corpus"), "--out", str(data / "prep"), "--workers", str(args.workers)])


def stage_landmarks(data: Path, args) -> None:
    import torch
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced
    from lmg_lib.eval.lip_landmarks import (degradation_errors, frames_and_landmarks, save_landmark_regressor,
                                            train_landmark_regressor)
    from lmg_lib.util.pixels import to_uint8
    torch.set_num_threads(args.threads)
    tr, va = LipClipDataset(data / "prep", "train"), LipClipDataset(data / "prep", "val")
    t0, w0 = time.process_time(), time.time()
    model, err = train_landmark_regressor(tr, va, steps=args.landmark_steps, max_frames=20000, log_every=500,
                                          robust=True)
    cpu_s, wall_s = time.process_time() - t0, time.time() - w0
    x, y = frames_and_landmarks(evenly_spaced(va, 150), 2000, 1)
    table = degradation_errors(model, to_uint8(x.transpose(0, 2, 3, 1)), y)
    SHIP.mkdir(exist_ok=True)
    save_landmark_regressor(model, SHIP / "lip_landmarks.pt", error=err)
    rec = {"command": "python tools/make_shipped.py " + shlex.join(sys.argv[1:]), "commit": git_commit(),
           **corpus_record(data), "steps": args.landmark_steps, "seed": 0, "cpu_s": round(cpu_s, 1),
           "wall_s": round(wall_s, 1), "val_error": err,
           "degradations_val": table}
    (SHIP / "lip_landmarks.json").write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec, indent=1))


def sample_batch(data: Path, n: int = 3) -> dict:
    """Fixed validation clips whose generated frames are saved during training."""
    import torch
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced_items
    items = evenly_spaced_items(LipClipDataset(data / "prep", "val"), n)
    return {"lms": torch.stack([d["lms"] for d in items]), "ref": torch.stack([d["ref"] for d in items]),
            "video": torch.stack([d["video"] for d in items])}


def cpu_name() -> str:
    """This machine's processor as /proc/cpuinfo names it, and whether it has AVX-512: CPU-minutes
    (and, it turned out, the corpus's rendered bytes) differ between machines (docs/TRAINING.md)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        import platform
        return platform.processor() or "unknown"
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "unknown")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    return f"{name} ({'AVX-512' if 'avx512f' in flags else 'AVX2, no AVX-512' if 'avx2' in flags else 'no AVX2'})"


def stage_train(data: Path, args) -> None:
    import torch
    from lmg_lib.cli import main as lmg
    from lmg_lib.train import loop
    name = args.name
    check_style(data, name)
    argv = ["train", *RUNS[name], "--data", str(data / "prep"), "--out", str(data / "runs" / name), *args.extra]
    out = data / "runs" / name
    torch.set_num_threads(args.threads)
    # the samples over training: fixed validation clips, generated every sample_every steps
    batch = sample_batch(data)
    real_init = loop.Trainer.__init__

    def init(self, *a, **kw):
        kw.setdefault("sample_batch", batch)
        real_init(self, *a, **kw)
    loop.Trainer.__init__ = init
    trunk = None
    ae = None
    if name in PRETRAINED:
        from lmg_lib.util.weights import read_weights_metadata
        path = pretrain(data, *PRETRAINED[name])
        argv += ["--autoencoder", str(path)]
        label = data_label(data)
        ae = {"file": path.name, "command": "lmg " + shlex.join(["pretrain-autoencoder", *PRETRAINED[name][1], "--data",
                                                                 f"{label}/prep", "--out", f"{label}/runs/{path.name}"]),
              **{k: v for k, v in json.loads(read_weights_metadata(path)["info"]).items() if k != "data"}}
    if (out / "checkpoints" / "last.pt").exists():
        argv.append("--resume")
    elif name in BRANCHES:
        trunk = train_trunk(data, *BRANCHES[name])
        argv += ["--branch-from", str(data / "runs" / trunk["folder"])]
    prev = json.loads((out / "timing.json").read_text()) if (out / "timing.json").exists() else {
        "cpu_s": 0.0, "wall_s": 0.0, "commit": git_commit()}       # the code the run started from
    if trunk is not None:                   # a branch costs its trunk's compute and its own
        prev = {**prev, "cpu_s": trunk["cpu_s"], "wall_s": trunk["wall_s"],
                "trunk": trunk}
    if ae is not None and "autoencoder" not in prev:   # ... and so does its autoencoder
        prev = {**prev, "cpu_s": prev["cpu_s"] + ae["cpu_s"], "autoencoder": ae}
    t0, w0 = time.process_time(), time.time()
    rc = lmg(argv)
    timing = {"cpu_s": prev["cpu_s"] + time.process_time() - t0, "wall_s": prev["wall_s"] + time.time() - w0,
              "threads": args.threads, "commit": prev.get("commit", git_commit()),
              "cpus": sorted({*prev.get("cpus", []), cpu_name()}),      # every machine a resumed run used
              **{k: prev[k] for k in ("trunk", "autoencoder") if k in prev}}
    (out / "timing.json").write_text(json.dumps(timing))
    if rc != 0:
        raise SystemExit(rc)
    ship(data, name, argv, timing)


def data_label(data: Path) -> str:
    """DATA as a recorded command names it: data, data_photo (relative to the repository, as the reader types it)."""
    return os.path.relpath(data.absolute(), ROOT)


def pretrain(data: Path, name: str, args: list[str]) -> Path:
    """data/runs/<name>.safetensors, the lip autoencoder of ``lmg pretrain-autoencoder ARGS``,
    trained first where it is missing (its record: the file's metadata, ``read_weights_metadata``)."""
    from lmg_lib.cli import main as lmg
    path = data / "runs" / f"{name}.safetensors"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        if lmg(["pretrain-autoencoder", *args, "--data", str(data / "prep"), "--out", str(path)]) != 0:
            raise SystemExit(f"the autoencoder {name} did not train")
    return path


def train_trunk(data: Path, trunk: str, step: int) -> dict:
    """The trunk of a branch: run ``trunk`` trained up to ``step`` (``--stop-after``; resumed if it
    was stopped earlier) in data/runs/<trunk>@<step>. Returns its folder, step and compute."""
    from lmg_lib.cli import main as lmg
    from lmg_lib.train.checkpoints import read_training_checkpoint
    folder = data / "runs" / f"{trunk}@{step}"
    ckpt = folder / "checkpoints" / "last.pt"
    ck = read_training_checkpoint(ckpt) if ckpt.exists() else None
    if ck is None or ck["step"] < step:
        argv = ["train", *RUNS[trunk], "--data", str(data / "prep"), "--out", str(folder), "--stop-after", str(step)]
        if lmg(argv + (["--resume"] if ck is not None else [])) != 0:
            raise SystemExit(f"the trunk {trunk} up to step {step} did not train")
        ck = read_training_checkpoint(ckpt)
    if ck["step"] != step:
        raise SystemExit(f"{ckpt} is at step {ck['step']}, not {step}: remove it and train the trunk again")
    return {"run": trunk, "step": step, "folder": folder.name, **ck["clock"]}


def ship_samples(data: Path, out: Path, dest: Path) -> None:
    """Frames 0, 5, 10, 15 of every sample clip at every saved step, as one JPEG strip
    (``train.samples.save_samples``), the real frames of those clips first."""
    from lmg_lib.train.samples import save_samples
    from lmg_lib.util.pixels import to_uint8_frames
    steps = sorted(out.glob("samples/step_*.npy"))
    if steps:
        kept = list(range(np.load(steps[0]).shape[1]))[::5]
        arr = np.stack([np.load(p)[:, kept] for p in steps])         # (n_steps, B, 4, S, S, 3)
        real = np.stack([to_uint8_frames(v) for v in sample_batch(data)["video"].numpy()])[:, kept]
        save_samples(dest, arr, [int(p.stem[5:]) for p in steps], real, kept)


def ship(data: Path, name: str, argv: list[str], timing: dict) -> None:
    import torch
    out, dest = data / "runs" / name, SHIP / name
    dest.mkdir(parents=True, exist_ok=True)
    best = out / "best_generator.safetensors"
    shutil.copy(best if best.exists() else next(out.glob("*.safetensors")), dest / "generator.safetensors")
    for f in ("train_log.csv", "val_log.csv"):
        if (out / f).exists():
            shutil.copy(out / f, dest / f)
    ship_samples(data, out, dest)
    label = data_label(data)
    cmd = "lmg " + shlex.join([a if not a.startswith(str(data)) else label + a[len(str(data)):] for a in argv
                               if a != "--resume"])
    rec = {"name": name, "command": cmd, "commit": timing.get("commit", git_commit()), **corpus_record(data),
           "seed": json.loads((out / "config.json").read_text())["config"]["seed"],
           "cpu_s": round(timing["cpu_s"], 1), "wall_s": round(timing["wall_s"], 1),
           "threads": timing["threads"], "cpus": timing.get("cpus"), "torch": torch.__version__,
           **{k: timing[k] for k in ("trunk", "autoencoder") if k in timing},
           "final": json.loads((out / "final.json").read_text()),
           "best": json.loads((out / "best.json").read_text()) if (out / "best.json").exists() else None}
    (dest / "record.json").write_text(json.dumps(rec, indent=1) + "\n")
    print(json.dumps(rec, indent=1))


def utterance_sync(model, cfg, data: Path, split: str = "test", only=None) -> "pd.DataFrame":
    """The sync expert on whole utterances: each test utterance generated in overlapping windows
    from its clips' reference frame, scored (offset, LSE-D, LSE-C) with its own audio and, as the
    control, with another utterance's audio of the same speaker. ``model=None``: the real videos;
    an object with ``utterance_video`` (the audio-only ceiling): its precomputed frames. ``only``:
    a set of (speaker, utterance) to score (default all)."""
    import pandas as pd
    import torch
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.eval.sync import shuffled_pairs
    from lmg_lib.eval.sync_expert import load_split, load_sync_expert, sync_metrics
    from lmg_lib.infer.generate import PreparedSpeech, generate_video
    expert, _ = load_sync_expert(SHIP / "sync_expert.safetensors")
    utts = [u for u in load_split(data / "prep", split) if only is None or (u["speaker"], Path(u["name"]).stem) in only]
    ds = LipClipDataset(data / "prep", split)
    first = {}
    for i, c in enumerate(ds.clips):
        first.setdefault((c["speaker"], c["utterance"]), i)
    partner = shuffled_pairs([u["speaker"] for u in utts], [u["name"] for u in utts])
    rows = []
    for k, u in enumerate(utts):
        n = len(u["frames"])
        row = {"speaker": u["speaker"], "utterance": u["name"], "frames": n, "lag_ms": u["lag_ms"]}
        if model is None:
            runs = {"": u["frames"].transpose(0, 2, 3, 1)}
        elif hasattr(model, "utterance_video"):
            o = utts[partner[k]]
            m = min(len(o["lms"]) // 4, n)
            key = (u["speaker"], Path(u["name"]).stem)
            runs = {"": model.utterance_video(*key),
                    "_shuffled": model.utterance_video(*key, (o["speaker"], Path(o["name"]).stem, 0, 0, m))[:m]}
        else:
            ref = ds[first[(u["speaker"], Path(u["name"]).stem)]]["ref"]
            other = utts[partner[k]]["lms"]
            m = min(len(other) // 4, n)
            runs = {"": generate_video(model, cfg, PreparedSpeech(u["lms"], n, None), ref, fast=False),
                    "_shuffled": generate_video(model, cfg, PreparedSpeech(other[: 4 * m], m, None), ref, fast=False)}
        for suffix, frames in runs.items():
            lms = u["lms"][: 4 * len(frames)]
            with torch.no_grad():
                sc = sync_metrics(expert, frames, lms)
            row.update({f"offset{suffix}": sc.offset, f"lse_d{suffix}": sc.lse_d, f"lse_c{suffix}": sc.lse_c})
        rows.append(row)
    return pd.DataFrame(rows)


def trial_subset(test, n: int):
    """The clips of ``n`` evenly spaced sentences of ``test`` (a Subset) and those sentences' keys."""
    import torch
    utts = sorted({(c["speaker"], c["utterance"]) for c in test.clips})
    keep = {utts[i] for i in sorted(set(np.linspace(0, len(utts) - 1, n).round().astype(int).tolist()))}
    idx = [i for i, c in enumerate(test.clips) if (c["speaker"], c["utterance"]) in keep]
    return torch.utils.data.Subset(test, idx), keep


def stage_evaluate(data: Path, args) -> None:
    """Per-clip metrics (with the shuffled-audio control) and per-utterance sync of one shipped
    network or of the audio-only ceiling's frames, or of the controls (static reference, average
    mouth, real frames, the audio-only ceiling's landmarks)."""
    import pandas as pd
    import torch
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import evaluate_model, landmark_baselines, summarize_clips
    torch.set_num_threads(args.threads)
    test = LipClipDataset(data / "prep", "test")
    detect = load_landmark_regressor(SHIP / "lip_landmarks.pt").detect
    t0 = time.time()
    check_style(data, args.name)
    only = None
    if args.trial:
        if args.name in ("controls", "photo_controls"):
            raise SystemExit("error: --trial is for a model or the ceiling, not the controls")
        test, only = trial_subset(test, args.trial)
    if args.name in ("controls", "photo_controls"):
        from lmg_lib.corpus.ceiling import audio_only_clips
        from lmg_lib.eval.sync import opening_ceiling
        from lmg_lib.train.baselines import StaticBaseline
        from lmg_lib.config import get_config
        dest = SHIP / args.name
        dest.mkdir(parents=True, exist_ok=True)
        static = evaluate_model(StaticBaseline(get_config("cpu").model), test, detect, shuffled=False,
                                progress=True)
        static.to_csv(dest / "static_per_clip.csv", index=False, float_format=TABLE_FLOATS)
        base = landmark_baselines(test)
        pairs = audio_only_clips(data / "corpus", test.clips)
        base["opening_r_ceiling"] = opening_ceiling(pairs)
        base.to_csv(dest / "landmark_baselines_per_clip.csv", index=False, float_format=TABLE_FLOATS)
        sync = utterance_sync(None, None, data)
        sync.to_csv(dest / "per_utterance_sync.csv", index=False, float_format=TABLE_FLOATS)
        # the LMD instrument's own error on this DATA's real frames (validation speakers)
        from lmg_lib.data.dataset import evenly_spaced
        from lmg_lib.eval.lip_landmarks import frames_and_landmarks, landmark_error
        from lmg_lib.util.pixels import to_uint8
        reg = load_landmark_regressor(SHIP / "lip_landmarks.pt")
        x, y = frames_and_landmarks(evenly_spaced(LipClipDataset(data / "prep", "val"), 150), 2000, 1)
        pts, presence = reg.detect_with_presence(to_uint8(x.transpose(0, 2, 3, 1)))
        (dest / "regressor_error_val.json").write_text(json.dumps(
            {**landmark_error(pts, y), "called_mouthless": float(np.mean(presence < 0.5)),
             "corpus_style": corpus_style(data)}, indent=1) + "\n")
        summary = pd.concat([summarize_clips(static).assign(source="static"),
                             summarize_clips(base).assign(source="landmark_baselines"),
                             summarize_clips(sync.drop(columns=["frames"])).assign(source="real_frames")])
    else:
        dest = Path(tempfile.gettempdir()) / f"make_shipped_trial_{args.name}" if args.trial else SHIP / args.name
        dest.mkdir(parents=True, exist_ok=True)
        if args.name in CEILINGS:       # precomputed frames: rendered and cropped as they are scored
            from lmg_lib.corpus.ceiling import RenderedVideos
            from lmg_lib.eval.frames import PreparedVideos
            model, cfg = PreparedVideos(data / "prep", RenderedVideos(data / "corpus")), None
            fresh = lambda f: False
        else:
            from lmg_lib.notebook import shipped_model
            model, cfg = shipped_model(args.name)
            fresh = lambda f: (not args.trial and (dest / f).exists()
                               and (dest / f).stat().st_mtime > (dest / "generator.safetensors").stat().st_mtime)
        if fresh("per_clip.csv"):       # an interrupted evaluation is resumed, not redone
            per_clip = pd.read_csv(dest / "per_clip.csv")
        else:
            per_clip = evaluate_model(model, test, detect, shuffled=True, progress=True)
            per_clip.to_csv(dest / "per_clip.csv", index=False, float_format=TABLE_FLOATS)
        if args.name not in PHOTO and args.name not in CEILINGS and not args.trial and not fresh("subset_per_clip.csv"):
            # the same on the subset the tests rebuild (their own reference frames: a smaller pool)
            from lmg_lib.notebook import held_out_subset
            sub = LipClipDataset(held_out_subset(data / "ci_subset"), "test")
            full_shards = json.loads((data / "prep" / "manifest.json").read_text())["shards"]
            (SHIP / "heldout_subset.json").write_text(json.dumps(      # proof that they are the default's clips
                {k: full_shards[k]["sha256"] for k in sorted(sub.manifest["shards"])}, indent=1) + "\n")
            evaluate_model(model, sub, detect, shuffled=True).to_csv(dest / "subset_per_clip.csv", index=False, float_format=TABLE_FLOATS)
        sync = utterance_sync(model, cfg, data, only=only)
        sync.to_csv(dest / "per_utterance_sync.csv", index=False, float_format=TABLE_FLOATS)
        summary = pd.concat([summarize_clips(per_clip).assign(source="per_clip"),
                             summarize_clips(sync.drop(columns=["frames"])).assign(source="per_utterance_sync")])
    summary.to_csv(dest / "summary.csv", index=False)
    # what the metrics were measured on: corpus style, settings and fingerprint
    (dest / "evaluated_on.json").write_text(json.dumps({"split": "test", "commit": git_commit(),
                                                        **corpus_record(data),
                                                        **({"trial_sentences": args.trial} if args.trial else {})},
                                                       indent=1) + "\n")
    print(summary.to_string(index=False))
    print(f"evaluated in {time.time() - t0:.0f} s; written to {dest}")


def stage_valref(data: Path, args) -> None:
    """The static reference and the average mouth on the clips each run validates on (the
    ``Validator``'s 48 evenly spaced validation clips; their reference frames depend on the run's
    seed): the floor lines of the learning curves (notebook 4). Written to
    ``checkpoints/controls/val_references.json``."""
    import torch
    from lmg_lib.config import get_config
    from lmg_lib.data.dataset import LipClipDataset, evenly_spaced
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import landmark_baselines, landmarks_by_utterance, quick_sync_metrics
    from lmg_lib.train.baselines import StaticBaseline
    from lmg_lib.train.recipe import VAL_CLIPS
    torch.set_num_threads(args.threads)
    check_style(data, "controls")
    detect = load_landmark_regressor(SHIP / "lip_landmarks.pt").detect
    out = {"clips": VAL_CLIPS, "split": "val", "commit": git_commit(), **corpus_record(data), "seeds": {}}
    for seed in (0, 1, 2):
        val = LipClipDataset(data / "prep", "val", seed=seed)
        sub = evenly_spaced(val, VAL_CLIPS)
        items = [sub[i] for i in range(len(sub))]
        static = quick_sync_metrics(StaticBaseline(get_config("cpu").model), items, detect)
        avg = landmark_baselines(sub, landmarks_by_utterance(val))["lmd_average_mouth"].mean()
        out["seeds"][str(seed)] = {"static": static, "lmd_average_mouth": float(avg)}
        print(f"seed {seed}: static LMD {static['lmd']:.3f}, average mouth LMD {avg:.3f}")
    dest = SHIP / "controls" / "val_references.json"
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written to {dest}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["corpus", "landmarks", "train", "evaluate", "valref"])
    ap.add_argument("name", nargs="?", help="run name (train)")
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--landmark-steps", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--style", choices=["rendered", "photo"], default="rendered", help="corpus style (corpus)")
    ap.add_argument("--trial", type=int, default=0, metavar="N",
                    help="evaluate: only N evenly spaced test sentences, into a temporary folder (not shipped)")
    args, args.extra = ap.parse_known_args()     # the rest: extra `lmg train` arguments (--set ...)
    if args.stage == "train" and args.name not in RUNS:
        ap.error(f"train needs a run name: {', '.join(RUNS)}")
    if args.stage == "evaluate" and args.name not in ("controls", "photo_controls", *CEILINGS) and not (SHIP / str(args.name) / "generator.safetensors").exists():
        ap.error(f"evaluate needs 'controls', 'ceiling' or a shipped run: {', '.join(RUNS)}")
    {"corpus": stage_corpus, "landmarks": stage_landmarks, "train": stage_train,
     "evaluate": stage_evaluate, "valref": stage_valref}[args.stage](args.data, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
