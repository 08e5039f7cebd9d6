"""`lmg generate --view face` (beyond the paper): generated lips pasted back into the photo."""
import numpy as np
import pytest

from lmg_lib.cli import main
from lmg_lib.infer.paste import FEATHER, FacePaster, colour_match, paste_stream, ring_mask, soft_mask


def _run(capsys, *argv):
    rc = main(list(map(str, argv)))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# ---------------------------------------------------------------------------------------------
# the mask and the paste

def test_soft_mask_is_one_inside_zero_at_the_edge_and_smooth():
    m = soft_mask(57)
    assert m.shape == (57, 57) and m.dtype == np.float32
    assert m[28, 28] == 1.0 and m.max() == 1.0 and m.min() == 0.0
    assert (m[0] == 0).all() and (m[-1] == 0).all() and (m[:, 0] == 0).all() and (m[:, -1] == 0).all()
    np.testing.assert_array_equal(m, m[::-1]); np.testing.assert_array_equal(m, m.T)
    # smooth: no step larger than a raised cosine over the feather band allows (~pi/2 / band px)
    band = (FEATHER - 0.7) * 57 / 2
    steps = max(np.abs(np.diff(m, axis=0)).max(), np.abs(np.diff(m, axis=1)).max())
    assert steps <= np.pi / 2 / band * 1.2
    # falls monotonically from the centre along the middle row
    row = m[28, 28:]
    assert (np.diff(row) <= 1e-7).all()


def test_ring_lies_where_the_mask_blends_and_off_the_mouth():
    r, m = ring_mask(64), soft_mask(64)
    assert r.any()
    assert (m[r] < 1).all() and (m[r] > 0).all()                        # in the feather band only
    assert not r[24:40, 12:52].any()                                     # the mouth (box middle)


def test_colour_match_moves_ring_statistics_to_the_reference():
    import cv2
    rng = np.random.default_rng(0)
    ref = rng.integers(90, 200, (40, 40, 3), np.uint8)
    src = np.clip(ref.astype(int) // 2 + 60, 0, 255).astype(np.uint8)   # a duller, shifted copy
    where = np.ones((40, 40), bool)
    out = (colour_match(src, ref, where) * 255).round().astype(np.uint8)
    lab = lambda a: cv2.cvtColor(a.astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    before = np.abs(lab(src).mean(0) - lab(ref).mean(0)).max()
    after = np.abs(lab(out).mean(0) - lab(ref).mean(0)).max()
    assert after < 1.0 < before


def test_paste_keeps_the_photo_outside_the_box_exactly():
    import skimage.data
    face = skimage.data.astronaut()
    box = (194, 119, 57)
    p = FacePaster(face, box)
    crop = np.full((64, 64, 3), (200, 30, 40), np.uint8)                 # a loud red crop
    out = p(crop)
    assert out.shape == face.shape and out.dtype == np.uint8
    outside = np.ones(face.shape[:2], bool)
    outside[119:119 + 57, 194:194 + 57] = False
    np.testing.assert_array_equal(out[outside], face[outside])
    assert np.abs(out[140:156, 210:235].astype(int) - face[140:156, 210:235]).mean() > 5   # the mouth changed
    frames = list(paste_stream(iter([crop, crop]), p))
    assert len(frames) == 2 and np.array_equal(frames[0], out)


def test_paste_clips_a_box_that_leaves_the_photo():
    img = np.full((50, 60, 3), 128, np.uint8)
    p = FacePaster(img, (40, 30, 40))                                    # reaches past both edges
    out = p(np.zeros((64, 64, 3), np.uint8))
    assert out.shape == img.shape
    np.testing.assert_array_equal(out[:30], img[:30])
    with pytest.raises(ValueError, match="outside"):
        FacePaster(img, (100, 100, 10))


# ---------------------------------------------------------------------------------------------
# the command

def test_generate_view_face_writes_the_whole_photo(photo_files, tmp_path, capsys):
    from PIL import Image
    from lmg_lib.util.video_io import probe, read_frames
    out, strip = tmp_path / "face.mp4", tmp_path / "strip.png"
    rc, stdout, err = _run(capsys, "generate", "--audio", photo_files / "speech.wav", "--image", photo_files / "face.png",
                           "--out", out, "--checkpoint", photo_files / "tiny.safetensors", "--view", "face",
                           "--strip", strip)
    assert rc == 0, err
    assert "pasted back" in stdout
    info = probe(out)
    assert (info["width"], info["height"], info["n_frames"]) == (512, 512, 23)
    assert Image.open(strip).size == (16 * 512, 512)
    first = np.asarray(Image.open(strip))[:, :512]                       # lossless: the exact frame
    face = np.asarray(Image.open(photo_files / "face.png"))
    np.testing.assert_array_equal(first[:100], face[:100])               # far from the mouth: untouched
    np.testing.assert_array_equal(first[300:], face[300:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.mp4", "strip.png"]


def test_generate_view_face_odd_sized_photo(photo_files, tmp_path, capsys):
    from lmg_lib.util.video_io import probe
    out = tmp_path / "odd.mp4"
    rc, _, err = _run(capsys, "generate", "--audio", photo_files / "speech.wav", "--image", photo_files / "face_odd.png",
                      "--out", out, "--checkpoint", photo_files / "tiny.safetensors", "--view", "face")
    assert rc == 0, err
    info = probe(out)
    assert (info["width"], info["height"]) == (510, 512)                 # padded to even sides


@pytest.mark.parametrize("extra", [[], ["--image-kind", "lips"]], ids=["lip-crop", "kind-lips"])
def test_generate_view_face_refuses_a_lip_crop(photo_files, tmp_path, capsys, extra):
    out = tmp_path / "x.mp4"
    image = photo_files / ("lip.png" if not extra else "face.png")
    rc, _, err = _run(capsys, "generate", "--audio", photo_files / "speech.wav", "--image", image, "--out", out,
                      "--checkpoint", photo_files / "tiny.safetensors", "--view", "face", *extra)
    assert rc == 4
    assert err.count("\n") == 1 and "--view face needs a face photo" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []
