"""Pluggable mouth-landmark backends with one interface.

Every backend has a ``name`` and ``detect(frames, utterance=None)``: RGB frames ``uint8 (N, H, W, 3)``
-> the 20 mouth points of the 68-point scheme (points 48..67, (x, y) in pixels of the frame)
``float32 (N, 20, 2)``, with a row of NaN for every frame where detection failed. Backends never
drop frames; the caller counts the NaN rows (``count_failed``) and reports them.

* ``groundtruth``     -- the exact landmarks of the embedded corpus' sidecar ``meta/<utt>.npz``.
* ``dlib``            -- dlib's HOG face detector + 68-point shape predictor on the FULL frame
                         (dlib is unreliable on tight lip crops: errors up to ~40 % of the mouth
                         width, against 3-7 % with the face in view). When the face detector misses
                         a frame the last face box is kept (``keep_box``), so a single missed
                         detection does not lose the frame; frames before the first face are NaN.
                         ``detect_every=k`` runs the face detector (~30 ms on a GRID frame) only
                         every k frames; the shape predictor (~1 ms) runs on every frame.
* ``face_alignment``  -- FAN (Bulat & Tzimiropoulos) via the ``face_alignment`` package, only if its
                         weights are already in ``$TORCH_HOME/hub/checkpoints``; it would otherwise
                         download them, which this project never does.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

MOUTH = slice(48, 68)            # mouth points in the 68-point scheme
N_MOUTH = 20


class LandmarkError(RuntimeError):
    """A backend cannot be built or cannot run on this input."""


def count_failed(lm: np.ndarray) -> int:
    """Number of frames (rows) with any NaN coordinate in an (N, 20, 2) landmark array."""
    return int(np.isnan(lm).any(axis=(1, 2)).sum())


def _check_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
    return frames


class LandmarkBackend:
    name = "base"

    def detect(self, frames, utterance=None) -> np.ndarray:   # (N, H, W, 3) -> (N, 20, 2)
        raise NotImplementedError


class GroundTruthLandmarks(LandmarkBackend):
    """Reads ``landmarks`` (n_frames, 20, 2) from the utterance's sidecar (embedded corpus only)."""
    name = "groundtruth"

    def detect(self, frames, utterance=None) -> np.ndarray:
        frames = _check_frames(frames)
        sidecar = getattr(utterance, "sidecar", None)
        if sidecar is None:
            who = getattr(utterance, "key", utterance)
            raise LandmarkError(f"the groundtruth backend needs a sidecar meta/<utt>.npz (embedded corpus "
                                f"only); {who} has none -- use the dlib backend for real video")
        with np.load(sidecar) as z:
            lm = np.asarray(z["landmarks"], dtype=np.float32)              # (n, 20, 2)
        if lm.ndim != 3 or lm.shape[1:] != (N_MOUTH, 2):
            raise LandmarkError(f"{sidecar}: landmarks must be (n_frames, 20, 2), got {lm.shape}")
        out = np.full((len(frames), N_MOUTH, 2), np.nan, np.float32)       # missing tail -> NaN
        n = min(len(frames), len(lm))
        out[:n] = lm[:n]
        return out


def dlib_model_path() -> str:
    """The 68-point model from PyPI ``face-recognition-models`` or Debian ``libdlib-data``."""
    name = "shape_predictor_68_face_landmarks.dat"
    cands = []
    # Do not import face_recognition_models: its __init__ needs pkg_resources (gone in new setuptools).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        cands.append(os.path.join(spec.submodule_search_locations[0], "models", name))
    cands.append(os.path.join("/usr/share/dlib", name))
    for c in cands:
        if os.path.exists(c):
            return c
    raise LandmarkError(f"no {name} found (looked in {cands}); "
                        "pip install face-recognition-models, or apt-get install libdlib-data")


