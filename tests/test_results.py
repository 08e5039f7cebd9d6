"""eval/results.py: the shipped-results table, the targets and the paper's orderings, on made-up
summaries whose answers are known (no training)."""
import pandas as pd

from lmg_lib.util.paths import SHIPPED_FULL as FULL      # the shipped full model's folder
from lmg_lib.eval.records import MODELS
S2V = MODELS["Speech2Vid (Chung)"]                        # the Speech2Vid baseline's folder

from lmg_lib.config import PAPER_LETTER
from lmg_lib.eval.ablations import ablation_claims, ablation_long
from lmg_lib.eval.results import (orderings, paired_difference, probes_markdown, results_long, results_markdown,
                                  results_table, targets)


def _write(root, run, rows, source="per_clip"):
    (root / run).mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([dict(metric=m, n=200, mean=v, ci_low=v - h, ci_high=v + h, source=src)
                       for m, v, h, src in [(*r, source) if len(r) == 3 else r for r in rows]])
    p = root / run / "summary.csv"
    df = pd.concat([pd.read_csv(p), df]) if p.exists() else df
    df.to_csv(p, index=False)


def _fixture(root):
    _write(root, FULL, [("lmd", 1.2, 0.05), ("lmd_shuffled", 2.2, 0.05), ("opening_r", 0.8, 0.02),
                          ("psnr", 24.0, 0.1), ("ssim", 0.78, 0.01), ("psnr_mouth", 23.0, 0.1),
                          ("ssim_mouth", 0.70, 0.01), ("cpbd", 0.2, 0.01)])
    _write(root, FULL, [("lse_d", 1.0, 0.02)], "per_utterance_sync")
    _write(root, S2V, [("lmd", 1.25, 0.1), ("ssim", 0.80, 0.01), ("psnr", 25.0, 0.1)])
    _write(root, "controls", [("lmd", 2.0, 0.05), ("psnr", 24.6, 0.1), ("ssim", 0.79, 0.01),
                              ("psnr_mouth", 22.0, 0.1), ("ssim_mouth", 0.63, 0.01), ("cpbd", 0.17, 0.01),
                              ("cpbd_real", 0.16, 0.01)], "static")
    _write(root, "controls", [("lmd_average_mouth", 1.7, 0.03), ("opening_r_ceiling", 0.86, 0.02)],
           "landmark_baselines")


def test_results_table_targets_and_orderings(tmp_path):
    _fixture(tmp_path)
    t = results_table(tmp_path)
    assert list(t.index) == ["full model", "Speech2Vid (Chung)", "static reference", "average mouth",
                             "audio-only ceiling (oracle)", "real frames"]
    assert t.loc["full model", "lmd"] == "1.20 [1.15, 1.25]" and t.loc["average mouth", "lmd"] == "1.70 [1.67, 1.73]"
    tg = targets(tmp_path).set_index("target")
    assert abs(tg.loc["LMD / static LMD", "value"] - 0.6) < 1e-12 and tg.loc["LMD / static LMD", "holds"]
    assert tg.loc["LMD / shuffled-audio LMD", "holds"]                         # 1.2 / 2.2 = 0.545
    assert tg.loc["mouth-opening r", "holds"] and tg.loc["frame SSIM - static", "holds"]          # 0.78 vs 0.79
    o = orderings(tmp_path).set_index(orderings(tmp_path).columns[0])["here"]
    assert o.iloc[0].startswith("not separated")                               # 1.2 +- 0.05 vs 1.25 +- 0.1
    assert o.iloc[2].startswith("does not hold") and o.iloc[3] == "not trained"   # PSNR 24 vs 25; no VGAN
    # each ordering in the paper's own direction, its values beside: on GRID Chung's SSIM is above the full model's
    assert list(o.index[:3]) == ["full model LMD < Speech2Vid (Chung)", "full model SSIM < Speech2Vid (Chung)",
                                 "full model PSNR > Speech2Vid (Chung)"]
    assert list(orderings(tmp_path).iloc[:3, 1]) == ["1.18 vs 1.35", "0.73 vs 0.74", "29.89 vs 29.36"]
    assert "Chen et al. 2018, Table 3" in results_markdown(tmp_path)
    assert set(results_long(tmp_path).model) >= {"full model", "real frames"}
    # no rendered ceiling yet: its landmark-level opening r, and the gap target is not measured (not missed)
    assert t.loc["audio-only ceiling (oracle)", "lmd"] == "" and "lmd_gap_closed" not in t.columns
    assert tg.loc["static-to-ceiling LMD gap closed", "holds"] is None and "not measured" in results_markdown(tmp_path)


