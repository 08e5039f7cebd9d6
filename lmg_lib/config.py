"""Typed configuration for every part of the reproduction, its presets, the loss terms
(``LOSS_TERMS``), the ablation variants, and the one way to override it (``make_config``).

Four presets:
* ``paper`` -- the paper's and the authors' sizes (64x64 RGB lips, 16 frames at 25 fps, a (1, 64,
  128) log-mel spectrogram per clip, a 16.7 M-parameter generator).
* ``cpu``   -- the architecture at a quarter of the width (8), 4 residual blocks, 1 500 steps: ~1 h.
* ``cpu2``  -- the shipped full model: ``cpu`` at 4 000 steps, D for the last 300, ~2 h on 2 cores.
* ``tiny``  -- narrow channels, 2 residual blocks: a few steps in seconds (tests, smoke notebooks).

Every run starts from a preset and a dict of overrides, ``make_config("tiny", {"train.steps":
40})``: the command line (``lmg train --config tiny --set train.steps=40``), the notebooks'
parameter cells (``CONFIG = {"train.steps": 40}``) and ``params/*.yaml`` use the same keys.

Audio choice (documented deviation): the authors used n_fft 1024, hop 512 and asserted 4 STFT steps
per 40 ms video frame, which only holds for 38.4 kHz <= sr < 51.2 kHz. We resample every input to
16 kHz and use hop = sr / (fps * steps_per_frame) = 160 samples (10 ms), so each 40 ms video frame
owns exactly 4 spectrogram steps at any input rate; n_fft 1024 (64 ms Hann window), 128 mel bands up
to 8 kHz (the Nyquist frequency). A clip of 16 frames is then exactly (1, 64, 128), as in the
authors' code.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, asdict
from typing import Any, Callable, Literal, Mapping


@dataclass(frozen=True)
class AudioConfig:
    sample_rate: int = 16000      # every input is resampled to this
    fps: int = 25                 # video frame rate
    steps_per_frame: int = 4      # LMS time steps per video frame (authors: 4)
    n_fft: int = 1024
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None     # None -> sample_rate / 2
    top_db: float = 80.0          # dynamic range kept by power_to_db (authors: 80)
    min_rms_db: float = -60.0     # audio quieter than this (dBFS RMS) is rejected as silent

    @property
    def hop_length(self) -> int:
        hop, rem = divmod(self.sample_rate, self.fps * self.steps_per_frame)
        if rem:
            raise ValueError(f"sample_rate {self.sample_rate} is not a multiple of fps*steps_per_frame")
        return hop

    @property
    def samples_per_frame(self) -> int:
        return self.sample_rate // self.fps


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = 64          # lip crops are image_size x image_size RGB in [-1, 1]
    n_frames: int = 16            # frames per clip (0.64 s at 25 fps)
    width: int = 32               # base channel count; the paper's network is width 32
    n_res_blocks: int = 9         # residual blocks in the 3-D decoder (authors: 9)
    out_kernel: int = 7           # kernel of the decoder's last Conv3d (authors: 7)
    # correlation branch: channels of phi_s and phi_v (authors: 128,64,32,16 and 4,8,16,16)
    phi_s_channels: tuple[int, ...] = (128, 64, 32, 16)
    phi_v_channels: tuple[int, ...] = (4, 8, 16, 16)
    flow_iters: int = 30          # unrolled Horn-Schunck iterations
    flow_alpha: float = 0.1       # Horn-Schunck smoothness weight (images in [0, 1]; tuned vs Farneback)
    flow_levels: int = 2          # coarse-to-fine pyramid levels of the flow
    # decoder upsampling: "transpose" (authors: ConvTranspose3d k3 stride (1,2,2)) or "nearest"
    # (nearest-neighbour x2 then Conv3d (1,3,3): no checkerboard; Odena et al. 2016)
    upsample: Literal["transpose", "nearest"] = "transpose"
    # identity skips (not in the paper): the image encoder's 32x32 and 64x64 features, tiled over
    # time, are concatenated to the decoder's features at the same resolution (U-Net style)
    identity_skips: bool = False

    @property
    def feature_dim(self) -> int:   # C of f_s and f_p
        return 8 * self.width


@dataclass(frozen=True)
class LossConfig:
    """L = w_corr L_corr + w_pix L_pix + w_perc L_perc + w_gen L_gen (paper: 1, 0.5, 1, 1)."""
    w_corr: float = 1.0
    w_pix: float = 0.5
    w_perc: float = 1.0
    w_gen: float = 1.0
    w_mouth: float = 0.0          # extra L1 weight on the mouth box (not in the paper; model.losses.pixel_loss)
    use_corr: bool = True
    use_pix: bool = True
    use_perc: bool = True
    use_gen: bool = True
    lambda_p: float = 0.5         # weight of the [s, v_hat] fake stream in L_D
    lambda_u: float = 0.5         # weight of the [s, v_mismatch] fake stream in L_D (0: two-stream D)
    # phi_s reads d f_s / dt (paper) or f_s itself (the paper's ablation (f), "non-derivative")
    corr_derivative: bool = True
    # what D judges: the frames (paper) or their time differences (ablation (i)); with
    # "differences" the first frame's difference is zero (the audio keeps its 16 steps)
    d_input: Literal["frames", "differences"] = "frames"
    corr_negative_weight: float = 1.0   # anti-collapse term of L_corr (see correlation.py)
    # share of L_corr computed on the REAL video's flow (authors' code: 0.5 real + 0.5 generated);
    # the real half trains phi_s / phi_v on true audio-visual pairs, the generated half drives G.
    corr_real_weight: float = 0.5
    # perceptual features: "discriminator" (paper text: D's intermediate features) or
    # "autoencoder" (authors' code: a frozen, separately trained lip autoencoder)
    perceptual: Literal["discriminator", "autoencoder"] = "discriminator"
    # discriminator features for L_perc from ONE pass over [real; generated] ("joint": BatchNorm
    # normalises both with the same statistics, so per-channel differences count) or from two
    # separate passes ("separate": the code before this fix normalised each batch on its own)
    perc_batch: Literal["joint", "separate"] = "joint"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation defaults from the authors' code (Adam for everything, no lr schedule)."""
    batch_size: int = 24          # authors: 24 on 4 GPUs
    steps: int = 20000
    lr: float = 2e-4              # G and D
    betas: tuple[float, float] = (0.5, 0.999)
    lr_corr: float = 1e-4         # phi_s and phi_v
    betas_corr: tuple[float, float] = (0.9, 0.999)
    weight_decay_corr: float = 5e-4
    num_workers: int = 0
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 500
    amp: bool = True              # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True    # channels_last(_3d) weights and inputs (CUDA and CPU)
    compile: bool = False         # torch.compile the generator and discriminator
    # ---- the CPU recipe (defaults = the authors' plain schedule)
    gan_start: int = 0            # steps with the pixel (+ corr) terms only before D and the
                                  # D-based terms (L_gen, discriminator L_perc) switch on
    lr_schedule: Literal["constant", "cosine"] = "constant"   # cosine: lr -> lr_min_ratio * lr
    lr_min_ratio: float = 0.05
    ema: float = 0.0              # > 0: keep an exponential moving average of G (decay), export it
    val_every: int = 0            # > 0: validate every N steps on the validation split, keep the best


