"""Training loop: `lmg train` smoke run, exact resume, NaN stop, DDP (gloo, 2 processes), ablations, baselines.

CPU only and short: the tiny preset, batch 2, a handful of steps, synthetic clips (the
``LipClipDataset`` dict contract) except where the real dataset class is exercised.
"""
import csv
import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lmg_lib.train.step as step_mod
from lmg_lib.train.baselines import Speech2VidBaseline, StaticBaseline, load_baseline
from lmg_lib.train.checkpoints import export_network, load_generator
from lmg_lib.config import ABLATIONS, LOSS_TERMS, PAPER_LETTER, LossConfig, LossTerm, make_config, tiny, variant_of
from lmg_lib.eval.paper import paper_tables
from lmg_lib.cli import EXIT_DIVERGED, EXIT_USAGE
from lmg_lib.cli import main as lmg
from lmg_lib.data.dataset import SyntheticClipDataset, collate_clips
from lmg_lib.train import NonFiniteLossError, Trainer, build_models, generator_terms, param_digest, train_step
from lmg_lib.train.logs import log_keys
from lmg_lib.train.recipe import warm_config
from lmg_lib.train.step import needs_discriminator


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _losses(rows):
    """Logged rows without the (timing) clips/s column."""
    return [{k: v for k, v in r.items() if k != "clips_per_s"} for r in rows]


def tiny_cfg(**train):
    return tiny().replace(train=dict(dict(batch_size=2, log_every=1), **train))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    rc = lmg(["train", "--config", "tiny", "--data", "synthetic:6", "--out", str(out), "--steps", "2",
              "--batch-size", "2", "--device", "cpu", "--log-every", "1", "--checkpoint-every", "1",
              "--no-progress"])
    return rc, out


def test_cli_smoke_writes_log_checkpoint_and_generator(smoke_run):
    rc, out = smoke_run
    assert rc == 0
    rows = _rows(out / "train_log.csv")
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert set(log_keys(make_config(tiny(), variant="full"))) <= set(rows[0])
    assert all(float(r["clips_per_s"]) > 0 and float(r["lr"]) == 2e-4 for r in rows)
    ck = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    assert ck["step"] == 2 and set(ck["models"]) == {"G", "D", "corr"}
    assert set(ck["optimizers"]) == {"G", "D", "corr"} and set(ck["rng"]) >= {"python", "numpy", "torch"}
    G, cfg, extra = load_generator(out / "generator.safetensors", expect=tiny())
    assert extra == {"variant": "full", "step": 2, "ema": 0.0, "best": None}
    ref = {k: v for k, v in ck["models"]["G"].items()}
    for k, v in G.state_dict().items():      # fp16 export of the trained weights
        assert torch.allclose(v.float(), ref[k].float().half().float()), k
    # a second run into the same folder must not silently overwrite it
    assert lmg(["train", "--config", "tiny", "--data", "synthetic:6", "--out", str(out), "--steps", "2",
                "--batch-size", "2", "--device", "cpu", "--no-progress"]) == EXIT_USAGE


def test_resume_is_exact(tmp_path):
    """3 steps uninterrupted == 2 steps + kill after step 3 (no checkpoint of it) + resume."""
    cfg, ds = tiny_cfg(steps=3, checkpoint_every=2), SyntheticClipDataset(6, tiny())
    # epoch of 3 batches of 2: the resumed step 3 is the last batch of epoch 0
    tr = Trainer(cfg, ds, tmp_path, device="cpu", progress=False)
    res = tr.fit(stop_after=3)                 # steps 1..3 run uninterrupted, then "killed"
    assert res == {"step": 3, "stopped": True}
    want_digest, want_rows = param_digest(tr.models), _losses(_rows(tmp_path / "train_log.csv"))
    assert len(want_rows) == 3 and not (tmp_path / "generator.safetensors").exists()
    saved = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert saved["step"] == 2 and saved["clock"]["cpu_s"] > 0
    del tr
    torch.manual_seed(1234)                    # the checkpoint must restore every RNG
    tr2 = Trainer(cfg, ds, tmp_path, device="cpu", progress=False, resume=True)
    assert (tr2.step, tr2.epoch, tr2.batch_in_epoch) == (2, 0, 2)
    assert tr2.clock()["cpu_s"] >= saved["clock"]["cpu_s"]     # compute spent carries over the resume
    res = tr2.fit()
    assert res["step"] == 3
    assert param_digest(tr2.models) == want_digest
    assert _losses(_rows(tmp_path / "train_log.csv")) == want_rows
    assert (tmp_path / "generator.safetensors").exists()


