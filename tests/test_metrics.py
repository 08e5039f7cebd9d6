"""Tests of lmg_lib.eval: metrics, av_sync, the protocol (evaluate) and lip_landmarks (fast, CPU only)."""
import importlib.util

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, gaussian_filter1d
from skimage import data

from lmg_lib.eval import metrics as M
from lmg_lib.eval.av_sync import (AUTHORS_GRID_DELAY_HISTOGRAM, AUTHORS_GRID_DELAY_HISTOGRAM_15,
                                  authors_histogram_in_our_convention, av_offset, best_lag_histogram)
from lmg_lib.eval.lip_landmarks import (LipLandmarkRegressor, landmark_error, load_landmark_regressor,
                                        save_landmark_regressor, synthetic_mouths, train_landmark_regressor)
from lmg_lib.eval.protocol import evaluate, mean_ci, summarize

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------- PSNR / SSIM
def test_psnr_known_noise_and_uint8_is_float():
    x = RNG.integers(10, 246, (4, 32, 32)).astype(np.uint8)
    d = 5
    y = (x.astype(int) + d * RNG.choice([-1, 1], x.shape)).astype(np.uint8)    # MSE = d^2 exactly
    expected = 20 * np.log10(255 / d)
    assert M.psnr(x, y) == pytest.approx(expected, abs=1e-9)
    assert M.psnr(x, y) == M.psnr(x.astype(float), y.astype(float), data_range=255)
    assert M.psnr_video(x, y) == pytest.approx(expected)
    assert M.psnr_video(x, y, reduction="pooled") == pytest.approx(expected)
    assert M.psnr(x, x) == 100.0 and M.psnr(x, x, cap=None) == np.inf
    with pytest.raises(ValueError):
        M.psnr(x.astype(float), y.astype(float))       # float input needs data_range


def test_psnr_frame_mean_vs_pooled():
    x = np.zeros((3, 8, 8))
    y = x + np.array([1.0, 5.0, 30.0])[:, None, None]
    assert M.psnr_video(x, y, 255, "frame_mean") == pytest.approx(33.6, abs=0.05)
    assert M.psnr_video(x, y, 255, "pooled") == pytest.approx(23.2, abs=0.05)


def test_legacy_uint8_psnr_wraps():
    a = RNG.integers(0, 256, (64, 64)).astype(np.uint8)
    b = RNG.integers(0, 256, (64, 64)).astype(np.uint8)
    assert M.psnr(a, b) < 9.0                                # true value ~7.8 dB
    assert 27.0 < M.legacy_uint8_psnr(a, b) < 29.5            # the authors' defect: ~28 dB
    black, white = np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)
    assert M.psnr(black, white) == pytest.approx(0.0)
    assert M.legacy_uint8_psnr(black, white) == pytest.approx(48.13, abs=0.01)   # (0-255)^2 -> 1
    for _ in range(20):                                       # floor 10 log10(255) = 24.07 dB
        c = RNG.integers(0, 256, (16, 16)).astype(np.uint8)
        assert M.legacy_uint8_psnr(c, c ^ RNG.integers(0, 256, c.shape).astype(np.uint8)) >= 24.06


def test_ssim():
    img = data.camera()[::4, ::4]
    assert M.ssim(img, img) == pytest.approx(1.0)
    rgb = data.astronaut()[::4, ::4]
    assert M.ssim(rgb, rgb, gray=False) == pytest.approx(1.0)
    noisy = np.clip(rgb + RNG.normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)
    assert 0 < M.ssim(rgb, noisy) < 1 and 0 < M.ssim(rgb, noisy, gray=False) < 1
    f = rgb.astype(float) / 127.5 - 1
    assert M.ssim(f, f + 0.01, data_range=2.0) < 1
    v = np.stack([rgb, noisy])
    assert M.ssim_video(v, v) == pytest.approx(1.0)


# ----------------------------------------------------------------- CPBD
def test_cpbd_pinned_camera():
    cam = data.camera()
    assert M.cpbd(cam) == pytest.approx(0.748166, abs=1e-6)          # PyPI cpbd 1.0.7 value
    blurred = gaussian_filter(cam.astype(float), 2)
    assert M.cpbd(blurred) < 0.1 < M.cpbd(cam)
    assert M.cpbd(cam, variant="authors") == pytest.approx(0.331137, abs=1e-6)
    assert M.cpbd(blurred, variant="authors") < M.cpbd(cam, variant="authors")