@dataclass(frozen=True)
class Config:
    name: str = "paper"
    seed: int = 0
    audio: AudioConfig = field(default_factory=AudioConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def lms_shape(self) -> tuple[int, int, int]:
        """Shape of one clip's spectrogram: (1, n_frames * steps_per_frame, n_mels)."""
        return (1, self.model.n_frames * self.audio.steps_per_frame, self.audio.n_mels)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @staticmethod
    def from_dict(d: dict) -> "Config":
        def build(cls, sub):
            kw = {}
            for f in dataclasses.fields(cls):
                if f.name in sub:
                    v = sub[f.name]
                    kw[f.name] = tuple(v) if isinstance(v, list) else v
            return cls(**kw)
        return Config(name=d.get("name", "custom"), seed=d.get("seed", 0),
                      audio=build(AudioConfig, d.get("audio", {})),
                      model=build(ModelConfig, d.get("model", {})),
                      loss=build(LossConfig, d.get("loss", {})),
                      train=build(TrainConfig, d.get("train", {})))

    def replace(self, **sections) -> "Config":
        """``cfg.replace(loss=dict(use_gen=False))`` -> a new Config with that section updated."""
        kw = {}
        for k, v in sections.items():
            kw[k] = dataclasses.replace(getattr(self, k), **v) if isinstance(v, dict) else v
        return dataclasses.replace(self, **kw)


def paper() -> Config:
    return Config(name="paper")


def tiny() -> Config:
    return Config(name="tiny", model=ModelConfig(width=4, n_res_blocks=2, out_kernel=3,
                                                 phi_s_channels=(16, 16, 8, 8),
                                                 phi_v_channels=(4, 8, 8, 8), flow_iters=10),
                  train=TrainConfig(batch_size=4, steps=50, amp=False, channels_last=False))


def cpu() -> Config:
    """The CPU recipe (docs/TRAINING.md; each deviation from ``paper`` with its measured reason in
    ``train.recipe_table.WHY``): a quarter of the width (8), 4 residual blocks, a k3 output layer
    (~16x fewer FLOPs), nearest upsampling and identity skips; L_pix weighted 20, 5x on the mouth box;
    Adam 1e-3, betas (0.9, 0.999), cosine over 1 500 steps of 8 clips; D, L_gen, L_perc from step 600;
    an EMA of G (0.999) validated every 150 steps, the best kept. About 1 h on 2 CPU cores."""
    return Config(name="cpu", model=ModelConfig(width=8, n_res_blocks=4, out_kernel=3,
                                                phi_s_channels=(32, 32, 16, 16),
                                                phi_v_channels=(4, 8, 16, 16), flow_iters=15,
                                                upsample="nearest", identity_skips=True),
                  loss=LossConfig(w_pix=20.0, w_mouth=5.0),
                  train=TrainConfig(batch_size=8, steps=1500, lr=1e-3, betas=(0.9, 0.999), amp=False,
                                    channels_last=True, log_every=25, checkpoint_every=150,
                                    sample_every=150, gan_start=600, lr_schedule="cosine", ema=0.999,
                                    val_every=150))


def cpu2() -> Config:
    """``cpu`` at 4 000 steps, D / L_gen / L_perc for the last 300 (the recipe search's choice on the
    validation speakers: docs/TRAINING.md). ``cpu`` stays, so every run of it is remade as recorded."""
    return cpu().replace(name="cpu2", train=dict(steps=4000, gan_start=3700))


PRESETS = {"paper": paper, "tiny": tiny, "cpu": cpu, "cpu2": cpu2}


def preset_of(cfg: Config, exact: bool = False) -> str | None:
    """The preset whose settings ``cfg`` has, name and seed aside (``--config cpu --steps 4000 --set
    train.gan_start=3700`` is ``cpu2``); if none's, ``cfg.name`` (the one it started from) or, ``exact``, None."""
    strip = lambda c: {k: v for k, v in asdict(c).items() if k not in ("name", "seed")}  # noqa: E731
    return next((n for n, make in PRESETS.items() if strip(make()) == strip(cfg)), None if exact else cfg.name)


def get_config(name: str) -> Config:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown config preset {name!r}; choose one of {sorted(PRESETS)}") from None


# ============================================================================== the loss terms
@dataclass(frozen=True)
class LossTerm:
    """One term of the generator's loss L = sum of w_<name> L_<name> over the terms switched on: its
    weight and switch are the ``LossConfig`` fields ``w_<name>``, ``use_<name>``; its function is
    ``train.step.TERM_FUNCTIONS[name]``; train_log.csv's column ``<name>`` logs it. ``needs_d``: it
    reads D's pass on the generated video, so it is off during the warm-up (``train.gan_start``).
    ``letter``, ``variant``: the row of the paper's ablation study (Chen et al. 2018, Table 2) that
    adds it to the rows before; None: not in the paper (every variant switches it off)."""
    name: str
    needs_d: Callable[[LossConfig], bool]
    letter: str | None = None
    variant: str | None = None

    def __post_init__(self):
        missing = [f for f in (f"w_{self.name}", self.switch) if f not in _LOSS_FIELDS]
        if missing:
            raise TypeError(f"loss term {self.name!r}: LossConfig has no field {' or '.join(missing)}")

    @property
    def switch(self) -> str:                # --set loss.use_<name>=false
        return f"use_{self.name}"

    def on(self, L: LossConfig) -> bool:
        return getattr(L, self.switch)

    def weight(self, L: LossConfig) -> float:
        return getattr(L, f"w_{self.name}")

    def warm(self, L: LossConfig) -> bool:  # on during the warm-up: switched on, needs no D
        return self.on(L) and not self.needs_d(L)


_LOSS_FIELDS = {f.name for f in dataclasses.fields(LossConfig)}
# In the order of the paper's L = L_corr + 0.5 L_pix + L_perc + L_gen (audio-visual correlation, L1,
# feature distance in D or in an autoencoder, fooling D): the order of the weighted sum
# (model.losses.total_generator_loss) and of train_log.csv's columns.
LOSS_TERMS: tuple[LossTerm, ...] = (
    LossTerm("corr", needs_d=lambda L: False, letter="e", variant="full"),
    LossTerm("pix", needs_d=lambda L: False, letter="b", variant="l1"),
    LossTerm("perc", needs_d=lambda L: L.perceptual == "discriminator", letter="d", variant="perc"),
    LossTerm("gen", needs_d=lambda L: True, letter="c", variant="gan"),
)


# ================================================================================ ablations
# The paper's ablation study (Chen et al. 2018, Table 2), one row per variant, with its letter.
# A variant is a shorthand for ``loss.*`` overrides, resolved by ``make_config(..., variant=...)``
# (``lmg train --variant``, notebook 5) BEFORE the explicit overrides, so that an explicit
# ``--set loss.use_gen=false`` always wins. It sets the switch of every loss term and the fields
# that define it; everything else (weights, lambda_p, ...) comes from the preset.
def _terms(*names: str) -> dict[str, bool]:
    """Every loss term's switch: on for ``names``, off for the others."""
    assert set(names) <= {t.name for t in LOSS_TERMS}, names
    return {t.switch: t.name in names for t in LOSS_TERMS}


# (b) to (e) add the paper's terms one at a time, in the order of their letters (LossTerm.letter)
_LADDER = sorted((t for t in LOSS_TERMS if t.letter), key=lambda t: t.letter)
_ROWS = {t.variant: _terms(*(u.name for u in _LADDER[:i + 1])) for i, t in enumerate(_LADDER)}
ABLATIONS: dict[str, dict] = {
    "gan_only":          _terms("gen"),                                     # (a) GAN only
    **_ROWS,                              # (b) l1: L1, (c) gan: + GAN, (d) perc: + perceptual, (e) full: + corr
    "corr_nonderiv":     {**_ROWS["full"], "corr_derivative": False},       # (f) corr on f_s itself
    "two_stream":        {**_ROWS["full"], "lambda_u": 0.0},                # (g) no mismatch stream
    "two_stream_nocorr": {**_ROWS["perc"], "lambda_u": 0.0},                # (h) (g) without corr
    "diff_d":            {**_ROWS["full"], "d_input": "differences"},       # (i) D on differences
    "corr":              _terms("pix", "gen", "corr"),                      # not in the paper
}
PAPER_LETTER: dict[str, str | None] = {
    "gan_only": "a", **{t.variant: t.letter for t in _LADDER}, "corr_nonderiv": "f",
    "two_stream": "g", "two_stream_nocorr": "h", "diff_d": "i", "corr": None}


def variant_overrides(variant: str | None) -> dict[str, Any]:
    """The ``loss.*`` overrides that ``variant`` stands for ({} for None)."""
    if variant is None:
        return {}
    if variant not in ABLATIONS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sorted(ABLATIONS)}")
    return {f"loss.{k}": v for k, v in ABLATIONS[variant].items()}


