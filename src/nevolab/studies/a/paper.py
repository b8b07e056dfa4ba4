"""What Gobbi & Konotopska's report says and shows: its claims in its own words, and the final mean
min-loss of every curve of its Figure 1, read off the repository's ``plots/*.png``.

These are facts about the paper, not results: the scorecard sets them beside NevoLab's numbers, and
the margins of the "no difference" claims are derived from them. A margin is held to each case's
scale: the paper's gap *relative to the paper's loss level* (the largest relative gap of that kind in
its own figure, which it still calls "competitive", "somewhat working" or "no benefit") times *our*
loss level in the case (:func:`relative_margin`). A threshold of our own choosing decides only an
extra row whose key says so (:data:`EXTRA_ROWS`), never the verdict of a paper's claim.
"""

from __future__ import annotations

from nevolab.report import PaperClaim

FIGURE_SOURCE = ("github.com/fruttasecca/backprop_vs_bio, plots/*.png (report Fig. 1 a–f): the end of "
                 "each mean curve, read by eye to ±0.01")
READING = 0.01
"""The precision the figure is read to."""
READABLE_LEVEL = 5 * READING
"""A loss level of the figure a ratio may be taken against: a level within a few readings of 0 (say
0.01 ± 0.01) gives no ratio at all."""

FIGURE_FINAL_LOSS: dict[str, dict[str, float]] = {
    "I": {"backprop": 0.43, "cosyne": 0.24, "de": 0.50, "ea": 0.77,
          "cosyne_idct": 0.25, "de_idct": 0.43, "ea_idct": 0.80},
    "II": {"backprop": 0.65, "cosyne": 0.67, "de": 1.01, "ea": 1.37,
           "cosyne_idct": 0.61, "de_idct": 1.01, "ea_idct": 1.29},
    "III": {"backprop": 0.01, "cosyne": 0.01, "de": 0.28, "ea": 0.00,
            "cosyne_idct": 0.37, "de_idct": 0.60, "ea_idct": 0.55},
    "IV": {"backprop": 0.00, "cosyne": 0.12, "de": 0.42, "ea": 0.24,
           "cosyne_idct": 0.52, "de_idct": 0.62, "ea_idct": 0.61},
    "V": {"backprop": 0.00, "cosyne": 0.01, "de": 0.24, "ea": 0.02,
          "cosyne_idct": 0.30, "de_idct": 0.57, "ea_idct": 0.53},
    "VI": {"backprop": 0.00, "cosyne": 0.08, "de": 0.40, "ea": 0.18,
           "cosyne_idct": 0.44, "de_idct": 0.60, "ea_idct": 0.60},
}
"""Mean min loss at the end of each curve of the paper's Figure 1, per case and algorithm."""

PAPER_GENERATIONS = 2000
"""The paper's run length: 2,000 batches of 40, one per generation or gradient step."""
FINAL_SCALE = (("generations", float(PAPER_GENERATIONS)),)
FINAL_SCALE_REASON = ("the paper's claims are about its curves after all 2,000 batches; a shorter run "
                      "compares algorithms that are still learning")


def _figure(case: str, *algorithms: str) -> str:
    """The paper's figure values of ``algorithms`` on ``case``, as "name value" pairs."""
    values = FIGURE_FINAL_LOSS[case]
    return f"case {case}: " + ", ".join(f"{a} {values[a]:.2f}" for a in algorithms)


def _gaps(key: str) -> list[tuple[float, float, str]]:
    """(gap, the level it is relative to, where) of every comparison of claim ``key`` in the paper's
    figure: the gap the claim calls no difference, against the loss of the reference it is measured
    from (CoSyNE for the EA, the direct genotype for IDCT, h = sequence length for h = 10)."""
    fig = FIGURE_FINAL_LOSS
    if key == "ea_competitive_lstm":
        return [(fig[c]["ea"] - fig[c]["cosyne"], fig[c]["cosyne"], f"case {c}: EA {fig[c]['ea']:.2f} vs "
                 f"CoSyNE {fig[c]['cosyne']:.2f}") for c in ("III", "IV", "V", "VI")]
    if key == "idct_works_ff":
        return [(fig[c][f"{b}_idct"] - fig[c][b], fig[c][b], f"case {c}: {b} IDCT {fig[c][b + '_idct']:.2f} "
                 f"vs direct {fig[c][b]:.2f}") for c in ("I", "II") for b in ("cosyne", "de", "ea")]
    if key == "h10_no_benefit":
        return [(fig[small][a] - fig[large][a], fig[small][a], f"{a}, case {small} → {large}: "
                 f"{fig[small][a]:.2f} → {fig[large][a]:.2f}")
                for small, large in (("III", "V"), ("IV", "VI")) for a in ("backprop", "cosyne", "de", "ea")]
    raise ValueError(f"claim {key!r} has no margin; claims with one: {', '.join(MARGIN_CLAIMS)}")


