"""Readers, landmark backends, preprocessing and the clip dataset (fixtures in conftest.py)."""
import json
import shutil

import numpy as np
import pytest

from lmg_lib.data.audio import clip_lms, log_mel_spectrogram
from lmg_lib.data.dataset import LipClipDataset
from lmg_lib.data.landmarks import LandmarkError, get_backend
from lmg_lib.data.preprocess import assign_splits, clip_starts, preprocess
from lmg_lib.data.readers import Utterance, read_grid, read_lrw
from lmg_lib.data.shards import ShardError
from lmg_lib.util.audio_io import load_audio
from lmg_lib.util.grid_layout import parse_align

from conftest import PP_SPEAKERS, PP_UTTS, pp_opening

QUIET = dict(progress=False, log=lambda *a: None)


# ------------------------------------------------------------------------------------ readers
def test_align_parser(tmp_path):
    p = tmp_path / "bbaf2n.align"
    p.write_text("0 23750 sil\n23750 29500 bin\n29500 34000 blue\n\n72000 74500 sil\n")
    words = parse_align(p)
    assert [w.word for w in words] == ["sil", "bin", "blue", "sil"]
    assert words[1].start == pytest.approx(0.95) and words[1].end == pytest.approx(1.18)
    assert words[1].frames() == (24, 30)                 # 1000 units per 40 ms frame
    p.write_text("0 23750\n")
    with pytest.raises(ValueError, match="bbaf2n.align:1"):
        parse_align(p)


def test_grid_raw_layouts_and_lrw(tmp_path):
    def touch(rel):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    g = tmp_path / "grid"
    for rel in ["s2/bbaf2n.mpg", "s2/bwaz1a.mpg", "audio_25k/s2/bbaf2n.wav", "alignments/s2/align/bbaf2n.align",
                "s10/video/mpg_6000/bbaf2n.mpg", "s10/align/bbaf2n.align", "s21/readme.txt"]:
        touch("grid/" + rel)
    utts = read_grid(g)
    assert [u.key for u in utts] == [("s2", "bbaf2n"), ("s2", "bwaz1a"), ("s10", "bbaf2n")]   # sorted, no s21
    assert utts[0].audio.name == "bbaf2n.wav" and utts[0].align is not None
    assert utts[1].audio == utts[1].video and utts[1].align is None                # audio from the video
    assert utts[2].audio == utts[2].video and utts[2].align.parent.name == "align"
    for rel in ["ABOUT/train/ABOUT_00001.mp4", "ABOUT/train/ABOUT_00001.txt", "ABOUT/test/ABOUT_00001.mp4"]:
        touch("lrw/lipread_mp4/" + rel)
    lrw = read_lrw(tmp_path / "lrw")
    assert len({u.key for u in lrw}) == 2 and {u.split for u in lrw} == {"train", "test"}


# ---------------------------------------------------------------------------------- landmarks
def test_dlib_finds_mouth_on_real_face():
    from skimage import data
    img = data.astronaut()                                  # (512, 512, 3) a real frontal face
    backend = get_backend("dlib")
    lm = backend.detect(img[None])                          # (1, 20, 2)
    assert lm.shape == (1, 20, 2) and not np.isnan(lm).any()
    l, t, r, b = backend.last_face_boxes[0]
    m = lm[0]
    assert (m[:, 0] > l).all() and (m[:, 0] < r).all()
    assert (m[:, 1] > t + 0.55 * (b - t)).all() and (m[:, 1] < b + 0.15 * (b - t)).all()   # lower face
    width = m[:, 0].max() - m[:, 0].min()
    assert 0.3 < width / (r - l) < 0.7                      # mouth about half the face width
    assert m[0, 0] < m[6, 0]                                # left corner (48) left of right corner (54)


def test_backend_errors():
    with pytest.raises(ValueError, match="available"):
        get_backend("nope")
    with pytest.raises(LandmarkError, match="sidecar"):
        get_backend("groundtruth").detect(np.zeros((2, 8, 8, 3), np.uint8), None)
    try:
        get_backend("face_alignment")
    except LandmarkError as e:                              # absent package or weights: clear message
        assert "face-alignment" in str(e) or "download" in str(e)