def test_ceiling_row_and_the_gap_each_model_closes(tmp_path):
    """Once checkpoints/ceiling is evaluated, the oracle row is read from it (its opening r replaces
    the landmark-level one), every model gets the fraction of the static-to-ceiling LMD gap it
    closes, and the half-way and 1.45 px targets read static and ceiling from the tables."""
    _fixture(tmp_path)
    _write(tmp_path, "ceiling", [("lmd", 0.8, 0.05), ("opening_r", 0.83, 0.02), ("psnr", 33.0, 0.1),
                                 ("cpbd", 0.15, 0.01)])
    _write(tmp_path, "ceiling", [("lse_d", 0.9, 0.02)], "per_utterance_sync")
    t = results_table(tmp_path)
    assert t.loc["audio-only ceiling (oracle)", "opening_r"] == "0.83 [0.81, 0.85]"
    assert t.loc["audio-only ceiling (oracle)", "lse_d"] == "0.90 [0.88, 0.92]"
    assert t.loc["full model", "lmd_gap_closed"] == "0.67"                      # (2.0 - 1.2) / (2.0 - 0.8)
    assert t.loc["Speech2Vid (Chung)", "lmd_gap_closed"] == "0.62"              # (2.0 - 1.25) / 1.2
    assert t.loc["audio-only ceiling (oracle)", "lmd_gap_closed"] == ""
    tg = targets(tmp_path).set_index("target")
    gap = tg.loc["static-to-ceiling LMD gap closed"]
    assert abs(gap["value"] - 0.8 / 1.2) < 1e-12 and gap["holds"] and "LMD <= 1.40 px" in gap["wanted"]
    assert tg.loc["LMD (px)", "holds"] and "(ceiling 0.83)" in tg.loc["mouth-opening r", "wanted"]
    _write(tmp_path, FULL, [("lmd", 1.5, 0.05)])                                # a later row: read first
    s = pd.read_csv(tmp_path / FULL / "summary.csv")
    s[~((s.metric == "lmd") & (s["mean"] == 1.2))].to_csv(tmp_path / FULL / "summary.csv", index=False)
    tg = targets(tmp_path).set_index("target")
    assert not tg.loc["static-to-ceiling LMD gap closed", "holds"] and not tg.loc["LMD (px)", "holds"]
    assert "scored like a model (`checkpoints/ceiling/`)" in results_markdown(tmp_path)


def test_prose_reads_its_facts(tmp_path):
    """The clips, sentences and speakers of the table are counted from the controls' per-clip file,
    the paper's two PSNRs read from paper_tables.json."""
    from lmg_lib.eval.paper import table2, table3
    _fixture(tmp_path)
    pd.DataFrame([dict(speaker=f"s{k}", utterance=f"u{u}", clip=c) for k in (7, 8, 9) for u in range(4)
                  for c in range(3 + u)]).to_csv(tmp_path / "controls" / "static_per_clip.csv", index=False)
    md = results_markdown(tmp_path)
    assert "held-out speakers s7-s9 of the default embedded corpus (54 clips of 12 sentences)" in md
    psnr3 = table3("GRID").set_index("method").loc["full model", "PSNR"]
    assert f"GRID PSNR is {psnr3:.2f} here and {table2().set_index('variant').loc['e', 'PSNR']:.2f}" in md


def test_ablation_claims_read_intervals(tmp_path):
    for v, lmd, ssim, cpbd in [("full", 1.0, 0.70, 0.3), ("l1", 1.5, 0.80, 0.05), ("two_stream", 1.4, 0.7, 0.3),
                               ("diff_d", 1.02, 0.7, 0.3)]:
        _write(tmp_path, f"ablation_{v}", [("lmd", lmd, 0.05), ("ssim", ssim, 0.01), ("cpbd", cpbd, 0.01)])
    _write(tmp_path, "ablation_full_seed1", [("lmd", 1.1, 0.05)])
    long = ablation_long(tmp_path, PAPER_LETTER)
    assert set(long.seed) == {0, 1} and set(long[long.variant == "l1"].letter) == {"b"}
    c = ablation_claims(long).set_index(ablation_claims(long).columns[0]).iloc[:, 0]
    assert c.iloc[0] == "holds" and c.iloc[1] == "holds" and c.iloc[2] == "holds"
    assert c.iloc[3] == "not trained" and c.iloc[4] == "holds"
    assert c.iloc[6].startswith("not separated")        # (i) 1.02 against (e) 1.0: the paper says worse
    _write(tmp_path, "ablation_diff_d", [("lmd", 1.3, 0.05)])
    s = pd.read_csv(tmp_path / "ablation_diff_d" / "summary.csv")
    s.drop_duplicates("metric", keep="last").to_csv(tmp_path / "ablation_diff_d" / "summary.csv", index=False)
    assert ablation_claims(ablation_long(tmp_path, PAPER_LETTER)).iloc[6, 1] == "holds"
    # another variant with the best mean: "does not hold" only when its interval is clear of full's
    _write(tmp_path, "ablation_corr_nonderiv", [("lmd", 0.97, 0.05)])
    _write(tmp_path, "ablation_perc", [("lmd", 0.5, 0.05)])
    c = ablation_claims(ablation_long(tmp_path, PAPER_LETTER)).iloc[:, 1]
    assert c.iloc[0] == "does not hold (best: perc)"
    (tmp_path / "ablation_perc" / "summary.csv").unlink()
    assert ablation_claims(ablation_long(tmp_path, PAPER_LETTER)).iloc[0, 1].startswith("not separated")
    # a variant that draws no moving mouth does not win "lowest CPBD": it is left out, and named
    _write(tmp_path, "ablation_gan_only", [("lmd", 2.4, 0.05), ("cpbd", 0.01, 0.01), ("opening_r", 0.0, 0.05)])
    _write(tmp_path, "ablation_l1", [("opening_r", 0.6, 0.05)])
    c = ablation_claims(ablation_long(tmp_path, PAPER_LETTER)).iloc[:, 1]
    assert c.iloc[2] == "holds (gan_only, lowest of all, left out: its mouth does not follow the speech)"
    assert c.iloc[1] == "holds"                         # gan_only's SSIM is not the best: no note
    # two variants equal at the table's 3 decimals share the place: both named, not one picked
    _write(tmp_path, "ablation_perc", [("lmd", 0.9701, 0.05)])
    c = ablation_claims(ablation_long(tmp_path, PAPER_LETTER)).iloc[:, 1]
    assert c.iloc[0] == "not separated (best mean: corr_nonderiv and perc (equal at 3 decimals); intervals overlap)"


