"""The best audio-only predictor of the embedded corpus's mouths: the ceiling of any model.

The lips lead the sound by a random per-utterance lag (``visemes.sample_lag_ms``) that neither the
audio nor the reference frame reveals. A predictor that knows every phoneme's timing (the audio
reveals it) and the speaker's mouth geometry, but not the lag, can do no better than the mouth
parameters averaged over the lag prior; drawn as landmarks with no head motion, they are scored
against the true landmarks like a model (``eval.sync.opening_ceiling``). On the default corpus
this gives a mean per-clip opening r of about 0.86, not 1.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .render import SpeakerLook, mouth_landmarks
from .visemes import frame_times, lag_quantiles, trajectory


def audio_only_landmarks(corpus_root, n_lags: int = 41, lag_ms: float | None = None, speakers=None):
    """{(speaker, utterance): (predicted (n, 20, 2), true (n, 20, 2))} for every utterance of an
    embedded corpus: the prediction averages the mouth parameters over ``n_lags`` quantiles of the
    corpus's lag distribution (or uses one fixed ``lag_ms``). ``speakers``: only these."""
    root = Path(corpus_root)
    man = json.loads((root / "corpus.json").read_text())
    c = man["config"]
    lags = (np.array([lag_ms]) if lag_ms is not None else
            lag_quantiles(n_lags, c["lag_dist"], c["lag_mean_ms"], c["lag_sd_ms"], c["lag_min_ms"], c["lag_max_ms"]))
    out = {}
    for spk, d in man["speakers"].items():
        if speakers is not None and spk not in speakers:
            continue
        look = SpeakerLook(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["look"].items()})
        for utt in d["utterances"]:
            m = np.load(root / spk / "meta" / f"{utt}.npz")
            ph = list(zip(m["phonemes"], m["phoneme_start"], m["phoneme_end"]))
            t = frame_times(len(m["landmarks"]), int(m["fps"]))
            params = np.mean([trajectory(ph, t + L / 1000.0, int(m["sample_rate"])) for L in lags], 0)
            pred = np.stack([mouth_landmarks(p, look, c["image_size"]) for p in params])
            out[(spk, utt)] = (pred, np.asarray(m["landmarks"], np.float64))
    return out


def audio_only_clips(corpus_root, clips, n_frames: int = 16, **kw):
    """(predicted, true) landmark clips for ``clips`` (dicts with speaker, utterance, start_frame,
    e.g. a preprocessed manifest's ``clips``)."""
    clips = list(clips)
    per_utt = audio_only_landmarks(corpus_root, speakers={c["speaker"] for c in clips}, **kw)
    for cl in clips:
        p, t = per_utt[(cl["speaker"], cl["utterance"])]
        s = int(cl["start_frame"])
        yield p[s:s + n_frames], t[s:s + n_frames]
