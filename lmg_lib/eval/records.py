"""Facts for the generated text of ``results.py``, read from data instead of typed: what a table was
measured on (speakers, sentences, clips, corpus style: what ``tools/make_shipped.py evaluate`` wrote
under ``checkpoints/``), each run's seed and schedule (its ``record.json`` and generator header),
and the paper's numbers (``paper_tables.json``)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from ..util.paths import SHIPPED_FULL


# display name -> run folder under checkpoints/ of every trained row of the results table (Table 3)
# Table 3: the full model and both baselines at the same recipe and steps (cpu2)
MODELS = {"full model": SHIPPED_FULL, "Speech2Vid (Chung)": "speech2vid_cpu2", "VGAN (Vondrick)": "vgan_cpu2"}


def summary(root, run: str) -> pd.DataFrame | None:
    """``<root>/<run>/summary.csv`` as ``make_shipped evaluate`` wrote it, None if not evaluated."""
    p = Path(root) / run / "summary.csv"
    return pd.read_csv(p) if p.exists() else None


def thousands(k: int) -> str:
    """1500 -> '1 500' (the repository's thousands separator)."""
    return f"{int(k):,}".replace(",", " ")


def and_list(items) -> str:
    """[0, 1, 2] -> '0, 1 and 2'."""
    items = [str(i) for i in items]
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def speaker_range(ids) -> str:
    """['s28', ..., 's32'] -> 's28-s32' when consecutive, else listed."""
    ids = list(ids)
    num = sorted(int(s[1:]) for s in ids if s[:1] == "s" and s[1:].isdigit())
    if len(num) == len(ids) > 1 and num == list(range(num[0], num[-1] + 1)):
        return f"s{num[0]}-s{num[-1]}"
    return ", ".join(sorted(ids))


def evaluated_on(root, controls: str = "controls") -> dict | None:
    """What a held-out table was measured on, counted from its controls' per-clip file: speakers
    ('s28-s32'), sentences, clips, and the corpus style (``evaluated_on.json``); None if missing."""
    p = Path(root) / controls / "static_per_clip.csv"
    if not p.exists():
        return None
    d = pd.read_csv(p, usecols=["speaker", "utterance"])
    rec = Path(root) / controls / "evaluated_on.json"
    cfg = (json.loads(rec.read_text()).get("corpus_config") or {}) if rec.exists() else {}
    return dict(speakers=speaker_range(d.speaker.unique()), sentences=len(d.groupby(["speaker", "utterance"])),
                clips=len(d), style=cfg.get("style", "rendered"))


def run_facts(root, run: str) -> dict:
    """A shipped run's ``seed`` (its ``record.json``), schedule (``gan_start``, ``steps``),
    learning rate ``lr``, ``batch_size``, L_gen's weight ``w_gen``, ``preset`` (``config.preset_of``: the configuration in its generator's
    header), ``d_terms``: the generator's loss terms that read D (``["perc", "gen"]``, in ``LOSS_TERMS``' order; L_perc only
    with ``loss.perceptual="discriminator"``) and ``changed``: the other settings where it differs from that preset ({"train.lr":
    0.0003}; what the model's ablation variant sets, and any loss switch, left out: the variant is
    the run's loss, not its recipe). A key is missing where its file is."""
    d, out = Path(root) / run, {}
    if (d / "record.json").exists():
        out["seed"] = json.loads((d / "record.json").read_text()).get("seed")
    if (d / "generator.safetensors").exists():
        from ..config import LOSS_TERMS, PRESETS, Config, make_config, preset_of, variant_of
        from ..util.weights import read_weights_metadata
        cfg = json.loads(read_weights_metadata(d / "generator.safetensors").get("config", "{}"))
        train = cfg.get("train", {})
        out.update({k: train[k] for k in ("gan_start", "steps", "lr", "batch_size") if k in train})
        out.update({k: cfg["loss"][k] for k in ("w_gen",) if k in cfg.get("loss", {})})
        if cfg:
            c = Config.from_dict(cfg)
            out["preset"] = preset_of(c)
            out["d_terms"] = [t.name for t in LOSS_TERMS if t.on(c.loss) and t.needs_d(c.loss)]   # ["perc", "gen"]
            if out["preset"] in PRESETS:
                variant = variant_of(c)
                preset = make_config(out["preset"], variant=None if variant == "custom" else variant)
                mine, base = _flat(asdict(c)), _flat(asdict(preset))
                out["changed"] = {k: v for k, v in mine.items() if base.get(k) != v and k not in
                                  ("name", "seed", "train.steps", "train.gan_start") and not k.startswith("loss.use_")}
    return out


def _flat(d: dict, prefix: str = "") -> dict:
    """{"train": {"lr": 1e-3}} -> {"train.lr": 1e-3}: the dotted names ``--set`` takes."""
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def run_label(root, run: str, d_step: bool | None = False) -> str:
    """'cpu2 recipe, 4 000 steps, seed 0': what a shipped run is, read from its files; 'D from step
    2 700' added where the run moved its preset's adversarial phase (``train.gan_start``), or
    always with ``d_step`` True (where runs of several D steps stand side by side), never with
    None (a model no loss term of which reads D); any other setting changed from the preset is
    named too ('lr 0.0003')."""
    from ..config import PRESETS
    f = run_facts(root, run)
    moved = d_step is not None and "preset" in f and f["preset"] in PRESETS and "gan_start" in f and \
        f["gan_start"] != PRESETS[f["preset"]]().train.gan_start
    return ", ".join([*([f"{f['preset']} recipe"] if "preset" in f else []),
                      *([f"{thousands(f['steps'])} steps"] if "steps" in f else []),
                      *([f"D from step {thousands(f['gan_start'])}" if f["gan_start"] < f.get("steps", float("inf")) else "no D"]
                        if moved or (d_step and "gan_start" in f) else []),
                      *[f"{k.rsplit('.', 1)[-1]} {v:g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]} {v}"
                        for k, v in f.get("changed", {}).items()],
                      *([f"seed {f['seed']}"] if f.get("seed") is not None else [])])


def models_line(root, models: dict = MODELS) -> str:
    """One sentence naming the run folder and recipe of every model of a table."""
    return "The models: " + "; ".join(f"{name}, `checkpoints/{run}/` ({run_label(root, run)})"
                                      for name, run in models.items() if (Path(root) / run).exists()) + "."


def unequal_steps(root, a: str, b: str) -> str:
    """'' when two runs trained for the same number of steps, else '; unequal steps: 4 000 vs 1 500'."""
    na, nb = (run_facts(root, r).get("steps") for r in (a, b))
    return "" if na == nb else f"; unequal steps: {thousands(na or 0)} vs {thousands(nb or 0)}"


def held_out(root, controls: str, corpus: str) -> str:
    """'held-out speakers s28-s32 of the <corpus> (1 138 clips of 200 sentences)', counted."""
    e = evaluated_on(root, controls)
    if e is None:
        return f"held-out speakers of the {corpus}"
    return (f"held-out speakers {e['speakers']} of the {corpus} ({thousands(e['clips'])} clips of "
            f"{thousands(e['sentences'])} sentences)")


def paper_psnr_note() -> str:
    """The paper's two printings of its full model's GRID PSNR (Table 3 and Table 2), read."""
    from ..config import PAPER_LETTER
    from .paper import table2, table3
    t3 = table3("GRID").set_index("method").loc["full model", "PSNR"]
    t2 = table2().set_index("variant").loc[PAPER_LETTER["full"], "PSNR"]
    return f"the full model's GRID PSNR is {t3:.2f} here and {t2:.2f} in their Table 2, both as printed"


def probe_recipes(root, runs: list[str], full: dict) -> str:
    """What each probe changes in the full recipe, its seeds and folders, read from the runs."""
    facts = {r: run_facts(root, r) for r in runs}
    groups: dict = {}
    for r in runs:
        changed = tuple(sorted(facts[r].get("changed", {}).items()))       # beyond the schedule: e.g. the batch size
        groups.setdefault((facts[r].get("gan_start"), facts[r].get("steps"), changed,
                           tuple(facts[r].get("d_terms", ("perc", "gen")))), []).append(r)
    out = []
    for (g, n, changed, d_terms), rs in groups.items():
        with_d = and_list(["the discriminator", *(f"L_{t}" for t in d_terms)])     # what acts once D is on
        what = ("the full recipe" if g is None or n is None else
                f"the full recipe without {with_d} (`train.gan_start={g}`, "
                f"its {thousands(n)} steps)" if g >= n else
                f"the full recipe with {with_d} from step {thousands(g)}"
                + (f" instead of {thousands(full['gan_start'])}" if "gan_start" in full else "")
                + f" (`train.gan_start={g}`: the last {thousands(n - g)} of the {thousands(n)} steps)")
        what += "".join(f", with `{k}={v}`" for k, v in changed)
        seeds = sorted(facts[r]["seed"] for r in rs if facts[r].get("seed") is not None)
        out.append(what + (f", seed{'s' if len(seeds) > 1 else ''} {and_list(seeds)}" if seeds else "")
                   + " (" + ", ".join(f"`checkpoints/{r}/`" for r in rs) + ")")
    return "; ".join(out)
