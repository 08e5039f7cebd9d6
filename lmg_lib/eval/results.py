"""The shipped results as one table: every model's and control's mean and 95 % interval over the
held-out sentences, the targets of the CPU recipe, and the paper's orderings as holds / does not hold.

Reads what ``tools/make_shipped.py evaluate`` wrote under ``checkpoints/``: ``<run>/summary.csv``
(``source`` per_clip: PSNR, SSIM, their mouth-box versions, CPBD, LMD and opening r with true and
shuffled audio; per_utterance_sync: offset, LSE-D, LSE-C), ``controls/summary.csv`` (static
reference, average mouth, the audio-only ceiling's landmarks, real frames) and ``ceiling/summary.csv``
(the audio-only ceiling's frames, scored like a model). Intervals are over sentences (clips of a
sentence overlap, so they are averaged first: ``protocol.summarize_clips``). The prose around the
tables reads its facts (speakers, sentences, clips, each run's seed and schedule, the paper's
numbers) from those files, the runs' ``record.json`` and generator headers, and ``paper_tables.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .records import (MODELS, held_out, models_line, paper_psnr_note, probe_recipes, run_facts, run_label,
                      thousands, unequal_steps)
from .records import summary as _summary
from .seeds import run_orderings, run_table, seed_rows_note, seed_table

COLUMNS = ("lmd", "lmd_gap_closed", "lmd_shuffled", "opening_r", "opening_r_shuffled", "psnr", "ssim", "psnr_mouth",
           "ssim_mouth", "cpbd", "lse_d", "lse_d_shuffled", "lse_c", "lse_c_shuffled")
CEILING = "audio-only ceiling (oracle)"         # its row: checkpoints/ceiling/ (or its landmarks in controls/)
CONTROLS = ("static reference", "average mouth", CEILING, "real frames")

# The targets (docs/TRAINING.md; issue "Half-way to the ceiling"), each number once
OPENING_R_MIN = 0.75            # mouth-opening r
LMD_RATIO_MAX = 0.6             # LMD / static LMD and LMD / shuffled-audio LMD
GAP_CLOSED_MIN = 0.5            # of the static-to-ceiling LMD gap
LMD_MAX_PX = 1.45
FRAME_PSNR_DB, FRAME_SSIM = 1.0, 0.05   # whole frame: at most this far below the static reference
CPBD_RATIO = (0.5, 2.0)         # CPBD / the real frames' CPBD


PROBE_BASE = "full"   # the cpu recipe's full model; each probe (display name -> run folder) changes its recipe
PROBES = {"warm-up 1 200, seed 0": "full_warmup1200", "warm-up 1 200, seed 1": "full_warmup1200_seed1",
          "3 000 steps, D for the last 300, seed 0": "search_long3000",
          "4 000 steps, D for the last 300, seed 0 (= cpu2, the shipped full model)": "full_cpu2",
          "cpu2 at 4 clips a step instead of 8, seed 0 (a lever)": "search_b4",
          "cpu2 at 4 clips a step, no D, L_gen or L_perc, seed 0 (a lever)": "search_b4_nod",
          "cpu2 at 4 clips a step, L_gen x 0.25, seed 0 (a lever)": "search_b4_gen025",
          "cpu2 at 4 clips a step, no D, L_perc on a lip autoencoder, seed 0 (a lever)": "search_b4_ae",
          "cpu2 at 4 clips a step, no D, lr 2e-3, seed 0 (a lever)": "search_b4_nod_lr2e-3"}

# probes of a baseline's recipe (display name -> run folder): runs of the recipe search, not in Table 3
BASELINE_PROBES = {"Speech2Vid (Chung), probe: 3 000 steps, seed 0": "speech2vid_long3000",
                   "Speech2Vid (Chung), cpu recipe, 1 500 steps, seed 0": "speech2vid",
                   "VGAN (Vondrick), cpu recipe, 1 500 steps, seed 0": "vgan"}

# the same for the photographic corpus style (its own held-out clips and controls: issue "real faces")
PHOTO_MODELS = {"full model": "photo_full"}


def gap_closed(static_lmd: float, lmd: float, ceiling_lmd: float) -> float:
    """The fraction of the static-to-ceiling LMD gap a model closes: 0 = the static reference frame,
    1 = the audio-only ceiling."""
    return (static_lmd - lmd) / (static_lmd - ceiling_lmd)


def results_long(root, models: dict = MODELS, controls: str = "controls", ceiling: str = "ceiling") -> pd.DataFrame:
    """Rows (model, metric, mean, ci_low, ci_high, n) for every shipped model and control
    (``models``: display name -> run folder; ``controls``: the controls' folder; ``ceiling``: the
    audio-only ceiling's, whose frames are scored like a model's; until it is evaluated, the row
    holds its landmark-level opening r from the controls). ``lmd_gap_closed`` (``gap_closed`` of
    the means, no interval) for every model once the ceiling's LMD is known."""
    rows = []

    def add(model, s, metric, as_=None):
        hit = s[s.metric == metric]
        if len(hit):
            r = hit.iloc[0]
            rows.append(dict(model=model, metric=as_ or metric, mean=r["mean"], ci_low=r["ci_low"],
                             ci_high=r["ci_high"], n=int(r["n"])))

    for name, run in models.items():
        s = _summary(root, run)
        if s is None:
            continue
        for m in COLUMNS:
            add(name, s, m)
    c, oracle = _summary(root, controls), _summary(root, ceiling)
    if c is not None:
        st, lb, rf = (c[c.source == k] for k in ("static", "landmark_baselines", "real_frames"))
        for m in ("lmd", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd"):
            add("static reference", st, m)
        add("average mouth", lb, "lmd_average_mouth", "lmd")
        if oracle is None:
            add(CEILING, lb, "opening_r_ceiling", "opening_r")
        add("real frames", st, "cpbd_real", "cpbd")
        add("real frames", rf, "lse_d")
        add("real frames", rf, "lse_c")
    if oracle is not None:
        for m in COLUMNS:
            add(CEILING, oracle, m)
    L = pd.DataFrame(rows, columns=["model", "metric", "mean", "ci_low", "ci_high", "n"])
    static, top = _get(L, "static reference", "lmd"), _get(L, CEILING, "lmd")
    if np.isfinite(static) and np.isfinite(top):
        gap = [dict(model=name, metric="lmd_gap_closed", mean=gap_closed(static, _get(L, name, "lmd"), top),
                    ci_low=np.nan, ci_high=np.nan, n=int(L[(L.model == name) & (L.metric == "lmd")].n.iloc[0]))
               for name in models if np.isfinite(_get(L, name, "lmd"))]
        L = pd.concat([L, pd.DataFrame(gap, columns=L.columns)], ignore_index=True) if gap else L
    return L


def results_table(root, digits: int = 2, models: dict = MODELS, controls: str = "controls",
                  ceiling: str = "ceiling") -> pd.DataFrame:
    """The wide table: one row per model / control, 'mean [low, high]' per metric ('' if n/a;
    the mean alone where there is no interval)."""
    long = results_long(root, models, controls, ceiling)
    if long.empty:
        return long
    f = lambda v: f"{v:.{digits}f}"
    cell = long.apply(lambda r: f(r["mean"]) if np.isnan(r["ci_low"]) else
                      f"{f(r['mean'])} [{f(r['ci_low'])}, {f(r['ci_high'])}]", axis=1)
    wide = long.assign(cell=cell).pivot(index="model", columns="metric", values="cell").fillna("")
    order = [m for m in [*models, *CONTROLS] if m in wide.index]
    return wide.loc[order, [c for c in COLUMNS if c in wide.columns]]


def _get(long, model, metric, field="mean") -> float:
    hit = long[(long.model == model) & (long.metric == metric)]
    return float(hit[field].iloc[0]) if len(hit) else float("nan")


def targets(root, models: dict = MODELS, controls: str = "controls", model: str = "full model",
            ceiling: str = "ceiling", long: pd.DataFrame | None = None) -> pd.DataFrame:
    """The targets of the CPU recipe and of issue "Half-way to the ceiling" (docs/TRAINING.md) for
    ``model`` (a display name of ``models``): value, wanted (with the numbers it is measured
    against, read from the tables), holds (None where a number is missing). ``long``: the
    ``results_long`` rows to read instead of the shipped runs' (``seed_targets``: a seed mean)."""
    L = results_long(root, models, controls, ceiling) if long is None else long
    g = lambda model, m, f="mean": _get(L, model, m, f)
    F, S = model, "static reference"
    ok = lambda v, cond: None if not np.isfinite(v) else bool(cond)
    lmd, st, top = g(F, "lmd"), g(S, "lmd"), g(CEILING, "lmd")
    gap, half = g(F, "lmd_gap_closed"), st - GAP_CLOSED_MIN * (st - top)
    lo, hi = CPBD_RATIO
    rows = [
        ("mouth-opening r", g(F, "opening_r"), f">= {OPENING_R_MIN} (ceiling {g(CEILING, 'opening_r'):.2f})",
         ok(g(F, "opening_r"), g(F, "opening_r") >= OPENING_R_MIN)),
        ("LMD / static LMD", lmd / st, f"<= {LMD_RATIO_MAX}", ok(lmd / st, lmd / st <= LMD_RATIO_MAX)),
        ("LMD / shuffled-audio LMD", lmd / g(F, "lmd_shuffled"), f"<= {LMD_RATIO_MAX}",
         ok(lmd / g(F, "lmd_shuffled"), lmd / g(F, "lmd_shuffled") <= LMD_RATIO_MAX)),
        ("static-to-ceiling LMD gap closed", gap,
         f">= {GAP_CLOSED_MIN} (LMD <= {half:.2f} px: static {st:.2f}, ceiling {top:.2f})" if np.isfinite(top)
         else f">= {GAP_CLOSED_MIN} (ceiling's frames not evaluated)", ok(gap, gap >= GAP_CLOSED_MIN)),
        ("LMD (px)", lmd, f"<= {LMD_MAX_PX}", ok(lmd, lmd <= LMD_MAX_PX)),
        ("LMD upper CI - average mouth lower CI", g(F, "lmd", "ci_high") - g("average mouth", "lmd", "ci_low"),
         "< 0 (intervals apart)", ok(g(F, "lmd", "ci_high") - g("average mouth", "lmd", "ci_low"),
                                     g(F, "lmd", "ci_high") < g("average mouth", "lmd", "ci_low"))),
        ("mouth PSNR - static", g(F, "psnr_mouth") - g(S, "psnr_mouth"), ">= 0",
         ok(g(F, "psnr_mouth") - g(S, "psnr_mouth"), g(F, "psnr_mouth") >= g(S, "psnr_mouth"))),
        ("mouth SSIM - static", g(F, "ssim_mouth") - g(S, "ssim_mouth"), ">= 0",
         ok(g(F, "ssim_mouth") - g(S, "ssim_mouth"), g(F, "ssim_mouth") >= g(S, "ssim_mouth"))),
        ("frame PSNR - static (dB)", g(F, "psnr") - g(S, "psnr"), f">= -{FRAME_PSNR_DB:g}",
         ok(g(F, "psnr") - g(S, "psnr"), g(F, "psnr") - g(S, "psnr") >= -FRAME_PSNR_DB)),
        ("frame SSIM - static", g(F, "ssim") - g(S, "ssim"), f">= -{FRAME_SSIM:g}",
         ok(g(F, "ssim") - g(S, "ssim"), g(F, "ssim") - g(S, "ssim") >= -FRAME_SSIM)),
        ("CPBD / real CPBD", g(F, "cpbd") / g("real frames", "cpbd"), f"{lo:g} .. {hi:g}",
         ok(g(F, "cpbd") / g("real frames", "cpbd"), lo <= g(F, "cpbd") / g("real frames", "cpbd") <= hi)),
    ]
    return pd.DataFrame(rows, columns=["target", "value", "wanted", "holds"])


def seed_targets(root, model: str = "full model", seeds: dict | None = None) -> pd.DataFrame:
    """The targets for every evaluated seed of ``model`` (``seeds.SEEDS``) and for the mean over
    them, which issue "Half-way to the ceiling" states its targets for: columns target, wanted,
    'seed k' per run, 'mean of N seeds' and holds (of the mean). The mean averages each of the
    model's metrics over its runs (means and interval bounds alike; the controls are the same for
    every seed). With one evaluated seed: that run's targets, as ``targets``."""
    from .records import run_facts
    from .seeds import SEEDS
    runs = [r for r in (seeds or SEEDS)[model] if _summary(root, r) is not None]
    if len(runs) < 2:
        return targets(root, {**MODELS, model: runs[0]} if runs else MODELS, model=model)
    per = {run: results_long(root, {**MODELS, model: run}) for run in runs}
    base = per[runs[0]]
    mine = pd.concat([p[p.model == model] for p in per.values()]).groupby("metric", sort=False)[
        ["mean", "ci_low", "ci_high", "n"]].mean().reset_index().assign(model=model)
    mean = targets(root, model=model, long=pd.concat([base[base.model != model], mine], ignore_index=True))
    out = mean[["target", "wanted"]].copy()
    for run, L in per.items():
        out[f"seed {run_facts(root, run).get('seed', '?')}"] = targets(root, model=model, long=L)["value"].to_numpy()
    out[f"mean of {len(runs)} seeds"] = mean["value"].to_numpy()
    out["holds"] = mean["holds"].to_numpy()
    return out


VERDICT = {True: "holds", False: "missed", None: "not measured"}


def _shown(t: pd.DataFrame) -> pd.DataFrame:
    """A targets table as printed: values with 3 decimals, holds / missed / not measured."""
    values = [c for c in t.columns if c == "value" or c.startswith(("seed ", "mean of "))]
    return t.assign(**{c: t[c].map(_value) for c in values}, holds=t["holds"].map(lambda h: VERDICT[h]))


shown_targets = _shown          # the public name notebooks print a targets table with


def _value(v: float) -> str:
    return "—" if np.isnan(v) else f"{v:.3f}"


def _ceiling_note(root, controls: str, ceiling: str) -> str:
    if (Path(root) / ceiling / "summary.csv").exists():
        return (f"{CEILING}: the mouths predicted from the phoneme timing alone (`lmg_lib/corpus/ceiling.py`), "
                f"rendered with each test speaker's look and the corpus's own noise and head motion, cropped and "
                f"scored like a model (`checkpoints/{ceiling}/`); lmd_gap_closed = (static LMD - LMD) / "
                f"(static LMD - ceiling LMD), from the means.")
    return (f"{CEILING}: its landmarks only (opening r without the regressor, `checkpoints/{controls}/`) until "
            f"`python tools/make_shipped.py evaluate {ceiling}` has scored its frames.")


def results_markdown(root) -> str | None:
    """Our table, the targets, Chen et al. 2018 Table 3 (GRID) and its orderings here, as markdown
    (``figures/eval_table.md``, the README's table); None without shipped results."""
    from .paper import as_printed, table3
    ours = results_table(root)
    if ours.empty:
        return None
    return "\n\n".join([
        f"Ours: {held_out(root, 'controls', 'default embedded corpus')}; mean [95 % CI] over sentences. "
        "LMD in px of the 64 px crop against the ground-truth landmarks; "
        "lse_d / lse_c from this repository's sync expert (Euclidean distance of unit embeddings, not "
        "Wav2Lip's scale). " + _ceiling_note(root, "controls", "ceiling") + " " + models_line(root),
        to_markdown(ours),
        f"Targets of issue \"Half-way to the ceiling\" (full model, {run_label(root, MODELS['full model'])}; "
        "each evaluated seed, and the mean over the seeds, which the targets are stated for and "
        "'holds' judges):",
        to_markdown(_shown(seed_targets(root)), index=False),
        f"Chen et al. 2018, Table 3 (GRID; the released code computes PSNR on wrapped uint8, their LMD normalisation unresolved; "
        f"{paper_psnr_note()}):",
        to_markdown(as_printed(table3("GRID")).set_index("method").drop(columns=["dataset"], errors="ignore")),
        to_markdown(orderings(root), index=False),
        *([seeds] if (seeds := seeds_markdown(root)) else []),
        *([probes] if (probes := probes_markdown(root)) else []),
    ])


def seeds_markdown(root) -> str | None:
    """Each model's seeds (``seeds.SEEDS``) once a model has more than one evaluated; else None."""
    t = seed_table(root)
    if t.empty or t["seeds"].max() < 2:
        return None
    return "\n\n".join([
        "Across seeds (each model's seeds share its recipe and steps): each model's mean over its seeds (min .. "
        "max across seeds):",
        to_markdown(t), *seed_rows_note(root), "Each run, mean [95 % CI over sentences]:", to_markdown(run_table(root)),
        to_markdown(run_orderings(root).drop(columns="closest_px"), index=False)])


PAPER_METHOD = {"full model": "full model", "Speech2Vid (Chung)": "Chung", "VGAN (Vondrick)": "Vondrick"}


def orderings(root) -> pd.DataFrame:
    """The paper's Table 3 orderings (GRID) on our data, each in the direction the paper printed it: the
    full model's LMD below each baseline's, and its SSIM / PSNR on whichever side of the baseline's the
    paper found (on GRID its SSIM is below Chung's, 0.73 against 0.74). Both models are scored on the
    same held-out sentences, so the verdict is paired (``paired_difference``, ``protocol.paired_below``):
    holds / does not hold = the full model's per-sentence difference from the baseline has its 95 %
    interval on the paper's side of 0 / on the other; not separated = it includes 0. Without per-clip
    tables the two intervals are compared instead (``protocol.interval_below``).
    Where the full model trained for more steps than a baseline, the LMD ordering is given again with
    the full model of the baseline's steps (``PROBE_BASE``), when that run is shipped."""
    from .paper import table3
    from .protocol import interval_below, paired_below
    L = results_long(root)
    paper = table3("GRID").set_index("method")
    rows = []

    def verdict(f, b, lower, facts="", d=None):   # f, b: (mean, ci_low, ci_high); lower: the paper's direction
        if d is not None:                          # d: full minus baseline, paired by sentence
            v = paired_below(d) if lower else paired_below([-d[0], -d[2], -d[1]])
            facts = f"full minus baseline {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}], paired; {facts}"
        else:
            v = interval_below(f, b) if lower else interval_below(b, f)
        return (v[:-1] + f"; {facts})" if v.endswith(")") else f"{v} ({facts})") if facts else v

    for base in ("Speech2Vid (Chung)", "VGAN (Vondrick)"):
        pf, pb = (paper.loc[PAPER_METHOD[x]] for x in ("full model", base))
        said = {m: (float(pf[m.upper()]), float(pb[m.upper()])) for m in ("lmd", "ssim", "psnr")}
        if not (L.model == base).any():
            rows.append((f"full model LMD < {base} LMD", "%.2f vs %.2f" % said["lmd"], "not trained"))
            continue
        steps = unequal_steps(root, MODELS["full model"], MODELS[base])
        paired = paired_intervals(root, MODELS["full model"], MODELS[base], ("lmd", "ssim", "psnr"))
        for m in ("lmd", "ssim", "psnr"):
            lower = said[m][0] < said[m][1]
            f, b = ([_get(L, x, m, k) for k in ("mean", "ci_low", "ci_high")] for x in ("full model", base))
            d = paired.get(m)
            rows.append((f"full model {m.upper()} {'<' if lower else '>'} {base}", "%.2f vs %.2f" % said[m],
                         verdict(f, b, lower, f"{f[0]:.3f} vs {b[0]:.3f}{steps}", d)))
        # unequal steps: the LMD ordering again with the full model trained as long as the baseline
        eq, s = PROBE_BASE, _summary(root, PROBE_BASE)
        if steps and s is not None and not unequal_steps(root, eq, MODELS[base]) and (s.metric == "lmd").any():
            f = s[s.metric == "lmd"].iloc[0][["mean", "ci_low", "ci_high"]].astype(float).tolist()
            b = [_get(L, base, "lmd", k) for k in ("mean", "ci_low", "ci_high")]
            d = paired_intervals(root, eq, MODELS[base], ("lmd",)).get("lmd")
            rows.append((f"full model LMD < {base}, at equal steps (full model: `checkpoints/{eq}/`, "
                         f"{run_label(root, eq)})", "%.2f vs %.2f" % said["lmd"],
                         verdict(f, b, True, f"{f[0]:.3f} vs {b[0]:.3f}", d)))
    return pd.DataFrame(rows, columns=["paper's ordering (Chen et al. 2018, Table 3, GRID)",
                                       "the paper's values (full model vs baseline)", "here"])


def paired_difference(root, run: str, base: str, metrics=("lmd", "opening_r", "psnr", "ssim", "cpbd")) -> pd.DataFrame:
    """``run`` minus ``base`` on the same held-out sentences, from their ``per_clip.csv``: each
    sentence's clips averaged, then mean and 95 % t interval of the per-sentence differences (paired:
    what the two runs share, the sentence's difficulty, cancels). Empty if either is missing."""
    from .protocol import mean_ci
    a, b = (Path(root) / r / "per_clip.csv" for r in (run, base))
    if not (a.exists() and b.exists()):
        return pd.DataFrame(columns=["metric", "n", "mean", "ci_low", "ci_high"])
    key = ["speaker", "utterance"]
    da, db = pd.read_csv(a), pd.read_csv(b)
    metrics = [m for m in metrics if m in da.columns and m in db.columns]
    ua, ub = (d.groupby(key)[metrics].mean() for d in (da, db))
    d = (ua - ub).dropna(how="all")
    return pd.DataFrame([dict(metric=m, n=int(d[m].notna().sum()), **dict(zip(("mean", "ci_low", "ci_high"), mean_ci(d[m]))))
                         for m in metrics])


def paired_intervals(root, run: str, base: str, metrics) -> dict:
    """{metric: [mean, ci_low, ci_high]} of ``run`` minus ``base`` (``paired_difference``), for the
    ``metrics`` both runs' per-clip tables have ({} without them): what a paired verdict reads."""
    d = paired_difference(root, run, base, tuple(metrics))
    return {r.metric: [float(r.mean), float(r.ci_low), float(r.ci_high)] for r in d.itertuples()}


def probes_markdown(root, probes: dict = PROBES) -> str | None:
    """The shipped probes of the recipe (``PROBES``) beside the full model and the controls on the
    same held-out sentences, and the targets for each; None if no probe is evaluated. The text
    reads each run's schedule and seed from its files (``records.run_facts``)."""
    full = run_facts(root, PROBE_BASE)
    name = f"full model, {run_label(root, PROBE_BASE, d_step=True)}"
    models = {name: PROBE_BASE, **{f"probe: {k}": v for k, v in probes.items()}}
    ours = results_table(root, models=models)
    found = [m for m in models if m in ours.index]
    if len(found) < 2:
        return None
    cols = [c for c in ("lmd", "lmd_gap_closed", "lmd_shuffled", "opening_r", "psnr", "ssim", "psnr_mouth",
                        "ssim_mouth", "cpbd") if c in ours.columns]
    t = None
    for m in found:
        tm = targets(root, models, model=m).set_index(["target", "wanted"])
        col = tm["value"].map(_value) + " " + tm["holds"].map(lambda h: VERDICT[h])
        t = col.rename(m).to_frame() if t is None else t.join(col.rename(m))
    return "\n\n".join([
        f"Probes of the cpu recipe (docs/TRAINING.md): {probe_recipes(root, [models[m] for m in found[1:]], full)}. "
        "Same held-out sentences and controls:",
        to_markdown(ours.loc[[m for m in [*found, *CONTROLS] if m in ours.index], cols]),
        f"Each probe minus the cpu recipe's full model (`checkpoints/{PROBE_BASE}/`), paired over the same sentences (mean [95 % CI] of the "
        "per-sentence differences; an interval clear of 0 is a difference these sentences resolve, "
        "for this seed):",
        to_markdown(pd.DataFrame({f"probe: {k}": paired_difference(root, v, PROBE_BASE).set_index("metric").apply(
            lambda r: f"{r['mean']:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]", axis=1)
            for k, v in probes.items() if (Path(root) / v / "per_clip.csv").exists()})),
        "Targets for each:", to_markdown(t.reset_index(), index=False)])


def _regressor_error(root) -> str:
    p = Path(root) / "photo_controls" / "regressor_error_val.json"
    if not p.exists():
        return " is not measured"
    e = json.loads(p.read_text())
    return f" (validation speakers, {e['n_frames']} frames) is {e['mean_px']:.2f} px"


def photo_markdown(root) -> str | None:
    """The full recipe trained on the photographic corpus style, on that style's held-out speakers
    beside its own controls and ceiling, and the same targets; None if ``photo_full`` is not evaluated."""
    ours = results_table(root, models=PHOTO_MODELS, controls="photo_controls", ceiling="photo_ceiling")
    if ours.empty or "full model" not in ours.index:
        return None
    t = _shown(targets(root, PHOTO_MODELS, "photo_controls", ceiling="photo_ceiling"))
    return "\n\n".join([
        f"The full recipe on the photographic corpus style (`checkpoints/photo_full/`): "
        f"{held_out(root, 'photo_controls', 'photographic style')}. That style (`lmg corpus --style photo`) has the "
        "same speakers, sentences and mouths as the default style, photographic texture and camera; controls from "
        "the same clips (`checkpoints/photo_controls/`). LMD from the lip-landmark regressor trained on the default "
        "style; its own error on this style's real frames%s. " % _regressor_error(root)
        + _ceiling_note(root, "photo_controls", "photo_ceiling"),
        to_markdown(ours), "Targets of the CPU recipe on this style:", to_markdown(t, index=False)])


def to_markdown(df: pd.DataFrame, index: bool = True, float_format: str = ".3f") -> str:
    """A GitHub table without the tabulate dependency (``float_format="g"``: numbers as printed,
    e.g. a paper's table)."""
    d = df.reset_index() if index else df
    head = "| " + " | ".join(map(str, d.columns)) + " |"
    fmt = lambda v: ("—" if np.isnan(v) else f"{v:{float_format}}") if isinstance(v, (float, np.floating)) else str(v)
    return "\n".join([head, "|" + "---|" * len(d.columns),
                      *("| " + " | ".join(fmt(v) for v in row) + " |" for row in d.itertuples(index=False))])
