"""The GRID corpus grammar (Cooke et al. 2006): command colour preposition letter digit adverb.

Example: "bin blue at f two now", utterance id "bbaf2n" (first letter of every word, the digit as
its numeral). 4 * 4 * 4 * 25 * 10 * 4 = 64,000 sentences.
"""
from __future__ import annotations

import numpy as np

COMMANDS = ("bin", "lay", "place", "set")
COLOURS = ("blue", "green", "red", "white")
PREPOSITIONS = ("at", "by", "in", "with")
LETTERS = tuple(c for c in "abcdefghijklmnopqrstuvwxyz" if c != "w")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ADVERBS = ("again", "now", "please", "soon")
SLOTS = (COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS)

# how each letter is given to espeak: a bare "a" is read as the article, so spell it as phonemes
_LETTER_TEXT = {"a": "[['eI]]"}


def utterance_id(words: tuple[str, ...]) -> str:
    """("bin", "blue", "at", "f", "two", "now") -> "bbaf2n"."""
    if len(words) != 6:
        raise ValueError(f"a GRID sentence has 6 words, got {words}")
    return "".join(str(DIGITS.index(w)) if i == 4 else w[0] for i, w in enumerate(words))


def parse_id(utt: str) -> tuple[str, ...]:
    """"bbaf2n" -> ("bin", "blue", "at", "f", "two", "now") (inverse of ``utterance_id``)."""
    if len(utt) != 6:
        raise ValueError(f"GRID utterance ids have 6 characters, got {utt!r}")
    out = []
    for i, (c, slot) in enumerate(zip(utt, SLOTS)):
        match = [DIGITS[int(c)]] if i == 4 and c.isdigit() else [w for w in slot if w[0] == c]
        if len(match) != 1:
            raise ValueError(f"{utt!r}: no GRID word for {c!r} in slot {i}")
        out.append(match[0])
    return tuple(out)


def random_sentence(rng: np.random.Generator) -> tuple[str, ...]:
    """One sentence drawn uniformly from the grammar."""
    return tuple(slot[rng.integers(len(slot))] for slot in SLOTS)


def speakable(words: tuple[str, ...]) -> str:
    """The text given to the synthesiser (letters spelt so they are spoken as letter names)."""
    return " ".join(_LETTER_TEXT.get(w, w) if i == 3 else w for i, w in enumerate(words))
