"""The CPU recipe: each piece against its reference (the same-maths speed-ups of the generator are
tested in test_model.py, the fast inference path in test_generate.py)."""
import numpy as np
import pytest
import torch

from lmg_lib.config import ModelConfig, cpu, tiny
from lmg_lib.data.dataset import SyntheticClipDataset
from lmg_lib.model.flow import video_flow
from lmg_lib.model.generator import LipGenerator
from lmg_lib.model.losses import mouth_mask, pixel_loss
from lmg_lib.train import Trainer, param_digest
from lmg_lib.train.recipe import EMA, RealFlowCache, lr_factor, prefetched, warm_config


def test_identity_skips_carry_the_reference_image():
    """With skips the untrained decoder already sees the reference at full resolution: its output
    depends on a single changed reference pixel's neighbourhood, without skips it is blurred away."""
    torch.manual_seed(0)
    lms = torch.zeros(1, 1, 64, 128)
    ref = torch.zeros(1, 3, 64, 64)
    ref2 = ref.clone()
    ref2[..., 40, 40] = 1
    for skips in (False, True):
        G = LipGenerator(ModelConfig(width=4, n_res_blocks=1, out_kernel=3, upsample="nearest",
                                     identity_skips=skips)).eval()
        d = (G(lms, ref2)[0] - G(lms, ref)[0]).abs().amax((0, 1, 2))
        assert d.shape == (64, 64) and d[40, 40] > 0


def test_mouth_mask_and_weighted_pixel_loss():
    lm = torch.tensor([[10.0, 20.0], [30.0, 25.0]]).repeat(10, 1).view(1, 1, 20, 2)
    m = mouth_mask(lm, 64, margin=3)
    assert m.shape == (1, 1, 1, 64, 64) and m.sum() == (33 - 7 + 1) * (28 - 17 + 1)
    real = torch.zeros(1, 3, 1, 64, 64)
    fake = real.clone()
    fake[..., 20, 20] = 1.0                       # an error inside the mouth box
    base = pixel_loss(fake, real)
    assert pixel_loss(fake, real, m, 0.0) == base
    assert float(pixel_loss(fake, real, m, 5.0)) == pytest.approx(float(base + 5 * 3 / (3 * m.sum())), rel=1e-6)
    fake2 = real.clone()
    fake2[..., 60, 60] = 1.0                      # outside: no extra weight
    assert pixel_loss(fake2, real, m, 5.0) == pixel_loss(fake2, real)


def test_lr_factor_warm_config_and_ema():
    t = cpu().train.__class__(steps=100, lr_schedule="cosine", lr_min_ratio=0.1)
    assert lr_factor(t, 0) == 1 and lr_factor(t, 100) == pytest.approx(0.1) and lr_factor(t, 50) == pytest.approx(0.55)
    assert lr_factor(tiny().train, 10**6) == 1                 # constant schedule
    w = warm_config(tiny())
    assert not w.loss.use_gen and not w.loss.use_perc and w.loss.use_pix and w.loss.use_corr
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, 0.9)
    e0 = ema.net.weight.clone()
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net, step=0)                       # warm-up decay min(0.9, (1 + 0) / 10) = 0.1
    torch.testing.assert_close(ema.net.weight, 0.1 * e0 + 0.9)
    e1 = ema.net.weight.clone()
    ema.update(net, step=1000)                    # decay 0.9
    torch.testing.assert_close(ema.net.weight, 0.9 * e1 + 0.1)
    assert not ema.net.weight.requires_grad


def test_prefetched_keeps_order_and_errors():
    assert list(prefetched(range(50))) == list(range(50))
    it = prefetched(iter(range(1000)))
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()                                    # leaving early stops the thread

    def bad():
        yield 1
        raise KeyError("boom")
    with pytest.raises(KeyError):
        list(prefetched(bad()))


def test_prefetched_can_be_left_when_the_rest_is_queued():
    """A run that stops with at most ``depth`` batches left in its epoch: the worker has queued them
    and waits to hand over the end; leaving must not wait for it forever (a resumed tiny run hung)."""
    import threading
    import time
    it = prefetched(iter(range(3)), depth=2)
    assert next(it) == 0
    time.sleep(0.5)                               # 1 and 2 queued, the end waiting for room
    closer = threading.Thread(target=it.close, daemon=True)
    closer.start()
    closer.join(5)
    assert not closer.is_alive()


def test_real_flow_cache_equals_the_flow():
    v = torch.rand(3, 3, 16, 32, 32) * 2 - 1
    cache = RealFlowCache()
    fn = lambda x: video_flow(x, iters=3, levels=1, out_size=8)
    a = cache(fn, v, torch.tensor([5, 7, 9]))
    b = cache(fn, v[[2, 0]], torch.tensor([9, 5]))         # served from the cache
    torch.testing.assert_close(a, fn(v))
    torch.testing.assert_close(b, a[[2, 0]])


def test_resume_is_exact_with_the_recipe(tmp_path):
    """Warm-up, cosine lr, EMA and the real-flow cache survive a kill + resume bit for bit."""
    cfg = tiny().replace(train=dict(steps=4, batch_size=2, checkpoint_every=2, log_every=1, gan_start=2,
                                    lr_schedule="cosine", ema=0.9),
                         model=dict(upsample="nearest", identity_skips=True), loss=dict(w_mouth=2.0))
    ds = SyntheticClipDataset(8, tiny())
    tr = Trainer(cfg, ds, tmp_path / "a", device="cpu", progress=False)
    tr.fit()
    want = (param_digest(tr.models), [p.clone() for p in tr.ema.net.parameters()])
    tr = Trainer(cfg, ds, tmp_path / "b", device="cpu", progress=False)
    assert tr.fit(stop_after=3)["stopped"]
    del tr
    torch.manual_seed(99)
    tr = Trainer(cfg, ds, tmp_path / "b", device="cpu", progress=False, resume=True)
    assert tr.step == 2
    tr.fit()
    assert param_digest(tr.models) == want[0]
    assert all(torch.equal(a, b) for a, b in zip(tr.ema.net.parameters(), want[1]))
    rows = (tmp_path / "b" / "train_log.csv").read_text().splitlines()
    assert len(rows) == 5 and float(rows[1].split(",")[rows[0].split(",").index("gen")]) == 0.0   # warm-up: no D


def test_keep_freed_memory_applies_on_glibc():
    import platform
    from lmg_lib.util.malloc import keep_freed_memory
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory() is True