def test_resume_refuses_other_settings(tmp_path, smoke_run):
    _, out = smoke_run
    with pytest.raises(ValueError, match="another configuration"):
        Trainer(make_config(tiny_cfg(), variant="l1"), SyntheticClipDataset(6, tiny()), out, device="cpu",
                resume=True, progress=False)


def test_nan_stops_with_step_and_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real_pixel_loss = step_mod.pixel_loss

    def nan_from_step_3(fake, real, *args, **kw):
        calls["n"] += 1
        loss = real_pixel_loss(fake, real, *args, **kw)
        return loss * float("nan") if calls["n"] >= 3 else loss

    monkeypatch.setattr(step_mod, "pixel_loss", nan_from_step_3)
    rc = lmg(["train", "--config", "tiny", "--data", "synthetic:8", "--out", str(tmp_path), "--steps", "5",
              "--batch-size", "2", "--device", "cpu", "--variant", "l1", "--checkpoint-every", "2",
              "--no-progress"])
    err = capsys.readouterr().err
    ckpt = tmp_path / "checkpoints" / "last.pt"
    assert rc == EXIT_DIVERGED and len(err.strip().splitlines()) == 1
    assert "non-finite loss" in err and "at step 3" in err and f"{ckpt} (step 2)" in err
    ck = torch.load(ckpt, weights_only=False)
    assert ck["step"] == 2
    assert all(torch.isfinite(v).all() for v in ck["models"]["G"].values() if v.is_floating_point())
    assert not (tmp_path / "generator.safetensors").exists()
    # the Python API raises
    monkeypatch.setattr(step_mod, "pixel_loss", lambda f, r, *a: real_pixel_loss(f, r, *a) * float("inf"))
    tr = Trainer(make_config(tiny_cfg(steps=2), variant="l1"), SyntheticClipDataset(4, tiny()), tmp_path / "b",
                 device="cpu", progress=False)
    with pytest.raises(NonFiniteLossError, match="at step 1; .*no checkpoint was written"):
        tr.fit()


def test_ddp_gloo_two_processes(tmp_path):
    """torchrun, 2 CPU processes (gloo): both ranks end with bit-identical parameters."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "lmg_lib", "train", "--config", "tiny", "--data", "synthetic:8", "--out", str(tmp_path),
           "--steps", "2", "--batch-size", "2", "--device", "cpu", "--variant", "full",
           "--log-every", "1", "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    import json
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["world_size"] == 2 and final["step"] == 2
    d = final["rank_param_sha256"]
    assert len(d) == 2 and d[0] == d[1]
    rows = _rows(tmp_path / "train_log.csv")          # only rank 0 writes: one row per step
    assert [int(r["step"]) for r in rows] == [1, 2]
    ck = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert ck["world_size"] == 2 and ck["batch_in_epoch"] == 2   # 8 clips / 2 ranks / batch 2


def _switched_on(cfg):
    return {t.name for t in LOSS_TERMS if t.on(cfg.loss)}


def test_ablation_variants_are_the_papers_table_2():
    """Each variant's loss terms, correlation input and D against the paper's Table 2 as transcribed
    in eval/paper_tables.json (a loss term is in a row when the row has its column ``l_<name>``);
    each term's letter is the row that adds it to the row before."""
    paper = paper_tables()["table2_ablation_grid"]["variants"]
    assert set(ABLATIONS) == set(PAPER_LETTER)
    assert sorted(v for v in PAPER_LETTER.values() if v) == sorted(paper)
    d_kind = {"none": None, "three-stream": ("frames", True), "two-stream": ("frames", False),
              "three-stream on frame differences": ("differences", True)}
    for variant, letter in PAPER_LETTER.items():
        if letter is None:
            continue
        row, L = paper[letter], make_config("cpu", variant=variant).loss
        nonderiv = row["l_corr_nonderivative"]
        assert _switched_on(make_config("cpu", variant=variant)) == {
            t.name for t in LOSS_TERMS if row.get(f"l_{t.name}") or (t.name == "corr" and nonderiv)}, variant
        assert L.corr_derivative == (not nonderiv), variant
        want_d = d_kind[row["D"]]
        assert needs_discriminator(make_config("cpu", variant=variant)) == (want_d is not None), variant
        if want_d is not None:
            assert (L.d_input, L.lambda_u > 0) == want_d, variant
    ladder = sorted((t for t in LOSS_TERMS if t.letter), key=lambda t: t.letter)
    for before, t in zip([None, *ladder], ladder):
        assert PAPER_LETTER[t.variant] == t.letter and paper[t.letter][f"l_{t.name}"]
        added = _switched_on(make_config("cpu", variant=t.variant))
        assert added - (_switched_on(make_config("cpu", variant=before.variant)) if before else set()) == {t.name}
    with pytest.raises(ValueError, match="unknown variant"):
        make_config(tiny(), variant="nope")


