"""The embedded corpus: speech timing, lag, renderer, layout, determinism (tiny corpus from conftest)."""
import json
import os

import numpy as np
import pytest
import soundfile as sf

from lmg_lib.corpus import build as C
from lmg_lib.corpus import grammar as G
from lmg_lib.corpus import render as R
from lmg_lib.util import video_io as VI
from lmg_lib.corpus import visemes as V
from lmg_lib.corpus.speech import Voice, synthesize
from lmg_lib.util.grid_layout import parse_align


def utterances(root):
    """[(speaker, utt, paths)] of every utterance listed in corpus.json."""
    man = json.loads((root / "corpus.json").read_text())
    return [(s, u, C.utterance_paths(root, s, u)) for s, d in man["speakers"].items()
            for u in d["utterances"]]


def load_meta(path):
    z = np.load(path)
    phonemes = list(zip(z["phonemes"].tolist(), z["phoneme_start"].tolist(), z["phoneme_end"].tolist()))
    return z, phonemes


def pixel_opening(frames):
    """Mouth opening measured from pixels alone: pixels of the dark cavity (luma < 0.25 x the
    frame's median, i.e. the skin) plus the grey teeth (low chroma, not dark). (T,) counts."""
    f = frames.astype(np.float32)
    luma = f @ np.array([0.299, 0.587, 0.114], np.float32)                 # (T, H, W)
    med = np.median(luma.reshape(len(f), -1), 1)[:, None, None]
    chroma = (f.max(-1) - f.min(-1)) / np.maximum(f.max(-1), 1)
    mouth = (luma < 0.25 * med) | ((chroma < 0.2) & (luma > 0.5 * med))
    return mouth.sum((1, 2))


# ------------------------------------------------------------------------------ grammar, speech
def test_grid_ids_roundtrip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        w = G.random_sentence(rng)
        assert G.parse_id(G.utterance_id(w)) == w
    assert G.utterance_id(("bin", "blue", "at", "f", "two", "now")) == "bbaf2n"
    assert "w" not in G.LETTERS and len(G.LETTERS) == 25
    with pytest.raises(ValueError):
        G.parse_id("xxxxxx")


def test_speech_words_and_unknown_voice():
    sp = synthesize(G.speakable(("place", "red", "at", "a", "nine", "please")), Voice("en-us+f2"))
    assert sp.sample_rate == 16000 and sp.audio.dtype == np.float32 and len(sp.words) == 6
    starts = [s for _, s, _ in sp.phonemes]
    assert starts == sorted(starts) and all(e > s for _, s, e in sp.phonemes)
    with pytest.raises(ValueError, match="unknown espeak voice"):
        synthesize("hello", Voice("xx-nonexistent"))


def test_phoneme_events_line_up_with_audio(tiny_corpus_dir):
    """Speech onset (first 5 ms window above -40 dB of the peak) is within 15 ms of the first
    non-silence phoneme event."""
    for _, _, p in utterances(tiny_corpus_dir):
        y, sr = sf.read(p["audio"], dtype="float32")
        _, ph = load_meta(p["meta"])
        first = next(s for name, s, _ in ph if name != "_")
        env = np.sqrt(np.convolve(y ** 2, np.ones(80) / 80, "same"))
        onset = int(np.argmax(env > env.max() * 10 ** (-40 / 20)))
        assert abs(onset - first) / sr <= 0.015, (p["audio"], onset, first)


# ------------------------------------------------------------------------------ motion and lag
def test_bilabials_close_and_motion_is_smooth():
    ph = [("_", 0, 4000), ("m", 4000, 5200), ("A:", 5200, 8000), ("p", 8000, 9000),
          ("u:", 9000, 12000), ("_", 12000, 16000)]
    t = np.arange(0, 1.0, 0.001)
    traj = V.trajectory(ph, t)                                             # (T, 5)
    assert traj[int(4600 / 16), 0] < 0.1 and traj[int(8500 / 16), 0] < 0.1   # lips closed
    assert traj[int(6600 / 16), 0] > 0.6 and traj[int(10500 / 16), 2] > 0.6  # open "ah", round "oo"
    assert np.abs(np.diff(traj, axis=0)).max() < 0.05                       # no steps (per ms)
    # anticipation: rounding for "u:" starts rising before the segment begins
    assert traj[int(8800 / 16), 2] > traj[int(7000 / 16), 2] + 0.05


