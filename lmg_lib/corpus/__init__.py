"""The embedded corpus: GRID-style talking lips generated offline (the paper trains on GRID, which
cannot be downloaded here), written in GRID's on-disk layout so that real GRID and this corpus go
through the same preprocessing (``lmg_lib.data``).

    grammar.py   the GRID sentence grammar ("bin blue at f two now")
    speech.py    espeak-ng speech with exact phoneme timing
    visemes.py   phonemes -> coarticulated mouth trajectory, lips leading the sound by a known lag
    render.py    mouth parameters + a speaker's look -> lip frames and exact mouth landmarks
    build.py     speakers, scripts and utterances -> the corpus folder (``lmg corpus``)
"""
from .build import CorpusConfig, build_corpus, tiny_corpus

__all__ = ["CorpusConfig", "build_corpus", "tiny_corpus"]
