"""Inference: a lip video for speech of any length and one lip or face image (``lmg generate``).

    generate.py  generate_video(): speech -> LMS -> overlapping clip windows -> blended frames;
                 stream_video(): the same frames one at a time, in flat memory (``lmg generate``)
    windows.py   window starts and raised-cosine cross-fades (no seams between clips), all at once
                 or streamed
    fast.py      the fast, exact CPU generator (BatchNorm folding, Winograd, FFT convolution)
    fold.py      how fast.py reads a module: the layers it offers, or FoldError naming it
    images.py    the input image: lip crop or face photo (dlib + the training crop geometry)
    paste.py     (beyond the paper) --view face: the lips pasted back into the whole photo
    outputs.py   the mp4 with the speech (tagged as generated), side-by-side view and frame strip,
                 all-or-nothing, encoded as the frames come
"""
from .fast import FastGenerator, FoldError, fast_generator
from .generate import DEFAULT_BATCH, PreparedSpeech, generate_video, speech_lms, stream_video
from .images import ImageError, lip_image_from, load_image, prepare_lip
from .outputs import GENERATED_COMMENT, SIDE_BY_SIDE_HEIGHT, check_writable, write_outputs
from .windows import DEFAULT_OVERLAP, blend_stream, blend_weights, blend_windows, window_starts

__all__ = ["generate_video", "stream_video", "speech_lms", "PreparedSpeech", "fast_generator", "FastGenerator",
           "FoldError", "lip_image_from", "load_image", "prepare_lip", "ImageError", "check_writable", "write_outputs",
           "window_starts", "blend_weights", "blend_windows", "blend_stream", "DEFAULT_OVERLAP", "DEFAULT_BATCH",
           "SIDE_BY_SIDE_HEIGHT", "GENERATED_COMMENT"]
