"""Unit tests of the model components: shapes, fusion layout, losses, gradients, determinism."""
import math

import numpy as np
import pytest
import torch

from lmg_lib.model.blocks import n_params
from lmg_lib.config import Config, ModelConfig, get_config, paper, tiny
from lmg_lib.model.correlation import CorrelationNet, centred_cosine, correlation_loss
from lmg_lib.model.discriminator import ThreeStreamDiscriminator
from lmg_lib.model.fusion import fuse
from lmg_lib.model.generator import LipGenerator
from lmg_lib.model.losses import (discriminator_loss, generator_adversarial_loss, mismatched,
                            perceptual_loss, pixel_loss, total_generator_loss)
from lmg_lib.model.perceptual import LipAutoencoder
from lmg_lib.train import build_models, build_optimizers, generator_terms, train_step


def batch(cfg: Config, B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    S, T = cfg.model.image_size, cfg.model.n_frames
    return {"lms": torch.rand(B, *cfg.lms_shape, generator=g) * 2 - 1,
            "ref": torch.rand(B, 3, S, S, generator=g) * 2 - 1,
            "video": torch.rand(B, 3, T, S, S, generator=g) * 2 - 1,
            "mismatch": torch.rand(B, 3, T, S, S, generator=g) * 2 - 1}


@pytest.mark.parametrize("name", ["tiny", "paper"])
def test_shapes(name):
    cfg = get_config(name)
    b = batch(cfg, B=1 if name == "paper" else 2)
    G, D, C = LipGenerator(cfg.model), ThreeStreamDiscriminator(cfg.model), CorrelationNet(cfg.model)
    G.eval(); D.eval()
    with torch.no_grad():
        video, f_s = G(b["lms"], b["ref"])
        B = b["lms"].shape[0]
        assert video.shape == (B, 3, 16, 64, 64)
        assert video.min() >= -1 and video.max() <= 1
        assert f_s.shape == (B, cfg.model.feature_dim, 16, 16)        # (B, C, T, F)
        logit, feats = D(b["lms"], video)
        assert logit.shape == (B,) and len(feats) == 4
        a, v = C(f_s, video)
        assert a.shape == v.shape == (B, 15)
        assert C.flow(video).shape == (B, 2, 15, 16, 16)


def test_parameter_counts(capsys):
    cfg = paper().model
    counts = {"generator": n_params(LipGenerator(cfg)), "discriminator": n_params(ThreeStreamDiscriminator(cfg)),
              "phi_s+phi_v": n_params(CorrelationNet(cfg)), "lip autoencoder": n_params(LipAutoencoder(cfg))}
    with capsys.disabled():
        print("\nparameter counts (paper preset):", {k: f"{v / 1e6:.3f} M" for k, v in counts.items()})
    # the authors' model definitions: G 16.70 M, D 55.59 M, perceptual encoder 7.84 M
    assert abs(counts["generator"] / 1e6 - 16.70) < 0.01
    assert abs(counts["discriminator"] / 1e6 - 55.59) < 0.01
    assert abs(counts["lip autoencoder"] / 1e6 - 7.84) < 0.01
    assert n_params(LipGenerator(tiny().model)) < 0.2e6


def test_fusion_layout():
    B, C, Cp, T, F = 2, 3, 5, 4, 6
    f_s, f_p = torch.randn(B, C, T, F), torch.randn(B, Cp, F, F)
    x = fuse(f_s, f_p)
    assert x.shape == (B, C + Cp, T, F, F)
    for t in range(T):
        for j in range(F):                       # audio vector copied into every column
            assert torch.equal(x[:, :C, t, :, j], f_s[:, :, t, :])
        assert torch.equal(x[:, C:, t], f_p)     # identity plane repeated at every frame
    with pytest.raises(ValueError, match="fuse needs f_p"):
        fuse(f_s, torch.randn(B, Cp, F + 1, F + 1))


def test_pixel_and_perceptual_loss_values():
    a, b = torch.zeros(2, 3), torch.tensor([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    assert pixel_loss(a, b).item() == pytest.approx(1.0)
    fa = [torch.zeros(4), torch.ones(2)]
    fb = [torch.full((4,), 2.0), torch.ones(2)]
    assert perceptual_loss(fa, fb).item() == pytest.approx((4.0 + 0.0) / 2)


def test_adversarial_losses_values():
    x = torch.tensor([0.0, 2.0])
    assert generator_adversarial_loss(x).item() == pytest.approx(np.mean([math.log(2), math.log(1 + math.exp(-2))]))
    z = torch.zeros(3)
    total, terms = discriminator_loss(z, z, z)           # D outputs 0.5 everywhere
    assert total.item() == pytest.approx(2 * math.log(2))
    total, _ = discriminator_loss(z, z, z, lambda_p=1.0, lambda_u=0.0)
    assert total.item() == pytest.approx(2 * math.log(2))
    # L_D = -log D(real) - 0.5 log(1 - D(fake)) - 0.5 log(1 - D(mismatch))
    r, f, m = torch.tensor([1.5]), torch.tensor([-0.3]), torch.tensor([0.7])
    sig = torch.sigmoid
    want = -torch.log(sig(r)) - 0.5 * torch.log(1 - sig(f)) - 0.5 * torch.log(1 - sig(m))
    assert discriminator_loss(r, f, m)[0].item() == pytest.approx(want.item(), rel=1e-5)


def test_total_loss_weights_and_switches():
    terms = {k: torch.tensor(v) for k, v in dict(corr=1.0, pix=2.0, perc=3.0, gen=4.0).items()}
    cfg = paper().loss
    total, logged = total_generator_loss(terms, cfg)
    assert total.item() == pytest.approx(1.0 + 0.5 * 2 + 1.0 * 3 + 1.0 * 4)
    off = paper().replace(loss=dict(use_gen=False, use_corr=False, w_pix=1.0)).loss
    total, logged = total_generator_loss(terms, off)
    assert total.item() == pytest.approx(2.0 + 3.0) and set(logged) == {"pix", "perc"}
    with pytest.raises(ValueError, match="every loss term is disabled"):
        total_generator_loss(terms, paper().replace(loss=dict(use_gen=False, use_corr=False,
                                                              use_pix=False, use_perc=False)).loss)


def test_correlation_loss_values():
    a = torch.tensor([[0.0, 1.0, 0.0, -1.0]])
    assert correlation_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert correlation_loss(a, -a).item() == pytest.approx(2.0)
    assert correlation_loss(a, 3 * a + 7).item() == pytest.approx(0.0, abs=1e-6)  # scale/offset free
    flat = torch.ones(1, 4)
    assert centred_cosine(a, flat).item() == 0.0      # a flat curve carries no correlation
    # with negatives: pairs (a_i, b_i) perfect, a_i vs b_{i-1} anti-correlated -> no penalty
    A = torch.stack([a[0], -a[0]])
    assert correlation_loss(A, A).item() == pytest.approx(0.0, abs=1e-6)


def test_correlation_loss_cannot_be_minimised_by_constant_encoders():
    """Encoders that ignore their input (learnable constant curves p, q) cannot go below 1."""
    torch.manual_seed(0)
    for _ in range(3):
        p = torch.randn(15, requires_grad=True)
        q = torch.randn(15, requires_grad=True)
        opt = torch.optim.Adam([p, q], lr=0.05)
        for _ in range(200):
            loss = correlation_loss(p.expand(8, 15), q.expand(8, 15))
            opt.zero_grad(); loss.backward(); opt.step()
        assert loss.item() >= 1.0 - 1e-4
    # ... whereas the authors' plain 1 - cos with non-negative outputs collapses to 0
    p = torch.rand(15)
    assert (1 - torch.nn.functional.cosine_similarity(p[None], p[None])).item() == pytest.approx(0, abs=1e-6)


def test_mismatched_pairs_come_from_another_clip():
    ids = torch.arange(5).float().view(5, 1)
    m = mismatched(ids)
    assert torch.all(m != ids)
    assert sorted(m.flatten().tolist()) == sorted(ids.flatten().tolist())
    with pytest.raises(ValueError):
        mismatched(ids[:1])


@pytest.mark.parametrize("perceptual", ["discriminator", "autoencoder"])
def test_gradients_reach_generator_from_every_term(perceptual):
    cfg = tiny().replace(loss=dict(perceptual=perceptual))
    ae = LipAutoencoder(cfg.model) if perceptual == "autoencoder" else None
    models = build_models(cfg, autoencoder=ae)
    b = batch(cfg)
    for name in ("corr", "pix", "perc", "gen"):
        models.G.zero_grad(set_to_none=True)
        fake, f_s = models.G(b["lms"], b["ref"])
        terms = generator_terms(models, b, cfg, fake, f_s)
        terms[name].backward()
        for part in ("audio_encoder", "decoder"):
            grads = [p.grad for p in getattr(models.G, part).parameters() if p.grad is not None]
            assert grads and sum(g.abs().sum() for g in grads) > 0, (name, part)
        if name != "corr":    # L_corr depends on the image only through the video's flow
            assert any(p.grad is not None and p.grad.abs().sum() > 0
                       for p in models.G.image_encoder.parameters()), name
    if ae is not None:
        assert all(not p.requires_grad for p in ae.parameters())


def test_correlation_gradient_flows_through_flow():
    cfg = tiny()
    C = CorrelationNet(cfg.model)
    video = (torch.rand(1, 3, 16, 64, 64) * 2 - 1).requires_grad_()
    C.phi_v(C.flow(video)).sum().backward()
    assert video.grad is not None and video.grad.abs().sum() > 0


def _run_steps(seed, n=2):
    cfg = tiny().replace(seed=seed)
    models = build_models(cfg)
    opts = build_optimizers(models, cfg)
    logs = [train_step(models, opts, batch(cfg, B=2, seed=1), cfg) for _ in range(n)]
    return logs, torch.cat([p.detach().flatten() for p in models.G.parameters()])


def test_seeded_cpu_runs_are_bit_identical():
    logs1, p1 = _run_steps(3)
    logs2, p2 = _run_steps(3)
    assert logs1 == logs2
    assert torch.equal(p1, p2)
    _, p3 = _run_steps(4)
    assert not torch.equal(p1, p3)


def test_train_step_without_discriminator_terms():
    cfg = tiny().replace(loss=dict(use_gen=False, use_perc=False, use_corr=False))
    models = build_models(cfg)
    opts = build_optimizers(models, cfg)
    logs = train_step(models, opts, batch(cfg), cfg)
    assert "loss_D" not in logs and set(logs) == {"loss_G", "pix"}


@pytest.mark.parametrize("lip,msg", [
    (torch.zeros(1, 1, 64, 64), "RGB"),
    (torch.zeros(1, 4, 64, 64), "RGB"),
    (torch.zeros(1, 3, 32, 32), "64x64"),
    (torch.full((1, 3, 64, 64), 255.0), r"\[-1, 1\]"),
])
def test_bad_image_inputs(lip, msg):
    G = LipGenerator(tiny().model)
    with pytest.raises(ValueError, match=msg):
        G(torch.zeros(1, 1, 64, 128), lip)


def test_bad_lms_input():
    G = LipGenerator(tiny().model)
    with pytest.raises(ValueError, match="LMS must be"):
        G(torch.zeros(1, 1, 60, 128), torch.zeros(1, 3, 64, 64))


def test_config_round_trip():
    cfg = tiny()
    assert Config.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config preset"):
        get_config("huge")


def test_clip_geometry_comes_from_the_config():
    """Other clip sizes than the paper's: every shape follows ModelConfig (LMS (1, 4T, 2S))."""
    from dataclasses import replace
    from lmg_lib.model.geometry import lms_shape
    small = replace(tiny().model, image_size=32, n_frames=8)
    assert lms_shape(small) == (1, 32, 64)
    G, C = LipGenerator(small).eval(), CorrelationNet(small)
    with torch.no_grad():
        video, f_s = G(torch.rand(2, *lms_shape(small)) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1)
        assert video.shape == (2, 3, 8, 32, 32) and f_s.shape[2:] == (8, 8)
        assert C.flow(video).shape == (2, 2, 7, 8, 8)
        assert [x.shape for x in C(f_s, video)] == [(2, 7), (2, 7)]
    d32 = replace(tiny().model, image_size=32)                     # 16 frames
    with torch.no_grad():
        logit, _ = ThreeStreamDiscriminator(d32).eval()(torch.rand(2, *lms_shape(d32)),
                                                      torch.rand(2, 3, 16, 32, 32))
    assert logit.shape == (2,)


def test_clip_geometry_the_networks_cannot_honour_is_refused():
    from dataclasses import replace
    from lmg_lib.config import AudioConfig
    from lmg_lib.model.geometry import check_geometry
    m = tiny().model
    with pytest.raises(ValueError, match="exactly 16 frames"):
        ThreeStreamDiscriminator(replace(m, n_frames=8))
    with pytest.raises(ValueError, match="multiple of 4"):
        LipGenerator(replace(m, image_size=30))
    with pytest.raises(ValueError, match=r"n_mels 80.*\(1, 64, 128\)"):
        check_geometry(m, AudioConfig(n_mels=80))
    with pytest.raises(ValueError, match="steps_per_frame 2"):
        check_geometry(m, AudioConfig(steps_per_frame=2, sample_rate=16000))
    with pytest.raises(ValueError, match="clip geometry"):
        build_models(tiny().replace(audio=dict(n_mels=64)))
    check_geometry(m, AudioConfig(), discriminator=True)        # the presets are fine


def test_make_config_is_the_one_override_path():
    from lmg_lib.config import make_config
    assert make_config("tiny") == tiny() and make_config(tiny(), {}) == tiny()
    cfg = make_config("tiny", {"seed": "3", "train.steps": "40", "train.lr": "1e-4", "loss.use_gen": "false",
                               "model.phi_s_channels": "8,8", "audio.fmax": "none", "train.amp": True})
    assert (cfg.seed, cfg.train.steps, cfg.train.lr, cfg.loss.use_gen) == (3, 40, 1e-4, False)
    assert cfg.model.phi_s_channels == (8, 8) and cfg.audio.fmax is None and cfg.train.amp is True
    assert cfg.model == tiny().model.__class__(**{**tiny().to_dict()["model"], "phi_s_channels": (8, 8)})
    assert make_config("paper", {"train.betas": [0.9, 0.99]}).train.betas == (0.9, 0.99)
    assert make_config("cpu", {"train.steps": 2.2e3}).train.steps == 2200
    for bad, msg in [({"train.stepz": 1}, "unknown configuration key 'train.stepz'"),
                     ({"train.steps": "many"}, "train.steps: cannot use 'many'"),
                     ({"train.steps": 1.5}, "train.steps"), ({"loss.use_gen": "maybe"}, "loss.use_gen"),
                     ({"loss.perceptual": "vgg"}, "'discriminator' or 'autoencoder'")]:
        with pytest.raises(ValueError, match=msg):
            make_config("tiny", bad)
    with pytest.raises(ValueError, match="unknown config preset"):
        make_config("huge")


# ---------------------------------------------------------------------------------------------
# the paper's forms (what a reader opens) and the fast forms (model/fast_forms.py, one switch)

def test_fused_conv3d_is_the_conv_of_the_fused_tensor():
    from lmg_lib.model.fast_forms import fused_conv3d
    g = torch.Generator().manual_seed(0)
    fs = torch.randn(2, 5, 6, 7, dtype=torch.float64, generator=g, requires_grad=True)
    fp = torch.randn(2, 4, 7, 7, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(3, 9, 3, 3, 3, dtype=torch.float64, generator=g, requires_grad=True)
    a, b = torch.nn.functional.conv3d(fuse(fs, fp), w, padding=1), fused_conv3d(fs, fp, w)
    torch.testing.assert_close(a, b)
    ga = torch.autograd.grad(a.square().sum(), [fs, fp, w])
    gb = torch.autograd.grad(b.square().sum(), [fs, fp, w])
    for x, y in zip(ga, gb):
        torch.testing.assert_close(x, y)


def test_nearest_up_conv3d_is_upsample_then_conv():
    from lmg_lib.model.decoder import NearestUpConv
    from lmg_lib.model.fast_forms import nearest_up_conv3d
    torch.manual_seed(0)
    m = NearestUpConv(5, 4).double()
    x = torch.randn(2, 5, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    a, b = m(x), nearest_up_conv3d(x, m[1].weight)                # the module runs its children
    assert a.shape == (2, 4, 3, 12, 14)
    torch.testing.assert_close(a, b)
    g = torch.randn_like(a)
    for p, q in zip(torch.autograd.grad(a, [x, m[1].weight], g), torch.autograd.grad(b, [x, m[1].weight], g)):
        torch.testing.assert_close(p, q)


def _both_forms(G, lms, lip):
    """(video, f_s) and the gradients of every parameter, with G.fast_forms on and off."""
    out = []
    for on in (True, False):
        G.fast_forms = on
        G.zero_grad(set_to_none=True)
        video, f_s = G(lms, lip)
        (video.square().mean() + video[:, :, 1:].sub(video[:, :, :-1]).abs().mean()).backward()
        out.append((video.detach(), f_s.detach(), [p.grad.clone() for p in G.parameters()]))
    G.fast_forms = True
    return out


@pytest.mark.parametrize("upsample,skips", [("transpose", False), ("nearest", False), ("nearest", True)])
def test_generator_fast_forms_equal_the_paper_forms(upsample, skips):
    """Random weights, float64: the default forward (fast forms) and the paper's forms give the same
    video, f_s and gradients, in training mode (batch statistics) and in eval mode."""
    torch.manual_seed(0)
    G = LipGenerator(ModelConfig(width=4, n_res_blocks=2, out_kernel=3, upsample=upsample,
                                 identity_skips=skips)).double()
    lms = torch.randn(2, 1, 64, 128, dtype=torch.float64)
    lip = torch.rand(2, 3, 64, 64, dtype=torch.float64) * 2 - 1
    for mode in (True, False):                 # eval: with the running statistics the training passes moved
        G.train(mode)
        (va, fa, ga), (vb, fb, gb) = _both_forms(G, lms, lip)
        assert va.shape == (2, 3, 16, 64, 64) and va.std() > 0.01
        torch.testing.assert_close(va, vb)
        torch.testing.assert_close(fa, fb)
        for x, y in zip(ga, gb):
            torch.testing.assert_close(x, y)


def test_fast_forms_equal_the_paper_forms_on_the_shipped_checkpoint():
    """checkpoints/full: the trained weights and BN statistics (eval mode), float32 tolerance."""
    from lmg_lib.train.checkpoints import load_generator
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    path = SHIPPED_CHECKPOINTS / "full" / "generator.safetensors"
    if not path.exists():
        pytest.skip("no shipped full model")
    G, cfg, _ = load_generator(path)
    assert G.cfg.upsample == "nearest" and G.cfg.identity_skips      # both fast forms in play
    b = batch(cfg, B=2)
    with torch.no_grad():
        G.fast_forms = True
        fast = G(b["lms"], b["ref"])[0]
        G.fast_forms = False
        paper_ = G(b["lms"], b["ref"])[0]
    assert fast.std() > 0.05
    torch.testing.assert_close(fast, paper_, atol=1e-5, rtol=0)


def test_the_generator_runs_the_modules_it_shows():
    """With the paper's forms every layer of the generator runs in forward (hooks on each leaf);
    with the fast forms exactly the two regrouped convolutions do not (their weights are used)."""
    G = LipGenerator(ModelConfig(width=4, n_res_blocks=1, out_kernel=3, upsample="nearest")).eval()
    leaves = {n: m for n, m in G.named_modules() if not list(m.children())}
    for on, skipped in ((False, set()), (True, {"decoder.compress.0", "decoder.up.0.0.0", "decoder.up.0.0.1",
                                                 "decoder.up.1.0.0", "decoder.up.1.0.1"})):
        ran = set()
        hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.add(n)) for n, m in leaves.items()]
        G.fast_forms = on
        with torch.no_grad():
            G(torch.zeros(1, 1, 64, 128), torch.zeros(1, 3, 64, 64))
        for h in hooks:
            h.remove()
        assert set(leaves) - ran == skipped, on
