"""Small matplotlib helpers for the notebooks and ``lmg corpus --strip`` (deterministic PNGs).

No function here selects or switches matplotlib's backend: the caller's backend decides (the inline
backend in a notebook, so every figure is shown *and* saved; Agg on a headless machine). Figures are
returned open; a function that only returns a path (``save_sample_strip``) closes its figure unless
asked not to."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def frame_strip(frames: np.ndarray, landmarks: np.ndarray | None = None, path=None,
                cols: int | None = None, titles=None, scale: float = 1.2, title: str | None = None):
    """Show frames (T, H, W, 3) uint8 in a grid, optionally with landmarks (T, 20, 2) overlaid
    (outer lip points in cyan, inner in yellow). Saves a PNG to ``path`` if given; returns the
    (open) figure."""
    import matplotlib.pyplot as plt

    T = len(frames)
    cols = cols or min(T, 8)
    rows = (T + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale, rows * scale), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= T:
            continue
        ax.imshow(frames[k], interpolation="nearest")
        if landmarks is not None:
            lm = landmarks[k]
            ax.plot(*np.vstack([lm[:12], lm[:1]]).T, "-", color="cyan", lw=0.5, marker=".", ms=1.5)
            ax.plot(*np.vstack([lm[12:], lm[12:13]]).T, "-", color="yellow", lw=0.5, marker=".", ms=1.5)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(left=0.01, right=0.99, top=(0.95 if titles is not None else 0.99) - (0.08 if title else 0),
                        bottom=0.01, wspace=0.05, hspace=0.15 if titles is not None else 0.05)
    if path is not None:
        fig.savefig(path, dpi=100, metadata={"Software": None})
    return fig


def save_sample_strip(root, path, speaker: str = "s1", utt: str | None = None,
                      n: int = 16, landmarks: bool = True, close: bool = True) -> Path:
    """PNG of ``n`` consecutive frames from the middle of one utterance of an embedded corpus
    (its exact landmarks overlaid). ``close=False`` leaves the figure open (a notebook shows it)."""
    from .corpus.build import utterance_paths
    from .util.video_io import read_frames
    root = Path(root)
    if utt is None:
        utt = sorted((root / speaker / "video").glob("*.mp4"))[0].stem
    p = utterance_paths(root, speaker, utt)
    frames = read_frames(p["video"])
    lms = np.load(p["meta"])["landmarks"]
    k = max(0, (len(frames) - n) // 2)
    fig = frame_strip(frames[k:k + n], lms[k:k + n] if landmarks else None, path, cols=8, scale=1.5)
    if close:
        import matplotlib.pyplot as plt
        plt.close(fig)
    return Path(path)


def _save(fig, path):
    if path is not None:
        fig.savefig(path, dpi=110, metadata={"Software": None})
    return fig


def samples_over_time(samples: dict, clip: int = 0, frames=(0, 4, 8, 12), real=None, path=None,
                      title: str | None = None, frame_numbers=None):
    """Rows = training steps, columns = frames of one sample clip. ``samples`` maps step ->
    uint8 (B, T, S, S, 3) (``Trainer(sample_batch=...)`` files); ``real`` (T, S, S, 3) adds the target row.
    ``frame_numbers``: the clip's frame index of each stored frame, when the snapshots keep only
    some frames (the shipped ``samples.npz`` keeps 0, 5, 10, 15): the columns are labelled with them."""
    rows = {f"step {s}": v[clip] for s, v in sorted(samples.items())}
    if real is not None:
        rows["real"] = real
    labels = None if frame_numbers is None else [f"frame {frame_numbers[t]}" for t in frames]
    return compare_videos(rows, frames=frames, path=path, title=title, frame_labels=labels)


def _title_rect(fig, title: str | None, fontsize: float) -> tuple[str | None, tuple]:
    """``title`` wrapped to the figure's width, and the ``tight_layout`` rect that leaves it room
    above the panels (their column titles included), so the two never overlap."""
    import textwrap
    if not title:
        return None, (0, 0, 1, 1)
    w, h = fig.get_size_inches()
    text = "\n".join(textwrap.fill(line, max(20, int(w * 130 / fontsize))) for line in title.split("\n"))
    room = (text.count("\n") + 1) * fontsize * 1.2 / 72                  # inches
    return text, (0, 0, 1, 1 - room / h)


def compare_videos(videos: dict, frames=(0, 3, 6, 9, 12, 15), landmarks: dict | None = None,
                   title: str | None = None, path=None, frame_labels=None):
    """Rows = named videos (T, S, S, 3) uint8 (e.g. real, full model, baselines), columns = frames;
    optional landmarks per row name (T, 20, 2) drawn as dots. The paper's qualitative figure layout.
    ``frame_labels``: the column titles (default "frame t"). A long ``title`` is wrapped and placed
    above the column titles."""
    import matplotlib.pyplot as plt
    names = list(videos)
    labels = [f"frame {t}" for t in frames] if frame_labels is None else list(frame_labels)
    if len(labels) != len(frames):
        raise ValueError(f"{len(labels)} frame labels for {len(frames)} frames")
    fig, axes = plt.subplots(len(names), len(frames), figsize=(1.25 * len(frames) + 0.9, 1.25 * len(names) + 0.3),
                             squeeze=False)
    for r, name in enumerate(names):
        for c, t in enumerate(frames):
            ax = axes[r, c]
            ax.imshow(videos[name][t], interpolation="nearest")
            if landmarks and name in landmarks and landmarks[name] is not None:
                lm = landmarks[name][t]
                ax.plot(lm[:, 0], lm[:, 1], ".", ms=1.5, color="cyan")
            ax.set_xticks([]); ax.set_yticks([])
            if r == 0:
                ax.set_title(labels[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    text, rect = _title_rect(fig, title, 9)
    if text:
        fig.suptitle(text, fontsize=9, y=0.995, va="top")
    fig.tight_layout(pad=0.3, rect=rect)
    return _save(fig, path)


def loss_curves(log, cfg, ax=None, title: str | None = None, legend_loc: str | None = None):
    """A training log (``train_log.csv`` as a DataFrame) drawn as the generator's loss is summed:
    each term times its weight, ``w_name * L_name`` (the log holds the unweighted terms), with the
    total ``loss_G`` and the discriminator's own loss L_D, on a log scale. A term that ``cfg``
    switches off is not drawn; a term that needs D (L_gen, a discriminator L_perc) and L_D are drawn
    only after ``train.gan_start``, where a dotted line marks when D switched on (before, they were
    not computed: the log holds 0). The legend goes right of the axes, or inside at ``legend_loc``
    (a matplotlib location such as "center right"). Returns the axes."""
    import matplotlib.pyplot as plt
    from .train.logs import log_keys
    from .train.recipe import warm_config
    from .train.step import needs_discriminator
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
    if legend_loc:
        ax.legend(fontsize=7, loc=legend_loc, framealpha=0.9)
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def metric_label(metric: str, lower_better=("lmd",), compare_with_real=("cpbd",)) -> str:
    """The reading direction of a metric, for panel titles. CPBD has none: a generated video can
    score far *above* the real frames when its edges are artefacts, so it is read against the
    real frames' CPBD, never as "higher is better"."""
    if metric in compare_with_real:
        return f"{metric} (compare with real frames)"
    return f"{metric} ({'lower' if metric in lower_better else 'higher'} is better)"


