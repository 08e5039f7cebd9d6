"""Training as figures: loss curves, and the model traced through one forward pass as a diagram."""
from __future__ import annotations

import numpy as np

from .frames import _save


def loss_curves(log, cfg, ax=None, title: str | None = None, legend_loc: str | None = None):
    """A training log (``train_log.csv`` as a DataFrame) drawn as the generator's loss is summed:
    each term times its weight, ``w_name * L_name`` (the log holds the unweighted terms), with the
    total ``loss_G`` and the discriminator's own loss L_D, on a log scale. A term that ``cfg``
    switches off is not drawn; a term that needs D (L_gen, a discriminator L_perc) and L_D are drawn
    only after ``train.gan_start``, where a dotted line marks when D switched on (before, they were
    not computed: the log holds 0). The legend goes right of the axes, under them
    (``legend_loc="below"``), or inside at ``legend_loc`` (a matplotlib location such as "center
    right"). Returns the axes."""
    import matplotlib.pyplot as plt
    from ..train.logs import log_keys
    from ..train.recipe import warm_config
    from ..train.step import needs_discriminator
    d_keys = ("loss_D", "d_real", "d_fake", "d_mismatch")
    terms = [k for k in log_keys(cfg) if k != "loss_G" and k not in d_keys]
    warm = set(log_keys(warm_config(cfg)))
    start = cfg.train.gan_start if needs_discriminator(cfg) else 0
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    step = log["step"].to_numpy()
    ax.plot(step, log["loss_G"], color="k", lw=1.4, label="L (loss_G, the total)")
    for k, c in zip(terms, ["C0", "C1", "C2", "C3", "C5", "C6"]):
        w = getattr(cfg.loss, f"w_{k}")
        on = np.ones(len(log), bool) if k in warm else step > start
        extra = f", mouth box x{cfg.loss.w_mouth:g} inside" if k == "pix" and cfg.loss.w_mouth else ""
        ax.plot(step[on], w * log[k].to_numpy()[on], color=c, lw=1, label=f"{w:g} x L_{k}{extra}")
    if needs_discriminator(cfg) and "loss_D" in log:
        on = step > start
        ax.plot(step[on], log["loss_D"].to_numpy()[on], color="0.45", ls="--", lw=1, label="L_D (D's loss, not in L)")
        if start:
            ax.axvline(start, color="0.3", ls=":", lw=1)
            ax.annotate(f"D switches on\n(step {start})", (start, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", ha="left", va="top", fontsize=7)
    from matplotlib.ticker import FuncFormatter
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))
    ax.tick_params(axis="y", which="both", labelsize=7)
    ax.set_xlabel("training step")
    ax.set_ylabel("weighted loss term, as summed in L\n(log scale)", fontsize=8)
    ax.grid(alpha=0.3, which="both", lw=0.5)
    if legend_loc == "below":               # under the axes, clear of every curve
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    elif legend_loc:
        ax.legend(fontsize=7, loc=legend_loc, framealpha=0.9)
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# --------------------------------------------------------------------------- the model as a diagram
def trace_model(G, lms, lip, C=None, D=None) -> dict:
    """Run the real modules once and return every stage of the full model by name -> tensor.

    ``G`` is a ``LipGenerator``; ``C`` (``CorrelationNet``) and ``D`` (``ThreeStreamDiscriminator``)
    are optional. Forward hooks on the modules record what each one outputs (batch axis kept), in
    eval mode without gradients; the generator runs its reference path (``fuse`` builds the fused
    tensor) so that the fusion's output can be recorded too. Modes and settings are restored."""
    import torch
    out, handles = {"s": lms.detach(), "p": lip.detach()}, []

    def after(module, name):
        def hook(_m, _args, result):
            out[name] = (result[0] if isinstance(result, (tuple, list)) else result).detach()
        handles.append(module.register_forward_hook(hook))

    def before(module, name):
        def hook(_m, args):
            out[name] = args[0].detach()
        handles.append(module.register_forward_pre_hook(hook))

    dec = G.decoder
    after(G.audio_encoder, "f_s"); after(G.image_encoder, "f_p"); before(dec, "fused")
    after(dec.compress, "compress"); after(dec.res, "res")
    after(dec.up[0], "up1"); after(dec.up[1], "up2"); after(dec.out, "v_hat")
    if C is not None:
        before(C.phi_s.net, "df_s"); after(C.phi_s, "phi_s"); before(C.phi_v, "flow"); after(C.phi_v, "phi_v")
    if D is not None:
        after(D.audio_fc, "d_audio"); after(D.video[-1], "d_video"); before(D.joint, "d_joint")
        after(D, "logit")
    modules = [m for m in (G, C, D) if m is not None]
    modes, fast = [m.training for m in modules], G.fast_forms
    try:
        for m in modules:
            m.eval()
        G.fast_forms = False          # the paper's forms: the fused tensor exists to be traced
        with torch.no_grad():
            video, f_s = G(lms, lip)
            if C is not None:
                C(f_s, video)
            if D is not None:
                D(lms, video)
    finally:
        G.fast_forms = fast
        for m, mode in zip(modules, modes):
            m.train(mode)
        for h in handles:
            h.remove()
    return out