def test_photo_table_reads_the_photo_runs_not_the_default(tmp_path):
    """The photo-style table and targets come from photo_full / photo_controls only: a default-style
    full model that meets a target must not make the photo model meet it."""
    import json
    from lmg_lib.eval.results import photo_markdown
    _fixture(tmp_path)                                           # default style: LMD / static = 0.6, holds
    assert photo_markdown(tmp_path) is None                      # no photo_full evaluated yet
    for run, photo in ((FULL, "photo_full"), ("controls", "photo_controls")):
        (tmp_path / photo).mkdir()
        (tmp_path / photo / "summary.csv").write_text((tmp_path / run / "summary.csv").read_text())
    _write(tmp_path, "photo_full", [("lmd", 1.9, 0.05)])         # the photo model's own LMD replaces 1.2
    s = pd.read_csv(tmp_path / "photo_full" / "summary.csv")
    s[~((s.metric == "lmd") & (s["mean"] == 1.2))].to_csv(tmp_path / "photo_full" / "summary.csv", index=False)
    (tmp_path / "photo_controls" / "regressor_error_val.json").write_text(json.dumps({"n_frames": 20, "mean_px": 0.4}))
    tg = targets(tmp_path, {"full model": "photo_full"}, "photo_controls").set_index("target")
    assert abs(tg.loc["LMD / static LMD", "value"] - 0.95) < 1e-12 and not tg.loc["LMD / static LMD", "holds"]
    md = photo_markdown(tmp_path)
    assert "1.90 [1.85, 1.95]" in md and "0.40 px" in md and "| LMD / static LMD | 0.950 | <= 0.6 | missed |" in md


