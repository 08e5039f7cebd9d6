"""The best audio-only predictor of the embedded corpus's mouths: the ceiling of any model.

The lips lead the sound by a random per-utterance lag (``visemes.sample_lag_ms``) that neither the
audio nor the reference frame reveals. A predictor that knows every phoneme's timing (the audio
reveals it) and the speaker's mouth geometry, but not the lag, can do no better than the mouth
parameters averaged over the lag prior (``audio_only_params``). Two forms of it:

* landmarks (``audio_only_landmarks``): drawn with no head motion, scored against the true
  landmarks like a model (``eval.sync.opening_ceiling``). On the default corpus this gives a mean
  per-clip opening r of about 0.86, not 1;
* frames (``RenderedVideos``): the same parameters rendered with everything else the real video
  has: the speaker's look, the corpus's own head motion, flicker and sensor noise (its random
  draws replayed from the corpus seed), the photographic camera of ``--style photo``, and the
  H.264 round trip of the corpus's mp4. Cropped like the real clips (``eval.frames``), they are
  scored through the same evaluation as a model (``tools/make_shipped.py evaluate ceiling``).

What the ceiling may use: the phoneme timing, the speaker's look and the corpus's nuisance draws
(head motion, flicker, noise, camera: none of them is what a model is asked to predict). Neither
the lag nor the true mouth parameters enter its frames (the lag is drawn in the replay, to keep the
random stream in step, and thrown away). Rendering the TRUE parameters through the same path
reproduces the corpus's video frame for frame (tests/test_ceiling_frames.py).
"""
from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..util.video_io import read_frames, write_video
from .render import SpeakerLook, mouth_landmarks, render_sequence
from .visemes import frame_times, lag_quantiles, sample_lag_ms, trajectory


@lru_cache(maxsize=8)
def _manifest(root: str) -> dict:
    return json.loads((Path(root) / "corpus.json").read_text())


def _look(d: dict) -> SpeakerLook:
    return SpeakerLook(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["look"].items()})


def _lags(c: dict, n_lags: int, lag_ms: float | None) -> np.ndarray:
    return (np.array([lag_ms]) if lag_ms is not None else
            lag_quantiles(n_lags, c["lag_dist"], c["lag_mean_ms"], c["lag_sd_ms"], c["lag_min_ms"], c["lag_max_ms"]))


def _meta(root, speaker: str, utt: str):
    return np.load(Path(root) / speaker / "meta" / f"{utt}.npz")


def _predict(m, lags: np.ndarray) -> np.ndarray:
    """The mouth parameters (n, 5) of one utterance's meta ``m`` averaged over ``lags`` (ms): only
    its phoneme timing is read."""
    ph = list(zip(m["phonemes"], m["phoneme_start"], m["phoneme_end"]))
    t = frame_times(len(m["landmarks"]), int(m["fps"]))            # (the frame count only)
    return np.mean([trajectory(ph, t + L / 1000.0, int(m["sample_rate"])) for L in lags], 0)


def audio_only_params(corpus_root, speaker: str, utt: str, n_lags: int = 41, lag_ms: float | None = None) -> np.ndarray:
    """(n_frames, 5) mouth parameters of one utterance predicted from its phoneme timing alone,
    averaged over ``n_lags`` quantiles of the corpus's lag distribution (or at one fixed ``lag_ms``)."""
    c = _manifest(str(Path(corpus_root).resolve()))["config"]
    with _meta(corpus_root, speaker, utt) as m:
        return _predict(m, _lags(c, n_lags, lag_ms))


def audio_only_landmarks(corpus_root, n_lags: int = 41, lag_ms: float | None = None, speakers=None):
    """{(speaker, utterance): (predicted (n, 20, 2), true (n, 20, 2))} for every utterance of an
    embedded corpus: the prediction averages the mouth parameters over ``n_lags`` quantiles of the
    corpus's lag distribution (or uses one fixed ``lag_ms``). ``speakers``: only these."""
    root = Path(corpus_root)
    man = _manifest(str(root.resolve()))
    c = man["config"]
    lags = _lags(c, n_lags, lag_ms)
    out = {}
    for spk, d in man["speakers"].items():
        if speakers is not None and spk not in speakers:
            continue
        look = _look(d)
        for utt in d["utterances"]:
            with _meta(root, spk, utt) as m:
                params = _predict(m, lags)
                true = np.asarray(m["landmarks"], np.float64)
            pred = np.stack([mouth_landmarks(p, look, c["image_size"]) for p in params])
            out[(spk, utt)] = (pred, true)
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


