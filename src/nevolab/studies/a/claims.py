"""Study A's claims (Gobbi & Konotopska), tested on final losses by the verdict rule of
:mod:`nevolab.stats`, under both modes: ``faithful`` (the original code's quirks) and ``corrected``.

The paper's sentences, the operationalisations and the margins are in :mod:`nevolab.studies.a.paper`.
Every comparison is rank-based (Hodges–Lehmann shift of final loss, negative = the first-named is
lower): on the LSTM cases most runs sit at a loss floor and a few outliers would decide a mean.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from nevolab import stats, store
from nevolab.config import Config
from nevolab.studies.a import paper
from nevolab.studies.a.cases import BIO_ALGORITHMS, CASES

MODES = ("faithful", "corrected")
MARGIN_CLAIMS = ("ea_competitive_lstm", "idct_works_ff", "h10_no_benefit")
"""The claims that say two things are alike, each with a margin from the paper's own figure."""


class _Losses:
    """Final losses of one mode and budget, looked up by case and algorithm."""

    def __init__(self, final: pd.DataFrame):
        self.groups = {key: group.best_loss.to_numpy(float)
                       for key, group in final.groupby(["case", "algorithm"])}

    def __call__(self, case: str, algorithm: str) -> np.ndarray:
        return self.groups.get((case, algorithm), np.empty(0))

    def has(self, case: str, *algorithms: str) -> bool:
        return all(self(case, algorithm).size > 1 for algorithm in algorithms)

    def best_of(self, case: str, algorithms: tuple[str, ...]) -> str:
        medians = {a: float(np.median(self(case, a))) for a in algorithms if self.has(case, a)}
        return min(medians, key=medians.get)


def _claims_of_one_mode(losses: _Losses, cases: list[str], budget: str, seed: int,
                        ) -> Iterator[tuple[str, str, dict]]:
    """(claim key, scope, keyword arguments of :func:`stats.assess_claim` / ``assess_contrast``)."""
    on_evaluations = budget == "evaluations"
    if not on_evaluations:
        for case in cases:
            if case != "I" and losses.has(case, "backprop", *BIO_ALGORITHMS):
                bio = losses.best_of(case, BIO_ALGORITHMS)
                yield "backprop_best", f"case {case}", {
                    "a": losses(case, "backprop"), "b": losses(case, bio), "expected": "lower",
                    "algorithms": ("backprop", *BIO_ALGORITHMS),
                    "detail": f"backprop vs the best bio-inspired ({bio})"}
        for small, large in (("I", "II"), ("III", "IV"), ("V", "VI")):
            if all(losses.has(c, "backprop", *BIO_ALGORITHMS) for c in (small, large)):
                bio_s, bio_l = losses.best_of(small, BIO_ALGORITHMS), losses.best_of(large, BIO_ALGORITHMS)
                yield "gap_widens", f"{small} → {large}", {
                    "groups": {"bp_s": losses(small, "backprop"), "bio_s": losses(small, bio_s),
                               "bp_l": losses(large, "backprop"), "bio_l": losses(large, bio_l)},
                    "contrast": lambda m: (m["bio_l"] - m["bp_l"]) - (m["bio_s"] - m["bp_s"]),
                    "expected": "higher", "detail": f"best bio-inspired: {bio_s} / {bio_l}",
                    "algorithms": ("backprop", *BIO_ALGORITHMS)}
        if losses.has("I", "cosyne", "backprop"):
            yield "cosyne_beats_backprop_case1", "case I", {
                "a": losses("I", "cosyne"), "b": losses("I", "backprop"), "expected": "lower",
                "algorithms": ("backprop", "cosyne")}
    suffix = ", equal evaluations" if on_evaluations else ""
    for case in cases:
        if losses.has(case, *BIO_ALGORITHMS):
            other = losses.best_of(case, ("de", "ea"))
            yield "cosyne_best_bio", f"case {case}{suffix}", {
                "a": losses(case, "cosyne"), "b": losses(case, other), "expected": "lower",
                "detail": f"CoSyNE vs the better of DE and EA ({other})", "algorithms": BIO_ALGORITHMS}
        if CASES[case].kind == "ff" and losses.has(case, "de", "ea"):
            yield "de_beats_ea_ff", f"case {case}{suffix}", {
                "a": losses(case, "de"), "b": losses(case, "ea"), "expected": "lower",
                "algorithms": ("de", "ea")}
        if CASES[case].kind == "lstm" and losses.has(case, "ea", "cosyne"):
            yield "ea_competitive_lstm", f"case {case}{suffix}", {
                "a": losses(case, "ea"), "b": losses(case, "cosyne"), "expected": "not_higher",
                "margin": paper.margin("ea_competitive_lstm"), "algorithms": ("ea", "cosyne")}
    if on_evaluations:
        return
    for case in cases:
        for base in BIO_ALGORITHMS:
            if not losses.has(case, base, f"{base}_idct"):
                continue
            pair = {"a": losses(case, f"{base}_idct"), "b": losses(case, base), "detail": f"{base}",
                    "algorithms": (base, f"{base}_idct")}
            if CASES[case].kind == "ff":
                yield "idct_works_ff", f"case {case}, {base}", {
                    **pair, "expected": "not_higher", "margin": paper.margin("idct_works_ff")}
            else:
                yield "idct_fails_lstm", f"case {case}, {base}", {**pair, "expected": "higher"}
    for proportional, oversized in (("III", "V"), ("IV", "VI")):
        for algorithm in ("backprop", *BIO_ALGORITHMS):
            if losses.has(proportional, algorithm) and losses.has(oversized, algorithm):
                yield "h10_no_benefit", f"{oversized} vs {proportional}, {algorithm}", {
                    "a": losses(oversized, algorithm), "b": losses(proportional, algorithm),
                    "expected": "not_lower", "margin": paper.margin("h10_no_benefit"),
                    "algorithms": (algorithm,)}


