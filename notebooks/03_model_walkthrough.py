# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3 · The model, module by module
#
# *Lip Movements Generation at a Glance* (Chen et al., ECCV 2018) maps **speech** $s$ and **one lip
# image** $p$ of a person to a **video** $\hat v$ of that person's lips speaking:
#
# $$\hat v = G(s, p) = \mathrm{Dec}\big(\mathrm{fuse}(E_s(s),\, E_p(p))\big), \qquad \hat v \in [-1, 1]^{3\times T\times 64\times 64}, \; T = 16 .$$
#
# This notebook walks through every part of `lmg_lib` with its input and output shapes: the audio
# front end, the two encoders, the fusion, the 3-D decoder, the optical flow and correlation
# loss, the three-stream discriminator, the perceptual features and the total loss. No model is
# trained here (every network keeps its random initial weights; notebook 4 trains them); two small
# demonstrations (section 7 and exercise 2) optimise toy encoders for a few hundred steps.
#
# **Paper beside this notebook** (Chen et al., ECCV 2018, arXiv:1803.10404), read the way the
# *Annotated Transformer* reads its paper: for every component, what the paper says (in our words,
# with its equation where it has one), then the source of the `lmg_lib` module that computes it,
# read from the installed package with `inspect` (so what you read is what runs), then the shapes
# that module really outputs in a forward pass. Where the paper leaves the layers open, ours follow
# the authors' code (their `3d_gan` repository); where we go beyond both, the text says so.
#
# A **preset** is a named configuration of the networks, the losses and the training
# (`lmg_lib/config.py`; `make_config(name)`, `lmg train --config name`): `paper` has the paper's
# sizes and weights, `tiny` is a network small enough to train in seconds for demonstrations and
# tests, and `cpu` / `cpu2` are the narrower recipes our shipped models were trained with on two CPU
# cores (notebook 4 tables them field by field). This notebook draws and counts the `PRESET` of its
# parameters cell (`paper` unless changed) and evaluates the losses with the `LOSS_PRESET` (`tiny`).
#
# | paper | here |
# |---|---|
# | Fig. 2, the full model: audio encoder, identity encoder, audio-identity fusion, 3-D decoder, correlation networks, three-stream discriminator | section 2: the same layout drawn from the real modules, with their output shapes (`figures/model_architecture.png`) |
# | method, the audio input (log-amplitude mel spectrogram) | section 1 |
# | method, the audio encoder: LMS $\to f_s \in \mathbb{R}^{T\times F}$ | section 3, beside `model/encoders.py` `AudioEncoder` |
# | method, the identity encoder: one lip image $\to f_p \in \mathbb{R}^{H\times W}$ | section 4, beside `model/encoders.py` `ImageEncoder` |
# | method, audio-identity fusion: $f_s$ replicated to $T\times F\times F$, $f_p$ tiled over $T$, concatenated | section 5, beside `model/fusion.py` `fuse` |
# | method, the 3-D decoder (and our identity skips, which are **not** in the paper) | section 6, beside `model/decoder.py` `VideoDecoder` |
# | method, correlation loss $L_{corr} = 1 - \cos(\phi_s(f_s'), \phi_v(F(\hat v)))$ | section 7, beside `model/correlation.py` |
# | method, the three-stream discriminator $D(s, v)$ | section 8, beside `model/discriminator.py` |
# | method, perceptual loss on an intermediate layer of $D$ | section 9, beside `model/losses.py` `perceptual_loss` |
# | method, three-stream discriminator loss $L_D$ with $\lambda_p = \lambda_u = 0.5$, and the total generator loss | section 10, beside `model/losses.py` `discriminator_loss` |

# %% tags=["parameters"]
PRESET = "paper"        # network shown and counted: "paper" (16.7 M generator) or "tiny"
LOSS_PRESET = "tiny"    # network used to evaluate the losses on one batch (backward passes)
SEED = 0
DEVICE = "cpu"
SENTENCE = "bin blue at f two now"

# %%
import numpy as np
import torch
import matplotlib.pyplot as plt

from lmg_lib.config import make_config
from lmg_lib.corpus import speech
from lmg_lib.data import audio
from lmg_lib.model.blocks import n_params
from lmg_lib.model.correlation import CorrelationNet, centred_cosine, correlation_loss
from lmg_lib.model.decoder import NearestUpConv, ResBlock3d, VideoDecoder, tile_skip, up3d
from lmg_lib.model.discriminator import ThreeStreamDiscriminator
from lmg_lib.model.encoders import AudioEncoder, ImageEncoder, audio_trunk
from lmg_lib.model.flow import video_flow
from lmg_lib.model.fusion import fuse
from lmg_lib.model.generator import LipGenerator
from lmg_lib.model.losses import discriminator_loss, mismatched, perceptual_loss, total_generator_loss
from lmg_lib.notebook import SAVE, figure_path, show_source
from lmg_lib.train import build_models, generator_terms, seed_everything
from lmg_lib.viz import architecture_diagram

seed_everything(SEED)
cfg = make_config(PRESET)
print(cfg.name, "| LMS per clip:", cfg.lms_shape, "| lips:", (3, cfg.model.image_size, cfg.model.image_size))

