"""The `lmg` command, the one front door (``python -m lmg_lib`` is the same command); the parser is
here, what each command does is ``commands.py``.

    lmg corpus      --out DIR [--speakers 32] [--utterances 40] [--seed 0] [--workers N] [--strip PNG]
    lmg preprocess  --corpus DIR --out DIR [--layout grid|lrw] [--backend groundtruth|dlib|face_alignment]
                    [--config PRESET] [--size S] [--box utterance|frame] [--workers N] [--split-rule R]
    lmg train       --data DIR|synthetic:N --out DIR [--config PRESET] [--set KEY=VALUE ...]
                    [--variant full|l1|gan|perc|...] [--steps N] [--batch-size B] [--resume] ...
    lmg pretrain-autoencoder --data DIR|synthetic:N --out FILE.safetensors [--config PRESET] [--steps N]
                    (the authors' perceptual network, for ``lmg train --set loss.perceptual=autoencoder
                    --autoencoder FILE``)
    lmg evaluate    --data DIR [--checkpoint SPEC | --static] [--split test] [--out CSV] ...
    lmg generate    --audio SPEECH --image FACE_OR_LIPS --out MP4 [--checkpoint SPEC] ...
    lmg info        parameter counts and one forward pass of each preset

Multi-GPU training: ``torchrun --nproc_per_node 4 -m lmg_lib train ...``. ``--set`` takes any
configuration key (``train.lr=1e-4``, ``loss.use_gen=false``; see ``config.make_config``); the
named training options are shorthands for keys. A checkpoint SPEC is a path, ``shipped`` (the
default: the shipped full model, ``util.paths.SHIPPED_FULL``), a shipped run's name (``photo_full``: what
``lmg generate`` uses for a face photo when no SPEC is given) or ``artefacts:<path>`` (under $LMG_ARTEFACTS).

Exit codes, the same for every command. An error is ONE line on stderr, never a traceback (set
LMG_DEBUG=1 for one), and a failed command leaves no partial output file behind:

    0  success                                  5  checkpoint missing, unreadable or of another
    2  usage: bad arguments or configuration,      configuration than the data
       a run folder in use (train: --resume)    6  output cannot be written
    3  bad audio (missing, empty, corrupt,      7  any other failure
       silent, shorter than 40 ms)              8  input data unusable (corpus or dataset missing,
    4  bad image (not an image, unsupported        damaged or empty; a landmark backend that cannot run)
       channels, no face found with             9  training diverged (a non-finite loss)
       --image-kind face, or none in an image
       too large or elongated to be a lip crop)

Speech shorter than one clip (0.64 s) is padded with silence (a warning is printed), not refused.
"""
from __future__ import annotations

import argparse
import os
import sys

