"""Small plotting helpers shared by the labs (matplotlib, one figure per call)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def heatmaps(matrices, titles, labels=None, ncols=4, cmap="viridis", suptitle=None, size=3.0, annotate=False):
    """A grid of heatmaps (attention maps, similarity matrices) with shared tick labels; ``annotate`` writes
    each value into its cell."""
    n = len(matrices)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax, matrix, title in zip(axes.flat, matrices, titles):
        values = np.asarray(matrix)
        ax.imshow(values, cmap=cmap)
        ax.set_title(title, fontsize=9)
        if annotate:
            for (row, col), value in np.ndenumerate(values):
                ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < values.mean() else "black")
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def line_plot(x, series: dict, xlabel: str, ylabel: str, title: str | None = None, ax=None, marker="o"):
    """Several named series over the same x."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(x, values, marker=marker, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def bar_chart(categories, series: dict, ylabel: str, title: str | None = None, ax=None):
    """Grouped bars: one group per category, one bar per series."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(categories))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
    ax.set_xticks(x, categories)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax
