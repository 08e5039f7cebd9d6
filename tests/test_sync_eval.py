"""Sync evidence: opening, correlation, shuffled pairs, the average mouth, the ceiling, the rule."""
import numpy as np
import pandas as pd
import pytest

from lmg_lib.eval.sync import average_mouth, follows_speech, mouth_opening, opening_ceiling, opening_r, pearson, shuffled_pairs
from lmg_lib.eval.protocol import mouth_box


def mouths(openings, cx=32.0, cy=32.0):
    from tests.conftest import pp_mouth_points
    return np.stack([pp_mouth_points(cx, cy, o) for o in openings]).astype(np.float64)


def test_mouth_opening_measures_the_inner_gap():
    o = np.array([0.0, 2.0, 6.0, 10.0])
    got = mouth_opening(mouths(o))
    # inner points at 45/90/135 degrees of an ellipse of half-height o/2: gaps o sin(45), o, o sin(45)
    np.testing.assert_allclose(got, o * (1 + 2 * np.sin(np.pi / 4)) / 3, atol=1e-5)


def test_opening_r_follows_motion_not_position():
    t = np.arange(16)
    real = mouths(5 + 4 * np.sin(t / 2))
    assert opening_r(mouths(3 + 2 * np.sin(t / 2), cx=20), real) == pytest.approx(1.0, abs=1e-6)
    assert opening_r(mouths(5 - 4 * np.sin(t / 2)), real) == pytest.approx(-1.0, abs=1e-6)
    assert opening_r(mouths(np.full(16, 5.0)), real) == 0.0          # a still mouth follows nothing
    assert np.isnan(opening_r(real, mouths(np.full(16, 5.0))))       # nothing to follow: not scored
    assert np.isnan(pearson([1, 2, np.nan], [1, 2, 3]))


def test_shifted_r_finds_a_late_mouth_and_the_parabola_its_fraction_of_a_frame():
    from lmg_lib.eval.sync import peak_shift, shifted_r
    rng = np.random.default_rng(0)
    real = np.convolve(rng.normal(size=80), np.hanning(5), "same")
    late = np.r_[real[:2], real[:-2]]                       # the generated mouth two frames behind
    rs = [shifted_r(late, real, s) for s in range(-4, 5)]
    assert int(np.argmax(rs)) - 4 == -2 and rs[2] == pytest.approx(1.0)       # fake[t] = real[t - 2]
    assert shifted_r(real, late, 2) == pytest.approx(1.0)   # and the other way round: early by two
    # a symmetric parabola's top lies between its two highest points, weighted by them
    x, r = peak_shift([-1, 0, 1], [0.7, 0.8, 0.5])
    assert -1 < x < 0 and r > 0.8
    assert peak_shift([-1, 0, 1], [0.6, 0.8, 0.6]) == pytest.approx((0.0, 0.8))
    assert peak_shift([0, 1, 2], [0.9, 0.5, 0.1]) == (0.0, 0.9)                # best at an edge: itself


def test_shuffled_pairs_never_pair_an_utterance_with_itself():
    spk = ["a"] * 5 + ["b"] * 4 + ["c"] * 2
    utt = ["u1", "u1", "u2", "u3", "u3", "v1", "v1", "v2", "v2", "w1", "w1"]
    p = shuffled_pairs(spk, utt, seed=3)
    for i, j in enumerate(p):
        assert utt[j] != utt[i]
        assert spk[j] == spk[i] or spk[i] == "c"      # same speaker when it has another utterance
    assert (p == shuffled_pairs(spk, utt, seed=3)).all()
    with pytest.raises(ValueError):
        shuffled_pairs(["a", "a"], ["u", "u"])


def test_average_mouth_leaves_the_utterance_out():
    lm = {("a", "u1"): mouths([2.0] * 4), ("a", "u2"): mouths([8.0] * 4), ("b", "v1"): mouths([4.0] * 3)}
    avg = average_mouth(lm)
    np.testing.assert_allclose(mouth_opening(avg[("a", "u1")]), mouth_opening(mouths([8.0]))[0], atol=1e-5)
    np.testing.assert_allclose(mouth_opening(avg[("a", "u2")]), mouth_opening(mouths([2.0]))[0], atol=1e-5)
    np.testing.assert_allclose(avg[("b", "v1")].mean(0), 0, atol=1e-9)     # centred


