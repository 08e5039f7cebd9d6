"""Write the ablation explorer as a static page: docs/notebooks/explorer.html (no kernel, no network).

    python tools/export_explorer.py [--out docs/notebooks/explorer.html] [--checkpoints checkpoints]
                                    [--utterances 5] [--no-video] [--max-mb 10]

Every shipped run under ``checkpoints/`` (``full``, ``speech2vid``, ``vgan`` and any
``ablation_<variant>[_seed<k>]``) is run on one sentence of each held-out speaker s28-s32 of the
default corpus (``notebook.held_out_subset``, rebuilt in a temporary folder, ~10 s): the page embeds,
per model and sentence, the 16 frames of the sentence's middle clip, the lip landmarks the shipped
regressor finds on them, that clip's row of the run's ``subset_per_clip.csv`` (else
``per_clip.csv``), and the whole sentence as an mp4 with its speech. ``lmg_lib.export`` builds the
page; this script only gathers the inputs. A page over ``--max-mb`` is rewritten without videos.
Exit 2 when no shipped run is found.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INTRO = ("<p>The shipped networks of this repository (trained on 2 CPU cores at a quarter of the paper's "
         "width, see the README) on held-out speakers s28-s32 of the embedded corpus, precomputed so that "
         "this page needs no kernel: pick two models and a sentence. Each row shows the 16 frames of one "
         "clip (animated on the left, as a strip on the right) with the lip landmarks that the shipped "
         "regressor detects, and that clip's metrics from the run's shipped per-clip table "
         "(LMD in px of the 64 px crop, lower is better). The videos are the whole sentence as the "
         "evaluation generated it, clip by clip, with its speech; the generated ones are synthetic lip "
         "movements, not recordings. Page written by <code>tools/export_explorer.py</code>.</p>")


def build(checkpoints: Path, n_utterances: int, video: bool, fmt: str = "webp"):
    import pandas as pd
    from lmg_lib.corpus.build import utterance_paths
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.export import discover_models, explorer_data
    from lmg_lib.notebook import held_out_subset, landmark_detector
    from lmg_lib.train.baselines import BASELINES
    from lmg_lib.train.checkpoints import load_network

    runs = discover_models(checkpoints)
    if not runs:
        raise FileNotFoundError(f"no shipped run (*/generator.safetensors) under {checkpoints}")
    models, metrics = {}, {}
    for name, d in runs.items():
        model, _, _ = load_network(d / "generator.safetensors", BASELINES)
        models[name] = (model.eval(), f"checkpoints/{name}")
        table = next((d / f for f in ("subset_per_clip.csv", "per_clip.csv") if (d / f).exists()), None)
        metrics[name] = pd.read_csv(table) if table else None
    with tempfile.TemporaryDirectory(prefix="explorer_") as work:
        prep = held_out_subset(Path(work) / "heldout")
        ds = LipClipDataset(prep, "test")
        picks, first = [], {}
        for i, c in enumerate(ds.clips):                 # the first sentence of each speaker
            first.setdefault(c["speaker"], c["utterance"])
        for spk, utt in sorted(first.items())[:n_utterances]:
            idx = [i for i, c in enumerate(ds.clips) if (c["speaker"], c["utterance"]) == (spk, utt)]
            picks.append(idx[len(idx) // 2])                   # its middle clip
        audio = {k: utterance_paths(Path(work) / "heldout" / "corpus", *k)["audio"] for k in first.items()}
        return explorer_data(models, ds, picks, metrics, detect=landmark_detector().detect, audio=audio,
                             video=video, fmt=fmt, title="Ablation explorer: the shipped models on held-out speakers")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "notebooks" / "explorer.html"))
    ap.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    ap.add_argument("--utterances", type=int, default=5, help="sentences (one per held-out speaker, at most 5)")
    ap.add_argument("--no-video", action="store_true", help="frames only, no mp4 of the sentences")
    ap.add_argument("--png", action="store_true", help="lossless PNG strips (default WebP, ~8x smaller)")
    ap.add_argument("--max-mb", type=float, default=10.0, help="rewrite without videos above this size")
    args = ap.parse_args(argv)
    from lmg_lib.export import explorer_html
    t = time.time()
    try:
        data = build(Path(args.checkpoints), args.utterances, not args.no_video, "png" if args.png else "webp")
    except FileNotFoundError as e:
        print(f"export_explorer: error: {e}", file=sys.stderr)
        return 2
    page = explorer_html(data, INTRO)
    if len(page) > args.max_mb * 1e6 and not args.no_video:
        print(f"  {len(page) / 1e6:.1f} MB with videos, over {args.max_mb} MB: without them")
        for m in [data["utterances"], *[list(v["clips"].values()) for v in data["models"].values()]]:
            for x in m:
                x["video"] = None
        page = explorer_html(data, INTRO)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    print(f"{out}: {len(data['models'])} models x {len(data['utterances'])} sentences, "
          f"{out.stat().st_size / 1e6:.2f} MB, {time.time() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
