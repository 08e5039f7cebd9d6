"""Shared pytest fixtures (session-scoped, built once)."""
import pytest


@pytest.fixture(scope="session")
def tiny_corpus_dir(tmp_path_factory):
    """A 4-speaker x 3-utterance embedded corpus (lmg_lib.corpus.build.tiny_corpus), built once."""
    from lmg_lib.corpus import tiny_corpus
    return tiny_corpus(tmp_path_factory.mktemp("tiny_corpus"))


# ---------------------------------------------------------------------------------------------
# Preprocessing fixtures (tests/test_preprocess.py imports the helpers below from conftest):
# a small GRID-layout folder drawn with cv2 (a mouth ellipse whose opening we control),
# noise-burst audio and exact landmark sidecars.
import json as _json
from pathlib import Path as _Path

import numpy as _np

PP_SPEAKERS = ("s1", "s2", "s3", "s4")
PP_UTTS = {"bbaf2n": 40, "lgaz8p": 35}          # utterance id -> number of frames
PP_W, PP_H, PP_FPS, PP_SR = 96, 80, 25, 16000


def pp_opening(t: int, phase: float) -> float:
    """Mouth opening (pixels) of frame t: between 1 and 11."""
    return 6.0 + 5.0 * float(_np.sin(2 * _np.pi * t / 10 + phase))


def pp_mouth_points(cx: float, cy: float, opening: float, a: float = 14.0) -> _np.ndarray:
    """20 mouth points in dlib order (48..67): outer left corner, upper lip left->right, right corner,
    lower lip right->left; inner contour likewise. (20, 2) float32 (x, y)."""
    b = opening / 2 + 3
    phi = _np.arange(12) * _np.pi / 6
    outer = _np.stack([cx - a * _np.cos(phi), cy - b * _np.sin(phi)], 1)
    phi = _np.arange(8) * _np.pi / 4
    inner = _np.stack([cx - 0.8 * a * _np.cos(phi), cy - opening / 2 * _np.sin(phi)], 1)
    return _np.concatenate([outer, inner]).astype(_np.float32)


def make_grid_folder(root, speakers=PP_SPEAKERS, utts=None, seed: int = 0) -> _Path:
    """Write a GRID-layout corpus (docs/CONTRACTS.md) with drawn mouths; returns ``root``."""
    import cv2
    import soundfile as sf
    from lmg_lib.util.video_io import write_video
    utts = utts or PP_UTTS
    root, rng = _Path(root), _np.random.default_rng(seed)
    for si, spk in enumerate(speakers):
        for sub in ("video", "audio", "align", "meta"):
            (root / spk / sub).mkdir(parents=True, exist_ok=True)
        skin = tuple(int(v) for v in rng.integers(120, 230, 3))
        for ui, (utt, n) in enumerate(utts.items()):
            phase = si + 2.0 * ui
            cx, cy = 48 + 2 * si, 46 + ui
            frames, lms = [], []
            for t in range(n):
                o = pp_opening(t, phase)
                img = _np.zeros((PP_H, PP_W, 3), _np.uint8)
                img[:] = skin
                c = (int(round(cx)), int(round(cy)))
                cv2.ellipse(img, c, (14, int(round(o / 2 + 3))), 0, 0, 360, (150, 40, 50), -1)
                cv2.ellipse(img, c, (11, max(1, int(round(o / 2)))), 0, 0, 360, (15, 5, 5), -1)
                frames.append(img)
                lms.append(pp_mouth_points(cx, cy, o))
            # audio: noise whose loudness follows the opening of the frame
            env = _np.repeat([pp_opening(t, phase) / 11 for t in range(n)], PP_SR // PP_FPS)
            wav = (0.3 * env * rng.standard_normal(len(env))).astype(_np.float32)
            sf.write(root / spk / "audio" / f"{utt}.wav", wav, PP_SR)
            write_video(root / spk / "video" / f"{utt}.mp4", _np.stack(frames), fps=PP_FPS,
                        audio_path=root / spk / "audio" / f"{utt}.wav")
            (root / spk / "align" / f"{utt}.align").write_text(
                f"0 10000 sil\n10000 {n * 1000 - 5000} word\n{n * 1000 - 5000} {n * 1000} sil\n")
            _np.savez(root / spk / "meta" / f"{utt}.npz", landmarks=_np.stack(lms),
                      lag_ms=_np.float64(40.0 * si), lag_frames=_np.int64(si))
    (root / "corpus.json").write_text(_json.dumps({"test": True, "speakers": list(speakers)}))
    return root


@pytest.fixture(scope="session")
def grid_folder(tmp_path_factory) -> _Path:
    """A 4-speaker x 2-utterance GRID-layout folder (40 and 35 frames, 96x80 px)."""
    return make_grid_folder(tmp_path_factory.mktemp("grid_corpus"))


@pytest.fixture(scope="session")
def preprocessed_grid(grid_folder, tmp_path_factory) -> _Path:
    """``grid_folder`` preprocessed with the ground-truth backend at 32 px (do not modify: copy)."""
    from lmg_lib.data.preprocess import preprocess
    out = tmp_path_factory.mktemp("grid_pre")
    preprocess(grid_folder, out, backend="groundtruth", size=32, progress=False, log=lambda *a: None)
    return out


# ---------------------------------------------------------------------------------------------
# `lmg generate --view face / warp` fixtures (tests/test_paste.py, tests/test_warp.py)
@pytest.fixture(scope="session")
def photo_files(tmp_path_factory) -> _Path:
    """A random-weight tiny generator (tiny.safetensors), 0.9 s of speech in syllable-like bursts
    (speech.wav), the astronaut photo (face.png, and face_odd.png with odd sides) and an 80x80 lip
    crop of it (lip.png)."""
    import skimage.data
    import soundfile as sf
    import torch
    from PIL import Image
    from lmg_lib.config import tiny
    from lmg_lib.model.generator import LipGenerator
    from lmg_lib.train.checkpoints import export_network
    d = tmp_path_factory.mktemp("photo_files")
    torch.manual_seed(0)
    cfg = tiny()
    export_network(LipGenerator(cfg.model).eval(), cfg, d / "tiny.safetensors")
    sr = 16000
    t = _np.arange(int(0.9 * sr)) / sr
    y = _np.clip(_np.sin(2 * _np.pi * 4 * t), 0, None) * _np.sin(2 * _np.pi * 220 * t) * 0.3
    sf.write(d / "speech.wav", y.astype(_np.float32), sr)
    face = skimage.data.astronaut()                                   # 512x512 real frontal face
    Image.fromarray(face).save(d / "face.png")
    Image.fromarray(face[:511, :509]).save(d / "face_odd.png")        # odd sides
    Image.fromarray(face[250:330, 180:260]).save(d / "lip.png")       # an 80x80 lip crop
    return d
