"""Frames as figures: strips, samples over training, videos side by side, the explorer's view."""
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
    height = rows * scale                               # inches: the title needs about 0.35 of them
    fig.subplots_adjust(left=0.01, right=0.99, top=(0.95 if titles is not None else 0.99) - (0.35 / height if title else 0),
                        bottom=0.01, wspace=0.05, hspace=0.3 if titles is not None else 0.05)
    if path is not None:
        fig.savefig(path, dpi=100, metadata={"Software": None})
    return fig


def save_sample_strip(root, path, speaker: str = "s1", utt: str | None = None,
                      n: int = 16, landmarks: bool = True, close: bool = True) -> Path:
    """PNG of ``n`` consecutive frames from the middle of one utterance of an embedded corpus
    (its exact landmarks overlaid). ``close=False`` leaves the figure open (a notebook shows it)."""
    from ..corpus.build import utterance_paths
    from ..util.video_io import read_frames
    root = Path(root)
    if utt is None:
        utt = sorted((root / speaker / "video").glob("*.mp4"))[0].stem
    p = utterance_paths(root, speaker, utt)
    frames = read_frames(p["video"])
    lms = np.load(p["meta"])["landmarks"]
    k = max(0, (len(frames) - n) // 2)
    fig = frame_strip(frames[k:k + n], lms[k:k + n] if landmarks else None, path, cols=8, scale=1.5,
                      titles=[f"frame {t}" for t in range(k, k + len(frames[k:k + n]))],
                      title=f"{speaker}/{utt}: frames {k}-{k + len(frames[k:k + n]) - 1} of {len(frames)}, "
                            "ground-truth landmarks (outer lip cyan, inner yellow)" if landmarks else
                            f"{speaker}/{utt}: frames {k}-{k + len(frames[k:k + n]) - 1} of {len(frames)}")
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
    some frames (the shipped samples strip keeps 0, 5, 10, 15): the columns are labelled with them."""
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
    # row names read horizontally in a left margin, wrapped ("full model / cpu2 recipe, 4 000 steps,
    # seed 0" rotated along a 1.25-inch row spilled into the rows beside it)
    import re
    import textwrap
    keep = lambda t: re.sub(r"(\d) (\d{3})", "\\1\u00a0\\2", t)          # "4 000" stays on one line
    rows = {n: "\n".join(textwrap.fill(keep(part), 18) for part in str(n).split("\n")) for n in names}
    margin = 0.09 * max(len(line) for n in rows.values() for line in n.split("\n"))
    fig, axes = plt.subplots(len(names), len(frames), figsize=(1.25 * len(frames) + 0.4 + margin, 1.25 * len(names) + 0.3),
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
                ax.set_ylabel(rows[name], fontsize=7.5, rotation=0, ha="right", va="center", labelpad=4)
    text, rect = _title_rect(fig, title, 9)
    if text:
        fig.suptitle(text, fontsize=9, y=0.995, va="top")
    fig.tight_layout(pad=0.3, rect=rect)
    return _save(fig, path)


def explorer_view(real: np.ndarray, fakes: dict, frame: int, selected: str, metrics: dict | None = None,
                  landmarks: dict | None = None, title: str = "", path=None):
    """One view of the ablation explorer: the real frame and every variant's generated frame at
    ``frame`` (the ``selected`` variant framed in red), detected landmarks as dots, and the selected
    variant's 16 frames as a strip below. ``real``/``fakes[v]``: (T, S, S, 3) uint8;
    ``metrics[v]``: dict of per-clip metrics shown above each panel."""
    import matplotlib.pyplot as plt
    names = ["real"] + list(fakes)
    vids = {"real": real, **fakes}
    fig = plt.figure(figsize=(1.7 * len(names), 3.6 + 0.12 * max((len(v) for v in (metrics or {}).values()), default=0)))
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
            unit = {"psnr": " dB", "lmd": " px"}                # the others are unitless
            label += "".join(f"\n{k} {v:.2f}{unit.get(k, '')}" for k, v in metrics[name].items())  # one a line
        ax.set_title(label, fontsize=7)
    ax = fig.add_subplot(gs[1, :])
    ax.imshow(np.concatenate(list(vids[selected]), axis=1), interpolation="nearest")
    ax.axvline((frame + 0.5) * real.shape[2], color="red", lw=0.8)
    ax.set_xticks([]); ax.set_yticks([]); ax.set_ylabel(selected, fontsize=8)
    text, rect = _title_rect(fig, f"{title}  frame {frame}", 9)
    fig.suptitle(text, fontsize=9, y=0.995, va="top")
    fig.tight_layout(pad=0.3, rect=rect)
    return _save(fig, path)