def metric_table_figure(table, metrics, path=None, title: str | None = None, lower_better=("lmd",),
                        compare_with_real=("cpbd",)):
    """A bar chart of mean +- 95 % CI per model (rows of ``table``: model, metric, mean, ci_low,
    ci_high), one panel per metric -- the smoke protocol's table as a figure. Panel titles give each
    metric's reading direction (``metric_label``). A model without a value (an LMD whose frames the
    landmark regressor refused: no mouth found) gets no bar and the words "no value" in its place."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 2.8), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        t = table[table.metric == m]
        x = np.arange(len(t))
        err = np.vstack([t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]])
        ax.bar(x, t["mean"], yerr=np.nan_to_num(err), capsize=3, color="#4c72b0")
        ax.set_xticks(x, t["model"], rotation=35, ha="right", fontsize=8)
        ax.set_title(metric_label(m, lower_better, compare_with_real), fontsize=9)
        finite = np.isfinite(t["mean"].to_numpy(float))
        lo = float(np.nanmin(t["ci_low"])) if finite.any() else 0.0
        hi = float(np.nanmax(t["ci_high"])) if finite.any() else 1.0
        pad = 0.15 * (hi - lo + 1e-9)
        ax.set_ylim(max(0.0, lo - pad) if m != "lmd" else 0.0, hi + pad)
        for k in np.flatnonzero(~finite):
            ax.text(x[k], ax.get_ylim()[0], " no value", rotation=90, ha="center", va="bottom", fontsize=7,
                    color="0.35")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


# ------------------------------------------------------------------ interval (dot) plots of results
def _limits(lo, hi, clip_outlier: bool = False):
    """x limits spanning every interval (not from 0: a dot plot has no baseline, so differences of
    0.05 px stay visible). With ``clip_outlier`` a single value far outside the others (more than
    twice their spread beyond them, e.g. a variant that learnt no mouth) is left out of the span and
    returned, to be drawn at the panel's edge with its value written. Returns (xmin, xmax, outlier
    index or None)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    ok = np.flatnonzero(np.isfinite(lo) & np.isfinite(hi))
    out = None
    if clip_outlier and len(ok) >= 4:
        mid = (lo[ok] + hi[ok]) / 2
        far = ok[int(np.argmax(np.abs(mid - np.median(mid))))]
        rest = ok[ok != far]
        a, b = lo[rest].min(), hi[rest].max()
        if max(a - hi[far], lo[far] - b) > 2 * (b - a):
            out, ok = far, rest
    if not len(ok):
        return 0.0, 1.0, out
    a, b = lo[ok].min(), hi[ok].max()
    pad = 0.08 * (b - a) if b > a else 0.05 * (abs(a) + 1e-3)
    return a - pad, b + pad, out


