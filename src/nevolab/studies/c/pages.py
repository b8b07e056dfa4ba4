"""Study C's pages: each page's own table through the store, the claims tables, and what a page
computes from runs before it draws (the Adam reference's budget, the embeddings' scales, the evolved
policies' episodes).

* :func:`page_table` -- the table a page stores under its own config (dispatch on ``config.notebook``);
* :func:`claims` -- the claims table a page shows rows of: C3's for C1–C3, C5's for C4 and C5, C6's own
  (the real CarRacing-v3, :mod:`nevolab.studies.c.real`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from nevolab import store
from nevolab.config import Config
from nevolab.studies.c import analysis
from nevolab.studies.c.claims import stored_claims, stored_pixel_claims, stored_real_claims
from nevolab.studies.c.lm import prepare_sequences
from nevolab.studies.c.runs import adam_run, cached_adam, runs_for_config
from nevolab.studies.c.variants import embedding_init_std, setup_variant, variant_ranks

__all__ = ["PIXEL_PAGES", "REAL_PAGE", "claims", "embedding_stds", "page_table", "policy_strips",
           "racing_stage1_rows", "vocabulary"]

PIXEL_PAGES = ("c4_pixel_rl_scores", "c5_selection_stages")
"""The pages of the pixel-RL runs (the others read the language-model runs)."""
REAL_PAGE = "c6_real_carracing"
"""The page of the real CarRacing-v3's runs (its own, :mod:`nevolab.studies.c.real`)."""


def vocabulary(config: Config) -> int:
    """The model vocabulary of the page's tokenizer."""
    return prepare_sequences(config.tokenizer, 1, 1)[1]


def _c1_table(config: Config, fresh: bool) -> tuple[pd.DataFrame, dict]:
    tokens_per_generation = config.population * config.num_sequences * config.sequence_length

    def compute() -> pd.DataFrame:
        curves, _ = runs_for_config(config, fresh=fresh)
        return analysis.c1_table(curves, cached_adam(adam_run(config), fresh=fresh), tokens_per_generation)

    return store.cached(config, compute, fresh=fresh)


def _c2_table(config: Config, fresh: bool) -> tuple[pd.DataFrame, dict]:
    return store.cached(config, lambda: runs_for_config(config, fresh=fresh)[1], fresh=fresh)


def _c4_table(config: Config, fresh: bool) -> tuple[pd.DataFrame, dict]:
    from nevolab.studies.c import pixel  # model code stays out of the language-model pages' imports

    return store.cached(config, lambda: pixel.pixel_tables(config, fresh=fresh), fresh=fresh)


def claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The claims table of the runs ``config`` reads: C6's own, C5's for the other pixel pages, else C3's."""
    if config.notebook == REAL_PAGE:
        return stored_real_claims(config, fresh)
    if config.notebook in PIXEL_PAGES:
        return stored_pixel_claims(config, fresh)
    return stored_claims(config, fresh)


PAGE_TABLES: dict[str, Callable[[Config, bool], tuple[pd.DataFrame, dict]]] = {
    "c1_lm_fitness_curves": _c1_table,
    "c2_mutation_effects": _c2_table,
    "c3_claims": claims,
    "c4_pixel_rl_scores": _c4_table,
    "c5_selection_stages": claims,
    REAL_PAGE: claims,
}
"""Each page's own stored table: C1 curves and Adam, C2 children, C4 the pixel runs; the claims pages
store their claims tables."""


def page_table(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The table ``config``'s page stores under its own key, and its provenance."""
    return PAGE_TABLES[config.notebook](config, fresh)


def racing_stage1_rows(profile: str) -> tuple[pd.DataFrame, str]:
    """C5's stored rows of the stage-1 claims on racing at ``profile`` (C5's preset) and "", or an empty
    table and one line saying why: C6 shows them beside its own and never computes them (C5's runs are
    C4's, hours at the default)."""
    from nevolab.config import resolve
    from nevolab.studies.c import real_page, spec

    c5 = resolve(spec.SPECS_BY_NAME["c5_selection_stages"], profile)
    try:
        table, _ = store.load(c5)
    except (FileNotFoundError, store.StaleResult):
        return pd.DataFrame(), (f"C5's claims table at profile {profile!r} is not stored (`.venv/bin/nevolab "
                                f"run c5_selection_stages --profile {profile}` computes it)")
    scopes = [racing for _, racing in real_page.COMPARISONS.values()]
    rows = table[table.claim.isin(real_page.STAGE1_KEYS) & table.scope.isin(scopes)]
    return rows.reset_index(drop=True), ""


def embedding_stds(config: Config, vocab_size: int) -> dict[str, float]:
    """The std of the token embedding each variant develops at initialisation."""
    overrides = {"num_blocks": config.num_blocks}
    return {variant: embedding_init_std(setup_variant(
        variant, vocab_size, config.mutation_rate, overrides,
        variant_ranks(variant, config.rank, config.embedding_rank))[1]) for variant in config.variants}


def policy_strips(results: pd.DataFrame, config: Config, task: str = "racing", seed: int = 0,
                  key_seed: int = 10_000) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per variant, one episode (on the track of ``key_seed``) of seed ``seed``'s best finalist at the
    last generation, rebuilt from its stored seed list, and that finalist's selection score. When the
    page ran no ``task`` (C4 on envpool tasks alone), its first task's."""
    import jax

    from nevolab.studies.c import pixel

    task = task if task in set(results.task) else config.tasks[0]
    runs = results[(results.task == task) & (results.seed == seed)]
    strips, scores = {}, {}
    for variant in config.variants:
        rows = runs[runs.variant == variant]
        best = rows[rows.generation == rows.generation.max()].iloc[0]
        run = pixel.pixel_run(task, variant, seed, config)
        strips[variant] = pixel.best_policy_strip(run, best.best_seeds, jax.random.PRNGKey(key_seed))
        scores[variant] = best.best_score
    return strips, scores
