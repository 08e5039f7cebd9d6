"""The shipped results as one table: every model's and control's mean and 95 % interval over the
held-out sentences, the targets of the CPU recipe, and the paper's orderings as holds / does not hold.

Reads what ``tools/make_shipped.py evaluate`` wrote under ``checkpoints/``: ``<run>/summary.csv``
(``source`` per_clip: PSNR, SSIM, their mouth-box versions, CPBD, LMD and opening r with true and
shuffled audio; per_utterance_sync: offset, LSE-D, LSE-C) and ``controls/summary.csv`` (static
reference, average mouth, audio-only ceiling, real frames). Intervals are over sentences (clips of a
sentence overlap, so they are averaged first: ``protocol.summarize_clips``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# display name -> run folder under checkpoints/ of every trained row of the results table
MODELS = {"full model": "full", "Speech2Vid (Chung)": "speech2vid", "VGAN (Vondrick)": "vgan"}
COLUMNS = ("lmd", "lmd_shuffled", "opening_r", "opening_r_shuffled", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd", "lse_d", "lse_d_shuffled", "lse_c", "lse_c_shuffled")


def _summary(root: Path, run: str) -> pd.DataFrame | None:
    p = Path(root) / run / "summary.csv"
    return pd.read_csv(p) if p.exists() else None


# probes of the full recipe (docs/TRAINING.md): display name -> run folder; shown beside the full model
PROBES = {"warm-up 1 200, seed 0": "full_warmup1200", "warm-up 1 200, seed 1": "full_warmup1200_seed1"}

# the same for the photographic corpus style (its own held-out clips and controls: issue "real faces")
PHOTO_MODELS = {"full model": "photo_full"}


def results_long(root, models: dict = MODELS, controls: str = "controls") -> pd.DataFrame:
    """Rows (model, metric, mean, ci_low, ci_high, n) for every shipped model and control
    (``models``: display name -> run folder; ``controls``: the controls' folder)."""
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
    c = _summary(root, controls)
    if c is not None:
        st, lb, rf = (c[c.source == k] for k in ("static", "landmark_baselines", "real_frames"))
        for m in ("lmd", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd"):
            add("static reference", st, m)
        add("average mouth", lb, "lmd_average_mouth", "lmd")
        add("audio-only ceiling", lb, "opening_r_ceiling", "opening_r")
        add("real frames", st, "cpbd_real", "cpbd")
        add("real frames", rf, "lse_d")
        add("real frames", rf, "lse_c")
    return pd.DataFrame(rows)


def results_table(root, digits: int = 2, models: dict = MODELS, controls: str = "controls") -> pd.DataFrame:
    """The wide table: one row per model / control, 'mean [low, high]' per metric ('' if n/a)."""
    long = results_long(root, models, controls)
    if long.empty:
        return long
    cell = long.apply(lambda r: f"{r['mean']:.{digits}f} [{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]", axis=1)
    wide = long.assign(cell=cell).pivot(index="model", columns="metric", values="cell").fillna("")
    order = [m for m in [*models, "static reference", "average mouth", "audio-only ceiling", "real frames"]
             if m in wide.index]
    return wide.loc[order, [c for c in COLUMNS if c in wide.columns]]


def _get(long, model, metric, field="mean") -> float:
    hit = long[(long.model == model) & (long.metric == metric)]
    return float(hit[field].iloc[0]) if len(hit) else float("nan")


def targets(root, models: dict = MODELS, controls: str = "controls", model: str = "full model") -> pd.DataFrame:
    """The targets of the CPU recipe (docs/TRAINING.md) for ``model`` (a display name of ``models``):
    value, target, holds."""
    L = results_long(root, models, controls)
    g = lambda model, m, f="mean": _get(L, model, m, f)
    F = model
    rows = [
        ("mouth-opening r", g(F, "opening_r"), ">= 0.75 (ceiling %.2f)" % g("audio-only ceiling", "opening_r"),
         g(F, "opening_r") >= 0.75),
        ("LMD / static LMD", g(F, "lmd") / g("static reference", "lmd"), "<= 0.6",
         g(F, "lmd") / g("static reference", "lmd") <= 0.6),
        ("LMD / shuffled-audio LMD", g(F, "lmd") / g(F, "lmd_shuffled"), "<= 0.6",
         g(F, "lmd") / g(F, "lmd_shuffled") <= 0.6),
        ("LMD upper CI - average mouth lower CI", g(F, "lmd", "ci_high") - g("average mouth", "lmd", "ci_low"),
         "< 0 (intervals apart)", g(F, "lmd", "ci_high") < g("average mouth", "lmd", "ci_low")),
        ("mouth PSNR - static", g(F, "psnr_mouth") - g("static reference", "psnr_mouth"), ">= 0",
         g(F, "psnr_mouth") >= g("static reference", "psnr_mouth")),
        ("mouth SSIM - static", g(F, "ssim_mouth") - g("static reference", "ssim_mouth"), ">= 0",
         g(F, "ssim_mouth") >= g("static reference", "ssim_mouth")),
        ("frame PSNR - static (dB)", g(F, "psnr") - g("static reference", "psnr"), ">= -1",
         g(F, "psnr") - g("static reference", "psnr") >= -1),
        ("frame SSIM - static", g(F, "ssim") - g("static reference", "ssim"), ">= -0.05",
         g(F, "ssim") - g("static reference", "ssim") >= -0.05),
        ("CPBD / real CPBD", g(F, "cpbd") / g("real frames", "cpbd"), "0.5 .. 2",
         0.5 <= g(F, "cpbd") / g("real frames", "cpbd") <= 2),
    ]
    return pd.DataFrame(rows, columns=["target", "value", "wanted", "holds"])


def orderings(root) -> pd.DataFrame:
    """The paper's Table 3 orderings on our data: the full model's LMD below each baseline's and its
    SSIM / PSNR above theirs. holds / does not hold = intervals apart in that direction / the other;
    not separated = the intervals overlap."""
    L = results_long(root)
    rows = []
    for base in ("Speech2Vid (Chung)", "VGAN (Vondrick)"):
        if not (L.model == base).any():
            rows.append((f"full model LMD < {base} LMD", "not trained"))
            continue
        for m, lower in (("lmd", True), ("ssim", False), ("psnr", False)):
            f, b = (_get(L, x, m) for x in ("full model", base))
            f_lo, f_hi, b_lo, b_hi = (_get(L, x, m, k) for x in ("full model", base) for k in ("ci_low", "ci_high"))
            better = f_hi < b_lo if lower else f_lo > b_hi
            worse = f_lo > b_hi if lower else f_hi < b_lo
            verdict = "holds" if better else "does not hold" if worse else "not separated (intervals overlap)"
            rows.append((f"full model {m.upper()} {'<' if lower else '>'} {base}", f"{verdict} ({f:.3f} vs {b:.3f})"))
    return pd.DataFrame(rows, columns=["paper's ordering (Chen et al. 2018, Table 3)", "here"])


def results_markdown(root) -> str | None:
    """Our table, the targets, Chen et al. 2018 Table 3 (GRID) and its orderings here, as markdown
    (``figures/eval_table.md``, the README's table); None without shipped results."""
    from .paper import table3
    ours = results_table(root)
    if ours.empty:
        return None
    t = targets(root).assign(value=lambda d: d["value"].map(lambda v: f"{v:.3f}"),
                             holds=lambda d: d["holds"].map({True: "holds", False: "missed"}))
    return "\n\n".join([
        "Ours: held-out speakers s28-s32 of the default embedded corpus (1138 clips of 200 sentences); "
        "mean [95 % CI] over sentences. LMD in px of the 64 px crop against the ground-truth landmarks; "
        "lse_d / lse_c from this repository's sync expert (Euclidean distance of unit embeddings, not "
        "Wav2Lip's scale).",
        to_markdown(ours),
        "Targets of the CPU recipe (full model):",
        to_markdown(t, index=False),
        "Chen et al. 2018, Table 3 (GRID; their PSNR is uint8-wrapped, their LMD normalisation unresolved; "
        "the full model's GRID PSNR is 29.89 here and 29.98 in their Table 2, both as printed):",
        to_markdown(table3("GRID").set_index("method").drop(columns=["dataset"], errors="ignore")),
        to_markdown(orderings(root), index=False),
        *([probes] if (probes := probes_markdown(root)) else []),
    ])


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


def probes_markdown(root, probes: dict = PROBES) -> str | None:
    """The shipped probes of the recipe (``PROBES``) beside the full model and the controls on the
    same held-out sentences, and the targets for each; None if no probe is evaluated."""
    models = {"full model (discriminator from step 600)": "full", **{f"probe: {k}": v for k, v in probes.items()}}
    ours = results_table(root, models=models)
    found = [m for m in models if m in ours.index]
    if len(found) < 2:
        return None
    cols = [c for c in ("lmd", "lmd_shuffled", "opening_r", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd")
            if c in ours.columns]
    t = None
    for m in found:
        tm = targets(root, models, model=m).set_index(["target", "wanted"])
        col = tm["value"].map(lambda v: f"{v:.3f}") + tm["holds"].map({True: " holds", False: " missed"})
        t = col.rename(m).to_frame() if t is None else t.join(col.rename(m))
    return "\n\n".join([
        "Probes of the recipe (docs/TRAINING.md): the full recipe with the pixel-only warm-up doubled "
        "(`train.gan_start=1200`: the discriminator, L_gen and L_perc for the last 300 of the 1 500 steps), "
        "seeds 0 and 1 (`checkpoints/full_warmup1200*/`). Same held-out sentences and controls:",
        to_markdown(ours.loc[[*found, "static reference", "average mouth", "real frames"], cols]),
        "Each probe minus the full model, paired over the same sentences (mean [95 % CI] of the "
        "per-sentence differences; an interval clear of 0 is a difference these sentences resolve, "
        "for this seed):",
        to_markdown(pd.DataFrame({f"probe: {k}": paired_difference(root, v, "full").set_index("metric").apply(
            lambda r: f"{r['mean']:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]", axis=1)
            for k, v in probes.items() if (Path(root) / v / "per_clip.csv").exists()})),
        "Targets for each:", to_markdown(t.reset_index(), index=False)])


def _regressor_error(root) -> str:
    import json
    p = Path(root) / "photo_controls" / "regressor_error_val.json"
    if not p.exists():
        return " is not measured"
    e = json.loads(p.read_text())
    return f" (validation speakers, {e['n_frames']} frames) is {e['mean_px']:.2f} px"


def photo_markdown(root) -> str | None:
    """The full recipe trained on the photographic corpus style, on that style's held-out speakers
    beside its own controls, and the same targets; None if ``photo_full`` is not evaluated."""
    ours = results_table(root, models=PHOTO_MODELS, controls="photo_controls")
    if ours.empty or "full model" not in ours.index:
        return None
    t = targets(root, PHOTO_MODELS, "photo_controls").assign(
        value=lambda d: d["value"].map(lambda v: f"{v:.3f}"), holds=lambda d: d["holds"].map({True: "holds", False: "missed"}))
    return "\n\n".join([
        "The full recipe on the photographic corpus style (`checkpoints/photo_full/`): held-out speakers "
        "s28-s32 of `lmg corpus --style photo` (same speakers, sentences and mouths as the default style, "
        "photographic texture and camera); controls from the same clips (`checkpoints/photo_controls/`). "
        "LMD from the lip-landmark regressor trained on the default style; its own error on this "
        "style's real frames%s." % _regressor_error(root),
        to_markdown(ours), "Targets of the CPU recipe on this style:", to_markdown(t, index=False)])


def to_markdown(df: pd.DataFrame, index: bool = True) -> str:
    """A GitHub table without the tabulate dependency."""
    d = df.reset_index() if index else df
    head = "| " + " | ".join(map(str, d.columns)) + " |"
    fmt = lambda v: ("—" if np.isnan(v) else f"{v:.3f}") if isinstance(v, (float, np.floating)) else str(v)
    return "\n".join([head, "|" + "---|" * len(d.columns),
                      *("| " + " | ".join(fmt(v) for v in row) + " |" for row in d.itertuples(index=False))])


# ------------------------------------------------------------------ the ablation study (Table 2)
def ablation_long(root, letters: dict) -> pd.DataFrame:
    """Rows (variant, letter, seed, metric, mean, ci_low, ci_high, n) of every shipped ablation run
    ``checkpoints/ablation_<variant>[_seed<k>]/summary.csv``. ``letters``: ``config.PAPER_LETTER``."""
    rows = []
    for p in sorted(Path(root).glob("ablation_*/summary.csv")):
        name = p.parent.name[len("ablation_"):]
        variant, _, seed = name.partition("_seed")
        s = pd.read_csv(p)
        s = s[s.source == "per_clip"] if "source" in s else s
        for r in s.itertuples(index=False):
            rows.append(dict(variant=variant, letter=letters.get(variant), seed=int(seed or 0), metric=r.metric,
                             mean=r.mean, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n))
    return pd.DataFrame(rows, columns=["variant", "letter", "seed", "metric", "mean", "ci_low", "ci_high", "n"])


def ablation_claims(long: pd.DataFrame) -> pd.DataFrame:
    """The paper's ablation claims (Chen et al. 2018, Table 2) checked on our runs (seed 0):
    holds = the ordering with intervals apart; 'not separated' = intervals overlap."""
    s0 = long[long.seed == 0]

    def g(v, m, f="mean"):
        hit = s0[(s0.variant == v) & (s0.metric == m)]
        return float(hit[f].iloc[0]) if len(hit) else float("nan")

    def below(a, b, m):                      # a's metric below b's
        if np.isnan(g(a, m)) or np.isnan(g(b, m)):
            return "not trained"
        if g(a, m, "ci_high") < g(b, m, "ci_low"):
            return "holds"
        if g(b, m, "ci_high") < g(a, m, "ci_low"):
            return "does not hold"
        return "not separated (intervals overlap)"

    variants = sorted(set(s0.variant)) if len(s0) else []
    best = lambda m, low: (min if low else max)(variants, key=lambda v: g(v, m)) if variants else None
    def best_is(v, m, low, word):            # v has the best mean; else is another one clearly better?
        if v not in variants:
            return "not trained"
        b = best(m, low)
        if b == v:
            return "holds"
        apart = below(b, v, m) == "holds" if low else below(v, b, m) == "holds"
        return f"does not hold ({word}: {b})" if apart else f"not separated ({word} mean: {b}; intervals overlap)"

    rows = [
        ("(e) full has the best LMD", best_is("full", "lmd", True, "best")),
        ("(b) L1 has the best SSIM", best_is("l1", "ssim", False, "best")),
        ("(b) L1 has by far the lowest CPBD", best_is("l1", "cpbd", True, "lowest")),
        ("(f) non-derivative correlation: LMD worse than (e)", below("full", "corr_nonderiv", "lmd")),
        ("(g) two-stream D: LMD worse than (e)", below("full", "two_stream", "lmd")),
        ("(h) two-stream D without L_corr: LMD worse than (e)", below("full", "two_stream_nocorr", "lmd")),
        ("(i) D on frame differences: not better than (e)",
         "not trained" if np.isnan(g("diff_d", "lmd")) or np.isnan(g("full", "lmd")) else
         ("holds" if below("diff_d", "full", "lmd") != "holds" else "does not hold")),
    ]
    return pd.DataFrame(rows, columns=["claim (Chen et al. 2018, Table 2)", "here"])


def ablation_markdown(long: pd.DataFrame, metrics=("lmd", "lmd_shuffled", "opening_r", "ssim", "psnr", "cpbd")) -> str:
    """Our Table 2: one row per shipped ablation run, mean [95 % CI] over held-out sentences, and
    the seed noise (the spread between the seeds of a variant trained twice) under it."""
    if not len(long):
        return "no shipped ablation runs"
    cell = lambda r: f"{r['mean']:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
    rows = []
    for (v, seed), g in long.groupby(["variant", "seed"], sort=False):
        by = g.set_index("metric")
        letter = g.letter.iloc[0]
        rows.append([f"({letter if isinstance(letter, str) else '-'}) {v}" + (f", seed {seed}" if seed else ""),
                     *(cell(by.loc[m]) if m in by.index else "—" for m in metrics)])
    rows.sort(key=lambda r: r[0])
    lines = ["| run | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics),
             *("| " + " | ".join(r) + " |" for r in rows)]
    for v, g in long[long.metric == "lmd"].groupby("variant"):
        if g.seed.nunique() > 1:
            lines.append(f"\nSeed noise of ({g.letter.iloc[0]}) {v}: LMD differs by "
                         f"{g['mean'].max() - g['mean'].min():.3f} px between seeds {sorted(g.seed.tolist())}.")
    return "\n".join(lines)
