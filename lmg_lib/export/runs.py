"""The shipped runs as the explorer shows them: found, ordered (Table 3, Table 2 (a)-(i), probes and
seeds), labelled with their letter, losses and recipe, and a representative clip to open on."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np

from ..eval.records import run_facts, run_label, thousands
from ..eval.results import BASELINE_PROBES, MODELS, PROBE_BASE, PROBES
from ..eval.seeds import LR_SEARCH, SEEDS

METRIC_COLUMNS = ("lmd", "lmd_shuffled", "opening_r", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd")
# scored on whole test utterances, not clips (summary.csv's per_utterance_sync rows): test-set means only
UTTERANCE_COLUMNS = ("lse_d", "lse_c")
# what each metric is measured in, shown beside its name (the others are unitless)
METRIC_UNITS = {"lmd": "px, 64 px crop", "lmd_shuffled": "px, another sentence's audio", "psnr": "dB",
                "psnr_mouth": "dB, mouth box", "ssim_mouth": "mouth box", "opening_r": "Pearson r",
                "cpbd": "sharpness: compare with the real frames'",
                "lse_d": "our sync expert, whole utterances; lower is better",
                "lse_c": "our sync expert, whole utterances; higher is better"}
TABLE3_RUNS = tuple(MODELS.values())          # the full model and the baselines, in Table 3's order
# a baseline at the rate its learning-rate search chose, where that is not the preset's (eval.seeds.SEEDS):
# run folder of its seed 0 -> (its display name, the Table 3 run it stands beside)
CHOSEN = {runs[0]: (name, MODELS[name.split(", lr ")[0]]) for name, runs in SEEDS.items() if name not in MODELS}
GROUPS = ("Table 3: the full model and the baselines (Chen et al. 2018, Table 3), seed 0",
          "Table 3's models: seeds 1 and 2",
          "Table 2: the ablation variants (a)-(i) (Chen et al. 2018, Table 2)",
          "Table 2's variants: second seeds, and the full model without identity skips",
          "The baselines' learning-rate search, the other rates (seed 0)",
          "Probes of the cpu recipe, and the baselines trained with it")
# what each baseline's network is (its losses come from the run's --variant, its recipe from --config)
ARCHITECTURE = {"speech2vid": "per-frame 2-D encoder-decoder (Chung et al.)",
                "vgan": "audio-conditioned video GAN (Vondrick et al.)"}
# --set keys that change only what a run writes, not what it learns (left out of its recipe line)
BOOKKEEPING = {"log_every", "val_every", "sample_every", "checkpoint_every"}


def _split(name: str) -> tuple[str, int]:
    """``ablation_l1_seed1`` -> (``ablation_l1``, 1); a name without ``_seed<k>`` is seed 0."""
    base, _, seed = name.partition("_seed")
    return (base, int(seed)) if seed.isdigit() else (name, 0)


def run_group(name: str) -> int:
    """The explorer's group of a shipped run (an index of ``GROUPS``): the Table 3 models (a
    baseline at its searched rate beside them), their other seeds, the Table 2 variants, their other
    seeds (and ``noskips``), the rest of the learning-rate search, then the probes and other runs."""
    base, seed = _split(name)
    if base in TABLE3_RUNS or base in CHOSEN:
        return 1 if seed else 0
    if base.startswith("ablation_"):
        return 3 if seed else 2
    if base == "noskips":
        return 3
    if any(base in runs for runs in LR_SEARCH.values()):
        return 4
    return 5


def _order_key(name: str):
    """Table 3's order, then the paper letters (a)-(i); in the last group the probes first, then
    second seeds in the same order, then other runs."""
    from ..config import PAPER_LETTER
    base, seed = _split(name)
    if base in TABLE3_RUNS:
        k = (1, TABLE3_RUNS.index(base), 0)
    elif base in CHOSEN:                                           # right after its Table 3 model
        k = (1, TABLE3_RUNS.index(CHOSEN[base][1]), 1)
    elif any(base in runs for runs in LR_SEARCH.values()):         # by model, then the search's order
        k = next((1, m, list(runs).index(base)) for m, runs in enumerate(LR_SEARCH.values()) if base in runs)
    elif base in PROBES.values() or base == PROBE_BASE:            # the probes, after their base
        k = (0, list(PROBES.values()).index(base) if base != PROBE_BASE else -1)
    elif base.startswith("ablation_"):
        k = (2, PAPER_LETTER.get(base[len("ablation_"):]) or "~")
    else:
        k = (3, 0)
    return run_group(name), k, base, seed


def discover_models(root) -> dict[str, Path]:
    """Every shipped run under ``root`` (a folder with ``generator.safetensors``) trained on the
    default corpus style, in the explorer's order: the Table 3 models (full, Speech2Vid, VGAN), the
    ablation variants in the paper's order (a)-(i), then probes, second seeds and other runs."""
    found = {p.parent.name: p.parent for p in Path(root).glob("*/generator.safetensors")
             if _style(p.parent) == "rendered"}       # the page's clips are the default style's
    return {n: found[n] for n in sorted(found, key=_order_key)}