def test_stored_lag_is_the_lag_in_the_motion(tiny_corpus_dir):
    """Re-derive the trajectory from the phoneme timing at candidate lags: the best match with the
    landmark opening is the stored lag; and lag_frames is its rounding."""
    lags = np.arange(0, 301, 1.0)
    for _, _, p in utterances(tiny_corpus_dir):
        z, ph = load_meta(p["meta"])
        lm = z["landmarks"]
        opening = lm[:, 18, 1] - lm[:, 14, 1]                               # inner lip gap 66 - 62
        r = [np.corrcoef(V.mouth_parameters(ph, len(lm), lag)[:, 0], opening)[0, 1] for lag in lags]
        assert abs(lags[int(np.argmax(r))] - float(z["lag_ms"])) <= 2.0
        assert max(r) > 0.99
        assert 0 <= z["lag_ms"] <= 200 and int(z["lag_frames"]) == round(float(z["lag_ms"]) / 40)


def test_lips_lead_audio_envelope(tiny_corpus_dir):
    """Independent of the viseme model: the mouth opening correlates best with the audio envelope
    shifted by about the stored lag (lips first). Checked on the pooled utterances."""
    errs = []
    for _, _, p in utterances(tiny_corpus_dir):
        z, _ = load_meta(p["meta"])
        y, sr = sf.read(p["audio"], dtype="float32")
        lm = z["landmarks"]
        opening = lm[:, 18, 1] - lm[:, 14, 1]
        env = np.sqrt(np.convolve(y ** 2, np.ones(400) / 400, "same"))      # 25 ms RMS
        best = max(range(0, 301, 10), key=lambda lag: np.corrcoef(
            opening, np.interp(V.frame_times(len(lm)) + lag / 1000, np.arange(len(y)) / sr, env))[0, 1])
        errs.append(best - float(z["lag_ms"]))
    assert abs(np.median(errs)) <= 60, errs


# ------------------------------------------------------------------------------ renderer
def test_pixels_follow_landmarks(tiny_corpus_dir):
    """Opening measured from decoded pixels tracks the landmark opening (Pearson r > 0.8)."""
    for _, _, p in utterances(tiny_corpus_dir):
        z, _ = load_meta(p["meta"])
        lm = z["landmarks"]
        frames = VI.read_frames(p["video"])
        r = np.corrcoef(pixel_opening(frames), lm[:, 18, 1] - lm[:, 14, 1])[0, 1]
        assert r > 0.8, (p["video"], r)


def test_landmarks_match_drawn_geometry():
    """The cavity pixels lie inside the inner landmark polygon, the lips inside the outer one."""
    import cv2
    look = R.SpeakerLook()
    frame, lm = R.Renderer(look, 128)(np.array([0.7, 0.5, 0.1, 0.0, 0.0]))
    inner = np.zeros((128, 128), np.uint8)
    cv2.fillPoly(inner, [np.round(lm[12:] * 16).astype(np.int32)], 1, shift=4)
    dark = (frame.astype(float) @ [0.299, 0.587, 0.114]) < 40
    assert dark.sum() > 50 and (dark & (inner == 0)).sum() < 0.1 * dark.sum()
    outer = np.zeros((128, 128), np.uint8)
    cv2.fillPoly(outer, [np.round(lm[:12] * 16).astype(np.int32)], 1, shift=4)
    changed = np.abs(frame.astype(float) - R.Renderer(look, 128)(np.array([0.7, 0.5, 0.1, 0, 0]))[0])
    assert lm.shape == (20, 2) and outer.sum() > inner.sum() > 0
    assert changed.max() == 0                                               # no noise without rng