# ------------------------------------------------------------------ the ceiling as frames
def nuisance_rngs(corpus_root, speaker: str, utt: str):
    """(render rng, camera rng or None) of one utterance: the corpus's random streams advanced to
    where its frames are drawn, so that ``render_sequence`` draws the same head motion, flicker and
    sensor noise as ``build.synthesize_utterance`` did. That function draws, in this order, from
    rng(seed, 3, speaker index, utterance key): the leading and trailing silence, the loudness, the
    room noise (one value per audio sample), the lag, then the frames. The replayed room noise must
    match the wav's leading silence (else this corpus was built by other code: a clear error)."""
    import soundfile as sf
    root = Path(corpus_root)
    man = _manifest(str(root.resolve()))
    c = man["config"]
    if not (speaker[:1] == "s" and speaker[1:].isdigit()) or speaker not in man["speakers"]:
        raise ValueError(f"{speaker!r} is not a speaker of the embedded corpus {root}")
    si, key = int(speaker[1:]) - 1, int.from_bytes(utt.encode(), "little")     # build.make_speakers, _build_one
    with _meta(root, speaker, utt) as m:
        sr, n = int(m["sample_rate"]), len(m["landmarks"]) * int(m["sample_rate"]) // int(m["fps"])
    rng = np.random.default_rng([c["seed"], 3, si, key])
    lead = int(rng.uniform(*c["silence_s"]) * sr)
    rng.uniform(*c["silence_s"])                                    # trailing silence
    rng.uniform(0.35, 0.6)                                          # loudness
    room = rng.normal(0, 2e-4, n).astype(np.float32)                # room noise
    sample_lag_ms(rng, c["lag_dist"], c["lag_mean_ms"], c["lag_sd_ms"], c["lag_min_ms"], c["lag_max_ms"])  # discarded
    wav, _ = sf.read(str(root / speaker / "audio" / f"{utt}.wav"), dtype="float32", frames=lead)
    if len(wav) < lead or np.corrcoef(wav, room[:lead])[0, 1] < 0.9:
        raise ValueError(f"{root}: the random draws of {speaker}/{utt} cannot be replayed (its leading "
                         "silence is not the replayed room noise): corpus built by other code?")
    camera = np.random.default_rng([c["seed"], 5, si, key]) if c.get("style") == "photo" else None
    return rng, camera


def render_utterance(corpus_root, speaker: str, utt: str, params: np.ndarray) -> np.ndarray:
    """One utterance's video as the corpus's mp4 holds it, with ``params`` (n_frames, 5) as its
    mouth parameters: (n_frames, S, S, 3) uint8 (speaker's look, the corpus's nuisance draws, its
    photographic camera where it has one, then an H.264 round trip with the corpus's settings)."""
    root = Path(corpus_root)
    man = _manifest(str(root.resolve()))
    c, d = man["config"], man["speakers"][speaker]
    rng, camera_rng = nuisance_rngs(root, speaker, utt)
    frames, lms = render_sequence(np.asarray(params, np.float64), _look(d), c["image_size"], rng, c["noise"], c["jitter"])
    if camera_rng is not None:
        from .photo import PhotoLook, PhotoStyle, random_camera
        frames = PhotoStyle(PhotoLook(**d["photo_look"]), c["image_size"])(
            frames, lms, random_camera(camera_rng), camera_rng)
    with tempfile.TemporaryDirectory() as tmp:
        with _meta(root, speaker, utt) as m:
            fps = int(m["fps"])
        return read_frames(write_video(Path(tmp) / "v.mp4", frames, fps))


class RenderedVideos:
    """``videos(speaker, utt, drive=None)`` -> (n_frames, S, S, 3) uint8: the utterance's video with
    the mouth parameters ``params_of(speaker, utt)`` (default the audio-only ceiling,
    ``audio_only_params``) in place of its own. ``drive = (speaker2, utt2, start, start2, length)``:
    frames start..start+length take utt2's parameters from its frame start2 on (the shuffled-audio
    control: another sentence's prediction in this video). Each utterance's parameters are cached."""

    def __init__(self, corpus_root, params_of=None, n_lags: int = 41):
        self.root = Path(corpus_root)
        self.params_of = params_of or (lambda spk, utt: audio_only_params(self.root, spk, utt, n_lags))
        self._params: dict = {}

    def params(self, speaker: str, utt: str) -> np.ndarray:
        if (speaker, utt) not in self._params:
            self._params[(speaker, utt)] = np.asarray(self.params_of(speaker, utt), np.float64)
        return self._params[(speaker, utt)]

    def __call__(self, speaker: str, utt: str, drive=None) -> np.ndarray:
        p = self.params(speaker, utt)
        if drive is not None:
            spk2, utt2, start, start2, length = drive
            other = self.params(spk2, utt2)[start2:start2 + length]
            p = p.copy()
            p[start:start + len(other)] = other[: len(p) - start]
        return render_utterance(self.root, speaker, utt, p)