def test_loss_terms_registry_matches_loss_config_and_step():
    """config.LOSS_TERMS is the one list of terms: LossConfig has a weight and a switch for each
    and no switch without a term; the step has one function for each."""
    switches = {f.name for f in dataclasses.fields(LossConfig) if f.name.startswith("use_")}
    assert switches == {t.switch for t in LOSS_TERMS}
    assert all(isinstance(t.weight(LossConfig()), float) for t in LOSS_TERMS)
    assert set(step_mod.TERM_FUNCTIONS) == {t.name for t in LOSS_TERMS}
    with pytest.raises(TypeError, match="LossConfig has no field w_nope or use_nope"):
        LossTerm("nope", needs_d=lambda L: False)


@pytest.mark.parametrize("variant", [*ABLATIONS, "every term"])
def test_variant_computes_logs_and_warms_up_only_its_terms(variant):
    """The step computes exactly the terms switched on, one real step logs exactly ``log_keys``
    (finite), D runs only when a term needs it, and the warm-up keeps exactly the terms that need no
    D; "every term": every entry of LOSS_TERMS switched on (a new term is checked here too)."""
    ds = SyntheticClipDataset(2, tiny())
    batch = collate_clips([ds[0], ds[1]])
    cfg = (make_config(tiny(), {f"loss.{t.switch}": True for t in LOSS_TERMS}) if variant == "every term"
           else make_config(tiny(), variant=variant))
    on = _switched_on(cfg)
    models = build_models(cfg)
    d_calls = []
    forward = models.D.forward
    models.D.forward = lambda *a, _f=forward: d_calls.append(1) or _f(*a)
    with torch.no_grad():
        fake, f_s = models.G(batch["lms"], batch["ref"])
        assert set(generator_terms(models, batch, cfg, fake, f_s)) == on
    assert bool(d_calls) == any(t.needs_d(cfg.loss) for t in LOSS_TERMS if t.name in on)
    keys = log_keys(cfg)
    assert set(keys) - {"loss_G", "loss_D", "d_real", "d_fake", "d_mismatch"} == on
    assert ("loss_D" in keys) == bool(d_calls) and ("d_mismatch" in keys) == (bool(d_calls) and cfg.loss.lambda_u > 0)
    opts = step_mod.build_optimizers(models, cfg)        # one real step logs exactly its keys
    logs = train_step(models, opts, batch, cfg)
    assert set(logs) == set(keys) and all(math.isfinite(v) for v in logs.values()), logs
    warm = warm_config(cfg)
    no_d = {t.name for t in LOSS_TERMS if t.name in on and not t.needs_d(cfg.loss)}
    assert _switched_on(warm) == (no_d or on) and (not needs_discriminator(warm) or not no_d)


def test_set_wins_over_variant_no_gan_term_computed(tmp_path, monkeypatch):
    """`lmg train --variant full --set loss.use_gen=false`: the explicit key wins over the variant
    (it used to be undone by the Trainer), so no generator GAN term is ever computed or logged."""
    calls = []
    real_gen = step_mod.generator_adversarial_loss
    monkeypatch.setattr(step_mod, "generator_adversarial_loss", lambda *a: calls.append(1) or real_gen(*a))
    for variant in ("full", None):
        out = tmp_path / str(variant)
        args = ["train", "--config", "tiny", "--data", "synthetic:4", "--out", str(out), "--steps", "3",
                "--batch-size", "2", "--device", "cpu", "--log-every", "1", "--no-progress",
                "--set", "loss.use_gen=false"] + (["--variant", variant] if variant else [])
        assert lmg(args) == 0
        rows = _rows(out / "train_log.csv")
        assert len(rows) == 3 and "gen" not in rows[0] and "perc" in rows[0], rows[0]
        ck = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
        assert ck["config"]["loss"]["use_gen"] is False and ck["variant"] == "custom"
    assert calls == []
    # the same keys through the library: the variant first, then the overrides
    assert make_config("cpu", {"loss.use_gen": "false"}, variant="full").loss.use_gen is False
    assert make_config("cpu", {"loss.use_pix": True}, variant="gan_only").loss.use_pix is True
    assert make_config("cpu", variant="l1").loss.use_gen is False
    # the label names the variant whose switches the configuration has
    assert variant_of(make_config("cpu", {"loss.lambda_u": 0}, variant="full")) == "two_stream"
    assert [variant_of(make_config("tiny", variant=v)) for v in ABLATIONS] == list(ABLATIONS)
    with pytest.raises(TypeError, match="make_config"):
        Trainer({"loss.use_gen": False}, SyntheticClipDataset(4, tiny()), tmp_path / "x")


