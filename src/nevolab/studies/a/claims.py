"""Study A's claims (Gobbi & Konotopska), tested on final losses and wall times by the verdict rule
of :mod:`nevolab.stats`, under both modes: ``faithful`` (the original code's quirks) and
``corrected``.

The paper's sentences, the operationalisations and the margins are in :mod:`nevolab.studies.a.paper`.
Every comparison is rank-based (Hodges–Lehmann shift of final loss, negative = the first-named is
lower): on the LSTM cases most runs sit at a loss floor and a few outliers would decide a mean.
A "no difference" margin is on the case's scale: the paper's relative gap times our median loss of
the reference in the case (:func:`case_margin`). A row whose two medians both lie under
:data:`FLOOR` is decided at the loss floor and says so (``detail``, and the ``at_floor`` column).
Wall-time claims read one measured time per run (a compiled run, median of three), paired within a
case (the algorithms of one case share a machine).
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
MARGIN_CLAIMS = paper.MARGIN_CLAIMS
"""The claims that say two things are alike, each with a margin from the paper's own figure."""
WALL_TIME_CLAIMS = ("bio_slower_wall_time", "idct_slower_ff", "cosyne_early")
"""Claims read (partly) from wall times: one timing per run, so the quirk ablation leaves them out."""
FLOOR = 1e-3
"""A loss under this is at the floor of the LSTM cases: a row whose two medians both lie under it is
decided at the loss floor, where the shift is a difference of near-zero losses."""
FLOOR_NOTE = f"at the loss floor (both medians < {FLOOR:g})"
MARGIN_FLOOR = 1e-7
"""The smallest margin: a cross-entropy under 1e-7 is float32 rounding, so a case whose reference
median is 0 still gets a positive δ (the loss's resolution)."""
WALL_TIME = "backprop's wall time"
"""The budget label of losses read when backprop has consumed its batches (claim cosyne_early)."""
DIRECT_IDCT = tuple((base, f"{base}_idct") for base in BIO_ALGORITHMS)
IDCT_ALGORITHMS = tuple(idct for _, idct in DIRECT_IDCT)
NOT_SCALE_VARIANCE = ("no run decides it: the paper states no size at which variance is a problem and its "
                      "Fig. 1 bands cannot be read to a number, so only a threshold of ours could")
"""Why the "variance is a problem" rows are not tested (it follows "the run is below the claim's
scale:" in the verdict's reason)."""


def case_margin(key: str, reference: np.ndarray) -> float:
    """The margin δ of "no difference" claim ``key`` on one case: the paper's relative gap
    (:func:`paper.relative_margin`) times our median loss of the ``reference`` sample, at least
    :data:`MARGIN_FLOOR`."""
    ratio, _ = paper.relative_margin(key)
    return float(max(ratio * float(np.median(reference)), MARGIN_FLOOR))


def at_floor(*samples: np.ndarray) -> bool:
    """Whether every sample's median lies under :data:`FLOOR`."""
    return all(float(np.median(sample)) < FLOOR for sample in samples)


def _with_floor(detail: str, *samples: np.ndarray) -> str:
    """``detail`` with :data:`FLOOR_NOTE` appended when the samples sit at the loss floor."""
    if not at_floor(*samples):
        return detail
    return f"{detail}; {FLOOR_NOTE}" if detail else FLOOR_NOTE


def coefficient_of_variation(values: np.ndarray) -> float:
    """Standard deviation over mean (0 when the mean is 0)."""
    values = np.asarray(values, float)
    mean = float(values.mean())
    return float(values.std(ddof=1) / mean) if mean > 0 and values.size > 1 else 0.0


class _Losses:
    """Final losses (and the wall time of one run) of one mode and budget, by case and algorithm."""

    def __init__(self, final: pd.DataFrame):
        grouped = final.groupby(["case", "algorithm"])
        self.groups = {key: group.best_loss.to_numpy(float) for key, group in grouped}
        self.times = ({key: float(group.run_time_s.iloc[0]) for key, group in grouped}
                      if "run_time_s" in final else {})
        self.reached = ({key: float(group.generation.median()) for key, group in grouped}
                        if "generation" in final else {})

    def __call__(self, case: str, algorithm: str) -> np.ndarray:
        return self.groups.get((case, algorithm), np.empty(0))

    def has(self, case: str, *algorithms: str) -> bool:
        return all(self(case, algorithm).size > 1 for algorithm in algorithms)

    def timed(self, case: str, *algorithms: str) -> bool:
        return all(np.isfinite(self.times.get((case, a), np.nan)) and self.times[(case, a)] > 0
                   for a in algorithms)

    def best_of(self, case: str, algorithms: tuple[str, ...]) -> str:
        medians = {a: float(np.median(self(case, a))) for a in algorithms if self.has(case, a)}
        return min(medians, key=medians.get)


