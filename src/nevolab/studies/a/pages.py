"""Study A's pages through the results store: each page's own table, the claims table, and the cached
runs a page reads beside them."""

from __future__ import annotations

import pandas as pd

from nevolab import report, store
from nevolab.config import Config, resolve
from nevolab.studies.a import claims as a_claims
from nevolab.studies.a import runs
from nevolab.studies.a.spec import SPECS

COMPUTE_BUDGET_MIN = 90.0
"""Study A's default budget on a 2-core CPU: the runs of A1–A3 together (each run is counted once)."""


def page_table(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The page's own table and its provenance: A1's loss curves, A2's final losses by code, A3's
    claims table."""
    if config.notebook == "a1_min_loss_curves":
        return store.cached(config, lambda: runs.curves(runs.run_configs(config), fresh=fresh), fresh=fresh)
    if config.notebook == "a2_final_losses":
        return store.cached(config, lambda: runs.final_losses_by_code(config, fresh=fresh), fresh=fresh)
    if config.notebook == "a3_claims":
        return claims(config, fresh)
    raise ValueError(f"{config.notebook!r} is not a Study A page")


def claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """A3's claims table for the scale parameters of any Study A page's ``config``, through the store."""
    return a_claims.stored_claims(config, fresh=fresh)


def code_curves(config: Config) -> pd.DataFrame | None:
    """A2's bio-inspired runs as loss curves with a ``code`` column: corrected on every case, faithful
    on the quirk cases (None when there are none). Read from the store: the page table computed them."""
    code_runs = [run for run in runs.run_configs(config) if not run.quirks and run.algorithm != "backprop"
                 and run.algorithm in config.algorithms
                 and (run.case in config.quirk_cases if run.faithful else run.case in config.cases)]
    if not code_runs:
        return None
    return pd.concat([runs.cached_run(run).assign(code="faithful" if run.faithful else "corrected")
                      for run in code_runs], ignore_index=True)


def case_one_finals(config: Config, algorithms: tuple[str, ...] = ("backprop", "cosyne")) -> pd.DataFrame:
    """Final losses of ``algorithms`` on Case I (corrected) at ``config``'s scale."""
    return runs.final_losses(runs.curves([runs.ae_run("I", a, config) for a in algorithms]))


def study_runs(config: Config) -> list:
    """Every run of Study A's pages at ``config``'s profile, each once (A1's with ``config``'s own values)."""
    configs = [config if spec.name == config.notebook else resolve(spec, config.profile) for spec in SPECS]
    unique = {run.hash(): run for page in configs for run in runs.run_configs(page)}
    return list(unique.values())


def budget_sentence(config: Config) -> str:
    """Study A's compute at ``config``'s profile against :data:`COMPUTE_BUDGET_MIN`, in one sentence."""
    study = study_runs(config)
    what = f"Study A's {len(study)} runs (A1–A3, profile {config.profile})"
    return report.budget_sentence(store.compute_records(study), COMPUTE_BUDGET_MIN, what, len(study))
