"""Phonemes -> visemes -> a smooth, coarticulated mouth trajectory sampled at the video frame rate.

Mouth parameters (P = 5, each in [0, 1]):

    0 opening    jaw/lip opening (0 = lips closed)
    1 width      horizontal spreading (0.5 = neutral, 1 = spread "ee", 0 = narrow "oo")
    2 rounding   lip rounding / protrusion
    3 teeth      how much of the teeth shows when the lips are apart
    4 tongue     how visible the tongue tip is (dentals, "l")

Coarticulation follows Cohen & Massaro (1993): every phoneme segment k has a target T_k and a
dominance function D_k(t) = alpha_k * exp(-(d_k(t) / r)^2), where d_k is the distance from t to the
segment's core (its middle half) and the reach r is longer before the segment (anticipation,
55 ms) than after it (carry-over, 40 ms). The mouth is the dominance-weighted average
sum_k D_k T_k / sum_k D_k, per parameter: smooth, anticipatory, and bilabials (alpha 12 on opening)
still close the lips fully while alveolars and velars (alpha < 1) let the vowels shape the lips.

Audio-visual lag: the lips LEAD the sound. For each utterance a lag is drawn (``sample_lag_ms``;
default a normal with mean 80 ms and sd 40 ms truncated to [0, 200] ms) and the mouth in video
frame t (whose time is the frame centre, (t + 0.5) / fps) is the articulatory target trajectory
at audio time (t + 0.5) / fps + lag.
"""
from __future__ import annotations

import numpy as np

PARAMS = ("opening", "width", "rounding", "teeth", "tongue")
P = len(PARAMS)

#           opening width round teeth tongue
_V = {  # vowel targets (espeak English mnemonics)
    "i:": (0.30, 0.90, 0.00, 0.80, 0.2), "i": (0.33, 0.80, 0.00, 0.70, 0.2),
    "I": (0.36, 0.75, 0.05, 0.65, 0.2), "e": (0.48, 0.72, 0.05, 0.60, 0.3),
    "E": (0.52, 0.70, 0.05, 0.55, 0.3), "a": (0.78, 0.66, 0.05, 0.45, 0.3),
    "A:": (0.92, 0.55, 0.10, 0.35, 0.2), "A": (0.88, 0.55, 0.10, 0.35, 0.2),
    "0": (0.80, 0.45, 0.40, 0.30, 0.2), "O:": (0.66, 0.35, 0.70, 0.25, 0.1),
    "O": (0.66, 0.35, 0.70, 0.25, 0.1), "o": (0.48, 0.32, 0.78, 0.25, 0.1),
    "V": (0.62, 0.55, 0.05, 0.45, 0.2), "@": (0.42, 0.50, 0.10, 0.45, 0.2),
    "3:": (0.42, 0.45, 0.35, 0.45, 0.2), "3": (0.40, 0.45, 0.35, 0.45, 0.2),
    "U": (0.32, 0.35, 0.65, 0.30, 0.1), "u:": (0.22, 0.20, 0.95, 0.20, 0.1),
    "u": (0.25, 0.25, 0.85, 0.20, 0.1),
}
_DIPHTHONGS = {  # split into equal sub-segments
    "aI": ("a", "I"), "aU": ("a", "U"), "eI": ("e", "I"), "oU": ("o", "U"), "OI": ("O", "I"),
    "i@": ("I", "@"), "e@": ("E", "@"), "U@": ("U", "@"), "A@": ("A", "@"), "O@": ("O", "@"),
    "o@": ("O", "@"), "@L": ("@", "l"), "aI@": ("a", "I", "@"), "aU@": ("a", "U", "@"),
    "i@3": ("I", "@"), "eI@": ("e", "I", "@"),
}
#                 target                        alpha (dominance per parameter)
_C = {  # consonant classes
    "bilabial": ((0.00, 0.50, 0.20, 0.00, 0.0), (12, 1.0, 1.0, 8, 8)),
    "labiodental": ((0.08, 0.52, 0.05, 1.00, 0.0), (6, 1.0, 1.0, 6, 6)),
    "dental": ((0.22, 0.56, 0.05, 0.90, 1.0), (1.5, 0.6, 0.6, 2, 4)),
    "alveolar": ((0.22, 0.60, 0.05, 0.90, 0.4), (0.8, 0.4, 0.4, 0.8, 0.8)),
    "lateral": ((0.30, 0.55, 0.05, 0.60, 0.9), (0.6, 0.4, 0.4, 0.6, 2.0)),
    "postalveolar": ((0.18, 0.35, 0.75, 0.85, 0.2), (1.5, 2.0, 3.0, 1.5, 1.0)),
    "velar": ((0.35, 0.55, 0.10, 0.40, 0.2), (0.3, 0.2, 0.2, 0.3, 0.3)),
    "glottal": ((0.40, 0.50, 0.10, 0.40, 0.2), (0.1, 0.1, 0.1, 0.1, 0.1)),
    "r": ((0.25, 0.35, 0.60, 0.50, 0.2), (0.8, 1.5, 2.0, 0.8, 0.8)),
    "w": ((0.10, 0.15, 1.00, 0.10, 0.0), (3.0, 4.0, 5.0, 2.0, 2.0)),
    "j": ((0.20, 0.72, 0.00, 0.60, 0.3), (0.8, 1.5, 1.0, 0.8, 0.8)),
    "silence": ((0.03, 0.50, 0.10, 0.00, 0.0), (1.5, 0.8, 0.8, 1.5, 1.5)),
    "neutral": ((0.35, 0.50, 0.10, 0.40, 0.2), (0.05, 0.05, 0.05, 0.05, 0.05)),
}
_CONSONANT_CLASS = {
    **dict.fromkeys(["p", "b", "m"], "bilabial"), **dict.fromkeys(["f", "v"], "labiodental"),
    **dict.fromkeys(["T", "D"], "dental"), **dict.fromkeys(["t", "d", "n", "s", "z", "t2", "d2"], "alveolar"),
    **dict.fromkeys(["l", "l/", "L"], "lateral"),
    **dict.fromkeys(["S", "Z", "tS", "dZ"], "postalveolar"),
    **dict.fromkeys(["k", "g", "N", "x", "?"], "velar"), "h": "glottal",
    **dict.fromkeys(["r", "r-", "R"], "r"), "w": "w", "j": "j", "_": "silence",
}
VOWEL_ALPHA = (1.0, 1.0, 1.0, 1.0, 1.0)
REACH_ANTICIPATION = 0.055      # s: dominance reaches this far ahead of a segment's core
REACH_CARRYOVER = 0.040         # s: and this far behind it