def _dots(ax, y, mean, lo, hi, clip_outlier=False, extra=(), **style):
    """Dots at ``mean`` with horizontal interval bars [lo, hi] at rows ``y`` (NaN: nothing drawn);
    ``extra`` (xs) widens the limits (reference lines). Returns the limits used."""
    mean, lo, hi = (np.asarray(v, float) for v in (mean, lo, hi))
    a, b, out = _limits(lo, hi, clip_outlier)
    if len(extra):                    # a reference line inside the panel too
        pad = 0.05 * (b - a)
        a, b = min(a, min(extra) - pad), max(b, max(extra) + pad)
    keep = np.isfinite(mean) & (np.arange(len(mean)) != (-1 if out is None else out))
    marker = style.pop("marker", "o")
    ax.errorbar(mean[keep], np.asarray(y, float)[keep], xerr=np.vstack([mean - lo, hi - mean])[:, keep],
                fmt=marker, capsize=2.5, elinewidth=1, **style)
    if out is not None:               # drawn at the edge, its value written
        left = mean[out] < a
        x = a if left else b
        ax.plot([x], [y[out]], "<" if left else ">", color=style.get("color", "k"), ms=6, clip_on=False)
        ax.annotate(f"{mean[out]:.3g}", (x, y[out]), xytext=(7 if left else -7, 0), textcoords="offset points",
                    ha="left" if left else "right", va="center", fontsize=7, color=style.get("color", "k"))
    ax.set_xlim(a, b)
    return a, b


def _rows_axis(ax, labels):
    ax.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)                 # first row on top
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.tick_params(axis="x", labelsize=7)


def ablation_line(variant: str, spec: dict) -> str:
    """One line for an ablation variant from its ``config.ABLATIONS`` switches: the loss terms it
    trains with and its discriminator (e.g. ``L_pix + L_gen, 3-stream D``)."""
    terms = [("L_corr" + ("" if spec.get("corr_derivative", True) else " on f_s")) if spec.get("use_corr", True)
             else None, "L_pix" if spec.get("use_pix", True) else None,
             "L_perc" if spec.get("use_perc", True) else None, "L_gen" if spec.get("use_gen", True) else None]
    if not (spec.get("use_gen", True) or spec.get("use_perc", True)):
        d = "no D"
    elif spec.get("d_input", "frames") == "differences":
        d = "D on frame differences"
    else:
        d = "2-stream D" if spec.get("lambda_u", 0.5) == 0 else "3-stream D"
    return " + ".join(t for t in terms if t) + ", " + d


# how each metric's numbers were computed, ours and the paper's (panel titles of ablation_figure)
OUR_UNITS = {"lmd": "px, 64 px crop", "psnr": "dB, float", "ssim": "grey", "cpbd": "PyPI-cpbd",
             "opening_r": "per clip"}
PAPER_UNITS = {"LMD": "normalisation not stated", "PSNR": "dB, uint8-wrapped", "SSIM": "", "CPBD": "their variant"}