def relative_margin(key: str) -> tuple[float, str]:
    """The margin of a "no difference" claim as a share of the reference's loss, and where in the
    paper's figure it comes from: the largest gap of that kind relative to its level, over the
    comparisons whose level can be read (at least :data:`READABLE_LEVEL`). A case's margin δ is this
    share times our median loss of the reference in that case."""
    readable = [(gap / level, where) for gap, level, where in _gaps(key) if level >= READABLE_LEVEL]
    ratio, where = max(readable)
    return round(ratio, 3), where


def margin(key: str) -> float:
    """The largest absolute gap of claim ``key`` in the paper's own figure (what the margin was before
    it was put on each case's scale; the page shows it beside the relative one)."""
    return round(max(gap for gap, _, _ in _gaps(key)), 2)  # the figure is read to ±0.01


MARGIN_CLAIMS = ("ea_competitive_lstm", "idct_works_ff", "h10_no_benefit")
"""The claims that say two things are alike, each with a margin from the paper's own figure."""


def _margin_words(key: str, reference: str, two_sided: bool = False) -> tuple[str, str]:
    ratio, where = relative_margin(key)
    side = "|shift| < δ" if two_sided else "shift < δ"
    return (f"{side}, δ = {ratio:.3g} × our median final loss of {reference} in the case",
            f"the paper's Fig. 1 (largest relative gap of this kind at a readable level): {where}")


OURS_MUCH_SLOWER = 2.0
"""Our reading of "much" slower (extra row): at least this ratio of wall times."""
OURS_LIMITEDLY = 0.10
"""Our reading of "limitedly worse" (extra row): within this share of backprop's median final loss."""

DIRECTION = ("none: a direction (threshold 0)", "the paper's words (a direction, no number)")
"""Margin and source of a directional claim."""
WALL_TIME_SOURCE = "the paper's words; no number is given, so the claim's direction is tested (threshold 0)"

CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("backprop_best", "Reasonably, we expect backpropagation to be the winner […] as the problem "
               "dimensionality increases, the gap between backpropagation and the other algorithms widens.",
               "backprop's final loss is lower than the best bio-inspired algorithm's (cases II–VI; on "
               "case I the paper puts backprop second)", "a1_min_loss_curves",
               _figure("IV", "backprop", "cosyne"), *DIRECTION,
               scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
    PaperClaim("gap_widens", "as the problem dimensionality increases, the gap between backpropagation and "
               "the other algorithms widens.",
               "(best bio-inspired − backprop) in median final loss grows from the smaller case to the "
               "larger one of the same family (I→II, III→IV, V→VI)", "a1_min_loss_curves",
               _figure("II", "backprop", "cosyne"), *DIRECTION,
               scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
    PaperClaim("cosyne_best_bio", "Cosyne is working better than the other bio-inspired algorithms",
               "CoSyNE's final loss is lower than the better of DE and EA, per case", "a2_final_losses",
               _figure("II", "cosyne", "de", "ea"), *DIRECTION,
               scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
    PaperClaim("de_beats_ea_ff", "EA is outclassed by Differential in ffencoding",
               "DE's final loss is lower than EA's on the feed-forward cases", "a2_final_losses",
               _figure("I", "de", "ea"), *DIRECTION,
               scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
    PaperClaim("ea_competitive_lstm", "it [EA] actually becomes competitive with Cosyne in the second task",
               "EA's final loss is not higher than CoSyNE's by more than δ, the paper's largest relative "
               "EA − CoSyNE gap of its recurrent figures (which it calls competitive) on our CoSyNE's "
               "loss in the case", "a2_final_losses", _figure("IV", "ea", "cosyne"),
               *_margin_words("ea_competitive_lstm", "CoSyNE"), scale=FINAL_SCALE,
               scale_reason=FINAL_SCALE_REASON),
    PaperClaim("idct_works_ff", "indirect encoding is somewhat working in feedforward autoencoding",
               "the IDCT variant's final loss is not higher than the direct one's by more than δ, the "
               "paper's largest relative IDCT − direct gap of its feed-forward figures on our direct "
               "variant's loss in the case", "a2_final_losses", _figure("II", "cosyne", "cosyne_idct"),
               *_margin_words("idct_works_ff", "the direct genotype"), scale=FINAL_SCALE,
               scale_reason=FINAL_SCALE_REASON),
    PaperClaim("idct_fails_lstm", "while it is not working at all in the recurrent task",
               "the IDCT variant's final loss is higher than the direct one's on the recurrent cases",
               "a2_final_losses", _figure("IV", "cosyne", "cosyne_idct"), *DIRECTION, scale=FINAL_SCALE,
               scale_reason=FINAL_SCALE_REASON),
    PaperClaim("h10_no_benefit", "an oversized memory (figures 1c and 1f) does not seem to have any benefit, "
               "results are generally worse",
               "h = 10's final loss is neither lower nor higher than h = sequence length's by more than "
               "δ (two-sided equivalence), δ the largest relative improvement h = 10 shows in the paper's "
               "figures on our h = sequence length loss in the case", "a2_final_losses",
               _figure("VI", "cosyne", "ea"),
               *_margin_words("h10_no_benefit", "h = sequence length", two_sided=True), scale=FINAL_SCALE,
               scale_reason=FINAL_SCALE_REASON),
    PaperClaim("cosyne_beats_backprop_case1", "here backpropagation is still on the podium, albeit second",
               "on case I, CoSyNE's final loss is lower than backprop's", "a1_min_loss_curves",
               _figure("I", "cosyne", "backprop"), *DIRECTION,
               scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
    PaperClaim("bio_slower_wall_time", "The execution time of the global optimizers is much higher than "
               "backprop, and it is perhaps to be expected given the requirement of multiple forward passes "
               "because of their population size.",
               "the wall time of one whole run (2,000 batches) of each bio-inspired algorithm is higher than "
               "backprop's on the same case and machine: a signed-rank test over every (case, algorithm) "
               "pair of log₂(time ratio); \"much\" is our labelled extra row",
               "a1_min_loss_curves", "no number: the x axes of Fig. 1 (wall time)",
               f"threshold 0 (slower); the extra row: ratio > {OURS_MUCH_SLOWER:g}", WALL_TIME_SOURCE,
               scale=FINAL_SCALE, scale_reason="the paper times whole runs of 2,000 batches"),
    PaperClaim("cosyne_early", "in figures 1a and 1d, at around 1 second, Cosyne had received a fraction of "
               "the batches, but has respectively better and limitedly worse results.",
               "at equal wall time (when backprop has consumed its 2,000 batches, CoSyNE a fraction of "
               "them), CoSyNE's min loss is lower than backprop's on case I (Fig. 1a) and higher on case II "
               "(Fig. 1d, \"worse\"); \"limitedly\" is our labelled extra row. Where our CoSyNE is not "
               "slower than backprop, the paper's situation does not arise and the row is not tested at "
               "scale",
               "a1_min_loss_curves", "no number: Fig. 1a and 1d at about 1 s",
               f"threshold 0; the extra row (case II): δ = {OURS_LIMITEDLY:.0%} of backprop's median final "
               "loss",
               "the paper's words (\"better\", \"worse\"); \"limitedly\" has no number, so its margin is "
               "ours (extra row)", scale=FINAL_SCALE,
               scale_reason="the time is backprop's whole run of 2,000 batches"),
    PaperClaim("idct_slower_ff", "indirect encoding is somewhat working in feedforward autoencoding "
               "(although it takes more time to \"consume\" all 2000 batches, but that does not matter)",
               "on the feed-forward cases, a whole run of the IDCT variant takes more wall time than the "
               "direct one's: a signed-rank test over every (case, algorithm) pair of log₂(time ratio)",
               "a1_min_loss_curves", "no number: the x axes of Fig. 1a and 1d", "threshold 0 (slower)",
               WALL_TIME_SOURCE, scale=FINAL_SCALE,
               scale_reason="the paper times whole runs of 2,000 batches"),
    PaperClaim("variance_problem_ff", "Regarding variance, it seems to be a problem for all algorithms in "
               "the first task, this is probably because the provided architecture is simply not expressive "
               "enough to solve the problem.",
               "the spread of final losses (coefficient of variation, per algorithm) is large on the "
               "feed-forward cases. The paper states no size at which variance is a problem and its bands "
               "cannot be read to a number, so the rows show our coefficients and are not tested at scale",
               "a2_final_losses", "no number: the variance bands of Fig. 1a and 1d",
               "none: the paper gives no size", "the paper's words (no number)", scale=FINAL_SCALE,
               scale_reason=FINAL_SCALE_REASON),
    PaperClaim("backprop_variance_below_cosyne", "While its variance dips below the one of Cosyne, the "
               "general case is clearly getting stuck in bad local optimum.",
               "on case I, backprop's final losses spread less than CoSyNE's: a rank test of the absolute "
               "deviations from each one's median (Brown–Forsythe)", "a1_min_loss_curves",
               "no number: the variance bands of Fig. 1a", "threshold 0 (lower spread)",
               "the paper's words (no number)", scale=FINAL_SCALE, scale_reason=FINAL_SCALE_REASON),
)
CLAIMS_BY_KEY = {claim.key: claim for claim in CLAIMS}

EXTRA_ROWS: dict[str, tuple[str, str]] = {
    f"bio_slower_wall_time, ours: ≥ {OURS_MUCH_SLOWER:g}×": (
        "bio_slower_wall_time",
        f"ours: \"much\" read as at least {OURS_MUCH_SLOWER:g}× backprop's wall time"),
    "cosyne_early, ours: limitedly": (
        "cosyne_early", f"ours: \"limitedly worse\" read as within {OURS_LIMITEDLY:.0%} of backprop's median "
        "final loss"),
}
"""Rows a threshold of ours decides (key → the paper's claim it qualifies, and our reading): shown on
A3 beside the paper's claim, never its verdict, and left off the scorecard."""


def sentence(key: str) -> str:
    """The paper's sentence behind a claims-table key (an extra row's: its claim's, labelled ours)."""
    if key in EXTRA_ROWS:
        claim, ours = EXTRA_ROWS[key]
        return f"{CLAIMS_BY_KEY[claim].sentence} [{ours}]"
    return CLAIMS_BY_KEY[key].sentence
