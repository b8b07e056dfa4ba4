"""The book's one plotting style: a seaborn theme, one fixed, colour-blind-safe colour per method,
readable names for keys, summary bands that stay within the data, and a legibility check.

Colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies); a method
keeps its colour on every page of the book. Variants of a method (IDCT genotype, faithful quirks)
share its colour and differ in line style. Curves that can coincide (ES-SNR and ES-IMP pick the same
ticket when the strategy's std barely adapts) differ in line style and marker too, and the dashed one
is drawn on top, so both stay visible.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
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

DPI = 110
#: Width in CSS px of the book's text column at a 1400 px window (measured in Chromium: the cell
#: output area of a page); a wider image is scaled down to it, and its fonts with it.
COLUMN_PX = 772
#: Width in CSS px of the text column at a 390 px window (a phone; measured in Chromium): every
#: figure is scaled down to it.
PHONE_COLUMN_PX = 358
#: Inches of padding the notebook's inline backend adds on each side (``bbox_inches="tight"``).
INLINE_PAD_IN = 0.1
#: Figures are drawn this wide: narrower than the desktop column, where they show at their own size
#: (682 px at :data:`DPI` with the inline padding), so that on a phone, scaled to
#: :data:`PHONE_COLUMN_PX` (0.52), text of 8.8 pt (seaborn's "paper" tick labels) still shows at 7 px.
FIGURE_WIDTH_IN = 6.0
#: Smallest font, in displayed px, that :func:`finish` accepts in the desktop column.
MIN_FONT_PX = 9.0
#: Smallest font, in displayed px, in the phone column: :func:`finish` enlarges smaller text to it.
MIN_PHONE_FONT_PX = 7.0
#: PNG text chunk in which a figure's image records its smallest font, in points.
FONT_KEY = "nevolab:smallest-font-pt"


@dataclasses.dataclass(frozen=True)
class Style:
    """How one method is drawn on every page: colour, legend label, line style, marker, draw order
    (higher on top) and line opacity."""

    color: str
    label: str
    linestyle: str = "-"
    marker: str | None = None
    zorder: float = 2.0
    alpha: float = 1.0
    markersize: float = 3.5


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
    # Study B: pruning criteria, and gradient-descent IMP. ES-SNR often coincides with ES-IMP, so it
    # is dashed with a cross marker, drawn above it and slightly transparent: where the two agree
    # the orange line shows through the gaps of the blue dashes.
    "snr": Style(OKABE_ITO["blue"], "ES-SNR (mask/weights)", "--", "x", zorder=4, alpha=0.9, markersize=6),
    "snr_faithful": Style(OKABE_ITO["blue"], "ES-SNR, original Sep-CMA-ES σ", ":", "x", zorder=4,
                          alpha=0.9, markersize=6),
    "magnitude": Style(OKABE_ITO["orange"], "ES-IMP (mask/weights)", marker="o", markersize=5),
    "random": Style(OKABE_ITO["grey"], "ES-Random (random/reinit)", marker="v", markersize=5),
    "permute_values": Style(OKABE_ITO["purple"], "mask/permuted", "-.", "^", zorder=3, alpha=0.9,
                            markersize=5),
    "permute_mask": Style(OKABE_ITO["sky_blue"], "permuted/permuted", ":", "s", zorder=3, alpha=0.9,
                          markersize=4.5),
    "mask_reinit": Style(OKABE_ITO["grey"], "mask/reinit", ":", "D", markersize=4),
    "movement": Style(OKABE_ITO["orange"], "ES-movement", "-.", "P", markersize=5),
    "gd": Style(OKABE_ITO["black"], "GD-IMP", marker="o", markersize=5),
    # Study B, transfer (B5): the target's curves and the transferred source ticket
    "transfer_own": Style(OKABE_ITO["black"], "target's own ticket (SNR, or GD-IMP)", marker="o",
                          markersize=5),
    "transfer_random": Style(OKABE_ITO["grey"], "target random re-init", marker="v", markersize=5),
    "transfer": Style(OKABE_ITO["blue"], "transfer (source's SNR ticket)", "--", "x", zorder=4, alpha=0.9,
                      markersize=6),
    # Study C: variants, and the Adam reference
    "dense": Style(OKABE_ITO["black"], "dense"),
    "lowrank": Style(OKABE_ITO["blue"], "low-rank"),
    "small": Style(OKABE_ITO["orange"], "small dense"),
    "rank1": Style(OKABE_ITO["sky_blue"], "rank 1"),
    "dense_matched": Style(OKABE_ITO["black"], "dense, matched init", "--"),
    "factorized": Style(OKABE_ITO["blue"], "factorized (low-rank)"),
    "adam": Style(OKABE_ITO["grey"], "Adam", "--"),
}

#: Readable names for the keys that tables and configs use (tasks, strategies, criteria, columns);
#: methods not listed here take their :data:`STYLES` label.
NAMES: dict[str, str] = {
    # Study B tasks and strategies
    "pendulum": "Pendulum-v1",
    "cartpole": "CartPole-v1",
    "digits": "digits (8×8)",
    "mnist5k": "MNIST (5k subset)",
    "digits_rot90": "digits rotated 90°",
    "mnist5k_rot90": "MNIST (5k) rotated 90°",
    "mnist": "MNIST",
    "fashion_mnist": "F-MNIST",
    "kmnist": "K-MNIST",
    "Sep_CMA_ES": "Sep-CMA-ES",
    "CMA_ES": "CMA-ES",
    "OpenES": "OpenAI-ES",
    "SNES": "SNES",
    "PGPE": "PGPE",
    "ES": "ES",
    "GD": "GD",
    # Study B criteria, short (tables)
    "snr": "ES-SNR",
    "magnitude": "ES-IMP",
    "random": "ES-Random",
    "gd": "GD-IMP",
    # column names
    "task_key": "task",
    "wall_time_s": "wall time (s)",
    "run_time_s": "run time (s)",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "effect_size": "effect size",
    "all tasks": "all tasks",
}


def display_name(key: str) -> str:
    """A readable name for ``key`` (task, strategy, method, column); unknown keys with spaces for
    underscores."""
    if key in NAMES:
        return NAMES[key]
    if key in STYLES:
        return STYLES[key].label
    return key.replace("_", " ")


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


def set_theme(context: str = "notebook") -> None:
    """The book's seaborn theme (``context="paper"``: smaller fonts, for figures of column width)."""
    sns.set_theme(context=context, style="whitegrid", palette=list(OKABE_ITO.values())[1:],
                  rc={"figure.dpi": DPI, "savefig.dpi": DPI, "axes.spines.right": False,
                      "axes.spines.top": False, "legend.frameon": False})
    mpl.rcParams["figure.constrained_layout.use"] = True


