"""The real-data path on a corpus in GRID's on-disk layout without ground truth (docs/DATA.md, section 8).

A fixture (``data/grid_fixture.py``: rendered mouths blended into a real face photo, written as
``s<N>/video/mpg_6000/*.mpg``, ``audio_25k``, ``alignments``; no sidecar, no corpus.json) goes
through notebooks 1 and 2 executed with papermill on ``params/grid_fixture.yaml`` (notebook 1's dlib
preprocessing included), then through the functions notebook 6's real-data cells call. The truth
the fixture knows (every frame's mouth) is kept outside the corpus and checks dlib's landmarks.
About 45 s on 2 cores.
"""
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lmg_lib.data.crop import to_crop_coords
from lmg_lib.data.grid_fixture import FixtureConfig, build_grid_fixture
from lmg_lib.data.readers import read_grid
from lmg_lib.data.shards import load_shard
from lmg_lib.eval.dlib_lmd import LandmarkDomainWarning, PastedFaceDlib, check_domain, is_embedded_dataset
from lmg_lib.eval.lip_landmarks import landmark_error

ROOT = Path(__file__).resolve().parent.parent
SPEAKERS = ("s1", "s2")                      # of the tiny embedded corpus; s2 is the test speaker


def tree_digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def opening(lm):                              # (N, 20, 2) -> inner-lip gap of points 62 / 66
    return np.linalg.norm(lm[:, 18] - lm[:, 14], axis=1)


@pytest.fixture(scope="module")
def fixture(tiny_corpus_dir, tmp_path_factory):
    return build_grid_fixture(tiny_corpus_dir, tmp_path_factory.mktemp("grid") / "grid_fixture",
                              FixtureConfig(speakers=SPEAKERS))


@pytest.fixture(scope="module")
def run(fixture, tmp_path_factory):
    """Notebooks 1 and 2 on the fixture via tools/run_notebooks.py, as docs/DATA.md says."""
    tmp = tmp_path_factory.mktemp("run")
    params = yaml.safe_load((ROOT / "params" / "grid_fixture.yaml").read_text())
    params["01_data_preparation"]["CORPUS_PATH"] = str(fixture.root)
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    figures_before = tree_digest(ROOT / "figures")
    env = dict(os.environ, LMG_ARTEFACTS=str(tmp / "artefacts"), PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ else [])))
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--params", str(tmp / "params.yaml"),
                        "--only", "01", "02", "--out", str(tmp / "executed"), "--timeout", "300"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return dict(artefacts=tmp / "artefacts", executed=tmp / "executed", stdout=r.stdout,
                figures_before=figures_before)


