"""The embedded default corpus: GRID-style talking lips generated offline, deterministic from a seed.

For every speaker (an espeak voice + a ``SpeakerLook``) and utterance (a GRID sentence):

    text --espeak--> 16 kHz speech + phoneme timing          (speech.py)
         --visemes + coarticulation, lips lead by lag--> (n_frames, 5) mouth parameters (visemes.py)
         --render--> (n_frames, S, S, 3) lip frames + exact 20 mouth landmarks          (render.py)
         [--style photo: skin/lip texture, stubble, white balance, blur, JPEG          (photo.py)]
         --> video/<utt>.mp4 (H.264 + AAC), audio/<utt>.wav, align/<utt>.align, meta/<utt>.npz

in the layout of docs/CONTRACTS.md. Every random choice comes from ``np.random.default_rng`` seeded
with (seed, purpose, speaker, utterance), so the same seed gives the same wav bytes and the same
frames (before H.264 encoding) whatever the number of workers. Re-running skips utterances that are
complete (the meta sidecar is written last, every file atomically).

Command line: ``lmg corpus --out DIR [--speakers 32 --utterances 40 --seed 0 --size 64 --style rendered]``
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..config import AudioConfig
from ..util.files import atomic_path
from ..util.grid_layout import align_text
from ..util.video_io import read_frames, write_video
from . import grammar
from .photo import PhotoLook, PhotoStyle, random_camera, random_photo_look
from .render import SpeakerLook, random_look, render_sequence
from .speech import Voice, random_voice, synthesize, warm_up
from .visemes import mouth_parameters, sample_lag_ms

FORMAT = "lmg_lib embedded corpus v1"


STYLES = ("rendered", "photo")


@dataclass(frozen=True)
class CorpusConfig:
    """What to generate. Lag: lips lead audio by a per-utterance lag drawn from
    ``lag_dist`` ("normal": mean/sd truncated to [min, max]; "uniform": [min, max]; "fixed": mean)."""
    n_speakers: int = 32
    utterances_per_speaker: int = 40
    image_size: int = 64
    seed: int = 0
    lag_dist: str = "normal"
    lag_mean_ms: float = 80.0
    lag_sd_ms: float = 40.0
    lag_min_ms: float = 0.0
    lag_max_ms: float = 200.0
    silence_s: tuple = (0.25, 0.45)     # leading/trailing silence drawn from this range
    noise: float = 2.0                  # sensor noise (std, 0..255 levels)
    jitter: float = 1.0                 # head motion amount
    style: str = "rendered"             # "rendered" (the default) or "photo": photographic texture (photo.py)
    n_workers: int = 0                  # 0: all CPU cores; 1: in this process

    def __post_init__(self):
        if self.style not in STYLES:
            raise ValueError(f"unknown corpus style {self.style!r}; choose one of {', '.join(STYLES)}")

    def to_json_dict(self) -> dict:
        d = asdict(self)
        d.pop("n_workers")              # does not change the data
        if d["style"] == "rendered":    # the default style writes the corpus.json it wrote before styles
            d.pop("style")
        d["silence_s"] = list(d["silence_s"])
        return d


# ---------------------------------------------------------------------------------------------
# speakers and scripts

def make_speakers(cfg: CorpusConfig) -> list[dict]:
    """Speaker i: voice and look from rng(seed, 1, i). Skin tones follow a golden-ratio sequence,
    so any number of speakers spreads over the light..dark range."""
    out = []
    for i in range(cfg.n_speakers):
        rng = np.random.default_rng([cfg.seed, 1, i])
        tone = (0.37 + 0.6180339887 * i) % 1.0
        spk = {"id": f"s{i + 1}", "voice": random_voice(rng), "look": random_look(rng, tone)}
        if cfg.style == "photo":                  # its own stream: voice and look stay the rendered style's
            spk["photo"] = random_photo_look(np.random.default_rng([cfg.seed, 4, i]))
        out.append(spk)
    return out


def make_script(cfg: CorpusConfig, speaker_index: int) -> list[tuple[str, ...]]:
    """``utterances_per_speaker`` distinct GRID sentences for one speaker."""
    rng = np.random.default_rng([cfg.seed, 2, speaker_index])
    seen, out = set(), []
    while len(out) < cfg.utterances_per_speaker:
        words = grammar.random_sentence(rng)
        uid = grammar.utterance_id(words)
        if uid not in seen:
            seen.add(uid)
            out.append(words)
    return out


# ---------------------------------------------------------------------------------------------
# one utterance

def synthesize_utterance(words, voice: Voice, look: SpeakerLook, cfg: CorpusConfig,
                         rng: np.random.Generator, acfg: AudioConfig = AudioConfig(),
                         photo: PhotoLook | None = None, camera_rng: np.random.Generator | None = None) -> dict:
    """Everything about one utterance, in memory: audio (n,), frames (T, S, S, 3), landmarks
    (T, 20, 2), params (T, 5), phonemes [(ph, start, end)], words [(word, start, end)], lag_ms.
    n is a whole number of video frames (T * 640 samples) with silence at both ends.
    With ``photo`` (the photo style) the frames get that texture and a camera drawn from
    ``camera_rng``; everything else is what the rendered style gives."""
    sp = synthesize(grammar.speakable(words), voice, acfg)
    if len(sp.words) != 6:
        raise RuntimeError(f"espeak returned {len(sp.words)} words for {words}")
    spf = acfg.samples_per_frame
    lead = int(rng.uniform(*cfg.silence_s) * acfg.sample_rate)
    trail = int(rng.uniform(*cfg.silence_s) * acfg.sample_rate)
    n = -(-(lead + len(sp.audio) + trail) // spf) * spf                    # whole frames
    y = np.zeros(n, np.float32)
    y[lead:lead + len(sp.audio)] = sp.audio / max(np.abs(sp.audio).max(), 1e-6) * rng.uniform(0.35, 0.6)
    y += rng.normal(0, 2e-4, n).astype(np.float32)                         # faint room noise

    phonemes = [("_", 0, lead + sp.phonemes[0][1])]
    phonemes += [(ph, s + lead, e + lead) for ph, s, e in sp.phonemes]
    if phonemes[-1][0] == "_":
        phonemes[-1] = ("_", phonemes[-1][1], n)
    else:
        phonemes.append(("_", phonemes[-1][2], n))
    word_segs = [(words[k], s + lead, e + lead) for k, s, e in sp.words]

    lag_ms = sample_lag_ms(rng, cfg.lag_dist, cfg.lag_mean_ms, cfg.lag_sd_ms,
                           cfg.lag_min_ms, cfg.lag_max_ms)
    T = n // spf
    params = mouth_parameters(phonemes, T, lag_ms, acfg.fps, acfg.sample_rate)     # (T, 5)
    frames, landmarks = render_sequence(params, look, cfg.image_size, rng, cfg.noise, cfg.jitter)
    if photo is not None:
        camera_rng = camera_rng if camera_rng is not None else np.random.default_rng(0)
        frames = PhotoStyle(photo, cfg.image_size)(frames, landmarks, random_camera(camera_rng), camera_rng)
    return {"audio": y, "frames": frames, "landmarks": landmarks, "params": params,
            "phonemes": phonemes, "words": word_segs, "lag_ms": lag_ms}


def utterance_paths(root, speaker: str, utt: str) -> dict:
    d = Path(root) / speaker
    return {"video": d / "video" / f"{utt}.mp4", "audio": d / "audio" / f"{utt}.wav",
            "align": d / "align" / f"{utt}.align", "meta": d / "meta" / f"{utt}.npz"}


def _build_one(job) -> str:
    """Worker: generate and write one utterance (skips it if complete). Returns its key."""
    import soundfile as sf
    root, cfg, si, spk, words = job
    utt = grammar.utterance_id(words)
    paths = utterance_paths(root, spk["id"], utt)
    if all(p.exists() for p in paths.values()):
        return f"{spk['id']}/{utt}"
    key = int.from_bytes(utt.encode(), "little")
    rng = np.random.default_rng([cfg.seed, 3, si, key])
    u = synthesize_utterance(words, spk["voice"], spk["look"], cfg, rng, photo=spk.get("photo"),
                             camera_rng=np.random.default_rng([cfg.seed, 5, si, key]))
    acfg = AudioConfig()
    with atomic_path(paths["audio"]) as tmp:
        sf.write(str(tmp), u["audio"], acfg.sample_rate, subtype="PCM_16", format="WAV")
    with atomic_path(paths["align"]) as tmp:
        tmp.write_text(align_text(u["words"], len(u["audio"]), acfg.sample_rate))
    write_video(paths["video"], u["frames"], acfg.fps, audio_path=paths["audio"])
    ph = u["phonemes"]
    with atomic_path(paths["meta"]) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, landmarks=u["landmarks"].astype(np.float32),
                     lag_ms=np.float64(u["lag_ms"]),
                     lag_frames=np.int64(round(u["lag_ms"] * acfg.fps / 1000)),
                     phonemes=np.array([p[0] for p in ph]),
                     phoneme_start=np.array([p[1] for p in ph], np.int64),
                     phoneme_end=np.array([p[2] for p in ph], np.int64),
                     words=np.array([w[0] for w in u["words"]]),
                     word_start=np.array([w[1] for w in u["words"]], np.int64),
                     word_end=np.array([w[2] for w in u["words"]], np.int64),
                     mouth_params=u["params"].astype(np.float32),
                     sample_rate=np.int64(acfg.sample_rate), fps=np.int64(acfg.fps))
    return f"{spk['id']}/{utt}"


# ---------------------------------------------------------------------------------------------
# the whole corpus

def corpus_manifest(cfg: CorpusConfig) -> dict:
    """The content of corpus.json: format, seed, config, speakers with their parameters."""
    speakers = {}
    for i, spk in enumerate(make_speakers(cfg)):
        speakers[spk["id"]] = {"voice": asdict(spk["voice"]), "look": asdict(spk["look"]),
                               "utterances": [grammar.utterance_id(w) for w in make_script(cfg, i)]}
        if "photo" in spk:
            speakers[spk["id"]]["photo_look"] = asdict(spk["photo"])
    # (the "lag" text is written into every corpus.json and kept byte-stable: visemes.py is now
    # lmg_lib/corpus/visemes.py)
    return {"format": FORMAT, "seed": cfg.seed, "config": cfg.to_json_dict(),
            "lag": "lips lead audio: video frame t shows the articulation of audio time "
                   "(t + 0.5) / fps + lag_ms / 1000 (see lmg_lib/visemes.py)",
            "speakers": speakers}


def build_corpus(root, cfg: CorpusConfig = CorpusConfig(), progress: bool = True,
                 speakers: list[str] | None = None, max_utterances: int | None = None) -> Path:
    """Generate (or complete) the corpus under ``root``; returns ``root``.

    ``speakers`` / ``max_utterances``: only these speakers' first utterances (every utterance is
    seeded on its own, so they are byte-identical to the same files of the whole corpus: the tests
    rebuild a few held-out utterances of the default corpus this way). corpus.json is the whole
    corpus's. Raises ValueError if ``root`` holds a corpus.json made with a different configuration.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest = corpus_manifest(cfg)
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    mpath = root / "corpus.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if old.get("config") != manifest["config"]:
            raise ValueError(f"{root} holds a corpus with another configuration; use a new folder")
    else:
        with atomic_path(mpath) as tmp:
            tmp.write_text(text)

    only = set(speakers) if speakers is not None else None
    speakers = make_speakers(cfg)
    jobs = [(root, cfg, i, spk, words) for i, spk in enumerate(speakers) if only is None or spk["id"] in only
            for words in make_script(cfg, i)[:max_utterances]]
    workers = cfg.n_workers or os.cpu_count() or 1
    from tqdm.auto import tqdm
    bar = tqdm(total=len(jobs), desc="corpus", unit="utt", disable=not progress)
    if workers == 1:
        for job in jobs:
            _build_one(job)
            bar.update()
    else:
        import multiprocessing as mp
        warm_up()                          # initialise espeak once; the forked workers inherit it
        with mp.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            for _ in pool.imap_unordered(_build_one, jobs):
                bar.update()
    bar.close()
    return root


def tiny_corpus(root, seed: int = 0, n_workers: int = 0, progress: bool = False) -> Path:
    """A 4-speaker x 3-utterance corpus for tests (a few seconds)."""
    return build_corpus(root, CorpusConfig(n_speakers=4, utterances_per_speaker=3, seed=seed,
                                           n_workers=n_workers), progress=progress)


def disk_size(root) -> int:
    """Bytes under ``root``."""
    return sum(f.stat().st_size for f in Path(root).rglob("*") if f.is_file())
