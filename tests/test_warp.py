"""`lmg generate --view warp` (beyond the paper): the photo's own mouth moved by a piecewise-affine warp."""
import numpy as np
import pytest

from lmg_lib.corpus.render import Renderer, random_look
from lmg_lib.infer.warp import MouthWarper, crop_to_photo, inner_gap, smooth3, warp_stream


def _render(opening: float, size: int = 96):
    look = random_look(np.random.default_rng(3), tone=0.3)
    img, lm = Renderer(look, size)(np.array([opening, 0.5, 0.2, 0.8, 0.0]))
    return img, lm


def test_identity_target_returns_the_photo():
    img, lm = _render(0.1)
    w = MouthWarper(img, (8, 8, 80), lm, lm)
    out = w(lm)
    np.testing.assert_array_equal(out[:8], img[:8])                      # outside the box: the photo, exactly
    assert np.abs(out.astype(int) - img.astype(int)).max() <= 1         # inside: the identity warp


def test_warp_to_an_open_mouth_looks_like_the_open_mouth():
    """Warping a nearly closed mouth to the landmarks of an open one (same speaker) must come much
    closer to the rendered open mouth than the closed photo is, inside the mouth region."""
    closed, lm0 = _render(0.05)
    opened, lm1 = _render(0.8)
    assert inner_gap(lm1) > inner_gap(lm0) + 8
    w = MouthWarper(closed, (8, 8, 80), lm0, lm0)
    out = w(lm1)
    x0, y0 = np.floor(lm1.min(0)).astype(int) - 2
    x1, y1 = np.ceil(lm1.max(0)).astype(int) + 3
    err = lambda a: np.abs(a[y0:y1, x0:x1].astype(float) - opened[y0:y1, x0:x1]).mean()
    assert err(out) < 0.7 * err(closed), (err(out), err(closed))      # measured: 0.60
    cx, cy = lm1[[14, 18]].mean(0).round().astype(int)                   # the centre of the new opening
    assert out[cy, cx].mean() < 0.5 * closed[cy, cx].mean()              # dark: the synthesised cavity


def test_target_transfers_motion_and_clips_it():
    img, lm = _render(0.2)
    w = MouthWarper(img, (8, 8, 80), lm, lm + [5, 0])                      # rest shape 5 px to the right
    np.testing.assert_allclose(w.target(lm + [5, 0]), lm, atol=1e-4)      # at rest: the photo's mouth
    np.testing.assert_allclose(w.target(lm + [5, 2]), lm + [0, 2], atol=1e-4)
    far = w.target(lm + [5, 500])
    assert np.abs(far - lm).max() <= 0.35 * np.linalg.norm(lm[6] - lm[0]) + 1e-3


def test_stream_keeps_the_frame_count_and_smooths():
    img, lm = _render(0.2, 64)
    w = MouthWarper(img, (0, 0, 64), lm, lm)
    frames = [np.zeros((64, 64, 3), np.uint8)] * 5
    for n in (1, 2, 5):
        assert len(list(warp_stream(frames[:n], w, lambda f: lm, 64))) == n
    a, b, c = lm, lm + 4, lm + 8
    np.testing.assert_allclose(smooth3(a, b, c), b)
    np.testing.assert_allclose(crop_to_photo(np.array([[0.0, 0.0]]), (10, 20, 128), 64), [[10.5, 20.5]])


def test_generate_view_warp_writes_the_photo_with_its_mouth_moved(photo_files, tmp_path, capsys):
    """A random-weight tiny generator drives it here (the mechanics, not a result): the output is the
    whole photo, unchanged outside the mouth box."""
    from PIL import Image
    from lmg_lib.cli import main
    out, strip = tmp_path / "warp.mp4", tmp_path / "strip.png"
    rc = main(["generate", "--audio", str(photo_files / "speech.wav"), "--image", str(photo_files / "face.png"), "--out", str(out),
               "--checkpoint", str(photo_files / "tiny.safetensors"), "--view", "warp", "--strip", str(strip)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "--view warp" in cap.out
    first = np.asarray(Image.open(strip))[:, :512]
    face = np.asarray(Image.open(photo_files / "face.png"))
    np.testing.assert_array_equal(first[:100], face[:100])
    np.testing.assert_array_equal(first[300:], face[300:])


def test_generate_view_warp_refuses_a_lip_crop(photo_files, tmp_path, capsys):
    from lmg_lib.cli import main
    out = tmp_path / "x.mp4"
    rc = main(["generate", "--audio", str(photo_files / "speech.wav"), "--image", str(photo_files / "lip.png"), "--out", str(out),
               "--checkpoint", str(photo_files / "tiny.safetensors"), "--view", "warp"])
    err = capsys.readouterr().err
    assert rc == 4 and err.count("\n") == 1 and "--view warp needs a face photo" in err
    assert not out.exists()
