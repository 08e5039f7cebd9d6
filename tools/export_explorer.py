"""Write the explorer as a static page: docs/notebooks/explorer.html (no kernel, no network).

    python tools/export_explorer.py [--out docs/notebooks/explorer.html] [--checkpoints checkpoints]
                                    [--utterances 5] [--no-video] [--max-mb 10]

Every shipped run under ``checkpoints/`` trained on the default corpus style (``full``,
``speech2vid``, ``vgan``, every ``ablation_<variant>[_seed<k>]``, the probes) is run on one sentence of
each held-out speaker s28-s32 of the default corpus (``notebook.held_out_subset``, rebuilt in a
temporary folder, ~10 s): the page embeds, per model and sentence, the 16 frames of one clip, the lip landmarks the shipped regressor finds on them, that clip's row of the run's
``subset_per_clip.csv`` (else ``per_clip.csv``) beside the run's test-set means and intervals
(``summary.csv``), and the whole sentence as an mp4 with its speech.

Each speaker's clip is, of the ones the subset rebuilds, the one whose full-model LMD and opening r,
and whose full-model-minus-Speech2Vid LMD, are closest to their medians over all test clips
(``per_clip.csv``), among the clips on which the two are in the order of their median difference
where a speaker has such a clip: a representative clip for the full model and for the pair the page
opens on (the full model against Speech2Vid, on the closest of them), not a good or a bad one. The page also
embeds, for every pair of evaluated runs, their paired difference over the test sentences
(``export.paired_table``) and the controls' LMD (static reference, average mouth, audio-only
ceiling) for scale.
``lmg_lib.export`` builds the page; this script only gathers the inputs. A page over ``--max-mb`` is
rewritten without videos. Exit 2 when no shipped run is found.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INTRO = ("<p>The networks shipped in <code>checkpoints/</code> on held-out speakers s28-s32 of the embedded "
         "corpus, precomputed so that this page needs no kernel: pick two models and a sentence. The models "
         "are grouped as the paper's tables are (Table 3: the full model and the baselines; Table 2: the "
         "ablation variants (a)-(i)); each says its losses and its recipe (the preset it was trained with "
         "and every setting it changed, read from its generator's header): none is the paper's "
         "trained network. Each row shows the 16 frames of one clip (animated on the left, as a strip on "
         "the right) with the lip landmarks that the shipped regressor detects, that clip's metrics (from "
         "the run's <code>subset_per_clip.csv</code>: the subset of clips the tests rebuild, whose reference "
         "frames are drawn anew, so a clip scores differently there than in <code>per_clip.csv</code>), and "
         "beside them the run's mean and 95 % interval over all held-out sentences (from "
         "<code>per_clip.csv</code>; LMD in px of the 64 px crop, lower is better; opening r, PSNR and SSIM, "
         "higher is better; lmd_shuffled is the same model driven by another sentence's audio; CPBD is read against the real frames', given in the real row). Under the rows, "
         "the test set's verdict on A against B: their paired difference over the same sentences (two runs "
         "scored on the same sentences share each one's difficulty, so it can separate runs whose intervals "
         "overlap), and the controls' LMD for scale. A few runs of the recipe and learning-rate "
         "searches were read on the validation speakers only and carry no test metrics (they say so). "
         "The page opens on a clip "
         "where the full model's LMD and mouth-opening r, and its LMD minus Speech2Vid's, are close to their "
         "medians over the test clips, and where the two are in the order of their median difference (a "
         "median, not the mean in the table: per-clip r is skewed, with a long tail of low values). One clip is one draw: on any single clip the order of two models can flip. The videos are the whole "
         "sentence generated clip by clip as the evaluation does, with its speech; the generated ones are "
         "synthetic lip movements, not recordings. Page written by <code>tools/export_explorer.py</code>.</p>")


def build(checkpoints: Path, n_utterances: int, video: bool, fmt: str = "webp"):
    import numpy as np
    import pandas as pd
    from lmg_lib.corpus.build import utterance_paths
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.export import describe_run, discover_models, explorer_data, paired_table, representative_clip
    from lmg_lib.notebook import held_out_subset, landmark_detector
    from lmg_lib.train.baselines import BASELINES
    from lmg_lib.train.checkpoints import load_network
    from lmg_lib.eval.records import MODELS
    from lmg_lib.util.paths import SHIPPED_FULL

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
        index = {(c["speaker"], c["utterance"], int(c["clip"])): i for i, c in enumerate(ds.clips)}
        # Why these clips: the page should open on what the full model typically does, neither its best
        # nor its worst. So, per speaker, the clip of the subset whose full-model LMD and opening r are
        # closest to the full model's medians over every test clip (per_clip.csv); the closest of these
        # comes first and the page opens on it, against Speech2Vid.
        sub, ref = (Path(checkpoints) / SHIPPED_FULL / f for f in ("subset_per_clip.csv", "per_clip.csv"))
        if sub.exists() and ref.exists():
            sub, ref = pd.read_csv(sub), pd.read_csv(ref)
            sub = sub[[k in index for k in zip(sub["speaker"], sub["utterance"], sub["clip"].astype(int))]]
            typical = ("lmd", "opening_r")
            other = Path(checkpoints) / MODELS["Speech2Vid (Chung)"]
            if (other / "subset_per_clip.csv").exists() and (other / "per_clip.csv").exists():
                # typical for the pair the page opens on too: the full model's LMD minus Speech2Vid's
                key = ["speaker", "utterance", "clip"]
                d_lmd = lambda mine, theirs: mine.merge(theirs[key + ["lmd"]], on=key, suffixes=("", "_b"), how="left") \
                    .assign(d_lmd=lambda t: t["lmd"] - t["lmd_b"]).set_index(mine.index)
                sub = d_lmd(sub, pd.read_csv(other / "subset_per_clip.csv"))
                ref = d_lmd(ref, pd.read_csv(other / "per_clip.csv"))
                typical = ("lmd", "opening_r", "d_lmd")
            if "d_lmd" in typical:   # and, where a speaker has one, a clip whose order is the test set's median order
                same = lambda g: g[np.sign(g["d_lmd"]) == np.sign(ref["d_lmd"].median())]
                sub = pd.concat([same(g) if len(same(g)) else g for _, g in sub.groupby("speaker")])
            best = [representative_clip(g, ref, typical) for _, g in sub.groupby("speaker")]
            first = representative_clip(sub.loc[best], ref, typical)
            rows = [first, *[b for b in best if b != first]]
            keys = [(sub.at[r, "speaker"], sub.at[r, "utterance"], int(sub.at[r, "clip"])) for r in rows]
        else:            # no evaluated full model: the middle clip of each speaker's first sentence
            firsts = {}
            for c in ds.clips:
                firsts.setdefault(c["speaker"], (c["speaker"], c["utterance"]))
            keys = []
            for spk_utt in sorted(firsts.values()):
                clips = [k for k in index if k[:2] == spk_utt]
                keys.append(clips[len(clips) // 2])
        keys = keys[:n_utterances]
        picks = [index[k] for k in keys]
        chosen = [k[:2] for k in keys]
        audio = {k: utterance_paths(Path(work) / "heldout" / "corpus", *k)["audio"] for k in chosen}
        data = explorer_data(models, ds, picks, metrics, detect=landmark_detector().detect, audio=audio,
                             video=video, fmt=fmt, about={n: describe_run(d) for n, d in runs.items()},
                             first=(SHIPPED_FULL, MODELS["Speech2Vid (Chung)"]),
                             title="Explorer: the shipped models on held-out speakers")
    data["paired"] = paired_table(checkpoints, list(runs))
    data["yardsticks"] = yardsticks(checkpoints)
    return data


def yardsticks(checkpoints: Path) -> list:
    """The controls' test-set LMD the page prints for scale, [name, mean, low, high] (px) in this
    order: the static reference frame, the average mouth (a constant) and the audio-only ceiling,
    from the same table as Table 3 (a list: a JSON object would lose the order)."""
    from lmg_lib.eval.results import results_long
    L = results_long(checkpoints)
    out = []
    for name in ("static reference", "average mouth", "audio-only ceiling (oracle)"):
        hit = L[(L.model == name) & (L.metric == "lmd")]
        if len(hit):
            r = hit.iloc[0]
            out.append([name, round(float(r["mean"]), 3), round(float(r.ci_low), 3), round(float(r.ci_high), 3)])
    return out


def _d_phase() -> str:
    """One line on when the discriminator trains in each preset a shipped run names (from the configuration)."""
    from lmg_lib.config import get_config
    from lmg_lib.eval.records import thousands
    parts = []
    for preset in ("cpu", "cpu2"):
        t = get_config(preset).train
        parts.append(f"<code>{preset}</code>: from step {thousands(t.gan_start)} of {thousands(t.steps)}")
    return ("<p>When the discriminator trains (and with it L_gen, and the full model's L_perc), in the recipes "
            "the labels name: " + "; ".join(parts) + ". VGAN's GAN term follows the same schedule: "
            "before it, VGAN learns from its pixel loss alone. A run whose command moved it says so "
            "(\"D from step ...\").</p>")


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
    intro = INTRO + _d_phase()
    page = explorer_html(data, intro)
    if len(page) > args.max_mb * 1e6 and not args.no_video:
        print(f"  {len(page) / 1e6:.1f} MB with videos, over {args.max_mb} MB: without them")
        for m in [data["utterances"], *[list(v["clips"].values()) for v in data["models"].values()]]:
            for x in m:
                x["video"] = None
        page = explorer_html(data, intro)
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
