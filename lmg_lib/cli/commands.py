"""What each ``lmg`` command does (the parser and the exit-code table are in ``cli/__init__.py``).

Each command imports what it needs when it runs, so that ``lmg --help`` or ``lmg corpus`` do not
load PyTorch and every room of the package."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ..util.paths import SHIPPED_FULL

# Shipped files, looked up in the working directory, then in the repository (editable installs).
DEFAULT_CHECKPOINT = f"checkpoints/{SHIPPED_FULL}/generator.safetensors"   # the shipped full model (util.paths)
# `lmg generate` on a face photo without --checkpoint: the full model trained on the photographic
# corpus style (the cpu recipe), which did better on real photos than the default-corpus model of the
# same recipe (docs/REAL_FACES.md); lip crops get the shipped full model (SHIPPED_FULL).
DEFAULT_FACE_CHECKPOINT = "photo_full"
DEFAULT_DETECTOR = "checkpoints/lip_landmarks.pt"        # the lip-landmark regressor (LMD)

(EXIT_OK, EXIT_USAGE, EXIT_AUDIO, EXIT_IMAGE, EXIT_CHECKPOINT, EXIT_OUTPUT, EXIT_OTHER, EXIT_DATA,
 EXIT_DIVERGED) = 0, 2, 3, 4, 5, 6, 7, 8, 9


class Failure(Exception):
    """A command's failure: the exit code and the one line to print."""

    def __init__(self, code: int, message):
        super().__init__(" ".join(str(message).split()))
        self.code = code


def _note(msg: str) -> None:
    print(f"lmg: {msg}", file=sys.stderr)


