"""Evaluation protocol: PSNR, SSIM, CPBD and LMD per clip, summarised per speaker and overall.

Input contract (``data/dataset.py``): ``dataset[i]`` is a dict with ``lms`` (1, 64, 128), ``ref``
(3, S, S), ``video`` (3, 16, S, S) float in [-1, 1], ``landmarks`` (16, 20, 2) (x, y pixels in the
crop), ``speaker``, ``utterance``, ``clip``. Generated videos come either from a model
``(lms (B, 1, 64, 128), ref (B, 3, S, S)) -> video (B, 3, 16, S, S)`` (a tuple/list output is
reduced to its first element, e.g. the generator's (video, f_s)), or precomputed: a sequence
aligned with the dataset, or a dict keyed by (speaker, utterance, clip).

Per clip (16 frames, both videos quantised to uint8 as if saved, the authors compared saved frames):
  psnr  -- grey (BT.601) float PSNR per frame, mean over frames (no uint8 wrap-around)
  ssim  -- grey SSIM (7x7 uniform window) per frame, mean over frames (``gray=False``: colour)
  cpbd  -- CPBD of the generated frames (PyPI-cpbd algorithm), each 64x64 frame one block;
           ``cpbd_real`` gives the same for the real frames as the reference sharpness
  lmd   -- mean point distance (px) between landmarks of real and generated frames; needs
           ``detect``; failed frames (NaN) are counted in ``n_failed_frames``, never dropped silently
Summary: mean and 95 % confidence interval over clips (Student t by default, or a percentile
bootstrap with a fixed seed), one row per (group, metric), group = each speaker and "all".
Clips of one utterance overlap (stride 8), so the interval treats correlated clips as independent
and is optimistic; ``unit="utterance"`` averages clips per utterance first.

Sync evidence (``evaluate_model``, ``landmark_baselines``, ``quick_sync_metrics``): LMD against the
GROUND-TRUTH landmarks where the data has them, the mouth-opening correlation r, the same model
driven by another utterance's audio (shuffled), and the constant-mouth controls (static, average
mouth) in landmark space, streamed in batches (memory flat in the test-set size). A model "follows
the speech" only if ``eval.sync.follows_speech`` says so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..util.pixels import to_uint8_frames
from . import metrics as M
from .sync import average_mouth, opening_r, shuffled_pairs

METRICS = ("psnr", "ssim", "cpbd", "cpbd_real", "lmd")


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def generate_clips(model, items, batch_size: int = 16) -> list[np.ndarray]:
    """``model``'s video (3, T, S, S) float32 for every clip dict of ``items`` (its ``lms`` and
    ``ref``), in batches, in eval mode and without gradients."""
    import torch
    if hasattr(model, "eval"):
        model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(items), batch_size):
            b = items[i:i + batch_size]
            lms = torch.as_tensor(np.stack([_np(d["lms"]) for d in b]), dtype=torch.float32)
            ref = torch.as_tensor(np.stack([_np(d["ref"]) for d in b]), dtype=torch.float32)
            v = model(lms, ref)
            v = v[0] if isinstance(v, (tuple, list)) else v
            out.extend(_np(v).astype(np.float32))
    return out


def clip_metrics(real, fake, detect: Callable | None = None, gray: bool = True,
                 lmd_reference: str = "detected", true_landmarks=None) -> dict:
    """All metrics of one clip; ``real``/``fake`` are (3, T, S, S) in [-1, 1].
    ``lmd_reference="detected"`` (the authors) runs ``detect`` on both videos; ``"ground_truth"``
    compares the detected fake landmarks with ``true_landmarks``."""
    r8, f8 = to_uint8_frames(real), to_uint8_frames(fake)
    rg, fg = M.to_gray(r8), M.to_gray(f8)
    row = {"psnr": M.psnr_video(rg, fg, data_range=255.0),
           "ssim": M.ssim_video(rg, fg, data_range=255.0) if gray
           else M.ssim_video(r8, f8, gray=False, data_range=255.0),
           "cpbd": M.cpbd_video(fg), "cpbd_real": M.cpbd_video(rg),
           "lmd": np.nan, "n_failed_frames": 0}
    if detect is not None:
        lf = np.asarray(detect(f8), dtype=np.float64)
        lr = (np.asarray(detect(r8), dtype=np.float64) if lmd_reference == "detected"
              else np.asarray(true_landmarks, dtype=np.float64))
        res = M.lmd(lr, lf)
        row["lmd"], row["n_failed_frames"] = res.value, res.n_failed
    return row


def interval_below(a, b) -> str:
    """Is ``a`` below ``b``, each (mean, ci_low, ci_high)? "holds": a's interval lies wholly below
    b's; "does not hold": wholly above; else "not separated (intervals overlap)". Every holds /
    does not hold of the results pages (Table 3's orderings, Table 2's claims) is this test."""
    if a[2] < b[1]:
        return "holds"
    if b[2] < a[1]:
        return "does not hold"
    return "not separated (intervals overlap)"


def paired_below(d) -> str:
    """Is ``a`` below ``b``, given their paired difference ``d`` = (mean, ci_low, ci_high) of a - b
    over the same sentences? "holds": the interval lies below 0; "does not hold": above 0; else "not
    separated (paired interval includes 0)". Two runs scored on the same sentences share each
    sentence's difficulty, so this test can separate runs whose own intervals overlap."""
    if d[2] < 0:
        return "holds"
    if d[1] > 0:
        return "does not hold"
    return "not separated (paired interval includes 0)"


