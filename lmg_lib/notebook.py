"""Notebook helpers: the artefact folder the notebooks share, and the setup and evaluation steps that
more than one notebook needs, written once.

The only state shared between notebooks is the artefact folder, ``$LMG_ARTEFACTS`` (default
``artefacts/`` in the repository; ``make test`` uses ``build/test-artefacts``):

    artefacts/
      source.json    01  which corpus notebook 1 read: the embedded corpus it built, or a real one
      corpus/        01  the embedded corpus in GRID layout (nothing when a real GRID path is given)
      dataset/       01  preprocessed clips: shards + manifest.json
      delay/         02  per-video best lags (csv)
      checkpoints/   04  train_<preset>/: the notebook's training run (generator.safetensors)
      ablations/     05  one training run per variant, table.csv
      evaluation/    06  metric tables (csv), the Speech2Vid baseline's run
      figures/       every figure of a run on a corpus given by path (real GRID, LRW, ...)

Figures of the embedded corpus that notebook 1 builds go to ``figures/`` (committed); figures of a
run on any other corpus go to the artefact folder's ``figures/``, never over the committed ones
(``figure_path``). A notebook whose input is missing stops at once and names the notebook to run
first (``require``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .util.paths import FIGURES, REPO_ROOT, SHIPPED_CHECKPOINTS, artefacts_root  # noqa: F401

SAVE = dict(dpi=110, metadata={"Software": None})     # savefig settings of every figure (stable PNGs)
METRICS = ("psnr", "ssim", "cpbd", "lmd")             # the paper's four metrics, in its order


def shown(path) -> str:
    """``path`` as a page prints it: relative to the repository when inside it, so that the same run
    on another machine prints (and the exported HTML pages hold) the same text."""
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return f"<outside the repository>/{p.name}"


class MissingArtefact(FileNotFoundError):
    """An artefact an earlier notebook should have written is missing."""


def artefact_dir(*parts: str, create: bool = True) -> Path:
    p = artefacts_root().joinpath(*parts)
    if create:
        p.mkdir(parents=True, exist_ok=True)
    return p


def require(path: str | os.PathLike, made_by: str) -> Path:
    """Fail early, with the notebook to run, when an earlier notebook's artefact is missing."""
    path = Path(path)
    if not path.exists():
        raise MissingArtefact(f"{path} is missing: run {made_by} first (or `make reproduce`)")
    return path


SOURCE = "source.json"                                # notebook 1's record of the corpus it read


def record_source(corpus, built: bool, layout: str = "grid") -> dict:
    """Notebook 1: remember which corpus the artefacts come from (``built``: the embedded corpus
    notebook 1 generated itself; else a corpus given by path) and its layout. Returns the record."""
    rec = {"corpus": str(Path(corpus).resolve()), "built": bool(built), "layout": layout}
    (artefact_dir() / SOURCE).write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def data_source() -> dict:
    """Notebook 1's record: ``corpus`` (Path), ``built`` (the embedded corpus notebook 1 generated),
    ``layout`` and ``embedded`` (an embedded corpus, with its ground truth: ``corpus.json`` and sidecars).
    Artefacts from before the record existed count as the built embedded corpus."""
    p = artefacts_root() / SOURCE
    if p.exists():
        rec = json.loads(p.read_text())
        rec["corpus"] = Path(rec["corpus"])
    else:
        corpus = require(artefact_dir("corpus", create=False) / "corpus.json", "01_data_preparation").parent
        rec = {"corpus": corpus, "built": True, "layout": "grid"}
    rec["embedded"] = (rec["corpus"] / "corpus.json").exists()
    return rec


