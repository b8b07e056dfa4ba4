"""What Gobbi & Konotopska's report says and shows: its claims in its own words, and the final mean
min-loss of every curve of its Figure 1, read off the repository's ``plots/*.png``.

These are facts about the paper, not results: the scorecard sets them beside NevoLab's numbers, and
the margins of the "no difference" claims are derived from them (a gap the paper itself calls
"competitive" or "no benefit" is the largest gap of that kind in its own figure).
"""

from __future__ import annotations

from nevolab.report import PaperClaim

FIGURE_SOURCE = ("github.com/fruttasecca/backprop_vs_bio, plots/*.png (report Fig. 1 a–f): the end of "
                 "each mean curve, read by eye to ±0.01")

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


def _figure(case: str, *algorithms: str) -> str:
    """The paper's figure values of ``algorithms`` on ``case``, as "name value" pairs."""
    values = FIGURE_FINAL_LOSS[case]
    return f"case {case}: " + ", ".join(f"{a} {values[a]:.2f}" for a in algorithms)


CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("backprop_best", "Reasonably, we expect backpropagation to be the winner […] as the problem "
               "dimensionality increases, the gap between backpropagation and the other algorithms widens.",
               "backprop's final loss is lower than the best bio-inspired algorithm's (cases II–VI; on "
               "case I the paper puts backprop second)", "a1_min_loss_curves",
               _figure("IV", "backprop", "cosyne")),
    PaperClaim("gap_widens", "as the problem dimensionality increases, the gap between backpropagation and "
               "the other algorithms widens.",
               "(best bio-inspired − backprop) in median final loss grows from the smaller case to the "
               "larger one of the same family (I→II, III→IV, V→VI)", "a1_min_loss_curves",
               _figure("II", "backprop", "cosyne")),
    PaperClaim("cosyne_best_bio", "Cosyne is working better than the other bio-inspired algorithms",
               "CoSyNE's final loss is lower than the better of DE and EA, per case", "a2_final_losses",
               _figure("II", "cosyne", "de", "ea")),
    PaperClaim("de_beats_ea_ff", "EA is outclassed by Differential in ffencoding",
               "DE's final loss is lower than EA's on the feed-forward cases", "a2_final_losses",
               _figure("I", "de", "ea")),
    PaperClaim("ea_competitive_lstm", "it [EA] actually becomes competitive with Cosyne in the second task",
               "EA's final loss is not higher than CoSyNE's by more than δ, the largest EA − CoSyNE gap "
               "of the paper's recurrent figures (which it calls competitive)", "a2_final_losses",
               _figure("IV", "ea", "cosyne")),
    PaperClaim("idct_works_ff", "indirect encoding is somewhat working in feedforward autoencoding",
               "the IDCT variant's final loss is not higher than the direct one's by more than δ, the "
               "largest IDCT − direct gap of the paper's feed-forward figures", "a2_final_losses",
               _figure("II", "cosyne", "cosyne_idct")),
    PaperClaim("idct_fails_lstm", "while it is not working at all in the recurrent task",
               "the IDCT variant's final loss is higher than the direct one's on the recurrent cases",
               "a2_final_losses", _figure("IV", "cosyne", "cosyne_idct")),
    PaperClaim("h10_no_benefit", "an oversized memory (figures 1c and 1f) does not seem to have any benefit, "
               "results are generally worse",
               "h = 10's final loss is not lower than h = sequence length's by more than δ, the largest "
               "improvement h = 10 shows in the paper's own figures", "a2_final_losses",
               _figure("VI", "cosyne", "ea")),
    PaperClaim("cosyne_beats_backprop_case1", "here backpropagation is still on the podium, albeit second",
               "on case I, CoSyNE's final loss is lower than backprop's", "a1_min_loss_curves",
               _figure("I", "cosyne", "backprop")),
)
CLAIMS_BY_KEY = {claim.key: claim for claim in CLAIMS}


def margin(key: str) -> float:
    """The margin δ of a "no difference" claim, from the paper's own figure (see :data:`CLAIMS`)."""
    return round(_margin(key), 2)  # the figure is read to ±0.01


def _margin(key: str) -> float:
    fig = FIGURE_FINAL_LOSS
    if key == "ea_competitive_lstm":
        return max(fig[case]["ea"] - fig[case]["cosyne"] for case in ("III", "IV", "V", "VI"))
    if key == "idct_works_ff":
        return max(fig[case][f"{base}_idct"] - fig[case][base]
                   for case in ("I", "II") for base in ("cosyne", "de", "ea"))
    if key == "h10_no_benefit":
        return max(fig[small][algorithm] - fig[large][algorithm]
                   for small, large in (("III", "V"), ("IV", "VI"))
                   for algorithm in ("backprop", "cosyne", "de", "ea"))
    raise ValueError(f"claim {key!r} has no margin; claims with one: ea_competitive_lstm, idct_works_ff, "
                     "h10_no_benefit")
