"""The input image of ``lmg generate``: a lip crop, or a face photo whose lip region is cut with the
training crop geometry (``data/crop.py``) around the mouth that dlib finds.

Which it is (``--image-kind``):

    lips   the image is a lip crop (any size or shape: resized, with a note)
    face   dlib must find a face; none -> ImageError (exit 4, nothing written)
    auto   an image that LOOKS like a lip crop (at most LIP_MAX_SIDE = 128 px a side, aspect
           width / height within LIP_ASPECT = 0.5-2) is used as one; any other is searched for a
           face. With no face found, it is still used as a lip crop only if it plausibly is one (at
           most LIP_CROP_MAX_SIDE = 256 px a side, aspect within 0.5-2: the crops the model saw are
           64 px squares, a photo is larger); otherwise ImageError, saying to pass --image-kind lips.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.crop import crop_boxes, crop_frames
from ..data.landmarks import get_backend
from ..util.pixels import from_uint8


class ImageError(ValueError):
    """An input image that cannot be used (not an image, unsupported channels, no face found)."""


LIP_MAX_SIDE = 128          # auto: lip-shaped images up to this size are lip crops (no face search)
LIP_CROP_MAX_SIDE = 256     # auto: with no face found, images up to this size may still be lip crops
LIP_ASPECT = (0.5, 2.0)     # ... if width / height is in this range
KINDS = ("auto", "lips", "face")


def lip_shaped(width: int, height: int, max_side: int) -> bool:
    """Could a ``width`` x ``height`` image be a lip crop: at most ``max_side`` px a side, roughly square."""
    return max(width, height) <= max_side and LIP_ASPECT[0] <= width / height <= LIP_ASPECT[1]


def load_image(source, notes: list | None = None) -> np.ndarray:
    """An image file (any format Pillow reads) or array -> uint8 (H, W, 3) RGB.

    Grayscale is replicated to RGB, an alpha channel is dropped, palette / CMYK / 16-bit images are
    converted; each conversion appends a line to ``notes``. Raises ``ImageError``."""
    notes = notes if notes is not None else []
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 2:
            notes.append("grayscale image converted to RGB")
            a = np.repeat(a[:, :, None], 3, axis=2)
        elif a.ndim == 3 and a.shape[2] in (2, 4):
            notes.append("alpha channel dropped")
            a = np.repeat(a[:, :, :1], 3, axis=2) if a.shape[2] == 2 else a[:, :, :3]
        elif not (a.ndim == 3 and a.shape[2] == 3):
            raise ImageError(f"image array must be (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA, "
                             f"got shape {a.shape}")
        if a.dtype != np.uint8:
            a = a.astype(np.float64)
            if a.size and np.nanmax(a) <= 1.0 and np.nanmin(a) >= 0.0:
                a = a * 255.0
            a = np.clip(np.nan_to_num(a), 0, 255).round().astype(np.uint8)
        if min(a.shape[:2]) < 1:
            raise ImageError(f"image is empty ({a.shape[1]}x{a.shape[0]})")
        return np.ascontiguousarray(a)
    from pathlib import Path
    from PIL import Image, UnidentifiedImageError
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"image file not found: {path}")
    try:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            mode = im.mode
            if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
                notes.append(f"{path.name}: alpha channel dropped")
                im = im.convert("RGBA").convert("RGB") if mode != "LA" else im.convert("L").convert("RGB")
                if mode == "LA":
                    notes.append(f"{path.name}: grayscale image converted to RGB")
            elif mode in ("L", "1"):
                notes.append(f"{path.name}: grayscale image converted to RGB")
                im = im.convert("RGB")
            elif mode.startswith("I") or mode == "F":      # 16/32-bit integer or float grayscale
                notes.append(f"{path.name}: {mode} grayscale image scaled to 8 bits and converted to RGB")
                a = np.asarray(im, dtype=np.float64)
                lo, hi = float(a.min()), float(a.max())
                a = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
                return np.ascontiguousarray(np.repeat(a.round().astype(np.uint8)[:, :, None], 3, 2))
            elif mode != "RGB":
                notes.append(f"{path.name}: {mode} image converted to RGB")
                im = im.convert("RGB")
            a = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path} is not an image Pillow can read ({type(e).__name__})") from None
    if a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
        raise ImageError(f"{path}: unsupported image layout {a.shape}")
    return np.ascontiguousarray(a)


_DLIB = None


def _dlib_backend():
    global _DLIB
    if _DLIB is None:
        _DLIB = get_backend("dlib")
    return _DLIB


def mouth_landmarks(rgb: np.ndarray) -> np.ndarray | None:
    """dlib's 20 mouth points (20, 2) float32 in the photo's pixels (48-67 of the 68-point
    convention), or None when no face is found. Upsamples once for small faces."""
    det = _dlib_backend()
    lm = None
    try:
        for up in (0, 1):
            det.upsample = up
            lm = det.detect(rgb[None])[0]        # (20, 2), NaN if no face
            if not np.isnan(lm).any() or max(rgb.shape[:2]) > 1200:
                break
    finally:
        det.upsample = 0
    return None if lm is None or np.isnan(lm).any() else lm


def lip_from_face(rgb: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """Mouth landmarks (dlib on the full image) -> the training crop rule (``data/crop.py``):
    a square on the mouth-box centre with side ``CROP_SCALE * max(w, h)`` (1.3, as the authors),
    edges replicated, resized to ``size``. Returns (crop uint8 (size, size, 3), box (x0, y0, side))
    or None when no face is found."""
    lm = mouth_landmarks(rgb)
    if lm is None:
        return None
    box = crop_boxes(lm[None], np.ones(1, bool), mode="frame")    # (1, 3)
    return crop_frames(rgb[None], box, size)[0], tuple(int(v) for v in box[0])


def lip_image_from(source, size: int, kind: str = "auto", notes: list | None = None) -> dict:
    """Image path/array -> dict(lip=uint8 (size, size, 3), image=the RGB input, kind='lip'|'face',
    box=(x0, y0, side) or None). ``kind``: 'lips' (or 'lip'), 'face' or 'auto', as in the module
    docstring; an unusable image raises ImageError (one line, saying what to pass instead)."""
    kind = "lips" if kind == "lip" else kind
    if kind not in KINDS:
        raise ValueError(f"image kind must be one of {', '.join(KINDS)}, got {kind!r}")
    notes = notes if notes is not None else []
    rgb = load_image(source, notes)
    H, W = rgb.shape[:2]
    if kind == "face" or (kind == "auto" and not lip_shaped(W, H, LIP_MAX_SIDE)):
        found = lip_from_face(rgb, size)
        if found is not None:
            return dict(lip=found[0], image=rgb, kind="face", box=found[1])
        if kind == "face":
            raise ImageError(f"no face found in the {W}x{H} image (dlib): give a frontal face photo, "
                             f"or pass a lip crop with --image-kind lips")
        if not lip_shaped(W, H, LIP_CROP_MAX_SIDE):
            raise ImageError(f"no face found in the {W}x{H} image (dlib), and it is too large or too "
                             f"elongated to be a lip crop (auto takes one up to {LIP_CROP_MAX_SIDE} px a "
                             f"side, aspect {LIP_ASPECT[0]:g}-{LIP_ASPECT[1]:g}): give a frontal face photo, "
                             f"or pass a lip crop with --image-kind lips")
        notes.append(f"no face found in the {W}x{H} image: using the whole image as a lip crop "
                     f"(--image-kind face to require a face)")
    if H != W and max(H, W) > 1.5 * min(H, W):
        notes.append(f"lip crop is {W}x{H}, not square: resized to {size}x{size} (aspect changes)")
    if min(H, W) < size // 2:
        notes.append(f"lip crop is only {W}x{H}: upscaled to {size}x{size}")
    return dict(lip=np.asarray(prepare_lip_uint8(rgb, size)), image=rgb, kind="lip", box=None)


def prepare_lip_uint8(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 lip crop to (size, size, 3) (area when shrinking, linear when growing)."""
    if rgb.shape[:2] == (size, size):
        return rgb
    import cv2
    interp = cv2.INTER_AREA if min(rgb.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(rgb), (size, size), interpolation=interp)


def prepare_lip(lip_image, size: int) -> torch.Tensor:
    """uint8 (H, W, 3) RGB (any size: resized) or float tensor (3, S, S) in [-1, 1] ->
    (1, 3, S, S) float32 in [-1, 1]."""
    if isinstance(lip_image, torch.Tensor) and lip_image.is_floating_point():
        t = lip_image.float()
        return (t if t.dim() == 4 else t[None])
    a = np.asarray(lip_image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"lip image must be (H, W, 3) RGB, got shape {a.shape}")
    a = prepare_lip_uint8(a.astype(np.uint8, copy=False), size)
    return torch.from_numpy(from_uint8(a)).permute(2, 0, 1)[None]
