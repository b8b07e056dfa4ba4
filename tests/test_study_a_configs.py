"""Tests for nevolab.studies.a.hyperparameters (the Study A authors' best configurations)."""

from __future__ import annotations

import re

import pytest

from nevolab.algorithms.cosyne import CoSyNE
from nevolab.algorithms.differential_evolution import DifferentialEvolution
from nevolab.algorithms.evolutionary_algorithm import MuRhoLambdaEA
from nevolab.studies.a.hyperparameters import (
    ALGORITHMS,
    CASES,
    available_configs,
    best_config,
    case_info,
)

EXPECTED_KEYS = {
    "backprop": {"learning_rate"},
    "cosyne": {"population_size", "children", "mutation_prob", "gamma"},
    "de": {"population_size", "crossover_rate", "differential_weight", "variant"},
    "ea": {"population_size", "best_rate", "num_parents", "selection", "crossover", "elitism",
           "mutation_prob", "sigma"},
}
PROVENANCE = {"num_coefficients", "source_file", "raw"}


def test_every_case_algorithm_encoding_combination_exists():
    # The original folder: per case, backprop (direct only) + 3 algorithms x {direct, IDCT} = 7 files.
    expected = {(a, c, i) for c in CASES for a in ALGORITHMS for i in (False, True)
                if not (a == "backprop" and i)}
    assert set(available_configs()) == expected
    assert len(expected) == 70
    for algorithm, case, idct in expected:
        config = best_config(algorithm, case, idct)
        assert set(config) == EXPECTED_KEYS[algorithm] | PROVENANCE
        assert (config["num_coefficients"] is not None) == idct


def test_ff_d4_backprop_learning_rate():
    assert best_config("backprop", "I", idct=False)["learning_rate"] == pytest.approx(0.1318, abs=5e-5)


def test_values_are_exact_and_traceable_to_the_original_file():
    config = best_config("de", "I", idct=True)
    assert config["source_file"] == "best_configurations/Differential_realValuedData_23_1"
    assert config["raw"]["mutation_type"] == config["variant"] == "curtobest1"
    assert config["num_coefficients"] == int(config["raw"]["IDCT_from"]) == 23
    gamma = best_config("cosyne", "II", idct=False)["gamma"]
    assert gamma == float(best_config("cosyne", "II", idct=False)["raw"]["gamma"])  # not rounded
    pattern = re.compile(r"best_configurations/(?:Backprop|Cosyne|Differential|EA)_(\w+?)_(\w+)_(\d)")
    for algorithm, case, idct in available_configs():
        config = best_config(algorithm, case, idct)
        task, k, number = pattern.fullmatch(config["source_file"]).groups()
        info = case_info(case)
        assert (task, int(number)) == (info["original_task"], info["original_case"])
        assert k == ("None" if config["num_coefficients"] is None else str(config["num_coefficients"]))
        assert int(config["raw"]["model_parameters"]) == info["num_params"]


def test_the_paper_cases_and_their_aliases():
    assert case_info("III") == case_info("lstm_s3h3")
    assert (case_info("V")["seq_len"], case_info("V")["hidden"]) == (3, 10)
    assert case_info("II")["dimension"] == 8
    assert best_config("ea", "lstm_s4h10", True) == best_config("ea", "VI", True)
    assert best_config("ea", "VI", True)["raw"]["seq_len"] == "4"


def test_configs_build_our_algorithms():
    """Every stored configuration is valid input to the NevoLab classes (names and sizes)."""
    for algorithm, case, idct in available_configs():
        c = best_config(algorithm, case, idct)
        dims = c["num_coefficients"] or case_info(case)["num_params"]
        if algorithm == "cosyne":
            CoSyNE(c["population_size"], dims, c["children"])
        elif algorithm == "de":
            DifferentialEvolution(c["population_size"], dims, c["variant"])
        elif algorithm == "ea":
            MuRhoLambdaEA(c["population_size"], dims, c["best_rate"], c["num_parents"], c["selection"],
                          c["crossover"], c["elitism"])


def test_returned_dicts_are_fresh_copies():
    config = best_config("ea", "I", False)
    config["sigma"] = -1.0
    config["raw"]["sigma"] = "oops"
    again = best_config("ea", "I", False)
    assert again["sigma"] == 0.1 and again["raw"]["sigma"] == "0.1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("adam", "I", False), "backprop.*cosyne.*de.*ea"),
        (("de", "VII", False), "I.*VI.*lstm_s1h1"),
        (("backprop", "I", True), "idct"),
    ],
)
def test_unknown_names_raise(args, message):
    with pytest.raises(ValueError, match=message):
        best_config(*args)
