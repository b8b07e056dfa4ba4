"""One quirk at a time: which of the original code's quirks (originals.md §3.3) moves a Study A result.

For a case and an algorithm, the ablation runs the corrected code, the corrected code with exactly one
quirk switched on (for each quirk of the algorithm, see :func:`nevolab.studies.a.train.algorithm_quirks`)
and the faithful code (every quirk), all cached like every Study A run. The tables here name which
quirk flips a comparison between two algorithms, and how the quirks reorder the algorithms of a case.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from nevolab import stats
from nevolab.config import Config
from nevolab.studies.a import claims as a_claims
from nevolab.studies.a import runs
from nevolab.studies.a.cases import ALGORITHMS
from nevolab.studies.a.train import AERun, algorithm_quirks

CORRECTED = "none"  # the ``quirks`` label of the corrected code
FAITHFUL = "all"  # ... and of the faithful code


def quirk_label(run: AERun) -> str:
    """``"none"`` (corrected), the name of the run's one quirk, or ``"all"`` (faithful)."""
    if run.faithful:
        return FAITHFUL
    if len(run.quirks) > 1:
        raise ValueError(f"an ablation run has at most one quirk; got {run.quirks}")
    return run.quirks[0] if run.quirks else CORRECTED


def quirk_ablation(case: str, algorithm: str, config: Config, fresh: bool = False) -> pd.DataFrame:
    """Final losses of ``algorithm`` on ``case``: corrected, each quirk alone, faithful (a tidy table
    of :func:`nevolab.studies.a.runs.final_losses` rows with a ``quirks`` column)."""
    return pd.concat([runs.final_losses(runs.cached_run(run, fresh)).assign(quirks=quirk_label(run))
                      for run in runs.single_quirk_runs(case, algorithm, config)], ignore_index=True)


def ablation_table(config: Config, fresh: bool = False) -> pd.DataFrame:
    """:func:`quirk_ablation` of every ablation case and algorithm of an a2 config, one table."""
    return pd.concat([quirk_ablation(case, algorithm, config, fresh) for case in config.ablation_cases
                      for algorithm in config.ablation_algorithms], ignore_index=True)


def probability_lower(a: np.ndarray, b: np.ndarray) -> float:
    """P(A < B) for one draw of each (ties count one half): the common-language effect size."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(np.mean((a < b) + 0.5 * (a == b)))


def _settings(first: str, second: str) -> list[tuple[str, str, str]]:
    """(setting, quirks of ``first``, quirks of ``second``): both corrected, each quirk of either alone
    with the other corrected, both faithful."""
    return [(CORRECTED, CORRECTED, CORRECTED),
            *((quirk, quirk, CORRECTED) for quirk in algorithm_quirks(first)),
            *((quirk, CORRECTED, quirk) for quirk in algorithm_quirks(second)),
            (FAITHFUL, FAITHFUL, FAITHFUL)]


def pairwise_by_quirk(ablation: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """Per case of ``ablation`` holding both algorithms: ``first`` against ``second`` under each
    setting of :func:`_settings`, with the mean and median final loss of each, P(first < second),
    whether ``first`` is lower by mean and by median, and whether each differs from the corrected
    code's (``flips by mean``, ``flips by median``)."""
    rows = []
    for case, table in ablation.groupby("case", sort=False):
        losses = {key: group.best_loss.to_numpy() for key, group in table.groupby(["algorithm", "quirks"])}
        for setting, quirks_first, quirks_second in _settings(first, second):
            a, b = losses.get((first, quirks_first)), losses.get((second, quirks_second))
            if a is None or b is None:
                continue
            rows.append({"case": case, "quirks": setting,
                         f"{first} mean": a.mean(), f"{first} median": np.median(a),
                         f"{second} mean": b.mean(), f"{second} median": np.median(b),
                         f"P({first} < {second})": probability_lower(a, b),
                         "lower by mean": bool(a.mean() < b.mean()),
                         "lower by median": bool(np.median(a) < np.median(b))})
    pairs = pd.DataFrame(rows)
    if pairs.empty:
        return pairs
    corrected = pairs[pairs.quirks == CORRECTED].set_index("case")
    for statistic in ("mean", "median"):
        reference = pairs.case.map(corrected[f"lower by {statistic}"])
        pairs[f"flips by {statistic}"] = reference.notna() & (pairs[f"lower by {statistic}"] != reference)
    return pairs