def variant_of(cfg: Config) -> str:
    """The name of the ablation variant whose defining fields ``cfg.loss`` has, else "custom".
    A field that no variant of this name sets must have the paper's default (e.g. ``full`` with
    ``loss.lambda_u=0`` is "two_stream", with ``loss.use_gen=false`` it is "custom")."""
    defining = {k for spec in ABLATIONS.values() for k in spec}
    default = LossConfig()
    for name, spec in ABLATIONS.items():
        if all(getattr(cfg.loss, k) == spec.get(k, getattr(default, k)) for k in defining):
            return name
    return "custom"


# ===================================================================== the one override path
SECTIONS = {"audio": AudioConfig, "model": ModelConfig, "loss": LossConfig, "train": TrainConfig}


def make_config(preset: str | Config = "paper", overrides: Mapping[str, Any] | None = None,
                variant: str | None = None) -> Config:
    """A preset (its name, or a ``Config``) with an ablation ``variant``'s loss switches and then
    ``overrides`` applied: an explicit override wins over the variant.

    Keys are ``seed``, ``name`` or ``<section>.<field>`` with section audio, model, loss or train:
    ``{"seed": 1, "train.steps": 40, "loss.use_gen": False, "model.phi_s_channels": (16, 8)}``.
    Values may be strings as typed on a command line (``"40"``, ``"false"``, ``"1e-4"``,
    ``"16,8"``, ``"none"``): they are converted to the field's type. An unknown key or a value
    that does not fit raises ``ValueError`` naming the valid choices."""
    cfg = get_config(preset) if isinstance(preset, str) else preset
    top: dict[str, Any] = {}
    sections: dict[str, dict] = {}
    for key, value in {**variant_overrides(variant), **(overrides or {})}.items():
        if key in ("seed", "name"):
            top[key] = _convert(key, getattr(cfg, key), value)
            continue
        section, _, name = str(key).partition(".")
        cls = SECTIONS.get(section)
        fields = {f.name for f in dataclasses.fields(cls)} if cls else set()
        if name not in fields:
            valid = ["seed", "name"] + [f"{s}.{f.name}" for s, c in SECTIONS.items() for f in dataclasses.fields(c)]
            raise ValueError(f"unknown configuration key {key!r}; valid keys: {', '.join(valid)}")
        sections.setdefault(section, {})[name] = _convert(key, getattr(getattr(cfg, section), name), value)
    return cfg.replace(**top, **sections)


