"""The audio-only ceiling as frames (corpus/ceiling.py, eval/frames.py): rendered with each
speaker's look and the corpus's own nuisance draws, cropped like the real clips, scored like a model.
On the tiny corpus (4 speakers x 3 sentences; the test split is s4)."""
import json
import shutil

import numpy as np
import pytest

from lmg_lib.corpus.ceiling import RenderedVideos, nuisance_rngs
from lmg_lib.corpus.visemes import mouth_parameters
from lmg_lib.eval.frames import PreparedVideos
from lmg_lib.util.pixels import to_uint8_frames


@pytest.fixture(scope="module")
def tiny_prep(tiny_corpus_dir, tmp_path_factory):
    from lmg_lib.data.preprocess import preprocess
    out = tmp_path_factory.mktemp("tiny_prep")
    preprocess(tiny_corpus_dir, out, backend="groundtruth", progress=False, log=lambda *a, **k: None)
    return out


def true_params(root):
    """The corpus's own mouth parameters (its phonemes at its true lag): what the ceiling may NOT use."""
    def params(spk, utt):
        with np.load(root / spk / "meta" / f"{utt}.npz") as m:
            ph = list(zip(m["phonemes"], m["phoneme_start"], m["phoneme_end"]))
            return mouth_parameters(ph, len(m["landmarks"]), float(m["lag_ms"]), int(m["fps"]), int(m["sample_rate"]))
    return params


def test_true_parameters_reproduce_every_real_test_clip(tiny_corpus_dir, tiny_prep):
    """The render path of the ceiling with the TRUE mouth parameters gives the real clips byte for
    byte: the same look, head motion, flicker, noise, H.264 round trip and crop. So the ceiling's
    frames differ from the real ones by their mouths only."""
    from lmg_lib.data.dataset import LipClipDataset
    test = LipClipDataset(tiny_prep, "test")
    frames = PreparedVideos(tiny_prep, RenderedVideos(tiny_corpus_dir, true_params(tiny_corpus_dir)))
    ceiling = PreparedVideos(tiny_prep, RenderedVideos(tiny_corpus_dir))
    assert len(test) >= 4
    for i in range(len(test)):
        real = to_uint8_frames(test[i]["video"].numpy())
        assert np.array_equal(to_uint8_frames(frames.clip_video(test.clips[i])), real), test.clips[i]
    assert not np.array_equal(to_uint8_frames(ceiling.clip_video(test.clips[0])),
                              to_uint8_frames(test[0]["video"].numpy()))


def test_ceiling_frames_ignore_the_true_mouth(tiny_corpus_dir, tmp_path):
    """The ceiling's frames read the phoneme timing, the look and the nuisance draws only: a copy of
    a sentence whose true lag, mouth parameters and landmarks are scrambled renders the same frames.
    A copy whose audio is another sentence's is refused (its draws cannot be replayed)."""
    man = json.loads((tiny_corpus_dir / "corpus.json").read_text())
    spk = "s2"
    utt, other = man["speakers"][spk]["utterances"][:2]
    (tmp_path / spk).mkdir()
    shutil.copy(tiny_corpus_dir / "corpus.json", tmp_path / "corpus.json")
    for sub in ("meta", "audio"):
        shutil.copytree(tiny_corpus_dir / spk / sub, tmp_path / spk / sub)
    f = tmp_path / spk / "meta" / f"{utt}.npz"
    with np.load(f) as m:
        z = dict(m)
    rng = np.random.default_rng(0)
    z.update(lag_ms=np.float64(z["lag_ms"] + 57.0), mouth_params=rng.uniform(size=z["mouth_params"].shape).astype(np.float32),
             landmarks=rng.uniform(0, 64, z["landmarks"].shape).astype(np.float32))
    np.savez(f, **z)
    a = RenderedVideos(tiny_corpus_dir)(spk, utt)
    assert np.array_equal(a, RenderedVideos(tmp_path)(spk, utt))
    assert not np.array_equal(a, RenderedVideos(tiny_corpus_dir, true_params(tiny_corpus_dir))(spk, utt))
    shutil.copy(tiny_corpus_dir / spk / "audio" / f"{other}.wav", tmp_path / spk / "audio" / f"{utt}.wav")
    with pytest.raises(ValueError, match="cannot be replayed"):
        nuisance_rngs(tmp_path, spk, utt)


def test_ceiling_scored_like_a_model_beats_the_static_reference(tiny_prep, tiny_corpus_dir):
    """Through evaluate_model and the shipped LMD regressor, as a model is scored: the ceiling's
    mouths are closer to the truth than the static reference frame's, follow the speech (opening r),
    and lose that when another sentence's audio drives them (shuffled)."""
    from lmg_lib.data.dataset import LipClipDataset
    from lmg_lib.eval.lip_landmarks import load_landmark_regressor
    from lmg_lib.eval.protocol import evaluate_model
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    test = LipClipDataset(tiny_prep, "test")
    detect = load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt").detect
    ceiling = evaluate_model(PreparedVideos(tiny_prep, RenderedVideos(tiny_corpus_dir)), test, detect)
    static = evaluate_model(lambda lms, ref: ref.unsqueeze(2).repeat(1, 1, 16, 1, 1), test, detect, shuffled=False)
    assert len(ceiling) == len(test) and ceiling.n_failed_frames.sum() == 0
    assert ceiling.lmd.mean() < 0.5 * static.lmd.mean()
    assert ceiling.psnr_mouth.mean() > static.psnr_mouth.mean() + 5
    assert ceiling.opening_r.mean() > 0.5 and ceiling.lmd_shuffled.mean() > ceiling.lmd.mean() + 0.3