def ablation_figure(ours, paper, letters: dict, lines: dict | None = None,
                    metrics=(("lmd", "LMD"), ("ssim", "SSIM"), ("psnr", "PSNR"), ("cpbd", "CPBD")),
                    ours_only=("opening_r",), real_cpbd: tuple | None = None, recipe: str = "",
                    title: str | None = None, path=None):
    """Our ablation runs beside Chen et al. 2018, Table 2, one row per variant in the paper's order
    (a)-(i) (``letters``: variant -> letter, ``config.PAPER_LETTER``; variants without a letter
    last). Top row: ours, the mean and 95 % interval over held-out sentences of every shipped seed
    (seed 0 a filled dot, seed k > 0 an open square just below it: the distance between them is the
    seed spread); bottom row: the paper's value for the same metric (no interval published).
    Axes span the values, not from 0; a single value far outside the others (a variant that learnt
    no mouth) sits at the panel's edge with its value written. ``ours``: ``results.ablation_long``
    rows; ``paper``: Table 2 indexed by letter with the ``metrics``' paper columns; ``lines``:
    variant -> one line under the row label; ``real_cpbd``: (ours, paper) CPBD of real frames,
    drawn as dashed lines."""
    import matplotlib.pyplot as plt
    order = sorted(set(ours.variant), key=lambda v: (letters.get(v) is None, letters.get(v) or "", v))
    labels = [f"({letters.get(v) or '-'}) {v}" + (f"\n{lines[v]}" if lines and v in lines else "") for v in order]
    cols = len(metrics) + len(ours_only)
    fig, axes = plt.subplots(2, cols, figsize=(2.0 * cols + 2.6, 0.42 * len(order) * 2 + 2.4), sharey=True,
                             squeeze=False)
    seeds = sorted(set(ours.seed))
    for c, (m, paper_col) in enumerate([*metrics, *((m, None) for m in ours_only)]):
        ax = axes[0, c]
        extra = [real_cpbd[0]] if (m == "cpbd" and real_cpbd) else []
        lims = []
        for k, seed in enumerate(seeds):
            t = ours[(ours.metric == m) & (ours.seed == seed)].set_index("variant").reindex(order)
            lims.append(_dots(ax, np.arange(len(order)) + 0.3 * k, t["mean"], t["ci_low"], t["ci_high"],
                              clip_outlier=True, extra=extra, color=f"C{min(k, 1)}", marker="os"[min(k, 1)],
                              mfc="C0" if k == 0 else "white", ms=4.5,
                              label=f"ours, seed {seed}: mean, 95 % CI over sentences"))
        ax.set_xlim(min(l[0] for l in lims), max(l[1] for l in lims))
        if extra:
            ax.axvline(extra[0], ls="--", color="0.5", lw=0.8,
                       label="real frames' CPBD (ours: the test frames; paper: GRID, its Table 3)")
        unit, how = OUR_UNITS.get(m, ""), metric_label(m)[len(m) + 2:-1]
        ax.set_title(f"ours: {m}" + (f" ({unit})" if unit else "") + f"\n{how}", fontsize=8)
        _rows_axis(ax, labels)
        ax = axes[1, c]
        if paper_col is None:
            ax.axis("off")
            continue
        p = paper[paper_col].reindex([letters.get(v) for v in order]).to_numpy(float)
        extra = [real_cpbd[1]] if (m == "cpbd" and real_cpbd) else []
        _dots(ax, np.arange(len(order)), p, p, p, extra=extra, color="k", marker="D", ms=4,
              label="Chen et al. 2018, Table 2 (no interval published)")
        if extra:
            ax.axvline(extra[0], ls="--", color="0.5", lw=0.8)
        for y, v in enumerate(p):
            if np.isfinite(v):
                ax.annotate(f"{v:g}", (v, y), xytext=(0, 4), textcoords="offset points", fontsize=6.5, ha="center")
        unit = PAPER_UNITS.get(paper_col, "")
        ax.set_title(f"Chen et al. 2018, Table 2: {paper_col}" + (f"\n({unit})" if unit else ""), fontsize=8)
        _rows_axis(ax, labels)
    handles, names = [], []
    for a in axes.flat:
        for h, n in zip(*a.get_legend_handles_labels()):
            if n not in names:
                handles.append(h); names.append(n)
    fig.legend(handles, names, loc="lower center", ncol=2, fontsize=7.5, frameon=False)
    if ours_only:                       # the empty slot under ours-only panels holds the notes
        axes[1, -1].text(0.0, 1.0, f"{', '.join(ours_only)}: no column\nin Table 2.\n\nAxes span the values, "
                         "\nnot from 0. A value far\noutside the others sits at\nthe panel's edge (arrow),\n"
                         "its value written.\n\nOurs and the paper's differ\nin data, networks, training\n"
                         "and metric code: compare\nthe order of the rows,\nnot the values.",
                         fontsize=7, transform=axes[1, -1].transAxes, va="top")
    fig.suptitle(title or f"Ablation (a)-(i): ours{f' ({recipe})' if recipe else ''} beside Chen et al. 2018, "
                 "Table 2 (GRID)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)


def comparison_figure(long, panels=(("lmd", "lmd_shuffled"), ("opening_r", "opening_r_shuffled"), ("psnr_mouth",),
                                    ("ssim_mouth",), ("cpbd",)), models=None, title: str | None = None, path=None):
    """The results table as one figure: one row per model or control (the same rows in every
    panel, in ``models``' order, else the table's), one panel per metric, the mean and 95 %
    interval as a dot and a bar. A panel's second metric (the same model driven by another
    sentence's audio) is an open dot on the same row and axis. Axes span the values (not from 0).
    ``long``: ``results.results_long`` rows (model, metric, mean, ci_low, ci_high)."""
    import matplotlib.pyplot as plt
    rows = list(models) if models is not None else list(dict.fromkeys(long.model))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels) + 2.0, 0.34 * len(rows) + 1.5),
                             sharey=True, squeeze=False)
    for ax, metrics in zip(axes[0], panels):
        lims = []
        for k, m in enumerate(metrics):
            t = long[long.metric == m].drop_duplicates("model").set_index("model").reindex(rows)
            y = np.arange(len(rows)) + (0.22 if k else 0.0)
            lims.append(_dots(ax, y, t["mean"], t["ci_low"], t["ci_high"], color="C0" if k == 0 else "C3",
                              marker="o", mfc="C0" if k == 0 else "white", ms=4.5,
                              label="own audio" if k == 0 else "another sentence's audio"))
            for r in np.flatnonzero(t["mean"].isna().to_numpy()) if k == 0 else []:
                ax.text(0.98, r, "n/a", transform=ax.get_yaxis_transform(), ha="right", va="center",
                        fontsize=6.5, color="0.55")
        ax.set_xlim(min(l[0] for l in lims), max(l[1] for l in lims))
        name = metric_label(metrics[0])
        ax.set_title(name if len(metrics) == 1 else name + "\nopen dot: another sentence's audio", fontsize=8)
        _rows_axis(ax, rows)
    if title:
        fig.suptitle(title, fontsize=9.5)
    fig.tight_layout()
    return _save(fig, path)