class DlibLandmarks(LandmarkBackend):
    """dlib HOG face detector + 68-point predictor on the full frame; keeps the last face box."""
    name = "dlib"

    def __init__(self, upsample: int = 0, keep_box: bool = True, detect_every: int = 1,
                 model_path: str | None = None):
        try:
            import dlib
        except ImportError as e:
            raise LandmarkError("the dlib backend needs dlib: pip install dlib-bin") from e
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(model_path or dlib_model_path())
        self.upsample = upsample
        self.keep_box = keep_box
        self.detect_every = max(1, int(detect_every))   # run the (slow) face detector every k frames
        self.last_face_boxes: list = []   # per frame: (left, top, right, bottom) or None

    def face_box(self, frame: np.ndarray):
        """Largest face as a dlib.rectangle, or None."""
        rects = self.detector(frame, self.upsample)
        return max(rects, key=lambda r: r.width() * r.height()) if len(rects) else None

    def shape68(self, frame: np.ndarray, box) -> np.ndarray:
        s = self.predictor(frame, box)
        return np.array([[p.x, p.y] for p in s.parts()], dtype=np.float32)   # (68, 2)

    def detect(self, frames, utterance=None) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.full((len(frames), N_MOUTH, 2), np.nan, np.float32)
        box, self.last_face_boxes = None, []
        for i, f in enumerate(frames):
            f = np.ascontiguousarray(f)
            if i % self.detect_every == 0 or box is None:
                found = self.face_box(f)
                if found is not None or not self.keep_box:
                    box = found
            if box is not None:
                out[i] = self.shape68(f, box)[MOUTH]
            self.last_face_boxes.append(None if box is None else
                                        (box.left(), box.top(), box.right(), box.bottom()))
        return out


def _fan_weight_names() -> list[str]:
    """File names the installed face_alignment would download for 2D FAN (without downloading)."""
    names = {"2DFAN4-11f355bf06.pth.tar"}
    try:
        from face_alignment import api
        for table in (getattr(api, "default_model_urls", {}), *getattr(api, "models_urls", {}).values()):
            names |= {u.rsplit("/", 1)[-1] for k, u in table.items() if "2DFAN" in str(k)}
    except Exception:
        pass
    return sorted(names)


class FaceAlignmentLandmarks(LandmarkBackend):
    """FAN landmarks (package ``face_alignment``) on dlib face boxes; refuses to download weights."""
    name = "face_alignment"

    def __init__(self, device: str = "cpu"):
        if importlib.util.find_spec("face_alignment") is None:
            raise LandmarkError("the face_alignment backend needs `pip install face-alignment` "
                                "and its FAN weights already on disk")
        import torch
        ckpt = Path(torch.hub.get_dir()) / "checkpoints"
        names = _fan_weight_names()
        if not any((ckpt / n).exists() for n in names):
            raise LandmarkError(f"face_alignment would download its FAN weights, which this project never "
                                f"does: put one of {names} in {ckpt} (set $TORCH_HOME), or use --backend dlib")
        import face_alignment
        lt = getattr(face_alignment.LandmarksType, "TWO_D", None) or getattr(face_alignment.LandmarksType, "_2D")
        # face boxes come from dlib ("folder" detector: no detector weights are loaded)
        self.fa = face_alignment.FaceAlignment(lt, device=device, face_detector="folder")
        self.boxes = DlibLandmarks()

    def detect(self, frames, utterance=None) -> np.ndarray:
        frames = _check_frames(frames)
        out = np.full((len(frames), N_MOUTH, 2), np.nan, np.float32)
        box = None
        for i, f in enumerate(frames):
            r = self.boxes.face_box(np.ascontiguousarray(f))
            if r is not None:
                box = np.array([r.left(), r.top(), r.right(), r.bottom()], np.float32)
            if box is not None:
                pts = self.fa.get_landmarks_from_image(f, detected_faces=[box])
                if pts:
                    out[i] = np.asarray(pts[0], np.float32)[MOUTH, :2]
        return out


BACKENDS = {"groundtruth": GroundTruthLandmarks, "dlib": DlibLandmarks,
            "face_alignment": FaceAlignmentLandmarks}


def get_backend(name: str, **kwargs) -> LandmarkBackend:
    """Build a backend by name: "groundtruth", "dlib" or "face_alignment"."""
    if name not in BACKENDS:
        raise ValueError(f"unknown landmark backend {name!r}; available: {sorted(BACKENDS)}")
    return BACKENDS[name](**kwargs)
