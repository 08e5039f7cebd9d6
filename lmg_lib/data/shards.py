"""The preprocessed dataset on disk, in one place: ``lmg preprocess`` writes it with this module and
``LipClipDataset`` reads it with this module.

    <root>/manifest.json         format, config, settings, splits, one record per shard and per clip
    <root>/shards/<group>/<utt>.npz   one uncompressed shard per utterance
    <root>/progress.jsonl        preprocessing journal (re-runs skip finished shards)

Shard arrays (utterance-level; a clip is a 16-frame window into them, which halves the size
against storing overlapping clips): ``frames`` (n, 3, S, S) uint8 RGB, ``lms`` (4n, 128) float32
in [-1, 1], ``landmarks`` (n, 20, 2) float32 crop pixels (x, y), ``landmarks_valid`` (n,) bool,
``box`` (n, 3) float32 crop (x0, y0, side) in source pixels, ``starts`` (n_clips,) int32,
``lag_ms`` () float64 (NaN for real data). The manifest records every shard's sha256 and byte size;
a shard that does not match raises ``ShardError`` naming it. More in docs/DATA.md.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..util.files import atomic_write

FORMAT = "lmg_lib.preprocess/1"    # the manifest's "format" (named after its first writer; kept so
                                   # that datasets written before stay readable)


class ShardError(RuntimeError):
    """A shard is missing, truncated or does not match its checksum in the manifest."""


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def verify_shard(path, sha256: str | None, nbytes: int) -> None:
    """Raise ``ShardError`` naming ``path`` if it is missing, has the wrong size or (when ``sha256``
    is given) the wrong checksum."""
    path = Path(path)
    if not path.is_file():
        raise ShardError(f"shard missing: {path}")
    size = path.stat().st_size
    if size != nbytes:
        raise ShardError(f"shard {path} has {size} bytes, the manifest says {nbytes} "
                         f"(truncated or replaced): re-run lmg preprocess to rebuild it")
    if sha256 is not None and sha256_file(path) != sha256:
        raise ShardError(f"shard {path} fails its sha256 check (corrupted): "
                         f"re-run lmg preprocess to rebuild it")


def load_shard(path) -> dict[str, np.ndarray]:
    """All arrays of one shard; a file that cannot be parsed raises ``ShardError`` naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:
        raise ShardError(f"cannot read shard {path}: {type(e).__name__}: {e}") from e



def write_shard(path, arrays: dict) -> None:
    """Write one shard (uncompressed npz) atomically."""
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    atomic_write(path, write)


def read_manifest(root) -> dict:
    """``<root>/manifest.json``; a clear error if it is missing or of another format."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"no manifest.json in {root}: run `lmg preprocess` first")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def write_manifest(root, manifest: dict) -> Path:
    """Write ``<root>/manifest.json`` atomically (see ``dump_manifest``)."""
    return atomic_write(Path(root) / "manifest.json", lambda tmp: Path(tmp).write_text(dump_manifest(manifest)))


def dump_manifest(m: dict) -> str:
    """JSON, indented, but one line per shard and per clip (GRID has ~260k clips)."""
    head = json.dumps({k: v for k, v in m.items() if k not in ("shards", "clips")}, indent=1)[:-2]
    line = lambda v: json.dumps(v, separators=(",", ":"))
    shards = ",\n  ".join(f"{json.dumps(k)}: {line(v)}" for k, v in m["shards"].items())
    clips = ",\n  ".join(line(c) for c in m["clips"])
    return f'{head},\n "shards": {{\n  {shards}\n }},\n "clips": [\n  {clips}\n ]\n}}\n'
