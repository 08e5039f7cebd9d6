"""The `lmg` command, the one front door (``python -m lmg_lib`` is the same command):

    lmg corpus      --out DIR [--speakers 32] [--utterances 40] [--seed 0] [--workers N] [--strip PNG]
    lmg preprocess  --corpus DIR --out DIR [--layout grid|lrw] [--backend groundtruth|dlib|face_alignment]
                    [--config PRESET] [--size S] [--box utterance|frame] [--workers N] [--split-rule R]
    lmg train       --data DIR|synthetic:N --out DIR [--config PRESET] [--set KEY=VALUE ...]
                    [--variant l1|gan|perc|corr|full] [--steps N] [--batch-size B] [--resume] ...
    lmg evaluate    --data DIR [--checkpoint SPEC | --static] [--split test] [--out CSV] ...
    lmg generate    --audio SPEECH --image FACE_OR_LIPS --out MP4 [--checkpoint SPEC] ...
    lmg info        parameter counts and one forward pass of each preset

Multi-GPU training: ``torchrun --nproc_per_node 4 -m lmg_lib train ...``. ``--set`` takes any
configuration key (``train.lr=1e-4``, ``loss.use_gen=false``; see ``config.make_config``); the
named training options are shorthands for keys. A checkpoint SPEC is a path, ``shipped`` (the
default, checkpoints/lmg_cpu.safetensors) or ``artefacts:<path>`` (under $LMG_ARTEFACTS).

Exit codes, the same for every command. An error is ONE line on stderr, never a traceback (set
LMG_DEBUG=1 for one), and a failed command leaves no partial output file behind:

    0  success                                  5  checkpoint missing, unreadable or of another
    2  usage: bad arguments or configuration,      configuration than the data
       a run folder in use (train: --resume)    6  output cannot be written
    3  bad audio (missing, empty, corrupt,      7  any other failure
       silent, shorter than 40 ms)              8  input data unusable (corpus or dataset missing,
    4  bad image (not an image, unsupported        damaged or empty; a landmark backend that cannot run)
       channels, no face found)                 9  training diverged (a non-finite loss)

Speech shorter than one clip (0.64 s) is padded with silence (a warning is printed), not refused.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Shipped files, looked up in the working directory, then in the repository (editable installs).
DEFAULT_CHECKPOINT = "checkpoints/lmg_cpu.safetensors"   # the generator (`shipped`, README, checkpoints/)
DEFAULT_DETECTOR = "checkpoints/lip_landmarks.pt"        # the lip-landmark regressor (LMD)

(EXIT_OK, EXIT_USAGE, EXIT_AUDIO, EXIT_IMAGE, EXIT_CHECKPOINT, EXIT_OUTPUT, EXIT_OTHER, EXIT_DATA,
 EXIT_DIVERGED) = 0, 2, 3, 4, 5, 6, 7, 8, 9


class Failure(Exception):
    """A command's failure: the exit code and the one line to print."""

    def __init__(self, code: int, message):
        super().__init__(" ".join(str(message).split()))
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no SystemExit from main()."""

    def error(self, message):
        raise Failure(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)")


def _note(msg: str) -> None:
    print(f"lmg: {msg}", file=sys.stderr)


def _load_checkpoint(spec: str | None, device="cpu", expect=None, any_network: bool = False):
    """(network, config, extra, path) of a checkpoint SPEC, or a Failure with EXIT_CHECKPOINT.
    ``any_network``: a baseline checkpoint is accepted too (``lmg evaluate``)."""
    from .train.baselines import BASELINES
    from .train.checkpoints import CheckpointError, load_generator, load_network, resolve_checkpoint
    path = resolve_checkpoint(spec)
    if not path.is_file():
        raise Failure(EXIT_CHECKPOINT, f"no generator checkpoint at {path}: train one with `lmg train "
                      f"--config paper --data DIR --out runs/paper` (it exports runs/paper/generator.safetensors) "
                      f"and pass --checkpoint PATH or copy it to {DEFAULT_CHECKPOINT}")
    try:
        if any_network:
            return (*load_network(path, BASELINES, device=device, expect=expect), path)
        return (*load_generator(path, device=device, expect=expect), path)
    except (CheckpointError, ValueError) as e:
        raise Failure(EXIT_CHECKPOINT, e) from None
    except Exception as e:   # safetensors raises its own errors for damaged files
        raise Failure(EXIT_CHECKPOINT, f"cannot load checkpoint {path}: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------------------------ commands
def cmd_corpus(a) -> int:
    from .corpus.build import CorpusConfig, build_corpus, disk_size
    from .viz import save_sample_strip
    if a.speakers < 1 or a.utterances < 1 or a.workers < 0:
        raise Failure(EXIT_USAGE, "--speakers and --utterances must be >= 1, --workers >= 0")
    cfg = CorpusConfig(n_speakers=a.speakers, utterances_per_speaker=a.utterances, seed=a.seed,
                       image_size=a.size, n_workers=a.workers)
    t = time.time()
    try:
        root = build_corpus(a.out, cfg, progress=not a.quiet)
    except (ValueError, OSError) as e:
        raise Failure(EXIT_OUTPUT, f"cannot write the corpus to {a.out}: {e}") from None
    n = len(list(Path(root).glob("s*/meta/*.npz")))
    print(f"{root}: {n} utterances, {disk_size(root) / 2**20:.1f} MiB, generated in {time.time() - t:.1f} s")
    if a.strip:
        print("sample strip:", save_sample_strip(root, a.strip))
    return EXIT_OK


def cmd_preprocess(a) -> int:
    from .config import make_config
    from .data.landmarks import LandmarkError
    from .data.preprocess import preprocess
    from .data.shards import ShardError
    cfg = make_config(a.config, {"model.image_size": a.size} if a.size else {})
    split_list = lambda s: [x for x in s.split(",") if x] if s else None
    try:
        preprocess(a.corpus, a.out, a.layout, a.backend, cfg=cfg, box=a.box, workers=a.workers,
                   split_rule=a.split_rule, test_speakers=split_list(a.test_speakers),
                   val_speakers=split_list(a.val_speakers), progress=not a.no_progress,
                   backend_kwargs=dict(detect_every=a.dlib_detect_every) if a.backend == "dlib" else None)
    except (FileNotFoundError, ShardError, LandmarkError, RuntimeError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    except OSError as e:
        raise Failure(EXIT_OUTPUT, f"cannot write to {a.out}: {e}") from None
    return EXIT_OK


TRAIN_SHORTHANDS = {"steps": "train.steps", "batch_size": "train.batch_size", "workers": "train.num_workers",
                    "log_every": "train.log_every", "checkpoint_every": "train.checkpoint_every", "seed": "seed"}


def train_overrides(a) -> dict:
    """The configuration overrides of `lmg train`: the shorthand options, then every --set."""
    over = {key: getattr(a, opt) for opt, key in TRAIN_SHORTHANDS.items() if getattr(a, opt) is not None}
    over.update({k: v for k, v in (("train.compile", True), ("train.amp", False), ("train.channels_last", False))
                 if getattr(a, {"train.compile": "compile", "train.amp": "no_amp",
                                "train.channels_last": "no_channels_last"}[k])})
    for item in a.set or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise Failure(EXIT_USAGE, f"--set {item!r}: expected KEY=VALUE, e.g. train.lr=1e-4")
        over[key.strip()] = value.strip()
    return over


def cmd_train(a) -> int:
    from .config import make_config
    from .data.dataset import load_dataset
    from .data.shards import ShardError
    from .train.loop import NonFiniteLossError, Trainer
    try:
        cfg = make_config(a.config, train_overrides(a))
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    try:
        dataset = load_dataset(a.data, cfg)
    except (FileNotFoundError, ShardError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    trainer = None
    try:
        trainer = Trainer(cfg, dataset, a.out, variant=a.variant, device=a.device, resume=a.resume,
                          progress=not a.no_progress, sync_bn=a.sync_bn)
        result = trainer.fit(stop_after=a.stop_after)
    except NonFiniteLossError as e:
        raise Failure(EXIT_DIVERGED, e) from None
    except ShardError as e:
        raise Failure(EXIT_DATA, e) from None
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        raise Failure(EXIT_USAGE, e) from None
    finally:
        if trainer is not None:
            trainer.close()
    if trainer.is_main:
        if result.get("stopped"):
            print(f"stopped after step {result['step']} (--stop-after)")
        else:
            print(f"trained {result['step']} steps ({a.variant}); checkpoint {result['checkpoint']}; "
                  f"generator {result['generator']}")
    return EXIT_OK


def cmd_evaluate(a) -> int:
    import pandas as pd
    from .train.baselines import StaticBaseline
    from .data.dataset import LipClipDataset, evenly_spaced
    from .data.shards import ShardError
    from .eval.lip_landmarks import load_landmark_regressor
    from .eval.protocol import evaluate
    from .util.files import atomic_write
    from .util.paths import in_repo
    try:
        test = LipClipDataset(a.data, a.split)
    except (FileNotFoundError, ShardError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    if len(test) == 0:
        raise Failure(EXIT_DATA, f"{a.data} has no {a.split} clips")
    if a.static:
        model, cfg, name = StaticBaseline(test.cfg.model), test.cfg, "static"
    else:
        model, cfg, _, path = _load_checkpoint(a.checkpoint, any_network=True)
        name = path.stem
        geo = lambda c: (c.model.image_size, c.model.n_frames)
        if geo(cfg) != geo(test.cfg):
            raise Failure(EXIT_CHECKPOINT, f"{path} was made for {geo(cfg)[0]} px x {geo(cfg)[1]}-frame clips; "
                          f"{a.data} holds {geo(test.cfg)[0]} px x {geo(test.cfg)[1]}-frame clips")
    detect = None
    if a.detector != "none":
        det = in_repo(a.detector)
        try:
            detect = load_landmark_regressor(det).detect
        except Exception as e:
            raise Failure(EXIT_CHECKPOINT, f"cannot load the landmark detector {det}: {e}") from None
    table = evaluate(model, evenly_spaced(test, a.max_clips), detect=detect, unit=a.unit, ci=a.ci)
    table.insert(0, "model", name)
    if a.out:
        try:
            atomic_write(a.out, lambda tmp: table.to_csv(tmp, index=False, float_format="%.4f"))
        except OSError as e:
            raise Failure(EXIT_OUTPUT, f"cannot write {a.out}: {e}") from None
    with pd.option_context("display.width", 120):
        print(table[table.group == "all"].drop(columns="group").to_string(index=False, float_format="%.4f"))
    return EXIT_OK


def cmd_info(a) -> int:
    import torch
    from .config import get_config
    from .model.blocks import n_params
    from .model.correlation import CorrelationNet
    from .model.discriminator import ThreeStreamDiscriminator
    from .model.generator import LipGenerator
    from .model.geometry import check_geometry
    torch.manual_seed(0)
    for name in a.presets:
        try:
            cfg = get_config(name)
        except ValueError as e:
            raise Failure(EXIT_USAGE, e) from None
        check_geometry(cfg.model, cfg.audio, discriminator=True)
        G, D, C = LipGenerator(cfg.model).eval(), ThreeStreamDiscriminator(cfg.model).eval(), CorrelationNet(cfg.model)
        S = cfg.model.image_size
        lms, lip = torch.rand(1, *cfg.lms_shape) * 2 - 1, torch.rand(1, 3, S, S) * 2 - 1
        t = time.perf_counter()
        with torch.inference_mode():
            video, f_s = G(lms, lip)
            logit, _ = D(lms, video)
            a_, b_ = C(f_s, video)
        dt = time.perf_counter() - t
        print(f"[{name}] G {n_params(G) / 1e6:.2f} M, D {n_params(D) / 1e6:.2f} M, "
              f"phi_s+phi_v {n_params(C) / 1e6:.3f} M | LMS {tuple(lms.shape)} + lip {tuple(lip.shape)} "
              f"-> video {tuple(video.shape)}, f_s {tuple(f_s.shape)}, D logit {tuple(logit.shape)}, "
              f"corr curves {tuple(a_.shape)} | forward {dt:.2f} s on {torch.get_num_threads()} CPU threads")
    return EXIT_OK


def cmd_generate(a) -> int:
    import warnings
    import torch
    from .inference import (ImageError, check_writable, generate_video, lip_image_from, speech_lms,
                            write_outputs)
    from .util.audio_io import AudioError
    from .util.video_io import VideoError

    if a.threads is not None:
        if a.threads < 1:
            raise Failure(EXIT_USAGE, f"--threads must be >= 1, got {a.threads}")
        torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise Failure(EXIT_USAGE, "--device cuda: no CUDA device is available (use --device cpu)")
    if a.batch < 1:
        raise Failure(EXIT_USAGE, f"--batch must be >= 1, got {a.batch}")
    t0 = time.perf_counter()
    try:                                            # 1. outputs writable? (before any work)
        check_writable(a.out)
        if a.strip is not None:
            check_writable(a.strip, suffixes=(".png",))
            if Path(a.strip).resolve() == Path(a.out).resolve():
                raise OSError("--strip and --out are the same file")
    except OSError as e:
        raise Failure(EXIT_OUTPUT, e) from None
    expect = None                                   # 2. checkpoint
    if a.config is not None:
        from .config import get_config
        try:
            expect = get_config(a.config)
        except ValueError as e:
            raise Failure(EXIT_CHECKPOINT, e) from None
    G, cfg, _, ckpt = _load_checkpoint(a.checkpoint, device=a.device, expect=expect)
    if not 0 <= a.overlap < cfg.model.n_frames:
        raise Failure(EXIT_USAGE, f"--overlap must be in [0, {cfg.model.n_frames}), got {a.overlap}")
    try:                                            # 3. audio
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            speech = speech_lms(a.audio, cfg)
        for w in caught:
            _note(f"warning: {w.message}")
    except AudioError as e:
        raise Failure(EXIT_AUDIO, e) from None
    duration = len(speech.wave) / cfg.audio.sample_rate
    notes: list[str] = []                           # 4. image
    try:
        img = lip_image_from(a.image, cfg.model.image_size, a.image_kind, notes)
    except ImageError as e:
        raise Failure(EXIT_IMAGE, e) from None
    for n in notes:
        _note(f"note: {n}")
    if img["kind"] == "face":
        _note(f"note: lip region found at (x0, y0, side) = {img['box']}")
    t1 = time.perf_counter()                        # 5. generate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = generate_video(G, cfg, speech, img["lip"], overlap=a.overlap, batch=a.batch,
                                fast=not a.plain, device=a.device)
    t_gen = time.perf_counter() - t1
    try:                                            # 6. write (atomic, all-or-nothing)
        write_outputs(a.out, frames, a.audio, fps=cfg.audio.fps,
                      side_by_side=img if a.side_by_side else None, strip=a.strip)
    except (OSError, VideoError) as e:
        raise Failure(EXIT_OUTPUT, f"cannot write {a.out}: {e}") from None
    print(f"wrote {a.out}: {len(frames)} frames ({duration:.2f} s of speech) from {ckpt.name} "
          f"[{cfg.name}]; generation {t_gen:.2f} s = real-time factor {t_gen / max(duration, 1e-9):.2f} "
          f"on {torch.get_num_threads()} threads; total {time.perf_counter() - t0:.2f} s")
    return EXIT_OK


# -------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from .config import ABLATIONS, PRESETS
    presets = " | ".join(PRESETS)
    p = _Parser(prog="lmg", description="Lip Movements Generation at a Glance (exit codes: see the "
                "module docstring of lmg_lib/cli.py or docs/PACKAGE.md)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    c = sub.add_parser("corpus", help="generate the embedded GRID-style corpus (espeak-ng + rendered lips)")
    c.add_argument("--out", required=True, help="corpus folder (GRID layout)")
    c.add_argument("--speakers", type=int, default=32)
    c.add_argument("--utterances", type=int, default=40, help="sentences per speaker")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--size", type=int, default=64, help="rendered frame size (px)")
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
    t.add_argument("--variant", default="full", choices=sorted(ABLATIONS), help="ablation variant")
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
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(fn=cmd_train)

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
    g.add_argument("--checkpoint", default=None, help=f"generator SPEC (default shipped: {DEFAULT_CHECKPOINT})")
    g.add_argument("--config", default=None, help=f"refuse a checkpoint not made for this preset ({presets})")
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    g.add_argument("--image-kind", choices=["auto", "lip", "face"], default="auto",
                   help="auto: images up to 128 px are lip crops, larger ones face photos")
    g.add_argument("--side-by-side", action="store_true", help="put the input image beside the lips")
    g.add_argument("--strip", default=None, metavar="PNG", help="also write a PNG strip of frames")
    g.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    g.add_argument("--overlap", type=int, default=4, help="frames shared by consecutive clip windows")
    g.add_argument("--batch", type=int, default=4, help="windows per forward pass")
    g.add_argument("--plain", action="store_true", help="use the plain generator, not the fast CPU path")
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


if __name__ == "__main__":
    sys.exit(main())
