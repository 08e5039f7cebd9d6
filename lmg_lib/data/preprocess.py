"""Preprocessing: talking videos -> lip crops + per-frame LMS + mouth landmarks, as checksummed shards.

The same code serves the embedded corpus, real GRID and LRW (see ``readers.py`` for the layouts and
docs/DATA.md for the full description). Per utterance:

1. read the video frames (25 fps RGB) and the audio (``util.audio_io.load_audio``: mono 16 kHz);
   ``n = min(video frames, audio frames)``;
2. mouth landmarks (points 48..67) with a backend of ``landmarks.py``; failed frames (NaN rows) are
   counted, and filled by linear interpolation from their neighbours (``landmarks_valid`` keeps the
   mask); an utterance with fewer than ``min_valid`` detected frames is skipped and reported;
3. lip crop (``crop.py``): a square on the mouth-box centre with side ``1.3 * max(w, h)`` of the
   mouth box (as the authors). Authors crop every frame separately, which makes the crop jitter
   with landmark noise; our default ``box="utterance"`` uses ONE box per utterance (median centre and median size over
   the detected frames), so lip motion is not mixed with crop motion. ``box="frame"`` gives the
   authors' per-frame crop. Out-of-frame parts are filled by edge replication; crops are resized
   (area interpolation) to ``image_size`` (64);
4. LMS of the whole utterance (``audio.log_mel_spectrogram``): 4 steps of 10 ms per video frame;
5. landmarks are mapped into crop pixel coordinates;
6. clips: 16 frames starting every 8th frame, so an utterance of n frames gives
   ``floor((n - 16) / 8) + 1`` clips; a clip's spectrogram is ``audio.clip_lms(lms, start)``.

Storage: one ``.npz`` shard per utterance + ``manifest.json``, the format of ``shards.py`` (which
the dataset reads with the same module).

Re-running skips every shard whose journal record (``progress.jsonl``) matches the settings and
whose file still has the recorded size and sha256; a damaged shard is reported and rebuilt.

Command line: ``lmg preprocess --corpus DIR --out DIR [--backend groundtruth|dlib|face_alignment]
[--size 64] [--layout grid|lrw] [--box utterance|frame] [--workers N] [--dlib-detect-every K]``
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..config import Config, get_config
from ..util.audio_io import load_audio
from ..util.video_io import probe, read_frames
from .audio import clip_lms, log_mel_spectrogram
from .crop import CROP_SCALE, crop_boxes, crop_frames, to_crop_coords
from .landmarks import count_failed, get_backend
from .readers import Utterance, check_unique, read_corpus, speaker_sort_key
from .shards import FORMAT, ShardError, sha256_file, verify_shard, write_manifest, write_shard


# ----------------------------------------------------------------------------------- video
def read_video(path, fps: int = 25) -> np.ndarray:
    """All frames of a video as uint8 (N, H, W, 3) RGB at ``fps`` (other rates: nearest frame)."""
    frames = read_frames(path)                                        # (N, H, W, 3)
    src = probe(path)["fps"]
    if src > 0 and abs(src - fps) > 0.01:
        idx = np.round(np.arange(int(len(frames) * fps / src)) * src / fps).astype(int)
        frames = frames[np.minimum(idx, len(frames) - 1)]
    return frames


# ----------------------------------------------------------------------------- landmarks
def fill_missing(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over frames of NaN rows (nearest value at the ends).
    (N, 20, 2) -> filled (N, 20, 2), valid (N,) bool. Needs at least one valid frame."""
    valid = ~np.isnan(lm).any(axis=(1, 2))
    if valid.all():
        return lm.astype(np.float32), valid
    t, tv = np.arange(len(lm)), np.flatnonzero(valid)
    flat = lm.reshape(len(lm), -1)
    out = np.stack([np.interp(t, tv, flat[tv, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape(lm.shape).astype(np.float32), valid


# --------------------------------------------------------------------------------- clips
def clip_starts(n_frames: int, clip_len: int = 16, stride: int = 8) -> np.ndarray:
    """Start frames of the clips of an utterance: floor((n - clip_len) / stride) + 1 of them."""
    if n_frames < clip_len:
        return np.zeros(0, np.int32)
    return np.arange(0, n_frames - clip_len + 1, stride, dtype=np.int32)


# ------------------------------------------------------------------------------ utterances
def process_utterance(u: Utterance, backend, cfg: Config, box: str = "utterance",
                      stride: int | None = None, min_valid: float = 0.5) -> dict:
    """One utterance -> the shard arrays (see module docstring) + ``failed_frames``.
    Raises ``ValueError`` (with the reason) for an utterance that cannot be used."""
    S, T = cfg.model.image_size, cfg.model.n_frames
    frames = read_video(u.video)                                   # (N, H, W, 3)
    y = load_audio(u.audio, cfg.audio)                             # (samples,) 16 kHz
    n = min(len(frames), math.ceil(len(y) / cfg.audio.samples_per_frame))
    if n < T:
        raise ValueError(f"too short: {n} frames < {T}")
    frames = frames[:n]
    lm = np.asarray(backend.detect(frames, u), np.float32)[:n]    # (n, 20, 2) source pixels
    failed = count_failed(lm)
    if n - failed < max(1, min_valid * n):
        raise ValueError(f"landmarks found on only {n - failed}/{n} frames (backend {backend.name})")
    lm, valid = fill_missing(lm)
    boxes = crop_boxes(lm, valid, box)                             # (n, 3)
    crops = crop_frames(frames, boxes, S)                          # (n, S, S, 3)
    lms = log_mel_spectrogram(y, cfg.audio, n_frames=n)            # (4n, 128)
    lag = np.nan
    if u.sidecar is not None:
        with np.load(u.sidecar) as z:
            if "lag_ms" in z.files:
                lag = float(z["lag_ms"])
    starts = clip_starts(n, T, stride or T // 2)
    clip_lms(lms, int(starts[-1]), T, cfg.audio)                   # asserts the last window fits
    return dict(frames=np.ascontiguousarray(crops.transpose(0, 3, 1, 2)),     # (n, 3, S, S)
                lms=lms, landmarks=to_crop_coords(lm, boxes, S), landmarks_valid=valid,
                box=boxes.astype(np.float32), starts=starts, lag_ms=np.float64(lag),
                failed_frames=failed)


def shard_name(u: Utterance) -> str:
    return f"{u.group or u.speaker}/{u.utt}.npz"


def _source_stamp(u: Utterance) -> list:
    return [[os.stat(p).st_size, os.stat(p).st_mtime_ns] if p else None
            for p in (u.video, u.audio, u.sidecar)]


_WORKER: dict = {}


def _init_worker(backend_name: str, backend_kwargs: dict) -> None:
    _WORKER["backend"] = get_backend(backend_name, **backend_kwargs)


def _job(u: Utterance, out: Path, cfg: Config, settings: dict, fingerprint: str) -> dict:
    """Process + write one utterance; returns its journal record (or a 'skipped' record)."""
    rec = dict(speaker=u.speaker, utterance=u.utt, fingerprint=fingerprint)
    t0 = time.perf_counter()
    try:
        arrays = process_utterance(u, _WORKER["backend"], cfg, settings["box"], settings["stride"],
                                   settings["min_valid"])
    except Exception as e:                       # reported in the manifest, never silently dropped
        return dict(rec, skipped=f"{type(e).__name__}: {e}")
    failed = arrays.pop("failed_frames")
    name = shard_name(u)
    write_shard(out / "shards" / name, arrays)
    path = out / "shards" / name
    lag = float(arrays["lag_ms"])
    return dict(rec, shard=name, sha256=sha256_file(path), bytes=path.stat().st_size,
                n_frames=int(len(arrays["frames"])), n_clips=int(len(arrays["starts"])),
                failed_frames=int(failed), lag_ms=None if math.isnan(lag) else lag,
                source=_source_stamp(u), seconds=round(time.perf_counter() - t0, 3))


# ----------------------------------------------------------------------------------- splits
def assign_splits(utts: list[Utterance], rule: str = "auto", test_speakers=None, val_speakers=None,
                  test_frac: float = 0.15, val_frac: float = 0.10) -> tuple[dict, dict]:
    """Speaker-disjoint splits -> ({speaker: split}, description).

    * ``official`` (LRW): each clip's official split (its speaker is unknown);
    * ``paper`` (real GRID): test = s33 as the authors; val = the last 10 % of the other speakers
      (the authors held out 10 % of windows instead, which is not speaker-disjoint);
    * ``fraction`` (embedded corpus): speakers in numeric order; the last ~15 % are test, the
      ~10 % before them val, the rest train;
    * explicit ``test_speakers`` / ``val_speakers`` override the rule.
    ``auto`` picks official for LRW, paper when s33 exists, else fraction."""
    speakers = sorted({u.speaker for u in utts}, key=speaker_sort_key)
    if rule == "auto":
        rule = ("official" if all(u.split for u in utts) else
                "paper" if "s33" in speakers and not test_speakers else "fraction")
    if rule == "official":
        return {u.speaker: u.split for u in utts}, dict(rule="official")
    test = list(test_speakers or [])
    if not test:
        if rule == "paper":
            test = ["s33"]
        elif rule == "fraction":
            test = speakers[len(speakers) - (max(1, round(test_frac * len(speakers)))
                                             if len(speakers) >= 2 else 0):]
        else:
            raise ValueError(f"unknown split rule {rule!r}; choose auto, official, paper or fraction")
    rest = [s for s in speakers if s not in test]
    val = list(val_speakers or [])
    if not val and len(rest) >= 2:
        val = rest[len(rest) - max(1, round(val_frac * len(speakers))):]
    unknown = set(test + val) - set(speakers)
    if unknown:
        raise ValueError(f"split speakers not in the corpus: {sorted(unknown, key=speaker_sort_key)}")
    if set(test) & set(val):
        raise ValueError(f"speakers in both test and val: {sorted(set(test) & set(val))}")
    split = {s: "test" if s in test else "val" if s in val else "train" for s in speakers}
    desc = dict(rule=rule, **{k: [s for s in speakers if split[s] == k] for k in ("train", "val", "test")})
    return split, desc


# ------------------------------------------------------------------------------------ driver
def _read_journal(path: Path, fingerprint: str) -> dict:
    recs = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue                         # a line cut by an interrupted run
            if r.get("fingerprint") == fingerprint and "shard" in r:
                recs[(r["speaker"], r["utterance"])] = r
    return recs


def preprocess(corpus, out, layout: str = "grid", backend: str = "groundtruth", size: int | None = None,
               cfg: Config | None = None, box: str = "utterance", stride: int | None = None,
               min_valid: float = 0.5, workers: int = 0, split_rule: str = "auto",
               test_speakers=None, val_speakers=None, backend_kwargs: dict | None = None,
               progress: bool = True, log=print) -> dict:
    """Preprocess every utterance of ``corpus`` into ``out``; returns the manifest (also written to
    ``out/manifest.json``). Shards already done with the same settings are verified and skipped."""
    from tqdm.auto import tqdm
    cfg = cfg or get_config("paper")
    if size is not None:
        cfg = cfg.replace(model=dict(image_size=int(size)))
    out = Path(out)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    utts = read_corpus(corpus, layout)
    check_unique(utts)
    split, split_desc = assign_splits(utts, split_rule, test_speakers, val_speakers)
    settings = dict(format=FORMAT, layout=layout, backend=backend, backend_kwargs=backend_kwargs or {},
                    box=box, crop_scale=CROP_SCALE,
                    stride=stride or cfg.model.n_frames // 2, min_valid=min_valid,
                    image_size=cfg.model.image_size, n_frames=cfg.model.n_frames,
                    audio=cfg.to_dict()["audio"])
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    journal_path = out / "progress.jsonl"
    journal = _read_journal(journal_path, fingerprint)

    records, todo, rebuilt = {}, [], []
    for u in utts:
        r = journal.get(u.key)
        if r is not None and r.get("source") == _source_stamp(u):
            try:
                verify_shard(out / "shards" / r["shard"], r["sha256"], r["bytes"])
                records[u.key] = r
                continue
            except ShardError as e:
                log(f"warning: {e}; rebuilding")
                rebuilt.append(r["shard"])
        todo.append(u)
    log(f"{len(utts)} utterances, {len(records)} already done, {len(todo)} to process "
        f"(backend {backend}, box {box}, size {cfg.model.image_size})")

    t0 = time.perf_counter()
    args = (out, cfg, settings, fingerprint)
    bar = tqdm(total=len(todo), disable=not progress or not todo,      # nothing to do: no empty bar
               desc="preprocess", unit="utt")
    with open(journal_path, "a") as journal_f:
        def done(r):
            records[(r["speaker"], r["utterance"])] = r
            if "shard" in r:
                journal_f.write(json.dumps(r) + "\n")
                journal_f.flush()
            bar.update(1)
        if workers and workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(workers, initializer=_init_worker,
                                     initargs=(backend, backend_kwargs or {})) as ex:
                for r in ex.map(_job, todo, *[[a] * len(todo) for a in args], chunksize=1):
                    done(r)
        elif todo:
            _init_worker(backend, backend_kwargs or {})
            for u in todo:
                done(_job(u, *args))
    bar.close()
    elapsed = time.perf_counter() - t0

    shards, clips, skipped = {}, [], []
    for u in utts:                                            # manifest in sorted corpus order
        r = records[u.key]
        if "skipped" in r:
            skipped.append(dict(speaker=u.speaker, utterance=u.utt, reason=r["skipped"]))
            continue
        shards[r["shard"]] = {k: r[k] for k in ("sha256", "bytes", "speaker", "utterance", "n_frames",
                                                "n_clips", "failed_frames", "lag_ms")}
        shards[r["shard"]]["split"] = split[u.speaker]
        for c in range(r["n_clips"]):
            clips.append(dict(speaker=u.speaker, utterance=u.utt, clip=c, start_frame=c * settings["stride"],
                              lag_ms=r["lag_ms"], shard=r["shard"], split=split[u.speaker]))
    if not shards:
        raise RuntimeError(f"no utterance could be preprocessed; first reason: "
                           f"{skipped[0]['reason'] if skipped else 'empty corpus'}")
    n_fail = sum(s["failed_frames"] for s in shards.values())
    n_frames = sum(s["n_frames"] for s in shards.values())
    done_now = [records[u.key] for u in todo if "shard" in records[u.key]]
    stats = dict(utterances=len(utts), shards=len(shards), clips=len(clips), skipped=len(skipped),
                 rebuilt=rebuilt, processed_now=len(done_now), failed_frames=n_fail, frames=n_frames,
                 seconds=round(elapsed, 2),
                 seconds_per_utterance=round(elapsed / len(todo), 3) if todo else None,
                 clips_per_split={k: sum(c["split"] == k for c in clips) for k in ("train", "val", "test")})
    if layout != "grid":
        split_desc = dict(split_desc, speakers_per_split={
            k: sum(v == k for v in split.values()) for k in ("train", "val", "test")})
    manifest = dict(format=FORMAT, config=cfg.to_dict(), settings=settings, fingerprint=fingerprint,
                    corpus=str(Path(corpus).resolve()), splits=split_desc, stats=stats,
                    shards=shards, skipped=skipped, clips=clips)
    write_manifest(out, manifest)
    log(f"done: {len(shards)} shards, {len(clips)} clips, {len(skipped)} skipped, "
        f"{n_fail}/{n_frames} frames without landmarks (filled by interpolation), {elapsed:.1f} s")
    for s in skipped[:10]:
        log(f"  skipped {s['speaker']}/{s['utterance']}: {s['reason']}")
    return manifest