def _load_checkpoint(spec: str | None, device="cpu", expect=None, any_network: bool = False):
    """(network, config, extra, path) of a checkpoint SPEC, or a Failure with EXIT_CHECKPOINT.
    ``any_network``: a baseline checkpoint is accepted too (``lmg evaluate``)."""
    from ..train.baselines import BASELINES
    from ..train.checkpoints import CheckpointError, load_generator, load_network, resolve_checkpoint
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
    from ..corpus.build import CorpusConfig, build_corpus, disk_size
    from ..viz import save_sample_strip
    if a.speakers < 1 or a.utterances < 1 or a.workers < 0:
        raise Failure(EXIT_USAGE, "--speakers and --utterances must be >= 1, --workers >= 0")
    cfg = CorpusConfig(n_speakers=a.speakers, utterances_per_speaker=a.utterances, seed=a.seed,
                       image_size=a.size, n_workers=a.workers, style=a.style)
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
    from ..config import make_config
    from ..data.landmarks import LandmarkError
    from ..data.preprocess import preprocess
    from ..data.shards import ShardError
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
    from ..config import make_config
    from ..data.dataset import load_dataset
    from ..data.shards import ShardError
    from ..train.loop import NonFiniteLossError, Trainer
    from ..util.malloc import keep_freed_memory
    keep_freed_memory()          # ~15 % faster CPU steps: no page faults re-zeroing freed activations
    try:
        cfg = make_config(a.config, train_overrides(a), variant=a.variant)
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    try:
        dataset = load_dataset(a.data, cfg)
    except (FileNotFoundError, ShardError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    extra = {}
    try:
        if a.model != "generator":
            from ..train.baselines import Speech2VidBaseline, VGANBaseline
            extra["generator"] = {"speech2vid": Speech2VidBaseline, "vgan": VGANBaseline}[a.model](cfg.model)
        if a.autoencoder:
            from ..train.autoencoder import load_autoencoder
            extra["autoencoder"] = load_autoencoder(a.autoencoder)
        if cfg.train.val_every and not a.data.startswith("synthetic"):
            from ..data.dataset import LipClipDataset
            from ..eval.lip_landmarks import load_landmark_regressor
            from ..util.paths import in_repo
            extra["val_dataset"] = LipClipDataset(a.data, "val", seed=cfg.seed)
            extra["detector"] = load_landmark_regressor(in_repo(a.detector))
    except (FileNotFoundError, ShardError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    if a.branch_from:
        from ..train.checkpoints import branch_run
        try:
            print(f"branched from {a.branch_from} at step {branch_run(a.branch_from, a.out, cfg)}")
        except (FileExistsError, FileNotFoundError, ValueError) as e:
            raise Failure(EXIT_USAGE, e) from None
    trainer = None
    try:
        trainer = Trainer(cfg, dataset, a.out, device=a.device, resume=a.resume or bool(a.branch_from),
                          progress=not a.no_progress, sync_bn=a.sync_bn, **extra)
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
            print(f"trained {result['step']} steps ({result['variant']}); checkpoint {result['checkpoint']}; "
                  f"generator {result['generator']}")
    return EXIT_OK


def cmd_pretrain_autoencoder(a) -> int:
    from ..config import make_config
    from ..data.dataset import load_dataset
    from ..data.shards import ShardError
    from ..infer.outputs import check_writable
    from ..train.autoencoder import pretrain_autoencoder, save_autoencoder
    try:
        cfg = make_config(a.config, {"seed": a.seed})
        dataset = load_dataset(a.data, cfg, split="train")
    except (FileNotFoundError, ShardError) as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    try:
        out = check_writable(a.out, suffixes=(".safetensors",))
    except OSError as e:
        raise Failure(EXIT_OUTPUT, e) from None
    try:
        given = {k: getattr(a, k) for k in ("steps", "batch_size", "lr", "max_frames") if getattr(a, k) is not None}
        ae, info = pretrain_autoencoder(dataset, cfg.model, seed=a.seed, progress=not a.no_progress, **given)
    except ShardError as e:
        raise Failure(EXIT_DATA, e) from None
    except ValueError as e:
        raise Failure(EXIT_USAGE, e) from None
    info.update(config=a.config, data=str(a.data), clips=len(dataset))
    try:
        save_autoencoder(ae, cfg.model, out, info)
    except OSError as e:
        raise Failure(EXIT_OUTPUT, f"cannot write {out}: {e}") from None
    print(f"{out}: lip autoencoder (preset {a.config}, width {cfg.model.width}) trained {info['steps']} steps "
          f"on frames of {len(dataset)} training clips, last L1 {info['l1_train']:.4f}, {info['cpu_s']:.0f} CPU s; "
          f"use it with `lmg train --set loss.perceptual=autoencoder --autoencoder {out}`")
    return EXIT_OK


def cmd_evaluate(a) -> int:
    import pandas as pd
    from ..data.dataset import LipClipDataset, evenly_spaced
    from ..data.shards import ShardError
    from ..eval.lip_landmarks import load_landmark_regressor
    from ..eval.protocol import evaluate
    from ..train.baselines import StaticBaseline
    from ..util.files import atomic_write
    from ..util.paths import in_repo
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
    from ..config import get_config
    from ..model.blocks import n_params
    from ..model.correlation import CorrelationNet
    from ..model.discriminator import ThreeStreamDiscriminator
    from ..model.generator import LipGenerator
    from ..model.geometry import check_geometry
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
    import numpy as np
    import torch
    from ..infer.generate import speech_lms, stream_video
    from ..infer.images import ImageError, lip_image_from
    from ..infer.outputs import check_writable, write_outputs
    from ..util.audio_io import AudioError
    from ..util.video_io import VideoError

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
        from ..config import get_config
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
    speech = speech._replace(wave=np.empty(0, np.float32))  # free the samples: ffmpeg reads the file
    notes: list[str] = []                           # 4. image
    try:
        img = lip_image_from(a.image, cfg.model.image_size, a.image_kind, notes)
    except ImageError as e:
        raise Failure(EXIT_IMAGE, e) from None
    for line in notes:
        _note(f"note: {line}")
    if img["kind"] == "face":
        _note(f"note: lip region found at (x0, y0, side) = {img['box']}")
        if a.checkpoint is None:                    # a real photo: the photo-style model, when shipped
            from ..train.checkpoints import resolve_checkpoint
            if resolve_checkpoint(DEFAULT_FACE_CHECKPOINT).is_file():
                G2, cfg2, _, ckpt2 = _load_checkpoint(DEFAULT_FACE_CHECKPOINT, device=a.device, expect=expect)
                # the speech and the lip crop were prepared for `full`'s preset: the same one
                assert cfg2.audio == cfg.audio and cfg2.model.image_size == cfg.model.image_size
                G, cfg, ckpt = G2, cfg2, ckpt2
                _note(f"note: a face photo: using the model trained on the photographic corpus style "
                      f"({DEFAULT_FACE_CHECKPOINT}; --checkpoint {SHIPPED_FULL} for the default-corpus model)")
    elif a.view in ("face", "warp"):
        raise Failure(EXIT_IMAGE, f"--view {a.view} needs a face photo, but {a.image} was used as a lip crop "
                                  f"(no face found, or --image-kind lips): give a frontal face photo, or "
                                  f"use --view lips")
    t1 = time.perf_counter()                        # 5. generate and write, frame by frame (flat memory)
    frames = stream_video(G, cfg, speech, img["lip"], overlap=a.overlap, batch=a.batch,
                          fast=True if a.fast else False if a.plain else None, device=a.device)
    if a.view == "face":                            # beyond the paper: paste back into the photo
        from ..infer.paste import FacePaster, paste_stream
        frames = paste_stream(frames, FacePaster(img["image"], img["box"]))
    elif a.view == "warp":                          # beyond the paper: the photo's own mouth, moved
        from ..eval.lip_landmarks import load_landmark_regressor
        from ..infer.warp import warp_photo_stream
        from ..util.paths import SHIPPED_CHECKPOINTS
        frames = warp_photo_stream(G, cfg, img, frames, load_landmark_regressor(SHIPPED_CHECKPOINTS / "lip_landmarks.pt"),
                                   device=a.device)
    try:                                            # atomic, all-or-nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = write_outputs(a.out, frames, a.audio, fps=cfg.audio.fps, n_frames=speech.n_frames,
                              side_by_side=img if a.side_by_side else None, strip=a.strip)
    except (OSError, VideoError) as e:
        raise Failure(EXIT_OUTPUT, f"cannot write {a.out}: {e}") from None
    t_gen = time.perf_counter() - t1
    from ..config import preset_of                 # the recipe its weights were trained with, not cfg.name:
    exact = preset_of(cfg, exact=True)              # a cpu run changed by --set into cpu2 is named "cpu"
    recipe = f"{exact} recipe" if exact else f"{cfg.name} preset with changes: its header lists them"
    print(f"wrote {a.out}: {n} frames ({duration:.2f} s of speech) from {ckpt.parent.name}/{ckpt.name} "
          f"({recipe}); "
          f"generated and encoded in {t_gen:.2f} s = real-time factor {t_gen / max(duration, 1e-9):.2f} "
          f"on {torch.get_num_threads()} threads; total {time.perf_counter() - t0:.2f} s"
          + {"face": "; lips pasted back into the photo (--view face, beyond the paper)",
             "warp": "; the photo's own mouth warped to the generated mouth shapes (--view warp, beyond the paper)"
             }.get(a.view, ""))
    return EXIT_OK