def explorer_view(real: np.ndarray, fakes: dict, frame: int, selected: str, metrics: dict | None = None,
                  landmarks: dict | None = None, title: str = "", path=None):
    """One view of the ablation explorer: the real frame and every variant's generated frame at
    ``frame`` (the ``selected`` variant framed in red), detected landmarks as dots, and the selected
    variant's 16 frames as a strip below. ``real``/``fakes[v]``: (T, S, S, 3) uint8;
    ``metrics[v]``: dict of per-clip metrics shown under each panel."""
    import matplotlib.pyplot as plt
    names = ["real"] + list(fakes)
    vids = {"real": real, **fakes}
    fig = plt.figure(figsize=(1.7 * len(names), 3.6))
    gs = fig.add_gridspec(2, len(names), height_ratios=[2.2, 1])
    for c, name in enumerate(names):
        ax = fig.add_subplot(gs[0, c])
        ax.imshow(vids[name][frame], interpolation="nearest")
        if landmarks and landmarks.get(name) is not None:
            lm = landmarks[name][frame]
            ax.plot(lm[:, 0], lm[:, 1], ".", ms=2, color="cyan")
        ax.set_xticks([]); ax.set_yticks([])
        for s in ax.spines.values():
            s.set_color("red" if name == selected else "black"); s.set_linewidth(2.5 if name == selected else 0.5)
        label = name
        if metrics and name in metrics:
            label += "\n" + " ".join(f"{k} {v:.2f}" for k, v in metrics[name].items())
        ax.set_title(label, fontsize=7)
    ax = fig.add_subplot(gs[1, :])
    ax.imshow(np.concatenate(list(vids[selected]), axis=1), interpolation="nearest")
    ax.axvline((frame + 0.5) * real.shape[2], color="red", lw=0.8)
    ax.set_xticks([]); ax.set_yticks([]); ax.set_ylabel(selected, fontsize=8)
    fig.suptitle(f"{title}  frame {frame}", fontsize=9)
    fig.tight_layout(pad=0.3)
    return _save(fig, path)


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
    from .model.blocks import n_params

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
        arrows.append(("v", "D"))
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
