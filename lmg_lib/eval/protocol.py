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
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..util.pixels import to_uint8_frames
from . import metrics as M

METRICS = ("psnr", "ssim", "cpbd", "cpbd_real", "lmd")


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _generate(model, items, batch_size):
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
    items = [dataset[i] for i in range(len(dataset))]
    if callable(videos_or_generator):
        fakes = _generate(videos_or_generator, items, batch_size)
    elif isinstance(videos_or_generator, dict):
        fakes = [videos_or_generator[(d["speaker"], d["utterance"], d["clip"])] for d in items]
    else:
        fakes = list(videos_or_generator)
        if len(fakes) != len(items):
            raise ValueError(f"{len(fakes)} videos for {len(items)} dataset items")
    rows = []
    for d, fake in zip(items, fakes):
        row = {"speaker": str(d["speaker"]), "utterance": str(d["utterance"]), "clip": int(_np(d["clip"]))}
        row.update(clip_metrics(_np(d["video"]), _np(fake), detect=detect, gray=gray,
                                lmd_reference=lmd_reference, true_landmarks=_np(d["landmarks"])))
        rows.append(row)
    per_clip = pd.DataFrame(rows).sort_values(["speaker", "utterance", "clip"], kind="stable").reset_index(drop=True)
    summary = summarize(per_clip, ci=ci, seed=seed, unit=unit)
    return (summary, per_clip) if return_per_clip else summary