def test_ablation_switches_change_what_they_name():
    """(f) phi_s reads f_s, not its derivative; (g) D never sees the mismatched pair; (i) D judges
    frame differences. Each is checked against the paper's setting on the same seeded networks."""
    ds = SyntheticClipDataset(2, tiny())
    batch = collate_clips([ds[0], ds[1]])
    corr = build_models(tiny()).corr
    f_s = torch.randn(2, tiny().model.feature_dim, 16, 8)
    const = f_s[:, :, :1].expand_as(f_s)         # constant in time: its derivative is zero
    assert torch.equal(corr.phi_s(const), corr.phi_s(torch.zeros_like(const)))
    assert not torch.allclose(corr.phi_s(const, derivative=False), corr.phi_s(torch.zeros_like(const), False))
    seen = []
    for variant in ("full", "two_stream", "diff_d"):
        cfg = make_config(tiny(), variant=variant)
        models = build_models(cfg)
        calls = []
        forward = models.D.forward
        models.D.forward = lambda lms, v, _f=forward: (calls.append(v.detach().clone()), _f(lms, v))[1]
        train_step(models, step_mod.build_optimizers(models, cfg), batch, cfg)
        seen.append(calls)
    full, two, diff = seen
    # D step: real, fake[, mismatch]; G step: fake (L_gen), [real; fake] (joint perceptual features)
    assert len(full) == 5 and len(two) == 4 and len(diff) == 5
    real = batch["video"]
    assert torch.equal(full[0], real) and torch.equal(diff[0][:, :, 0], torch.zeros_like(real[:, :, 0]))
    assert torch.allclose(diff[0][:, :, 1:], real[:, :, 1:] - real[:, :, :-1])


def test_train_step_sync_false_returns_device_tensors():
    cfg = make_config(tiny(), variant="l1")
    models = build_models(cfg)
    opts = step_mod.build_optimizers(models, cfg)
    ds = SyntheticClipDataset(2, tiny())
    logs = train_step(models, opts, collate_clips([ds[0], ds[1]]), cfg, sync=False)
    assert set(logs) == {"loss_G", "pix"} and all(isinstance(v, torch.Tensor) and v.dim() == 0
                                                  for v in logs.values())


def test_baselines_shapes_and_static_equals_reference(tmp_path):
    cfg = tiny()
    ds = SyntheticClipDataset(2, cfg)
    b = collate_clips([ds[0], ds[1]])
    static = StaticBaseline(cfg.model)
    video, aux = static(b["lms"], b["ref"])
    assert video.shape == (2, 3, 16, 64, 64) and aux is None
    for t in range(16):
        assert torch.equal(video[:, :, t], b["ref"])
    s2v = Speech2VidBaseline(cfg.model)
    video, aux = s2v(b["lms"], b["ref"])
    assert video.shape == (2, 3, 16, 64, 64) and aux.shape == (2, 8 * cfg.model.width, 16)
    assert video.min() >= -1 and video.max() <= 1
    # each frame's audio window is centred on that frame (4 steps per frame, 4 frames of context)
    win = s2v.audio_windows(b["lms"])
    assert win.shape == (2 * 16, 1, 36, 128)
    assert torch.equal(win[5, 0, 16:20], b["lms"][0, 0, 20:24])          # frame 5 of clip 0
    assert torch.equal(win[16, 0, :16], b["lms"][1, 0, :1].expand(16, -1))  # replicated edge
    # different audio -> different frames (the audio path is used)
    v2, _ = s2v(b["lms"].flip(2), b["ref"])
    assert not torch.allclose(video, v2)
    path = export_network(s2v, cfg, tmp_path / "s2v.safetensors")
    m, cfg2 = load_baseline(path)
    assert isinstance(m, Speech2VidBaseline) and cfg2.model == cfg.model


