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