def figure_path(name: str) -> Path:
    """Where a notebook saves figure ``name``: the committed ``figures/`` for the embedded corpus
    notebook 1 builds (what ``make reproduce`` regenerates), else the artefact folder's
    ``figures/`` (a real-data run never overwrites the committed figures)."""
    p = artefacts_root() / SOURCE
    real = p.exists() and not json.loads(p.read_text()).get("built", True)
    folder = artefacts_root() / "figures" if real else FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def source_markdown(*objs, equation: str | None = None, note: str | None = None) -> str:
    """Markdown that puts a paper equation (LaTeX, shown as a display formula) above the source of
    the library code implementing it, read from the installed package (``inspect``), never copied:
    the notebook shows what actually runs. Each object gets a header with its file and lines."""
    import inspect
    import textwrap
    parts = [f"$${equation}$$"] if equation else []
    if note:
        parts.append(note)
    for obj in objs:
        lines, start = inspect.getsourcelines(obj)
        path = Path(inspect.getsourcefile(obj)).resolve()
        try:
            path = path.relative_to(REPO_ROOT)
        except ValueError:
            pass
        parts.append(f"`{path.as_posix()}`, lines {start}-{start + len(lines) - 1}: "
                     f"`{obj.__qualname__}`\n\n```python\n{textwrap.dedent(''.join(lines)).rstrip()}\n```")
    return "\n\n".join(parts)


def show_source(*objs, equation: str | None = None, note: str | None = None) -> None:
    """Display ``source_markdown(...)`` in the notebook: the paper's equation beside its code."""
    from IPython.display import Markdown, display
    display(Markdown(source_markdown(*objs, equation=equation, note=note)))


def open_dataset(split: str, seed: int = 0):
    """Notebook 1's preprocessed dataset (``LipClipDataset``), or a clear error naming notebook 1."""
    from .data.dataset import LipClipDataset
    manifest = require(artefact_dir("dataset", create=False) / "manifest.json", "01_data_preparation")
    return LipClipDataset(manifest.parent, split, seed=seed)


def landmark_detector():
    """The shipped lip-landmark regressor that measures LMD (its held-out error in ``.error``)."""
    from .eval.lip_landmarks import load_landmark_regressor
    return load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt")


def lmd_landmarks(dataset, choice: str = "auto"):
    """The landmark detector LMD uses on ``dataset`` (a ``LipClipDataset`` or its Subset):
    ``auto`` is the shipped regressor on the embedded corpus, on which it was trained, and dlib on
    crops pasted into a face (as the authors) on any other data; ``regressor`` or ``dlib`` force
    one. The regressor outside the embedded corpus raises a ``LandmarkDomainWarning``."""
    from .eval.dlib_lmd import PastedFaceDlib, check_domain, is_embedded_dataset
    manifest = getattr(dataset, "dataset", dataset).manifest
    if choice not in ("auto", "regressor", "dlib"):
        raise ValueError(f"unknown LMD landmark detector {choice!r}; choose auto, regressor or dlib")
    if choice == "dlib" or (choice == "auto" and not is_embedded_dataset(manifest)):
        return PastedFaceDlib(int(manifest["settings"]["image_size"]))
    check_domain(manifest)
    return landmark_detector()


def dataset_manifest() -> dict:
    """The manifest of notebook 1's dataset (read, no shard is hashed)."""
    from .data.shards import read_manifest
    return read_manifest(require(artefact_dir("dataset", create=False) / "manifest.json", "01_data_preparation").parent)


def lip_frames(speaker: str, utt: str):
    """The lip crops of one utterance of notebook 1's dataset, uint8 (n, S, S, 3)."""
    from .data.shards import load_shard
    name = next((k for k, v in dataset_manifest()["shards"].items()
                 if v["speaker"] == speaker and v["utterance"] == utt), None)
    if name is None:
        raise MissingArtefact(f"{speaker}/{utt} is not in notebook 1's dataset")
    return load_shard(artefact_dir("dataset", create=False) / "shards" / name)["frames"].transpose(0, 2, 3, 1)


def compare_models(models: dict, dataset, detect=None, metrics=METRICS, title: str | None = None,
                   path=None):
    """Evaluate every model on ``dataset`` with the protocol of ``eval.protocol.evaluate`` and draw
    the comparison. ``models`` maps a name to a model (``(lms, ref) -> video``) or to its videos,
    precomputed in dataset order. Returns (table, per_clip, figure): every group (speakers and
    "all") with a leading ``model`` column; per-clip metrics by model; the bar chart of the overall
    means with 95 % intervals (saved to ``path`` if given)."""
    import pandas as pd
    from .eval.protocol import evaluate
    from .viz import metric_table_figure
    tables, per_clip = [], {}
    for name, model in models.items():
        summary, clips = evaluate(model, dataset, detect=detect, return_per_clip=True)
        summary.insert(0, "model", name)
        tables.append(summary)
        per_clip[name] = clips
    table = pd.concat(tables, ignore_index=True)
    fig = metric_table_figure(table[table.group == "all"], list(metrics), path=path, title=title)
    return table, per_clip, fig


