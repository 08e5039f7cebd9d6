"""`lmg generate` and lmg_lib.infer: end to end, bad inputs, fast path equivalence, seams."""
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lmg_lib import infer as inf
from lmg_lib.cli import main
from lmg_lib.config import ModelConfig, tiny
from lmg_lib.model.generator import LipGenerator

SR = 16000


def tone_bursts(seconds: float, seed: int = 0) -> np.ndarray:
    """A syllable-like sequence: 220 Hz + harmonics, amplitude-modulated at ~4 Hz, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SR))) / SR
    env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    y = env * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 440 * t)) * 0.3
    return (y + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


def _randomise_bn(G):
    g = torch.Generator().manual_seed(1)
    for m in G.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.4 - 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
    return G.eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import soundfile as sf
    from PIL import Image
    import skimage.data
    from lmg_lib.train.checkpoints import export_network
    d = tmp_path_factory.mktemp("generate")
    torch.manual_seed(0)
    cfg = tiny()
    export_network(_randomise_bn(LipGenerator(cfg.model)), cfg, d / "tiny.safetensors")
    sf.write(d / "speech.wav", tone_bursts(1.23), SR)
    sf.write(d / "short.wav", tone_bursts(0.30), SR)
    sf.write(d / "tooshort.wav", tone_bursts(0.02), SR)
    sf.write(d / "silent.wav", np.zeros(SR, np.float32), SR)
    (d / "empty.wav").write_bytes(b"")
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 50)
    face = skimage.data.astronaut()                               # 512x512 real frontal face
    Image.fromarray(face).save(d / "face.png")
    Image.fromarray(face[250:330, 180:260]).save(d / "lip.png")   # an 80x80 crop around the mouth
    Image.fromarray(face[250:330, 180:260]).convert("L").save(d / "lip_gray.png")
    Image.fromarray(face[250:330, 180:260]).convert("RGBA").save(d / "lip_rgba.png")
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8)
    Image.fromarray(noise).save(d / "noise.png")                  # no face, too large for a lip crop
    Image.fromarray(noise[:200, :200]).save(d / "noise_small.png")    # no face, lip-crop sized
    Image.fromarray(noise[:40, :120]).save(d / "wide.png")        # no face, too elongated
    (d / "notimage.png").write_text("this is not a png\n")
    (d / "blocker").write_text("a file where a folder is expected\n")
    return d


def _run(capsys, *argv):
    rc = main(list(map(str, argv)))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _audio_seconds(path) -> float:
    import av
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return sum(f.samples for f in c.decode(s)) / s.rate


# ---------------------------------------------------------------------------------------------
# end to end

def test_generate_lip_crop_end_to_end(files, tmp_path, capsys):
    from lmg_lib.util.video_io import probe
    out = tmp_path / "out" / "lips.mp4"
    rc, stdout, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / "lip.png",
                           "--out", out, "--checkpoint", files / "tiny.safetensors", "--threads", 2)
    assert rc == 0, err
    info = probe(out)
    assert info["n_frames"] == math.ceil(1.23 * 25) == 31
    assert (info["width"], info["height"], info["fps"]) == (64, 64, 25.0)
    assert info["has_audio"]
    assert abs(_audio_seconds(out) - 1.23) <= 1024 / 16000 + 1e-3      # within one AAC frame
    assert _leftovers(out.parent) == ["lips.mp4"]
    assert "wrote" in stdout and "tiny.safetensors (tiny recipe)" in stdout     # the recipe its header has


def test_generate_face_side_by_side_and_strip(files, tmp_path, capsys):
    from lmg_lib.util.video_io import probe
    out, strip = tmp_path / "face.mp4", tmp_path / "strip.png"
    rc, _, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / "face.png",
                      "--out", out, "--checkpoint", files / "tiny.safetensors", "--side-by-side",
                      "--strip", strip)
    assert rc == 0, err
    assert "lip region found" in err
    info = probe(out)
    assert info["n_frames"] == 31 and info["height"] == inf.SIDE_BY_SIDE_HEIGHT
    assert info["width"] == 2 * inf.SIDE_BY_SIDE_HEIGHT                 # square face + square lips
    from PIL import Image
    assert Image.open(strip).size == (16 * 64, 64)
    assert _leftovers(tmp_path) == ["face.mp4", "strip.png"]


def test_short_audio_is_padded_with_a_warning(files, tmp_path, capsys):
    from lmg_lib.util.video_io import probe
    out = tmp_path / "short.mp4"
    rc, _, err = _run(capsys, "generate", "--audio", files / "short.wav", "--image", files / "lip_gray.png",
                      "--out", out, "--checkpoint", files / "tiny.safetensors")
    assert rc == 0, err
    assert "shorter than one clip" in err and "grayscale" in err
    assert probe(out)["n_frames"] == math.ceil(0.30 * 25)


def test_shipped_checkpoint_end_to_end_on_real_speech(tmp_path, capsys):
    """The committed checkpoint, the default --checkpoint, on espeak-ng speech and a corpus-style lip."""
    import soundfile as sf
    from PIL import Image
    from lmg_lib.corpus.render import random_look, render_sequence
    from lmg_lib.corpus.speech import Voice, synthesize
    from lmg_lib.corpus.visemes import mouth_parameters
    from lmg_lib.train.checkpoints import resolve_checkpoint
    from lmg_lib.util.video_io import probe
    assert resolve_checkpoint(None).is_file(), "the shipped checkpoint is missing from checkpoints/"
    sp = synthesize("lay green with e nine soon", Voice("en-us+m3"))
    wav = tmp_path / "speech.wav"
    sf.write(wav, sp.audio, sp.sample_rate)
    seconds = len(sp.audio) / sp.sample_rate
    look = random_look(np.random.default_rng(3))
    rest = mouth_parameters(sp.phonemes, 1, lag_ms=0.0)                    # frame 0: silence, lips at rest
    frames, _ = render_sequence(rest, look, size=64, rng=np.random.default_rng(0))
    Image.fromarray(frames[0]).save(tmp_path / "lip.png")
    out = tmp_path / "speech.mp4"
    rc, _, err = _run(capsys, "generate", "--audio", wav, "--image", tmp_path / "lip.png", "--out", out)
    assert rc == 0, err
    info = probe(out)
    assert info["n_frames"] == math.ceil(seconds * 25) and info["has_audio"]
    assert abs(_audio_seconds(out) - seconds) <= 1024 / 16000 + 1e-3
    assert _leftovers(tmp_path) == ["lip.png", "speech.mp4", "speech.wav"]


def test_info_still_works(capsys):
    rc, out, _ = _run(capsys, "info", "--presets", "tiny")
    assert rc == 0 and "[tiny]" in out


# ---------------------------------------------------------------------------------------------
# bad inputs: one line on stderr, the documented exit code, no file left behind

BAD = [  # (id, argument overrides, exit code, message fragment)
    ("audio-missing", {"--audio": "nothere.wav"}, 3, "not found"),
    ("audio-empty", {"--audio": "empty.wav"}, 3, "empty"),
    ("audio-corrupt", {"--audio": "corrupt.wav"}, 3, "cannot read"),
    ("audio-silent", {"--audio": "silent.wav"}, 3, "silent"),
    ("audio-too-short", {"--audio": "tooshort.wav"}, 3, "too short"),
    ("image-missing", {"--image": "nothere.png"}, 4, "not found"),
    ("image-not-an-image", {"--image": "notimage.png"}, 4, "not an image"),
    ("image-no-face", {"--image": "noise.png", "--image-kind": "face"}, 4, "no face found"),
    ("image-no-face-small-but-face-required", {"--image": "noise_small.png", "--image-kind": "face"}, 4,
     "--image-kind lips"),
    ("image-auto-no-face-too-large", {"--image": "noise.png"}, 4, "--image-kind lips"),
    ("image-auto-no-face-elongated", {"--image": "wide.png"}, 4, "too large or too elongated"),
    ("checkpoint-missing", {"--checkpoint": "nothere.safetensors"}, 5, "train one"),
    ("checkpoint-corrupt", {"--checkpoint": "corrupt.wav"}, 5, "checkpoint"),
    ("checkpoint-other-config", {"--config": "paper"}, 5, "made for config 'tiny'"),
    ("output-unwritable", {"--out": "blocker/out.mp4"}, 6, "cannot write"),
    ("output-not-mp4", {"--out": "out.avi"}, 6, ".mp4"),
    ("output-is-dir", {"--out": "."}, 6, "mp4"),
    ("usage-threads", {"--threads": "0"}, 2, "--threads"),
    ("usage-kind", {"--image-kind": "body"}, 2, "invalid choice"),
    ("usage-missing-arg", {"--audio": None}, 2, "required"),
]


@pytest.mark.parametrize("name,over,code,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs(files, tmp_path, capsys, name, over, code, fragment):
    work = tmp_path / "w"
    work.mkdir()
    (work / "blocker").write_text("x")
    args = {"--audio": files / "speech.wav", "--image": files / "lip.png", "--out": work / "out.mp4",
            "--checkpoint": files / "tiny.safetensors"}
    for k, v in over.items():
        if v is None:
            args.pop(k)
        elif k in ("--audio", "--image", "--checkpoint"):
            args[k] = files / v
        elif k == "--out":
            args[k] = work / v
        else:
            args[k] = v
    argv = ["generate"] + [str(x) for kv in args.items() for x in kv] + ["--strip", str(work / "strip.png")]
    rc, out, err = _run(capsys, *argv)
    assert rc == code, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("lmg: error:"), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert _leftovers(work) == ["blocker"]                       # nothing written, no temp files


def test_failure_while_writing_leaves_nothing(files, tmp_path, capsys, monkeypatch):
    import contextlib
    import lmg_lib.util.video_io as vio

    @contextlib.contextmanager
    def broken(path, *a, **kw):                                  # writes half a file, then fails
        Path(path).write_bytes(b"\x00" * 100)
        yield lambda frame: None
        raise vio.VideoError("disk full (simulated)")
    monkeypatch.setattr(vio, "video_writer", broken)
    out, strip = tmp_path / "o.mp4", tmp_path / "s.png"
    rc, _, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / "lip.png",
                      "--out", out, "--strip", strip, "--checkpoint", files / "tiny.safetensors")
    assert rc == 6 and "disk full" in err
    assert _leftovers(tmp_path) == []


def test_failure_while_generating_leaves_nothing(files, tmp_path, capsys, monkeypatch):
    """Frames are encoded as they are generated: a failure after the first windows (ffmpeg has
    started) still leaves no file behind."""
    import lmg_lib.infer.generate as gen
    real = gen._window_clips

    def fails_later(*a, **kw):
        it = real(*a, **kw)
        yield next(it)
        raise RuntimeError("out of memory (simulated)")
    monkeypatch.setattr(gen, "_window_clips", fails_later)
    out, strip = tmp_path / "o.mp4", tmp_path / "s.png"
    rc, _, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / "lip.png",
                      "--out", out, "--strip", strip, "--checkpoint", files / "tiny.safetensors", "--batch", 1)
    assert rc == 7 and "out of memory" in err
    assert _leftovers(tmp_path) == []


def test_streamed_outputs_equal_the_all_at_once_outputs(files, tmp_path, capsys):
    """`lmg generate` streams frames into the writer; its mp4 and strip are byte-for-byte those
    written from generate_video's array, and the mp4 is tagged as generated."""
    import av
    from lmg_lib.train.checkpoints import load_generator
    out, strip = tmp_path / "cli.mp4", tmp_path / "cli.png"
    rc, _, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / "face.png",
                      "--out", out, "--strip", strip, "--side-by-side", "--checkpoint", files / "tiny.safetensors")
    assert rc == 0, err
    G, cfg, _ = load_generator(files / "tiny.safetensors")
    img = inf.lip_image_from(files / "face.png", cfg.model.image_size)
    frames = inf.generate_video(G, cfg, files / "speech.wav", img["lip"])
    n = inf.write_outputs(tmp_path / "ref.mp4", frames, files / "speech.wav", side_by_side=img,
                          strip=tmp_path / "ref.png")
    assert n == len(frames) == 31
    assert out.read_bytes() == (tmp_path / "ref.mp4").read_bytes()
    assert strip.read_bytes() == (tmp_path / "ref.png").read_bytes()
    with av.open(str(out)) as c:
        assert c.metadata.get("comment") == inf.GENERATED_COMMENT
        assert "generated by lmg" in inf.GENERATED_COMMENT


