"""The recipe table (lmg_lib/train/recipe_table.py): generated from the presets, every deviation
named with a reason that cites docs/TRAINING.md faithfully, one parameter count, and the README's
copies equal to what the code computes."""
import json
import math
import re
import struct
import sys
from pathlib import Path

import pytest

from lmg_lib.config import PRESETS, Config, get_config, make_config
from lmg_lib.train.recipe_table import (BOOKKEEPING, PAPER_SOURCE, WHY, deviations, generator_parameters,
                                        millions, preset_of, recipe_markdown, recipe_rows,
                                        shipped_config)
from lmg_lib.util.paths import SHIPPED_FULL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.recipe_table import readme_block  # noqa: E402


@pytest.mark.parametrize("preset", ["cpu", "cpu2"])
def test_every_deviation_of_a_cpu_recipe_has_a_reason_and_no_reason_is_stale(preset):
    devs = set(deviations(preset))
    assert {"loss.w_pix", "loss.w_mouth", "train.lr", "train.betas", "train.gan_start", "train.ema",
            "model.identity_skips", "model.upsample"} <= devs
    assert sorted(devs - BOOKKEEPING - set(WHY[preset])) == [], f"a deviation of {preset} without a reason"
    assert sorted(set(WHY[preset]) - devs) == [], f"a reason for a field in which {preset} does not differ"
    assert sorted((devs - BOOKKEEPING) - set(PAPER_SOURCE)) == [], "a paper value without its source"


def test_cpu2_is_the_recipe_search_run_it_was_chosen_from():
    """The preset is what the search run recorded (``--config cpu --steps 4000 --set
    train.gan_start=3700``), so its seed-0 run is remade by either command; cpu itself is unchanged."""
    record = json.loads((ROOT / "checkpoints" / "full_cpu2" / "record.json").read_text())
    assert "--config cpu " in record["command"] and "--steps 4000" in record["command"]
    assert "--set train.gan_start=3700" in record["command"]
    searched = make_config("cpu", {"train.steps": 4000, "train.gan_start": 3700})
    assert get_config("cpu2").replace(name="cpu") == searched
    assert sorted(deviations("cpu2", "cpu")) == ["train.gan_start", "train.steps"]
    assert get_config("cpu").train.steps == 1500 and get_config("cpu").train.gan_start == 600


def _numbers(text: str) -> set[str]:
    text = re.sub(r"(?<=\d) (?=\d{3}\b)", "", text)                  # "1 200" -> "1200"
    return set(re.findall(r"\d+(?:\.\d+)?(?:e-\d+)?", text))


def test_every_number_of_a_reason_is_in_docs_training():
    training = _numbers((ROOT / "docs" / "TRAINING.md").read_text())
    for preset, reasons in WHY.items():
        for key, reason in reasons.items():
            assert "docs/TRAINING.md" in reason, f"{preset} {key}: the reason cites no measurement"
            missing = _numbers(reason) - training
            assert not missing, f"{preset} {key}: {sorted(missing)} are not in docs/TRAINING.md"


def test_the_table_names_the_weights_and_the_loss_that_was_trained():
    md = recipe_markdown("cpu")
    row = next(r for r in recipe_rows("cpu") if "`loss.w_pix`" in r["setting"])
    assert row["paper"].startswith("0.5") and row["ours"] == "20"
    assert "L = 1 L_corr + 20 L_pix + 1 L_perc + 1 L_gen, L_pix with 5x extra weight on the mouth box" in md
    assert "`train.log_every` 10 -> 25" in md                          # bookkeeping is named, not hidden


def test_any_configuration_gets_its_table():
    """A preset someone adds later (here: cpu with another lr and name) gets rows without editing
    the table code; a field without a recorded reason says so."""
    cfg = make_config("cpu", {"name": "search", "train.lr": 5e-4, "train.log_every": 5})
    rows = recipe_rows(cfg)
    lr = next(r for r in rows if "`train.lr`" in r["setting"])
    assert lr["ours"].startswith("5e-4") and "no reason recorded" in lr["why"]
    assert not any("log_every" in r["setting"] for r in rows)
    assert recipe_rows("paper") == [{"setting": "generator parameters (counted on the built network)",
                                     "paper": "16.70 M (16 695 267)", "ours": "16.70 M (16 695 267)",
                                     "why": "the same network", "section": "model"}]


def _safetensors_parameter_count(path: Path) -> tuple[int, dict]:
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    meta = header.pop("__metadata__", {})
    stats = ("running_mean", "running_var", "num_batches_tracked")
    return sum(math.prod(v["shape"]) for k, v in header.items() if not k.endswith(stats)), meta


def test_the_parameter_count_is_the_shipped_checkpoints():
    n, meta = _safetensors_parameter_count(ROOT / "checkpoints" / SHIPPED_FULL / "generator.safetensors")
    shipped = Config.from_dict(json.loads(meta["config"]))
    assert shipped == shipped_config()
    preset = preset_of(shipped)
    assert preset in PRESETS, f"checkpoints/{SHIPPED_FULL}/ was trained with no preset of today: " \
        "the recipe table of the README and notebook 4 would not describe it"
    assert n == generator_parameters(get_config(preset)) == 634_699


def test_a_run_is_named_by_the_preset_it_was_trained_with():
    assert preset_of(make_config("cpu", {"train.steps": 4000, "train.gan_start": 3700})) == "cpu2"
    assert preset_of(make_config("cpu", {"train.steps": 4000})) == "cpu"      # a probe, named as run
    # what `lmg generate` prints: a run with no preset's settings is not named after one
    assert preset_of(make_config("cpu", {"train.steps": 4000}), exact=True) is None
    assert preset_of(make_config("cpu", {"train.steps": 4000, "train.gan_start": 3700}), exact=True) == "cpu2"
    assert preset_of(get_config("cpu")) == "cpu" and preset_of(shipped_config(run="full")) == "cpu"
    assert "what we trained (`cpu2` preset)" in recipe_markdown(make_config("cpu", {
        "train.steps": 4000, "train.gan_start": 3700}))


def test_the_readme_block_is_the_generated_table():
    assert readme_block((ROOT / "README.md").read_text()) == recipe_markdown(), \
        "README's recipe table differs: run `python tools/recipe_table.py --write`"


@pytest.mark.parametrize("preset, pattern", [
    ("cpu", r"preset `cpu`: width 8, 4 residual blocks, ([\d.]+) M\s+generator parameters"),
    ("paper", r"generator G \(([\d.]+) M parameters, as the authors'\)"),
    ("paper", r"The paper-size generator \(([\d.]+) M parameters\)"),
])
def test_the_readme_prints_the_computed_parameter_count(preset, pattern):
    found = re.search(pattern, (ROOT / "README.md").read_text())
    assert found, f"README no longer says {pattern!r}: update this test with the sentence"
    n = generator_parameters(get_config(preset))
    digits = len(found.group(1).split(".")[1])
    assert found.group(1) == f"{n / 1e6:.{digits}f}", f"README says {found.group(1)} M, the {preset} generator has {millions(n)}"
