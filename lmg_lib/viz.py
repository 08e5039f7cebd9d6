"""Small matplotlib helpers (headless, deterministic PNG output)."""
from __future__ import annotations

import numpy as np


def frame_strip(frames: np.ndarray, landmarks: np.ndarray | None = None, path=None,
                cols: int | None = None, titles=None, scale: float = 1.2):
    """Show frames (T, H, W, 3) uint8 in a grid, optionally with landmarks (T, 20, 2) overlaid
    (outer lip points in cyan, inner in yellow). Saves a PNG to ``path`` if given; returns the figure.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
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
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95 if titles is not None else 0.99,
                        bottom=0.01, wspace=0.05, hspace=0.15 if titles is not None else 0.05)
    if path is not None:
        fig.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(fig)
    return fig
