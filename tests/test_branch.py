"""Branching a run at a checkpoint (``lmg train --branch-from``): the branch must be the run its
settings would have been from step 0, bit for bit on CPU, and anything that acts before D is refused."""
import csv

import pytest
from safetensors.torch import load_file

from lmg_lib.cli import EXIT_USAGE
from lmg_lib.cli import main as lmg
from lmg_lib.config import make_config, tiny
from lmg_lib.train.checkpoints import d_phase_settings

BASE = ["train", "--config", "tiny", "--data", "synthetic:8", "--steps", "6", "--batch-size", "2",
        "--device", "cpu", "--log-every", "1", "--checkpoint-every", "2", "--no-progress",
        "--set", "train.gan_start=4"]


def _losses(path):
    rows = list(csv.DictReader(open(path, newline="")))
    return [{k: v for k, v in r.items() if k != "clips_per_s"} for r in rows]


@pytest.fixture(scope="module")
def trunk(tmp_path_factory):
    """The source run, stopped after step 4 (its checkpoint is at step 4, D not yet trained)."""
    out = tmp_path_factory.mktemp("trunk")
    assert lmg([*BASE, "--out", str(out), "--stop-after", "4"]) == 0
    return out


def test_branch_equals_the_run_from_scratch(tmp_path, trunk):
    """A smaller L_gen weight and a later D, branched at step 4 == the same settings from step 0."""
    change = ["--set", "loss.w_gen=0.25", "--set", "train.gan_start=5"]
    assert lmg([*BASE, *change, "--out", str(tmp_path / "branch"), "--branch-from", str(trunk)]) == 0
    assert lmg([*BASE, *change, "--out", str(tmp_path / "fresh")]) == 0
    a, b = (load_file(tmp_path / r / "generator.safetensors") for r in ("branch", "fresh"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert _losses(tmp_path / "branch" / "train_log.csv") == _losses(tmp_path / "fresh" / "train_log.csv")
    # ... and it differs from the trunk's own settings after D switches on (the check could fail)
    assert lmg([*BASE, "--out", str(tmp_path / "same"), "--branch-from", str(trunk)]) == 0
    c = load_file(tmp_path / "same" / "generator.safetensors")
    assert any((a[k] != c[k]).any() for k in a)


@pytest.mark.parametrize("extra, why", [
    (["--set", "train.lr=1e-4"], "train.lr act"),                       # acts from step 0
    (["--set", "train.gan_start=3"], "after a gan_start"),              # D would have trained at step 4
])
def test_branch_refuses_what_acts_before_d(tmp_path, trunk, capsys, extra, why):
    rc = lmg([*BASE, *extra, "--out", str(tmp_path / "b"), "--branch-from", str(trunk)])
    err = capsys.readouterr().err
    assert rc == EXIT_USAGE and why in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b" / "checkpoints" / "last.pt").exists()


def test_d_phase_settings_follow_the_loss_terms():
    cfg = make_config(tiny())
    assert {"loss.w_gen", "loss.w_perc", "train.gan_start"} <= d_phase_settings(cfg)
    assert "loss.w_pix" not in d_phase_settings(cfg)
    auto = make_config(tiny(), {"loss.perceptual": "autoencoder"})   # L_perc without D: from step 0
    assert "loss.w_perc" not in d_phase_settings(auto)


def _shipped_runs():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "tools" / "make_shipped.py"
    spec = importlib.util.spec_from_file_location("make_shipped", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.RUNS, mod.BRANCHES


def _config_of(args):
    from lmg_lib.cli import build_parser
    from lmg_lib.cli.commands import train_overrides
    a = build_parser().parse_args(["train", *args, "--data", "x", "--out", "y"])
    return make_config(a.config, train_overrides(a), variant=a.variant)


def test_every_shipped_branch_may_start_from_its_trunk():
    """tools/make_shipped.py's BRANCHES: each branch differs from its trunk only in the D phase,
    at a step before both gan_starts (else `make_shipped.py train` would stop after the trunk)."""
    from lmg_lib.train.checkpoints import check_branch
    runs, branches = _shipped_runs()
    assert branches
    for name, (trunk, step) in branches.items():
        check_branch(_config_of(runs[trunk]), _config_of(runs[name]), step, trunk)
    with pytest.raises(ValueError, match="train.lr"):               # the rule bites on a real recipe
        check_branch(_config_of(runs["search_b4"]), _config_of([*runs["search_b4"], "--set", "train.lr=3e-4"]), 3600)