def test_cpbd_small_and_lip_frames():
    assert M.cpbd(data.camera()[:63, :63]) == 0.0                    # no whole 64x64 block
    assert M.cpbd(np.full((64, 64), 128, np.uint8)) == 0.0           # flat: no edge block
    frames, _ = synthetic_mouths(4, seed=3)
    sharp = M.cpbd_video(frames)
    soft = M.cpbd_video(np.stack([gaussian_filter(f.astype(float), (0.7, 0.7, 0)) for f in frames]))
    assert 0 <= soft < sharp <= 1 and sharp > 0.3     # CPBD is harsh at 64 px: sigma >= 1.5 gives 0
    # the pixel range is explicit: a 0..1 image scores as its 0..255 version, a dark frame is scored
    cam = data.camera()
    assert M.cpbd(cam / 255.0, data_range=1.0) == pytest.approx(M.cpbd(cam.astype(float)), abs=1e-9)
    dark = (cam // 64).astype(np.float64)                          # 0..3: used to be refused
    assert M.cpbd(dark) == M.cpbd(dark.astype(np.uint8)) and 0 <= M.cpbd(dark) <= 1
    with pytest.raises(ValueError):
        M.cpbd(cam, data_range=0)


@pytest.mark.skipif(importlib.util.find_spec("cpbd") is None, reason="PyPI cpbd not installed")
def test_cpbd_matches_package():
    import scipy.ndimage
    if not hasattr(scipy.ndimage, "imread"):
        scipy.ndimage.imread = None                                 # import shim (cpbd 1.0.7)
    import cpbd
    imgs = [data.coins(), data.camera()[100:228, 50:242], gaussian_filter(data.moon(), 1.0),
            synthetic_mouths(1, seed=5)[0][0] @ np.array([0.299, 0.587, 0.114])]
    for im in imgs:
        assert M.cpbd(im) == pytest.approx(cpbd.compute(im), abs=1e-9)


# ----------------------------------------------------------------- LMD
def test_lmd():
    lm = RNG.uniform(10, 50, (5, 20, 2))
    assert M.lmd(lm, lm).value == 0.0
    assert M.lmd(lm, lm + np.array([3.0, -7.0])).value == pytest.approx(0.0, abs=1e-12)   # translation
    fake = lm + RNG.normal(0, 1, lm.shape)
    mean, total = M.lmd(lm, fake), M.lmd(lm, fake, reduce="sum")
    assert total.value == pytest.approx(20 * mean.value)
    w = M.mouth_width(lm)
    assert M.lmd(lm, fake, normalize="mouth_width").value == pytest.approx(np.mean(mean.per_frame / w))
    fake[1, 3] = np.nan
    lm2 = lm.copy()
    lm2[4] = np.nan
    r = M.lmd(lm2, fake)
    assert (r.n_frames, r.n_failed) == (5, 2)
    assert np.isnan(r.per_frame[[1, 4]]).all()
    assert r.value == pytest.approx(np.mean(mean.per_frame[[0, 2, 3]]))
    assert np.isnan(M.lmd(lm2[4:], fake[4:]).value)


# ----------------------------------------------------------------- AV offset
def _sync_pair(k, n=75, seed=0, margin=10):
    """Mouth frames whose opening follows an envelope, and an LMS whose energy follows the same
    envelope k frames later (lips lead the audio by k)."""
    rng = np.random.default_rng(seed)
    e = gaussian_filter1d(rng.random(n + 2 * margin), 1.5)
    e = (e - e.min()) / (e.max() - e.min())
    ev, ea = e[margin:margin + n], e[margin - k:margin - k + n]
    frames, _ = synthetic_mouths(n, openings=14 * ev, seed=seed)
    lms = np.repeat(-1 + 1.5 * ea, 4)[:, None] + 0.02 * rng.standard_normal((4 * n, 128))
    return frames, lms.astype(np.float32)


@pytest.mark.parametrize("k", [-4, 0, 3, 6])
def test_av_offset_recovers_shift(k):
    frames, lms = _sync_pair(k, seed=k + 10)
    r = av_offset(frames, lms, max_lag=8)
    assert r.lag == k
    assert r.corr > 0.6 and r.confidence > 0.3
    assert len(r.lags) == 17


def test_histograms():
    for h, n in ((AUTHORS_GRID_DELAY_HISTOGRAM, 17), (AUTHORS_GRID_DELAY_HISTOGRAM_15, 31)):
        assert len(h["counts"]) == len(h["lags"]) == n and sum(h["counts"]) == 3260
    ours = authors_histogram_in_our_convention()
    assert ours["lags"] == list(range(-8, 9)) and ours["counts"][0] == 203
    h = best_lag_histogram([0, 0, 3, -8, 9], max_lag=8)
    assert h["counts"][8] == 2 and h["counts"][11] == 1 and sum(h["counts"]) == 4


# ----------------------------------------------------------------- evaluate
def _tiny_dataset(n=4, S=64):
    items = []
    for i in range(n):
        frames, lms = synthetic_mouths(16, seed=100 + i, openings=np.linspace(0, 12, 16))
        video = frames.transpose(3, 0, 1, 2).astype(np.float32) / 127.5 - 1
        items.append({"lms": np.full((1, 64, 128), 0.1 * i, np.float32), "ref": video[:, 0].copy(),
                      "video": video, "landmarks": lms, "speaker": f"s{1 + i % 2}",
                      "utterance": f"u{i // 2}", "clip": i % 2})
    return items


def _model(lms, ref):
    """Deterministic toy generator: the reference frame repeated, darkened by the audio level."""
    return (ref[:, :, None].repeat(1, 1, 16, 1, 1) - lms.mean(dim=(1, 2, 3))[:, None, None, None, None]).clamp(-1, 1)


def _detect(frames):
    """Toy detector: a fixed shape centred on the dark pixels; frame 0 always fails (NaN)."""
    g = frames.mean(-1)
    out = np.zeros((len(frames), 20, 2))
    for i, f in enumerate(g):
        ys, xs = np.nonzero(f < f.mean())
        out[i] = np.stack([np.linspace(-10, 10, 20) + xs.mean(), np.sin(np.arange(20)) * 4 + ys.mean()], 1)
    out[0] = np.nan
    return out


def test_evaluate_table_and_determinism():
    ds = _tiny_dataset()
    s1, per_clip = evaluate(_model, ds, detect=_detect, return_per_clip=True)
    s2 = evaluate(_model, ds, detect=_detect)
    import pandas as pd
    pd.testing.assert_frame_equal(s1, s2)
    assert list(s1.columns) == ["group", "metric", "n", "mean", "ci_low", "ci_high", "n_failed_frames"]
    assert list(s1["group"].unique()) == ["s1", "s2", "all"]
    assert set(s1["metric"]) == {"psnr", "ssim", "cpbd", "cpbd_real", "lmd"}
    lmd_all = s1[(s1.group == "all") & (s1.metric == "lmd")].iloc[0]
    assert lmd_all.n_failed_frames == len(ds)               # frame 0 fails in every clip: counted once
    assert len(per_clip) == len(ds)
    row = s1[(s1.group == "all") & (s1.metric == "psnr")].iloc[0]
    assert row.ci_low < row["mean"] < row.ci_high
    # precomputed videos (sequence or dict) give the same table; the real video scores perfectly
    fakes = [_model(torch.from_numpy(d["lms"][None]), torch.from_numpy(d["ref"][None]))[0].numpy() for d in ds]
    pd.testing.assert_frame_equal(evaluate(fakes, ds, detect=_detect), s1)
    perfect = evaluate({(d["speaker"], d["utterance"], d["clip"]): d["video"] for d in ds}, ds)
    p = perfect.set_index(["group", "metric"])["mean"]
    assert p[("all", "psnr")] == 100.0 and p[("all", "ssim")] == pytest.approx(1.0)
    boot = summarize(per_clip, ci="bootstrap", seed=1)
    pd.testing.assert_frame_equal(boot, summarize(per_clip, ci="bootstrap", seed=1))
    b = boot.set_index(["group", "metric"]).loc[("all", "psnr")]
    assert b.ci_low < b["mean"] < b.ci_high and b["mean"] == row["mean"]


def test_mean_ci():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, np.nan])
    assert m == 2.0 and lo == pytest.approx(2 - 4.302653 / np.sqrt(3)) and hi > 3
    assert np.isnan(mean_ci([1.0])[1])


