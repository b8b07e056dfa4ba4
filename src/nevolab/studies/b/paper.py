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
