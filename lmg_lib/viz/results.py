"""Results as figures: metric tables, the ablation figure beside Chen et al. 2018, Table 2, and the
models compared panel by panel."""
from __future__ import annotations

import textwrap

import numpy as np

from ..eval.paper import PRINTED_DIGITS
from .frames import _save


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
    ci_high), one panel per metric -- the smoke protocol's table as a figure; a metric read against the
    real frames (``compare_with_real``) gets their value as a dashed line where ``table`` has rows of
    ``<metric>_real`` (``eval.protocol``'s ``cpbd_real``). Panel titles give each
    metric's reading direction (``metric_label``). A model without a value (an LMD whose frames the
    landmark regressor refused: no mouth found) gets no bar and the words "no value" in its place.
    Every axis starts at 0 (a bar cut at 0.98 would turn a 1 % difference into a tenfold one); small
    differences between trained models are drawn as intervals (``comparison_figure``)."""
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
        real = table[table.metric == f"{m}_real"]["mean"].to_numpy(float)   # the same real frames for every model
        real = float(np.nanmean(real)) if m in compare_with_real and np.isfinite(real).any() else None
        if real is not None:
            ax.axhline(real, ls="--", color="0.15", lw=1.2, zorder=3)            # over the bars
            ax.annotate(f"real frames {real:.3g}", (-0.6, real), xytext=(2, 2), textcoords="offset points", fontsize=7,
                        color="0.15", zorder=4, bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8))
            lo, hi = min(lo, real), max(hi, real)
        pad = 0.15 * (max(hi, 0.0) - min(lo, 0.0) + 1e-9)      # a bar's length is its value: from 0
        ax.set_ylim(lo - pad if lo < 0 else 0.0, hi + pad if hi > 0 else 0.0)
        ax.set_xlim(-0.6, len(t) - 0.4)           # a model without a bar keeps its place (autoscale drops it)
        for k in np.flatnonzero(~finite):
            ax.text(x[k], ax.get_ylim()[0], " no value", rotation=90, ha="center", va="bottom", fontsize=7,
                    color="0.35")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.text(0.5, 0.005, "bar: the mean over the test clips; error bar: its 95 % interval", ha="center",
             va="bottom", fontsize=7.5, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
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


def _dots(ax, y, mean, lo, hi, clip_outlier=False, extra=(), span=None, limits=None, **style):
    """Dots at ``mean`` with horizontal interval bars [lo, hi] at rows ``y`` (NaN: nothing drawn);
    ``extra`` (xs) widens the limits (reference lines). ``span`` (a boolean per row): the limits
    span only those rows, and every other row outside them sits at the edge (arrow, value written).
    ``limits`` (a, b): given limits, every row outside them at the edge. Returns the limits used."""
    mean, lo, hi = (np.asarray(v, float) for v in (mean, lo, hi))
    if limits is not None:
        a, b = limits
        outs = [i for i in np.flatnonzero(np.isfinite(mean)) if mean[i] < a or mean[i] > b]
    elif span is not None:
        span = np.asarray(span, bool)
        a, b, _ = _limits(np.where(span, lo, np.nan), np.where(span, hi, np.nan))
        outs = [i for i in np.flatnonzero(np.isfinite(mean) & ~span) if mean[i] < a or mean[i] > b]
    else:
        a, b, out = _limits(lo, hi, clip_outlier)
        outs = [] if out is None else [out]
    if len(extra):                    # a reference line inside the panel too
        pad = 0.05 * (b - a)
        a, b = min(a, min(extra) - pad), max(b, max(extra) + pad)
        outs = [i for i in outs if mean[i] < a or mean[i] > b]      # inside the widened panel: a dot
    keep = np.isfinite(mean) & ~np.isin(np.arange(len(mean)), outs)
    marker = style.pop("marker", "o")
    ax.errorbar(mean[keep], np.asarray(y, float)[keep], xerr=np.vstack([mean - lo, hi - mean])[:, keep],
                fmt=marker, capsize=2.5, elinewidth=1, **style)
    for out in outs:                  # drawn at the edge, its value written
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
# the x axes of the results figure: the unit, or what a unitless number is (the mouth-box metrics too)
COMPARISON_UNITS = {"lmd": "px, 64 px crop", "psnr": "dB", "ssim": "grey, unitless", "cpbd": "PyPI cpbd, unitless",
                    "opening_r": "Pearson r, per clip"}
PAPER_UNITS = {"LMD": "normalisation not stated", "PSNR": "dB; their code wraps uint8", "SSIM": "", "CPBD": "their variant"}


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
    no mouth) sits at the panel's edge with its value written. ``ours``: ``ablations.ablation_long``
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
        per_seed = [ours[(ours.metric == m) & (ours.seed == seed)].set_index("variant").reindex(order) for seed in seeds]
        # one span for every seed (each seed's far value left out), padded once: no dot on the edge
        spans = [_limits(t["ci_low"], t["ci_high"], clip_outlier=True) for t in per_seed]
        keep = [np.delete(t[col].to_numpy(float), [] if out is None else [out]) for t, (_, _, out) in zip(per_seed, spans)
                for col in ("ci_low", "ci_high")]
        a, b, _ = _limits(np.concatenate(keep[::2]), np.concatenate(keep[1::2]))
        for k, (seed, t) in enumerate(zip(seeds, per_seed)):
            _dots(ax, np.arange(len(order)) + 0.3 * k, t["mean"], t["ci_low"], t["ci_high"], extra=extra,
                  limits=(a, b), color=f"C{min(k, 1)}", marker="os"[min(k, 1)], mfc="C0" if k == 0 else "white",
                  ms=4.5, label=f"ours, seed {seed}: mean, 95 % CI over sentences")
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
                ax.annotate(f"{v:.{PRINTED_DIGITS.get(paper_col, 3)}f}", (v, y), xytext=(0, 4), textcoords="offset points",
                            fontsize=6.5, ha="center")        # with the paper's decimals (0.210, not 0.21)
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo - 0.08 * (hi - lo), hi + 0.08 * (hi - lo))     # room for the values written at the edges
        unit = PAPER_UNITS.get(paper_col, "")
        ax.set_title(f"Chen et al. 2018, Table 2:\n{paper_col}" + (f"\n({unit})" if unit else ""), fontsize=8)
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


def comparison_figure(long, panels=(("lmd", "lmd_shuffled"), ("opening_r", "opening_r_shuffled"), ("psnr",), ("ssim",),
                                    ("psnr_mouth",), ("ssim_mouth",), ("cpbd",)), models=None, title: str | None = None,
                      zoom: tuple | None = None, path=None):
    """The results table as one figure: one row per model or control (the same rows in every
    panel, in ``models``' order, else the table's), one panel per metric, the mean and 95 %
    interval as a dot and a bar. A panel's second metric (the same model driven by another
    sentence's audio) is an open dot on the same row and axis. Axes span the values (not from 0).
    By default the whole frame's PSNR and SSIM (the paper's Table 3) and the mouth box's.
    ``zoom`` = (metric, rows[, what the rows are]): a second panel of that metric, right of its
    own, whose axis spans only those rows (the trained models, whose differences a far control such as the audio-only
    ceiling would squeeze); the other rows sit at its edge with their values written.
    ``long``: ``results.results_long`` rows (model, metric, mean, ci_low, ci_high)."""
    import matplotlib.pyplot as plt
    rows = list(models) if models is not None else list(dict.fromkeys(long.model))
    spans = [None] * len(panels)
    if zoom is not None:
        at = next(i for i, p in enumerate(panels) if p[0] == zoom[0])
        panels = (*panels[:at + 1], panels[at], *panels[at + 1:])
        spans = [None] * (at + 1) + [np.isin(rows, list(zoom[1]))] + [None] * (len(panels) - at - 2)
    ncol = len(panels) if len(panels) <= 5 else -(-len(panels) // 2)       # more than five: two rows of panels
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol + 2.4, nrow * (0.34 * len(rows) + 1.6)),
                             sharey=True, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, metrics, span in zip(axes.flat, panels, spans):
        lims = []
        for k, m in enumerate(metrics):
            t = long[long.metric == m].drop_duplicates("model").set_index("model").reindex(rows)
            y = np.arange(len(rows)) + (0.22 if k else 0.0)
            # the zoom: the other audio's dots outside its own-audio axis sit at the edge, value written
            lims.append(_dots(ax, y, t["mean"], t["ci_low"], t["ci_high"], color="C0" if k == 0 else "C3",
                              marker="o", mfc="C0" if k == 0 else "white", ms=4.5, span=span if k == 0 else None,
                              limits=lims[0] if span is not None and k else None,
                              label="own audio" if k == 0 else "another sentence's audio"))
            for r in np.flatnonzero(t["mean"].isna().to_numpy()) if k == 0 else []:
                ax.text(0.98, r, "n/a", transform=ax.get_yaxis_transform(), ha="right", va="center",
                        fontsize=6.5, color="0.55")
        ax.set_xlim(*(lims[0] if span is not None else (min(l[0] for l in lims), max(l[1] for l in lims))))
        name = metric_label(metrics[0])
        ax.set_title(name if len(metrics) == 1 else name.replace(" (", "\n(") + "\nopen: other audio", fontsize=8)
        if span is not None:
            what = zoom[2] if len(zoom) > 2 else f"{int(span.sum())} rows"
            ax.set_title(textwrap.fill(f"{metrics[0]}, zoom: the axis spans {what} only", 26), fontsize=8)
        base = metrics[0].removesuffix("_mouth")
        unit = COMPARISON_UNITS.get(base, "")
        ax.set_xlabel(f"{metrics[0]}" + (f" ({unit})" if unit else ""), fontsize=8)
        _rows_axis(ax, rows)
    handles, names = [], []
    for a in axes.flat:
        for h, n in zip(*a.get_legend_handles_labels()):
            if n not in names:
                handles.append(h); names.append(n)
    fig.legend(handles, [f"{n}: mean, 95 % CI over sentences" for n in names], loc="lower center",
               ncol=len(names), fontsize=7.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9.5)
    fig.tight_layout(rect=(0, 0.07 / nrow, 1, 1))
    return _save(fig, path)
