"""What Lange & Sprekeler (ICML 2023) claim about lottery tickets in ES, in their own words: the
claims Study B tests, with the figure each rests on and the paper's own number where it gives one."""

from __future__ import annotations

from nevolab.report import PaperClaim

CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("tickets_beat_random_imp",
               "the magnitude-based lottery ticket configuration outperforms the random-reinitialization "
               "baseline across the majority of tasks, network architectures and ES combinations",
               "ES-IMP's task-normalised test performance at high sparsity (≤ 10 % of the kernels left) "
               "is higher than ES-Random's, paired by seed", "b1_ticket_curves",
               "Fig. 1 right: IMP above random at high sparsity"),
    PaperClaim("tickets_beat_random_snr", "Winning lottery tickets consistently exist for various ES.",
               "ES-SNR's normalised test performance at high sparsity is higher than ES-Random's, paired "
               "by seed", "b1_ticket_curves", "Fig. 1 right: SNR above random at high sparsity"),
    PaperClaim("snr_beats_magnitude",
               "We find that SNR-derived tickets are consistently trainable at higher degrees of sparsity.",
               "ES-SNR's normalised test performance at high sparsity is higher than ES-IMP's, paired by "
               "seed", "b1_ticket_curves",
               "Fig. 1 right: the aggregated SNR curve ends near 0.45, IMP near 0.3"),
    PaperClaim("es_beats_gd_sparse",
               "we observe that ES-based methods are robustly better at training highly sparse networks.",
               "ES-SNR's normalised test performance at high sparsity is higher than GD-IMP's (Adam or "
               "PPO), paired by seed", "b2_es_vs_gd", "Fig. 1 right and Fig. 3"),
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
               "b6_connectivity_flatness", "Fig. 6 (its notebook is not public; shape only)"),
    PaperClaim("es_rounds_barrier_above_gd", _ABSTRACT_FIG6,
               f"the test-error barrier between consecutive rounds, averaged {_TRAINED}, is higher for "
               "ES-SNR than for GD-IMP, paired by seed", "b6_connectivity_flatness", "Fig. 6"),
    PaperClaim("es_seeds_barrier_above_gd", _ABSTRACT_FIG6,
               f"the test-error barrier between two seeds at the same sparsity, averaged {_TRAINED}, is "
               "higher for ES-SNR than for GD-IMP, paired by the pair of seeds", "b6_connectivity_flatness",
               "Fig. 6"),
    PaperClaim("es_rounds_not_connected", _ABSTRACT_FIG6,
               f"ES-SNR's barrier between consecutive rounds, averaged {_TRAINED}, exceeds 2 % test error "
               "(Frankle et al. 2020's threshold for linear connectivity)", "b6_connectivity_flatness",
               "Fig. 6"),
    PaperClaim("gd_rounds_connected", _ABSTRACT_FIG6,
               f"GD-IMP's barrier between consecutive rounds, averaged {_TRAINED}, is below 2 % test error "
               "(non-inferiority against the threshold)", "b6_connectivity_flatness",
               "Fig. 6 (the contrast in “unlike GD”)"),
    PaperClaim("snr_ranks_stable",
               "Fig. 7: a kernel's SNR at IMP iteration 1 is rank-correlated with its SNR at later "
               "iterations, for the kernels that survive to the last iteration",
               "per seed, Spearman's ρ between the surviving kernels' SNR at round 0 and at each later "
               "round, averaged over rounds, exceeds 0.5", "b7_snr_correlation",
               "Fig. 7 (f7_s2n.ipynb's last cell; Fetch, SNES; values not public)"),
    PaperClaim("magnitude_ranks_stable",
               "Fig. 7: the same for |θ| in the magnitude-pruned (ticket) run",
               "per seed, Spearman's ρ between the surviving kernels' |θ| at round 0 and at each later "
               "round, averaged over rounds, exceeds 0.5", "b7_snr_correlation", "Fig. 7"),
)
LANDSCAPE_CLAIMS_BY_KEY = {claim.key: claim for claim in LANDSCAPE_CLAIMS}

_TRANSFER_SPARSE = ("at high sparsity (≤ 10 % of the kernels left), the panel-normalised test performance of "
                    "the transferred SNR ticket")
TRANSFER_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("transfer_tasks_beats_random", "Winning ES tickets can be transferred to related tasks.",
               f"{_TRANSFER_SPARSE}, trained on a related task of the same shape, is higher than that "
               "task's sparsity-matched random re-initialisation, paired by seed, pooled over panels",
               "b5_transfer", "Fig. 4 top: transfer above random on Ant (mass) and MNIST (from F-MNIST)"),
    PaperClaim("transfer_es_beats_random", "Winning ES tickets can be transferred between ES.",
               f"{_TRANSFER_SPARSE}, trained by another ES, is higher than that ES's random "
               "re-initialisation",
               "b5_transfer", "Fig. 4 bottom: Sep-CMA-ES → DES (Ant), SNES → PGPE (F-MNIST)"),
    PaperClaim("transfer_es_matches_own",
               "Oftentimes the transferred initializations train to the same performance level of the "
               "ES-specific ticket initialization",
               f"{_TRANSFER_SPARSE}, trained by another ES, is within 0.1 (normalised) of that ES's own SNR "
               "ticket (equivalence, TOST)", "b5_transfer", "Fig. 4 bottom"),
    PaperClaim("transfer_gd_beats_random", "Winning ES tickets can be transferred to GD Training.",
               f"{_TRANSFER_SPARSE}, trained by gradient descent (Adam, PPO), is higher than GD on the "
               "sparsity-matched random re-initialisation", "b5_transfer",
               "Fig. 5: F-MNIST at 1.44 %: transfer ≈ 0.81, GD-Random ≈ 0.37"),
    PaperClaim("transfer_gd_beats_gd_ticket",
               "for very sparse networks the ES-transferred initialization can even outperform the GD-ticket",
               f"{_TRANSFER_SPARSE}, trained by gradient descent, is higher than GD-IMP's own ticket",
               "b5_transfer", "Fig. 5: F-MNIST at 1.44 %: transfer ≈ 0.81, GD-IMP ≈ 0.76; not on Ant"),
)
TRANSFER_CLAIMS_BY_KEY = {claim.key: claim for claim in TRANSFER_CLAIMS}

GD_EPOCHS = 2
"""The paper's Adam epochs per round for GD-IMP (on 60,000 MNIST images)."""
