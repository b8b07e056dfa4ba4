"""What Garbus & Pollack (2025) claim about low-rank factorized neuroevolution, in their own words
(the arXiv abstract), with the numbers of their CarRacing runs (``last-gen-information.json``): the
claims Study C tests, the page each rests on, the margin each is tested with and where that margin
comes from (ours labelled "ours"), and, for a claim about the end of the paper's runs or about a task
we do not run, the run settings it needs."""

from __future__ import annotations

from nevolab.report import PaperClaim

DIRECTIONAL = "0 (directional: the shift is above 0)"
"""The margin of a directional claim ("higher", "lower"): none beyond the sign."""
_WORDING = "the paper's wording"
_ABSTRACT_COMPETITIVE = ("low-rank, factorized neuroevolution outperforms or is competitive with "
                         "non-factorized neuroevolution")
_ABSTRACT_DELETERIOUS = ("deleterious factorized mutations have a stronger negative impact on performance "
                         "than deleterious non-factorized mutations")

PIXEL_LAST_GEN = {
    "stage1_time_s": {"dense": 117.3, "factorized": 72.9},
    "stage1_mean_score": {"dense": 474.0, "factorized": 267.0},
    "stage2_time_s": {"dense": 33.5, "factorized": 35.1},
    "stage2_mean_score": {"dense": 730.5, "factorized": 732.8},
    "best_score": {"dense": 783.5, "factorized": 798.4},
}
"""The paper's CarRacing runs at their last generation (40), mean over 15 seeds per variant
(``last-gen-information.json``, ``originals.md`` §1.4): stage-1 and stage-2 evaluation time (s) and
mean score, and the best finalist's score."""
PIXEL_STAGE1_TIME_S = PIXEL_LAST_GEN["stage1_time_s"]
"""Stage-1 evaluation time at CarRacing's last generation, mean over 15 seeds (seconds)."""
PAPER_GENERATIONS = 40
PAPER_POPULATION = 256
"""The paper's CarRacing GA: 40 generations of 256 (``experiments/car-racing/config.jl``)."""
PAPER_ATARI_GAMES = ("Asteroids", "Frostbite", "Gravitar", "Kangaroo")
"""The paper's discrete-action pixel tasks (ALE, ``*Deterministic-v4``)."""


def relative_gap(quantity: str) -> float:
    """|factorized − dense| / dense of one of the paper's last-generation numbers (:data:`PIXEL_LAST_GEN`)."""
    values = PIXEL_LAST_GEN[quantity]
    return abs(values["factorized"] - values["dense"]) / abs(values["dense"])


EQUAL_SCORE_FRACTION = max(relative_gap("best_score"), relative_gap("stage2_mean_score"))
"""The largest gap between the two variants' scores at generation 40 that the paper calls equal, as a
fraction of dense's: best finalist 798.4 vs 783.5, 1.9 % (the stage-2 means, 732.8 vs 730.5, differ by
0.3 %). "Equal score" is tested within this fraction of our dense runs' mean score."""
EQUAL_COST_FRACTION = relative_gap("stage2_time_s")
"""The gap between the two variants' stage-2 evaluation times that the paper calls equal, as a fraction
of dense's: 35.1 vs 33.5 s, 4.8 %. "Equal stage-2 cost" is tested within this fraction of our dense
runs' mean stage-2 steps."""
EQUAL_SCORE_MARGIN = 50.0
"""Ours (a labelled extra row beside ``pixel_equal_final``, never its verdict): racing points within
which two final scores count as equal, 5 % of a clean lap's 1000, about half the paper's seed-to-seed
standard deviation of the final best score (75–95), fixed before any run."""
OURS_EQUAL_FINAL = "pixel_equal_final (ours: ±50 points)"
"""The claim key of the labelled extra row that tests ``pixel_equal_final`` with :data:`EQUAL_SCORE_MARGIN`
(its own Holm family: it never decides the paper's claim)."""
OURS_ROWS = {OURS_EQUAL_FINAL: "pixel_equal_final"}
"""Labelled extra rows of ours: their claim key → the paper claim they stand beside."""

_FINAL_SCALE = (("generations", float(PAPER_GENERATIONS)), ("population", float(PAPER_POPULATION)))
_FINAL_REASON = (f"the paper's equal scores are those of its last generation, {PAPER_GENERATIONS} "
                 f"generations of {PAPER_POPULATION}; a run stopped earlier, with a smaller population, is "
                 "compared while both variants are still climbing, where the paper compares them at its end")
_EQUAL_SCORE_TEXT = f"±{100 * EQUAL_SCORE_FRACTION:.1f} % of our dense runs' mean score"
_EQUAL_SCORE_SOURCE = ("the paper's numbers: the largest score gap at generation 40 it calls equal, best "
                       f"finalist {PIXEL_LAST_GEN['best_score']['factorized']} vs "
                       f"{PIXEL_LAST_GEN['best_score']['dense']} (rank-sum p = 0.82), relative to dense's")

CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("lm_factorized_beats_dense",
               "low-rank, factorized neuroevolution outperforms or is competitive with non-factorized "
               "neuroevolution, performing notably well on language modeling.",
               "the best individual's negative cross-entropy at the last generation is higher for the "
               "factorized variant than for dense, over seeds", "c1_lm_fitness_curves",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'outperforms'"),
    PaperClaim("factorized_beats_small",
               "We compare our approach with non-factorized networks of similar and smaller size to "
               "understand how much performance can be attributed to the smaller search space.",
               "the factorized variant's final negative cross-entropy is higher than the small dense "
               "network's", "c1_lm_fitness_curves",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'outperforms' (the smaller network)"),
    PaperClaim("deleterious_more_often",
               "Our results also suggest deleterious factorized mutations have a stronger negative impact "
               "on performance than deleterious non-factorized mutations",
               "the fraction of children worse than their parent is higher for the factorized variant "
               "(NevoLab's reading of 'stronger impact' as frequency)", "c2_mutation_effects",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'stronger negative impact'"),
    PaperClaim("deleterious_stronger",
               "Our results also suggest deleterious factorized mutations have a stronger negative impact "
               "on performance than deleterious non-factorized mutations",
               "the mean loss increase of deleterious children is higher for the factorized variant",
               "c2_mutation_effects",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'stronger negative impact'"),
)
CLAIMS_BY_KEY = {claim.key: claim for claim in CLAIMS}


def _versus(values: dict[str, float]) -> str:
    return f"{values['factorized']:g} vs {values['dense']:g}"


PIXEL_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("pixel_stage1_lower", _ABSTRACT_DELETERIOUS,
               "the stage-1 mean per-episode score of the factorized variant is lower than the dense one's "
               "(racing, over seeds), at the last generation and at matched parent fitness",
               "c5_selection_stages", "CarRacing, generation 40: 267 ± 70 vs 474 ± 91",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'stronger negative impact'"),
    PaperClaim("pixel_less_runtime",
               "which significantly reduces the runtime on environments with early termination for bad "
               "performers.",
               "stage 1 of the factorized variant takes fewer environment steps than the dense one's (the "
               "compacted rollout's time follows them), at the last generation and at matched parent fitness",
               "c5_selection_stages", "stage-1 evaluation time 72.9 ± 13.0 s vs 117.3 ± 23.1 s (-38 %)",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'reduces the runtime'",
               scale=(("early termination (1 = on)", 1.0),),
               scale_reason="the paper's words: 'on environments with early termination for bad performers'; "
                            "without it no episode is cut short"),
    PaperClaim("pixel_equal_final", _ABSTRACT_COMPETITIVE,
               "the best finalist's score at the last generation is equivalent for factorized and dense "
               "(two one-sided tests)", "c4_pixel_rl_scores",
               "best finalist 798.4 ± 75.1 vs 783.5 ± 94.7 (rank-sum p = 0.82)",
               margin=_EQUAL_SCORE_TEXT, margin_source=_EQUAL_SCORE_SOURCE,
               scale=_FINAL_SCALE, scale_reason=_FINAL_REASON),
    PaperClaim("pixel_stage2_equal",
               "(not in the abstract: the paper's CarRacing runs at generation 40) the finalists of stage 2 "
               "are equal, in their score and in the time their evaluation takes",
               "at the last generation, the finalists' stage-2 mean score and the stage-2 environment steps "
               "are each equivalent for factorized and dense (two one-sided tests)", "c5_selection_stages",
               "generation 40: stage-2 mean score " + _versus(PIXEL_LAST_GEN["stage2_mean_score"])
               + ", stage-2 time " + _versus(PIXEL_LAST_GEN["stage2_time_s"]) + " s",
               margin=f"score {_EQUAL_SCORE_TEXT}; steps ±{100 * EQUAL_COST_FRACTION:.1f} % of our dense "
                      "runs' mean stage-2 steps",
               margin_source=f"{_EQUAL_SCORE_SOURCE}; the paper's stage-2 times "
                             f"{_versus(PIXEL_LAST_GEN['stage2_time_s'])} s, which it reads as equal",
               scale=_FINAL_SCALE, scale_reason=_FINAL_REASON),
    PaperClaim("pixel_atari_competitive",
               "We evaluate our method on a language modeling task using transformers, as well as "
               "continuous and discrete vision-based reinforcement learning tasks. Our study shows that "
               f"{_ABSTRACT_COMPETITIVE}",
               "on each discrete-action pixel task, the best individual's score at the last generation is "
               "higher for the factorized variant than for dense (the paper gives no Atari numbers from "
               "which a margin for 'competitive' could be derived)", "c4_pixel_rl_scores",
               "no Atari numbers are committed (Asteroids, Frostbite, Gravitar, Kangaroo; 300 generations)",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'outperforms'",
               scale=(("Atari games run", float(len(PAPER_ATARI_GAMES))),),
               scale_reason="the claim is about the paper's Atari games (ALE); MinAtar Breakout, a 10×10 "
                            "game of 4 channels, stands in for them and no Atari game is run"),
)
PIXEL_CLAIMS_BY_KEY = {claim.key: claim for claim in PIXEL_CLAIMS}

LM_DATA = "1024 TinyStories stories, 2048-token BPE"
"""The paper's language-model data: its training texts and tokenizer."""
VOCABULARY = 2051
"""The paper's model vocabulary: the 2048-token BPE plus its special tokens."""
