"""Training curves as a PNG: one panel per quantity, one line per method (the demo's and the study's pictures).

A method with one run is drawn as that run's line; with several runs (seeds), as their mean with a
band from the lowest to the highest run at each epoch.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

# name -> (epochs counted from 1, one list of values per run)
Lines = Dict[str, Tuple[Sequence[int], Sequence[Sequence[float]]]]


def draw_curves(panels: List[Tuple[str, str, Lines]], path: str) -> str:
    """Write the panels side by side to ``path``; returns ``path``.

    Args:
        panels: (title, y-axis label, lines) per panel; x is the epoch.
        path: the PNG to write.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(panels), figsize=(max(8.0, 5.0 * len(panels)), 4.5), squeeze=False)
    for ax, (title, ylabel, lines) in zip(axes[0], panels):
        for name, (epochs, runs) in lines.items():
            values = np.asarray(runs, dtype=float).reshape(len(runs), -1)
            if len(values) == 1:
                ax.plot(epochs, values[0], marker="o" if values.shape[1] <= 30 else None, label=name)
                continue
            line, = ax.plot(epochs, values.mean(0), label=f"{name} (n={len(values)})")
            ax.fill_between(epochs, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
        ax.set(title=title, xlabel="epoch", ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