def _style(run: Path) -> str:
    """The corpus style a shipped run was trained on (its ``record.json``; the default if unrecorded)."""
    rec = run / "record.json"
    cfg = json.loads(rec.read_text()).get("corpus_config") if rec.exists() else None
    return (cfg or {}).get("style", "rendered")


def recipe_of(command: str) -> str:
    """The recipe a training command ran, in words: its preset and what the command changed
    (``lmg train --config cpu --steps 600 --set train.gan_start=200 ...`` -> ``cpu recipe, 600 steps,
    gan_start=200``); a key set twice shows its last value (the one that won), and settings that only
    change what a run writes are left out."""
    toks, preset, steps, sets = shlex.split(command), "paper", None, {}
    for k, t in enumerate(toks[:-1]):
        if t == "--config":
            preset = toks[k + 1]
        elif t == "--steps":
            steps = toks[k + 1]
        elif t == "--set":
            key, _, value = toks[k + 1].partition("=")
            if key.rsplit(".", 1)[-1] not in BOOKKEEPING:
                sets[key.rsplit(".", 1)[-1]] = value
    steps = [f"{thousands(int(steps)) if steps.isdigit() else steps} steps"] if steps else []
    return ", ".join([f"{preset} recipe", *steps, *(f"{k}={v}" for k, v in sets.items())])


def _flag(command: str, flag: str) -> str | None:
    toks = shlex.split(command)
    return toks[toks.index(flag) + 1] if flag in toks[:-1] else None


def model_label(name: str, root=None) -> str:
    """The select box's name for a shipped run: the paper's names for the full model and the
    baselines (a baseline at the rate its learning-rate search chose, ``CHOSEN``, says so, and the
    same baseline at the preset's rate says that), ``(letter) variant`` for ``ablation_<variant>``,
    ``, seed k`` for a second seed; a learning-rate search run's rate is left to its recipe (read
    from its generator's header: ``describe_run``). ``root`` is kept for callers; unused."""
    from ..config import PAPER_LETTER
    base, seed = _split(name)
    table3 = {run: label for label, run in MODELS.items()}
    probes = {run: label for label, run in PROBES.items()}
    if name in probes and name not in table3:
        return f"full model, probe: {probes[name]}"
    if name == PROBE_BASE and name not in table3:       # the cpu recipe's full model
        return "full model, the probes' base"
    if name in BASELINE_PROBES.values():
        return next(label for label, run in BASELINE_PROBES.items() if run == name)
    if base in CHOSEN:                   # its rate is in its recipe (read from its header), not repeated here
        label = f"{CHOSEN[base][0].split(', lr ')[0]}, at its searched rate"
        return label + (f", seed {seed}" if seed else "")
    searched = {run: model for model, runs in LR_SEARCH.items() for run in runs if run not in table3}
    if name in searched:
        return f"{searched[name]}, learning-rate search"                  # the rate: in its recipe
    if base in table3:
        label = table3[base]
        if base in {run for _, run in CHOSEN.values()}:                   # the preset's rate, not the chosen one
            label += ", at the preset's rate"
    elif base == "noskips":
        label = "(e) full, without the identity skips"
    elif base.startswith("ablation_"):
        variant = base[len("ablation_"):]
        label = f"({PAPER_LETTER.get(variant) or '-'}) {variant}"
    else:
        label = base
    return label + (f", seed {seed}" if seed else "")


