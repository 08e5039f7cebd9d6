"""The ablation study (Chen et al. 2018, Table 2) on the shipped runs: one row per run
``checkpoints/ablation_<variant>[_seed<k>]/``, the paper's claims checked as holds / does not hold /
not separated, and our Table 2 as markdown. Intervals are over held-out sentences, as in Table 3
(``results``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# a variant "follows the speech" when the 95 % interval of its mouth-opening r lies above this
# (notebook 5): the claims about the best and the lowest compare those variants only, since a
# variant that draws no moving mouth (our (a), GAN alone: PSNR 11 dB) would win "lowest CPBD" by
# not drawing a mouth at all
FOLLOWS_R = 0.2


def follows_speech(long: pd.DataFrame, seed: int = 0) -> list:
    """The variants (of ``seed``) whose opening r interval lies above ``FOLLOWS_R``; a variant
    without an opening r (a partial evaluation) counts as following."""
    s = long[long.seed == seed]
    lo = s[s.metric == "opening_r"].set_index("variant")["ci_low"]
    return sorted(v for v in set(s.variant) if v not in lo.index or lo[v] > FOLLOWS_R)


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


def ablation_claims(long: pd.DataFrame, root=None) -> pd.DataFrame:
    """The paper's ablation claims (Chen et al. 2018, Table 2) checked on our runs (seed 0). With
    ``root`` (the shipped runs' folder, their ``per_clip.csv``) each comparison is paired by sentence,
    as Table 3's orderings are (``results.paired_difference``, ``protocol.paired_below``): holds =
    the per-sentence difference's 95 % interval on the claim's side of 0; and since that interval
    resolves the sentences, not the seeds, a difference smaller than the largest gap between two
    seeds of one variant says so. Without ``root``: holds = the two intervals apart, 'not separated'
    = they overlap. "Best" and "lowest" are among the variants that follow the speech
    (``follows_speech``); a variant left out that would have won is named."""
    from .protocol import interval_below, paired_below
    from .results import paired_intervals
    s0 = long[long.seed == 0]

    def seed_gap(m):                         # the largest gap between two seeds of one variant, on m
        two = long[long.metric == m].groupby("variant").filter(lambda d: d.seed.nunique() > 1)
        gaps = two.groupby("variant")["mean"].agg(np.ptp)
        return (gaps.idxmax(), float(gaps.max())) if len(gaps) else (None, 0.0)

    def g(v, m, f="mean"):
        hit = s0[(s0.variant == v) & (s0.metric == m)]
        return float(hit[f].iloc[0]) if len(hit) else float("nan")

    def below(a, b, m, facts=False):         # a's metric below b's (facts: the paired numbers in words)
        if np.isnan(g(a, m)) or np.isnan(g(b, m)):
            return "not trained"
        d = paired_intervals(root, f"ablation_{a}", f"ablation_{b}", (m,)).get(m) if root is not None else None
        if d is None:
            return interval_below(*([g(x, m, f) for f in ("mean", "ci_low", "ci_high")] for x in (a, b)))
        v = paired_below(d)
        if not facts:
            return v
        who, gap = seed_gap(m)
        note = (f"; smaller than the gap between the two seeds of {who}, {gap:.3f}: a difference of these "
                "runs, not yet of the recipes" if who and abs(d[0]) < gap and not v.startswith("not") else "")
        word = "paired interval includes 0" if v.startswith("not") else "paired"
        return f"{v.split(' (')[0]} ({a} minus {b} {d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}], {word}{note})"

    variants = follows_speech(long)
    def pick(vs, m, low):                    # the best mean among vs (variants without m do not count)
        vs = [v for v in vs if np.isfinite(g(v, m))]
        return (min if low else max)(vs, key=lambda v: g(v, m)) if vs else None

    def best_is(v, m, low, word):            # v has the best mean; else is another one clearly better?
        if v not in variants:
            return "not trained"
        b, anyone = pick(variants, m, low), pick(sorted(set(s0.variant)), m, low)
        if b is None or not np.isfinite(g(v, m)):          # no variant (or not v) measured on m
            return "not trained"
        out = f"; {anyone}, {word} of all, left out: its mouth does not follow the speech" if anyone != b else ""
        # variants whose mean equals b's at the table's 3 decimals share the place: named together
        tied = [x for x in variants if x != b and np.isfinite(g(x, m)) and round(g(x, m), 3) == round(g(b, m), 3)]
        if b == v or v in tied:
            return "holds" + (f" (shared with {', '.join(x for x in [b, *tied] if x != v)} at 3 decimals)"
                              if tied else "") + (f" ({out[2:]})" if out else "")
        first = " and ".join([b, *tied]) + (" (equal at 3 decimals)" if tied else "")
        apart = below(b, v, m) == "holds" if low else below(v, b, m) == "holds"
        how = "paired interval includes 0" if root is not None else "intervals overlap"
        return (f"does not hold ({word}: {first}{out})" if apart
                else f"not separated ({word} mean: {first}; {how}{out})")

    def cpbd_claim():                        # blur is what the claim is about; artefacts raise CPBD too
        real = g("full", "cpbd_real")
        ratios = [g(v, "cpbd") / real for v in variants if np.isfinite(g(v, "cpbd"))] if np.isfinite(real) else []
        if ratios and min(ratios) > 2:
            return (f"not testable here (every variant that follows the speech scores CPBD {min(ratios):.1f}-"
                    f"{max(ratios):.1f}x the real frames': edge artefacts, not blur, set the order; notebook 6)")
        return best_is("l1", "cpbd", True, "lowest")

    rows = [
        ("(e) full has the best LMD", best_is("full", "lmd", True, "best")),
        ("(b) L1 has the best SSIM", best_is("l1", "ssim", False, "best")),
        ("(b) L1 has by far the lowest CPBD", cpbd_claim()),
        ("(f) non-derivative correlation: LMD worse than (e)", below("full", "corr_nonderiv", "lmd", True)),
        ("(g) two-stream D: LMD worse than (e)", below("full", "two_stream", "lmd", True)),
        ("(h) two-stream D without L_corr: LMD worse than (e)", below("full", "two_stream_nocorr", "lmd", True)),
        ("(i) D on frame differences: LMD worse than (e)", below("full", "diff_d", "lmd", True)),
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
                         f"{np.ptp(g['mean'].round(3)):.3f} px between seeds {sorted(g.seed.tolist())} "
                         "(the difference of the table's rounded means).")
    return "\n".join(lines)