def _literal_choices(key: str) -> tuple:
    """The allowed values of a ``Literal[...]`` field (e.g. loss.perceptual), else ()."""
    import typing
    section, _, name = key.partition(".")
    if section not in SECTIONS:
        return ()
    hint = typing.get_type_hints(SECTIONS[section]).get(name)
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else ()


def _convert(key: str, current: Any, value: Any) -> Any:
    """``value`` as the type of the field's current value (strings parsed as on a command line)."""
    try:
        if isinstance(value, str) and value.strip().lower() in ("none", "null") and current is None:
            return None
        choices = _literal_choices(key)
        if choices and value not in choices:
            raise ValueError(value)
        if isinstance(current, bool):
            if isinstance(value, str):
                v = value.strip().lower()
                if v not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return v in ("true", "1", "yes", "on")
            if value not in (True, False, 0, 1):
                raise ValueError(value)
            return bool(value)
        if isinstance(current, tuple):
            items = [x for x in value.split(",") if x.strip()] if isinstance(value, str) else list(value)
            kind = type(current[0]) if current else (float if any("." in str(x) for x in items) else int)
            return tuple(_convert(key, kind(0), x) for x in items)
        if isinstance(current, int):
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, bool) or float(number) != int(number):
                raise ValueError(value)
            return int(number)
        if isinstance(current, float) or current is None:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return type(current)(value) if isinstance(value, str) else value
    except (TypeError, ValueError):
        expected = " or ".join(map(repr, _literal_choices(key))) or f"{type(current).__name__}, like {current!r}"
        raise ValueError(f"{key}: cannot use {value!r} (expected {expected})") from None