def test_landmark_baselines_group_clips_by_utterance():
    from lmg_lib.eval.protocol import landmark_baselines, landmarks_by_utterance
    t = np.arange(16)
    items = [dict(speaker="a", utterance="u1", clip=0, landmarks=mouths(2 + np.sin(t))),
             dict(speaker="a", utterance="u1", clip=1, landmarks=mouths(2 + np.cos(t))),
             dict(speaker="a", utterance="u2", clip=0, landmarks=mouths(np.full(16, 8.0)))]
    lm = landmarks_by_utterance(items)
    assert set(lm) == {("a", "u1"), ("a", "u2")} and lm[("a", "u1")].shape == (32, 20, 2)
    np.testing.assert_allclose(lm[("a", "u1")][16:], items[1]["landmarks"])          # clip order kept
    base = landmark_baselines(items)
    # u2's constant mouth is compared with u1's mean (leave-one-utterance-out), so it is not 0
    assert base.lmd_average_mouth.iloc[2] > 0.5
    assert base.lmd_average_mouth.tolist() == landmark_baselines(items, lm).lmd_average_mouth.tolist()


def test_mouth_box_covers_every_frame():
    lm = np.stack([mouths([4.0], cx=20)[0], mouths([4.0], cx=40)[0]])
    rows, cols = mouth_box(lm, 64, margin=2)
    assert cols.start <= int(lm[..., 0].min()) - 2 + 1 and cols.stop >= int(lm[..., 0].max()) + 2
    assert 0 <= rows.start < rows.stop <= 64


def test_follows_speech_needs_separated_intervals():
    s = pd.DataFrame({"metric": ["lmd", "lmd_shuffled"], "mean": [1.0, 2.0],
                      "ci_low": [0.9, 1.8], "ci_high": [1.1, 2.2]})
    a = pd.DataFrame({"metric": ["lmd_average_mouth"], "mean": [1.5], "ci_low": [1.4], "ci_high": [1.6]})
    assert follows_speech(s, a) == {"vs_shuffled": True, "vs_average_mouth": True, "follows": True}
    a2 = a.assign(ci_low=[1.05])
    assert follows_speech(s, a2)["follows"] is False


def test_ceiling_is_high_but_below_one(tiny_corpus_dir):
    """The best audio-only predictor on the embedded corpus: clearly correlated, never perfect
    (the per-utterance lag is unknown to it); told each utterance's true lag it does better."""
    import json
    from lmg_lib.corpus.ceiling import audio_only_clips
    man = json.loads((tiny_corpus_dir / "corpus.json").read_text())
    clips = []
    for s, d in man["speakers"].items():
        for u in d["utterances"]:
            n = len(np.load(tiny_corpus_dir / s / "meta" / f"{u}.npz")["landmarks"])
            clips += [{"speaker": s, "utterance": u, "start_frame": k} for k in range(0, n - 15, 8)]
    r = opening_ceiling(audio_only_clips(tiny_corpus_dir, clips))
    assert 0.5 < np.nanmean(r) < 0.97


def test_paper_tables_are_the_transcribed_numbers():
    from lmg_lib.eval.paper import table2, table3
    t2 = table2().set_index("variant")
    assert t2.loc["e", "LMD"] == 1.18 and t2["LMD"].idxmin() == "e"          # full model best LMD
    assert t2["SSIM"].idxmax() == "b" and t2.loc["b", "CPBD"] == 0.006       # L1 only: blur
    assert t2.loc["e", "PSNR"] == 29.98
    g = table3("GRID").set_index("method")
    assert g.loc["full model", "PSNR"] == 29.89 and g.loc["Chung", "SSIM"] == 0.74
    assert len(table3()) == 12


def _ar1(n, phi, rng):
    x = np.zeros(n)
    e = rng.normal(size=n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def test_pearson_block_ci_covers_true_r_where_an_iid_bootstrap_does_not():
    """Two autocorrelated curves (AR(1), phi 0.8, 89 frames: one real-photo sentence) sharing half
    their variance (true r 0.5): the moving-block interval covers 0.5 in most draws; with blocks
    of one frame (an iid bootstrap) it is too narrow and misses far more often."""
    from lmg_lib.eval.sync import pearson_block_ci
    rng = np.random.default_rng(1)
    hit_block = hit_iid = 0
    for k in range(120):
        z = _ar1(89, 0.8, rng)
        a, b = z + _ar1(89, 0.8, rng), z + _ar1(89, 0.8, rng)
        lo, hi = pearson_block_ci(a, b, 12, seed=k)
        hit_block += lo <= 0.5 <= hi
        lo, hi = pearson_block_ci(a, b, 1, seed=k)
        hit_iid += lo <= 0.5 <= hi
    assert hit_block / 120 >= 0.8
    assert hit_block - hit_iid >= 0.1 * 120
    lo, hi = pearson_block_ci(np.arange(30.0), np.arange(30.0) ** 2, 12)
    assert 0.9 < lo <= hi <= 1.0                            # a monotone pair: r near 1 in every resample
    assert np.isnan(pearson_block_ci(np.arange(10.0), np.arange(10.0), 12)[0])   # too short for two blocks