def test_probes_paired_difference_and_targets(tmp_path):
    """A probe is shown beside the full model only when evaluated; its paired difference cancels
    what both runs share per sentence (here a sentence offset far larger than the difference)."""
    _fixture(tmp_path)
    assert probes_markdown(tmp_path) is None
    (tmp_path / "full").mkdir(exist_ok=True)                     # the cpu recipe's full model: the probes' base
    (tmp_path / "full" / "summary.csv").write_text((tmp_path / FULL / "summary.csv").read_text())
    _write(tmp_path, "full_warmup1200", [("lmd", 1.1, 0.05), ("lmd_shuffled", 2.2, 0.05), ("opening_r", 0.7, 0.02),
                                         ("psnr", 24.0, 0.1), ("ssim", 0.78, 0.01), ("psnr_mouth", 23.0, 0.1),
                                         ("ssim_mouth", 0.70, 0.01), ("cpbd", 0.2, 0.01)])
    offset = [0.0, 1.0, -0.5, 2.0]                               # per-sentence difficulty, shared
    for run, shift in (("full", 0.0), ("full_warmup1200", -0.1)):
        pd.DataFrame([dict(speaker="s28", utterance=f"u{i}", clip=c, lmd=1.5 + o + shift + 0.01 * c)
                      for i, o in enumerate(offset) for c in range(2)]).to_csv(tmp_path / run / "per_clip.csv", index=False)
    d = paired_difference(tmp_path, "full_warmup1200", "full", metrics=("lmd",)).set_index("metric")
    assert d.loc["lmd", "n"] == 4 and abs(d.loc["lmd", "mean"] + 0.1) < 1e-9 and d.loc["lmd", "ci_high"] < 0
    md = probes_markdown(tmp_path)
    assert "probe: warm-up 1 200, seed 0" in md and "-0.100" in md and "seed 1" not in md
    # the header reads each run's schedule (its generator's header) and seed (its record)
    assert "discriminator from step" not in md and "gan_start" not in md      # not recorded: not said
    import json
    import torch
    from lmg_lib.util.weights import save_weights
    for run, g, seed in (("full", 700, 0), ("full_warmup1200", 1300, 3)):
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps({"train": {"gan_start": g, "steps": 1900}})})
        (tmp_path / run / "record.json").write_text(json.dumps({"seed": seed}))
    md = probes_markdown(tmp_path)
    assert "full model, custom recipe, 1 900 steps, D from step 700, seed 0" in md
    # a preset's run that moved its adversarial phase says so in its label, once
    from lmg_lib.config import get_config
    from lmg_lib.eval.records import run_label
    cfg = get_config("cpu").to_dict()
    for g in (cfg["train"]["gan_start"], 1200):
        cfg["train"]["gan_start"] = g
        save_weights(tmp_path / "x" / "generator.safetensors", {"w": torch.zeros(1)}, {"config": json.dumps(cfg)})
        (tmp_path / "x" / "record.json").write_text(json.dumps({"seed": 1}))
        assert run_label(tmp_path, "x") == ("cpu recipe, 1 500 steps, seed 1" if g != 1200 else
                                            "cpu recipe, 1 500 steps, D from step 1 200, seed 1")
    # any other setting changed from the preset is named (a learning-rate search run); the loss
    # switches a model's variant sets are not
    cfg["train"]["lr"], cfg["loss"]["use_corr"] = 3e-4, not cfg["loss"]["use_corr"]
    save_weights(tmp_path / "x" / "generator.safetensors", {"w": torch.zeros(1)}, {"config": json.dumps(cfg)})
    assert run_label(tmp_path, "x") == "cpu recipe, 1 500 steps, D from step 1 200, lr 0.0003, seed 1"
    assert "from step 1 300 instead of 700 (`train.gan_start=1300`: the last 600 of the 1 900 steps), seed 3" in md
    tg = targets(tmp_path, {"full model": "full", "p": "full_warmup1200"}, model="p").set_index("target")
    assert abs(tg.loc["LMD / static LMD", "value"] - 0.55) < 1e-12 and not tg.loc["mouth-opening r", "holds"]
    assert md in results_markdown(tmp_path)


def _val_log(root, run, lmd, cpu_s=True):
    (root / run).mkdir(parents=True, exist_ok=True)
    n = len(lmd)
    df = pd.DataFrame({"step": [150 * (i + 1) for i in range(n)], "lmd": lmd, "opening_r": [0.5] * n})
    if cpu_s:
        df["cpu_s"] = [600.0 * (i + 1) for i in range(n)]
    df.to_csv(root / run / "val_log.csv", index=False)


def test_learning_curves_name_what_is_missing_and_call_flat_only_a_flat_tail(tmp_path):
    import pytest
    from lmg_lib.eval.seeds import FLAT_PX, curve_summary, learning_curve_logs
    _val_log(tmp_path, "a", [2.2, 1.9, 1.7, 1.6, 1.55, 1.5, 1.45, 1.40])          # still falling
    _val_log(tmp_path, "b", [2.2, 1.6, 1.5, 1.5, 1.49, 1.5, 1.5, 1.49])            # flat for its last half
    curves = {"m1": {"run a": "a"}, "m2": {"run b": "b", "run c": "c"}}
    logs, missing = learning_curve_logs(tmp_path, curves)
    assert missing == ["c"] and list(logs) == ["m1", "m2"] and list(logs["m2"]) == ["run b"]
    s = curve_summary(logs).set_index("run")
    assert not s.loc["run a", "flat"] and s.loc["run b", "flat"]
    # the last quarter of 80 CPU-min: from 60 min on; before it, 1.55 at 50 min
    assert abs(s.loc["run a", "lmd_drop_last_quarter"] - (1.55 - 1.40)) < 1e-9 and 0.15 > FLAT_PX
    assert s.loc["run a", "cpu_min"] == 80 and s.loc["run b", "cpu_min_within_0.05_of_best"] == 30
    _val_log(tmp_path, "old", [2.0, 1.8], cpu_s=False)
    with pytest.raises(ValueError, match="cpu_s"):
        learning_curve_logs(tmp_path, {"m": {"old": "old"}})


