"""The samples over training as shipped: one JPEG strip + its index (lmg_lib.train.samples)."""
import csv

import numpy as np
import pytest

from lmg_lib.train.samples import load_samples, save_samples
from lmg_lib.util.paths import SHIPPED_CHECKPOINTS as SHIP


def _smooth_frames(rng, shape):
    """Smooth random images (JPEG keeps them within a few grey levels, unlike white noise)."""
    base = rng.uniform(40, 215, size=shape[:-3] + (4, 4, 3))
    up = np.kron(base, np.ones((shape[-3] // 4, shape[-2] // 4, 1)))
    return up.astype(np.uint8)


def test_round_trip_keeps_layout_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    frames, real = _smooth_frames(rng, (5, 2, 4, 32, 32, 3)), _smooth_frames(rng, (2, 4, 32, 32, 3))
    save_samples(tmp_path, frames, [0, 10, 20, 30, 40], real, [0, 5, 10, 15])
    got = load_samples(tmp_path)
    assert got["steps"] == [0, 10, 20, 30, 40] and got["kept"] == [0, 5, 10, 15]
    assert got["frames"].shape == frames.shape and got["real"].shape == real.shape
    # each clip's step and frame land where they were: a transposed layout would be far off
    assert np.abs(got["frames"].astype(int) - frames).mean() < 2
    assert np.abs(got["real"].astype(int) - real).mean() < 2
    assert np.abs(got["frames"][:, ::-1].astype(int) - frames).mean() > 10


def test_inconsistent_samples_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    frames, real = _smooth_frames(rng, (3, 2, 4, 32, 32, 3)), _smooth_frames(rng, (2, 4, 32, 32, 3))
    with pytest.raises(ValueError, match="do not fit"):
        save_samples(tmp_path, frames, [0, 10], real, [0, 5, 10, 15])
    save_samples(tmp_path, frames, [0, 10, 20], real, [0, 5, 10, 15])
    (tmp_path / "samples.json").write_text((tmp_path / "samples.json").read_text().replace('"clips": 2', '"clips": 3'))
    with pytest.raises(ValueError, match="not the layout"):
        load_samples(tmp_path)


@pytest.mark.parametrize("run", sorted(p.parent.name for p in SHIP.glob("*/samples.json")))
def test_every_shipped_strip_loads_and_matches_its_validation_steps(run):
    s = load_samples(SHIP / run)
    assert s["frames"].shape[1:] == s["real"].shape and s["frames"].shape[2:] == (4, 64, 64, 3)
    assert s["kept"] == [0, 5, 10, 15] and s["steps"][0] == 0 and s["steps"] == sorted(s["steps"])
    with open(SHIP / run / "val_log.csv", newline="") as f:
        val_steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert s["steps"][1:] == val_steps, run       # saved with every validation (both every 150 steps)
