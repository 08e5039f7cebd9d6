"""Audio front end (LMS alignment, bad input) and the differentiable flow vs OpenCV Farneback."""
import numpy as np
import pytest
import soundfile as sf
import torch

from lmg_lib.data.audio import clip_lms, log_mel_spectrogram, mel_power, power_to_db_
from lmg_lib.util.audio_io import AudioError, load_audio
from lmg_lib.config import AudioConfig, paper
from lmg_lib.model.flow import horn_schunck, video_flow

CFG = AudioConfig()


def tone(seconds=1.0, sr=16000, f=220.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_lms_is_frame_aligned_and_clip_shaped():
    sr = 44100
    y = load_audio(tone(2.0, sr), sr=sr)
    assert len(y) == 32000
    lms = log_mel_spectrogram(y)
    assert lms.shape == (50 * 4, 128)
    assert lms.min() >= -1 and lms.max() <= 1
    assert clip_lms(lms, 34).shape == paper().lms_shape == (1, 64, 128)
    with pytest.raises(AudioError, match="runs past the audio"):
        clip_lms(lms, 35)


def test_lms_time_alignment_of_a_burst():
    """A burst of sound in video frame 10 lights up LMS steps 40..43, not elsewhere."""
    y = np.zeros(16000, np.float32) + 1e-4 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    y[10 * 640:11 * 640] += tone(0.04, f=1000.0) * 2
    lms = log_mel_spectrogram(y)
    energy = lms.mean(1)
    w = np.clip(energy - np.median(energy), 0, None)
    centroid = (w * np.arange(len(w))).sum() / w.sum()
    assert abs(centroid - 41.5) < 1.0, centroid          # frame 10 owns steps 40..43
    assert energy.argmax() in range(39, 45)


def test_long_speech_lms_in_blocks_equals_one_stft():
    """mel_power cuts long speech into STFT blocks (bounded memory); every block sees the samples
    its frames reach, so the spectrogram is the one-call one up to float rounding, including
    both ends and a length that is not a whole number of steps."""
    import librosa
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(16000 * 3 + 77) * np.sin(np.arange(16000 * 3 + 77) / 700)).astype(np.float32)
    whole = mel_power(y, CFG)                                         # one call: 301 steps
    assert whole.shape == (128, 1 + len(y) // CFG.hop_length)
    for block in (50, 100, 299):
        blocks = mel_power(y, CFG, block=block)
        assert blocks.shape == whole.shape and blocks.dtype == np.float32
        np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-6 * whole.max())
    S = rng.random((128, 300)).astype(np.float32) ** 8
    ref = librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=80.0)
    assert np.array_equal(power_to_db_(S, 80.0), ref)                 # in place, the same numbers

def test_stereo_and_any_rate(tmp_path):
    p = tmp_path / "st.wav"
    y = tone(1.0, 22050)
    sf.write(p, np.stack([y, y], 1), 22050)
    out = load_audio(p)
    assert out.ndim == 1 and len(out) == 16000


@pytest.mark.parametrize("kind,msg", [
    ("silent", "silent"), ("short", "too short"), ("nan", "NaN"), ("missing", "not found"),
    ("empty", "empty"), ("corrupt", "cannot read"),
])
def test_bad_audio_raises_clear_errors(tmp_path, kind, msg):
    p = tmp_path / "a.wav"
    if kind == "silent":
        sf.write(p, np.zeros(16000, np.float32), 16000)
    elif kind == "short":
        sf.write(p, tone(0.01), 16000)
    elif kind == "nan":
        y = tone(); y[5] = np.nan
        with pytest.raises(AudioError, match=msg):
            load_audio(y, sr=16000)
        return
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "corrupt":
        p.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(AudioError, match=msg):
        load_audio(p)


def _farneback(a, b):
    import cv2
    return cv2.calcOpticalFlowFarneback((a * 255).astype(np.uint8), (b * 255).astype(np.uint8), None,
                                        0.5, 3, 15, 3, 5, 1.2, 0)


@pytest.mark.parametrize("dx,dy", [(0.5, 0.0), (1.0, -0.5), (2.0, 1.0)])
def test_flow_matches_farneback_on_translation(dx, dy):
    from scipy.ndimage import gaussian_filter, shift
    rng = np.random.default_rng(0)
    base = gaussian_filter(rng.random((96, 96)), 2.0)
    base = (base - base.min()) / (base.max() - base.min())
    a, b = base[16:80, 16:80], shift(base, (dy, dx), mode="nearest")[16:80, 16:80]
    hs = horn_schunck(torch.tensor(a, dtype=torch.float32)[None, None],
                      torch.tensor(b, dtype=torch.float32)[None, None])[0].numpy()
    fb = _farneback(a, b)
    hs_mean = hs[:, 8:-8, 8:-8].mean((1, 2))
    fb_mean = fb[8:-8, 8:-8].mean((0, 1))
    assert np.allclose(hs_mean, fb_mean, atol=0.1 + 0.05 * np.hypot(dx, dy)), (hs_mean, fb_mean)
    assert np.allclose(hs_mean, [dx, dy], atol=0.15)


def test_flow_matches_farneback_on_an_opening_mouth():
    """A dark ellipse that opens vertically: both flows point up above and down below the centre."""
    import cv2
    frames = []
    for h in (6, 8):
        img = np.full((64, 64), 0.8, np.float32)
        cv2.ellipse(img, (32, 32), (16, h), 0, 0, 360, 0.1, -1)
        frames.append(cv2.GaussianBlur(img, (0, 0), 1.5))
    hs = horn_schunck(torch.tensor(frames[0])[None, None], torch.tensor(frames[1])[None, None])[0, 1].numpy()
    fb = _farneback(frames[0], frames[1])[..., 1]
    top, bottom = (slice(18, 28), slice(24, 40)), (slice(36, 46), slice(24, 40))
    for f in (hs, fb):
        assert f[top].mean() < -0.3 and f[bottom].mean() > 0.3
    r = np.corrcoef(hs.ravel(), fb.ravel())[0, 1]
    assert r > 0.7, r


def test_video_flow_of_a_static_video_is_zero():
    v = torch.rand(1, 3, 1, 64, 64).expand(1, 3, 4, 64, 64) * 2 - 1
    assert video_flow(v).abs().max() < 1e-5


def test_edge_pad_is_replicate_pad_with_identical_gradients():
    """flow.edge_pad replaces F.pad(mode="replicate") so that torch.compile can lower its backward;
    values and CPU gradients must stay bit-identical (the shipped runs' flow is unchanged)."""
    import torch.nn.functional as F
    from lmg_lib.model.flow import edge_pad
    g = torch.Generator().manual_seed(0)
    for shape, pad in [((3, 1, 20, 17), (2, 2, 0, 0)), ((3, 1, 20, 17), (0, 0, 2, 2)), ((2, 2, 9, 11), (1, 1, 1, 1))]:
        x = torch.randn(shape, generator=g, requires_grad=True)
        want = F.pad(x, pad, mode="replicate")
        got = edge_pad(x, *pad)
        w = torch.randn(want.shape, generator=g)
        assert torch.equal(got, want)
        assert torch.equal(*(torch.autograd.grad((y * w).sum(), x)[0] for y in (got, want)))
