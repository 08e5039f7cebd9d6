"""PyTorch dataset over the preprocessed shards (``shards.py``) written by ``lmg preprocess``.

``LipClipDataset(root, split)[i]`` is a dict (S = image_size, T = 16 frames):

=============  =====================  ===================================================================
key            shape / type           content
=============  =====================  ===================================================================
lms            (1, 64, 128) float32   log-mel spectrogram of the clip, in [-1, 1]
video          (3, T, S, S) float32   the real lip clip in [-1, 1] (channels first, time second: the
                                      model's (B, 3, T, H, W) layout)
ref            (3, S, S) float32      one lip frame of the same speaker: by default from ANOTHER
                                      utterance of that speaker (``ref="speaker"``), else (only one
                                      utterance, or ``ref="utterance"``: the authors' choice) from the
                                      same utterance
mismatch       (3, T, S, S) float32   a real clip of ANOTHER utterance (discriminator's third stream);
                                      by default of the same speaker when there is one, so that only
                                      lip/audio sync tells it apart (``mismatch="any"``: any utterance)
landmarks      (T, 20, 2) float32     mouth points 48..67 in crop pixels (x, y)
ref_landmarks  (20, 2) float32        the same for the reference frame
landmarks_valid (T,) bool             False where the backend failed and the point was interpolated
lag_ms         float                  lips-lead-audio lag of the embedded corpus; NaN for real data
speaker, utterance, clip, start_frame, ref_utterance, mismatch_speaker, mismatch_utterance
=============  =====================  ===================================================================

Every random choice comes from ``numpy.random.default_rng((seed, epoch, index))``: the same
(seed, epoch, index) always gives the same sample; ``set_epoch`` varies the choices per epoch.

Integrity: on opening, every shard of the split is checked against the manifest: its byte size
always, its sha256 on the first open (``verify="auto"``; the result is remembered in
``<root>/.verified.json`` with the file's size and mtime, so later opens only re-hash changed
files), ``verify="full"`` always, ``"size"`` never. A damaged shard raises ``ShardError`` naming it.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from ..config import Config
from ..util.pixels import from_uint8
from .audio import clip_lms
from .shards import ShardError, load_shard, read_manifest, verify_shard

SPLITS = ("train", "val", "test")


def _to_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(from_uint8(x))


class LipClipDataset(torch.utils.data.Dataset):
    def __init__(self, root, split: str = "train", seed: int = 0, ref: str = "speaker",
                 mismatch: str = "same_speaker", verify: str = "auto", cache_size: int = 32):
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        if ref not in ("speaker", "utterance") or mismatch not in ("same_speaker", "any"):
            raise ValueError("ref must be 'speaker' or 'utterance'; mismatch 'same_speaker' or 'any'")
        self.cfg = Config.from_dict(self.manifest["config"])
        self.split, self.seed, self.ref, self.mismatch, self.epoch = split, seed, ref, mismatch, 0
        self.T = self.cfg.model.n_frames
        self.clips = [c for c in self.manifest["clips"] if c["split"] == split]
        # utterances of the split, and their indices per speaker
        self.shards = {k: v for k, v in self.manifest["shards"].items() if v["split"] == split}
        self.utt_shards = sorted(self.shards, key=lambda k: (self.shards[k]["speaker"], k))
        self._utt_index = {name: j for j, name in enumerate(self.utt_shards)}
        self.by_speaker: dict[str, list[str]] = {}
        for name in self.utt_shards:
            self.by_speaker.setdefault(self.shards[name]["speaker"], []).append(name)
        if self.clips and len(self.utt_shards) < 2:
            raise ValueError(f"split {split!r} has a single utterance: no mismatched clip is possible")
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self.verify(verify)

    # ------------------------------------------------------------------------------ integrity
    def verify(self, mode: str = "auto") -> None:
        """Check the split's shards against the manifest (see module docstring)."""
        if mode == "none":
            return
        marker_path = self.root / ".verified.json"
        try:
            marker = json.loads(marker_path.read_text())
        except (OSError, json.JSONDecodeError):
            marker = {}
        changed = False
        for name in self.utt_shards:
            rec, path = self.shards[name], self.root / "shards" / name
            verify_shard(path, None, rec["bytes"])                     # size: always
            if mode == "size":
                continue
            st = path.stat()
            stamp = [rec["sha256"], st.st_size, st.st_mtime_ns]
            if mode == "full" or marker.get(name) != stamp:
                verify_shard(path, rec["sha256"], rec["bytes"])
                marker[name], changed = stamp, True
        if changed:
            try:
                tmp = marker_path.with_name(f".verified.json.tmp{os.getpid()}")
                tmp.write_text(json.dumps(marker))
                os.replace(tmp, marker_path)
            except OSError:
                pass                                                    # read-only dataset: fine

    def _shard(self, name: str) -> dict:
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        path = self.root / "shards" / name
        arr = load_shard(path)
        n, S = self.shards[name]["n_frames"], self.cfg.model.image_size
        if arr.get("frames", np.zeros(0)).shape != (n, 3, S, S) or arr["lms"].shape[0] < n * self.cfg.audio.steps_per_frame:
            raise ShardError(f"shard {path} does not match the manifest (frames {arr.get('frames', np.zeros(0)).shape}, "
                             f"expected {(n, 3, S, S)})")
        self._cache[name] = arr
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return arr

    # ---------------------------------------------------------------------------- sampling
    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def _window(self, arr: dict, start: int) -> torch.Tensor:          # -> (3, T, S, S)
        return _to_float(arr["frames"][start:start + self.T]).permute(1, 0, 2, 3)

    def __getitem__(self, i: int) -> dict:
        c = self.clips[i]
        rng = np.random.default_rng((self.seed, self.epoch, i))
        name, start = c["shard"], c["start_frame"]
        arr = self._shard(name)
        own = self.by_speaker[c["speaker"]]
        others_same = [s for s in own if s != name]

        ref_name = name if self.ref == "utterance" or not others_same else others_same[rng.integers(len(others_same))]
        ref_arr = self._shard(ref_name)
        ref_j = rng.integers(len(ref_arr["frames"]))
        ref = _to_float(ref_arr["frames"][ref_j])                                   # (3, S, S)

        if self.mismatch == "same_speaker" and others_same:
            mm_name = others_same[rng.integers(len(others_same))]
        else:
            j = rng.integers(len(self.utt_shards) - 1)
            mm_name = self.utt_shards[j + (j >= self._utt_index[name])]   # any but this one
        mm_rec = self.shards[mm_name]
        assert (mm_rec["speaker"], mm_rec["utterance"]) != (c["speaker"], c["utterance"])
        mm_arr = self._shard(mm_name)
        mm_start = int(mm_arr["starts"][rng.integers(len(mm_arr["starts"]))])

        lag = c.get("lag_ms")
        return dict(
            lms=torch.from_numpy(clip_lms(arr["lms"], start, self.T, self.cfg.audio).copy()),  # (1, 64, 128)
            video=self._window(arr, start),                                            # (3, T, S, S)
            ref=ref,
            ref_landmarks=torch.from_numpy(ref_arr["landmarks"][ref_j].copy()),       # (20, 2)
            mismatch=self._window(mm_arr, mm_start),
            landmarks=torch.from_numpy(arr["landmarks"][start:start + self.T].copy()),  # (T, 20, 2)
            landmarks_valid=torch.from_numpy(arr["landmarks_valid"][start:start + self.T].copy()),
            lag_ms=float("nan") if lag is None else float(lag),
            speaker=c["speaker"], utterance=c["utterance"], clip=c["clip"], start_frame=start,
            ref_utterance=self.shards[ref_name]["utterance"],
            mismatch_speaker=mm_rec["speaker"], mismatch_utterance=mm_rec["utterance"])