def test_shipped_validation_references_sit_above_the_searched_runs():
    """The static reference and the average mouth on the validation clips (valref) are worse than
    what the shipped recipe-search runs reached on those clips (could fail: a run that learned
    nothing would sit on the static line)."""
    import json
    from lmg_lib.eval.seeds import learning_curve_logs
    from lmg_lib.notebook import SHIPPED_CHECKPOINTS
    refs = json.loads((SHIPPED_CHECKPOINTS / "controls" / "val_references.json").read_text())
    assert refs["clips"] == 48 and set(refs["seeds"]) == {"0", "1", "2"}
    logs, _ = learning_curve_logs(SHIPPED_CHECKPOINTS)
    assert logs
    for runs in logs.values():
        for log in runs.values():
            for ref in refs["seeds"].values():
                assert log["lmd"].min() < ref["lmd_average_mouth"] < ref["static"]["lmd"]


def test_seed_table_and_the_ordering_at_the_level_of_runs(tmp_path):
    """Means over seeds with their range; the ordering holds only if every seed beats every seed."""
    from lmg_lib.eval.seeds import run_orderings, run_table, seed_table
    seeds = {"full model": ("f0", "f1", "f2"), "Speech2Vid (Chung)": ("s0", "s1", "s2"), "VGAN (Vondrick)": ("v0",)}
    for run, lmd in (("f0", 1.40), ("f1", 1.46), ("f2", 1.43), ("s0", 1.50), ("s1", 1.45), ("v0", 1.70)):
        _write(tmp_path, run, [("lmd", lmd, 0.03), ("opening_r", 0.7, 0.02)])
    t = seed_table(tmp_path, seeds)
    assert t.loc["full model", "seeds"] == 3 and t.loc["full model", "lmd"] == "1.43 (1.40 .. 1.46)"
    assert t.loc["Speech2Vid (Chung)", "seeds"] == 2 and t.loc["VGAN (Vondrick)", "lmd"] == "1.70"
    r = run_table(tmp_path, seeds)
    assert r.loc[("full model", "f1"), "lmd"] == "1.46 [1.43, 1.49]" and len(r) == 6
    o = run_orderings(tmp_path, seeds).set_index("baseline")
    s2v, vgan = o.loc["Speech2Vid (Chung)"], o.loc["VGAN (Vondrick)"]
    assert s2v["here"] == "mixed" and s2v["evidence"].startswith("5 of 6 seed pairs;")   # only f1 = 1.46 against s1 = 1.45 is lost
    assert vgan["here"] == "holds" and vgan["evidence"].startswith("3 of 3 seed pairs;")
    assert "closest pair 0.240 apart" in vgan["evidence"]                                 # 1.70 - 1.46
    assert "by chance alone 1 in 4" in vgan["evidence"] and "chance" not in s2v["evidence"]   # 1 / C(4, 3); mixed: none
    _write(tmp_path, "v1", [("lmd", 1.30, 0.03)])
    seeds["VGAN (Vondrick)"] = ("v0", "v1")
    o = run_orderings(tmp_path, seeds).set_index("baseline")
    assert o.loc["VGAN (Vondrick)", "here"] == "mixed" and o.loc["VGAN (Vondrick)", "evidence"].startswith("3 of 6")
    assert run_orderings(tmp_path, {"full model": ("x",), "Speech2Vid (Chung)": ("s0",)})["here"].iloc[0] == "not trained"


def test_results_markdown_shows_seeds_once_a_model_has_two(tmp_path):
    from lmg_lib.eval import seeds
    _fixture(tmp_path)
    assert "Across seeds" not in results_markdown(tmp_path)
    _write(tmp_path, f"{FULL}_seed1", [("lmd", 1.3, 0.05)])
    md = results_markdown(tmp_path)
    assert "Across seeds" in md and "1.25 (1.20 .. 1.30)" in md and "every full model seed < every" in md
    assert seeds.SEEDS["full model"] == (FULL, f"{FULL}_seed1", f"{FULL}_seed2")


def test_orderings_at_unequal_steps_add_the_equal_steps_row(tmp_path):
    """The full model trained longer than a baseline: the LMD ordering is given again with the full
    model of the baseline's steps (PROBE_BASE), which can reverse it; at equal steps no extra row."""
    import json
    import torch
    from lmg_lib.eval.results import PROBE_BASE
    from lmg_lib.util.weights import save_weights
    _fixture(tmp_path)
    _write(tmp_path, PROBE_BASE, [("lmd", 1.6, 0.05)])
    for run, steps in ((FULL, 4000), (S2V, 1500), (PROBE_BASE, 1500)):
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps({"train": {"steps": steps}})})
        (tmp_path / run / "record.json").write_text(json.dumps({"seed": 0}))
    o = orderings(tmp_path).set_index(orderings(tmp_path).columns[0])["here"]
    eq = o[o.index.str.contains("at equal steps")]
    assert len(eq) == 1 and "`checkpoints/full/`" in eq.index[0] and "1 500 steps" in eq.index[0]
    assert eq.iloc[0] == "does not hold (1.600 vs 1.250)"           # 1.6 +- 0.05 above 1.25 +- 0.1
    assert "unequal steps: 4 000 vs 1 500" in o.iloc[0]
    save_weights(tmp_path / FULL / "generator.safetensors", {"w": torch.zeros(1)},
                 {"config": json.dumps({"train": {"steps": 1500}})})
    o = orderings(tmp_path).iloc[:, 0]
    assert not o.str.contains("at equal steps").any()                 # equal steps: the table itself says it