# ------------------------------------------------------------------------- preprocess + dataset
def test_clip_starts():
    assert list(clip_starts(75)) == [0, 8, 16, 24, 32, 40, 48, 56]
    for n in (15, 16, 23, 24, 35, 40, 75):
        assert len(clip_starts(n)) == (max(0, (n - 16) // 8 + 1) if n >= 16 else 0)


def test_roundtrip_counts_and_shapes(preprocessed_grid, grid_folder):
    m = json.loads((preprocessed_grid / "manifest.json").read_text())
    assert not m["skipped"] and len(m["shards"]) == len(PP_SPEAKERS) * len(PP_UTTS)
    for rec in m["shards"].values():
        n = PP_UTTS[rec["utterance"]]
        assert rec["n_frames"] == n and rec["n_clips"] == (n - 16) // 8 + 1 and rec["failed_frames"] == 0
        assert len(rec["sha256"]) == 64 and rec["bytes"] > 0
    assert len(m["clips"]) == sum(r["n_clips"] for r in m["shards"].values())

    ds = LipClipDataset(preprocessed_grid, "train")
    S = 32
    for i in range(len(ds)):
        x = ds[i]
        assert x["lms"].shape == (1, 64, 128) and x["video"].shape == (3, 16, S, S)
        assert x["ref"].shape == (3, S, S) and x["mismatch"].shape == (3, 16, S, S)
        assert x["landmarks"].shape == (16, 20, 2) and bool(x["landmarks_valid"].all())
        for k in ("lms", "video", "ref", "mismatch"):
            assert x[k].dtype.is_floating_point and x[k].min() >= -1 and x[k].max() <= 1
        lm = x["landmarks"].numpy()
        assert (lm >= 0).all() and (lm <= S - 1).all()                # inside the crop
        width = lm[:, :, 0].max(1) - lm[:, :, 0].min(1)
        assert np.allclose(width, S / 1.3, atol=2)                    # box side = 1.3 * mouth width
        assert x["lag_ms"] == 40.0 * PP_SPEAKERS.index(x["speaker"])

    # the crop really follows the mouth: the dark inner mouth grows with the drawn opening and is
    # centred on the inner-lip landmarks
    x = ds[0]
    phase = PP_SPEAKERS.index(x["speaker"]) + 2.0 * list(PP_UTTS).index(x["utterance"])
    open_ = np.array([pp_opening(x["start_frame"] + t, phase) for t in range(16)])
    dark = (x["video"].mean(0) < -0.7).numpy()                       # (16, S, S) inner mouth
    assert np.corrcoef(open_, dark.sum((1, 2)))[0, 1] > 0.9
    yy, xx = np.mgrid[:S, :S]
    for t in np.flatnonzero(open_ > 4):
        centroid = np.array([xx[dark[t]].mean(), yy[dark[t]].mean()])
        assert np.abs(centroid - x["landmarks"][t, 12:].mean(0).numpy()).max() < 1.5

    # the audio window is clip_lms of the whole-utterance LMS
    y = load_audio(grid_folder / x["speaker"] / "audio" / f"{x['utterance']}.wav")
    want = clip_lms(log_mel_spectrogram(y, n_frames=PP_UTTS[x["utterance"]]), x["start_frame"])
    assert np.allclose(x["lms"].numpy(), want, atol=1e-5)


def test_dataset_deterministic_ref_and_mismatch(preprocessed_grid):
    ds = LipClipDataset(preprocessed_grid, "train", seed=3)
    for i in range(len(ds)):
        a, b = ds[i], ds[i]
        assert all(torch_equal(a[k], b[k]) for k in ("ref", "mismatch", "video"))
        assert (a["mismatch_speaker"], a["mismatch_utterance"]) != (a["speaker"], a["utterance"])
        assert a["ref_utterance"] != a["utterance"]                  # another utterance, same speaker
        assert not torch_equal(a["mismatch"], a["video"])
    same = LipClipDataset(preprocessed_grid, "train", ref="utterance", mismatch="any")
    for i in range(len(same)):
        x = same[i]
        assert x["ref_utterance"] == x["utterance"]
        assert (x["mismatch_speaker"], x["mismatch_utterance"]) != (x["speaker"], x["utterance"])


def torch_equal(a, b):
    import torch
    return bool(torch.equal(a, b))


def test_splits_speaker_disjoint(preprocessed_grid):
    m = json.loads((preprocessed_grid / "manifest.json").read_text())
    sets = {k: set(m["splits"][k]) for k in ("train", "val", "test")}
    assert sets["train"] and sets["val"] and sets["test"]
    assert not (sets["train"] & sets["val"] or sets["train"] & sets["test"] or sets["val"] & sets["test"])
    assert set().union(*sets.values()) == set(PP_SPEAKERS) and sets["test"] == {"s4"}
    for k in ("train", "val", "test"):
        assert {c["speaker"] for c in LipClipDataset(preprocessed_grid, k).clips} == sets[k]
    # real GRID: s33 held out (as the authors); LRW: official split
    grid = [Utterance(f"s{i}", "u", None, None) for i in range(1, 35) if i != 21]
    split, desc = assign_splits(grid)
    assert desc["rule"] == "paper" and desc["test"] == ["s33"] and "s34" in desc["val"]
    lrw = [Utterance(f"{s}_A_1", "A_1", None, None, split=s) for s in ("train", "val", "test")]
    assert assign_splits(lrw)[0] == {"train_A_1": "train", "val_A_1": "val", "test_A_1": "test"}


def test_rerun_skips_and_rebuilds(preprocessed_grid, grid_folder, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(preprocessed_grid, out)
    before = {p: p.stat().st_mtime_ns for p in (out / "shards").rglob("*.npz")}
    m = preprocess(grid_folder, out, backend="groundtruth", size=32, **QUIET)
    assert m["stats"]["processed_now"] == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "shards").rglob("*.npz")} == before
    victim = sorted(before)[0]
    victim.write_bytes(victim.read_bytes()[:-100])                  # truncated -> rebuilt
    m = preprocess(grid_folder, out, backend="groundtruth", size=32, **QUIET)
    assert m["stats"]["processed_now"] == 1 and len(m["stats"]["rebuilt"]) == 1
    LipClipDataset(out, "train", verify="full")


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_shard_raises(preprocessed_grid, tmp_path, damage):
    out = tmp_path / "out"
    shutil.copytree(preprocessed_grid, out)
    LipClipDataset(out, "train")                                     # first open: hashes, writes marker
    m = json.loads((out / "manifest.json").read_text())
    name = next(k for k, v in m["shards"].items() if v["split"] == "train")
    path = out / "shards" / name
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2:len(raw) // 2 + 16] = bytes(b ^ 0xFF for b in raw[len(raw) // 2:len(raw) // 2 + 16])
    else:
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))
    with pytest.raises(ShardError, match=name.split("/")[-1]):
        LipClipDataset(out, "train")                                 # "auto": changed file is re-hashed
    if damage == "truncate":                                         # even the unhashed path refuses it
        ds = LipClipDataset(out, "train", verify="none")
        with pytest.raises(ShardError, match=name.split("/")[-1]):
            for i in range(len(ds)):
                ds[i]