def band(ax: plt.Axes, x: ArrayLike, center: ArrayLike, interval: tuple[ArrayLike, ArrayLike], method: str,
         label: str | None = None, log: bool = False) -> None:
    """A curve with a shaded band over ``interval = (low, high)``, drawn in ``method``'s style (the
    book's one band plot). ``log=True``: the band's lower edge is clipped at the smallest positive
    value of the curve and band, so it never falls to a log axis's floor."""
    style = style_of(method)
    center = np.asarray(center, float)
    low, high = np.asarray(interval[0], float), np.asarray(interval[1], float)
    if log:
        values = np.concatenate([center, low, high])
        positive = values[np.isfinite(values) & (values > 0)]
        if positive.size:
            low = np.maximum(low, positive.min())
    ax.plot(x, center, color=style.color, linestyle=style.linestyle, marker=style.marker,
            markersize=style.markersize, linewidth=1.8, zorder=style.zorder, alpha=style.alpha,
            label=style.label if label is None else label)
    ax.fill_between(x, low, high, color=style.color, alpha=0.15, linewidth=0, zorder=style.zorder - 1)


def summarise(table: pd.DataFrame, x: str, y: str, spread: str = "std", floor: float | None = None,
              ) -> pd.DataFrame:
    """Per value of ``x``: a center and band of ``y`` (columns ``x``, ``center``, ``low``, ``high``).

    ``spread="iqr"``: the median and the interquartile range (stays within the data, so it suits log
    axes); ``"std"``: mean ± one standard deviation; otherwise the mean ± its 95% interval. With
    ``floor``, values below it (losses of exactly 0 on a log axis) count as ``floor`` and no band
    edge goes below it."""
    values = table[y].astype(float)
    if floor is not None:
        values = values.clip(lower=floor)
    grouped = values.groupby(table[x])
    if spread == "iqr":
        center, low, high = grouped.median(), grouped.quantile(0.25), grouped.quantile(0.75)
    else:
        center = grouped.mean()
        half = grouped.std(ddof=1) if spread == "std" else 1.96 * grouped.sem()
        half = half.fillna(0.0)
        low, high = center - half, center + half
    if floor is not None:
        low = low.clip(lower=floor)
    return pd.DataFrame({x: center.index.to_numpy(), "center": center.to_numpy(), "low": low.to_numpy(),
                         "high": high.to_numpy()})