def test_speech2vid_trains_through_trainer_with_l1(tmp_path):
    from lmg_lib.train import train_baseline
    res = train_baseline(tiny_cfg(steps=1), SyntheticClipDataset(4, tiny()), tmp_path, device="cpu",
                         progress=False)
    assert res["step"] == 1 and Path(res["generator"]).name == "Speech2VidBaseline.safetensors"
    assert set(_rows(tmp_path / "train_log.csv")[0]) >= {"loss_G", "pix"}
    assert "loss_D" not in _rows(tmp_path / "train_log.csv")[0]


def test_samples_over_time_do_not_change_training(tmp_path):
    """sample_batch snapshots are written and leave the trained parameters bit-identical."""
    import numpy as np
    from lmg_lib.config import tiny
    from lmg_lib.data.dataset import SyntheticClipDataset, collate_clips
    from lmg_lib.train import Trainer, param_digest
    cfg = tiny().replace(train=dict(steps=4, batch_size=2, sample_every=2, log_every=2))
    ds = SyntheticClipDataset(8, cfg, seed=0)
    digests = []
    for name, batch in (("plain", None), ("sampled", collate_clips([ds[0], ds[1]]))):
        tr = Trainer(cfg, ds, tmp_path / name, device="cpu", progress=False, sample_batch=batch)
        tr.fit()
        digests.append(param_digest(tr.models))
    samples = sorted((tmp_path / "sampled" / "samples").glob("*.npy"))
    assert [p.name for p in samples] == ["step_000000.npy", "step_000002.npy", "step_000004.npy"]
    x = np.load(samples[-1])
    assert x.shape == (2, 16, 64, 64, 3) and x.dtype == np.uint8
    assert digests[0] == digests[1]


def test_pretrain_autoencoder_command_feeds_lmg_train(tmp_path, capsys):
    """`lmg pretrain-autoencoder` writes the autoencoder that `lmg train --autoencoder` loads for the
    autoencoder L_perc; bad input is one line with its exit code and leaves no file."""
    from lmg_lib.cli import EXIT_DATA, EXIT_OUTPUT
    from lmg_lib.train.autoencoder import load_autoencoder
    ae_path = tmp_path / "ae.safetensors"
    args = ["pretrain-autoencoder", "--config", "tiny", "--data", "synthetic:2", "--steps", "2",
            "--batch-size", "4", "--no-progress"]
    assert lmg([*args, "--out", str(ae_path)]) == 0
    assert "last L1" in capsys.readouterr().out
    ae = load_autoencoder(ae_path)
    assert not ae.training and not any(p.requires_grad for p in ae.parameters())
    assert ae.encoder[1][0].out_channels == 2 * tiny().model.width        # the preset's width
    out = tmp_path / "run"
    assert lmg(["train", "--config", "tiny", "--data", "synthetic:4", "--out", str(out), "--steps", "1",
                "--batch-size", "2", "--device", "cpu", "--no-progress", "--set", "loss.perceptual=autoencoder",
                "--autoencoder", str(ae_path)]) == 0
    assert float(_rows(out / "train_log.csv")[0]["perc"]) > 0
    for unused in (["--set", "loss.perceptual=discriminator"], ["--set", "loss.perceptual=autoencoder", "--variant", "l1"]):
        capsys.readouterr()          # an autoencoder that L_perc would not read: refused, not ignored
        assert lmg(["train", "--config", "tiny", "--data", "synthetic:4", "--out", str(tmp_path / "x"), "--steps", "1",
                    "--no-progress", "--autoencoder", str(ae_path), *unused]) == EXIT_USAGE, unused
        assert "does not use it" in capsys.readouterr().err
    for bad, code in [(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "a.safetensors")], EXIT_DATA),
                      (["--data", "synthetic:2", "--out", str(tmp_path / "a.pt")], EXIT_OUTPUT),
                      (["--data", "synthetic:2", "--out", str(tmp_path / "a.safetensors"), "--steps", "0"], EXIT_USAGE)]:
        capsys.readouterr()
        assert lmg([*args, *bad]) == code, bad
        err = capsys.readouterr().err
        assert err.startswith("lmg: error:") and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.safetensors", "run"]
