"""Every run key a Study B page's parameters lead to, page by page (B1–B4 share theirs)."""

from __future__ import annotations

from nevolab.config import Config, RunConfig
from nevolab.studies.b import landscape_pages, runs, transfer


def run_configs(config: Config) -> list[RunConfig]:
    """The runs of ``config``'s page: B1–B4's ES and GD runs, B5's sources and targets, B6 and B7's
    landscape runs and then their measurements."""
    if config.notebook in ("b6_connectivity_flatness", "b7_snr_correlation"):
        return landscape_pages.run_configs(config)
    if config.notebook == "b5_transfer":
        return transfer.run_configs(config)
    return runs.run_configs(config)