def mean_band(ax: plt.Axes, table: pd.DataFrame, x: str, y: str, method: str, spread: str = "std",
              floor: float | None = None, log: bool = False) -> None:
    """A curve of ``y`` against ``x`` summarised over the table's rows at each ``x`` (see
    :func:`summarise` for ``spread`` and ``floor``), with its band, in ``method``'s style."""
    summary = summarise(table, x, y, spread, floor)
    band(ax, summary[x].to_numpy(), summary.center, (summary.low, summary.high), method, log=log)


def positive_floor(values: ArrayLike) -> float:
    """The smallest positive finite value: where a log axis draws values of exactly 0."""
    values = np.asarray(values, float)
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size:
        raise ValueError("no positive value to put on a log axis")
    return float(positive.min())


def grid(panels: int, columns: int = 2, panel_height: float = 2.6, **subplots) -> tuple[Figure, list]:
    """A figure of column width with ``panels`` axes in rows of ``columns`` (unused slots removed)."""
    columns = max(1, min(columns, panels))
    rows = -(-panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH_IN, panel_height * rows), squeeze=False,
                             **subplots)
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.remove()
    return fig, flat[:panels]


def phone_font_pt(fig: Figure) -> float:
    """The smallest font, in points, that shows at :data:`MIN_PHONE_FONT_PX` on a phone when the
    image is as wide as ``fig`` (with the inline padding)."""
    width_px = (fig.get_figwidth() + 2 * INLINE_PAD_IN) * fig.dpi
    return MIN_PHONE_FONT_PX * 72 / fig.dpi * max(1.0, width_px / PHONE_COLUMN_PX)


def figure_legend(fig: Figure, axes: Sequence[plt.Axes], loc: str = "outside lower center", ncol: int = 3,
                  ) -> None:
    """One legend for the whole figure, each label once, outside the panels (none when empty); in
    at most ``ncol`` columns, fewer where a row would be wider than the figure (that would widen the
    image and so shrink the whole figure on the page), with text legible on a phone."""
    handles: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if not handles:
        return
    size = max(FontProperties(size=mpl.rcParams["legend.fontsize"]).get_size_in_points(), phone_font_pt(fig))
    for columns in range(min(ncol, len(handles)), 0, -1):
        legend = fig.legend(list(handles.values()), list(handles), loc=loc, ncol=columns, fontsize=size)
        if columns == 1 or legend.get_window_extent(fig.canvas.get_renderer()).width <= fig.bbox.width:
            return
        legend.remove()


