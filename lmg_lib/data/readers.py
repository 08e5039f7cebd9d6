"""Readers for the on-disk layouts of GRID (real or embedded) and LRW, yielding ``Utterance`` records.

Where to obtain the corpora (neither is redistributed with this project):

* **GRID** (Cooke, Barker, Cunningham, Shao 2006; 34 speakers x 1000 sentences, 25 fps video,
  word alignments): The University of Sheffield, https://spandh.dcs.shef.ac.uk/gridcorpus/
  (also mirrored on Zenodo). Check its licence before redistributing anything derived from it.
* **LRW** (Lip Reading in the Wild; 500 words, BBC TV, 1.16 s clips at 25 fps): BBC / Oxford VGG,
  https://www.robots.ox.ac.uk/~vgg/data/lip_reading/ -- requires signing the BBC licence
  agreement; must not be redistributed.

GRID layouts accepted (``<root>`` is the folder passed to ``read_grid``; speakers are ``s<N>``):

* the project contract (docs/CONTRACTS.md), written by ``lmg_lib.corpus`` (``lmg corpus``) for the embedded corpus::

      <root>/s1/video/<utt>.mp4|.mpg   <root>/s1/audio/<utt>.wav
      <root>/s1/align/<utt>.align      <root>/s1/meta/<utt>.npz   (sidecar, embedded corpus only)

* the raw GRID downloads, unpacked in place::

      <root>/s1/<utt>.mpg  or  <root>/s1/video/mpg_6000/<utt>.mpg  or  <root>/video/s1/<utt>.mpg
      <root>/audio_25k/s1/<utt>.wav  or  <root>/audio_50k/s1/<utt>.wav  or  <root>/s1/audio/<utt>.wav
      <root>/alignments/s1/align/<utt>.align  or  <root>/alignments/s1/<utt>.align
          or  <root>/s1/align/<utt>.align

  When no wav is found the audio is taken from the video itself (``util.audio_io.load_audio`` falls back
  to ffmpeg). A missing alignment is allowed (``align=None``).

LRW layout: ``<root>/lipread_mp4/<WORD>/{train,val,test}/<WORD>_<nnnnn>.mp4`` (+ ``.txt``), or
``<root>`` pointing at ``lipread_mp4`` itself. The speaker of an LRW clip is unknown, so every video
is its own pseudo-speaker and the split is the official one (``Utterance.split``). LRW ids repeat
across splits (``ABOUT/train/ABOUT_00001`` and ``ABOUT/test/ABOUT_00001`` are different clips), so
the pseudo-speaker id contains the split.

Known defects of the authors' listing that we avoid: files were listed in unsorted directory order
and keyed by sentence id alone (ids collide across GRID speakers). Here every list is sorted
(speakers numerically) and utterances are keyed by ``(speaker, utt)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTS = (".mp4", ".mpg", ".mpeg", ".avi", ".mov", ".mkv")
AUDIO_EXTS = (".wav", ".flac")
LRW_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Utterance:
    """One talking video. ``audio`` may equal ``video`` (sound extracted with ffmpeg)."""
    speaker: str                 # "s1" (GRID); "<split>_<WORD>_<nnnnn>" pseudo-speaker (LRW)
    utt: str                     # "bbaf2n" (GRID); "<WORD>_<nnnnn>" (LRW)
    video: Path
    audio: Path
    align: Path | None = None    # GRID .align; LRW .txt
    sidecar: Path | None = None  # embedded corpus meta/<utt>.npz (exact landmarks, lag_ms)
    group: str = ""              # sub-folder for the output shard: speaker (GRID), WORD/split (LRW)
    split: str | None = None     # official split (LRW); None where splits are chosen by speaker
    corpus: str = "grid"         # "grid" or "lrw"

    @property
    def key(self) -> tuple[str, str]:
        return (self.speaker, self.utt)


def speaker_sort_key(s: str):
    """s1 < s2 < s10 (numeric part), other names alphabetically after."""
    m = re.fullmatch(r"s(\d+)", s)
    return (0, int(m.group(1)), "") if m else (1, 0, s)


def _files(d: Path, exts) -> dict[str, Path]:
    if not d.is_dir():
        return {}
    return {p.stem: p for p in sorted(d.iterdir()) if p.is_file() and p.suffix.lower() in exts}


def _first_nonempty(cands, exts) -> dict[str, Path]:
    for d in cands:
        f = _files(d, exts)
        if f:
            return f
    return {}


def grid_speakers(root) -> list[str]:
    root = Path(root)
    names = set()
    for base in (root, root / "video"):
        if base.is_dir():
            names |= {p.name for p in base.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)}
    return sorted(names, key=speaker_sort_key)


def read_grid(root, speakers: list[str] | None = None) -> list[Utterance]:
    """All GRID utterances under ``root`` (any accepted layout), sorted by (speaker, utt)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"GRID corpus folder not found: {root}")
    out = []
    for spk in speakers or grid_speakers(root):
        video = _first_nonempty([root / spk / "video" / "mpg_6000", root / spk / "video",
                                 root / spk, root / "video" / spk], VIDEO_EXTS)
        if not video:
            continue                  # e.g. GRID s21 has no video
        audio = _first_nonempty([root / spk / "audio", root / "audio_25k" / spk,
                                 root / "audio_50k" / spk, root / "audio" / spk, root / spk], AUDIO_EXTS)
        align = _first_nonempty([root / spk / "align", root / "alignments" / spk / "align",
                                 root / "alignments" / spk, root / "align" / spk], (".align",))
        meta = _files(root / spk / "meta", (".npz",))
        for utt in sorted(video):
            out.append(Utterance(speaker=spk, utt=utt, video=video[utt], audio=audio.get(utt, video[utt]),
                                 align=align.get(utt), sidecar=meta.get(utt), group=spk, corpus="grid"))
    if not out:
        raise FileNotFoundError(f"no GRID videos found under {root} (expected s<N>/video/<utt>.mp4, "
                                f"s<N>/<utt>.mpg or video/s<N>/<utt>.mpg; see lmg_lib/data/readers.py)")
    return out


def read_lrw(root, splits=LRW_SPLITS, words: list[str] | None = None) -> list[Utterance]:
    """All LRW clips under ``root`` (``lipread_mp4`` or its parent), sorted by (word, split, id)."""
    root = Path(root)
    if (root / "lipread_mp4").is_dir():
        root = root / "lipread_mp4"
    if not root.is_dir():
        raise FileNotFoundError(f"LRW folder not found: {root}")
    out = []
    for word in words or sorted(p.name for p in root.iterdir() if p.is_dir()):
        for split in splits:
            for utt, v in _files(root / word / split, (".mp4",)).items():
                txt = v.with_suffix(".txt")
                out.append(Utterance(speaker=f"{split}_{utt}", utt=utt, video=v, audio=v,
                                     align=txt if txt.exists() else None, group=f"{word}/{split}",
                                     split=split, corpus="lrw"))
    if not out:
        raise FileNotFoundError(f"no LRW videos found under {root} "
                                f"(expected lipread_mp4/<WORD>/{{train,val,test}}/<WORD>_<nnnnn>.mp4)")
    return out


def read_corpus(root, layout: str = "grid") -> list[Utterance]:
    """Dispatch on ``layout`` ("grid" -- also the embedded corpus -- or "lrw")."""
    readers = {"grid": read_grid, "lrw": read_lrw}
    if layout not in readers:
        raise ValueError(f"unknown layout {layout!r}; choose one of {sorted(readers)}")
    return readers[layout](root)


def check_unique(utts) -> None:
    """Raise if two utterances share a (speaker, utt) key."""
    seen = set()
    for u in utts:
        if u.key in seen:
            raise ValueError(f"duplicate utterance key {u.key}: {u.video}")
        seen.add(u.key)