def outputs(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    return "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


def test_the_fixture_is_grid_s_layout_without_ground_truth(fixture, tiny_corpus_dir):
    from lmg_lib.util.grid_layout import parse_align
    from lmg_lib.util.video_io import probe
    import soundfile as sf
    root = fixture.root
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert len(files) == 3 * 6 and not any(f.endswith((".npz", ".json")) for f in files), files
    utts = read_grid(root)
    assert [u.key for u in utts] == fixture.utterances and all(u.sidecar is None for u in utts)
    for u in utts:
        assert u.video.relative_to(root).parts == (u.speaker, "video", "mpg_6000", f"{u.utt}.mpg")
        assert u.audio.relative_to(root).parts == ("audio_25k", u.speaker, f"{u.utt}.wav")
        assert sf.info(str(u.audio)).samplerate == 25000
        assert parse_align(u.align)[0].word == "sil"
        p = probe(u.video)
        assert (p["width"], p["height"], p["fps"], p["has_audio"]) == (360, 288, 25.0, True)
    # deterministic: the first utterance built again gives the same bytes
    again = build_grid_fixture(tiny_corpus_dir, root.parent / "again", FixtureConfig(speakers=SPEAKERS[:1], utterances=1))
    spk, utt = again.utterances[0]
    for rel in (f"{spk}/video/mpg_6000/{utt}.mpg", f"audio_25k/{spk}/{utt}.wav"):
        assert (root / rel).read_bytes() == (again.root / rel).read_bytes(), rel


def test_notebooks_1_and_2_run_and_leave_the_committed_figures_alone(run):
    art = run["artefacts"]
    assert tree_digest(ROOT / "figures") == run["figures_before"], "a real-data run wrote into figures/"
    made = {p.name for p in (art / "figures").iterdir()}
    assert {"data_utterance.png", "data_training_example.png", "delay_histograms.png", "delay_mean_curves.png"} <= made
    assert not made & {"data_sample_strip.png", "data_speakers.png", "delay_recovered_vs_injected.png"}, made
    assert json.loads((art / "source.json").read_text())["built"] is False
    nb1 = outputs(run["executed"] / "01_data_preparation.ipynb")
    assert "exercise 1 needs the embedded corpus" in nb1 and "checks passed" in nb1
    nb2 = outputs(run["executed"] / "02_av_delay_analysis.ipynb")
    assert "(no known lag)" in nb2 and "checks passed" in nb2
    lags = pd.read_csv(art / "delay" / "best_lags.csv")
    assert len(lags) == 6 and lags["true_lag"].isna().all() and lags["|flux|"].abs().le(8).all()


def test_dlib_finds_every_face_and_follows_the_mouth(run, fixture):
    manifest = json.loads((run["artefacts"] / "dataset" / "manifest.json").read_text())
    assert manifest["settings"]["backend"] == "dlib" and not manifest["skipped"]
    assert manifest["stats"]["failed_frames"] == 0 and manifest["stats"]["shards"] == 6
    assert not is_embedded_dataset(manifest)
    for name, sh in manifest["shards"].items():
        s = load_shard(run["artefacts"] / "dataset" / "shards" / name)
        truth = fixture.mouth[(sh["speaker"], sh["utterance"])][:len(s["frames"])]
        truth = to_crop_coords(truth, s["box"].astype(np.int64), 64)       # the known mouth, crop px
        err = landmark_error(s["landmarks"], truth)
        assert err["mean_pct_mouth_width"] < 8, (name, err)                # measured: 4-5 %
        assert np.corrcoef(opening(s["landmarks"]), opening(truth))[0, 1] > 0.85, name   # measured: 0.96-0.98


def test_notebook_6_on_real_data_uses_dlib_and_warns_for_the_regressor(run, fixture, monkeypatch):
    from lmg_lib.eval import av_sync
    from lmg_lib.data.audio import log_mel_spectrogram
    from lmg_lib.notebook import data_source, figure_path, lip_frames, lmd_landmarks, open_dataset
    from lmg_lib.util.audio_io import load_audio
    monkeypatch.setenv("LMG_ARTEFACTS", str(run["artefacts"]))
    test = open_dataset("test")
    assert figure_path("x.png").parent == run["artefacts"] / "figures"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                    # auto: dlib, no warning
        detect = lmd_landmarks(test, "auto")
    assert isinstance(detect, PastedFaceDlib)
    with pytest.warns(LandmarkDomainWarning, match="outside its training domain"):
        lmd_landmarks(test, "regressor")
    # dlib on the crops pasted into a face finds the mouth of every frame of a test clip
    d = test[0]
    crops = ((d["video"].permute(1, 2, 3, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    lm = detect.detect(crops)
    assert not np.isnan(lm).any()
    assert landmark_error(lm, d["landmarks"].numpy())["mean_pct_mouth_width"] < 10
    # section 6: the AV-offset estimator on notebook 1's lip crops of the corpus it recorded
    src = data_source()
    assert src["corpus"] == fixture.root.resolve() and not src["embedded"]
    u = next(x for x in read_grid(src["corpus"]) if x.speaker == SPEAKERS[1])
    frames = lip_frames(u.speaker, u.utt)
    assert frames.shape[1:] == (64, 64, 3)
    r = av_sync.av_offset(frames, log_mel_spectrogram(load_audio(u.audio), n_frames=len(frames)))
    assert abs(r.lag) <= 8


def test_check_domain_warns_only_outside_the_embedded_corpus():
    embedded = {"shards": {"s1/a.npz": {"lag_ms": 80.0}, "s1/b.npz": {"lag_ms": 40.0}}}
    real = {"shards": {"s1/a.npz": {"lag_ms": None}}, "corpus": "/data/GRID", "settings": {"backend": "dlib"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_domain(embedded) is True
    with pytest.warns(LandmarkDomainWarning, match="/data/GRID"):
        assert check_domain(real) is False
    assert not is_embedded_dataset({"shards": {}})


def test_make_grid_fixture_refuses_unknown_speakers(tmp_path, capsys):
    sys.path.insert(0, str(ROOT))
    from tools.make_grid_fixture import main
    assert main(["--out", str(tmp_path / "g"), "--speakers", "s1,s99"]) == 2
    assert "s99" in capsys.readouterr().err and not (tmp_path / "g").exists()
