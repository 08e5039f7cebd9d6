"""The `lmg` command.

    lmg info                      parameter counts and one forward pass of each preset
    lmg generate --audio speech.wav --image face_or_lip.png --out out.mp4
                 [--checkpoint PATH] [--config PRESET] [--device cpu|cuda] [--image-kind auto|lip|face]
                 [--side-by-side] [--strip PNG] [--threads N] [--overlap K] [--batch B] [--plain]

`lmg generate` exit codes (every error is ONE line on stderr, never a traceback, and no output file
is left behind after a failure):

    0  success                    4  bad image (not an image, unsupported channels, no face found)
    2  usage (bad arguments)      5  checkpoint missing, unreadable or of another configuration
    3  bad audio (missing, empty, 6  output cannot be written
       corrupt, silent, < 40 ms)  7  any other failure (set LMG_DEBUG=1 for the traceback)

Speech shorter than one clip (0.64 s) is padded with silence (a warning is printed), not refused.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The generator `lmg generate` uses when --checkpoint is not given; relative paths are looked up in
# the working directory, then in the repository root (editable installs).
DEFAULT_CHECKPOINT = "checkpoints/lmg_cpu.safetensors"   # the shipped one (README, checkpoints/)

EXIT_OK, EXIT_USAGE, EXIT_AUDIO, EXIT_IMAGE, EXIT_CHECKPOINT, EXIT_OUTPUT, EXIT_OTHER = 0, 2, 3, 4, 5, 6, 7


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no SystemExit from main()."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _fail(code: int, msg: str) -> int:
    print(f"lmg: error: {' '.join(str(msg).split())}", file=sys.stderr)
    return code


def _note(msg: str) -> None:
    print(f"lmg: {msg}", file=sys.stderr)


def resolve_checkpoint(path: str | None) -> Path:
    p = Path(path or DEFAULT_CHECKPOINT)
    if path is None and not p.is_absolute() and not p.exists():
        repo = Path(__file__).resolve().parents[1] / p
        if repo.exists():
            return repo
    return p


def cmd_info(args) -> int:
    import torch
    from .model.blocks import n_params
    from .config import get_config
    from .model.correlation import CorrelationNet
    from .model.discriminator import ThreeStreamDiscriminator
    from .model.generator import LipGenerator
    from .model.geometry import check_geometry
    torch.manual_seed(0)
    for name in args.presets:
        cfg = get_config(name)
        check_geometry(cfg.model, cfg.audio, discriminator=True)
        G, D, C = LipGenerator(cfg.model).eval(), ThreeStreamDiscriminator(cfg.model).eval(), CorrelationNet(cfg.model)
        S = cfg.model.image_size
        lms, lip = torch.rand(1, *cfg.lms_shape) * 2 - 1, torch.rand(1, 3, S, S) * 2 - 1
        t = time.perf_counter()
        with torch.inference_mode():
            video, f_s = G(lms, lip)
            logit, _ = D(lms, video)
            a, b = C(f_s, video)
        dt = time.perf_counter() - t
        print(f"[{name}] G {n_params(G) / 1e6:.2f} M, D {n_params(D) / 1e6:.2f} M, "
              f"phi_s+phi_v {n_params(C) / 1e6:.3f} M | LMS {tuple(lms.shape)} + lip {tuple(lip.shape)} "
              f"-> video {tuple(video.shape)}, f_s {tuple(f_s.shape)}, D logit {tuple(logit.shape)}, "
              f"corr curves {tuple(a.shape)} | forward {dt:.2f} s on {torch.get_num_threads()} CPU threads")
    return 0


def cmd_generate(args) -> int:
    import warnings
    import numpy as np
    import torch
    from .util.audio_io import AudioError
    from .checkpoint import CheckpointError, load_generator
    from .inference import (ImageError, check_writable, generate_video, lip_image_from, speech_lms,
                            write_outputs)
    from .util.video_io import VideoError

    if args.threads is not None:
        if args.threads < 1:
            return _fail(EXIT_USAGE, f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        return _fail(EXIT_USAGE, "--device cuda: no CUDA device is available (use --device cpu)")
    if not 0 <= args.overlap < 16:
        return _fail(EXIT_USAGE, f"--overlap must be in [0, 16), got {args.overlap}")
    if args.batch < 1:
        return _fail(EXIT_USAGE, f"--batch must be >= 1, got {args.batch}")
    t0 = time.perf_counter()
    # 1. outputs writable? (before any work)
    try:
        check_writable(args.out)
        if args.strip is not None:
            check_writable(args.strip, suffixes=(".png",))
            if Path(args.strip).resolve() == Path(args.out).resolve():
                raise OSError("--strip and --out are the same file")
    except OSError as e:
        return _fail(EXIT_OUTPUT, e)
    # 2. checkpoint
    ckpt = resolve_checkpoint(args.checkpoint)
    if not ckpt.is_file():
        how = ("train one with `python -m lmg_lib.train --config paper --data DIR --out runs/paper` "
               f"(it exports runs/paper/generator.safetensors) and pass --checkpoint PATH or copy it to "
               f"{DEFAULT_CHECKPOINT}")
        return _fail(EXIT_CHECKPOINT, f"no generator checkpoint at {ckpt}: {how}")
    try:
        expect = None
        if args.config is not None:
            from .config import get_config
            expect = get_config(args.config)
        G, cfg, _ = load_generator(ckpt, device=args.device, expect=expect)
    except (CheckpointError, ValueError) as e:
        return _fail(EXIT_CHECKPOINT, e)
    except Exception as e:   # safetensors raises its own errors for damaged files
        return _fail(EXIT_CHECKPOINT, f"cannot load checkpoint {ckpt}: {type(e).__name__}: {e}")
    # 3. audio
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lms_info = speech_lms(args.audio, cfg)
        for w in caught:
            _note(f"warning: {w.message}")
    except AudioError as e:
        return _fail(EXIT_AUDIO, e)
    n_frames, duration = lms_info[1], len(lms_info[2]) / cfg.audio.sample_rate
    # 4. image
    notes: list[str] = []
    try:
        img = lip_image_from(args.image, cfg.model.image_size, args.image_kind, notes)
    except ImageError as e:
        return _fail(EXIT_IMAGE, e)
    for n in notes:
        _note(f"note: {n}")
    if img["kind"] == "face":
        _note(f"note: lip region found at (x0, y0, side) = {img['box']}")
    # 5. generate (speech_lms is cheap to redo; generate_video takes the path for one code path)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = generate_video(G, cfg, lms_info, img["lip"], overlap=args.overlap, batch=args.batch,
                                fast=not args.plain, device=args.device)
    t_gen = time.perf_counter() - t1
    # 6. write (atomic, all-or-nothing)
    try:
        write_outputs(args.out, frames, args.audio, fps=cfg.audio.fps,
                      side_by_side=img if args.side_by_side else None, strip=args.strip)
    except (OSError, VideoError) as e:
        return _fail(EXIT_OUTPUT, f"cannot write {args.out}: {e}")
    print(f"wrote {args.out}: {len(frames)} frames ({duration:.2f} s of speech) from {ckpt.name} "
          f"[{cfg.name}]; generation {t_gen:.2f} s = real-time factor {t_gen / max(duration, 1e-9):.2f} "
          f"on {torch.get_num_threads()} threads; total {time.perf_counter() - t0:.2f} s")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lmg", description="Lip Movements Generation at a Glance")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    i = sub.add_parser("info", help="parameter counts and a forward pass of the presets")
    i.add_argument("--presets", nargs="+", default=["tiny", "paper"])
    i.set_defaults(fn=cmd_info)
    g = sub.add_parser("generate", help="a lip video for your own speech and one lip/face image",
                       description="Generate lip movements for a speech file and one image "
                                   "(exit codes: 2 usage, 3 audio, 4 image, 5 checkpoint, 6 output).")
    g.add_argument("--audio", required=True, help="speech file (wav/flac/ogg, or anything ffmpeg reads)")
    g.add_argument("--image", required=True, help="a lip crop (any size) or a face photo")
    g.add_argument("--out", required=True, help="output .mp4 (H.264, 25 fps, with the speech)")
    g.add_argument("--checkpoint", default=None, help=f"generator safetensors (default {DEFAULT_CHECKPOINT})")
    g.add_argument("--config", default=None, help="refuse a checkpoint not made for this preset (paper|cpu|tiny)")
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    g.add_argument("--image-kind", choices=["auto", "lip", "face"], default="auto",
                   help="auto: images up to 128 px are lip crops, larger ones face photos")
    g.add_argument("--side-by-side", action="store_true", help="put the input image beside the lips")
    g.add_argument("--strip", default=None, metavar="PNG", help="also write a PNG strip of frames")
    g.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    g.add_argument("--overlap", type=int, default=4, help="frames shared by consecutive 16-frame windows")
    g.add_argument("--batch", type=int, default=4, help="windows per forward pass")
    g.add_argument("--plain", action="store_true", help="use the plain generator, not the fast CPU path")
    g.set_defaults(fn=cmd_generate)
    return p


def main(argv=None) -> int:
    p = build_parser()
    try:
        args = p.parse_args(argv)
    except _UsageError as e:
        return _fail(EXIT_USAGE, e)
    except SystemExit as e:          # --help
        return int(e.code or 0)
    if args.cmd != "generate":
        return args.fn(args)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except Exception as e:
        if os.environ.get("LMG_DEBUG"):
            raise
        return _fail(EXIT_OTHER, f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    sys.exit(main())
