"""What Lange & Sprekeler (ICML 2023) claim about lottery tickets in ES, in their own words: the
claims Study B tests, with the figure each rests on, the paper's own number where it gives one, the
margin a claim is tested with and where that margin comes from (ours labelled "ours"), and, for a
claim our default runs cannot reach, the run settings it needs."""

from __future__ import annotations

from nevolab.report import PaperClaim

DIRECTIONAL = "0 (directional)"
"""The margin of a directional claim ("higher", "lower"): none beyond the sign of the shift."""

PAPER_GAP = (0.81, 0.76, 0.37)
"""Fig. 5 (F-MNIST, ES → GD, 1.44 % kept): the transfer ≈ 0.81, GD-IMP ≈ 0.76, GD-Random ≈ 0.37 test
accuracy (originals.md, Figs. 4/5). The paper calls the 0.05 between the first two "can even outperform"."""
SAME_LEVEL_MARGIN = (PAPER_GAP[0] - PAPER_GAP[1]) / (PAPER_GAP[0] - PAPER_GAP[2])
"""The smallest gap the paper calls a difference, in a panel's normalised units: 0.05 accuracy over the
spread of that panel's three curves (0.81 − 0.37), ≈ 0.11. "The same level" and "does not beat" are
tested against it."""
_SAME_LEVEL_TEXT = f"±{SAME_LEVEL_MARGIN:.3f} of the panel's normalised range"
_NOT_ABOVE_TEXT = f"+{SAME_LEVEL_MARGIN:.3f} of the panel's normalised range"
_SAME_LEVEL_SOURCE = (f"the paper's Fig. 5: F-MNIST at 1.44 %, transfer ≈ {PAPER_GAP[0]} vs GD-IMP ≈ "
                      f"{PAPER_GAP[1]}, a gap the paper calls 'outperform', over the panel's spread down to "
                      f"GD-Random ≈ {PAPER_GAP[2]}")
CONNECTED_TEXT = "2 % test error"
CONNECTED_SOURCE = ("Frankle et al. (2020a), whose linear mode connectivity the paper follows: "
                    "connected when the error barrier is below 2 %")
_WORDING = "the paper's wording"

MODERATE_SPARSITY_TASKS = ("brax:hopper", "brax:grasp")
"""The control tasks where the paper sees ES ahead of GD already at moderate sparsity."""
STRATEGIES_PER_TASK = 2
"""Robustness "to the optimisation scheme" needs at least two ES on one task with the permutation controls."""

CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("tickets_beat_random_imp",
               "the magnitude-based lottery ticket configuration outperforms the random-reinitialization "
               "baseline across the majority of tasks, network architectures and ES combinations",
               "ES-IMP's task-normalised test performance at high sparsity (≤ 10 % of the kernels left) "
               "is higher than ES-Random's, paired by seed", "b1_ticket_curves",
               "Fig. 1 right: IMP above random at high sparsity", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'outperforms'"),
    PaperClaim("tickets_beat_random_snr", "Winning lottery tickets consistently exist for various ES.",
               "ES-SNR's normalised test performance at high sparsity is higher than ES-Random's, paired "
               "by seed", "b1_ticket_curves", "Fig. 1 right: SNR above random at high sparsity",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: winning tickets beat random ones"),
    PaperClaim("snr_beats_magnitude",
               "We find that SNR-derived tickets are consistently trainable at higher degrees of sparsity.",
               "ES-SNR's normalised test performance at high sparsity is higher than ES-IMP's, paired by "
               "seed", "b1_ticket_curves",
               "Fig. 1 right: the aggregated SNR curve ends near 0.45, IMP near 0.3", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'trainable at higher degrees of sparsity'"),
    PaperClaim("es_beats_gd_sparse",
               "we observe that ES-based methods are robustly better at training highly sparse networks.",
               "ES-SNR's normalised test performance at high sparsity is higher than GD-IMP's (Adam or "
               "PPO), paired by seed", "b2_es_vs_gd", "Fig. 1 right and Fig. 3", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'robustly better'"),
    PaperClaim("ticket_effect_simple_above_complex",
               "For the simpler classification and pendulum task the observed ticket effect is large "
               "compared to the more complex control tasks such as HalfCheetah and the Hopper task.",
               "per seed, the ticket effect (ES-SNR − ES-Random, task-normalised, at high sparsity) on the "
               "simple tasks (image classification, Pendulum) is higher than on the complex control tasks "
               "(Brax: HalfCheetah, Hopper, …), unpaired", "b1_ticket_curves", "Figs. 1 and 2",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'large compared to'",
               scale=(("complex Brax control tasks (HalfCheetah, Hopper, …)", 1),),
               scale_reason="the contrast needs at least one of the paper's complex Brax control tasks "
                            "beside the simple ones; the default runs Pendulum and 8×8 digits only"),
    PaperClaim("decomposition_robust_to_es",
               "The effect size and underlying contributions are task and network sensitive but largely "
               "robust to the optimization scheme.",
               "per task, the ticket effect's components (weights, mask positions, layerwise ratio; B3's "
               "permutation controls) measured with two ES agree within a margin", "b3_ticket_decomposition",
               "Figs. 1 and 2 (the permutation controls)", margin="none stated by the paper",
               margin_source=f"{_WORDING}: 'largely robust'",
               scale=(("ES per task with the permutation controls", STRATEGIES_PER_TASK),),
               scale_reason="robustness to the optimisation scheme needs the decomposition under at least "
                            "two ES on the same task; B1–B4 run one ES per task (the paper's for it)"),
    PaperClaim("es_beats_gd_moderate_control",
               "For the control tasks, ES can also outperform GD for moderate levels of sparsity (e.g. "
               "Hopper and Grasp tasks).",
               "on Hopper and Grasp, ES-SNR's normalised test performance over the moderately sparse "
               "rounds (pruned, more than 10 % of the kernels left) is higher than GD-IMP's (PPO), paired "
               "by seed", "b2_es_vs_gd", "Fig. 3: Hopper and Grasp", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'outperform'",
               scale=(("Hopper or Grasp tasks", 1),),
               scale_reason="the claim names Hopper and Grasp (Brax); the default runs Pendulum and 8×8 "
                            "digits only"),
)
CLAIMS_BY_KEY = {claim.key: claim for claim in CLAIMS}

_ABSTRACT_FIG6 = ("ES, unlike GD, explore diverse and flat local optima and do not preserve linear mode "
                  "connectivity across sparsity levels and independent runs.")

_TRAINED = "over the rounds where both methods are trained (seed-mean test accuracy ≥ 0.5)"

LANDSCAPE_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("es_flatter_than_gd", _ABSTRACT_FIG6,
               "the quadratic-fit curvature of the test loss along filter-normalised random directions, "
               f"averaged over directions and {_TRAINED}, is lower for ES-SNR than for GD-IMP, paired by "
               "seed",
               "b6_connectivity_flatness", "Fig. 6 (its notebook is not public; shape only)",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'flat local optima', 'unlike GD'"),
    PaperClaim("es_rounds_barrier_above_gd", _ABSTRACT_FIG6,
               f"the test-error barrier between consecutive rounds, averaged {_TRAINED}, is higher for "
               "ES-SNR than for GD-IMP, paired by seed", "b6_connectivity_flatness", "Fig. 6",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'unlike GD'"),
    PaperClaim("es_seeds_barrier_above_gd", _ABSTRACT_FIG6,
               f"the test-error barrier between two seeds at the same sparsity, averaged {_TRAINED}, is "
               "higher for ES-SNR than for GD-IMP, paired by the pair of seeds", "b6_connectivity_flatness",
               "Fig. 6", margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'unlike GD'"),
    PaperClaim("es_rounds_not_connected", _ABSTRACT_FIG6,
               f"ES-SNR's barrier between consecutive rounds, averaged {_TRAINED}, exceeds 2 % test error "
               "(Frankle et al. 2020's threshold for linear connectivity)", "b6_connectivity_flatness",
               "Fig. 6", margin=CONNECTED_TEXT, margin_source=CONNECTED_SOURCE),
    PaperClaim("gd_rounds_connected", _ABSTRACT_FIG6,
               f"GD-IMP's barrier between consecutive rounds, averaged {_TRAINED}, is below 2 % test error "
               "(non-inferiority against the threshold)", "b6_connectivity_flatness",
               "Fig. 6 (the contrast in “unlike GD”)", margin=CONNECTED_TEXT, margin_source=CONNECTED_SOURCE),
    PaperClaim("es_gd_not_connected",
               "The optima found by GD and ES are generally not linearly connectable, indicating that GD and "
               "ES find fundamentally different solutions.",
               f"the test-error barrier between ES-SNR's and GD-IMP's network of the same seed and round, "
               f"averaged {_TRAINED}, exceeds 2 % test error", "b6_connectivity_flatness",
               "Section 5, Fig. 6 (not public)", margin=CONNECTED_TEXT, margin_source=CONNECTED_SOURCE),
    PaperClaim("gd_larger_weights",
               "In general, GD-based solutions have higher magnitude weights",
               f"the mean |θ| of the kept weights, averaged {_TRAINED}, is higher for GD-IMP than for "
               "ES-SNR, paired by seed", "b6_connectivity_flatness", "SI Fig. 11", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'higher magnitude weights'"),
    PaperClaim("gd_prunes_input_less",
               "[GD-based solutions] tend to prune the input layer less.",
               f"the share of the input layer's kernels kept, averaged over the pruned rounds {_TRAINED}, "
               "is higher for GD-IMP than for ES-SNR, paired by seed", "b6_connectivity_flatness",
               "SI Fig. 11", margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'prune the input layer less'"),
    PaperClaim("gd_degradation_with_sharpness",
               "For vision-based tasks the performance degradation of GD accelerates and correlates with a "
               "strong increase in the sharpness of obtained local optima.",
               f"per seed, Spearman's ρ over the rounds {_TRAINED[5:]} between GD-IMP's test error and its "
               "curvature is above 0 (one-sided signed-rank over seeds)", "b6_connectivity_flatness",
               "Fig. 6 bottom: GD's sharpness 'increases rapidly with the sparsity level'",
               margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'correlates with a strong increase'"),
    PaperClaim("snr_correlation_falls",
               "The correlation decreases for both SNR and IMP-based pruning runs as sparsity increases.",
               "per seed, Spearman's ρ between the surviving kernels' SNR at round 0 and at round i is lower "
               "at the last round than at the first pruned one (round 1), in the SNR-pruned run; one-sided "
               "signed-rank over seeds", "b7_snr_correlation",
               "Fig. 7 (f7_s2n.ipynb's last cell; Fetch, SNES; values not public)", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'decreases'"),
    PaperClaim("magnitude_correlation_falls",
               "The correlation decreases for both SNR and IMP-based pruning runs as sparsity increases.",
               "the same for |θ| in the magnitude-pruned (ticket) run", "b7_snr_correlation", "Fig. 7",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'decreases'"),
)
LANDSCAPE_CLAIMS_BY_KEY = {claim.key: claim for claim in LANDSCAPE_CLAIMS}

_TRANSFER_SPARSE = ("at high sparsity (≤ 10 % of the kernels left), the panel-normalised test performance of "
                    "the transferred SNR ticket")
TRANSFER_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("transfer_tasks_beats_random", "Winning ES tickets can be transferred to related tasks.",
               f"{_TRANSFER_SPARSE}, trained on a related task of the same shape, is higher than that "
               "task's sparsity-matched random re-initialisation, paired by seed, pooled over panels",
               "b5_transfer", "Fig. 4 top: transfer above random on Ant (mass) and MNIST (from F-MNIST)",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'improves the performance'"),
    PaperClaim("transfer_es_beats_random", "Winning ES tickets can be transferred between ES.",
               f"{_TRANSFER_SPARSE}, trained by another ES, is higher than that ES's random "
               "re-initialisation",
               "b5_transfer", "Fig. 4 bottom: Sep-CMA-ES → DES (Ant), SNES → PGPE (F-MNIST)",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'transfer well'"),
    PaperClaim("transfer_es_matches_own",
               "Oftentimes the transferred initializations train to the same performance level of the "
               "ES-specific ticket initialization",
               f"{_TRANSFER_SPARSE}, trained by another ES, is within {SAME_LEVEL_MARGIN:.3f} "
               "(normalised) of that ES's own SNR ticket (equivalence, TOST)", "b5_transfer", "Fig. 4 bottom",
               margin=_SAME_LEVEL_TEXT, margin_source=_SAME_LEVEL_SOURCE),
    PaperClaim("transfer_gd_beats_random", "Winning ES tickets can be transferred to GD Training.",
               f"{_TRANSFER_SPARSE}, trained by gradient descent (Adam, PPO), is higher than GD on the "
               "sparsity-matched random re-initialisation", "b5_transfer",
               "Fig. 5: F-MNIST at 1.44 %: transfer ≈ 0.81, GD-Random ≈ 0.37", margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'a positive effect'"),
    PaperClaim("transfer_gd_beats_gd_ticket",
               "for very sparse networks the ES-transferred initialization can even outperform the GD-ticket",
               f"{_TRANSFER_SPARSE}, trained by gradient descent, is higher than GD-IMP's own ticket",
               "b5_transfer", "Fig. 5: F-MNIST at 1.44 %: transfer ≈ 0.81, GD-IMP ≈ 0.76; not on Ant",
               margin=DIRECTIONAL, margin_source=f"{_WORDING}: 'can even outperform'"),
    PaperClaim("transfer_tasks_not_above_own",
               "The transferred ticket does not outperform the task-native SNR-lottery ticket (at high "
               "sparsity)",
               f"{_TRANSFER_SPARSE}, trained on a related task, is not above that task's own SNR ticket by "
               f"{SAME_LEVEL_MARGIN:.3f} (normalised) or more (one-sided, non-superiority), pooled over "
               "panels",
               "b5_transfer", "Fig. 4 top", margin=_NOT_ABOVE_TEXT, margin_source=_SAME_LEVEL_SOURCE),
    PaperClaim("transfer_tracks_es_gd_gap",
               "we find that the size of the transfer effect correlates with the relative performance "
               "differences between the two paradigms.",
               "per (ES → GD panel, seed), Spearman's ρ over the rounds between the transfer effect "
               "(transfer − GD-Random) and the ES–GD gap (the source's ES-SNR − GD-IMP) is above 0 "
               "(one-sided signed-rank over pairs)", "b5_transfer", "Fig. 5 (F-MNIST and Ant)",
               margin=DIRECTIONAL,
               margin_source=f"{_WORDING}: 'correlates with'"),
)
TRANSFER_CLAIMS_BY_KEY = {claim.key: claim for claim in TRANSFER_CLAIMS}

GD_EPOCHS = 2
"""The paper's Adam epochs per round for GD-IMP (on 60,000 MNIST images)."""
