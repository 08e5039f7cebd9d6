"""Sync expert and LSE-D / LSE-C: shapes, the offset arithmetic on hand-made embeddings, the refusal
of too-short input, a short training on synthetic audio-driven mouths, and the shipped checkpoint.

No dependency on a preprocessed dataset: the synthetic utterances are a dark mouth whose height follows a random
"syllable" envelope, and an LMS whose loudness follows the same envelope (in sync at offset 0).
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lmg_lib.eval.sync_expert import (SyncConfig, SyncExpert, audio_windows, degrade, evaluate_sync_expert,
                                 load_sync_expert, prep_video, save_sync_expert, sync_curve, sync_metrics,
                                 train_sync_expert)

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "sync_expert.safetensors"
TINY = SyncConfig(pool=4, video_channels=(8, 16, 16, 16), audio_channels=(16, 16, 16), emb_dim=16)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)           # small convolutions: faster on one thread, and deterministic
    yield
    torch.set_num_threads(n)


def synthetic_utterance(n: int, seed: int, speaker: str = "s1") -> dict:
    """frames (n, 3, 64, 64) uint8, lms (4n, 128) in [-1, 1]; mouth height and loudness both follow
    one envelope e(t) in [0, 1] (syllables of 2-5 frames separated by 1-4 frames of silence)."""
    rng = np.random.default_rng(seed)
    e, t = np.zeros(n), int(rng.integers(0, 4))
    while t < n:
        d = int(rng.integers(2, 6))
        e[t:t + d] = rng.uniform(0.4, 1.0)
        t += d + int(rng.integers(1, 5))
    frames = np.full((n, 3, 64, 64), 200, np.uint8)
    for i, h in enumerate(2 + np.round(24 * e).astype(int)):
        frames[i, :, 32 - h // 2:32 - h // 2 + h, 16:48] = 40
    steps = np.repeat(e, 4)[:, None] * np.linspace(1.0, 0.3, 128)[None]           # (4n, 128)
    lms = -1 + 1.6 * steps + 0.05 * rng.standard_normal((4 * n, 128))
    return dict(name=f"{speaker}/u{seed}", speaker=speaker, lag_ms=80.0, frames=frames,
                lms=np.clip(lms, -1, 1).astype(np.float32))


def test_shapes_and_input_layouts():
    model = SyncExpert().eval()
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    u = synthetic_utterance(24, 0)
    v = model.embed_video(u["frames"].transpose(0, 2, 3, 1))                    # uint8 (N, 64, 64, 3)
    v2 = model.embed_video(torch.from_numpy(u["frames"]).float() / 127.5 - 1)   # float (N, 3, 64, 64)
    a = model.embed_audio(u["lms"])
    assert v.shape == a.shape == (20, 64)
    assert torch.allclose(v, v2, atol=1e-5) and torch.allclose(a.norm(dim=1), torch.ones(20))
    assert prep_video(u["frames"]).shape == (24, 32, 32)
    win = audio_windows(torch.from_numpy(u["lms"]), model.cfg)                  # window t = frames t..t+4
    assert win.shape == (20, 1, 20, 128) and torch.equal(win[3, 0], torch.from_numpy(u["lms"][12:32]))


@pytest.mark.parametrize("same_windows", [True, False])
@pytest.mark.parametrize("shift", [-4, 0, 3])
def test_curve_recovers_a_known_shift(shift, same_windows):
    """a_u = e_{u - shift}: video window t is matched by audio window t + shift exactly."""
    e = torch.nn.functional.normalize(torch.randn(60, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    v, a = e[10:40], e[10 - shift:40 - shift]
    score = sync_curve(v, a, max_offset=6, same_windows=same_windows)
    assert score.offset == shift and score.lse_d < 1e-6
    assert len(score.curve) == 13 and score.offsets == list(range(-6, 7))
    assert score.lse_c == pytest.approx(float(np.median(score.curve)) - min(score.curve))
    assert score.lse_c > 0.5                                   # random unit vectors: ~sqrt(2) apart


def test_too_short_input_is_refused():
    model, cfg = SyncExpert().eval(), SyncConfig()
    assert cfg.min_frames() == 20 and cfg.min_frames(same_windows=False) == 14 and cfg.min_frames(4) == 16
    u = synthetic_utterance(20, 1)
    assert len(sync_metrics(model, u["frames"], u["lms"]).curve) == 13
    with pytest.raises(ValueError, match="at least 20 frames"):
        sync_metrics(model, u["frames"][:19], u["lms"])
    with pytest.raises(ValueError, match="at least 20 frames"):                  # audio too short
        sync_metrics(model, u["frames"], u["lms"][:76])
    clip = (u["frames"][:16], u["lms"][:64])
    assert len(sync_metrics(model, *clip, max_offset=4).curve) == 9
    assert len(sync_metrics(model, *clip, same_windows=False).curve) == 13
    with pytest.raises(ValueError, match="at least 14 frames"):
        sync_metrics(model, u["frames"][:13], u["lms"], same_windows=False)


def test_degrade():
    f = synthetic_utterance(20, 2)["frames"]
    assert (degrade(f, "static") == f[:1]).all()
    assert degrade(f, "blur").shape == f.shape and degrade(f, "noise", 0).dtype == np.uint8
    assert np.array_equal(degrade(f, "noise", 5), degrade(f, "noise", 5))


def test_training_is_deterministic(one_thread):
    utts = [dict(synthetic_utterance(30, i), grey=None) for i in range(6)]
    for u in utts:
        u["grey"] = prep_video(u["frames"], TINY.pool).half()
    m1, log1 = train_sync_expert(utts, TINY, steps=3, batch_size=4, seed=1, progress=False, log_every=1)
    m2, log2 = train_sync_expert(utts, TINY, steps=3, batch_size=4, seed=1, progress=False, log_every=1)
    assert log1 == log2
    assert all(torch.equal(x, y) for x, y in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_short_training_detects_a_known_offset(one_thread, tmp_path):
    """Trained on synthetic utterances in sync, the expert finds an audio delay of +2 frames on
    held-out ones; the same network untrained does not. Then a save/load round trip."""
    train = [synthetic_utterance(40, i) for i in range(32)]
    for u in train:
        u["grey"] = prep_video(u["frames"], TINY.pool).half()
    model, log = train_sync_expert(train, TINY, steps=100, batch_size=16, lr=3e-3, seed=0,
                                   progress=False, log_every=50)
    assert log[-1]["loss"] < log[0]["loss"]
    held_out = [synthetic_utterance(40, 1000 + i, speaker=f"s{i % 2}") for i in range(8)]

    def detected(m, s):                                          # audio late by s frames
        return [sync_metrics(m, u["frames"][s:], u["lms"][:4 * (40 - s)]).offset for u in held_out]

    assert np.mean(np.array(detected(model, 2)) == 2) >= 0.875
    assert np.mean(np.array(detected(model, 0)) == 0) >= 0.875
    torch.manual_seed(0)
    assert np.mean(np.array(detected(SyncExpert(TINY).eval(), 2)) == 2) < 0.5
    rep = evaluate_sync_expert(model, held_out, shifts=[-2, 0, 2])
    assert rep["utterance"]["exact"] >= 0.875 and rep["paired"]["lse_c_true_above_static"] >= 0.875
    assert rep["conditions"]["true"]["lse_c"] > rep["conditions"]["static"]["lse_c"]

    path = save_sync_expert(model, tmp_path / "se.safetensors", {"accuracy": {"x": 1}})
    loaded, meta = load_sync_expert(path)
    assert meta["accuracy"] == {"x": 1} and loaded.cfg == TINY
    u = held_out[0]
    assert torch.allclose(loaded.embed_video(u["frames"]), model.embed_video(u["frames"]), atol=2e-2)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped checkpoints/sync_expert.safetensors")
def test_shipped_checkpoint_carries_its_accuracy():
    assert SHIPPED.stat().st_size < 500_000
    model, meta = load_sync_expert(SHIPPED)
    for key in ("command", "seed", "train_cpu_s", "accuracy", "manifest_fingerprint"):
        assert key in meta, key
    acc = meta["accuracy"]
    for split in ("val", "test"):
        assert 0 <= acc[split]["utterance"]["exact"] <= acc[split]["utterance"]["within1"] <= 1
        c = acc[split]["conditions"]
        assert c["true"]["lse_c"] > c["shuffled"]["lse_c"] and c["true"]["lse_c"] > c["static"]["lse_c"]
    report = SHIPPED.with_suffix(".json")
    if report.is_file():
        assert json.loads(report.read_text())["accuracy"] == acc
    u = synthetic_utterance(24, 3)
    assert sync_metrics(model, u["frames"], u["lms"]).lse_d >= 0
