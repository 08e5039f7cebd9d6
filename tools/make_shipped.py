"""Make the checkpoint shipped in ``checkpoints/`` (what `lmg generate` and notebooks 4-6 use).

    python tools/make_shipped_checkpoint.py corpus    --workers 2  # 32 x 40 corpus + shards (~3.5 min)
    python tools/make_shipped_checkpoint.py train                   # 2200 steps, ~72 min on 2 cores
    python tools/make_shipped_checkpoint.py landmarks               # LMD detector (~1.5 min)
    python tools/make_shipped_checkpoint.py evaluate                # metrics vs static (~3 min)

(``--work DIR``, default ``build/shipped``, holds the corpus, the shards and the training run.) The
shipped checkpoint was made with ``--work`` on a data disk outside the repository; its corpus came from
the equivalent commands ``lmg corpus --out DIR/corpus --speakers 32 --utterances 40 --seed 0 --workers 2``
and ``lmg preprocess --corpus DIR/corpus --out DIR/prep --workers 2``, and its training ran
to step 1500, was then resumed to 2200 (``train`` resumes exactly from ``DIR/run_cpu``).

Every stage is deterministic from the seeds and resumable (training resumes from its last
checkpoint). The results land in ``checkpoints/``:

    lmg_cpu.safetensors        generator (fp16) with its Config in the metadata
    lmg_cpu.train_log.csv      the training log (one row per 25 steps)
    lip_landmarks.pt           lip-landmark regressor used for LMD, with its held-out error
    metrics.csv / metrics.json held-out speakers: the checkpoint vs the static baseline
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIP = ROOT / "checkpoints"


def stage_corpus(work: Path, args) -> None:
    from lmg_lib.corpus import CorpusConfig, build_corpus
    from lmg_lib.data.preprocess import preprocess
    build_corpus(work / "corpus", CorpusConfig(n_speakers=32, utterances_per_speaker=40, seed=0,
                                                n_workers=args.workers))
    preprocess(work / "corpus", work / "prep", workers=args.workers)


def stage_train(work: Path, args) -> None:
    import torch
    from lmg_lib.config import cpu
    from lmg_lib.data import LipClipDataset
    from lmg_lib.train import Trainer
    torch.set_num_threads(args.threads)
    cfg = cpu().replace(train=dict(steps=args.steps))
    ds = LipClipDataset(work / "prep", "train", seed=cfg.seed)
    out = work / "run_cpu"
    trainer = Trainer(cfg, ds, out, variant="full", device="cpu",
                      resume=(out / "checkpoints" / "last.pt").exists())
    result = trainer.fit()
    SHIP.mkdir(exist_ok=True)
    shutil.copy(result["generator"], SHIP / "lmg_cpu.safetensors")
    shutil.copy(out / "train_log.csv", SHIP / "lmg_cpu.train_log.csv")
    print(json.dumps(result, indent=2))


def stage_landmarks(work: Path, args) -> None:
    import torch
    from lmg_lib.data import LipClipDataset
    from lmg_lib.eval.lip_landmarks import save_landmark_regressor, train_landmark_regressor
    torch.set_num_threads(args.threads)
    tr, va = LipClipDataset(work / "prep", "train"), LipClipDataset(work / "prep", "val")
    model, err = train_landmark_regressor(tr, va, steps=args.landmark_steps, max_frames=20000, log_every=200)
    SHIP.mkdir(exist_ok=True)
    save_landmark_regressor(model, SHIP / "lip_landmarks.pt", error=err)
    print("held-out (validation speakers) landmark error:", err)


def stage_evaluate(work: Path, args) -> None:
    import pandas as pd
    import torch
    from lmg_lib.train.baselines import StaticBaseline
    from lmg_lib.train.checkpoints import load_generator
    from lmg_lib.data import LipClipDataset
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import evaluate
    torch.set_num_threads(args.threads)
    G, cfg, _ = load_generator(SHIP / "lmg_cpu.safetensors")
    det = load_landmark_regressor(SHIP / "lip_landmarks.pt")
    test = LipClipDataset(work / "prep", "test")
    tables = []
    for name, model in (("lmg_cpu", G), ("static", StaticBaseline(cfg.model))):
        t = evaluate(model, test, detect=det.detect, unit="utterance")
        t.insert(0, "model", name)
        tables.append(t)
        print(name, "\n", t[t.group == "all"].to_string(index=False))
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(SHIP / "metrics.csv", index=False, float_format="%.4f")
    overall = {m: {r.metric: round(r.mean, 4) for r in table[(table.model == m) & (table.group == "all")].itertuples()}
               for m in table.model.unique()}
    overall["test_speakers"] = sorted({str(s) for s in test.by_speaker})
    overall["test_clips"] = len(test)
    overall["landmark_detector_error"] = det.error
    (SHIP / "metrics.json").write_text(json.dumps(overall, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["corpus", "train", "landmarks", "evaluate"])
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "shipped")
    ap.add_argument("--steps", type=int, default=2200)
    ap.add_argument("--landmark-steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    {"corpus": stage_corpus, "train": stage_train, "landmarks": stage_landmarks,
     "evaluate": stage_evaluate}[args.stage](args.work, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
