"""The photographic corpus style (lmg_lib/corpus/photo.py): opt-in, same ground truth as the rendered
style, a different and deterministic look, and the default corpus unchanged."""
import json

import numpy as np
import pytest

from lmg_lib.corpus import build as C
from lmg_lib.corpus import grammar as G


def _utterance(style: str, speaker: int = 1):
    cfg = C.CorpusConfig(n_speakers=4, utterances_per_speaker=1, style=style)
    spk = C.make_speakers(cfg)[speaker]
    words = C.make_script(cfg, speaker)[0]
    key = int.from_bytes(G.utterance_id(words).encode(), "little")
    return C.synthesize_utterance(words, spk["voice"], spk["look"], cfg, np.random.default_rng([0, 3, speaker, key]),
                                  photo=spk.get("photo"), camera_rng=np.random.default_rng([0, 5, speaker, key]))


@pytest.fixture(scope="module")
def pair():
    return _utterance("rendered"), _utterance("photo")


def test_photo_style_keeps_the_ground_truth(pair):
    rendered, photo = pair
    for k in ("audio", "landmarks", "params"):
        np.testing.assert_array_equal(rendered[k], photo[k])
    assert rendered["lag_ms"] == photo["lag_ms"] and rendered["phonemes"] == photo["phonemes"]
    diff = np.abs(rendered["frames"].astype(int) - photo["frames"].astype(int)).mean()
    assert diff > 3, f"the photo style barely changes the frames ({diff:.2f} levels)"


def test_photo_style_is_deterministic(pair):
    np.testing.assert_array_equal(pair[1]["frames"], _utterance("photo")["frames"])


def test_photo_style_adds_skin_texture(pair):
    """Fine texture on the skin (top rows, away from the lips): the high-pass energy of the photo
    style's skin is well above the rendered style's, whose skin is smooth shading plus sensor noise."""
    import cv2
    def grain(frames):
        f = frames[:, :12].astype(np.float32).mean(-1)
        return float(np.mean([np.abs(x - cv2.GaussianBlur(x, (0, 0), 2.0)).mean() for x in f]))
    rendered, photo = pair
    assert grain(photo["frames"]) > 1.2 * grain(rendered["frames"])


def test_default_style_writes_the_same_corpus_json_and_bad_styles_fail():
    assert "style" not in C.CorpusConfig().to_json_dict()
    assert C.CorpusConfig(style="photo").to_json_dict()["style"] == "photo"
    with pytest.raises(ValueError, match="unknown corpus style"):
        C.CorpusConfig(style="cartoon")
    m = C.corpus_manifest(C.CorpusConfig(n_speakers=2, utterances_per_speaker=1, style="photo"))
    assert all("photo_look" in s for s in m["speakers"].values())
    assert all("photo_look" not in s for s in C.corpus_manifest(C.CorpusConfig(n_speakers=2, utterances_per_speaker=1))["speakers"].values())


def test_cli_builds_a_photo_corpus(tmp_path):
    from lmg_lib.cli import main
    out = tmp_path / "photo"
    assert main(["corpus", "--out", str(out), "--speakers", "1", "--utterances", "1", "--workers", "1",
                 "--style", "photo", "--quiet"]) == 0
    assert json.loads((out / "corpus.json").read_text())["config"]["style"] == "photo"
    assert len(list(out.glob("s1/video/*.mp4"))) == 1