def claim_tests(final: pd.DataFrame, seed: int = 0) -> tuple[list[stats.ClaimTest], list[str]]:
    """Every claim on every case, mode and budget present in ``final`` (columns case, algorithm,
    best_loss, mode, budget; see :func:`claims_input`), before Holm; and, per test, the algorithms
    whose runs it reads (joined by "+")."""
    tests, involved = [], []
    for (mode, budget), subset in final.groupby(["mode", "budget"], sort=False):
        losses = _Losses(subset)
        cases = [case for case in CASES if case in set(subset.case)]
        for key, scope, arguments in _claims_of_one_mode(losses, cases, budget, seed):
            involved.append("+".join(arguments.pop("algorithms")))
            if "groups" in arguments:
                tests.append(stats.assess_contrast(key, scope=scope, mode=mode, seed=seed, **arguments))
            else:
                tests.append(stats.assess_claim(key, scope=scope, mode=mode, seed=seed, **arguments))
    return tests, involved


def study_a_claims(final: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first): one row per claim,
    scope and mode, Holm-corrected over the page, with the paper's sentence and the algorithms each
    test reads beside each claim."""
    tests, involved = claim_tests(final, seed)
    table = stats.decide(tests)
    table["algorithms"] = involved
    table["sentence"] = table.claim.map(lambda key: paper.CLAIMS_BY_KEY[key].sentence)
    return table


def modes_side_by_side(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim and scope with the verdict under each mode and whether they agree."""
    wide = claims.pivot_table(index=["claim", "scope"], columns="mode", values="verdict",
                              aggfunc="first").reindex(columns=list(MODES))
    missing = wide[list(MODES)].isna().any(axis=1)
    wide["agree"] = np.where(missing, "–", np.where(wide["faithful"] == wide["corrected"], "yes", "no"))
    return wide.fillna("–").reset_index()


def claims_input(curves_by_mode: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The table :func:`claim_tests` reads: final losses per mode at equal generations (the end of
    every run) and, per case, at equal network evaluations (the smallest total any algorithm of the
    case spends). Backprop has no quirk, so the faithful mode borrows its corrected runs."""
    from nevolab.studies.a import runs  # the running layer stays out of the pure claims code

    frames = []
    backprop = pd.concat([curves[curves.algorithm == "backprop"] for curves in curves_by_mode.values()])
    backprop = backprop.drop_duplicates(["case", "repeat", "generation"])
    for mode, curves in curves_by_mode.items():
        curves = pd.concat([curves[curves.algorithm != "backprop"], backprop], ignore_index=True)
        frames.append(runs.final_losses(curves).assign(mode=mode, budget="generations"))
        bio = curves[curves.algorithm != "backprop"]
        for case, subset in bio.groupby("case"):
            budget = runs.equal_evaluation_budget(subset, case)
            frames.append(runs.losses_at_evaluations(subset, budget).assign(mode=mode, budget="evaluations"))
    return pd.concat(frames, ignore_index=True)


def stored_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """A3's claims table for the scale parameters of any Study A page's ``config``, through the store:
    A1 shows rows of this one table, so a claim's numbers are the same on every page."""
    from nevolab.studies.a import runs, spec  # the running layer stays out of the pure claims code

    def compute(claims_config: Config) -> pd.DataFrame:
        all_runs = runs.run_configs(claims_config)
        curves_by_mode = {
            mode: runs.curves([run for run in all_runs
                               if run.faithful == (mode == "faithful") or run.algorithm == "backprop"],
                              fresh=fresh)
            for mode in claims_config.modes}
        return study_a_claims(claims_input(curves_by_mode), seed=claims_config.seed)

    return store.stored_claims(spec.SPECS_BY_NAME["a3_claims"], config, compute, fresh)