def _pair(losses: _Losses, case: str, first: str, second: str, detail: str = "") -> dict:
    """Keyword arguments of :func:`stats.assess_claim` for ``first`` against ``second`` on ``case``."""
    a, b = losses(case, first), losses(case, second)
    return {"a": a, "b": b, "detail": _with_floor(detail, a, b)}


def _time_ratios(losses: _Losses, pairs: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """log₂ wall times of (case, slower-claimed, reference) pairs, as paired samples."""
    a = np.log2([losses.times[(case, first)] for case, first, _ in pairs])
    b = np.log2([losses.times[(case, second)] for case, _, second in pairs])
    return a, b


def _final_claims(losses: _Losses, cases: list[str]) -> Iterator[tuple[str, str, dict]]:
    """The claims on final losses at equal generations (every run's end)."""
    for case in cases:
        if case != "I" and losses.has(case, "backprop", *BIO_ALGORITHMS):
            bio = losses.best_of(case, BIO_ALGORITHMS)
            yield "backprop_best", f"case {case}", {
                **_pair(losses, case, "backprop", bio, f"backprop vs the best bio-inspired ({bio})"),
                "expected": "lower", "algorithms": ("backprop", *BIO_ALGORITHMS)}
    for small, large in (("I", "II"), ("III", "IV"), ("V", "VI")):
        if all(losses.has(c, "backprop", *BIO_ALGORITHMS) for c in (small, large)):
            bio_s, bio_l = losses.best_of(small, BIO_ALGORITHMS), losses.best_of(large, BIO_ALGORITHMS)
            groups = {"bp_s": losses(small, "backprop"), "bio_s": losses(small, bio_s),
                      "bp_l": losses(large, "backprop"), "bio_l": losses(large, bio_l)}
            yield "gap_widens", f"{small} → {large}", {
                "groups": groups,
                "contrast": lambda m: (m["bio_l"] - m["bp_l"]) - (m["bio_s"] - m["bp_s"]),
                "expected": "higher",
                "detail": _with_floor(f"best bio-inspired: {bio_s} / {bio_l}", *groups.values()),
                "algorithms": ("backprop", *BIO_ALGORITHMS)}
    if losses.has("I", "cosyne", "backprop"):
        yield "cosyne_beats_backprop_case1", "case I", {
            **_pair(losses, "I", "cosyne", "backprop"), "expected": "lower",
            "algorithms": ("backprop", "cosyne")}
    for case in cases:
        for base, idct in DIRECT_IDCT:
            if not losses.has(case, base, idct):
                continue
            pair = {**_pair(losses, case, idct, base, base), "algorithms": (base, idct)}
            if CASES[case].kind == "ff":
                yield "idct_works_ff", f"case {case}, {base}", {
                    **pair, "expected": "not_higher", "margin": case_margin("idct_works_ff", pair["b"])}
            else:
                yield "idct_fails_lstm", f"case {case}, {base}", {**pair, "expected": "higher"}
    for proportional, oversized in (("III", "V"), ("IV", "VI")):
        for algorithm in ("backprop", *BIO_ALGORITHMS):
            if losses.has(proportional, algorithm) and losses.has(oversized, algorithm):
                a, b = losses(oversized, algorithm), losses(proportional, algorithm)
                yield "h10_no_benefit", f"{oversized} vs {proportional}, {algorithm}", {
                    "a": a, "b": b, "detail": _with_floor("", a, b), "expected": "equivalent",
                    "margin": case_margin("h10_no_benefit", b), "algorithms": (algorithm,)}
    yield from _spread_claims(losses, cases)
    yield from _wall_time_claims(losses, cases)


def _spread_claims(losses: _Losses, cases: list[str]) -> Iterator[tuple[str, str, dict]]:
    """A.11: the spread of final losses on the feed-forward cases."""
    if losses.has("I", "backprop", "cosyne"):
        backprop, cosyne = losses("I", "backprop"), losses("I", "cosyne")
        yield "backprop_variance_below_cosyne", "case I", {
            "a": np.abs(backprop - np.median(backprop)), "b": np.abs(cosyne - np.median(cosyne)),
            "expected": "lower", "algorithms": ("backprop", "cosyne"),
            "detail": (f"absolute deviations from each median; standard deviation {backprop.std(ddof=1):.3g} "
                       f"(backprop) vs {cosyne.std(ddof=1):.3g} (CoSyNE)")}
    for case in cases:
        present = [a for a in ("backprop", *BIO_ALGORITHMS, *IDCT_ALGORITHMS) if losses.has(case, a)]
        if CASES[case].kind != "ff" or len(present) < 2:
            continue
        spread = np.array([coefficient_of_variation(losses(case, a)) for a in present])
        yield "variance_problem_ff", f"case {case}", {
            "a": spread, "b": np.zeros_like(spread), "paired": True, "expected": "higher",
            "algorithms": tuple(present), "below_scale": NOT_SCALE_VARIANCE,
            "detail": "coefficient of variation of final loss: " + ", ".join(
                f"{a} {value:.1%}" for a, value in zip(present, spread, strict=True))}


def _wall_time_claims(losses: _Losses, cases: list[str]) -> Iterator[tuple[str, str, dict]]:
    """A.8 and A.10: wall times of whole runs, paired within a case, as log₂ ratios."""
    slower = [(case, bio, "backprop") for case in cases for bio in (*BIO_ALGORITHMS, *IDCT_ALGORITHMS)
              if losses.has(case, bio, "backprop") and losses.timed(case, bio, "backprop")]
    if slower:
        a, b = _time_ratios(losses, slower)
        used = tuple(dict.fromkeys(["backprop", *(bio for _, bio, _ in slower)]))
        scope = f"cases {', '.join(dict.fromkeys(c for c, _, _ in slower))}"
        what = (f"log₂ wall-time ratio over {len(slower)} (case, algorithm) pairs; median ratio "
                f"{float(np.median(2.0 ** (a - b))):.2g}")
        yield "bio_slower_wall_time", scope, {"a": a, "b": b, "paired": True, "expected": "higher",
                                              "algorithms": used, "detail": what}
        much = float(np.log2(paper.OURS_MUCH_SLOWER))
        yield next(iter(paper.EXTRA_ROWS)), scope, {
            "a": a - much, "b": b, "paired": True, "expected": "higher", "algorithms": used,
            "detail": f"{what}; shift of log₂ ratio above log₂ {paper.OURS_MUCH_SLOWER:g}"}
    idct = [(case, i, base) for case in cases if CASES[case].kind == "ff" for base, i in DIRECT_IDCT
            if losses.has(case, base, i) and losses.timed(case, base, i)]
    if idct:
        a, b = _time_ratios(losses, idct)
        yield "idct_slower_ff", f"cases {', '.join(dict.fromkeys(c for c, _, _ in idct))}", {
            "a": a, "b": b, "paired": True, "expected": "higher",
            "algorithms": tuple(dict.fromkeys(x for _, i, base in idct for x in (base, i))),
            "detail": (f"log₂ wall-time ratio IDCT / direct over {len(idct)} (case, algorithm) pairs; median "
                       f"ratio {float(np.median(2.0 ** (a - b))):.2g}")}


def _early_claims(losses: _Losses, cases: list[str]) -> Iterator[tuple[str, str, dict]]:
    """A.9: CoSyNE's min loss when backprop has consumed its batches (budget :data:`WALL_TIME`), where
    CoSyNE has had a fraction of its own; not tested where our CoSyNE is not slower than backprop."""
    for case, expected in (("I", "lower"), ("II", "higher")):
        if (case not in cases or not losses.has(case, "cosyne", "backprop")
                or not losses.timed(case, "cosyne", "backprop")):
            continue
        a, b = losses(case, "cosyne"), losses(case, "backprop")
        time_cosyne, time_backprop = losses.times[(case, "cosyne")], losses.times[(case, "backprop")]
        generations = losses.reached[(case, "backprop")]
        share = losses.reached[(case, "cosyne")] / generations
        detail = (f"CoSyNE at {share:.0%} of its batches when backprop has consumed all "
                  f"(one run: {time_cosyne:.3g} s vs {time_backprop:.3g} s)")
        below = "" if time_cosyne > time_backprop else (
            "the claim needs CoSyNE slower than backprop (a fraction of its batches at backprop's time); "
            f"ours is not on case {case} ({time_cosyne:.3g} s vs {time_backprop:.3g} s a run)")
        arguments = {"a": a, "b": b, "algorithms": ("backprop", "cosyne"), "below_scale": below}
        yield "cosyne_early", f"case {case}, {WALL_TIME}", {
            **arguments, "expected": expected, "detail": _with_floor(detail, a, b)}
        if case == "II":
            yield "cosyne_early, ours: limitedly", f"case {case}, {WALL_TIME}", {
                **arguments, "expected": "not_higher", "detail": _with_floor(detail, a, b),
                "margin": float(max(paper.OURS_LIMITEDLY * np.median(b), MARGIN_FLOOR))}


def _claims_of_one_mode(losses: _Losses, cases: list[str], budget: str, seed: int,
                        ) -> Iterator[tuple[str, str, dict]]:
    """(claim key, scope, keyword arguments of :func:`stats.assess_claim` / ``assess_contrast``)."""
    if budget == WALL_TIME:
        yield from _early_claims(losses, cases)
        return
    on_evaluations = budget == "evaluations"
    if not on_evaluations:
        yield from _final_claims(losses, cases)
    suffix = ", equal evaluations" if on_evaluations else ""
    for case in cases:
        if losses.has(case, *BIO_ALGORITHMS):
            other = losses.best_of(case, ("de", "ea"))
            yield "cosyne_best_bio", f"case {case}{suffix}", {
                **_pair(losses, case, "cosyne", other, f"CoSyNE vs the better of DE and EA ({other})"),
                "expected": "lower", "algorithms": BIO_ALGORITHMS}
        if CASES[case].kind == "ff" and losses.has(case, "de", "ea"):
            yield "de_beats_ea_ff", f"case {case}{suffix}", {
                **_pair(losses, case, "de", "ea"), "expected": "lower", "algorithms": ("de", "ea")}
        if CASES[case].kind == "lstm" and losses.has(case, "ea", "cosyne"):
            pair = _pair(losses, case, "ea", "cosyne")
            yield "ea_competitive_lstm", f"case {case}{suffix}", {
                **pair, "expected": "not_higher", "margin": case_margin("ea_competitive_lstm", pair["b"]),
                "algorithms": ("ea", "cosyne")}


def paper_key(key: str) -> str:
    """The paper's claim a claims-table key tests (an extra row's: the claim it qualifies)."""
    return paper.EXTRA_ROWS[key][0] if key in paper.EXTRA_ROWS else key


def claim_tests(final: pd.DataFrame, seed: int = 0, generations: int | None = None,
                ) -> tuple[list[stats.ClaimTest], list[str]]:
    """Every claim on every case, mode and budget present in ``final`` (columns case, algorithm,
    best_loss, mode, budget, and run_time_s and generation where present; see :func:`claims_input`),
    before Holm; and, per test, the algorithms whose runs it reads (joined by "+"). ``generations``
    (default: the longest run in ``final``; at scale when unknown) is held against each claim's
    :attr:`~nevolab.report.PaperClaim.scale`: below it, a row is ``not tested at scale``, and a
    wall-time claim is left out (the timing of a short run is overhead and noise, so a page recomputed
    from the same runs on another day would not reproduce it)."""
    if generations is None and "generation" in final:
        generations = int(final[final.budget == "generations"].generation.max())
    tests, involved = [], []
    for (mode, budget), subset in final.groupby(["mode", "budget"], sort=False):
        losses = _Losses(subset)
        cases = [case for case in CASES if case in set(subset.case)]
        for key, scope, arguments in _claims_of_one_mode(losses, cases, budget, seed):
            needs = dict(paper.CLAIMS_BY_KEY[paper_key(key)].scale)
            short = stats.scale_shortfall(needs, {"generations": generations}) if generations else ""
            if short and paper_key(key) in WALL_TIME_CLAIMS:
                continue  # a short run's timing is overhead and noise: it would not reproduce
            involved.append("+".join(arguments.pop("algorithms")))
            arguments["below_scale"] = short or arguments.get("below_scale", "")
            if "groups" in arguments:
                tests.append(stats.assess_contrast(key, scope=scope, mode=mode, seed=seed, **arguments))
            else:
                tests.append(stats.assess_claim(key, scope=scope, mode=mode, seed=seed, **arguments))
    return tests, involved


H10_WORSE = "h = 10 worse beyond δ (the paper's \"results are generally worse\")"
H10_BETTER = "h = 10 better beyond δ (a benefit the paper says it lacks)"


def _h10_side(row) -> str:
    """A row's detail; for h = 10, which side of the equivalence region its interval lies on, if one:
    the two-sided test counts a worse h = 10 against "no difference" as it does a better one, while the
    paper's sentence goes on to say results are generally worse."""
    detail = row.detail if isinstance(row.detail, str) else ""
    if row.claim != "h10_no_benefit" or row.verdict == "not tested at scale":
        return detail
    side = H10_WORSE if row.low > row.margin else H10_BETTER if row.high < -row.margin else ""
    return "; ".join(part for part in (detail, side) if part)


def study_a_claims(final: pd.DataFrame, seed: int = 0, generations: int | None = None) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first): one row per claim,
    scope and mode, Holm-corrected within each claim and mode (its family, across scopes: see
    :func:`stats.decide`), with the paper's sentence, the algorithms each test reads, whether the row
    is decided at the loss floor, and whether it is an extra row of ours beside the paper's claim."""
    tests, involved = claim_tests(final, seed, generations)
    table = stats.decide(tests)
    table["algorithms"] = involved
    table["detail"] = [_h10_side(row) for row in table.itertuples()]
    table["at_floor"] = table.detail.fillna("").str.contains(FLOOR_NOTE, regex=False)
    table["ours"] = table.claim.isin(list(paper.EXTRA_ROWS))
    table["sentence"] = table.claim.map(paper.sentence)
    return table


