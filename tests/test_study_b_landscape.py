"""Pages B6 and B7: their specs, run keys and claims tables (on tiny synthetic inputs), and the store
path of the landscape runs (arrays beside their table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevolab import store
from nevolab.config import ConfigError
from nevolab.registry import configure
from nevolab.stats import CLAIM_COLUMNS, VERDICTS
from nevolab.studies.b import analysis, landscape_runs, pages
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import landscape_measures as lm

PAGES = ("b6_connectivity_flatness", "b7_snr_correlation")


# --- specs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "param", "value", "words"), [
    ("b6_connectivity_flatness", "seeds", 1, ">= 2"),
    ("b6_connectivity_flatness", "steps", 10, "must be odd"),
    ("b6_connectivity_flatness", "surface_points", 4, "must be odd"),
    ("b6_connectivity_flatness", "task", "pendulum", "unknown value 'pendulum'"),
    ("b6_connectivity_flatness", "alphas", 2, ">= 3"),
    ("b6_connectivity_flatness", "prune_fraction", 1.5, "(0, 1)"),
    ("b7_snr_correlation", "strategy", "paper", "unknown value 'paper'"),
    ("b7_snr_correlation", "population", 9, "even for PGPE"),
    ("b7_snr_correlation", "rounds", 1, ">= 2"),
    ("b7_snr_correlation", "gd_epochs", 0, ">= 1"),
])
def test_a_bad_parameter_fails_in_one_line_naming_it(name, param, value, words):
    overrides = {param: value}
    if param == "population":
        overrides["strategy"] = "PGPE"
    with pytest.raises(ConfigError) as error:
        configure(name, "default", **overrides)
    message = str(error.value)
    assert "\n" not in message and f"'{param}'" in message and words in message, message


@pytest.mark.parametrize(("name", "overrides", "words"), [
    ("b7_snr_correlation", {"population": 20_000}, "parameter 'population': this run needs about"),
    ("b1_ticket_curves", {"tasks": ["pendulum", "mnist5k"], "batch_size": 1024, "forward": "fast"},
     "parameter 'batch_size': this run needs about"),
    ("b7_snr_correlation", {"population": 10_000_000}, "must be <= 65536"),
    ("b6_connectivity_flatness", {"span": float("nan")}, "must be a finite number"),
    ("b6_connectivity_flatness", {"surface_span": float("inf")}, "must be a finite number"),
    ("b1_ticket_curves", {"vision_population": 60_000}, "parameter 'vision_population': this run needs"),
    ("b1_ticket_curves", {"criteria": ["snr", "magnitude", "random", "snr"]}, "listed more than once"),
])
def test_inputs_that_cannot_fit_or_repeat_are_refused_in_one_line(name, overrides, words, monkeypatch):
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "6")
    with pytest.raises(ConfigError) as error:
        configure(name, "default", **overrides)
    message = str(error.value)
    assert "\n" not in message and words in message, message


def test_image_runs_are_estimated_at_their_smallest_chunk(monkeypatch):
    """The ES evaluates image tasks in member chunks chosen from the budget, so a batch that needs
    chunks fits; the paper's MNIST setting (25 runs, population 128 x batch 1,024) fits on the plain
    forward and is refused on the fast one, whose group of members in flight is held per run."""
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "6")
    config = configure("b7_snr_correlation", "default", batch_size=50_000)
    assert 2**30 < config.spec.memory_estimate(config.values)[0] < 6 * 2**30
    paper = configure("b1_ticket_curves", "paper", tasks=["pendulum", "mnist5k"])
    assert paper.forward == "plain" and paper.spec.memory_estimate(paper.values)[0] < 6 * 2**30
    with pytest.raises(ConfigError, match="parameter 'batch_size'"):
        configure("b1_ticket_curves", "paper", tasks=["pendulum", "mnist5k"], forward="fast")


@pytest.mark.parametrize("name", ["b1_ticket_curves", "b5_transfer", "b6_connectivity_flatness"])
@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_the_presets_fit_a_quarter_of_a_24_gb_machine(name, profile, monkeypatch):
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "6")
    config = configure(name, profile)
    needed, _ = config.spec.memory_estimate(config.values)
    assert needed < 6 * 2**30


def test_b6_has_parameters_b7_does_not_know():
    with pytest.raises(ConfigError, match="unknown parameter 'alphas'"):
        configure("b7_snr_correlation", "default", alphas=11)


@pytest.mark.parametrize("name", PAGES)
def test_default_profile_has_enough_seeds_and_smoke_is_small(name):
    default, smoke = configure(name, "default"), configure(name, "smoke")
    assert default.seeds >= 6 and default.task == "digits"
    assert smoke.seeds == 2 and smoke.generations <= 5 and smoke.rounds == 2


# --- run keys ------------------------------------------------------------------------------------


def test_both_pages_share_their_pruning_runs_and_differ_in_measurements():
    b6 = pages.run_configs(configure("b6_connectivity_flatness", "default"))
    b7 = pages.run_configs(configure("b7_snr_correlation", "default"))
    assert isinstance(b6[0], landscape_runs.LandscapeRun) and b6[0].hash() == b7[0].hash()
    assert isinstance(b6[1], lm.ConnectivityMeasures) and isinstance(b7[1], lm.CorrelationMeasures)
    assert b6[1].run_key == b6[0].hash() == b7[1].run_key
    assert b6[0].seeds[:5] == (176588, 363028, 381632, 562958, 924197)  # the paper's seeds first
    assert b6[0].criteria == ("snr", "magnitude") and b6[0].gd_epochs > 0


@pytest.mark.parametrize(("param", "value"), [("seeds", 7), ("generations", 150), ("strategy", "PGPE"),
                                              ("gd_epochs", 3), ("batch_size", 32)])
def test_a_run_parameter_moves_both_keys(param, value):
    base = pages.run_configs(configure("b6_connectivity_flatness", "default"))
    moved = pages.run_configs(configure("b6_connectivity_flatness", "default", **{param: value}))
    assert base[0].hash() != moved[0].hash() and base[1].hash() != moved[1].hash()


@pytest.mark.parametrize(("param", "value"), [("alphas", 11), ("directions", 3), ("steps", 7), ("span", 0.25),
                                              ("surface_points", 11), ("surface_span", 2.0)])
def test_a_measurement_parameter_moves_only_the_measurements(param, value):
    base = pages.run_configs(configure("b6_connectivity_flatness", "default"))
    moved = pages.run_configs(configure("b6_connectivity_flatness", "default", **{param: value}))
    assert base[0].hash() == moved[0].hash() and base[1].hash() != moved[1].hash()


def test_surface_rounds_are_first_middle_last():
    assert lm.surface_rounds(7) == [0, 3, 6]
    assert lm.surface_rounds(2) == [0, 1]


# --- claims on synthetic tables ------------------------------------------------------------------


def _measures(seeds: int = 8, rounds: int = 3, es_barrier: float = 0.2, gd_barrier: float = 0.005,
              es_curvature: float = 1.0, gd_curvature: float = 3.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for method, barrier, curvature in ((analysis.ES_METHOD, es_barrier, es_curvature),
                                       (analysis.GD_METHOD, gd_barrier, gd_curvature)):
        for s in range(seeds):
            for r in range(rounds):
                noise = rng.uniform(0, 0.001)
                if r:
                    rows.append({"measure": "barrier_rounds", "method": method, "round": r, "seed": s,
                                 "value": barrier + noise})
                rows.append({"measure": "barrier_seeds", "method": method, "round": r, "seed": s,
                             "other_seed": (s + 1) % seeds, "value": barrier + noise})
                for d in range(2):
                    rows.append({"measure": "curvature", "method": method, "round": r, "seed": s,
                                 "direction": d, "value": curvature + noise})
    return pd.DataFrame(rows).reindex(columns=lm.MEASURE_COLUMNS)


def _summary(seeds: int = 8, rounds: int = 3, es: tuple = (0.9, 0.9, 0.9), gd: tuple = (0.95, 0.95, 0.95)):
    return pd.DataFrame([{"method": method, "seed": s, "round": r, "weights_remaining": 100 / 2**r,
                          "test_score": scores[r]}
                         for method, scores in ((analysis.ES_METHOD, es), (analysis.GD_METHOD, gd))
                         for s in range(seeds) for r in range(rounds)])


def test_connectivity_claims_table_shape_and_verdicts():
    claims = b_claims.connectivity_claims(_measures(), _summary())
    assert list(claims.columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert list(claims.claim) == list(b_claims.CONNECTIVITY_LABELS)
    assert set(claims.verdict) <= set(VERDICTS) and claims.sentence.str.len().gt(0).all()
    assert (claims.n == "8 pairs").all()
    # ES flatter, less connected, above 2 %; GD below 2 %: every claim holds on these data.
    assert (claims.verdict == "reproduced").all(), claims[["claim", "verdict", "verdict_reason"]]


def test_connectivity_claims_turn_against_the_paper_when_the_data_do():
    claims = b_claims.connectivity_claims(_measures(es_barrier=0.001, gd_barrier=0.2, es_curvature=5.0,
                                              gd_curvature=1.0), _summary()).set_index("claim")
    for claim in ("es_flatter_than_gd", "es_rounds_barrier_above_gd", "es_seeds_barrier_above_gd",
                  "es_rounds_not_connected", "gd_rounds_connected"):
        assert claims.loc[claim, "verdict"] == "not reproduced", claim


def test_connectivity_claims_with_two_seeds_are_underpowered():
    claims = b_claims.connectivity_claims(_measures(seeds=2), _summary(seeds=2))
    assert (claims.verdict == "underpowered").all()


def test_connectivity_claims_use_only_rounds_where_both_methods_are_trained():
    # GD at chance in round 2: the claims average rounds 0–1 only, so a huge GD curvature there is unseen.
    measures = _measures()
    dead = ((measures["round"] == 2) & (measures.method == analysis.GD_METHOD)
            & (measures.measure == "curvature"))
    measures.loc[dead, "value"] = 1000.0
    summary = _summary(gd=(0.95, 0.95, 0.1))
    assert analysis.trained_rounds(summary) == [0, 1]
    claims = b_claims.connectivity_claims(measures, summary).set_index("claim")
    assert claims.loc["es_flatter_than_gd", "effect"] == pytest.approx(-2.0, abs=0.01)
    assert claims.loc["es_flatter_than_gd", "scope"].startswith("rounds 0–1, ")
    nothing = b_claims.connectivity_claims(measures, _summary(es=(0.1, 0.1, 0.1)))
    assert nothing.empty and list(nothing.columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)


def _correlations(seeds: int = 8, rounds: int = 4, snr_rho: float = 0.9, magnitude_rho: float = 0.2):
    rng = np.random.default_rng(1)
    rows = []
    for quantity, method, rho in (("snr", analysis.ES_METHOD, snr_rho),
                                  ("magnitude", analysis.IMP_METHOD, magnitude_rho)):
        for s in range(seeds):
            for r in range(rounds):
                rows.append({"quantity": quantity, "method": method, "round": r, "seed": s,
                             "weights_remaining": 100 / 2**r, "survivors": 10,
                             "rho": 1.0 if r == 0 else rho + rng.uniform(-0.01, 0.01)})
    return pd.DataFrame(rows, columns=lm.CORRELATION_COLUMNS)


def test_correlation_claims_table_shape_and_verdicts():
    claims = b_claims.correlation_claims(_correlations()).set_index("claim")
    assert list(claims.reset_index().columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert list(claims.index) == list(b_claims.CORRELATION_LABELS)
    assert claims.loc["snr_ranks_stable", "verdict"] == "reproduced"
    assert claims.loc["magnitude_ranks_stable", "verdict"] == "not reproduced"
    # Round 0 (ρ = 1 by construction) is left out of the average.
    expected = 0.9 - b_claims.STABLE_CORRELATION
    assert claims.loc["snr_ranks_stable", "effect"] == pytest.approx(expected, abs=0.02)


def test_relative_advantage_of_a_summary_table():
    summary = pd.DataFrame([
        {"method": method, "seed": s, "round": r, "weights_remaining": 100 / 2**r,
         "test_score": score + 0.01 * s}
        for method, scores in ((analysis.ES_METHOD, (0.8, 0.8, 0.6)), (analysis.IMP_METHOD, (0.8, 0.7, 0.4)),
                               (analysis.GD_METHOD, (0.9, 0.9, 0.9)))
        for r, score in enumerate(scores) for s in range(2)])
    advantage = analysis.relative_advantage(summary)
    mean_dense = 0.805
    np.testing.assert_allclose(advantage.advantage, [0.0, 0.1 / mean_dense, 0.2 / mean_dense])
    np.testing.assert_allclose(advantage.weights_remaining, [100, 50, 25])


# --- the store path of the arrays ----------------------------------------------------------------


def test_measurements_on_tiny_arrays_and_the_arrays_beside_their_table(tmp_path, monkeypatch):
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path))
    config = configure("b6_connectivity_flatness", "smoke")
    table, summary, _ = lm.cached_connectivity(config)
    run = landscape_runs.landscape_run(config)
    assert sorted(p.name for p in landscape_runs.arrays_dir(run).glob("*.npz")) == [
        "es_magnitude.npz", "es_snr.npz", "gd_adam.npz"]
    assert set(table.measure) == {"barrier_rounds", "barrier_seeds", "curvature", "profile", "surface"}
    assert set(summary.method) == {"es_snr", "es_magnitude", "gd_adam"}
    barriers = table[table.measure.str.startswith("barrier")].value
    assert ((barriers >= 0) & (barriers <= 1)).all()
    surface = table[table.measure == "surface"]
    assert len(surface) == 2 * len(lm.surface_rounds(config.rounds)) * config.surface_points ** 2
    # Arrays that no longer match their table are noticed and recomputed, not silently used.
    arrays = landscape_runs.load_arrays(landscape_runs.arrays_dir(run))
    arrays["es_snr"]["test_score"] = arrays["es_snr"]["test_score"] + 0.5
    landscape_runs.save_arrays(landscape_runs.arrays_dir(run), {"es_snr": arrays["es_snr"]})
    with pytest.warns(UserWarning, match="do not match"):
        reloaded, _, _ = landscape_runs.cached_arrays(run)
    stored, _ = store.load(run)
    np.testing.assert_allclose(np.sort(reloaded["es_snr"]["test_score"].ravel()),
                               np.sort(stored[stored.method == "es_snr"].test_score.to_numpy()), rtol=1e-6)
    correlations, _, _ = lm.cached_correlations(configure("b7_snr_correlation", "smoke"))
    assert set(correlations.quantity) == {"snr", "magnitude"}
    assert (correlations[correlations["round"] == 0].rho == 1.0).all()
