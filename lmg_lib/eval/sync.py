"""Sync evidence: does the generated mouth follow the speech?

LMD alone can be fooled: a model that draws a good *average* mouth scores well without listening.
So every model is reported beside controls, on the same clips, against the corpus's ground-truth
landmarks:

* ``mouth_opening``: inner-lip opening per frame (px), the mean distance of the three facing
  inner-lip point pairs (61-67, 62-66, 63-65);
* ``opening_r``: Pearson r, over a clip's frames, between the generated and the real opening;
* shuffled audio: the same model driven by the audio of ANOTHER utterance (``shuffled_pairs``);
* average mouth: each speaker's mean mouth shape, the best constant mouth (``average_mouth``);
* the ceiling: the lips lead the sound by a random per-utterance lag that neither the audio nor
  the reference frame reveals, so even a perfect audio-only predictor cannot reach r = 1
  (``opening_ceiling`` scores the predictor of ``corpus.ceiling`` like a model).

``follows_speech`` is the rule every reported model is held to. The per-clip protocol that uses
these pieces is ``eval.protocol.evaluate_model``.
"""
from __future__ import annotations


import numpy as np

INNER_PAIRS = ((13, 19), (14, 18), (15, 17))      # 61-67, 62-66, 63-65 in the 20-point order


def mouth_opening(lm) -> np.ndarray:
    """(..., 20, 2) landmarks -> (...) inner-lip opening in pixels."""
    lm = np.asarray(lm, np.float64)
    return np.mean([np.linalg.norm(lm[..., a, :] - lm[..., b, :], axis=-1) for a, b in INNER_PAIRS], 0)


def pearson(a, b, min_sd: float = 1e-3) -> float:
    """Pearson r of two curves. NaN if the REAL curve ``b`` is flat (no motion to follow); 0 if the
    predicted curve ``a`` is flat (it does not follow the motion)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or b.std() < min_sd:
        return float("nan")
    if a.std() < min_sd:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def pearson_block_ci(a, b, block: int, level: float = 0.95, n_boot: int = 2000, seed: int = 0):
    """(low, high): percentile interval of Pearson r(a, b) under a moving-block bootstrap, for one
    pair of curves whose frames are autocorrelated (an iid bootstrap would make the interval too
    narrow). Blocks of ``block`` consecutive frames, drawn jointly from both curves, are
    concatenated to the curves' length. Pairs with a NaN are left out first."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = len(a)
    if n < 2 * block or block < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, (n_boot, -(-n // block)))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n]      # (n_boot, n)
    x, y = a[idx], b[idx]
    x, y = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
    den = np.sqrt((x * x).sum(1) * (y * y).sum(1))
    r = np.where(den > 0, (x * y).sum(1) / np.where(den > 0, den, 1), 0.0)
    lo, hi = np.quantile(r, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def opening_r(lm_fake, lm_real) -> float:
    """Per-clip mouth-opening correlation between generated and real landmarks (T, 20, 2)."""
    return pearson(mouth_opening(lm_fake), mouth_opening(lm_real))


def shifted_r(fake_open, real_open, shift: int) -> float:
    """Pearson r of a generated opening curve against the real one ``shift`` frames later:
    fake[t] against real[t + shift] over the frames both have (shift > 0: the generated mouth moves
    before the real one, early; < 0: late). ``pearson``'s NaN / 0 rules."""
    a, b = np.asarray(fake_open, np.float64), np.asarray(real_open, np.float64)
    a, b = (a[:len(a) - shift], b[shift:]) if shift >= 0 else (a[-shift:], b[:len(b) + shift])
    return pearson(a, b)


def peak_shift(shifts, rs) -> tuple[float, float]:
    """(shift, r) at the top of the parabola through the best shift and its two neighbours: where a
    curve of r over integer shifts peaks between frames; the best integer shift itself at an edge."""
    shifts, rs = np.asarray(shifts, float), np.asarray(rs, float)
    i = int(np.nanargmax(rs))
    if i == 0 or i == len(rs) - 1:
        return float(shifts[i]), float(rs[i])
    a, b, c = rs[i - 1], rs[i], rs[i + 1]
    den = a - 2 * b + c
    off = 0.0 if den == 0 else 0.5 * (a - c) / den
    return float(shifts[i] + off * (shifts[i + 1] - shifts[i])), float(b - 0.25 * (a - c) * off)


def shuffled_pairs(speakers, utterances, seed: int = 0) -> np.ndarray:
    """For every clip i, the index of a clip of ANOTHER utterance whose audio drives it in the
    shuffled-audio control: of the same speaker when there is one (same voice, other words),
    else of anyone. Seeded; (n,) int array."""
    spk, utt = np.asarray(speakers), np.asarray(utterances)
    rng = np.random.default_rng(seed)
    out = np.empty(len(spk), int)
    for i in range(len(spk)):
        cand = np.flatnonzero((spk == spk[i]) & (utt != utt[i]))
        if not len(cand):
            cand = np.flatnonzero(utt != utt[i])
        if not len(cand):
            raise ValueError("a shuffled-audio control needs at least two utterances")
        out[i] = cand[rng.integers(len(cand))]
    return out


def average_mouth(landmarks_by_utt: dict) -> dict:
    """{(speaker, utterance): (n, 20, 2) landmarks} -> {(speaker, utterance): (20, 2)}: the mean
    centred mouth of that speaker over its OTHER utterances (where the reference frame comes
    from): the best constant mouth a model could draw without listening."""
    by_spk: dict = {}
    for (s, u), lm in landmarks_by_utt.items():
        c = np.asarray(lm, np.float64)
        by_spk.setdefault(s, {})[u] = (c - c.mean(1, keepdims=True)).reshape(-1, 40)
    out = {}
    for s, utts in by_spk.items():
        for u in utts:
            others = [v for k, v in utts.items() if k != u] or [utts[u]]
            out[(s, u)] = np.concatenate(others).mean(0).reshape(20, 2)
    return out


def opening_ceiling(pairs) -> np.ndarray:
    """Per-clip opening r of predicted vs true landmark clips: ``pairs`` yields (predicted (T, 20, 2),
    true (T, 20, 2)), e.g. ``corpus.ceiling.audio_only_clips`` (the best audio-only predictor)."""
    return np.asarray([opening_r(p, t) for p, t in pairs])


def follows_speech(summary, average_mouth_summary=None) -> dict:
    """The rule: the true-audio LMD's 95 % interval lies entirely below the shuffled-audio LMD's
    interval and below the average mouth's. ``summary``: ``protocol.summarize_clips`` of a model
    (rows ``lmd`` and ``lmd_shuffled``); ``average_mouth_summary``: the same of
    ``protocol.landmark_baselines`` (row ``lmd_average_mouth``).
    Returns {"vs_shuffled": bool, ["vs_average_mouth": bool,] "follows": bool}."""
    s = summary.set_index("metric")
    out = {"vs_shuffled": bool(s.loc["lmd", "ci_high"] < s.loc["lmd_shuffled", "ci_low"])}
    if average_mouth_summary is not None:
        a = average_mouth_summary.set_index("metric")
        out["vs_average_mouth"] = bool(s.loc["lmd", "ci_high"] < a.loc["lmd_average_mouth", "ci_low"])
    out["follows"] = all(out.values())
    return out