def describe_run(run: Path) -> dict:
    """What the explorer says about one shipped run folder: its ``label`` (``model_label``), one
    ``line`` (its losses and discriminator from its ``--variant``, and its network for a baseline),
    its ``recipe`` (``records.run_label``, read from its generator's header: ``cpu2 recipe, 4 000
    steps, seed 0``; the D step left out where no loss term reads D; ``recipe_of`` its recorded
    command for a run without a header), and ``summary``: the test-set mean and 95 % interval of
    each metric from its ``summary.csv`` (metric -> [mean, low, high]; LSE-D/C of whole utterances
    too, ``UTTERANCE_COLUMNS``), and ``real_summary``: the
    real frames' CPBD from the same file (what a model's CPBD is read against). The label leaves
    out what the recipe says (the page shows both)."""
    import pandas as pd
    from ..config import ABLATIONS, LOSS_TERMS
    from ..viz import ablation_line
    run = Path(run)
    rec = json.loads((run / "record.json").read_text()) if (run / "record.json").exists() else {}
    command = rec.get("command", "")
    variant = _flag(command, "--variant") if command else None
    line = ablation_line(variant, ABLATIONS[variant]) if variant in ABLATIONS else ""
    arch = ARCHITECTURE.get(_flag(command, "--model") if command else None)
    summary, real = {}, {}
    if (run / "summary.csv").exists():
        s = pd.read_csv(run / "summary.csv")
        if "source" not in s:
            s = s.assign(source="per_clip")
        ci = {r.metric: [round(float(r.mean), 3), round(float(r.ci_low), 3), round(float(r.ci_high), 3)]
              for r in s.itertuples() if np.isfinite(float(r.mean)) and
              (r.source == "per_clip" or (r.source == "per_utterance_sync" and r.metric in UTTERANCE_COLUMNS))}
        summary = {k: v for k, v in ci.items() if k in METRIC_COLUMNS + UTTERANCE_COLUMNS}
        real = {"cpbd": ci["cpbd_real"]} if "cpbd_real" in ci else {}
    # no term reads D (L1 only): when D would switch on changes nothing, so it is not named
    reads_d = not (variant in ABLATIONS and not any(t.on(_loss(variant)) and t.needs_d(_loss(variant))
                                                    for t in LOSS_TERMS))
    if "preset" in run_facts(run.parent, run.name):
        recipe = run_label(run.parent, run.name, d_step=None if not reads_d else False)
    else:                                    # no configuration in a header: what its command said
        recipe = recipe_of(command) if command else "recipe not recorded"
        if not reads_d:
            recipe = ", ".join(p for p in recipe.split(", ") if not p.startswith("gan_start="))
        if rec.get("seed") is not None:
            recipe += f", seed {rec['seed']}"
    # the label without what the recipe says again ("Speech2Vid (Chung), cpu recipe, seed 0 (cpu recipe, ..., seed 0)")
    label = ", ".join(p for p in model_label(run.name, run.parent).split(", ") if p not in recipe.split(", "))
    return {"label": label, "line": f"{arch}; {line}" if arch else line,
            "recipe": recipe, "summary": summary, "real_summary": real}


def _loss(variant: str):
    from ..config import make_config
    return make_config("paper", variant=variant).loss


def representative_clip(candidates, reference, metrics=("lmd", "opening_r")) -> int:
    """The row label of ``candidates`` (a per-clip table) closest to the median clip of ``reference``
    (the same model's per-clip table over the whole test set): the distance sums, per metric, the
    gap to the reference's median in units of the reference's interquartile range. A clip on which
    the model does neither well nor badly, in every metric named."""
    c = candidates.dropna(subset=list(metrics))
    if c.empty:
        raise ValueError("no candidate clip has every metric")
    dist = 0
    for m in metrics:
        q1, med, q3 = np.nanpercentile(reference[m].to_numpy(float), [25, 50, 75])
        dist = dist + (c[m] - med).abs() / (q3 - q1 if q3 > q1 else 1.0)
    return dist.idxmin()


def paired_table(root, runs, metrics=("lmd", "opening_r", "psnr", "ssim")) -> dict:
    """Every pair of evaluated runs (those with a ``per_clip.csv``) on the same held-out sentences,
    as ``eval.results.paired_difference`` computes one pair: each sentence's clips averaged, ``a``
    minus ``b`` per sentence, its mean and 95 % t interval, and the share of sentences on which the
    difference is below 0. {a: {b: {metric: [mean, low, high, share_below]}}} for ``a`` before ``b``
    in ``runs`` (the page flips the sign for the other order). Paired, because two runs scored on
    the same sentences share each sentence's difficulty: their intervals can overlap while their
    difference is clear of 0."""
    import pandas as pd
    from ..eval.protocol import mean_ci
    per = {}
    for r in runs:
        p = Path(root) / r / "per_clip.csv"
        if p.exists():
            d = pd.read_csv(p)
            per[r] = d.groupby(["speaker", "utterance"])[[m for m in metrics if m in d.columns]].mean()
    names, out = list(per), {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = (per[a] - per[b]).dropna(how="all")
            cell = {}
            for m in metrics:
                if m in d and d[m].notna().sum() > 1:
                    mean, lo, hi = mean_ci(d[m])
                    cell[m] = [round(mean, 4), round(lo, 4), round(hi, 4), round(float((d[m].dropna() < 0).mean()), 3)]
            if cell:
                out.setdefault(a, {})[b] = cell
    return out