# ------------------------------------------------------------------ the shipped results
DEFAULT_TEST_SPEAKERS = tuple(f"s{i}" for i in range(28, 33))   # held out by the default corpus's split


def held_out_subset(root, utterances: int = 2, workers: int = 1) -> Path:
    """The first ``utterances`` sentences of every test speaker of the DEFAULT corpus, rebuilt
    (byte-identical: each utterance is seeded on its own) and preprocessed into ``root/prep``
    (57 clips for 2 sentences, ~10 s of CPU). The shipped models' metrics on exactly these clips are
    recorded in ``checkpoints/<run>/subset_per_clip.csv``, so tests and notebook 6 can reproduce
    them without the 3.5-minute default corpus. Returns the preprocessed folder."""
    from .corpus.build import CorpusConfig, build_corpus
    from .data.preprocess import preprocess
    root = Path(root)
    build_corpus(root / "corpus", CorpusConfig(n_workers=workers), progress=False,
                 speakers=list(DEFAULT_TEST_SPEAKERS), max_utterances=utterances)
    preprocess(root / "corpus", root / "prep", workers=workers, test_speakers=list(DEFAULT_TEST_SPEAKERS),
               progress=False, log=lambda *a, **k: None)
    return root / "prep"


# The held-out subset rebuilt on another CPU can differ in its bytes: on an AVX2-only AMD EPYC the
# renderer's floats came out slightly different from the machines the shipped runs were evaluated
# on (shards of other sha256, the same clips). Measured there, per clip, same network: median
# |difference| LMD 0.008 px, PSNR 0.03 dB, opening r 0.001; a different network (Speech2Vid against
# the full model) differs by a median 0.15 px, 0.63 dB and 0.10. The tolerances on the median sit
# between the two, so a wrong network still fails.
CROSS_CPU_MEDIAN = {"psnr": 0.15, "ssim": 0.005, "psnr_mouth": 0.15, "ssim_mouth": 0.006, "cpbd": 0.08,
                    "lmd": 0.04, "opening_r": 0.03, "lmd_shuffled": 0.04, "opening_r_shuffled": 0.03}


def subset_bytes_match(manifest: dict, want: dict) -> bool:
    """The rebuilt subset holds the default corpus's held-out clips (the same shard names: an
    error if not); True if its bytes are the shipped ones too (``checkpoints/heldout_subset.json``),
    False where this CPU rendered them slightly differently (see ``CROSS_CPU_MEDIAN``)."""
    got = {k: v["sha256"] for k, v in manifest["shards"].items()}
    if sorted(got) != sorted(want):
        raise AssertionError(f"the subset's shards {sorted(got)} are not the shipped subset's {sorted(want)}")
    return got == want


def reproduction_gaps(live, recorded, columns, same_bytes: bool) -> dict:
    """{metric: (statistic, tolerance)} for per-clip metrics recomputed (``live``) against the
    shipped ones (``recorded``), same clips in the same order. On the same bytes: the largest
    |difference| against 1e-3 relative + 2e-3 (float summation order only); on another CPU's bytes:
    the median |difference| against ``CROSS_CPU_MEDIAN``."""
    import numpy as np
    out = {}
    for c in columns:
        a, b = live[c].to_numpy(float), recorded[c].to_numpy(float)
        d = np.abs(a - b)
        if same_bytes:
            out[c] = (float(np.max(d - 1e-3 * np.abs(b))), 2e-3)
        else:
            out[c] = (float(np.median(d)), CROSS_CPU_MEDIAN.get(c, 0.0))
    return out


def shipped_model(name: str):
    """(model in eval mode, config) of the shipped run ``checkpoints/<name>/generator.safetensors``:
    the full model or an ablation variant (``LipGenerator``), or a baseline (speech2vid, vgan)."""
    from .train.baselines import BASELINES
    from .train.checkpoints import load_network
    model, cfg, _ = load_network(SHIPPED_CHECKPOINTS / name / "generator.safetensors", BASELINES)
    return model, cfg