def _clean(ph: str) -> str:
    """espeak mnemonic -> table key: drop stress marks and trailing '#', ';' (allophone marks)."""
    ph = ph.replace("'", "").replace(",", "").rstrip("#;")
    return ph or "neutral"


def viseme(ph: str) -> list[tuple[tuple, tuple]]:
    """Phoneme mnemonic -> list of (target, alpha) sub-segments (several for diphthongs)."""
    key = _clean(ph)
    for k in (key, key.rstrip("0123456789"), key[:2], key[:1]):
        if k in _DIPHTHONGS:
            return [(_V[v], VOWEL_ALPHA) if v in _V else _C[_CONSONANT_CLASS[v]]
                    for v in _DIPHTHONGS[k]]
        if k in _V:
            return [(_V[k], VOWEL_ALPHA)]
        if k in _CONSONANT_CLASS:
            return [_C[_CONSONANT_CLASS[k]]]
    return [_C["neutral"]]


def segments(phonemes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """[(ph, start, end)] in samples -> starts (K,), ends (K,), targets (K, P), alphas (K, P)."""
    starts, ends, targets, alphas = [], [], [], []
    for ph, s, e in phonemes:
        subs = viseme(ph)
        edges = np.linspace(s, e, len(subs) + 1)
        for (tgt, alpha), a, b in zip(subs, edges[:-1], edges[1:]):
            starts.append(a); ends.append(b); targets.append(tgt); alphas.append(alpha)
    return (np.asarray(starts, float), np.asarray(ends, float),
            np.asarray(targets, float).reshape(-1, P), np.asarray(alphas, float).reshape(-1, P))


def trajectory(phonemes, times_s: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Articulatory target trajectory at audio times ``times_s`` (T,) -> (T, P) in [0, 1].

    Times outside the utterance see the nearest segments (silence at both ends in practice).
    """
    st, en, tgt, alpha = segments(phonemes)
    st, en = st / sample_rate, en / sample_rate                  # (K,) seconds
    q = (en - st) / 4                                            # core = middle half
    t = np.asarray(times_s, float)[:, None]                      # (T, 1)
    before = np.clip((st + q) - t, 0, None)                      # (T, K) time until the core
    after = np.clip(t - (en - q), 0, None)                       # (T, K) time since the core
    logd = -(before / REACH_ANTICIPATION) ** 2 - (after / REACH_CARRYOVER) ** 2   # (T, K)
    d = np.exp(logd - logd.max(1, keepdims=True))                # normalised: no underflow
    w = d[:, :, None] * alpha[None]                              # (T, K, P)
    return (w * tgt[None]).sum(1) / np.maximum(w.sum(1), 1e-12)  # (T, P)


def frame_times(n_frames: int, fps: int = 25) -> np.ndarray:
    """Time of each video frame: its centre, (t + 0.5) / fps seconds. (n_frames,)"""
    return (np.arange(n_frames) + 0.5) / fps


def mouth_parameters(phonemes, n_frames: int, lag_ms: float, fps: int = 25,
                     sample_rate: int = 16000) -> np.ndarray:
    """Per-frame mouth parameters (n_frames, P): frame t shows the target at time t + lag."""
    return trajectory(phonemes, frame_times(n_frames, fps) + lag_ms / 1000.0, sample_rate)


def sample_lag_ms(rng: np.random.Generator, dist: str = "normal", mean: float = 80.0,
                  sd: float = 40.0, low: float = 0.0, high: float = 200.0) -> float:
    """Draw a lips-lead-audio lag in ms: "normal" (mean, sd) truncated to [low, high] by
    rejection, or "uniform" on [low, high], or "fixed" (= mean)."""
    if dist == "fixed":
        return float(mean)
    if dist == "uniform":
        return float(rng.uniform(low, high))
    if dist == "normal":
        for _ in range(1000):
            x = rng.normal(mean, sd)
            if low <= x <= high:
                return float(x)
        return float(np.clip(mean, low, high))
    raise ValueError(f"unknown lag distribution {dist!r}: use 'normal', 'uniform' or 'fixed'")


def lag_quantiles(n: int, dist: str = "normal", mean: float = 80.0, sd: float = 40.0,
                  low: float = 0.0, high: float = 200.0) -> np.ndarray:
    """``n`` equally spaced quantiles (mid-points of n equal-probability bins) of the lag
    distribution of ``sample_lag_ms``, in ms: a deterministic stand-in for averaging over it."""
    from scipy import stats
    q = (np.arange(n) + 0.5) / n
    if dist == "fixed":
        return np.full(n, float(mean))
    if dist == "uniform":
        return low + q * (high - low)
    if dist == "normal":
        a, b = (low - mean) / sd, (high - mean) / sd
        return stats.truncnorm.ppf(q, a, b, loc=mean, scale=sd)
    raise ValueError(f"unknown lag distribution {dist!r}: use 'normal', 'uniform' or 'fixed'")
