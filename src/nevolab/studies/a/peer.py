"""Case I (feed-forward d = 4, 29 parameters) as the paper's figure shows it and as the authors' own code
produces it: facts about the paper and about the peer runs, transcribed here as data, not results.

Sources:

* :data:`PAPER_FIGURE_CASE_I`: the report's Fig. 1a (the original repository's
  ``plots/FF-encoder: Input_size=4 Total_params=29.png``), mean running-min loss at the end of each
  curve, read off the plot (about ±0.01), over :data:`PAPER_FIGURE_RUNS` runs per algorithm;
  transcribed in the research notes, ``originals.md`` §3.5.
* :data:`PEER_CASE_I`: the authors' code (github fruttasecca/backprop_vs_bio, HEAD, PyTorch on the
  CPU of this project's 2-core Xeon, 2026-12-01) run at their own best configurations, Case I,
  batch 40, 2000 batches, the same data seed (``DATA_SEED``), unseeded algorithms; each value is
  ``main.py``'s ``best result`` printout (the minimum over the run of the per-generation minimum
  batch loss, NevoLab's ``best_loss``); transcribed from ``shared/reference/peer_runs.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from nevolab.studies.a.paper import FIGURE_FINAL_LOSS
from nevolab.studies.a.train import algorithm_quirks

PAPER_FIGURE_RUNS = 100
PAPER_FIGURE_CASE_I: dict[str, float] = {
    algorithm: FIGURE_FINAL_LOSS["I"][algorithm] for algorithm in ("backprop", "cosyne", "de", "ea")}

PEER_CASE_I: dict[str, tuple[float, ...]] = {
    "backprop": (0.1950, 0.1968, 0.1967, 0.1950, 0.1964),  # Adagrad lr 0.1318
    "cosyne": (0.1877, 0.2114, 0.2043, 0.2096, 0.2153),  # pop 19, 12 children, p 0.05, gamma 0.374
    "de": (0.2495, 0.2774, 0.2768),  # pop 7, CR 0.5, randtobest2, F 0.1
    "ea": (0.2309, 0.2703, 0.2430),  # pop 17, p 0.05, sigma 0.1, 2 parents, truncation, elitism
}
# Wall time (s) of one run's training loop, min and max over the runs above.
PEER_LOOP_TIME_S: dict[str, tuple[float, float]] = {
    "backprop": (1.55, 1.77), "cosyne": (11.4, 15.9), "de": (4.3, 6.9), "ea": (8.5, 15.2)}


def _summary(values: np.ndarray, prefix: str, median: bool = True) -> dict[str, float | int]:
    """Mean, (median,) min, max and n of ``values``, keys prefixed."""
    stats = {"mean": values.mean(), "median": np.median(values), "min": values.min(),
             "max": values.max(), "n": len(values)}
    if not median:
        del stats["median"]
    return {f"{prefix} {name}": value for name, value in stats.items()}


def case_one_comparison(nevolab: pd.DataFrame) -> pd.DataFrame:
    """One row per algorithm of the paper's figure found in ``nevolab`` (Case I final losses with
    columns algorithm, code, best_loss): the figure's value, the authors' code run here (mean,
    min–max, n) and NevoLab's corrected and faithful code (mean, median, min–max, n). An algorithm
    without quirks (backprop) has one code: its faithful columns are its corrected runs."""
    rows = []
    for algorithm, figure in PAPER_FIGURE_CASE_I.items():
        mine = nevolab[nevolab.algorithm == algorithm]
        if mine.empty:
            continue
        row: dict[str, object] = {"algorithm": algorithm, "paper figure mean": figure,
                                  "paper figure n": PAPER_FIGURE_RUNS}
        row |= _summary(np.asarray(PEER_CASE_I[algorithm]), "authors' code", median=False)
        for code in ("corrected", "faithful"):
            read = code if algorithm_quirks(algorithm) else "corrected"
            losses = mine[mine.code == read].best_loss.to_numpy(float)
            if len(losses):
                row |= _summary(losses, f"NevoLab {code}")
        rows.append(row)
    return pd.DataFrame(rows)


def ranking(values: Mapping[str, float]) -> list[str]:
    """The keys of ``values``, lowest value first."""
    return sorted(values, key=values.__getitem__)


def case_one_statement(nevolab_medians: Mapping[str, float]) -> str:
    """The Case I claim in plain words: what the paper's figure shows, what the authors' own code
    produces when run here, and what NevoLab's runs give (``nevolab_medians``: median final loss of
    backprop and CoSyNE)."""
    figure, code = PAPER_FIGURE_CASE_I, {a: float(np.mean(v)) for a, v in PEER_CASE_I.items()}

    def order(values: Mapping[str, float]) -> str:
        return "CoSyNE ahead" if values["cosyne"] < values["backprop"] else "backprop ahead"

    text = (f"The paper's figure shows CoSyNE at {figure['cosyne']:.2f} and backprop at "
            f"{figure['backprop']:.2f} on Case I ({order(figure)}). The authors' code, run here at their "
            f"best configurations, gives CoSyNE {code['cosyne']:.3f} and backprop {code['backprop']:.3f} "
            f"(means of {len(PEER_CASE_I['cosyne'])} and {len(PEER_CASE_I['backprop'])} runs: "
            f"{order(code)}); NevoLab's medians are CoSyNE {nevolab_medians['cosyne']:.3f} and backprop "
            f"{nevolab_medians['backprop']:.3f} ({order(nevolab_medians)}).")
    if order(figure) != order(code):
        text += " The figure is not what the authors' code produces."
    return text