def test_lr_search_chooses_the_lowest_best_validation_lmd(tmp_path):
    """The choice is the run whose validation LMD reached the lowest value (at any step), read from
    each run's own log; the learning rate comes from the generator's header, not the run's name."""
    import json
    import torch
    from lmg_lib.eval.seeds import lr_search
    from lmg_lib.util.weights import save_weights
    runs = {"a": (3e-4, [2.0, 1.6, 1.55]), "b": (1e-3, [1.9, 1.45, 1.50]), "c": (3e-3, [1.8, 1.52, 1.47])}
    for run, (lr, lmd) in runs.items():
        (tmp_path / run).mkdir()
        pd.DataFrame({"step": [100, 200, 300], "lmd": lmd, "opening_r": [0.1, 0.5, 0.6],
                      "cpu_s": [60.0, 120, 180]}).to_csv(tmp_path / run / "val_log.csv", index=False)
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps({"train": {"lr": lr}})})
    logs, t = lr_search(tmp_path, {"m": ("a", "b", "c", "not_shipped"), "alone": ("a",)})
    t = t.set_index(["model", "run"])
    assert list(logs["m"]) == ["lr 0.0003", "lr 0.001", "lr 0.003"]
    assert t.loc[("m", "b"), "chosen"] and not t.loc[("m", "c"), "chosen"]      # 1.45 at step 200 beats 1.47 at the end
    assert t.loc[("m", "b"), "best_step"] == 200 and t.loc[("m", "c"), "val_lmd_last"] == 1.47
    assert not t.loc[("alone", "a"), "chosen"] and len(t) == 4                   # one run: no choice made


def test_seed_rows_note_says_why_a_baseline_at_another_rate_stands_in_the_seed_table(tmp_path):
    """The note reads the rate from the run's header and the choice from the search: a rate the
    search chooses is called so; a rate it does not choose says which it chooses."""
    import json
    import torch
    from lmg_lib.config import make_config
    from lmg_lib.eval.seeds import seed_rows_note
    from lmg_lib.util.weights import save_weights
    s2v = "Speech2Vid (Chung)"
    for run, lr, lmd in (("p", 1e-3, [1.6, 1.50]), ("q", 3e-4, [1.6, 1.45]), ("r", 1e-4, [1.6, 1.47])):
        (tmp_path / run).mkdir()
        pd.DataFrame({"step": [100, 200], "lmd": lmd, "opening_r": [0.5, 0.6], "cpu_s": [60.0, 120]}
                     ).to_csv(tmp_path / run / "val_log.csv", index=False)
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps(make_config("cpu2", {"train.lr": lr}, variant="l1").to_dict())})
    seeds = {"full model": ("f",), f"{s2v}, lr 3e-4": ("q",)}
    note, = seed_rows_note(tmp_path, seeds, {s2v: ("p", "q")})
    assert "at lr 0.0003 instead of the cpu2 recipe's 0.001, the rate its learning-rate search chooses" in note
    assert "(2 rates tried" in note
    note, = seed_rows_note(tmp_path, seeds, {s2v: ("p", "q", "r")})
    assert "the rate its learning-rate search chooses" in note          # 1.45 still beats 1.47
    note, = seed_rows_note(tmp_path, {"full model": ("f",), f"{s2v}, lr 1e-4": ("r",)}, {s2v: ("p", "q", "r")})
    assert "not the rate its learning-rate search chooses now (lr 0.0003) (3 rates tried" in note


def test_the_papers_tables_print_with_the_papers_decimals():
    """0.210 stays 0.210 (the JSON's float reads 0.21), 0.60 stays 0.60; the paper's 0 and N/A as printed."""
    from lmg_lib.eval.paper import as_printed, table2, table3
    t2 = as_printed(table2()).set_index("variant")
    assert t2.loc["i", "CPBD"] == "0.210" and t2.loc["d", "PSNR"] == "29.40" and t2.loc["e", "LMD"] == "1.18"
    t3 = as_printed(table3("GRID")).set_index("method")
    assert t3.loc["Vondrick", "SSIM"] == "0.60" and t3.loc["ground truth", "LMD"] == "0"
    assert t3.loc["ground truth", "SSIM"] == "N/A"


def test_orderings_are_paired_by_sentence_when_per_clip_tables_exist(tmp_path):
    """Two models scored on the same sentences: their intervals overlap (each sentence's difficulty
    spreads both), yet the full model is lower on every sentence -- the paired verdict says holds."""
    import numpy as np
    _fixture(tmp_path)
    rng = np.random.default_rng(0)
    hard = rng.normal(0, 0.4, 60)                                     # per-sentence difficulty, shared
    for run, shift in ((FULL, 0.0), (S2V, 0.03)):
        pd.DataFrame([dict(speaker=f"s{k % 3}", utterance=f"u{k}", clip=0, lmd=1.3 + hard[k] + shift,
                           ssim=0.8 - shift, psnr=25.0) for k in range(60)]).to_csv(tmp_path / run / "per_clip.csv", index=False)
    o = orderings(tmp_path).set_index(orderings(tmp_path).columns[0])["here"]
    assert o.iloc[0].startswith("holds (full minus baseline -0.030") and "paired" in o.iloc[0]
    assert o.iloc[1].startswith("does not hold")        # SSIM: the paper has the full model below Chung; here above
    assert o.iloc[2].startswith("not separated (paired interval includes 0")   # PSNR identical


def test_ablation_claims_are_paired_by_sentence_and_name_the_seed_gap(tmp_path):
    """With the runs' per-clip tables the claims are paired by sentence, as Table 3's orderings; a
    paired difference smaller than the gap between two seeds of a variant says it is one of runs."""
    import numpy as np
    rng = np.random.default_rng(1)
    hard = rng.normal(0, 0.3, 50)
    for v, shift in (("full", 0.0), ("two_stream", 0.03), ("diff_d", -0.01)):
        _write(tmp_path, f"ablation_{v}", [("lmd", 1.0 + shift, 0.08)])
        pd.DataFrame([dict(speaker="s1", utterance=f"u{k}", clip=0, lmd=1.0 + hard[k] + shift + rng.normal(0, 0.002))
                      for k in range(50)]).to_csv(tmp_path / f"ablation_{v}" / "per_clip.csv", index=False)
    _write(tmp_path, "ablation_l1", [("lmd", 1.2, 0.08)])
    _write(tmp_path, "ablation_l1_seed1", [("lmd", 1.28, 0.08)])           # seeds 0.08 apart
    long = ablation_long(tmp_path, PAPER_LETTER)
    c = ablation_claims(long, tmp_path).iloc[:, 1]
    assert ablation_claims(long).iloc[4, 1].startswith("not separated (intervals overlap")   # unpaired: overlap
    assert c.iloc[4].startswith("holds (full minus two_stream -0.030") and "two seeds of l1, 0.080" in c.iloc[4]
    assert c.iloc[6].startswith("does not hold (full minus diff_d +0.010")   # (i) better than (e): the claim fails


def test_lever_table_compares_at_equal_steps_and_equal_clips_and_refuses_other_seeds(tmp_path):
    """A lever at half the batch is read against its base at the same step and at the base's step
    with as many clips seen (step x batch); a base with another seed has other validation references."""
    import json
    import pytest
    import torch
    from lmg_lib.eval.levers import lever_table
    from lmg_lib.util.weights import save_weights
    for run, batch, lmd, seed in (("lev", 4, [2.0, 1.7, 1.5, 1.45], 0), ("base", 8, [1.9, 1.6, 1.4, 1.3], 0),
                                  ("other", 8, [1.9, 1.6, 1.4, 1.3], 1)):
        (tmp_path / run).mkdir()
        pd.DataFrame({"step": [100, 200, 300, 400], "lmd": lmd, "opening_r": [0.1, 0.5, 0.6, 0.7],
                      "cpu_s": [60.0, 120, 180, 240]}).to_csv(tmp_path / run / "val_log.csv", index=False)
        (tmp_path / run / "record.json").write_text(json.dumps({"seed": seed}))
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps({"train": {"batch_size": batch, "gan_start": 300}})})
    logs, t = lever_table(tmp_path, {"half batch": ("lev", "base"), "not shipped": ("nope", "base")})
    assert len(t) == 1 and list(logs) == ["half batch"]
    r = t.iloc[0]
    assert r.lever_batch == 4 and r.base_batch == 8 and r.lever_last_lmd == 1.45 and r.base_best_lmd == 1.3
    assert r.lever_gan_start == r.base_gan_start == 300
    assert r.base_lmd_equal_steps == 1.3                          # the base at step 400
    assert r.base_step_equal_clips == 200 and r.base_lmd_equal_clips == 1.6    # 400 x 4 clips = 200 x 8
    assert list(logs["half batch"]["lever"]["clips"]) == [400, 800, 1200, 1600]
    with pytest.raises(ValueError, match="different reference frames"):
        lever_table(tmp_path, {"x": ("lev", "other")})


