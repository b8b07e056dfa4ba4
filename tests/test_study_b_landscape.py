"""Pages B6 and B7: their specs, run keys and claims tables (on tiny synthetic inputs), and the store
path of the landscape runs (arrays beside their table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevolab import report, store
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
    # Without the optima table, and with GD's error flat over the rounds (no ρ), the first five claims.
    assert list(claims.claim) == list(b_claims.CONNECTIVITY_LABELS)[:5]
    assert set(claims.verdict) <= set(VERDICTS) and claims.sentence.str.len().gt(0).all()
    assert (claims.n == "8 pairs").all()
    # ES flatter, less connected, above 2 %; GD below 2 %: every claim holds on these data.
    assert (claims.verdict == "reproduced").all(), claims[["claim", "verdict", "verdict_reason"]]
    # The barrier rows carry the barrier itself and the threshold beside the tested shift.
    rows = claims.set_index("claim")
    assert rows.loc["es_rounds_not_connected", "barrier"] == pytest.approx(0.2, abs=0.001)
    assert rows.loc["es_rounds_not_connected", "effect"] == pytest.approx(0.2 - 0.02, abs=0.001)
    gd_row = rows.loc["gd_rounds_connected"]
    assert gd_row.barrier == pytest.approx(gd_row.effect)
    assert (rows.loc[list(b_claims.BARRIER_CLAIMS[:2]), "threshold"] == 0.02).all()
    assert rows.loc[["es_flatter_than_gd", "es_seeds_barrier_above_gd"], "barrier"].isna().all()
    shown = b_claims.with_barrier_columns(report.compact(claims), claims).set_index("claim")
    assert shown.loc["es_rounds_not_connected", "threshold"] == "2%"
    assert shown.loc["es_flatter_than_gd", "barrier [95% CI]"] == "–"


def _optima(seeds: int = 8, rounds: int = 3, between: float = 0.1, gd_weight: float = 0.5,
            es_weight: float = 0.3, gd_input: float = 60.0, es_input: float = 40.0) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for s in range(seeds):
        for r in range(rounds):
            rows.append({"measure": "barrier_methods", "method": analysis.ES_GD_PAIR, "round": r, "seed": s,
                         "value": between + rng.uniform(0, 0.001)})
            for method, weight, kept in ((analysis.GD_METHOD, gd_weight, gd_input),
                                         (analysis.ES_METHOD, es_weight, es_input)):
                rows.append({"measure": "weight_magnitude", "method": method, "round": r, "seed": s,
                             "value": weight + rng.uniform(0, 0.001)})
                rows.append({"measure": "input_kept", "method": method, "round": r, "seed": s,
                             "value": 100.0 if r == 0 else kept + rng.uniform(0, 0.1)})
    return pd.DataFrame(rows).reindex(columns=lm.MEASURE_COLUMNS)


def test_es_and_gd_optima_claims_follow_the_data():
    claims = b_claims.connectivity_claims(_measures(), _summary(), _optima()).set_index("claim")
    for key in ("es_gd_not_connected", "gd_larger_weights", "gd_prunes_input_less"):
        assert claims.loc[key, "verdict"] == "reproduced", key
    assert claims.loc["es_gd_not_connected", "barrier"] == pytest.approx(0.1, abs=0.001)
    assert claims.loc["es_gd_not_connected", "threshold"] == 0.02
    assert claims.loc["gd_larger_weights", "effect"] == pytest.approx(0.2, abs=0.002)
    # The input layer is compared over the pruned rounds only (round 0 keeps everything).
    assert claims.loc["gd_prunes_input_less", "effect"] == pytest.approx(20.0, abs=0.2)
    against = b_claims.connectivity_claims(_measures(), _summary(), _optima(
        between=0.0, gd_weight=0.3, es_weight=0.5, gd_input=40.0, es_input=60.0)).set_index("claim")
    for key in ("es_gd_not_connected", "gd_larger_weights", "gd_prunes_input_less"):
        assert against.loc[key, "verdict"] == "not reproduced", key


def test_gd_degradation_with_sharpness_is_a_per_seed_rank_correlation():
    rounds = 4
    gd_scores = (0.95, 0.9, 0.8, 0.6)
    summary = _summary(rounds=rounds, es=(0.9,) * rounds, gd=gd_scores)
    measures = _measures(rounds=rounds)
    gd_curvature = (measures.measure == "curvature") & (measures.method == analysis.GD_METHOD)
    # Sharpness rising as GD's error rises: ρ = 1 in every seed.
    rising = measures.assign(value=np.where(gd_curvature, 1.0 + measures["round"], measures.value))
    rho = b_claims.sharpness_correlations(rising, summary, list(range(rounds)))
    np.testing.assert_allclose(rho.to_numpy(), 1.0)
    key = "gd_degradation_with_sharpness"
    row = b_claims.connectivity_claims(rising, summary).set_index("claim").loc[key]
    assert row.verdict == "reproduced" and row.effect == pytest.approx(1.0) and row.n == "8 pairs"
    # Sharpness falling as the error rises (what a network near chance does): the contrary holds.
    falling = measures.assign(value=np.where(gd_curvature, 10.0 - measures["round"], measures.value))
    row = b_claims.connectivity_claims(falling, summary).set_index("claim").loc[key]
    assert row.verdict == "not reproduced" and row.effect == pytest.approx(-1.0)
    # Fewer than three trained rounds: no correlation to test.
    short = b_claims.connectivity_claims(rising, _summary(rounds=2, es=(0.9, 0.9), gd=(0.95, 0.9)))
    assert "gd_degradation_with_sharpness" not in set(short.claim)


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


def _correlations(seeds: int = 8, rounds: int = 4, snr_slope: float = -0.2, magnitude_slope: float = 0.0):
    """ρ with round 0: 1 at round 0, then 0.9 + slope · (r − 1), with noise of ±0.01 per seed and round."""
    rng = np.random.default_rng(1)
    rows = []
    for quantity, method, slope in (("snr", analysis.ES_METHOD, snr_slope),
                                    ("magnitude", analysis.IMP_METHOD, magnitude_slope)):
        for s in range(seeds):
            for r in range(rounds):
                rows.append({"quantity": quantity, "method": method, "round": r, "seed": s,
                             "weights_remaining": 100 / 2**r, "survivors": 10,
                             "rho": 1.0 if r == 0 else 0.9 + slope * (r - 1) + rng.uniform(-0.01, 0.01)})
    return pd.DataFrame(rows, columns=lm.CORRELATION_COLUMNS)


def test_correlation_claims_test_the_fall_from_the_first_compared_round_to_the_last():
    claims = b_claims.correlation_claims(_correlations()).set_index("claim")
    assert list(claims.reset_index().columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert list(claims.index) == list(b_claims.CORRELATION_LABELS)
    # SNR: 0.9 at round 1, 0.5 at round 3 in every seed: a fall of 0.4, 8 of 8 seeds → reproduced.
    snr = claims.loc["snr_correlation_falls"]
    assert snr.verdict == "reproduced" and snr.scope == "round 1 → round 3" and snr.n == "8 pairs"
    assert snr.effect == pytest.approx(-0.4, abs=0.02) and snr.p_value == pytest.approx(1 / 256)
    # ρ itself, not ρ minus a threshold, beside the change.
    assert snr.rho_first == pytest.approx(0.9, abs=0.01) and snr.rho_last == pytest.approx(0.5, abs=0.01)
    # |θ|: flat apart from noise, so no fall either way.
    assert claims.loc["magnitude_correlation_falls", "verdict"] == "inconclusive"
    assert claims.loc["magnitude_correlation_falls", "effect"] == pytest.approx(0.0, abs=0.02)
    # A rising correlation contradicts the claim.
    rising = b_claims.correlation_claims(_correlations(snr_slope=0.03)).set_index("claim")
    assert rising.loc["snr_correlation_falls", "verdict"] == "not reproduced"
    # Round 0 and one later round: nothing to compare, an empty table.
    assert b_claims.correlation_claims(_correlations(rounds=2)).empty


def test_the_fall_table_pairs_each_seeds_first_and_last_round():
    fall = b_claims.correlation_fall(_correlations(seeds=3, rounds=5), "snr")
    assert list(fall.columns) == ["first", "last"] and len(fall) == 3
    np.testing.assert_allclose(fall["first"], 0.9, atol=0.01)
    np.testing.assert_allclose(fall["last"], 0.9 - 0.2 * 3, atol=0.01)


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
    optima, _ = lm.cached_optima(config)
    assert set(optima.measure) == {"barrier_methods", "weight_magnitude", "input_kept"}
    assert ((optima[optima.measure == "barrier_methods"].value >= 0)
            & (optima[optima.measure == "barrier_methods"].value <= 1)).all()
    kept = optima[optima.measure == "input_kept"]
    assert (kept[kept["round"] == 0].value == 100.0).all() and kept.value.between(0, 100).all()
    first = lm.input_layer_flat(landscape_runs.template(landscape_runs.build_task(run)))
    assert first.sum() == 5 * 5 * 1 * 8 and first[:8].sum() == 0  # Conv_0's kernel, after its bias
    correlations, _, _ = lm.cached_correlations(configure("b7_snr_correlation", "smoke"))
    assert set(correlations.quantity) == {"snr", "magnitude"}
    assert (correlations[correlations["round"] == 0].rho == 1.0).all()
