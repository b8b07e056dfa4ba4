"""The book's one plotting style: a seaborn theme and one fixed, colour-blind-safe colour per method.

Colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies); a method
keeps its colour on every page of the book. Variants of a method (IDCT genotype, faithful quirks)
share its colour and differ in line style.
"""

from __future__ import annotations

import dataclasses

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from numpy.typing import ArrayLike

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

@dataclasses.dataclass(frozen=True)
class Style:
    """How one method is drawn on every page: its colour, legend label, line style and marker."""

    color: str
    label: str
    linestyle: str = "-"
    marker: str | None = None


#: The style table: one entry per method of every study, under the name the study's tables use
#: (variants share their method's colour and differ in line style).
STYLES: dict[str, Style] = {
    # Study A: algorithms
    "backprop": Style(OKABE_ITO["black"], "Backprop (Adagrad)"),
    "cosyne": Style(OKABE_ITO["blue"], "CoSyNE"),
    "de": Style(OKABE_ITO["vermillion"], "Differential Evolution"),
    "ea": Style(OKABE_ITO["green"], "(μ,ρ,λ)-EA"),
    "cosyne_idct": Style(OKABE_ITO["blue"], "CoSyNE (IDCT)", "--"),
    "de_idct": Style(OKABE_ITO["vermillion"], "DE (IDCT)", "--"),
    "ea_idct": Style(OKABE_ITO["green"], "EA (IDCT)", "--"),
    # Study B: pruning criteria, and gradient-descent IMP
    "snr": Style(OKABE_ITO["blue"], "ES-SNR (mask/weights)", marker="o"),
    "snr_faithful": Style(OKABE_ITO["blue"], "ES-SNR, original Sep-CMA-ES σ", "--", "o"),
    "magnitude": Style(OKABE_ITO["orange"], "ES-IMP (mask/weights)", marker="o"),
    "random": Style(OKABE_ITO["grey"], "ES-Random (random/reinit)", marker="o"),
    "permute_values": Style(OKABE_ITO["purple"], "mask/permuted", "--", "o"),
    "permute_mask": Style(OKABE_ITO["sky_blue"], "permuted/permuted", "--", "o"),
    "mask_reinit": Style(OKABE_ITO["grey"], "mask/reinit", marker="o"),
    "movement": Style(OKABE_ITO["orange"], "ES-movement", marker="o"),
    "gd": Style(OKABE_ITO["black"], "GD-IMP", marker="o"),
    # Study C: variants, and the Adam reference
    "dense": Style(OKABE_ITO["black"], "dense"),
    "lowrank": Style(OKABE_ITO["blue"], "low-rank"),
    "small": Style(OKABE_ITO["orange"], "small dense"),
    "rank1": Style(OKABE_ITO["sky_blue"], "rank 1"),
    "adam": Style(OKABE_ITO["grey"], "Adam", "--"),
}

def base_method(method: str) -> str:
    """The method a variant belongs to (``cosyne_idct`` -> ``cosyne``)."""
    return method.removesuffix("_idct").removesuffix("_faithful")


def style_of(method: str) -> Style:
    """The style of ``method``, or of the method it is a variant of; grey for unknown names."""
    if method in STYLES:
        return STYLES[method]
    base = STYLES.get(base_method(method))
    if base is not None:
        return dataclasses.replace(base, label=method)
    return Style(OKABE_ITO["grey"], method)


def method_color(method: str) -> str:
    """The colour of ``method`` (see :data:`STYLES`)."""
    return style_of(method).color


def set_theme() -> None:
    """The book's seaborn theme."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(OKABE_ITO.values())[1:],
                  rc={"figure.dpi": 110, "savefig.dpi": 110, "axes.spines.right": False,
                      "axes.spines.top": False, "legend.frameon": False})
    mpl.rcParams["figure.constrained_layout.use"] = True


def band(ax: plt.Axes, x: ArrayLike, center: ArrayLike, interval: tuple[ArrayLike, ArrayLike], method: str,
         label: str | None = None) -> None:
    """A curve with a shaded band over ``interval = (low, high)``, drawn in ``method``'s style (the
    book's one band plot: every study's mean ± spread curves go through it)."""
    low, high = interval
    style = style_of(method)
    ax.plot(x, center, color=style.color, linestyle=style.linestyle, marker=style.marker, markersize=3.5,
            linewidth=1.8, label=style.label if label is None else label)
    ax.fill_between(x, np.asarray(low, float), np.asarray(high, float), color=style.color, alpha=0.15,
                    linewidth=0)


def mean_band(ax: plt.Axes, table: pd.DataFrame, x: str, y: str, method: str, spread: str = "std") -> None:
    """Mean curve of ``y`` against ``x`` over the table's rows at each ``x``, with a shaded band
    (``spread="std"``: ± one standard deviation; otherwise the 95% interval of the mean)."""
    grouped = table.groupby(x)[y]
    mean = grouped.mean()
    if spread == "std":
        half = grouped.std(ddof=1).fillna(0.0)
    else:
        half = 1.96 * grouped.sem().fillna(0.0)
    band(ax, mean.index.to_numpy(), mean.to_numpy(), (mean - half, mean + half), method)