def test_probe_recipes_name_a_changed_batch_size_instead_of_grouping_it_with_its_base(tmp_path):
    """Two probes with one schedule are one recipe only if nothing else differs: a run at another
    batch size is described with it, not folded into the run it was compared with."""
    import json
    import torch
    from lmg_lib.config import make_config
    from lmg_lib.eval.records import probe_recipes
    from lmg_lib.util.weights import save_weights
    for run, batch in (("base", 8), ("half", 4)):
        cfg = make_config("cpu2", {"train.batch_size": batch})
        (tmp_path / run).mkdir()
        (tmp_path / run / "record.json").write_text(json.dumps({"seed": 0}))
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps(cfg.to_dict())})
    text = probe_recipes(tmp_path, ["base", "half"], {"gan_start": 600})
    assert text.count("the full recipe with") == 2 and "`train.batch_size=4`" in text
    assert "batch_size=8" not in text                      # the preset's own value is not a change
    # a run whose D never switches on (gan_start = steps) is described as such, not as "the last 0 steps"
    from lmg_lib.eval.records import run_label
    cfg = make_config("cpu2", {"train.gan_start": 4000})
    (tmp_path / "nod").mkdir()
    (tmp_path / "nod" / "record.json").write_text(json.dumps({"seed": 0}))
    save_weights(tmp_path / "nod" / "generator.safetensors", {"w": torch.zeros(1)}, {"config": json.dumps(cfg.to_dict())})
    text = probe_recipes(tmp_path, ["nod"], {"gan_start": 600})
    assert text.startswith("the full recipe without the discriminator, L_perc and L_gen") and "last 0" not in text
    # ... and one whose L_perc reads a lip autoencoder keeps L_perc: only D and L_gen are left out
    cfg = make_config("cpu2", {"train.gan_start": 4000, "loss.perceptual": "autoencoder"})
    (tmp_path / "ae").mkdir()
    (tmp_path / "ae" / "record.json").write_text(json.dumps({"seed": 0}))
    save_weights(tmp_path / "ae" / "generator.safetensors", {"w": torch.zeros(1)}, {"config": json.dumps(cfg.to_dict())})
    text = probe_recipes(tmp_path, ["ae"], {"gan_start": 600})
    assert text.startswith("the full recipe without the discriminator and L_gen (") and "loss.perceptual=autoencoder" in text
    assert run_label(tmp_path, "nod", d_step=True) == "cpu2 recipe, 4 000 steps, no D, seed 0"
    assert run_label(tmp_path, "base", d_step=True) == "cpu2 recipe, 4 000 steps, D from step 3 700, seed 0"


def test_d_phase_table_finds_the_shared_step_and_pairs_the_test_sentences(tmp_path):
    """Branches of one trunk: their validation logs agree up to the branch point (found, not assumed)
    and each is read against the first run there, at its end and, on test sentences, paired."""
    import json
    import pytest
    import torch
    from lmg_lib.eval.levers import d_phase_table
    from lmg_lib.util.weights import save_weights
    trunk = [2.0, 1.8, 1.6]
    for run, tail, gan, w_gen in (("base", [1.5, 1.45], 300, 1.0), ("nod", [1.55, 1.5], 500, 1.0),
                                  ("gen", [1.4, 1.35], 300, 0.25), ("odd", [1.5, 1.4], 300, 1.0)):
        (tmp_path / run).mkdir()
        lmd = ([2.1, 1.9, 1.6] if run == "odd" else trunk) + tail
        pd.DataFrame({"step": [100, 200, 300, 400, 500], "lmd": lmd, "opening_r": 0.5, "cpbd": 0.3}).to_csv(
            tmp_path / run / "val_log.csv", index=False)
        save_weights(tmp_path / run / "generator.safetensors", {"w": torch.zeros(1)},
                     {"config": json.dumps({"train": {"gan_start": gan}, "loss": {"w_gen": w_gen}})})
        pd.DataFrame({"speaker": ["s1", "s1", "s2"], "utterance": ["a", "a", "b"],
                      "lmd": [x + {"base": 0, "nod": 0.1, "gen": -0.2, "odd": 0}[run] for x in (1.0, 2.0, 3.0)]}
                     ).to_csv(tmp_path / run / "per_clip.csv", index=False)
        pd.DataFrame({"metric": ["lmd"], "mean": [2.0]}).to_csv(tmp_path / run / "summary.csv", index=False)
    long, t = d_phase_table(tmp_path, {"base": "base", "no D": "nod", "L_gen / 4": "gen", "absent": "nope"})
    assert list(t.run) == ["base", "nod", "gen"] and set(t.shared_step) == {300}
    assert list(t.gan_start) == [300, 500, 300] and list(t.w_gen) == [1.0, 1.0, 0.25]
    r = t.set_index("run")
    assert r.loc["gen", "val_lmd_last"] == 1.35 and r.loc["gen", "val_lmd_mean_after"] == pytest.approx(1.375)
    assert r.loc["gen", "test_lmd_minus_base"][0] == pytest.approx(-0.2)      # paired by sentence
    assert long.step.min() == 100 and len(long) == 3 * 5                    # with the shared validations before
    with pytest.raises(ValueError, match="not one trunk"):
        d_phase_table(tmp_path, {"base": "base", "odd": "odd"})