# ----------------------------------------------------------------- landmark regressor
def test_landmark_regressor_learns_synthetic_mouths(tmp_path):
    torch.set_num_threads(1)
    train, val = synthetic_mouths(600, seed=1), synthetic_mouths(100, seed=2)
    baseline = landmark_error(np.broadcast_to(train[1].mean(0), val[1].shape), val[1])
    model, err = train_landmark_regressor(train, val, steps=100, batch_size=16, lr=5e-3, seed=0)
    assert err["mean_px"] < 0.5 * baseline["mean_px"]
    assert err["mean_px"] < 2.5
    out = model.detect(val[0][:3])
    assert out.shape == (3, 20, 2) and out.dtype == np.float32
    save_landmark_regressor(model, tmp_path / "lm.pt", err)
    m2 = load_landmark_regressor(tmp_path / "lm.pt")
    assert np.allclose(m2.detect(val[0][:3]), out, atol=1e-5) and m2.error == err
    assert isinstance(m2, LipLandmarkRegressor)


def test_evaluate_streams_batches():
    """evaluate holds one batch of clips at a time: the model sees batch k before clip k+1's batch is
    read (the old code read the whole test set first; GRID's has ~7k clips, LRW's ~25k)."""
    from lmg_lib.config import tiny
    from lmg_lib.data.dataset import SyntheticClipDataset
    base = SyntheticClipDataset(10, tiny())
    seen, calls = [], []

    class Spy(torch.utils.data.Dataset):
        def __len__(self):
            return len(base)

        def __getitem__(self, i):
            seen.append(i)
            return base[i]

    def model(lms, ref):
        calls.append(len(seen))
        return ref[:, :, None].expand(-1, -1, 16, -1, -1).clone()
    summary = evaluate(model, Spy(), batch_size=4)
    assert calls == [4, 8, 10] and int(summary[summary.group == "all"]["n"].iloc[0]) == 10
