"""Evaluation: the paper's metrics and protocol (section 4.2), and its audio-visual delay analysis.

    metrics.py       PSNR, SSIM, CPBD and LMD on frames (plus the authors' uint8 PSNR, for pitfalls)
    protocol.py      evaluate(): per-clip metrics of generated videos, per-speaker and overall, with CIs
    lip_landmarks.py the lip-landmark regressor that measures LMD on generated 64x64 frames
    av_sync.py       the audio-visual offset of a video (the authors' delay analysis)
    frames.py        precomputed videos (the audio-only ceiling's) cut into the test clips, scored like a model
    results.py       the shipped results table and targets; records.py the facts its text reads
"""
from .protocol import evaluate, summarize

__all__ = ["evaluate", "summarize"]
