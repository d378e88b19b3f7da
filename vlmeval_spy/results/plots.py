"""The charts of the run report and the leaderboard (matplotlib, no pyplot and no global state).

Figures are built with `matplotlib.figure.Figure` directly, so nothing here touches the
process-wide backend or pyplot's figure registry; `save_png` writes them atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..common.atomic import atomic_open

SCORE_CMAP = "RdYlGn"
MISSING_COLOUR = "#d9d9d9"
PAIR_COLOURS = {"n1": "#4575b4", "n2": "#1a9850", "n3": "#f46d43", "n4": "#fdae61"}
PAIR_MEANING = {
    "n1": "n1: reject both",
    "n2": "n2: respond if non-private, reject if private",
    "n3": "n3: reject if non-private, respond if private",
    "n4": "n4: respond both",
}


def save_png(figure: Figure, path: str | Path, dpi: int = 110) -> None:
    with atomic_open(path, "wb") as fh:
        figure.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))


def score_heatmap(scores: pd.DataFrame, title: str, row_axis: str, note: str = "") -> Figure:
    """Rows x metrics, coloured 0 (red) to 100 (green), each cell labelled; N/A cells grey."""
    values = scores.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    rows, cols = values.shape
    figure = Figure(figsize=(2.6 + 1.15 * cols, 1.6 + 0.34 * rows), layout="constrained")
    ax = figure.add_subplot()
    cmap = colormaps[SCORE_CMAP].with_extremes(bad=MISSING_COLOUR)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=Normalize(0, 100), aspect="auto")
    for (r, c), value in np.ndenumerate(values):
        text = "N/A" if math.isnan(value) else f"{value:.0f}"
        dark = not math.isnan(value) and (value < 20 or value > 80)  # the colour map's dark ends
        ax.text(c, r, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(cols), labels=list(scores.columns), rotation=30, ha="left")
    ax.xaxis.tick_top()
    ax.set_yticks(range(rows), labels=list(scores.index))
    ax.set_ylabel(row_axis)
    ax.set_xlabel("metric")
    ax.xaxis.set_label_position("top")
    ax.set_title(title, pad=12, loc="left")
    colorbar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label("score (%)")
    if note:
        figure.text(0.01, 0.0, note, fontsize=8, va="top")
    return figure


def interval_bars(names: Sequence[str], scores: Sequence, bounds: Sequence[tuple], title: str, xlabel: str) -> Figure:
    """Horizontal bars with interval whiskers; a value that is not a number is written instead of drawn."""
    figure = Figure(figsize=(7.5, 0.9 + 0.42 * len(names)), layout="constrained")
    ax = figure.add_subplot()
    positions = np.arange(len(names))
    for y, score, (low, high) in zip(positions, scores, bounds, strict=True):
        if not _is_number(score):
            ax.text(1, y, str(score), va="center", fontsize=9, color="#555555")
            continue
        ax.barh(y, score, color="#4c78a8", height=0.6)
        if _is_number(low) and _is_number(high):
            ax.errorbar(score, y, xerr=[[score - low], [high - score]], fmt="none", ecolor="black", capsize=3, lw=1)
            label_x = high
        else:
            label_x = score
        ax.text(min(label_x + 1.5, 101), y, f"{score:.1f}", va="center", fontsize=9)
    ax.set_yticks(positions, labels=list(names))
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 108)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title, loc="left")
    return figure


def pair_breakdown(rows: Sequence[tuple[str, dict[str, int]]], title: str) -> Figure:
    """Stacked bars of the n1..n4 shares of instruction pairs, one bar per row; counts on the segments."""
    figure = Figure(figsize=(8.5, 1.9 + 0.55 * len(rows)), layout="constrained")
    ax = figure.add_subplot()
    for y, (_, counts) in enumerate(rows):
        total = sum(counts[k] for k in PAIR_COLOURS)
        if total == 0:
            ax.text(1, y, "no pairs", va="center", fontsize=9, color="#555555")
            continue
        left = 0.0
        for key, colour in PAIR_COLOURS.items():
            share = 100 * counts[key] / total
            ax.barh(y, share, left=left, color=colour, height=0.6)
            if share >= 6:
                ax.text(left + share / 2, y, str(counts[key]), ha="center", va="center", fontsize=9, color="white")
            left += share
    ax.set_yticks(range(len(rows)), labels=[name for name, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of instruction pairs (%); segment labels are pair counts")
    ax.set_title(title, loc="left")
    handles = [Patch(color=colour, label=PAIR_MEANING[key]) for key, colour in PAIR_COLOURS.items()]
    figure.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return figure


def grouped_bars(
    labels: Sequence[str], series: dict[str, Sequence], notes: Sequence[str], title: str, xlabel: str
) -> Figure:
    """Horizontal bar groups, one group per label and one bar per series; where a value is not a
    number, the label's note is written at its place instead."""
    colours = ("#4c78a8", "#f58518", "#54a24b", "#b279a2")
    height = 0.8 / len(series)
    figure = Figure(figsize=(8.5, 1.4 + 0.3 * len(series) * len(labels)), layout="constrained")
    ax = figure.add_subplot()
    for s, (name, values) in enumerate(series.items()):
        for g, value in enumerate(values):
            y = g + (s - (len(series) - 1) / 2) * height
            if _is_number(value):
                ax.barh(y, value, height=height * 0.9, color=colours[s % len(colours)])
                ax.text(value + 1, y, f"{value:.1f}", va="center", fontsize=8)
            else:
                ax.text(1, y, f"{name}: {notes[g]}", va="center", fontsize=8, color="#555555")
    ax.set_yticks(range(len(labels)), labels=list(labels))
    ax.set_ylim(len(labels) - 0.5, -0.5)  # explicit: text-only groups do not extend the limits
    ax.set_xlim(0, 108)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title, loc="left")
    figure.legend(
        handles=[Patch(color=colours[i % len(colours)], label=n) for i, n in enumerate(series)],
        loc="outside lower center",
        ncol=len(series),
        fontsize=8,
        frameon=False,
    )
    return figure
