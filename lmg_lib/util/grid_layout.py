"""The GRID word-alignment file (``<utt>.align``): the contract between the corpus that writes it
(``corpus/build.py``) and the readers of real and embedded GRID (``data/readers.py``).

One "start end word" line per segment, times in 1/25000 s (1000 units per 40 ms video frame),
``sil`` at both ends; the layout of the corpus folders is in docs/CONTRACTS.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

GRID_ALIGN_UNITS_PER_SECOND = 25000     # GRID .align times are in 1/25000 s (1000 per video frame)


class AlignWord(NamedTuple):
    start: float                 # seconds
    end: float                   # seconds
    word: str

    def frames(self, fps: int = 25) -> tuple[int, int]:
        """[first, last) video frames covered by the word."""
        return int(round(self.start * fps)), int(round(self.end * fps))


def parse_align(path) -> list[AlignWord]:
    """Parse a GRID ``.align`` file ("start end word" per line, times in 1/25000 s)."""
    words = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ValueError(f"{path}:{n}: expected 'start end word', got {line!r}")
        try:
            s, e = int(parts[0]), int(parts[1])
        except ValueError:
            raise ValueError(f"{path}:{n}: start/end must be integers, got {line!r}") from None
        if e < s:
            raise ValueError(f"{path}:{n}: end {e} before start {s}")
        words.append(AlignWord(s / GRID_ALIGN_UNITS_PER_SECOND, e / GRID_ALIGN_UNITS_PER_SECOND, parts[2]))
    return words


def align_text(words, n_samples: int, sample_rate: int = 16000) -> str:
    """GRID .align text: "start end word" lines in 1/25000 s, sil at both ends, words contiguous."""
    u = lambda s: int(round(s * GRID_ALIGN_UNITS_PER_SECOND / sample_rate))
    lines = [(0, u(words[0][1]), "sil")]
    for k, (w, s, e) in enumerate(words):
        end = words[k + 1][1] if k + 1 < len(words) else e
        lines.append((u(s), u(end), w))
    lines.append((u(words[-1][2]), u(n_samples), "sil"))
    return "".join(f"{a} {b} {w}\n" for a, b, w in lines)