from .commands import (DEFAULT_CHECKPOINT, DEFAULT_DETECTOR, DEFAULT_FACE_CHECKPOINT, EXIT_AUDIO,  # noqa: F401
                       EXIT_CHECKPOINT, EXIT_DATA, EXIT_DIVERGED, EXIT_IMAGE, EXIT_OK, EXIT_OTHER,
                       EXIT_OUTPUT, EXIT_USAGE, Failure,
                       cmd_corpus, cmd_evaluate, cmd_generate, cmd_info, cmd_preprocess,
                       cmd_pretrain_autoencoder, cmd_train)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no SystemExit from main()."""

    def error(self, message):
        raise Failure(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)")


# -------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from ..config import ABLATIONS, PRESETS
    presets = " | ".join(PRESETS)
    p = _Parser(prog="lmg", description="Lip Movements Generation at a Glance (exit codes: 2 usage, 3 audio, "
                "4 image, 5 checkpoint, 6 output, 7 other, 8 input data, 9 training diverged; docs/PACKAGE.md)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    c = sub.add_parser("corpus", help="generate the embedded GRID-style corpus (espeak-ng + rendered lips)")
    c.add_argument("--out", required=True, help="corpus folder (GRID layout)")
    c.add_argument("--speakers", type=int, default=32)
    c.add_argument("--utterances", type=int, default=40, help="sentences per speaker")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--size", type=int, default=64, help="rendered frame size (px)")
    c.add_argument("--style", default="rendered", choices=["rendered", "photo"],
                   help="rendered (default): clean shaded lips; photo: photographic texture and camera (opt-in)")
    c.add_argument("--workers", type=int, default=0, help="processes (0: all cores)")
    c.add_argument("--strip", default=None, metavar="PNG", help="also save a sample frame strip")
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(fn=cmd_corpus)

    pp = sub.add_parser("preprocess", help="videos -> lip crops, LMS and landmarks in checksummed shards")
    pp.add_argument("--corpus", required=True, help="corpus root (GRID layout, or LRW with --layout lrw)")
    pp.add_argument("--out", required=True, help="output folder (shards/ + manifest.json)")
    pp.add_argument("--layout", default="grid", choices=["grid", "lrw"])
    pp.add_argument("--backend", default="groundtruth", choices=["groundtruth", "dlib", "face_alignment"])
    pp.add_argument("--config", default="paper", help=f"preset whose clip geometry to cut: {presets}")
    pp.add_argument("--size", type=int, default=None, help="crop size (default: the preset's image_size)")
    pp.add_argument("--box", default="utterance", choices=["utterance", "frame"])
    pp.add_argument("--workers", type=int, default=0, help="worker processes (0: this process)")
    pp.add_argument("--dlib-detect-every", type=int, default=1,
                    help="dlib backend: run the face detector every k frames (keeps the box between)")
    pp.add_argument("--split-rule", default="auto", choices=["auto", "official", "paper", "fraction"])
    pp.add_argument("--test-speakers", default=None, help="comma-separated, overrides the rule")
    pp.add_argument("--val-speakers", default=None, help="comma-separated, overrides the rule")
    pp.add_argument("--no-progress", action="store_true")
    pp.set_defaults(fn=cmd_preprocess)

    t = sub.add_parser("train", help="train the generator (multi-GPU: torchrun --nproc_per_node N -m lmg_lib train)")
    t.add_argument("--config", default="paper", help=f"preset: {presets}")
    t.add_argument("--data", required=True, help="preprocessed dataset folder, or synthetic:N")
    t.add_argument("--out", required=True, help="output folder (checkpoints, logs, export)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any configuration key, e.g. train.lr=1e-4")
    t.add_argument("--variant", default=None, choices=sorted(ABLATIONS),
                   help="ablation variant: a shorthand for its loss.* settings (default: the preset's, "
                        "which are the full model's); an explicit --set wins over it")
    t.add_argument("--steps", type=int, help="= --set train.steps=N")
    t.add_argument("--batch-size", type=int, help="clips per step and per process (train.batch_size)")
    t.add_argument("--seed", type=int)
    t.add_argument("--workers", type=int, help="DataLoader worker processes (train.num_workers)")
    t.add_argument("--log-every", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--compile", action="store_true", help="torch.compile G, D and phi (train.compile)")
    t.add_argument("--no-amp", action="store_true", help="fp32 on CUDA (default: bf16 autocast)")
    t.add_argument("--no-channels-last", action="store_true")
    t.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    t.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across GPUs (DDP on CUDA)")
    t.add_argument("--stop-after", type=int, help="stop after this step as if killed (tests resume)")
    t.add_argument("--branch-from", metavar="RUN", help="start OUT from the run folder RUN at its last checkpoint; "
                   "allowed when the settings differ only in what acts once D is on")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--model", default="generator", choices=["generator", "speech2vid", "vgan"],
                   help="the paper's generator, or a baseline network trained the same way")
    t.add_argument("--detector", default=DEFAULT_DETECTOR,
                   help="lip-landmark regressor for validation (train.val_every > 0)")
    t.add_argument("--autoencoder", default=None, metavar="SAFETENSORS",
                   help="pretrained lip autoencoder for loss.perceptual=autoencoder (lmg pretrain-autoencoder)")
    t.set_defaults(fn=cmd_train)

    ae = sub.add_parser("pretrain-autoencoder",
                        help="train the lip autoencoder whose features define L_perc with loss.perceptual=autoencoder",
                        description="Train the authors' perceptual network (a lip autoencoder) on single frames of "
                                    "the training split; the options left out take the defaults of "
                                    "lmg_lib.train.autoencoder.pretrain_autoencoder.")
    ae.add_argument("--data", required=True, help="preprocessed dataset folder (its train split), or synthetic:N")
    ae.add_argument("--out", required=True, metavar="FILE.safetensors", help="the autoencoder's weights")
    ae.add_argument("--config", default="paper", help=f"preset whose width and clip size to use: {presets}")
    # defaults: those of train.autoencoder.pretrain_autoencoder (not imported here: no PyTorch for --help)
    ae.add_argument("--steps", type=int, help="training steps")
    ae.add_argument("--batch-size", type=int, help="frames per step")
    ae.add_argument("--lr", type=float, help="Adam learning rate (cosine decay to 0)")
    ae.add_argument("--max-frames", type=int, help="random training frames kept in memory")
    ae.add_argument("--seed", type=int, default=0)
    ae.add_argument("--no-progress", action="store_true")
    ae.set_defaults(fn=cmd_pretrain_autoencoder)

    e = sub.add_parser("evaluate", help="PSNR, SSIM, CPBD, LMD of a checkpoint on a preprocessed split")
    e.add_argument("--data", required=True, help="preprocessed dataset folder")
    e.add_argument("--checkpoint", default=None,
                   help="generator or baseline SPEC: a path, shipped (default), artefacts:<path>")
    e.add_argument("--static", action="store_true", help="evaluate the static baseline instead")
    e.add_argument("--split", default="test", choices=["train", "val", "test"])
    e.add_argument("--detector", default=DEFAULT_DETECTOR, help="lip-landmark regressor for LMD, or none")
    e.add_argument("--unit", default="utterance", choices=["clip", "utterance"], help="averaging unit of the CIs")
    e.add_argument("--ci", default="t", choices=["t", "bootstrap"])
    e.add_argument("--max-clips", type=int, default=0, help="evenly spaced subset (0: every clip)")
    e.add_argument("--out", default=None, metavar="CSV", help="also write the table (every speaker)")
    e.set_defaults(fn=cmd_evaluate)

    g = sub.add_parser("generate", help="a lip video for your own speech and one lip/face image",
                       description="Generate lip movements for a speech file and one image "
                                   "(exit codes: 2 usage, 3 audio, 4 image, 5 checkpoint, 6 output).")
    g.add_argument("--audio", required=True, help="speech file (wav/flac/ogg, or anything ffmpeg reads)")
    g.add_argument("--image", required=True, help="a lip crop (any size) or a face photo")
    g.add_argument("--out", required=True, help="output .mp4 (H.264, 25 fps, with the speech)")
    g.add_argument("--checkpoint", default=None, help=f"generator SPEC: a path, or a shipped run's name, e.g. "
                   f"full or photo_full (default: {DEFAULT_FACE_CHECKPOINT}, trained on the photographic corpus "
                   f"style, for a face photo; {DEFAULT_CHECKPOINT} for a lip crop)")
    g.add_argument("--config", default=None, help=f"refuse a checkpoint not made for this preset ({presets})")
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    g.add_argument("--image-kind", choices=["auto", "face", "lips", "lip"], default="auto",
                   help="face: find the face (none: exit 4); lips (or lip): the image is a lip crop; auto: "
                        "images up to 128 px and aspect 0.5-2 are lip crops, others are searched for a face "
                        "and, if none is found, used as a lip crop only up to 256 px and aspect 0.5-2")
    g.add_argument("--view", choices=["lips", "face", "warp"], default="lips",
                   help="lips: the generated lip crop (the paper's output); face (beyond the paper): the "
                        "whole photo with the generated lips pasted back (soft mask, colour matched); "
                        "warp (beyond the paper): the photo's own mouth moved to the generated mouth "
                        "shapes (piecewise-affine warp, synthesised mouth interior); face and warp need "
                        "a face photo (a lip-crop input: exit 4)")
    g.add_argument("--side-by-side", action="store_true", help="put the input image beside the lips")
    g.add_argument("--strip", default=None, metavar="PNG", help="also write a PNG strip of frames")
    g.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    g.add_argument("--overlap", type=int, default=4, help="frames shared by consecutive clip windows")
    g.add_argument("--batch", type=int, default=4, help="windows per forward pass")
    path = g.add_mutually_exclusive_group()
    path.add_argument("--plain", action="store_true", help="use the plain generator (the default below the "
                      "width where the fast CPU path was measured faster: infer.generate.FAST_MIN_WIDTH)")
    path.add_argument("--fast", action="store_true", help="use the fast CPU path (the default for networks "
                      "at least infer.generate.FAST_MIN_WIDTH wide)")
    g.set_defaults(fn=cmd_generate)

    i = sub.add_parser("info", help="parameter counts and a forward pass of the presets")
    i.add_argument("--presets", nargs="+", default=["tiny", "paper"])
    i.set_defaults(fn=cmd_info)
    return p


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except Failure as e:
        return _fail(e)
    except SystemExit as e:          # --help
        return int(e.code or 0)
    try:
        return args.fn(args)
    except Failure as e:
        return _fail(e)
    except KeyboardInterrupt:
        return _fail(Failure(130, "interrupted"))
    except Exception as e:
        if os.environ.get("LMG_DEBUG"):
            raise
        return _fail(Failure(EXIT_OTHER, f"{type(e).__name__}: {e}"))


def _fail(e: Failure) -> int:
    print(f"lmg: error: {e}", file=sys.stderr)
    return e.code