def evenly_spaced(dataset, n: int) -> torch.utils.data.Subset:
    """Up to ``n`` items spread evenly over ``dataset`` (first and last included), in order;
    ``n = 0`` keeps every item. Deterministic: used for quick evaluations on a fixed subset."""
    idx = np.linspace(0, len(dataset) - 1, n).round().astype(int) if n else np.arange(len(dataset))
    return torch.utils.data.Subset(dataset, sorted(set(idx.tolist())))


def evenly_spaced_items(dataset, n: int) -> list[dict]:
    """``evenly_spaced``'s items, loaded: the fixed list of clips a validation or quick read scores."""
    sub = evenly_spaced(dataset, n)
    return [sub[i] for i in range(len(sub))]


# ------------------------------------------------------------------- batches and other datasets
TENSOR_KEYS = ("lms", "ref", "video", "mismatch", "landmarks", "index")


def collate_clips(items: list[dict]) -> dict:
    """Stack the tensors the training step uses (other keys are dropped)."""
    return {k: torch.stack([it[k] for it in items]) for k in TENSOR_KEYS if k in items[0]}


class SyntheticClipDataset(torch.utils.data.Dataset):
    """``n`` random clips following the ``LipClipDataset`` dict contract (tests, benchmarks,
    ``--data synthetic:N``). Item ``i`` depends only on (seed, i)."""

    def __init__(self, n: int, cfg: Config, seed: int = 0):
        self.n, self.cfg, self.seed = int(n), cfg, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(i)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        S, T = self.cfg.model.image_size, self.cfg.model.n_frames
        video = torch.rand(3, T, S, S, generator=g) * 2 - 1
        return dict(lms=torch.rand(*self.cfg.lms_shape, generator=g) * 2 - 1, ref=video[:, 0].clone(),
                    video=video, mismatch=torch.rand(3, T, S, S, generator=g) * 2 - 1,
                    landmarks=torch.zeros(T, 20, 2), lag_ms=float("nan"), speaker="synthetic",
                    utterance=f"u{i:05d}", clip=i)


def load_dataset(data: str, cfg: Config, split: str = "train"):
    """A dataset spec (``lmg train --data``): ``synthetic:N`` -> ``SyntheticClipDataset``, a folder ->
    ``LipClipDataset(folder, split)``, refused if its clips are not the size ``cfg`` asks for."""
    if data.startswith("synthetic"):
        n = int(data.split(":", 1)[1]) if ":" in data else 64
        return SyntheticClipDataset(n, cfg, seed=cfg.seed)
    ds = LipClipDataset(data, split, seed=cfg.seed)
    if ds.cfg.model.image_size != cfg.model.image_size or ds.cfg.model.n_frames != cfg.model.n_frames:
        raise ValueError(f"{data} holds {ds.cfg.model.image_size}px x {ds.cfg.model.n_frames}-frame clips; "
                         f"config {cfg.name!r} needs {cfg.model.image_size}px x {cfg.model.n_frames}")
    return ds
