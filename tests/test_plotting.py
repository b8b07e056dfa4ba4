"""The book's plotting helpers: legibility in the page column, bands that stay within the data on
log axes, curves that stay visible when they coincide, readable names and clean table cells."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nevolab import plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _figure(width_in: float, fontsize: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=plotting.DPI)
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x label", fontsize=fontsize)
    ax.tick_params(labelsize=max(fontsize, 9))
    return fig


def test_a_small_label_on_a_wide_figure_is_illegible():
    fig = _figure(16, 5)
    offenders = plotting.check_legible(fig, column_px=772, min_px=9)
    assert ("x label", pytest.approx(5 * 110 / 72 * 772 / (16 * 110), abs=0.1)) in offenders
    with pytest.raises(ValueError, match="x label"):
        plotting.finish(fig, column_px=772)


def test_a_wide_figure_shrinks_even_normal_fonts():
    """12 pt at 16 in wide is scaled to 772/1760 of its size: about 8 px, under 9."""
    fig = _figure(16, 12)
    offenders = dict(plotting.check_legible(fig, column_px=772))
    assert offenders["x label"] == pytest.approx(12 * 772 / (16 * 72), abs=0.1)
    assert plotting.check_legible(fig, column_px=16 * 110) == []  # a column as wide as the image


def test_a_column_width_figure_with_small_but_readable_fonts_passes():
    fig = _figure(plotting.FIGURE_WIDTH_IN, 6.5)  # 6.5 pt x 110/72 = 9.9 px, unscaled
    assert plotting.displayed_width_px(fig) <= plotting.COLUMN_PX
    assert plotting.check_legible(fig, column_px=plotting.COLUMN_PX, min_px=9) == []
    assert plotting.finish(fig) is fig


def test_the_threshold_is_applied_in_displayed_px():
    fig = _figure(plotting.FIGURE_WIDTH_IN, 5.5)  # 8.4 px
    assert [text for text, _ in plotting.check_legible(fig)] == ["x label"]


def test_an_outside_legend_widening_the_image_counts():
    fig = _figure(plotting.FIGURE_WIDTH_IN, 9)
    fig.legend(["a very long legend entry " * 6], loc="center left", bbox_to_anchor=(1.0, 0.5))
    assert plotting.displayed_width_px(fig) > plotting.FIGURE_WIDTH_IN * plotting.DPI


def test_iqr_band_stays_within_the_data():
    table = pd.DataFrame({"x": [1] * 5 + [2] * 5, "y": [1, 2, 3, 4, 100, 0.5, 0.6, 0.7, 0.8, 0.9]})
    summary = plotting.summarise(table, "x", "y", spread="iqr").set_index("x")
    assert summary.loc[1, "center"] == 3
    for x, group in table.groupby("x"):
        assert group.y.min() <= summary.loc[x, "low"] <= summary.loc[x, "center"] <= summary.loc[x, "high"]
        assert summary.loc[x, "high"] <= group.y.max()


def test_a_floor_replaces_zero_losses_and_bounds_the_band():
    table = pd.DataFrame({"x": [1] * 4, "y": [0.0, 0.0, 1e-6, 1.0]})
    iqr = plotting.summarise(table, "x", "y", spread="iqr", floor=1e-9)
    std = plotting.summarise(table, "x", "y", spread="std", floor=1e-9)
    assert iqr.low.iloc[0] == pytest.approx(1e-9)
    assert std.low.iloc[0] == pytest.approx(1e-9)  # mean - std < 0 is clipped at the floor, not at 1e-300
    assert plotting.positive_floor(table.y) == pytest.approx(1e-6)
    with pytest.raises(ValueError):
        plotting.positive_floor([0.0, -1.0])


def test_a_log_band_never_reaches_below_the_data():
    _, ax = plt.subplots()
    x = np.arange(1, 6)
    center = np.array([1.0, 0.5, 0.1, 0.05, 0.01])
    plotting.band(ax, x, center, (center - 1.0, center * 2), "cosyne", log=True)
    ax.set_yscale("log")
    low_edge = min(path.vertices[:, 1].min() for path in ax.collections[0].get_paths())
    assert low_edge >= center.min()
    assert ax.get_ylim()[0] > 1e-3


def test_coinciding_curves_differ_in_style_and_the_dashed_one_is_on_top():
    snr, imp = plotting.STYLES["snr"], plotting.STYLES["magnitude"]
    assert snr.linestyle != imp.linestyle and snr.marker != imp.marker
    assert snr.zorder > imp.zorder and snr.alpha < 1
    _, ax = plt.subplots()
    plotting.band(ax, [1, 2], [0.5, 0.6], ([0.4, 0.5], [0.6, 0.7]), "magnitude")
    plotting.band(ax, [1, 2], [0.5, 0.6], ([0.4, 0.5], [0.6, 0.7]), "snr")
    imp_line, snr_line = ax.get_lines()
    assert snr_line.get_zorder() > imp_line.get_zorder()
    assert snr_line.get_linestyle() == "--"


def test_display_names():
    assert plotting.display_name("digits") == "digits (8×8)"
    assert plotting.display_name("pendulum") == "Pendulum-v1"
    assert plotting.display_name("Sep_CMA_ES") == "Sep-CMA-ES"
    assert plotting.display_name("snr") == "ES-SNR"
    assert plotting.display_name("cosyne_idct") == "CoSyNE (IDCT)"
    assert plotting.display_name("mean_final_loss") == "mean final loss"


@pytest.mark.parametrize(("value", "text"), [(19.0, "19"), (np.int64(2000), "2000"), (0.1318, "0.132"),
                                             (float("nan"), "–"), (None, "–"), (np.inf, "–"),
                                             (True, "True"), ("SNES", "SNES")])
def test_cells(value, text):
    assert plotting.cell(value) == text


def test_format_table_prints_no_nan_no_float_integers_and_readable_names():
    frame = pd.DataFrame({"population_size": [19.0, np.nan], "learning_rate": [np.nan, 0.1318]},
                         index=pd.Index(["cosyne", "backprop"], name="algorithm"))
    html = plotting.format_table(frame).to_html()
    assert "nan" not in html and "19.0" not in html
    assert "–" in html and ">19<" in html and "population size" in html and "CoSyNE" in html


def test_grid_is_column_wide_and_drops_unused_panels():
    fig, axes = plotting.grid(3, columns=2)
    assert len(axes) == 3 and len(fig.axes) == 3
    assert fig.get_figwidth() == pytest.approx(plotting.FIGURE_WIDTH_IN)


def test_figure_legend_names_each_curve_once():
    fig, axes = plotting.grid(2)
    for ax in axes:
        plotting.band(ax, [1, 2], [1, 2], ([0, 1], [2, 3]), "snr")
    plotting.figure_legend(fig, axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [plotting.STYLES["snr"].label]


def test_a_figure_of_the_book_width_keeps_paper_sized_text_legible_on_a_phone():
    """8.8 pt (seaborn's "paper" tick labels) at FIGURE_WIDTH_IN, scaled to the phone column."""
    fig = _figure(plotting.FIGURE_WIDTH_IN, 8.8)
    assert plotting.displayed_width_px(fig) <= plotting.COLUMN_PX  # unscaled on a desktop
    assert plotting.check_legible(fig, plotting.PHONE_COLUMN_PX, plotting.MIN_PHONE_FONT_PX) == []
    assert plotting.enlarge_small_text(fig) == []


def test_finish_enlarges_text_too_small_on_a_phone_and_ticks_drawn_later_follow():
    fig = _figure(plotting.FIGURE_WIDTH_IN, 6.5)  # legible on a desktop (9.9 px), not on a phone
    fig.axes[0].tick_params(labelsize=6.5)
    fig.axes[0].set_title("a title", fontsize=14)
    assert plotting.check_legible(fig, plotting.PHONE_COLUMN_PX, plotting.MIN_PHONE_FONT_PX)
    plotting.finish(fig)
    assert plotting.check_legible(fig, plotting.PHONE_COLUMN_PX, plotting.MIN_PHONE_FONT_PX) == []
    assert fig.axes[0].title.get_fontsize() == 14  # larger text is left alone
    fig.axes[0].set_xlim(0, 100)  # new ticks
    fig.canvas.draw()
    assert plotting.check_legible(fig, plotting.PHONE_COLUMN_PX, plotting.MIN_PHONE_FONT_PX) == []


def test_the_shown_png_records_the_smallest_font(tmp_path):
    """The inline backend's PNG (and a saved .png) carries the smallest font in points, which the
    browser test turns into displayed px; other formats are left alone."""
    import io

    from IPython.core.pylabtools import print_figure
    from PIL import Image

    fig = plotting.finish(_figure(plotting.FIGURE_WIDTH_IN, 12))
    smallest = plotting.smallest_font_pt(fig)
    assert smallest == pytest.approx(min(t.get_fontsize() for t in fig.axes[0].get_xticklabels()))
    for fmt in ("png", "retina"):
        image = Image.open(io.BytesIO(print_figure(fig, fmt)))
        assert float(image.text[plotting.FONT_KEY]) == pytest.approx(smallest, abs=1e-3)
    fig.savefig(tmp_path / "figure.png")
    assert plotting.FONT_KEY in Image.open(tmp_path / "figure.png").text
    fig.savefig(tmp_path / "figure.pdf")  # no PNG metadata key forced on another format


def test_a_figure_legend_too_wide_for_one_row_takes_fewer_columns_and_a_phone_legible_size():
    plotting.set_theme("paper")
    fig, axes = plotting.grid(2)
    labels = ["the target's own ticket (SNR, or GD-IMP)", "the target's random re-initialisation",
              "the transfer (the source's SNR ticket)"]
    for ax in axes:
        for i, label in enumerate(labels):
            ax.plot([0, 1], [i, i + 1], label=label)
    plotting.figure_legend(fig, axes, ncol=3)
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 3 and legend._ncols < 3
    assert legend.get_window_extent(fig.canvas.get_renderer()).width <= fig.bbox.width
    assert plotting.displayed_width_px(fig) <= plotting.COLUMN_PX
    assert all(text.get_fontsize() >= plotting.phone_font_pt(fig) for text in legend.get_texts())
    assert plotting.check_legible(plotting.finish(fig), plotting.PHONE_COLUMN_PX,
                                  plotting.MIN_PHONE_FONT_PX) == []


def test_fixed_tick_labels_that_overlap_are_thinned_and_the_ticks_stay():
    fig, ax = plt.subplots(figsize=(2.0, 2.0), dpi=plotting.DPI)
    kept = [100, 50, 25, 12.5, 6.25, 3.12, 1.56]
    ax.set_xscale("log")
    ax.plot(kept, range(len(kept)))
    ax.set_xticks(kept, [f"{k:.3g}" for k in kept], fontsize=10)
    ax.set_xlim(115, 1.3)
    assert plotting.thin_overlapping_tick_labels(fig)
    fig.canvas.draw()
    shown = [t for t in ax.get_xticklabels() if t.get_visible()]
    assert shown[0].get_text() == "100" and 1 < len(shown) < len(kept)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(boxes))
    assert len(ax.get_xticks()) == len(kept)  # every tick (and grid line) is still drawn
    fig2, ax2 = plt.subplots(figsize=(6, 3), dpi=plotting.DPI)
    ax2.plot([0, 1], [0, 1])
    assert plotting.thin_overlapping_tick_labels(fig2) == []  # labels with room are left alone