def test_image_channels():
    notes = []
    assert inf.load_image(np.zeros((10, 12), np.uint8), notes).shape == (10, 12, 3)
    assert inf.load_image(np.zeros((10, 12, 4), np.uint8), notes).shape == (10, 12, 3)
    assert any("grayscale" in n for n in notes) and any("alpha" in n for n in notes)
    with pytest.raises(inf.ImageError, match="got shape"):
        inf.load_image(np.zeros((10, 12, 5), np.uint8))


def test_rgba_file_drops_alpha(files):
    notes = []
    out = inf.lip_image_from(files / "lip_rgba.png", 64, "lip", notes)
    assert out["lip"].shape == (64, 64, 3) and out["lip"].dtype == np.uint8
    assert any("alpha" in n for n in notes)



def test_image_kind_rules(files):
    """auto: a small square image is a lip crop without a face search; a larger one with no face
    is a lip crop only while it could be one (<= 256 px, aspect 0.5-2); lips takes any image."""
    import lmg_lib.infer.images as im
    assert im.lip_shaped(80, 80, im.LIP_MAX_SIDE) and im.lip_shaped(256, 128, im.LIP_CROP_MAX_SIDE)
    assert not im.lip_shaped(257, 200, im.LIP_CROP_MAX_SIDE) and not im.lip_shaped(120, 40, im.LIP_CROP_MAX_SIDE)
    out = inf.lip_image_from(files / "lip.png", 64)                                # 80x80: a lip crop
    assert out["kind"] == "lip" and out["lip"].shape == (64, 64, 3)
    notes = []
    out = inf.lip_image_from(files / "noise_small.png", 64, "auto", notes)        # 200x200, no face
    assert out["kind"] == "lip" and any("no face found" in n for n in notes)
    for kind in ("lips", "lip"):                                                   # lip: the old name
        assert inf.lip_image_from(files / "noise.png", 64, kind)["kind"] == "lip"
    with pytest.raises(inf.ImageError, match="--image-kind lips"):
        inf.lip_image_from(files / "noise.png", 64, "auto")
    with pytest.raises(ValueError, match="image kind"):
        inf.lip_image_from(files / "lip.png", 64, "body")


