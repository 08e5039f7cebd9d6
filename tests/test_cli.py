"""The front door: `lmg corpus | preprocess | train | evaluate | info` (`lmg generate` has its own
file), each failing with ONE line on stderr and its documented exit code, and leaving no output."""
import csv
import subprocess
import sys

import pytest

from lmg_lib import cli
from lmg_lib.cli import main as lmg


def _run(capsys, *argv):
    rc = lmg([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_error_line(err: str, fragment: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("lmg: error:") and fragment in lines[0], err
    assert "Traceback" not in err


def test_corpus_command_and_its_errors(tmp_path, capsys):
    out = tmp_path / "corpus"
    rc, stdout, err = _run(capsys, "corpus", "--out", out, "--speakers", 1, "--utterances", 1, "--workers", 1,
                           "--quiet", "--strip", tmp_path / "strip.png")
    assert rc == 0, err
    assert "1 utterances" in stdout and (tmp_path / "strip.png").stat().st_size > 0
    assert len(list(out.glob("s1/video/*.mp4"))) == 1 and (out / "corpus.json").exists()
    # the same folder with another configuration: refused, nothing changed
    rc, _, err = _run(capsys, "corpus", "--out", out, "--speakers", 1, "--utterances", 1, "--seed", 5, "--quiet")
    assert rc == cli.EXIT_OUTPUT
    _one_error_line(err, "another configuration")
    rc, _, err = _run(capsys, "corpus", "--out", out, "--speakers", 0)
    assert rc == cli.EXIT_USAGE
    _one_error_line(err, "--speakers")


def test_preprocess_command_and_its_errors(grid_folder, tmp_path, capsys):
    rc, _, err = _run(capsys, "preprocess", "--corpus", grid_folder, "--out", tmp_path / "prep", "--size", 32,
                      "--no-progress")
    assert rc == 0, err
    assert (tmp_path / "prep" / "manifest.json").exists()
    rc, _, err = _run(capsys, "preprocess", "--corpus", tmp_path / "nothere", "--out", tmp_path / "p2")
    assert rc == cli.EXIT_DATA
    _one_error_line(err, "not found")
    rc, _, err = _run(capsys, "preprocess", "--corpus", grid_folder, "--out", tmp_path / "p3", "--size", 32,
                      "--test-speakers", "s99", "--no-progress")
    assert rc == cli.EXIT_USAGE
    _one_error_line(err, "s99")


def test_train_overrides_go_through_make_config(tmp_path, capsys):
    rc, _, err = _run(capsys, "train", "--config", "tiny", "--data", "synthetic:4", "--out", tmp_path / "a",
                      "--set", "train.stepz=3")
    assert rc == cli.EXIT_USAGE
    _one_error_line(err, "unknown configuration key 'train.stepz'")
    rc, _, err = _run(capsys, "train", "--config", "tiny", "--data", "synthetic:4", "--out", tmp_path / "b",
                      "--set", "train.steps=1", "--set", "train.batch_size=2", "--set", "train.lr=1e-3",
                      "--variant", "l1", "--device", "cpu", "--no-progress")
    assert rc == 0, err
    import json
    saved = json.loads((tmp_path / "b" / "config.json").read_text())["config"]
    assert saved["train"]["steps"] == 1 and saved["train"]["lr"] == 1e-3
    rc, _, err = _run(capsys, "train", "--config", "tiny", "--data", tmp_path / "nodata", "--out", tmp_path / "c")
    assert rc == cli.EXIT_DATA
    _one_error_line(err, "manifest.json")
    assert not (tmp_path / "c").exists()


def test_evaluate_command(preprocessed_grid, tmp_path, capsys):
    out = tmp_path / "table.csv"
    rc, stdout, err = _run(capsys, "evaluate", "--data", preprocessed_grid, "--static", "--detector", "none",
                           "--unit", "clip", "--out", out)
    assert rc == 0, err
    rows = list(csv.DictReader(open(out)))
    assert {r["model"] for r in rows} == {"static"} and {r["metric"] for r in rows} >= {"psnr", "ssim", "lmd"}
    assert "psnr" in stdout
    # the shipped 64 px generator cannot be evaluated on 32 px clips: a checkpoint/data mismatch
    rc, _, err = _run(capsys, "evaluate", "--data", preprocessed_grid, "--detector", "none")
    assert rc == cli.EXIT_CHECKPOINT
    _one_error_line(err, "32 px")
    # one loader for every network: a baseline checkpoint evaluates like a generator checkpoint
    import torch
    from lmg_lib.config import make_config
    from lmg_lib.train.baselines import Speech2VidBaseline
    from lmg_lib.train.checkpoints import export_network
    cfg = make_config("tiny", {"model.image_size": 32})
    torch.manual_seed(0)
    export_network(Speech2VidBaseline(cfg.model), cfg, tmp_path / "s2v.safetensors")
    rc, stdout, err = _run(capsys, "evaluate", "--data", preprocessed_grid, "--checkpoint", tmp_path / "s2v.safetensors",
                           "--detector", "none", "--max-clips", 4)
    assert rc == 0 and "psnr" in stdout, err
    rc, _, err = _run(capsys, "evaluate", "--data", tmp_path / "nothere", "--static")
    assert rc == cli.EXIT_DATA
    _one_error_line(err, "manifest.json")


def test_usage_errors_are_one_line(capsys):
    rc, _, err = _run(capsys, "train", "--config", "tiny")
    assert rc == cli.EXIT_USAGE
    _one_error_line(err, "--data")
    rc, _, err = _run(capsys, "info", "--presets", "huge")
    assert rc == cli.EXIT_USAGE
    _one_error_line(err, "unknown config preset")


def test_python_dash_m_lmg_lib_is_the_same_command():
    p = subprocess.run([sys.executable, "-m", "lmg_lib", "info", "--presets", "tiny"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0 and "[tiny]" in p.stdout, p.stderr