# %% [markdown]
# ## 1. Speech → log-mel spectrogram (LMS)
#
# The audio is resampled to 16 kHz and turned into a 128-band log-mel spectrogram with a 10 ms hop,
# so that every 40 ms video frame owns exactly **4 spectrogram steps**. A 16-frame clip (0.64 s)
# is therefore a $1 \times 64 \times 128$ image, the shape of the authors' code. We speak a GRID
# sentence with espeak-ng (the same engine as the embedded corpus).

# %%
sp = speech.synthesize(SENTENCE)
lms = audio.log_mel_spectrogram(sp.audio)                     # (4 * n_frames, 128)
n_frames = lms.shape[0] // 4
clip = audio.clip_lms(lms, start_frame=max(0, n_frames // 2 - 8))   # (1, 64, 128)
print(f"{sp.duration:.2f} s of speech -> {n_frames} video frames -> LMS {lms.shape}; one clip {clip.shape}")

start = max(0, n_frames // 2 - 8)                               # the clip's first frame (as above)
fig, ax = plt.subplots(1, 2, figsize=(11.5, 3), gridspec_kw=dict(width_ratios=[3, 1]), layout="constrained")
im = ax[0].imshow(lms.T, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
                  extent=[0, n_frames, 0, 128])
for _, s, e in [w for w in sp.words]:
    ax[0].axvline(s / 640, color="w", lw=0.5)
ax[0].axvspan(start, start + 16, color="c", alpha=0.25, lw=0)    # the clip on the right
ax[0].set(xlabel="video frame (40 ms)", ylabel="mel band",
          title=f'LMS of "{SENTENCE}" (white: word starts; cyan: frames {start}-{start + 15}, the clip on the right)')
ax[1].imshow(clip[0].T, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
ax[1].set(xlabel="LMS step (4 per frame)", ylabel="mel band", title="one clip: 64 x 128")
fig.colorbar(im, ax=ax, shrink=0.9, label="log-mel, scaled to [-1, 1]\n(dB re the utterance maximum)")
fig.savefig(figure_path("model_lms.png"), **SAVE)

# %% [markdown]
# ## 2. The whole model at a glance (the paper's Fig. 2)
#
# One forward pass of the real modules of the `PRESET` network (random weights), with forward hooks
# that record what every module outputs: the diagram's shapes are read from the tensors, not typed
# in. The tensors of that pass are used in the next sections.
#
# * **Audio encoder** $E_s$: five conv–BN–ReLU layers take the $(1, 64, 128)$ LMS to
#   $f_s \in \mathbb{R}^{C \times T \times F}$ with $T = F = 16$: one $F$-dimensional feature per
#   output frame and channel.
# * **Image (identity) encoder** $E_p$: a 7×7 conv and two stride-2 convs take the $64\times64$ lip
#   image to $f_p \in \mathbb{R}^{C\times H\times W}$ with $H = W = 16$.
# * The lip image here is **random noise** and the speech is the espeak sentence above: only the
#   shapes matter in this notebook.

# %%
G = LipGenerator(cfg.model).to(DEVICE).eval()
D = ThreeStreamDiscriminator(cfg.model).to(DEVICE).eval()
C = CorrelationNet(cfg.model).to(DEVICE)
lms_b = torch.tensor(clip)[None].to(DEVICE)                               # (1, 1, 64, 128)
lip_b = (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(SEED)) * 2 - 1).to(DEVICE)
arch_fig, trace = architecture_diagram(G, lms_b, lip_b, C=C, D=D, preset=PRESET,
                                       weights="random weights, noise lip image",
                                       path=figure_path("model_architecture.png"))
f_s, f_p, fused, video = (trace[k] for k in ("f_s", "f_p", "fused", "v_hat"))
for name, t in trace.items():
    print(f"{name:<9} {tuple(t.shape)}")

# %% [markdown]
# The generator's forward pass, from the library. Its last line is the paper's equation. The two
# lines before it are one switch, `G.fast_forms` (on by default, used on a CPU): it computes two
# of the decoder's convolutions with the same sums in another order, which is measured faster on a
# CPU (`model/fast_forms.py`; the tests hold both forms equal, outputs and gradients). The `skips`
# line is ours, not the paper's (section 6).

# %%
show_source(LipGenerator.forward,
            equation=r"\hat v = G(s, p) = \mathrm{Dec}\big(\mathrm{fuse}(E_s(s),\, E_p(p))\big)")

# %% [markdown]
# To annotate each module below with its shapes we run it once with forward hooks on some of its
# parts and print what goes in and what comes out (batch axis dropped): the shapes are read from
# the tensors, not typed.

# %%
def io_shapes(module, names, *inputs, **kw):
    """One forward pass of ``module`` without gradients; for each named submodule, the shapes of
    its first input and of its output (batch axis dropped), read by forward hooks."""
    subs, rows, hooks = dict(module.named_modules()), {}, []

    def record(name):
        def hook(m, inputs, output):          # returns None: the output is left as it is
            rows.setdefault(name, (tuple(inputs[0].shape[1:]), tuple(output.shape[1:])))
        return hook
    for n in names:
        hooks.append(subs[n].register_forward_hook(record(n)))
    try:
        with torch.no_grad():
            module(*inputs, **kw)
    finally:
        for h in hooks:
            h.remove()
    return rows


def print_shapes(title, rows):
    print(title)
    for n, (i, o) in rows.items():
        print(f"  {n:<16} {str(i):>22} -> {o}")

# %% [markdown]
# ## 3. The audio encoder $E_s$: LMS $\to f_s$
#
# **Paper, in our words.** The speech enters as its log-amplitude mel spectrogram, and a
# convolutional encoder turns it into the speech feature $f_s \in \mathbb{R}^{T\times F}$: one
# $F$-dimensional vector for each of the $T$ frames to generate (per channel: $f_s$ has $C$
# channels). **Our code.** The layers are those of the authors' code: five conv–BN–ReLU blocks
# with 3×3 kernels over the (time, mel) image; two strides of 2 along time take the 64 LMS steps
# to $T = 16$ (one step per video frame), three strides of 2 along the mel axis take 128 bands to
# $F = 16$, and the channels grow to $C = 8w$ ($w$ = the preset's width). The discriminator has its
# own copy of the first four blocks (`audio_trunk`, section 8). The paper's Fig. 2 draws this encoder
# with four convolutions and max pooling; we follow the code, which has five blocks and strides.

# %%
show_source(audio_trunk, AudioEncoder,
            equation=r"f_s = E_s(s) \in \mathbb{R}^{C\times T\times F}, \qquad T = F = 16")

# %%
print_shapes(f"E_s of the {PRESET} preset (w = {cfg.model.width}): in -> out",
             io_shapes(G.audio_encoder, ["trunk.0", "trunk.1", "trunk.2", "trunk.3", "last"], lms_b))

# %% [markdown]
# ## 4. The identity encoder $E_p$: one lip image $\to f_p$
#
# **Paper, in our words.** A second convolutional encoder reads the single lip image $p$ of the
# person and gives the identity feature $f_p \in \mathbb{R}^{H\times W}$ (again per channel), at the
# same size as the audio feature, $H = W = F$, so that the two can be stacked (section 5).
# **Our code.** As the authors' code: reflection padding and a 7×7 conv, then two 3×3 convs of
# stride 2 (64 → 32 → 16 pixels), each with BatchNorm and ReLU, ending at $C = 8w$ channels like
# $f_s$. With `return_skips` the encoder also returns its 32×32 and 64×64 intermediate maps: the
# **identity skips**, which are our addition, not the paper's (section 6).

# %%
show_source(ImageEncoder, equation=r"f_p = E_p(p) \in \mathbb{R}^{C\times H\times W}, \qquad H = W = F = 16")

# %%
print_shapes(f"E_p of the {PRESET} preset: in -> out",
             io_shapes(G.image_encoder, ["net.0", "net.1", "net.2", "net.3"], lip_b))

# %% [markdown]
# ## 5. Fusion: $T \times F \times F$
#
# The paper's key layout trick: $f_s$ $(C, T, F)$ is **replicated along a new last axis** into
# $(C, T, F, F)$, so that at frame $t$ every column of an $F\times F$ plane holds the same audio
# vector; $f_p$ $(C, H, W)$ is **tiled over time**; with $H = W = F$ the two are concatenated on
# channels. Every output frame thus sees the whole identity plane and its own audio feature at
# every spatial position, and the 3-D decoder can mix them locally.
#
# In `lmg_lib` the fusion is one function, `fuse`, which the generator runs with
# `G.fast_forms = False`. By default (`fast_forms = True`, on a CPU) the generator computes the decoder's
# first convolution of the fused tensor without building it (`fast_forms.fused_conv3d`): the
# same sums regrouped, $2TF/(T+F)$ times fewer multiply-adds for that layer (16 at $T = F = 16$,
# computed below from the shapes); Exercise 3 checks that the two agree.

# %%
show_source(fuse, equation=r"f_v = \big[\,\underbrace{f_s \otimes \mathbf{1}_F}_{C\times T\times F\times F}\;;\;"
                           r"\underbrace{\mathbf{1}_T \otimes f_p}_{C\times T\times H\times W}\,\big] "
                           r"\in \mathbb{R}^{2C\times T\times F\times F}, \qquad H = W = F")

# %%
# the decoder's first conv (3x3x3, Co outputs) on the fused tensor, against fused_conv3d's two 2-D convs
# (3 kernels each, one per offset along the replicated axis), multiply-adds per output channel
(_, Cs, T_, F_), Cp = f_s.shape, f_p.shape[1]
full_ma = (Cs + Cp) * 27 * T_ * F_ * F_                  # every (t, h, w) of the fused tensor
fast_ma = 3 * 9 * (Cs * T_ * F_ + Cp * F_ * F_)          # f_s over (t, h), f_p over (h, w), 3 kernels each
print(f"multiply-adds per output channel: {full_ma:,} built, {fast_ma:,} fast: {full_ma / fast_ma:.1f}x fewer")

# %% [markdown]
# The figure shows the layout with the untrained network's features (random weights, noise lip
# image): the values mean nothing, the repetition pattern is the point.

# %%
c = 0
fig, ax = plt.subplots(1, 4, figsize=(13.5, 3.4), layout="constrained")
kw = dict(origin="lower", vmin=float(fused[0, c].min()), vmax=float(fused[0, c].max()))   # one scale: audio panels
im = ax[0].imshow(f_s[0, c].cpu().T, aspect="auto", **kw); ax[0].set(title="f_s[c]: T x F", xlabel="t", ylabel="F")
ax[1].imshow(fused[0, c, 5].cpu(), **kw); ax[1].set(title="fused[c, t=5]: audio, F x F\n(columns = f_s[c, 5])")
ax[2].imshow(fused[0, c, 11].cpu(), **kw); ax[2].set(title="fused[c, t=11]: audio")
im3 = ax[3].imshow(fused[0, cfg.model.feature_dim + c, 5].cpu(), origin="lower")
ax[3].set(title="fused[C + c, t=5]: identity f_p[c]\n(the same at every t)")
for a in ax[1:]:
    a.set(xlabel="w (the replicated axis)" if a is not ax[3] else "w", ylabel="h (= F)")
fig.colorbar(im, ax=list(ax[:3]), shrink=0.8, label="feature value (audio channel c)")
fig.colorbar(im3, ax=ax[3], shrink=0.8, label="feature value (identity channel c)")
fig.suptitle("Fusion layout, random-weight demonstration (untrained network, noise lip image): "
             "only the repetition pattern is meaningful", fontsize=9)
fig.savefig(figure_path("model_fusion.png"), **SAVE)
assert torch.equal(fused[0, :cfg.model.feature_dim, 5, :, 3], f_s[0, :, 5, :])

# %% [markdown]
# ## 6. The 3-D decoder, with the identity skips
#
# **Paper, in our words.** A decoder of 3-D convolutions (over time, height and width) turns the
# fused $2C \times T\times F\times F$ volume into all $T$ frames at once, so that neighbouring frames
# are made together rather than one by one. **Our code.** The layers follow the authors' code: a
# Conv3d compresses the $2C$ fused channels to $C$, residual blocks with spatial-only (1, 3, 3)
# kernels refine each frame (nine in `paper`), two upsamplings double height and width
# ($16 \to 32 \to 64$ pixels; transposed 3-D convs as the authors, or nearest-neighbour + conv with
# `upsample="nearest"`), and a Conv3d with tanh outputs RGB in $[-1, 1]$.
#
# **The identity skips are not in the paper** (nor in the authors' code). With
# `ModelConfig.identity_skips` the image encoder's 32×32 and 64×64 maps are tiled over time and
# concatenated to the decoder's features after each upsampling (U-Net style), so the decoder can
# copy the person's appearance instead of rebuilding it from the 16×16 $f_p$. The `paper` preset
# leaves them off; the `cpu` preset, the recipe of our trained models, switches them on (printed
# below; notebook 5 compares a model trained without them).

# %%
show_source(VideoDecoder, ResBlock3d, up3d, NearestUpConv, tile_skip,
            equation=r"\hat v = \mathrm{Dec}(f_v) \in [-1, 1]^{3\times T\times 64\times 64}")

# %% [markdown]
# The decoder's stages in one pass, for the `paper` preset (above) and for the `cpu` preset with
# its identity skips: after each upsampling of the `cpu` decoder the next stage's input has twice
# the channels of the upsampling's output, the skip's half (the `fast_forms` switch is off here so
# that every stage runs as the module shown above).

# %%
cpu_cfg = make_config("cpu")
for name, c in (("paper", make_config("paper")), ("cpu", cpu_cfg)):
    print(f"{name}: upsample={c.model.upsample!r}, identity_skips={c.model.identity_skips}")
stages = ["decoder.compress", "decoder.res", "decoder.up.0", "decoder.up.1", "decoder.out"]
G.fast_forms = False
print_shapes(f"decoder of the {PRESET} preset: in -> out", io_shapes(G, stages, lms_b, lip_b))
G.fast_forms = True
G_cpu = LipGenerator(cpu_cfg.model).eval()
G_cpu.fast_forms = False
cpu_rows = io_shapes(G_cpu, stages, lms_b, lip_b)
print_shapes("decoder of the cpu preset (identity skips): in -> out", cpu_rows)
assert cpu_rows["decoder.up.1"][0][0] == 2 * cpu_rows["decoder.up.0"][1][0]     # a skip doubles the channels

# %% [markdown]
# The parameter counts below match the authors' model definitions (generator 16.70 M,
# discriminator 55.59 M) for the `paper` preset.

# %%
counts = {"audio encoder": n_params(G.audio_encoder), "image encoder": n_params(G.image_encoder),
          "decoder": n_params(G.decoder), "generator (total)": n_params(G),
          "discriminator": n_params(D), "phi_s": n_params(C.phi_s), "phi_v": n_params(C.phi_v)}
for k, v in counts.items():
    print(f"{k:<20} {v / 1e6:8.3f} M")

# %% [markdown]
# ## 7. Optical flow and the correlation loss
#
# The paper's key observation: lips often **lead** the sound by a delay that is not fixed, so
# matching audio and video frame by frame is brittle. What does line up is **change**: when the
# sound changes, the lips move. The correlation loss compares the time derivative of the audio
# feature with the optical flow of the video:
#
# $$L_\mathrm{corr} = 1 - \cos\big(\phi_s(\partial_t f_s),\; \phi_v(F(\hat v))\big).$$
#
# $F$ must be differentiable so that the gradient reaches the generator. The authors used FlowNetS
# (weights never released); we unroll Horn–Schunck in a two-level pyramid, which agrees with
# OpenCV's Farnebäck flow within about 5 % on test translations (`tests/test_audio_flow.py`); on the
# opening mouth below the two agree in pattern, not in size.
#
# In `lmg_lib`: $\phi_s$ takes the time difference of $f_s$ (15 transitions for 16 frames; we write
# $f_s[t+1] - f_s[t]$, the authors' code $f_s[t] - f_s[t+1]$: a learned $\phi_s$ absorbs the sign), $\phi_v$
# the flow, each ends in one value per transition, and the loss compares the two 15-step curves
# (with the anti-collapse changes explained below):

# %%
from lmg_lib.model.correlation import AudioDerivativeEncoder, FlowEncoder
show_source(CorrelationNet.forward, AudioDerivativeEncoder.forward, FlowEncoder.forward, centred_cosine,
            correlation_loss,
            equation=r"L_\mathrm{corr} = 1 - \cos\big(\phi_s(f_s'),\; \phi_v(F(\hat v))\big), \qquad "
                     r"f_s'[t] = f_s[t+1] - f_s[t],\; t = 1..T-1")

# %% [markdown]
# **What training minimises.** The equation above has the *generated* video's flow. The authors'
# code, and ours, train with a mix (`LossConfig.corr_real_weight`, 0.5): half the loss is computed
# on the generated video's flow and half on the *real* video's, so that $\phi_s$ and $\phi_v$ also
# learn from true audio-visual pairs. $F$ is `model.flow.video_flow` (Horn–Schunck, no parameters;
# the paper's FlowNetS is a trained network).
#
# $$L_\mathrm{corr}^\mathrm{train} = (1 - w)\,L_\mathrm{corr}\big(\phi_s(f_s'), \phi_v(F(\hat v))\big)
#   + w\,L_\mathrm{corr}\big(\phi_s(f_s'), \phi_v(F(v))\big), \qquad w = 0.5$$

# %%
from lmg_lib.train.step import correlation_term
show_source(correlation_term, video_flow)

# %% [markdown]
# The shapes of section 2's pass through the correlation branch: the derivative of $f_s$ (15
# transitions), the flow of $\hat v$ (two components, 15 transitions, at the $F \times F$ size of
# $f_s$), and the two 15-step curves the loss compares.

# %%
for k in ("f_s", "df_s", "phi_s", "v_hat", "flow", "phi_v"):
    print(f"  {k:<6} {tuple(trace[k].shape[1:])}")

# %% [markdown]
# Now the flow itself, on a dark "mouth" that opens and closes: the vertical flow points up above
# the mouth and down below it.

# %%
import cv2
frames = []
for h in 6 + 4 * np.sin(np.linspace(0, 2 * np.pi, 16)):
    img = np.full((64, 64, 3), 200, np.uint8)
    cv2.ellipse(img, (32, 32), (16, int(round(h))), 0, 0, 360, (60, 20, 30), -1)
    frames.append(cv2.GaussianBlur(img, (0, 0), 1.2))
mouth = torch.tensor(np.stack(frames)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1   # (1, 3, 16, 64, 64)
flow = video_flow(mouth, out_size=None)                                                  # (1, 2, 15, 64, 64)
far = cv2.calcOpticalFlowFarneback(cv2.cvtColor(frames[1], cv2.COLOR_RGB2GRAY), cv2.cvtColor(frames[2], cv2.COLOR_RGB2GRAY),
                                   None, 0.5, 3, 15, 3, 5, 1.2, 0)
fig, ax = plt.subplots(1, 3, figsize=(10.5, 3.2), layout="constrained")
ax[0].imshow(frames[1]); ax[0].set_title("frame 1 (mouth opening)")
vmax = float(np.abs(far[..., 1]).max())
ax[1].imshow(flow[0, 1, 1].numpy(), cmap="coolwarm", vmin=-vmax, vmax=vmax); ax[1].set_title("Horn-Schunck (ours), vertical flow")
im = ax[2].imshow(far[..., 1], cmap="coolwarm", vmin=-vmax, vmax=vmax); ax[2].set_title("OpenCV Farneback, vertical flow")
for a in ax:
    a.axis("off")
fig.colorbar(im, ax=list(ax[1:]), shrink=0.9,
             label="vertical flow v, frame 1 -> 2\n(pixels per frame, 64 px image;\n> 0 downward, < 0 upward)")
fig.savefig(figure_path("model_flow_vs_farneback.png"), **SAVE)
flow_r = float(np.corrcoef(flow[0, 1, 1].numpy().ravel(), far[..., 1].ravel())[0, 1])
print(f"correlation of the two vertical flow fields: r = {flow_r:.2f}")

# %% [markdown]
# ### Why the authors' loss can collapse, and what we changed
#
# In the authors' code both $\phi_s$ and $\phi_v$ end in a ReLU and the loss has no negative pairs.
# Two encoders that output **the same constant non-negative vector** for every input reach
# $\cos = 1$, $L_\mathrm{corr} = 0$ without looking at the data. We (i) centre both 15-step curves
# in time (the cosine becomes a Pearson correlation; a flat curve scores 0) and (ii) penalise any
# positive similarity between a clip's audio curve and **another clip's** video curve. Below we
# train constant "encoders" (two free vectors) to minimise each loss. Ours cannot go below 1 for
# such encoders by design: with every clip's curves equal, the penalty on another clip's similarity
# equals the clip's own, so the loss is $1 - c + \max(c, 0) \ge 1$; the check below tests that the
# library's `correlation_loss` has that property (the authors' reaches 0).

# %%
def fit_constants(loss_fn, steps=300):
    torch.manual_seed(SEED)
    p, q = torch.rand(15, requires_grad=True), torch.rand(15, requires_grad=True)
    opt, hist = torch.optim.Adam([p, q], lr=0.05), []
    for _ in range(steps):
        loss = loss_fn(torch.relu(p).expand(8, 15), torch.relu(q).expand(8, 15))
        opt.zero_grad(); loss.backward(); opt.step(); hist.append(loss.item())
    return hist

authors = lambda a, b: (1 - torch.nn.functional.cosine_similarity(a, b)).mean()
h_auth, h_ours = fit_constants(authors), fit_constants(correlation_loss)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(h_auth, label="authors: 1 - cos (collapses to 0)"); ax.plot(h_ours, label="ours: centred + negatives (stays >= 1)")
ax.set(xlabel="optimisation step", ylabel="loss of input-independent encoders"); ax.legend(fontsize=8)
fig.tight_layout(); fig.savefig(figure_path("model_corr_collapse.png"), **SAVE)
print(f"constant encoders: authors' loss -> {h_auth[-1]:.4f}, ours -> {h_ours[-1]:.4f}")

# %% [markdown]
# ## 8. The three-stream discriminator $D(s, v)$
#
# **Paper, in our words.** $D$ reads a speech clip and a video together and outputs the
# probability that the video is a real recording *of that speech*. It is trained on three streams
# of pairs: real recordings $[s, v]$ should score high; generated video $[s, \hat v]$ and a **real
# but mismatched** video of another clip $[s, v_u]$ should score low. The third stream forces $D$
# (and so $G$) to care about audio-visual agreement, not only about realistic lips (its loss is in
# section 10). **Our code.** The layers are the authors', with one activation changed: an audio
# branch (its own copy of the first four audio convs, then a linear layer to one vector), a video
# branch of four Conv3d with 4×4×4 kernels (the first three stride 2 in time and space, the fourth
# stride 2 in space only, as the shapes below show; the first followed by a LeakyReLU 0.2 where the
# authors' code has a ReLU: README, *Deviations*), and a joint head on both; it returns a logit (the
# sigmoid lives in the loss) and the video branch's four feature maps (section 9). The three streams
# are three calls of the same network.

# %%
show_source(ThreeStreamDiscriminator,
            equation=r"D(s, v) = \sigma\big(\mathrm{joint}\big[\mathrm{video}(v);\; \mathrm{tile}(\mathrm{audio}(s))\big]\big) \in (0, 1)")

# %%
d_rows = io_shapes(D, ["audio", "audio_fc", "video.0", "video.1", "video.2", "video.3", "joint"], lms_b, video)
print_shapes(f"D of the {PRESET} preset on (s, v_hat): in -> out", d_rows)

# %% [markdown]
# ## 9. Perceptual features: which layers of $D$ feed $L_\mathrm{perc}$
#
# **Paper, in our words.** Besides the pixel loss, the generated video should look like the real
# one to the discriminator: $L_\mathrm{perc}$ is the squared $L_2$ distance between $D$'s responses to
# $v$ and to $\hat v$ at an intermediate layer, $\|\phi(v) - \phi(\hat v)\|_2^2$. The text does not say
# which layer. **Our code.** $\phi$ is every layer of $D$'s video branch: the four feature maps
# `ThreeStreamDiscriminator.forward` collects in `feats` (after the LeakyReLU of the first Conv3d
# and after each later conv–BN–ReLU), each compared by its mean squared error, the four averaged;
# the real video's features count as constants. The training step (`lmg_lib/train/step.py`)
# passes $D$'s `feats` of $\hat v$ and $v$ to this function. (The authors' code used a frozen lip
# autoencoder's features instead, one switch away: `LossConfig.perceptual = "autoencoder"`.)

# %%
show_source(perceptual_loss, equation=r"L_\mathrm{perc} = \frac{1}{4}\sum_{l=1}^{4} "
                                      r"\mathrm{mean}\Big(\big(\phi_l(v) - \phi_l(\hat v)\big)^2\Big)")

# %% [markdown]
# The four maps for a (noise) real video and section 2's generated one, and $L_\mathrm{perc}$ from
# them, once by the library and once by hand:

# %%
v_real = torch.rand(1, 3, 16, 64, 64, generator=torch.Generator().manual_seed(SEED)) * 2 - 1
with torch.no_grad():
    _, feats_real = D(lms_b, v_real)
    _, feats_fake = D(lms_b, video)
for l, (r, f) in enumerate(zip(feats_real, feats_fake), 1):
    print(f"  phi_{l} = D.video[{l - 1}] output {tuple(f.shape[1:])}: mean squared difference {torch.mean((r - f) ** 2).item():.4f}")
l_perc = perceptual_loss(feats_fake, feats_real)
by_hand_perc = torch.stack([torch.mean((r - f) ** 2) for r, f in zip(feats_real, feats_fake)]).mean()
print(f"L_perc = {l_perc.item():.4f} (by hand {by_hand_perc.item():.4f})")
assert len(feats_fake) == len(D.video) and torch.isclose(l_perc, by_hand_perc)

# %% [markdown]
# ## 10. The discriminator's loss and the total loss
#
# The three streams of section 8 enter $D$'s loss with the weights $\lambda_p$ and $\lambda_u$:
#
# $$L_D = -\log D(s, v) - \lambda_p \log(1 - D(s, \hat v)) - \lambda_u \log(1 - D(s, v_u)), \quad \lambda_p = \lambda_u = 0.5.$$
#
# The generator minimises $L = L_\mathrm{corr} + 0.5\,L_\mathrm{pix} + 1.0\,L_\mathrm{perc} + 1.0\,L_\mathrm{gen}$
# (the paper's weights). The `cpu` and `cpu2` recipes of our trained models change them and the
# network's size (printed below; notebook 4's recipe table says why): the pixel term weighs far more
# and has an extra weight on the mouth box, which is not in the paper. `total_generator_loss` sums
# the weighted terms, `pixel_loss` is the L1 with its mouth box. The
# discriminator's loss in `lmg_lib` (the logits go through a sigmoid inside the binary
# cross-entropy, the same maths as $-\log D$ and $-\log(1 - D)$):

# %%
from lmg_lib.model.losses import pixel_loss
from lmg_lib.train.recipe_table import generator_parameters
for name in ("paper", "cpu", "cpu2"):
    c = make_config(name)
    print(f"{name:>5}: G {generator_parameters(c) / 1e6:.2f} M parameters (width {c.model.width}, "
          f"{c.model.n_res_blocks} residual blocks); L = {c.loss.w_corr:g} L_corr + {c.loss.w_pix:g} L_pix "
          f"+ {c.loss.w_perc:g} L_perc + {c.loss.w_gen:g} L_gen; mouth box x{c.loss.w_mouth:g} extra in L_pix; "
          f"{c.train.steps} steps, D from step {c.train.gan_start}")
show_source(total_generator_loss, pixel_loss)

# %%
show_source(discriminator_loss,
            equation=r"L_D = -\log D(s, v) - \lambda_p \log\big(1 - D(s, \hat v)\big) "
                     r"- \lambda_u \log\big(1 - D(s, v_u)\big), \qquad \lambda_p = \lambda_u = 0.5")

# %% [markdown]
# We evaluate every term on one batch of **random** clips (noise videos and lip images, the speech
# above and its time-reversed copy) with the untrained `LOSS_PRESET` networks: the numbers only
# show that every term is computed and finite.

# %%
lcfg = make_config(LOSS_PRESET, {"seed": SEED})
models = build_models(lcfg)
g = torch.Generator().manual_seed(SEED)
B = 2
batch = {"lms": torch.tensor(np.stack([clip, clip[:, ::-1].copy()])),
         "ref": torch.rand(B, 3, 64, 64, generator=g) * 2 - 1,
         "video": torch.rand(B, 3, 16, 64, 64, generator=g) * 2 - 1}
fake, f_s_b = models.G(batch["lms"], batch["ref"])
terms = generator_terms(models, batch, lcfg, fake, f_s_b)
total, _ = total_generator_loss(terms, lcfg.loss)
with torch.no_grad():
    logits = {"real [s, v]": models.D(batch["lms"], batch["video"])[0],
              "generated [s, v_hat]": models.D(batch["lms"], fake)[0],
              "mismatched [s, v_u]": models.D(batch["lms"], mismatched(batch["video"]))[0]}
    l_d, parts = discriminator_loss(*logits.values())
for k, v in terms.items():
    print(f"L_{k:<5} = {v.item():.4f}  (weight {getattr(lcfg.loss, 'w_' + k)})")
print(f"L (generator total) = {total.item():.4f}")
for k, v in logits.items():
    print(f"D{k:<22} sigmoid = {torch.sigmoid(v).numpy().round(3)}")
print(f"L_D = {l_d.item():.4f} = {parts['d_real']:.4f} + 0.5 * {parts['d_fake']:.4f} + 0.5 * {parts['d_mismatch']:.4f}")

# %% [markdown]
# ## Exercises
#
# Each exercise has a hint (click to open) and a worked solution, collapsed on the exported page,
# that checks its own answer (each check fails on a wrong answer); together they take a few seconds
# on a CPU.
#
# **Exercise 1 · Two streams instead of three.** Set $\lambda_u = 0$ in `discriminator_loss` (the
# paper's ablations (g) and (h)). Which term of $L_D$ disappears, and what does the discriminator
# then no longer learn?
#
# <details><summary>Hint</summary>
#
# Call `discriminator_loss(real, fake, None, lambda_u=0.0)` with the logits above and compare its
# total and its logged terms with the three-stream call. Without $[s, v_u]$, can $D$ still reject a
# real video that does not belong to the speech?
# </details>

# %% tags=["solution"]
l_d2, parts2 = discriminator_loss(logits["real [s, v]"], logits["generated [s, v_hat]"], None, lambda_u=0.0)
print("three streams:", sorted(parts), "| two streams:", sorted(parts2))
assert "d_mismatch" not in parts2 and torch.isclose(l_d2, parts["d_real"] + 0.5 * parts["d_fake"])
assert torch.isclose(l_d, l_d2 + 0.5 * parts["d_mismatch"])
# what D no longer learns: how L_D moves with D's score of a real video under the wrong speech.
# With three streams raising that score raises L_D (D is pushed to reject it); with two, nothing.
m = logits["mismatched [s, v_u]"].clone().requires_grad_(True)
g3, = torch.autograd.grad(discriminator_loss(logits["real [s, v]"], logits["generated [s, v_hat]"], m)[0], m)
g2, = torch.autograd.grad(discriminator_loss(logits["real [s, v]"], logits["generated [s, v_hat]"], m,
                                             lambda_u=0.0)[0], m, allow_unused=True, materialize_grads=True)
print(f"dL_D / d(score of [s, v_u]): three streams {g3.abs().mean().item():.3f}, two {g2.abs().mean().item():.3f}")
assert (g3 > 0).all() and torch.equal(g2, torch.zeros_like(g2))
# so D learns real vs generated only, not "does v fit s": a real mouth on the wrong speech passes

# %% [markdown]
# **Exercise 2 · The authors' correlation loss without negatives collapses.** Train two tiny
# encoders (a linear layer + ReLU each, as the authors' $\phi$ end in ReLU) on *unrelated* random
# audio and video curves, once with the authors' $1 - \cos$ and once with `correlation_loss`.
# Which loss reaches 0, and do its encoders still look at their input?
#
# <details><summary>Hint</summary>
#
# Draw fresh random inputs every step (nothing to learn). Afterwards compare the spread of an
# encoder's outputs over many inputs with their mean: a spread near 0 means the output is
# (almost) the same for every input.
# </details>

# %% tags=["solution"]
def train_phi(loss_fn, steps=200):
    torch.manual_seed(SEED)
    phi_a = torch.nn.Sequential(torch.nn.Linear(15, 15), torch.nn.ReLU())
    phi_b = torch.nn.Sequential(torch.nn.Linear(15, 15), torch.nn.ReLU())
    opt = torch.optim.Adam([*phi_a.parameters(), *phi_b.parameters()], lr=0.01)
    for _ in range(steps):
        loss = loss_fn(phi_a(torch.randn(16, 15)), phi_b(torch.randn(16, 15)))   # unrelated curves
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        out = phi_a(torch.randn(256, 15))
    return loss.item(), (out.std(0).mean() / out.mean(0).abs().mean().clamp_min(1e-8)).item()

(l_a, spread_a), (l_o, spread_o) = train_phi(authors), train_phi(correlation_loss)
print(f"authors' 1 - cos: loss {l_a:.3f}, output spread / mean {spread_a:.2f} | "
      f"ours: loss {l_o:.3f}, spread / mean {spread_o:.2f}")
assert l_a < 0.05 and l_o > 0.7       # the authors' loss is 'solved' on pure noise; ours is not
# and the answer to "do its encoders still look at their input": the authors' phi_a has nearly the same
# output for every input (spread a small fraction of the mean), ours varies with its input
assert spread_a < 0.3 and spread_o > 3 * spread_a, (spread_a, spread_o)

# %% [markdown]
# **Exercise 3 · Check the fusion layout and its fast form.** Verify on the tensors of section 2 that
# the identity half of the fused tensor is the same at every frame, that the audio half is constant
# along its last axis, and that `fast_forms.fused_conv3d` (what the generator runs by default)
# equals a 3-D convolution of `fuse(f_s, f_p)` (what it runs with `G.fast_forms = False`).
#
# <details><summary>Hint</summary>
#
# `fused[:, C:]` is the identity half. For the fast path use small float64 tensors and
# `torch.nn.functional.conv3d(fuse(a, b), w, padding=1)`.
# </details>

# %% tags=["solution"]
from lmg_lib.model.fast_forms import fused_conv3d
Cf = f_s.shape[1]
assert torch.equal(fused[:, Cf:], fused[:, Cf:, :1].expand_as(fused[:, Cf:]))        # f_p tiled over T
assert torch.equal(fused[:, :Cf], fused[:, :Cf, ..., :1].expand_as(fused[:, :Cf]))   # f_s copied along the last axis
g64 = torch.Generator().manual_seed(SEED)
a, b = torch.randn(2, 4, 16, 16, generator=g64, dtype=torch.float64), torch.randn(2, 3, 16, 16, generator=g64, dtype=torch.float64)
w = torch.randn(5, 7, 3, 3, 3, generator=g64, dtype=torch.float64)
err = (fused_conv3d(a, b, w) - torch.nn.functional.conv3d(fuse(a, b), w, padding=1)).abs().max().item()
print(f"fused_conv3d vs conv3d(fuse(...)): max difference {err:.1e}")
assert err < 1e-10

# %% [markdown]
# **Exercise 4 · Where are the discriminator's 55.59 M parameters?** Count by hand the parameters of
# the linear layer that turns the audio branch's feature map into one vector, and compare with the
# whole discriminator.
#
# <details><summary>Hint</summary>
#
# The audio branch maps the $(1, 64, 128)$ LMS to $8w$ channels of $16 \times 32$ ($w$ = the preset's
# width, 32 in `paper`); the linear layer maps all of them to $8w$ values, with a bias.
# </details>

# %% tags=["solution"]
wd = cfg.model.width
by_hand = (8 * wd * 16 * 32) * (8 * wd) + 8 * wd
print(f"audio linear layer: {by_hand / 1e6:.2f} M of the discriminator's {counts['discriminator'] / 1e6:.2f} M "
      f"({100 * by_hand / counts['discriminator']:.0f} %)")
assert by_hand == n_params(D.audio_fc)

# %% [markdown]
# ## Checks
# The numbers above are sane: shapes as in the paper, parameter counts as in the authors' code, the
# flow agrees with Farnebäck, the anti-collapse loss holds, all losses are finite.

# %%
assert video.shape == (1, 3, 16, 64, 64) and f_s.shape[2:] == (16, 16) and fused.shape[2:] == (16, 16, 16)
if PRESET == "paper":
    assert abs(counts["generator (total)"] / 1e6 - 16.70) < 0.01
    assert abs(counts["discriminator"] / 1e6 - 55.59) < 0.01
assert flow_r > 0.6, flow_r
assert h_auth[-1] < 0.01 and h_ours[-1] >= 1 - 1e-3
assert all(torch.isfinite(v) for v in terms.values()) and torch.isfinite(l_d)
print("checks passed")