def architecture_diagram(G, lms, lip, C=None, D=None, preset: str = "",
                         weights: str = "random weights", title: str | None = None, path=None):
    """The full model as the paper's Fig. 2 lays it out (audio and identity encoders, fusion, 3-D
    decoder, correlation networks, three-stream discriminator), each box labelled with the shape
    its module really outputs in one forward pass (``trace_model``; batch axis dropped) and its
    parameter count. ``preset`` and ``weights`` (what the networks' weights are) go into the
    title. Returns (figure, trace)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    from ..model.blocks import n_params

    tr = trace_model(G, lms, lip, C, D)
    sh = {k: "(" + ", ".join(str(d) for d in v.shape[1:]) + ")" for k, v in tr.items()}
    M = lambda m: f"{n_params(m) / 1e6:.2f} M params"
    cfg = G.cfg
    boxes = {   # name: (x, y, w, h, colour, text)
        "s": (1.0, 5.0, 1.6, 0.8, "#f2f2f2", f"speech s: LMS\n{sh['s']}"),
        "E_s": (3.15, 5.0, 1.9, 0.8, "#cfe2f3", f"audio encoder E_s\n5 conv-BN-ReLU\n{M(G.audio_encoder)}"),
        "f_s": (5.3, 5.0, 1.5, 0.8, "#d9ead3", f"f_s (C, T, F)\n{sh['f_s']}"),
        "p": (1.0, 2.1, 1.6, 0.8, "#f2f2f2", f"lip image p\n{sh['p']}"),
        "E_p": (3.15, 2.1, 1.9, 0.8, "#cfe2f3", f"identity encoder E_p\n3 conv-BN-ReLU\n{M(G.image_encoder)}"),
        "f_p": (5.3, 2.1, 1.5, 0.8, "#d9ead3", f"f_p (C, H, W)\n{sh['f_p']}"),
        "fuse": (7.55, 2.1, 2.0, 1.0, "#fce5cd",
                 f"audio-identity fusion\nf_s -> T x F x F, f_p tiled over T\nconcat: {sh['fused']}"),
        "dec": (10.2, 2.1, 2.5, 1.9, "#cfe2f3",
                f"3-D decoder  {M(G.decoder)}\nConv3d: {sh['compress']}\n{cfg.n_res_blocks} residual (1,3,3): {sh['res']}\n"
                f"up x2: {sh['up1']}\nup x2: {sh['up2']}\nConv3d k{cfg.out_kernel} + tanh"
                + ("\n(+ identity skips from E_p)" if cfg.identity_skips else "")),
        "v": (12.95, 2.1, 1.7, 0.8, "#d9ead3", f"video v_hat\n{sh['v_hat']}"),
    }
    arrows = [("s", "E_s"), ("E_s", "f_s"), ("p", "E_p"), ("E_p", "f_p"), ("f_s", "fuse"), ("f_p", "fuse"),
              ("fuse", "dec"), ("dec", "v")]
    if C is not None:
        boxes.update({
            "ds": (7.55, 5.0, 1.8, 0.8, "#d9ead3", f"d f_s / dt\n{sh['df_s']}"),
            "phi_s": (9.85, 5.0, 1.8, 0.8, "#ead1dc", f"phi_s: 4 Conv2d\n-> {sh['phi_s']}\n{M(C.phi_s)}"),
            "flow": (12.95, 3.6, 1.7, 0.8, "#d9ead3", f"optical flow F(v_hat)\n{sh['flow']}"),
            "phi_v": (10.2, 3.6, 1.8, 0.8, "#ead1dc", f"phi_v: 4 Conv3d\n-> {sh['phi_v']}\n{M(C.phi_v)}"),
            "corr": (12.95, 5.0, 1.7, 0.8, "#f4cccc", "L_corr\n1 - cos(phi_s, phi_v)"),
        })
        arrows += [("f_s", "ds"), ("ds", "phi_s"), ("phi_s", "corr"), ("v", "flow"), ("flow", "phi_v"),
                   ("phi_v", "corr")]
    if D is not None:
        boxes["D"] = (12.95, 0.55, 3.0, 1.0, "#f4cccc",
                      f"three-stream discriminator  {M(D)}\naudio {sh['d_audio']} + video {sh['d_video']}\n"
                      f"joint {sh['d_joint']} -> one logit per clip\n[s, v] real; [s, v_hat], [s, v_u] fake")
        # D's other inputs (drawn here, not from the boxes above, so that no arrow crosses the figure)
        boxes["D_in"] = (9.6, 0.55, 2.5, 1.0, "#f2f2f2",
                         "D also reads: the speech s (as above)\nthe real video v of that speech\n"
                         "a real video v_u of another clip\n(same speaker, another sentence)")
        arrows += [("v", "D"), ("D_in", "D")]
        # the generator's other loss terms (Chen et al. 2018 train them beside L_corr): drawn without
        # arrows, each line says what it compares
        boxes["losses"] = (5.6, 0.55, 3.9, 1.0, "#f4cccc",
                           "the generator's other loss terms, on v_hat:\nL_pix: |v_hat - v|, pixel L1 against the real v\n"
                           "L_perc: D's video-branch features of v_hat against those of v\n"
                           "L_gen: D's logit for [s, v_hat] pushed towards 'real'")
    fig, ax = plt.subplots(figsize=(14.5, 6.4))
    ax.set_xlim(0, 14.6); ax.set_ylim(-0.1, 5.7); ax.axis("off")
    for x, y, w, h, colour, text in boxes.values():
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                    fc=colour, ec="0.3", lw=0.8))
        ax.text(x, y, text, ha="center", va="center", fontsize=7)

    def edge(a, b):          # from the side of box a that faces box b
        xa, ya, wa, ha = boxes[a][:4]
        xb, yb, wb, hb = boxes[b][:4]
        if abs(xb - xa) * 1.0 >= abs(yb - ya) * 1.6:
            sx = 1 if xb > xa else -1
            return (xa + sx * wa / 2, ya), (xb - sx * wb / 2, yb)
        sy = 1 if yb > ya else -1
        return (xa, ya + sy * ha / 2), (xb, yb - sy * hb / 2)

    for a, b in arrows:
        p0, p1 = edge(a, b)
        ax.annotate("", p1, p0, arrowprops=dict(arrowstyle="->", lw=0.9, color="0.25"))
    ax.set_title(title or f"The full model (Chen et al. 2018, Fig. 2) as lmg_lib builds it"
                 f"{f', preset {preset!r}' if preset else ''} (width {cfg.width}): output shapes of one "
                 f"forward pass, batch axis dropped ({weights}; the shapes do not depend on them)", fontsize=8.5)
    fig.tight_layout(pad=0.4)
    return _save(fig, path), tr


# ------------------------------------------------------------------- validation against compute
def learning_curves(curves: dict, references: dict | None = None, path=None, title: str | None = None,
                    metrics=(("lmd", "validation LMD (px, lower is better)"),
                             ("opening_r", "validation mouth-opening r (higher is better)")), colors: dict | None = None,
                    run_styles=None, logx: bool = False):
    """Validation metrics against the CPU-minutes each run had spent: what a model buys per unit
    of compute, and whether its curve had flattened when training stopped.

    ``curves``: {model label: {run label: val_log DataFrame with ``cpu_s``}} -- one colour per
    model (``colors``: {model: colour}, to keep one model's colour across figures), one line style
    and marker per run (seeds) of it, a marker at each validation (``run_styles``: {run label: index
    into the styles} or a function of the run label, so that runs of one setting share a style across
    models; ``logx``: CPU-minutes on a log axis, for models whose costs differ several-fold). ``references``: the
    ``val_references.json`` of the shipped controls ({"seeds": {seed: {"static": {...},
    "lmd_average_mouth": ...}}}): the static reference frame and the average mouth on the same
    validation clips, averaged over the seeds listed, drawn as horizontal lines."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.2 * len(metrics), 3.8), squeeze=False)
    styles, markers = ["-", "--", ":", "-."], ["o", "s", "^", "D"]
    for ax, (key, label) in zip(axes[0], metrics):
        for i, (model, runs) in enumerate(curves.items()):
            for j, (run, log) in enumerate(runs.items()):
                j = run_styles(run) if callable(run_styles) else (run_styles or {}).get(run, j)
                ax.plot(log["cpu_s"] / 60, log[key], styles[j % len(styles)], marker=markers[j % len(markers)],
                        ms=2.5, lw=1.2, color=(colors or {}).get(model, f"C{i}"), label=f"{model}: {run}")
        if references:
            seeds = list(references["seeds"].values())
            static = float(np.mean([s["static"][key] for s in seeds]))
            ax.axhline(static, color="0.35", ls="--", lw=1)
            ax.annotate("static reference frame" + ("" if key == "lmd" else " (a constant opening: r undefined, drawn at 0)"),
                        (1, static), xycoords=("axes fraction", "data"),
                        xytext=(-3, 3), textcoords="offset points", ha="right", fontsize=7, color="0.3")
            if key == "lmd":
                avg = float(np.mean([s["lmd_average_mouth"] for s in seeds]))
                ax.axhline(avg, color="0.35", ls=":", lw=1)
                ax.annotate("average mouth (a constant)", (1, avg), xycoords=("axes fraction", "data"),
                            xytext=(-3, 3), textcoords="offset points", ha="right", fontsize=7, color="0.3")
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel("CPU-minutes spent (training + validation, both cores summed)" + (", log scale" if logx else ""))
        ax.set_ylabel(label.split(" (")[0].replace("validation ", "") + (" (px)" if key == "lmd" else ""))
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, lw=0.5)
    handles, names = axes[0][0].get_legend_handles_labels()     # below the panels: covers no curve or line
    ncol = 2 if len(names) > 4 else 1
    fig.legend(handles, names, fontsize=7, loc="lower center", ncol=ncol, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    rows = -(-len(names) // ncol)
    fig.set_figheight(3.8 + 0.17 * rows)
    fig.tight_layout(rect=(0, 0.17 * rows / (3.8 + 0.17 * rows) + 0.01, 1, 1))
    if path is not None:
        _save(fig, path)
    return fig