def displayed_width_px(fig: Figure) -> float:
    """Width in px of the image the notebook shows: the figure, or its tight bounding box plus the
    inline backend's padding when artists stick out of it (an outside legend)."""
    fig.draw_without_rendering()  # lays the figure out as the shown image will be (constrained layout)
    tight = fig.get_tightbbox().width + 2 * INLINE_PAD_IN
    return max(fig.get_figwidth(), tight) * fig.dpi


def font_px(text: Text, dpi: float, width_px: float, column_px: float = COLUMN_PX) -> float:
    """Displayed size in px of ``text``: points × dpi/72, times the image's scale in the column."""
    return text.get_fontsize() * dpi / 72 * min(1.0, column_px / width_px)


def check_legible(fig: Figure, column_px: float = COLUMN_PX, min_px: float = MIN_FONT_PX,
                  ) -> list[tuple[str, float]]:
    """The visible texts of ``fig`` smaller than ``min_px`` as displayed in a column ``column_px``
    wide: ``[(text, px), ...]``, empty when the figure is legible."""
    width = displayed_width_px(fig)
    texts = {id(t): t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()}
    sizes = [(t.get_text(), font_px(t, fig.dpi, width, column_px)) for t in texts.values()]
    return [(text, round(px, 1)) for text, px in sizes if px < min_px]


def _visible_texts(fig: Figure) -> list[Text]:
    return list({id(t): t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()}.values())


def enlarge_small_text(fig: Figure, column_px: float = PHONE_COLUMN_PX, min_px: float = MIN_PHONE_FONT_PX,
                       ) -> list[str]:
    """Enlarge every text of ``fig`` that would show under ``min_px`` in a column ``column_px`` wide
    to the smallest size that reaches it (tick labels through their axis, so ticks drawn later
    follow); return the texts enlarged.

    Text that sticks out of the figure (a title wider than its panel) widens the image as it grows,
    which shrinks the whole image on the page; this repeats while the image stays within 5 % of its
    first width, and otherwise stops rather than chase it: such a figure needs a layout that fits
    (the browser test names it)."""
    enlarged: dict[int, str] = {}
    first = displayed_width_px(fig)
    for _ in range(3):
        width = displayed_width_px(fig)
        if width > 1.05 * first:
            break
        scale = fig.dpi / 72 * min(1.0, column_px / width)
        needed = math.ceil(min_px / scale * 100) / 100  # points
        small = [t for t in _visible_texts(fig) if t.get_fontsize() < needed - 1e-9]
        if not small:
            break
        for ax in fig.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
                    if ticks and ticks[0].label1.get_fontsize() < needed:
                        ax.tick_params(axis=name, which=which, labelsize=needed)
        for text in small:
            enlarged.setdefault(id(text), text.get_text())
            text.set_fontsize(max(text.get_fontsize(), needed))
    return list(enlarged.values())


def thin_overlapping_tick_labels(fig: Figure) -> list[str]:
    """Show only every n-th tick label (the first, and n smallest) on an axis whose tick labels
    overlap once enlarged (fixed ticks, such as a log axis of rounds, do not thin themselves out);
    the ticks and grid lines stay. Returns the axes labels of the axes thinned."""
    thinned = []
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text().strip()]
            boxes = [t.get_window_extent(renderer).padded(2) for t in labels]
            step = 1
            while step < len(labels) and any(a.overlaps(b) for a, b in itertools.pairwise(boxes[::step])):
                step += 1
            if step > 1:
                for i, label in enumerate(labels):
                    label.set_visible(i % step == 0)
                thinned.append(axis.get_label_text() or ax.get_title())
    return thinned


def smallest_font_pt(fig: Figure) -> float | None:
    """The size in points of the smallest visible text of ``fig`` (None when it has no text)."""
    sizes = [t.get_fontsize() for t in _visible_texts(fig)]
    return min(sizes) if sizes else None