def modes_side_by_side(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim and scope with the verdict under each mode and whether they agree."""
    wide = claims.pivot_table(index=["claim", "scope"], columns="mode", values="verdict",
                              aggfunc="first").reindex(columns=list(MODES))
    missing = wide[list(MODES)].isna().any(axis=1)
    wide["agree"] = np.where(missing, "–", np.where(wide["faithful"] == wide["corrected"], "yes", "no"))
    return wide.fillna("–").reset_index()


def at_wall_time(curves: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """One row per run and repeat, like :func:`runs.final_losses`: the last recorded point whose
    elapsed wall time is at most ``seconds`` (a run that ends sooner: its end)."""
    from nevolab.studies.a import runs  # the running layer stays out of the pure claims code

    within = curves[curves.time_s <= seconds * (1 + 1e-9)]
    last = runs._per_run(within).generation.transform("max")
    return within[within.generation == last].reset_index(drop=True)


def claims_input(curves_by_mode: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The table :func:`claim_tests` reads: final losses per mode at equal generations (the end of
    every run), per case at equal network evaluations (the smallest total any algorithm of the case
    spends), and backprop's and CoSyNE's at backprop's wall time (budget :data:`WALL_TIME`: backprop
    at its end, CoSyNE where its run was then). Backprop has no quirk, so the faithful mode borrows
    its corrected runs."""
    from nevolab.studies.a import runs  # the running layer stays out of the pure claims code

    frames = []
    backprop = pd.concat([curves[curves.algorithm == "backprop"] for curves in curves_by_mode.values()])
    backprop = backprop.drop_duplicates(["case", "repeat", "generation"])
    for mode, curves in curves_by_mode.items():
        curves = pd.concat([curves[curves.algorithm != "backprop"], backprop], ignore_index=True)
        final = runs.final_losses(curves)
        frames.append(final.assign(mode=mode, budget="generations"))
        bio = curves[curves.algorithm != "backprop"]
        for case, subset in bio.groupby("case"):
            budget = runs.equal_evaluation_budget(subset, case)
            frames.append(runs.losses_at_evaluations(subset, budget).assign(mode=mode, budget="evaluations"))
        for _, subset in curves[curves.algorithm.isin(["backprop", "cosyne"])].groupby("case"):
            if set(subset.algorithm) != {"backprop", "cosyne"} or "time_s" not in subset:
                continue
            seconds = float(subset[subset.algorithm == "backprop"].run_time_s.iloc[0])
            frames.append(at_wall_time(subset, seconds).assign(mode=mode, budget=WALL_TIME))
    return pd.concat(frames, ignore_index=True)


def stored_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """A3's claims table for the scale parameters of any Study A page's ``config``, through the store:
    A1 shows rows of this one table, so a claim's numbers are the same on every page. ``fresh``
    recomputes the table and every run it reads."""
    from nevolab.studies.a import runs, spec  # the running layer stays out of the pure claims code

    def compute(claims_config: Config) -> pd.DataFrame:
        all_runs = runs.run_configs(claims_config)
        curves_by_mode = {
            mode: runs.curves([run for run in all_runs
                               if run.faithful == (mode == "faithful") or run.algorithm == "backprop"],
                              fresh=fresh)
            for mode in claims_config.modes}
        return study_a_claims(claims_input(curves_by_mode), seed=claims_config.seed,
                              generations=claims_config.generations)

    return store.stored_claims(spec.SPECS_BY_NAME["a3_claims"], config, compute, fresh)
