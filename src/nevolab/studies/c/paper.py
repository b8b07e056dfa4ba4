"""What Garbus & Pollack (2025) claim about low-rank factorized neuroevolution, in their own words
(the arXiv abstract): the claims Study C tests and the page each rests on."""

from __future__ import annotations

from nevolab.report import PaperClaim

CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("lm_factorized_beats_dense",
               "low-rank, factorized neuroevolution outperforms or is competitive with non-factorized "
               "neuroevolution, performing notably well on language modeling.",
               "the best individual's negative cross-entropy at the last generation is higher for the "
               "factorized variant than for dense, over seeds", "c1_lm_fitness_curves"),
    PaperClaim("factorized_beats_small",
               "We compare our approach with non-factorized networks of similar and smaller size to "
               "understand how much performance can be attributed to the smaller search space.",
               "the factorized variant's final negative cross-entropy is higher than the small dense "
               "network's", "c1_lm_fitness_curves"),
    PaperClaim("deleterious_more_often",
               "Our results also suggest deleterious factorized mutations have a stronger negative impact "
               "on performance than deleterious non-factorized mutations",
               "the fraction of children worse than their parent is higher for the factorized variant "
               "(NevoLab's reading of 'stronger impact' as frequency)", "c2_mutation_effects"),
    PaperClaim("deleterious_stronger",
               "Our results also suggest deleterious factorized mutations have a stronger negative impact "
               "on performance than deleterious non-factorized mutations",
               "the mean loss increase of deleterious children is higher for the factorized variant",
               "c2_mutation_effects"),
)
CLAIMS_BY_KEY = {claim.key: claim for claim in CLAIMS}

EQUAL_SCORE_MARGIN = 50.0
"""Racing points within which two final scores count as equal: 5 % of a clean lap's 1000, about half
the paper's seed-to-seed standard deviation of the final best score (75-95), fixed before any run."""

PIXEL_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("pixel_stage1_lower",
               "deleterious factorized mutations have a stronger negative impact on performance than "
               "deleterious non-factorized mutations",
               "at the last generation, the stage-1 mean per-episode score of the factorized variant is "
               "lower than the dense one's (racing, over seeds)", "c5_selection_stages",
               "CarRacing, generation 40: 267 ± 70 vs 474 ± 91"),
    PaperClaim("pixel_less_runtime",
               "which significantly reduces the runtime on environments with early termination for bad "
               "performers.",
               "at the last generation, stage 1 of the factorized variant takes fewer environment steps "
               "than the dense one's (the compacted rollout's time follows them)", "c5_selection_stages",
               "stage-1 evaluation time 72.9 ± 13.0 s vs 117.3 ± 23.1 s (-38 %)"),
    PaperClaim("pixel_equal_final",
               "low-rank, factorized neuroevolution outperforms or is competitive with non-factorized "
               "neuroevolution",
               "the best finalist's score at the last generation is equivalent for factorized and dense, "
               f"within ±{EQUAL_SCORE_MARGIN:.0f} points", "c4_pixel_rl_scores",
               "best finalist 798.4 ± 75.1 vs 783.5 ± 94.7 (rank-sum p = 0.82)"),
)
PIXEL_CLAIMS_BY_KEY = {claim.key: claim for claim in PIXEL_CLAIMS}

LM_DATA = "1024 TinyStories stories, 2048-token BPE"
"""The paper's language-model data: its training texts and tokenizer."""
VOCABULARY = 2051
"""The paper's model vocabulary: the 2048-token BPE plus its special tokens."""
PIXEL_STAGE1_TIME_S = {"dense": 117.3, "factorized": 72.9}
"""Stage-1 evaluation time at CarRacing's last generation, mean over 15 seeds (seconds; the original's
``last-gen-information.json``)."""