def mean_ci(values, method: str = "t", level: float = 0.95, n_boot: int = 2000, seed: int = 0):
    """(mean, low, high) of the finite values. ``t``: mean +- t_{(1+level)/2, n-1} * sd / sqrt(n);
    ``bootstrap``: percentile interval of ``n_boot`` resampled means, numpy generator seeded with
    ``seed``. Fewer than 2 values give NaN bounds."""
    from scipy import stats
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, np.nan, np.nan
    if method == "t":
        h = float(stats.t.ppf((1 + level) / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
        return m, m - h, m + h
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
        lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
        return m, float(lo), float(hi)
    raise ValueError("method must be 't' or 'bootstrap'")


def summarize(per_clip: pd.DataFrame, ci: str = "t", seed: int = 0, unit: str = "clip") -> pd.DataFrame:
    """Per-clip table -> columns group, metric, n, mean, ci_low, ci_high, n_failed_frames."""
    df = per_clip
    if unit == "utterance":
        df = (df.groupby(["speaker", "utterance"], sort=True)[list(METRICS) + ["n_failed_frames"]]
              .agg({**{k: "mean" for k in METRICS}, "n_failed_frames": "sum"}).reset_index())
    elif unit != "clip":
        raise ValueError("unit must be 'clip' or 'utterance'")
    rows = []
    groups = [(str(s), g) for s, g in df.groupby("speaker", sort=True)] + [("all", df)]
    for name, g in groups:
        for k in METRICS:
            v = g[k].to_numpy(dtype=np.float64)
            m, lo, hi = mean_ci(v, ci, seed=seed)
            rows.append({"group": name, "metric": k, "n": int(np.isfinite(v).sum()), "mean": m,
                         "ci_low": lo, "ci_high": hi,
                         "n_failed_frames": int(g["n_failed_frames"].sum()) if k == "lmd" else 0})
    return pd.DataFrame(rows, columns=["group", "metric", "n", "mean", "ci_low", "ci_high", "n_failed_frames"])


def evaluate(videos_or_generator, dataset, detect: Callable | None = None, batch_size: int = 8,
             gray: bool = True, ci: str = "t", seed: int = 0, unit: str = "clip",
             lmd_reference: str = "detected", return_per_clip: bool = False):
    """Evaluate generated videos against ``dataset`` (see module docstring).

    Returns the summary DataFrame (columns group, metric, n, mean, ci_low, ci_high,
    n_failed_frames; groups sorted speakers then "all"), or (summary, per_clip) if
    ``return_per_clip``. Deterministic: no randomness except the seeded bootstrap; a torch model
    is put in eval mode and run without gradients.
    """
    n, src = len(dataset), videos_or_generator
    if not callable(src) and not isinstance(src, dict):
        src = src if hasattr(src, "__getitem__") and hasattr(src, "__len__") else list(src)
        if len(src) != n:
            raise ValueError(f"{len(src)} videos for {n} dataset items")
    rows = []
    for b0 in range(0, n, batch_size):      # one batch in memory at a time: flat in the test-set size
        idx = range(b0, min(b0 + batch_size, n))
        items = [dataset[i] for i in idx]
        if callable(src):
            fakes = generate_clips(src, items, batch_size)
        elif isinstance(src, dict):
            fakes = [src[(d["speaker"], d["utterance"], d["clip"])] for d in items]
        else:
            fakes = [src[i] for i in idx]
        for d, fake in zip(items, fakes):
            row = {"speaker": str(d["speaker"]), "utterance": str(d["utterance"]), "clip": int(_np(d["clip"]))}
            row.update(clip_metrics(_np(d["video"]), _np(fake), detect=detect, gray=gray,
                                    lmd_reference=lmd_reference, true_landmarks=_np(d["landmarks"])))
            rows.append(row)
    per_clip = pd.DataFrame(rows).sort_values(["speaker", "utterance", "clip"], kind="stable").reset_index(drop=True)
    summary = summarize(per_clip, ci=ci, seed=seed, unit=unit)
    return (summary, per_clip) if return_per_clip else summary


# ================================================================= sync evidence
def mouth_box(landmarks: np.ndarray, size: int, margin: int = 4) -> tuple[slice, slice]:
    """(T, 20, 2) -> (rows, cols) slices of the box around every frame's mouth, grown by margin."""
    lo = np.floor(np.nanmin(landmarks.reshape(-1, 2), 0) - margin).astype(int)
    hi = np.ceil(np.nanmax(landmarks.reshape(-1, 2), 0) + margin).astype(int) + 1
    lo, hi = np.clip(lo, 0, size), np.clip(hi, 0, size)
    return slice(lo[1], hi[1]), slice(lo[0], hi[0])


def _run(model, lms: np.ndarray, ref: np.ndarray) -> np.ndarray:
    import torch
    with torch.no_grad():
        v = model(torch.as_tensor(lms, dtype=torch.float32), torch.as_tensor(ref, dtype=torch.float32))
    return _np(v[0] if isinstance(v, (tuple, list)) else v).astype(np.float32)


def _lmd_r(detect, f8, true_lm, real_lm=None):
    lf = np.asarray(detect(f8), np.float64)
    ref = true_lm if real_lm is None else real_lm
    res = M.lmd(ref, lf)
    return res.value, opening_r(lf, true_lm), res.n_failed


def evaluate_model(model, dataset, detect: Callable, batch_size: int = 16, shuffled: bool = True,
                   lmd_reference: str = "ground_truth", seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """Per-clip metrics of ``model`` on ``dataset`` (see the module docstring). ``model``:
    (lms (B, 1, 64, 128), ref (B, 3, S, S)) -> video (B, 3, T, S, S) [or a tuple starting with it];
    put in eval mode. Or precomputed frames (the audio-only ceiling, ``eval.frames.PreparedVideos``):
    an object with ``clip_video(clip, driver=None) -> (3, T, S, S)`` given the dataset's clip
    records (the shuffled control: ``driver`` = the partner clip). Deterministic."""
    from tqdm.auto import tqdm
    if hasattr(model, "eval"):
        model.eval()
    n = len(dataset)
    meta = [(str(d["speaker"]), str(d["utterance"])) for d in (_light(dataset, i) for i in range(n))]
    partner = shuffled_pairs([m[0] for m in meta], [m[1] for m in meta], seed) if shuffled else None
    rows = []
    for b0 in tqdm(range(0, n, batch_size), disable=not progress, desc="evaluate", unit="batch"):
        idx = range(b0, min(b0 + batch_size, n))
        items = [dataset[i] for i in idx]
        if hasattr(model, "clip_video"):
            fake = [model.clip_video(_light(dataset, i)) for i in idx]
            if shuffled:
                fake_sh = [model.clip_video(_light(dataset, i), _light(dataset, partner[i])) for i in idx]
        else:
            ref = np.stack([_np(d["ref"]) for d in items])
            fake = _run(model, np.stack([_np(d["lms"]) for d in items]), ref)
            if shuffled:
                fake_sh = _run(model, np.stack([_np(dataset[partner[i]]["lms"]) for i in idx]), ref)
        for j, (i, d) in enumerate(zip(idx, items)):
            real8, f8 = to_uint8_frames(_np(d["video"])), to_uint8_frames(fake[j])
            true_lm = _np(d["landmarks"]).astype(np.float64)
            rg, fg = M.to_gray(real8), M.to_gray(f8)
            box = (slice(None),) + mouth_box(true_lm, rg.shape[-1])
            real_lm = None if lmd_reference == "ground_truth" else np.asarray(detect(real8), np.float64)
            lmd, r, failed = _lmd_r(detect, f8, true_lm, real_lm)
            row = {"speaker": meta[i][0], "utterance": meta[i][1], "clip": int(_np(d["clip"])),
                   "psnr": M.psnr_video(rg, fg, data_range=255.0),
                   "ssim": M.ssim_video(rg, fg, data_range=255.0),
                   "psnr_mouth": M.psnr_video(rg[box], fg[box], data_range=255.0),
                   "ssim_mouth": M.ssim_video(rg[box], fg[box], data_range=255.0),
                   "cpbd": M.cpbd_video(fg), "cpbd_real": M.cpbd_video(rg),
                   "lmd": lmd, "opening_r": r, "n_failed_frames": failed}
            if shuffled:
                row["lmd_shuffled"], row["opening_r_shuffled"], _ = _lmd_r(
                    detect, to_uint8_frames(fake_sh[j]), true_lm, real_lm)
            rows.append(row)
    return pd.DataFrame(rows)


def _light(dataset, i):
    """Speaker / utterance of item i without decoding frames where the dataset allows it."""
    clips = getattr(dataset, "clips", None)
    if clips is not None:
        return clips[i]
    if hasattr(dataset, "dataset") and hasattr(dataset, "indices"):      # torch Subset
        return _light(dataset.dataset, dataset.indices[i])
    return dataset[i]


def landmarks_by_utterance(dataset) -> dict:
    """{(speaker, utterance): (n, 20, 2)} true landmarks of every clip of a split, concatenated in
    clip order (overlapping windows repeat frames; each clip weighs the same)."""
    lm: dict = {}
    for i in range(len(dataset)):
        d = dataset[i]
        lm.setdefault((str(d["speaker"]), str(d["utterance"])), []).append(_np(d["landmarks"]))
    return {k: np.concatenate(v) for k, v in lm.items()}


def landmark_baselines(dataset, landmarks_by_utt: dict | None = None) -> pd.DataFrame:
    """Per clip LMD / opening r of the constant-mouth controls, in landmark space (no detector):
    ``static`` = the reference frame's true landmarks repeated (needs ``ref_landmarks`` in the
    items), ``average_mouth`` = the speaker's mean mouth over its other utterances
    (``landmarks_by_utt``: {(speaker, utterance): (n, 20, 2)} of the same split; by default
    ``landmarks_by_utterance(dataset)``)."""
    avg = average_mouth(landmarks_by_utt if landmarks_by_utt is not None else landmarks_by_utterance(dataset))
    rows = []
    for i in range(len(dataset)):
        d = dataset[i]
        true_lm = _np(d["landmarks"]).astype(np.float64)
        key = (str(d["speaker"]), str(d["utterance"]))
        T = len(true_lm)
        row = {"speaker": key[0], "utterance": key[1], "clip": int(_np(d["clip"])),
               "lmd_average_mouth": M.lmd(true_lm, np.repeat(avg[key][None], T, 0)).value}
        if "ref_landmarks" in d:
            row["lmd_static"] = M.lmd(true_lm, np.repeat(_np(d["ref_landmarks"])[None], T, 0)).value
        rows.append(row)
    return pd.DataFrame(rows)


def summarize_clips(per_clip: pd.DataFrame, unit: str = "utterance", ci: str = "t") -> pd.DataFrame:
    """Mean and 95 % CI of every numeric column; ``unit="utterance"`` averages a sentence's
    (overlapping, correlated) clips first, so the interval counts independent sentences."""
    num = [c for c in per_clip.columns if c not in ("speaker", "utterance", "clip")
           and pd.api.types.is_numeric_dtype(per_clip[c])]
    df = per_clip.groupby(["speaker", "utterance"])[num].mean().reset_index() if unit == "utterance" else per_clip
    rows = []
    for k in num:
        m, lo, hi = mean_ci(df[k].to_numpy(np.float64), ci)
        rows.append({"metric": k, "n": int(np.isfinite(df[k].to_numpy(np.float64)).sum()),
                     "mean": m, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def quick_sync_metrics(model, items: list, detect: Callable, n_cpbd: int = 8, batch_size: int = 16,
                       per_clip: bool = False) -> dict:
    """Fast means over a fixed list of dataset items (validation during training): lmd and
    opening_r against the true landmarks, the same with shuffled audio, whole-frame and mouth
    PSNR, and CPBD on the first ``n_cpbd`` clips (checkerboard / blur watch). ``per_clip``: each
    metric's list over the clips instead of its mean (``cpbd``'s over the first ``n_cpbd``)."""
    if hasattr(model, "eval"):
        model.eval()
    partner = shuffled_pairs([str(d["speaker"]) for d in items], [str(d["utterance"]) for d in items])
    lms = np.stack([_np(d["lms"]) for d in items])
    ref = np.stack([_np(d["ref"]) for d in items])
    gen = lambda a: np.concatenate([_run(model, a[i:i + batch_size], ref[i:i + batch_size])
                                    for i in range(0, len(items), batch_size)])
    fake, fake_sh = gen(lms), gen(lms[partner])
    acc: dict = {k: [] for k in ("lmd", "opening_r", "lmd_shuffled", "opening_r_shuffled",
                                 "psnr", "psnr_mouth", "cpbd")}
    for j, d in enumerate(items):
        true_lm = _np(d["landmarks"]).astype(np.float64)
        f8, real8 = to_uint8_frames(fake[j]), to_uint8_frames(_np(d["video"]))
        v = _lmd_r(detect, f8, true_lm)
        acc["lmd"].append(v[0]); acc["opening_r"].append(v[1])
        v = _lmd_r(detect, to_uint8_frames(fake_sh[j]), true_lm)
        acc["lmd_shuffled"].append(v[0]); acc["opening_r_shuffled"].append(v[1])
        rg, fg = M.to_gray(real8), M.to_gray(f8)
        box = (slice(None),) + mouth_box(true_lm, rg.shape[-1])
        acc["psnr"].append(M.psnr_video(rg, fg, data_range=255.0))
        acc["psnr_mouth"].append(M.psnr_video(rg[box], fg[box], data_range=255.0))
        if j < n_cpbd:
            acc["cpbd"].append(M.cpbd_video(fg))
    if per_clip:
        return {k: [float(x) for x in v] for k, v in acc.items()}
    return {k: float(np.nanmean(v)) if len(v) else float("nan") for k, v in acc.items()}