def test_image_kind_lips_takes_any_image(files, tmp_path, capsys):
    out = tmp_path / "noise.mp4"
    rc, _, err = _run(capsys, "generate", "--audio", files / "short.wav", "--image", files / "noise.png",
                      "--image-kind", "lips", "--out", out, "--checkpoint", files / "tiny.safetensors")
    assert rc == 0, err
    assert _leftovers(tmp_path) == ["noise.mp4"]

# ---------------------------------------------------------------------------------------------
# fast generator == plain generator

def _equivalence(mcfg: ModelConfig, B: int) -> float:
    torch.manual_seed(0)
    G = _randomise_bn(LipGenerator(mcfg))
    lms = torch.rand(B, 1, 4 * mcfg.n_frames, 128) * 2 - 1
    lip = (torch.rand(1, 3, 64, 64) * 2 - 1).expand(B, -1, -1, -1)
    with torch.inference_mode():
        ref, fs_ref = G(lms, lip)
        out, fs = inf.fast_generator(G)(lms, lip)
    assert out.shape == ref.shape and fs.shape == fs_ref.shape
    return (out - ref).abs().max().item()


def test_fast_generator_equals_plain_tiny():
    assert _equivalence(tiny().model, B=3) < 1e-4


def test_fast_generator_equals_plain_paper_width():
    """Paper width (32 -> 256 channels, k7 output conv), one window; 1 residual block to keep the
    plain reference quick (every residual block is the same kind of layer)."""
    assert _equivalence(ModelConfig(n_res_blocks=1), B=1) < 1e-4