def test_at_least_30_distinct_speakers():
    speakers = C.make_speakers(C.CorpusConfig())
    assert len(speakers) == 32
    neutral = np.array([0.4, 0.5, 0.1, 0.5, 0.2])
    frames = np.array([R.Renderer(s["look"], 64)(neutral)[0] for s in speakers], np.float32)
    d = np.abs(frames[:, None] - frames[None]).mean((2, 3, 4))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 3.0                                                    # mean abs difference
    assert len({s["voice"] for s in speakers}) == 32


# ------------------------------------------------------------------------------ files
def test_layout_align_and_video(tiny_corpus_dir):
    man = json.loads((tiny_corpus_dir / "corpus.json").read_text())
    assert man["seed"] == 0 and len(man["speakers"]) == 4
    for spk, utt, p in utterances(tiny_corpus_dir):
        assert all(f.is_file() for f in p.values()), p
        y, sr = sf.read(p["audio"], dtype="float32")
        assert sr == 16000 and len(y) % 640 == 0
        al = parse_align(p["align"])                                    # the GRID reader's parser
        assert al[0].word == "sil" and al[-1].word == "sil" and len(al) == 8
        assert G.utterance_id(tuple(w.word for w in al[1:-1])) == utt
        assert all(a.end == b.start for a, b in zip(al, al[1:]))
        assert round(al[-1].end * 25000) == len(y) * 25000 // sr
        z, _ = load_meta(p["meta"])
        T = len(y) // 640
        assert z["landmarks"].shape == (T, 20, 2) and z["landmarks"].dtype == np.float32
        info = VI.probe(p["video"])
        assert info["n_frames"] == T and info["has_audio"] and info["fps"] == 25.0
        assert info["width"] == info["height"] == 64
    frames = VI.read_frames(p["video"])
    assert frames.shape == (T, 64, 64, 3)
    audio = VI.read_audio(p["video"], n_samples=len(y))
    assert np.corrcoef(np.abs(audio), np.abs(y))[0, 1] > 0.5


def test_deterministic(tiny_corpus_dir, tmp_path):
    """Same seed -> same wav bytes and same frames (before encoding), independent of the run."""
    cfg = C.CorpusConfig(n_speakers=4, utterances_per_speaker=3, n_workers=1)
    spk = C.make_speakers(cfg)[1]
    words = C.make_script(cfg, 1)[0]
    job = (tmp_path, cfg, 1, spk, words)
    C._build_one(job)
    utt = G.utterance_id(words)
    a, b = C.utterance_paths(tiny_corpus_dir, "s2", utt), C.utterance_paths(tmp_path, "s2", utt)
    assert a["audio"].read_bytes() == b["audio"].read_bytes()
    assert a["align"].read_text() == b["align"].read_text()
    assert np.array_equal(np.load(a["meta"])["landmarks"], np.load(b["meta"])["landmarks"])
    rng1, rng2 = (np.random.default_rng(7) for _ in range(2))
    u1 = C.synthesize_utterance(words, spk["voice"], spk["look"], cfg, rng1)
    u2 = C.synthesize_utterance(words, spk["voice"], spk["look"], cfg, rng2)
    assert np.array_equal(u1["frames"], u2["frames"]) and np.array_equal(u1["audio"], u2["audio"])
    assert C.corpus_manifest(cfg) == C.corpus_manifest(cfg)


def test_rerun_skips_and_config_mismatch(tiny_corpus_dir):
    mtimes = {f: f.stat().st_mtime_ns for f in tiny_corpus_dir.rglob("*") if f.is_file()}
    C.tiny_corpus(tiny_corpus_dir)
    assert {f: f.stat().st_mtime_ns for f in tiny_corpus_dir.rglob("*") if f.is_file()} == mtimes
    with pytest.raises(ValueError, match="another configuration"):
        C.build_corpus(tiny_corpus_dir, C.CorpusConfig(n_speakers=5, utterances_per_speaker=3),
                       progress=False)


def test_video_errors_and_atomic_write(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VI.VideoError):
        VI.read_frames(bad)
    with pytest.raises(VI.VideoError, match="not found"):
        VI.read_frames(tmp_path / "missing.mp4")
    with pytest.raises(VI.VideoError):
        VI.write_video(tmp_path / "x.mp4", np.zeros((3, 8, 8), np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["bad.mp4"]                   # no temp files left
