"""The book's one plotting style: a seaborn theme and one fixed, colour-blind-safe colour per method.

Colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies); a method
keeps its colour on every page of the book. Variants of a method (IDCT genotype, faithful quirks)
share its colour and differ in line style.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

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

METHOD_COLORS = {
    # Study A
    "backprop": OKABE_ITO["black"],
    "cosyne": OKABE_ITO["blue"],
    "de": OKABE_ITO["vermillion"],
    "ea": OKABE_ITO["green"],
    # Study B
    "es_snr": OKABE_ITO["blue"],
    "es_imp": OKABE_ITO["orange"],
    "es_random": OKABE_ITO["grey"],
    "permute_weights": OKABE_ITO["purple"],
    "permute_mask": OKABE_ITO["sky_blue"],
    "gd_imp": OKABE_ITO["black"],
    # Study C
    "dense": OKABE_ITO["black"],
    "lowrank": OKABE_ITO["blue"],
    "small_dense": OKABE_ITO["orange"],
    "lowrank_r1": OKABE_ITO["sky_blue"],
    "adam": OKABE_ITO["grey"],
}

METHOD_LABELS = {
    "backprop": "Backprop (Adagrad)",
    "cosyne": "CoSyNE",
    "de": "Differential Evolution",
    "ea": "(μ,ρ,λ)-EA",
    "cosyne_idct": "CoSyNE (IDCT)",
    "de_idct": "DE (IDCT)",
    "ea_idct": "EA (IDCT)",
}


def base_method(method: str) -> str:
    """The method a variant belongs to (``cosyne_idct`` -> ``cosyne``)."""
    return method.removesuffix("_idct").removesuffix("_faithful")


def method_color(method: str) -> str:
    return METHOD_COLORS.get(base_method(method), OKABE_ITO["grey"])


def method_linestyle(method: str) -> str:
    return "--" if method.endswith("_idct") else "-"


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def set_theme() -> None:
    """The book's seaborn theme."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(OKABE_ITO.values())[1:],
                  rc={"figure.dpi": 110, "savefig.dpi": 110, "axes.spines.right": False,
                      "axes.spines.top": False, "legend.frameon": False})
    mpl.rcParams["figure.constrained_layout.use"] = True


def mean_band(ax: plt.Axes, table: pd.DataFrame, x: str, y: str, method: str, by: str = "repeat",
              spread: str = "std") -> None:
    """Mean curve of ``y`` against ``x`` over ``by`` with a shaded band (std or 95% CI of the mean)."""
    grouped = table.groupby(x)[y]
    mean = grouped.mean()
    if spread == "std":
        half = grouped.std(ddof=1).fillna(0.0)
    else:
        half = 1.96 * grouped.sem().fillna(0.0)
    xs = mean.index.to_numpy()
    ax.plot(xs, mean.to_numpy(), color=method_color(method), linestyle=method_linestyle(method),
            label=method_label(method), linewidth=1.8)
    ax.fill_between(xs, np.asarray(mean - half), np.asarray(mean + half), color=method_color(method),
                    alpha=0.15, linewidth=0)