@pytest.mark.parametrize("upsample,skips", [("nearest", False), ("nearest", True)])
def test_fast_generator_equals_plain_nearest_and_skips(upsample, skips):
    assert _equivalence(ModelConfig(width=4, n_res_blocks=2, out_kernel=3, upsample=upsample,
                                    identity_skips=skips), B=2) < 1e-4


def test_fast_generator_equals_plain_on_the_shipped_checkpoint():
    from lmg_lib.train.checkpoints import load_generator
    from lmg_lib.util.paths import SHIPPED_CHECKPOINTS
    path = SHIPPED_CHECKPOINTS / "full" / "generator.safetensors"
    if not path.exists():
        pytest.skip("no shipped full model")
    G, cfg, _ = load_generator(path)
    lms = torch.rand(2, *cfg.lms_shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    lip = (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1).expand(2, -1, -1, -1)
    with torch.inference_mode():
        G.fast_forms = False                       # the paper's forms
        ref = G(lms, lip)[0]
        out = inf.fast_generator(G)(lms, lip)[0]
    assert ref.std() > 0.05 and (out - ref).abs().max() < 1e-4


class _OtherAudioEncoder(torch.nn.Module):
    """Another audio encoder with the same output (B, C, T, F): no layers(), nothing to fold."""

    def __init__(self, C: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, C, 5, 1, 2)

    def forward(self, lms):                        # (B, 1, 64, 128) -> (B, C, 16, 16)
        return torch.nn.functional.adaptive_avg_pool2d(torch.tanh(self.conv(lms)), (16, 16))


def test_fast_path_with_another_audio_encoder():
    """The fast path runs the encoders as they are: a swapped audio encoder works there as in the
    plain generator, with the same result."""
    torch.manual_seed(0)
    G = _randomise_bn(LipGenerator(tiny().model))
    G.audio_encoder = _OtherAudioEncoder(tiny().model.feature_dim)
    lms, lip = torch.rand(2, 1, 64, 128) * 2 - 1, (torch.rand(1, 3, 64, 64) * 2 - 1).expand(2, -1, -1, -1)
    with torch.inference_mode():
        ref = G.eval()(lms, lip)[0]
        out = inf.fast_generator(G)(lms, lip)[0]
    assert (out - ref).abs().max() < 1e-4


class _OtherBlock(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = torch.nn.Conv3d(c, c, 3, 1, 1)

    def forward(self, x):
        return x + torch.relu(self.conv(x))


def _swap(G, where: str):
    """G with one decoder stage replaced by a module the fast path cannot fold."""
    c = G.cfg.feature_dim
    if where == "res":                             # a residual block of another kind
        G.decoder.res[1] = _OtherBlock(c)
    elif where == "res_layers":                    # a ResBlock3d whose layers are not conv-BN-ReLU-conv-BN
        G.decoder.res[0].body[1] = torch.nn.GroupNorm(2, c)
    elif where == "out":                           # an output stage with other layers
        G.decoder.out = torch.nn.Sequential(G.decoder.out[0], torch.nn.Sigmoid())
    return G


@pytest.mark.parametrize("where,name", [("res", "G.decoder.res.1 (_OtherBlock)"),
                                        ("res_layers", "G.decoder.res.0 (ResBlock3d)"),
                                        ("out", "G.decoder.out (Sequential)")])
def test_fast_path_names_the_module_it_cannot_fold(files, where, name):
    """Never a wrong result: one line naming the module; the plain path still generates."""
    from lmg_lib.train.checkpoints import load_generator
    G, cfg, _ = load_generator(files / "tiny.safetensors")
    G = _swap(G, where)
    lip = np.asarray(__import__("PIL.Image").Image.open(files / "lip.png").convert("RGB"))
    y = tone_bursts(0.7)
    with pytest.raises(inf.FoldError) as e:
        inf.generate_video(G, cfg, (y, SR), lip, fast=True)
    msg = str(e.value)
    assert "\n" not in msg and f"cannot fold {name}" in msg and "--plain" in msg
    assert inf.generate_video(G, cfg, (y, SR), lip, fast=False).shape == (math.ceil(0.7 * 25), 64, 64, 3)


def test_cli_generate_says_its_fast_path_cannot_fold(files, tmp_path, capsys, monkeypatch):
    import lmg_lib.cli.commands as commands
    load = commands._load_checkpoint
    monkeypatch.setattr(commands, "_load_checkpoint",
                        lambda *a, **k: (lambda G, *rest: (_swap(G, "res"), *rest))(*load(*a, **k)))
    args = ("generate", "--audio", files / "speech.wav", "--image", files / "lip.png",
            "--checkpoint", files / "tiny.safetensors")
    rc, _, err = _run(capsys, *args, "--out", tmp_path / "fast.mp4", "--fast")
    assert rc != 0 and "cannot fold G.decoder.res.1" in err and len(err.strip().splitlines()) == 1, err
    assert _leftovers(tmp_path) == []
    rc, _, err = _run(capsys, *args, "--out", tmp_path / "plain.mp4", "--plain")
    assert rc == 0, err
    assert _leftovers(tmp_path) == ["plain.mp4"]


def test_generate_video_api(files):
    from lmg_lib.train.checkpoints import load_generator
    G, cfg, _ = load_generator(files / "tiny.safetensors")
    lip = np.asarray(__import__("PIL.Image").Image.open(files / "lip.png").convert("RGB"))
    y = tone_bursts(2.05)
    fast = inf.generate_video(G, cfg, (y, SR), lip, fast=True)
    plain = inf.generate_video(G, cfg, y, lip, fast=False)
    assert fast.shape == (math.ceil(2.05 * 25), 64, 64, 3) and fast.dtype == np.uint8
    assert np.abs(fast.astype(int) - plain.astype(int)).max() <= 1    # rounding to uint8 only


@pytest.mark.parametrize("width,fast", [(8, False), (31, False), (32, True)])
def test_default_path_is_the_one_measured_faster_for_the_width(files, width, fast, monkeypatch):
    """fast=None: the fast path from FAST_MIN_WIDTH on (measured 2.08x at width 32, 0.29x at 8)."""
    from lmg_lib.infer import generate as gen
    from lmg_lib.train.checkpoints import load_generator
    G, cfg, _ = load_generator(files / "tiny.safetensors")
    cfg = cfg.replace(model=dict(width=width))
    assert gen.FAST_MIN_WIDTH == 32 and gen.fast_pays(cfg, torch.device("cpu")) is fast
    assert not gen.fast_pays(cfg, torch.device("cuda"))
    lip = np.asarray(__import__("PIL.Image").Image.open(files / "lip.png").convert("RGB"))
    w = gen._windows(G, cfg, (tone_bursts(0.7), SR), lip, 4, None, torch.device("cpu"))
    assert isinstance(w.model, inf.FastGenerator) is fast


@pytest.mark.parametrize("seconds,overlap,batch", [(2.05, 4, 4), (2.05, 8, 3), (0.30, 4, 4), (1.23, 0, 1)])
def test_stream_video_equals_generate_video(files, seconds, overlap, batch):
    """The streamed frames are generate_video's, exactly, in order (long, short and padded speech)."""
    from lmg_lib.train.checkpoints import load_generator
    G, cfg, _ = load_generator(files / "tiny.safetensors")
    lip = np.asarray(__import__("PIL.Image").Image.open(files / "lip.png").convert("RGB"))
    with pytest.warns(UserWarning) if seconds < 0.64 else __import__("contextlib").nullcontext():
        speech = inf.speech_lms(tone_bursts(seconds), cfg)
    ref = inf.generate_video(G, cfg, speech, lip, overlap=overlap, batch=batch)
    frames = list(inf.stream_video(G, cfg, speech, lip, overlap=overlap, batch=batch))
    assert len(frames) == len(ref) == speech.n_frames == math.ceil(seconds * 25)
    assert all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert np.array_equal(np.stack(frames), ref)


# ---------------------------------------------------------------------------------------------
# windows and seams

@pytest.mark.parametrize("n", [1, 15, 16, 17, 28, 29, 31, 75, 100])
@pytest.mark.parametrize("overlap", [0, 4, 8])
def test_windows_cover_and_weights_sum_to_one(n, overlap):
    starts = inf.window_starts(n, 16, overlap)
    covered = np.zeros(max(n, 16), int)
    for s in starts:
        covered[s:s + 16] += 1
    assert covered.min() >= 1 and starts[0] == 0 and starts[-1] + 16 == max(n, 16)
    w = inf.blend_weights(starts, n, 16)
    total = np.zeros(max(n, 16))
    for s, wi in zip(starts, w):
        total[s:s + 16] += wi
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert (w > 0).all()


def test_blending_removes_seams():
    """Windows of a smooth signal, each with its own offset (a seam): cross-fading spreads the
    offset over the overlap, so the largest frame-to-frame step is much smaller than the seam."""
    n, overlap = 75, 4
    starts = inf.window_starts(n, 16, overlap)
    smooth = np.sin(np.arange(n) / 10.0)
    offsets = np.where(np.arange(len(starts)) % 2 == 0, 0.0, 0.3)
    clips = np.stack([smooth[s:s + 16] + o for s, o in zip(starts, offsets)])[..., None]
    blended = inf.blend_windows(clips, starts, n)[:, 0]
    within = np.abs(np.diff(smooth)).max()
    assert np.abs(np.diff(blended)).max() < within + 0.3 / 2    # seam spread over >= 4 frames
    # without overlap the seam is a full 0.3 step
    starts0 = inf.window_starts(n, 16, 0)
    clips0 = np.stack([smooth[s:s + 16] + o for s, o in zip(starts0, offsets[:len(starts0)])])[..., None]
    assert np.abs(np.diff(inf.blend_windows(clips0, starts0, n)[:, 0])).max() > 0.25


@pytest.mark.parametrize("n", [1, 15, 16, 17, 29, 31, 75])
@pytest.mark.parametrize("overlap", [0, 4, 8])
def test_blend_stream_equals_blend_windows(n, overlap):
    """Streamed blending yields blend_windows' frames exactly, each once every window covering it is in."""
    starts = inf.window_starts(n, 16, overlap)
    clips = np.random.default_rng(n).standard_normal((len(starts), 16, 3, 2)).astype(np.float32)
    seen = []

    def clip_iter():
        for i, c in enumerate(clips):
            seen.append(i)
            yield c
    out = []
    for f in inf.blend_stream(clip_iter(), starts, n):
        # frame len(out) is final: no window still to come covers it
        assert all(starts[j] > len(out) for j in range(len(seen), len(starts)))
        out.append(f)
    assert np.array_equal(np.stack(out), inf.blend_windows(clips, starts, n))
    with pytest.raises(ValueError, match="clips for"):
        list(inf.blend_stream(iter(clips[:-1]), starts, n))


def test_checkpoint_spec_names_a_shipped_run(tmp_path, monkeypatch):
    """``--checkpoint ablation_l1`` is the shipped run's generator; a path wins over a name, and an
    unknown name stays a (missing) path, which the CLI refuses with its one-line error."""
    from lmg_lib.train.checkpoints import resolve_checkpoint
    from lmg_lib.util.paths import in_repo
    assert resolve_checkpoint("ablation_l1") == in_repo("checkpoints/ablation_l1/generator.safetensors")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ablation_l1").write_bytes(b"")
    assert resolve_checkpoint("ablation_l1") == Path("ablation_l1")
    assert resolve_checkpoint("no_such_run") == Path("no_such_run")


def test_default_model_by_input_kind(files, tmp_path, capsys):
    """Without --checkpoint, a face photo gets the photo-style model (photo_full) and a lip crop the
    shipped full model (util.paths.SHIPPED_FULL): the strips equal those of the named runs, and the
    two models differ. Strips are compared by digest (a failed == on two images' bytes would make
    pytest diff them for minutes)."""
    import hashlib
    from lmg_lib.util.paths import SHIPPED_FULL
    def strip(image, *extra):
        out, png = tmp_path / "o.mp4", tmp_path / f"{len(list(tmp_path.iterdir()))}.png"
        rc, _, err = _run(capsys, "generate", "--audio", files / "speech.wav", "--image", files / image,
                          "--out", out, "--strip", png, *extra)
        assert rc == 0, err
        out.unlink()
        return hashlib.sha256(png.read_bytes()).hexdigest(), err
    face_default, err = strip("face.png")
    assert "photographic corpus style (photo_full" in err
    assert face_default == strip("face.png", "--checkpoint", "photo_full")[0]
    face_full, err = strip("face.png", "--checkpoint", SHIPPED_FULL)
    assert face_full != face_default and "photo_full" not in err
    lip_default, err = strip("lip.png")
    assert "photo_full" not in err
    assert lip_default == strip("lip.png", "--checkpoint", SHIPPED_FULL)[0]
