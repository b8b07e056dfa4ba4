"""Study A's claims (Gobbi & Konotopska), tested on final losses with a computed verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nevolab.stats import claim_from_contrast, compare_lower
from nevolab.studies.a.cases import BIO_ALGORITHMS, CASES


def study_a_claims(final: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every claim of the paper, tested on final losses. Effects are differences of mean final loss
    (negative = the first-named is lower), with bootstrap 95% intervals and a computed verdict.

    Operationalisations (the paper states its claims in words):
    * "X beats Y": mean final loss of X minus that of Y is negative;
    * "the gap widens with dimension": (best bio-inspired - backprop) grows from the smaller to the
      larger case of the same family (I -> II, III -> IV, V -> VI);
    * "EA is competitive with CoSyNE on the recurrent task": EA's mean final loss is below 1.1x CoSyNE's;
    * "IDCT somewhat works on feed-forward": the IDCT variant's mean final loss is below 1.25x the direct
      one's; "... but not on recurrent": the IDCT variant is worse than the direct one;
    * "an oversized memory (h=10) does not help": h=10 is not better than h = sequence length (an
      interval above zero reproduces it, one below zero contradicts it).
    """
    cases = [case for case in CASES if case in set(final.case)]

    def losses(case: str, algorithm: str) -> np.ndarray:
        return final[(final.case == case) & (final.algorithm == algorithm)].best_loss.to_numpy(float)

    def has(case: str, *algorithms: str) -> bool:
        return all(losses(case, algorithm).size > 1 for algorithm in algorithms)

    def best_bio(case: str) -> str:
        means = {a: losses(case, a).mean() for a in BIO_ALGORITHMS if has(case, a)}
        return min(means, key=means.get)

    rows = []
    for case in cases:
        if has(case, "backprop", *BIO_ALGORITHMS):
            bio = best_bio(case)
            rows.append(compare_lower(
                f"Backprop best overall — case {case}: backprop < best bio-inspired ({bio})",
                losses(case, "backprop"), losses(case, bio), seed).row())
    for small, large in (("I", "II"), ("III", "IV"), ("V", "VI")):
        if has(small, "backprop", *BIO_ALGORITHMS) and has(large, "backprop", *BIO_ALGORITHMS):
            bio_small, bio_large = best_bio(small), best_bio(large)
            groups = {"bp_s": losses(small, "backprop"), "bio_s": losses(small, bio_small),
                      "bp_l": losses(large, "backprop"), "bio_l": losses(large, bio_large)}
            rows.append(claim_from_contrast(
                f"The gap widens with dimension — {small} -> {large}: (bio - backprop) grows",
                groups, lambda m: (m["bio_l"] - m["bp_l"]) - (m["bio_s"] - m["bp_s"]), +1, "bio_l", "bp_l",
                seed, f"best bio-inspired: {bio_small} / {bio_large}").row())
    for case in cases:
        if has(case, *BIO_ALGORITHMS):
            other = min(("de", "ea"), key=lambda a: losses(case, a).mean())
            rows.append(compare_lower(
                f"CoSyNE best of the bio-inspired — case {case}: CoSyNE < {other.upper()}",
                losses(case, "cosyne"), losses(case, other), seed).row())
    for case in cases:
        if CASES[case].kind == "ff" and has(case, "de", "ea"):
            rows.append(compare_lower(f"DE beats EA on feed-forward — case {case}: DE < EA",
                                      losses(case, "de"), losses(case, "ea"), seed).row())
        if CASES[case].kind == "lstm" and has(case, "ea", "cosyne"):
            groups = {"ea": losses(case, "ea"), "cosyne": losses(case, "cosyne")}
            rows.append(claim_from_contrast(
                f"EA competitive on recurrent — case {case}: EA < 1.1 x CoSyNE",
                groups, lambda m: m["ea"] - 1.1 * m["cosyne"], -1, "ea", "cosyne", seed).row())
    for case in cases:
        for base in BIO_ALGORITHMS:
            if not has(case, base, f"{base}_idct"):
                continue
            groups = {"idct": losses(case, f"{base}_idct"), "direct": losses(case, base)}
            if CASES[case].kind == "ff":
                rows.append(claim_from_contrast(
                    f"IDCT somewhat works on feed-forward — case {case}, {base}: IDCT < 1.25 x direct",
                    groups, lambda m: m["idct"] - 1.25 * m["direct"], -1, "idct", "direct", seed).row())
            else:
                rows.append(claim_from_contrast(
                    f"IDCT fails on recurrent — case {case}, {base}: IDCT > direct",
                    groups, lambda m: m["idct"] - m["direct"], +1, "idct", "direct", seed).row())
    for proportional, oversized in (("III", "V"), ("IV", "VI")):
        for algorithm in ("backprop", "cosyne"):
            if has(proportional, algorithm) and has(oversized, algorithm):
                groups = {"h10": losses(oversized, algorithm), "hs": losses(proportional, algorithm)}
                rows.append(claim_from_contrast(
                    f"h=10 does not help — {algorithm}, {oversized} vs {proportional}: h=10 not lower",
                    groups, lambda m: m["h10"] - m["hs"], +1, "h10", "hs", seed).row())
    if has("I", "cosyne", "backprop"):
        rows.append(compare_lower("Case I: CoSyNE beats backprop on average",
                                  losses("I", "cosyne"), losses("I", "backprop"), seed).row())
    return pd.DataFrame(rows)
