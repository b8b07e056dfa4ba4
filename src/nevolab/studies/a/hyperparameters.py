"""The best hyperparameters of the Study A paper (Gobbi & Konotopska), as package data.

``nevolab/data/study_a_best_configs.json`` holds all 70 files of the original repository's
``best_configurations/`` folder (``fruttasecca/backprop_vs_bio``), one per case x algorithm x
encoding, with exact values. Each entry keeps the original file name and its dict verbatim for
provenance, and the values under NevoLab's parameter names:

* ``backprop``: ``learning_rate`` (Adagrad);
* ``cosyne``: ``population_size``, ``children``, ``mutation_prob``, ``gamma``;
* ``de``: ``population_size``, ``crossover_rate``, ``differential_weight``, ``variant``;
* ``ea``: ``population_size``, ``best_rate``, ``num_parents``, ``selection``, ``crossover``,
  ``elitism``, ``mutation_prob`` (the raw value: the original mutates with probability
  ``1 - mutation_prob``), ``sigma``;
* all: ``num_coefficients`` (the IDCT genotype length k; ``None`` for the direct encoding).

Cases: the paper's "I" (FF d=4), "II" (FF d=8), "III" (LSTM seq 3, hidden 3), "IV" (seq 4, h 4),
"V" (seq 3, h 10), "VI" (seq 4, h 10), plus the LSTM configurations the paper does not plot:
"lstm_s1h1", "lstm_s2h2", "lstm_s1h10", "lstm_s2h10". Descriptive aliases ("ff_d4", "lstm_s3h3",
...) name the paper's cases too.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from typing import Any

ALGORITHMS = ("backprop", "cosyne", "de", "ea")
CASES = ("I", "II", "III", "IV", "V", "VI", "lstm_s1h1", "lstm_s2h2", "lstm_s1h10", "lstm_s2h10")
_DATA_FILE = "study_a_best_configs.json"


@functools.cache
def _load() -> dict[str, Any]:
    text = importlib.resources.files("nevolab.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _case_key(case: str) -> str:
    data = _load()
    key = data["case_aliases"].get(case, case)
    if key not in data["cases"]:
        valid = list(data["cases"]) + list(data["case_aliases"])
        raise ValueError(f"case must be one of {valid}; got {case!r}")
    return key


def case_info(case: str) -> dict[str, Any]:
    """What a case is: ``model`` ("ff" or "lstm"), ``dimension`` or ``seq_len``/``hidden``,
    ``num_params``, and the original's ``original_task``/``original_case``."""
    return copy.deepcopy(_load()["cases"][_case_key(case)])


def best_config(algorithm: str, case: str, idct: bool) -> dict[str, Any]:
    """The authors' best hyperparameters for ``algorithm`` on ``case``, with the IDCT (indirect)
    encoding or the direct one.

    Returns a fresh dict of the parameters under NevoLab's names (see the module docstring), plus
    ``source_file`` (path in the original repository) and ``raw`` (the original dict, verbatim).
    Raises ValueError for an unknown algorithm or case, and for backprop with ``idct=True`` (the paper
    has no such run).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}; got {algorithm!r}")
    key = _case_key(case)
    encodings = _load()["configs"][key][algorithm]
    encoding = "idct" if idct else "direct"
    if encoding not in encodings:
        raise ValueError(
            f"no {encoding} configuration for algorithm {algorithm!r} (it has: {sorted(encodings)})"
        )
    entry = encodings[encoding]
    return {**copy.deepcopy(entry["params"]), "source_file": entry["source_file"],
            "raw": copy.deepcopy(entry["raw"])}


def available_configs() -> list[tuple[str, str, bool]]:
    """Every stored (algorithm, case, idct) combination."""
    data = _load()["configs"]
    return [(algorithm, case, encoding == "idct")
            for case in CASES for algorithm in ALGORITHMS for encoding in data[case][algorithm]]