def ranking(means: pd.Series) -> list[str]:
    """The names of ``means`` (index: algorithm), lowest mean first."""
    return list(means.sort_values(kind="stable").index)


def swapped_pairs(before: Sequence[str], after: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs (a, b), a ahead of b in ``before``, whose order ``after`` reverses."""
    position = {name: index for index, name in enumerate(after)}
    return [(a, b) for a, b in combinations(before, 2) if position[a] > position[b]]


def ranking_by_code(final: pd.DataFrame) -> pd.DataFrame:
    """Per case with both codes: the algorithms (those run under both) ranked by mean final loss,
    corrected and faithful, and the pairs the quirks swap (``final`` has a ``code`` column)."""
    rows = []
    for case, table in final.groupby("case", sort=False):
        means = table.groupby(["code", "algorithm"]).best_loss.mean().unstack("code")
        if not {"corrected", "faithful"} <= set(means.columns):
            continue
        means = means.dropna()
        corrected, faithful = ranking(means["corrected"]), ranking(means["faithful"])
        rows.append({"case": case, "corrected": corrected, "faithful": faithful,
                     "swapped": swapped_pairs(corrected, faithful)})
    return pd.DataFrame(rows, columns=["case", "corrected", "faithful", "swapped"])


def _cases_of(scope: str) -> list[str]:
    """The cases a claims-table scope reads ("case IV, de" → IV; "I → II" → I, II; "VI vs IV, ea")."""
    tokens = re.findall(r"\b(VI|IV|V|III|II|I)\b", scope)
    return list(dict.fromkeys(tokens))


def claim_ablation(claims: pd.DataFrame, config: Config, fresh: bool = False) -> pd.DataFrame:
    """Every (claim, scope) whose verdict differs between the faithful and corrected modes, re-tested
    with the corrected code plus exactly one quirk, for each quirk of the algorithms the test reads
    (every other algorithm corrected; backprop has no quirk). One row per (claim, scope, quirks), the
    corrected and faithful rows included, Holm-corrected over this diagnostic table; ``responsible``
    marks a single quirk whose verdict is the faithful one. Wall-time claims are left out: a run is
    timed once, so a quirk's effect on its time cannot be told from the timer's noise."""
    side = a_claims.modes_side_by_side(claims)
    timed = side.claim.map(a_claims.paper_key).isin(a_claims.WALL_TIME_CLAIMS)
    disagree = side[(side.agree == "no") & ~timed]
    tests, labels = [], []
    for row in disagree.itertuples():
        involved = claims[(claims.claim == row.claim) & (claims.scope == row.scope)].algorithms.iloc[0]
        algorithms = [a for a in involved.split("+") if a != "backprop"]
        quirks = list(dict.fromkeys(q for a in algorithms for q in algorithm_quirks(a)))
        cases = _cases_of(row.scope)
        loaded = involved.split("+")
        if "equal evaluations" in row.scope:  # the budget is the smallest of every bio-inspired run
            loaded = list(dict.fromkeys([*loaded, *(a for a in ALGORITHMS if a != "backprop")]))
        for setting in [CORRECTED, *quirks, FAITHFUL]:
            chosen = []
            for case in cases:
                for algorithm in loaded:
                    has_quirks = algorithm != "backprop"
                    run = runs.ae_run(case, algorithm, config, faithful=has_quirks and setting == FAITHFUL)
                    # The single quirk goes to the algorithms the test compares; the ones loaded only
                    # to set the equal-evaluation budget stay corrected.
                    if algorithm in algorithms and setting in algorithm_quirks(algorithm):
                        run = dataclasses.replace(run, quirks=(setting,))
                    chosen.append(run)
            final = a_claims.claims_input({setting: runs.curves(runs.unique_runs(chosen), fresh=fresh)})
            found = [t for t in a_claims.claim_tests(final, config.seed)[0]
                     if t.claim == row.claim and t.scope == row.scope]
            tests += found
            labels += [setting] * len(found)
    table = stats.decide(tests)
    if table.empty:
        return table.assign(quirks=[], responsible=[])
    table["quirks"] = labels
    faithful = table[table.quirks == FAITHFUL].set_index(["claim", "scope"]).verdict
    corrected = table[table.quirks == CORRECTED].set_index(["claim", "scope"]).verdict
    key = list(zip(table.claim, table.scope, strict=True))
    table["responsible"] = [q not in (CORRECTED, FAITHFUL) and v == faithful.get(k) != corrected.get(k)
                            for q, v, k in zip(table.quirks, table.verdict, key, strict=True)]
    return table