def _record_smallest_font(fig: Figure) -> None:
    """Have every PNG of ``fig`` carry its smallest font size in points (text chunk
    :data:`FONT_KEY`), so the browser test can tell how large the figure's text is as displayed:
    points × the PNG's dpi / 72 × displayed width / natural width."""
    canvas = fig.canvas
    if getattr(canvas.print_figure, "_nevolab_records_fonts", False):
        return
    original = canvas.print_figure

    def print_figure(filename, *args, **kwargs):
        named = isinstance(filename, str | os.PathLike)
        fmt = kwargs.get("format") or (os.path.splitext(filename)[1][1:] if named else None)
        smallest = smallest_font_pt(fig)
        if str(fmt).lower() == "png" and smallest is not None:
            kwargs["metadata"] = {**(kwargs.get("metadata") or {}), FONT_KEY: f"{smallest:.3f}"}
        return original(filename, *args, **kwargs)

    print_figure._nevolab_records_fonts = True
    canvas.print_figure = print_figure


def _raise_if_illegible(fig: Figure, column_px: float, min_px: float) -> None:
    offenders = check_legible(fig, column_px, min_px)
    if offenders:
        listed = ", ".join(f"{text!r} {px} px" for text, px in offenders[:8])
        raise ValueError(f"{len(offenders)} text(s) under {min_px} px in a {column_px} px column: {listed}")


def finish(fig: Figure, column_px: float = COLUMN_PX, min_px: float = MIN_FONT_PX) -> Figure:
    """Check ``fig`` before it is shown: raises ``ValueError`` naming any text below ``min_px`` in
    the desktop column; then enlarges any text that would show under :data:`MIN_PHONE_FONT_PX` on a
    phone (:func:`enlarge_small_text`), and thins tick labels that then overlap
    (:func:`thin_overlapping_tick_labels`). The PNG the notebook shows records the figure's smallest
    font (see :func:`_record_smallest_font`): the browser test reads it and names a figure whose
    text is still too small on a phone (that one does not stop the page from building)."""
    _raise_if_illegible(fig, column_px, min_px)
    enlarge_small_text(fig)
    thin_overlapping_tick_labels(fig)
    _raise_if_illegible(fig, column_px, min_px)
    _record_smallest_font(fig)
    return fig


#: Table CSS: the size and padding of the book's claims tables, so wide tables fit the column.
TABLE_STYLES = [{"selector": "", "props": [("font-size", "0.85em")]},
                {"selector": "td, th", "props": [("padding", "2px 6px")]}]


def cell(value: object, digits: int = 3) -> str:
    """One table cell: '–' for a missing or infinite number, integers (and integral floats) without
    '.0', other floats to ``digits`` significant digits."""
    if value is None or isinstance(value, bool | np.bool_):
        return "–" if value is None else str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):d}"
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "–"
        return f"{int(value):d}" if float(value).is_integer() else f"{value:.{digits}g}"
    return str(value)


def _display_axis(index: pd.Index) -> list:
    """The readable names of an index's level names."""
    return [display_name(name) if isinstance(name, str) else name for name in index.names]


def format_table(frame: pd.DataFrame, digits: int = 3, formats: dict[str, str] | None = None,
                 rename: bool = True) -> pd.io.formats.style.Styler:
    """``frame`` styled for the book (:data:`TABLE_STYLES`): every cell through :func:`cell` (or
    ``formats[column]``, a ``str.format`` pattern), '–' for missing values, and readable names
    (:func:`display_name`) for the index values and the column and index names."""
    formats = formats or {}
    if rename:
        frame = frame.rename_axis(index=_display_axis(frame.index), columns=_display_axis(frame.columns))
    styler = frame.style.format(lambda v: cell(v, digits)).set_table_styles(TABLE_STYLES)
    for column, spec in formats.items():
        styler = styler.format(lambda v, spec=spec: "–" if pd.isna(v) else spec.format(v), subset=[column])
    if rename:
        for axis in (0, 1):
            styler = styler.format_index(lambda v: display_name(v) if isinstance(v, str) else v, axis=axis)
    return styler