def test_dlib_backend_through_preprocess(tmp_path):
    """A real face (astronaut) moving a few pixels per frame, through the dlib backend."""
    import cv2
    import soundfile as sf
    from skimage import data
    from lmg_lib.util.video_io import write_video
    img = data.astronaut()[40:296, 96:352]                            # (256, 256, 3) face + context
    d = tmp_path / "corpus" / "s1"
    (d / "video").mkdir(parents=True)
    (d / "audio").mkdir()
    n = 17
    sf.write(d / "audio" / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(n * 640), 16000)
    frames = [cv2.warpAffine(img, np.float32([[1, 0, 3 * np.sin(t / 3)], [0, 1, 2 * np.cos(t / 4)]]),
                             (256, 256), borderMode=cv2.BORDER_REPLICATE) for t in range(n)]
    write_video(d / "video" / "a.mp4", np.stack(frames))
    m = preprocess(tmp_path / "corpus", tmp_path / "out", backend="dlib", size=64, **QUIET)
    rec = next(iter(m["shards"].values()))
    assert rec["n_frames"] == n and rec["n_clips"] == 1 and rec["failed_frames"] == 0
    assert rec["lag_ms"] is None and m["clips"][0]["lag_ms"] is None
    with np.load(tmp_path / "out" / "shards" / "s1" / "a.npz") as z:
        lm = z["landmarks"]
    assert (lm >= 0).all() and (lm <= 63).all()
    width = lm[:, :, 0].max(1) - lm[:, :, 0].min(1)
    assert 0.5 * 64 / 1.3 < np.median(width) <= 64 / 1.3 + 1


def test_tiny_embedded_corpus_end_to_end(tiny_corpus_dir, tmp_path):
    m = preprocess(tiny_corpus_dir, tmp_path / "out", backend="groundtruth", **QUIET)
    assert not m["skipped"] and m["stats"]["failed_frames"] == 0
    for rec in m["shards"].values():
        assert rec["n_clips"] == (rec["n_frames"] - 16) // 8 + 1 and rec["lag_ms"] is not None
    splits = {k: set(v) for k, v in m["splits"].items() if k in ("train", "val", "test")}
    assert not (splits["train"] & splits["test"]) and splits["train"]
    ds = LipClipDataset(tmp_path / "out", "train")
    x = ds[0]
    S = m["config"]["model"]["image_size"]
    assert x["video"].shape == (3, 16, S, S) and x["lms"].shape == (1, 64, 128)
    assert (x["landmarks"] >= -0.5).all() and (x["landmarks"] <= S - 0.5).all()
