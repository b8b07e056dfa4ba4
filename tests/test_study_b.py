"""Study B's notebook layer: specs, run keys, aggregation, decomposition, claims, resume
(nevolab.studies.b)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nevolab import report
from nevolab.config import ConfigError
from nevolab.pruning.results import PruningResult
from nevolab.registry import configure
from nevolab.studies.b import analysis, runs, tasks
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b.tasks import PAPER_SEEDS

CURVES = ("snr", "magnitude", "random", "permute_values", "permute_mask")


def _frame(level: dict[str, float], tasks=("pendulum", "digits"), seeds=(1, 2, 3, 4), rounds=4,
           scale: dict[str, float] | None = None, noise: float = 0.01,
           gd: float | None = None) -> pd.DataFrame:
    """A synthetic runs table: curve c on task t at round r is scale_t * (1 - r * drop_c) + noise."""
    rng = np.random.default_rng(0)
    rows = []
    for task, curve, seed, r in itertools.product(tasks, [*level, *(["gd"] if gd is not None else [])],
                                                  seeds, range(rounds)):
        drop = gd if curve == "gd" else level[curve]
        value = (scale or {}).get(task, 1.0) * (1.0 - r * drop) + noise * rng.normal()
        rows.append({"task_key": task, "method": "GD" if curve == "gd" else "ES",
                     "criterion": "magnitude" if curve == "gd" else curve, "seed": seed, "round": r,
                     "weights_remaining": 100 * 0.5 ** r, "test_performance": value})
    return pd.DataFrame(rows)


def test_seeds_start_with_the_papers():
    assert tasks.seeds_for(3) == list(PAPER_SEEDS[:3])
    seeds = tasks.seeds_for(7)
    assert seeds[:5] == list(PAPER_SEEDS) and seeds[5:] == [0, 1] and len(set(seeds)) == 7
    assert tasks.strategy_for("fashion_mnist", "paper") == "SNES"
    assert tasks.strategy_for("kmnist", "SNES") == "SNES"


@pytest.mark.parametrize("overrides, message", [
    ({"criteria": ["snr", "magnitude"]}, "must include snr, magnitude and random"),
    ({"criteria": ["snr", "magnitude", "random", "snip"]}, "unknown value 'snip'"),
    ({"tasks": ["digits", "digits"]}, "listed more than once"),
    ({"tasks": ["pong"]}, "unknown task 'pong'.*offline gymnax id"),
    ({"prune_fraction": 1.0}, "must be in \\(0, 1\\)"),
    ({"strategy": "PGPE", "vision_population": 33}, "even for PGPE"),
    ({"rounds": 0}, "must be >= 1"),
])
def test_bad_parameters_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        configure("b1_ticket_curves", "smoke", **overrides)


def test_any_offline_gymnax_environment_is_a_task():
    config = configure("b1_ticket_curves", "smoke", tasks=["Acrobot-v1", "digits"])
    assert config.tasks == ["Acrobot-v1", "digits"]
    assert tasks.task_family("Acrobot-v1") == "gymnax"


def test_decomposition_page_needs_the_permutation_controls():
    configure("b1_ticket_curves", "smoke", criteria=["snr", "magnitude", "random"])  # enough for B1
    with pytest.raises(ConfigError, match="permute_values, permute_mask"):
        configure("b3_ticket_decomposition", "smoke", criteria=["snr", "magnitude", "random"])


def test_normalisation_maps_each_tasks_curve_means_onto_zero_one():
    frame = _frame({"snr": 0.1, "random": 0.3}, scale={"pendulum": -1000.0, "digits": 1.0})
    normalised = analysis.normalise_per_task(frame, ["snr", "random"])
    means = normalised.groupby(["task_key", "curve", "round"]).normalised.mean()
    for task in ("pendulum", "digits"):
        assert means[task].min() == pytest.approx(0.0, abs=1e-12)
        assert means[task].max() == pytest.approx(1.0, abs=1e-12)
    aggregated = analysis.aggregate_curves(normalised)
    assert set(aggregated.tasks) == {2} and aggregated.weights_remaining.max() == 100


def test_decomposition_sums_to_the_ticket_effect():
    frame = _frame({"magnitude": 0.05, "permute_values": 0.1, "permute_mask": 0.15, "random": 0.25})
    parts = analysis.ticket_decomposition(analysis.normalise_per_task(frame, ["magnitude", "permute_values",
                                                                  "permute_mask", "random"]))
    wide = parts.pivot_table(index=["task_key", "round", "seed"], columns="component", values="value")
    np.testing.assert_allclose(wide[["weights", "mask positions", "layerwise ratio"]].sum(axis=1),
                               wide["ticket effect"], atol=1e-12)
    late = wide.xs(3, level="round")
    assert (late[["weights", "mask positions", "layerwise ratio", "ticket effect"]] > 0).all().all()
    with pytest.raises(ValueError, match="permute_mask"):
        partial = analysis.normalise_per_task(frame, ["magnitude", "permute_values", "random"])
        analysis.ticket_decomposition(partial)


def test_claims_verdicts_follow_the_data():
    # Noise-free: SNR and IMP identical (inconclusive), both far above random, ES above GD. Four seeds
    # per task cannot reach p <= 0.05 (1/16): underpowered per task, decided when pooled (8 pairs).
    frame = _frame({"snr": 0.05, "magnitude": 0.05, "random": 0.25}, gd=0.3, noise=0.0)
    claims = b_claims.study_b_claims(frame, threshold=20.0)
    scaled = claims.verdict == "not tested at scale"
    assert set(claims[~scaled].scope) == {"pendulum", "digits", "all tasks"}
    assert len(claims[~scaled]) == 4 * 3
    # Holm runs over each claim's rows; 4 seeds per task cannot reach 0.05 (1/16), so Tarone's rule
    # leaves them out of the family and only the pooled row counts.
    assert (claims[~scaled].family_size == 1).all()
    claims = claims[~scaled]
    per_task = claims[claims.scope != "all tasks"]
    pooled = claims[claims.scope == "all tasks"].set_index("claim")
    assert (per_task.verdict == "underpowered").all() and (per_task.min_n == 5).all()
    for key in ("tickets_beat_random_snr", "tickets_beat_random_imp", "es_beats_gd_sparse"):
        assert pooled.loc[key, "verdict"] == "reproduced" and pooled.loc[key, "low"] > 0
    assert pooled.loc["snr_beats_magnitude", "verdict"] == "inconclusive"
    assert pooled.loc["snr_beats_magnitude", "effect"] == 0
    # No GD rows: the ES-vs-GD claim is skipped, not faked.
    no_gd = b_claims.study_b_claims(frame[frame.method == "ES"], threshold=20.0)
    assert "es_beats_gd_sparse" not in set(no_gd.claim)
    # Reversed data give "not reproduced" where the design can decide.
    reversed_frame = _frame({"snr": 0.25, "magnitude": 0.05, "random": 0.05})
    reverse = b_claims.study_b_claims(reversed_frame, threshold=20.0).set_index(["claim", "scope"])
    row = reverse.loc[("tickets_beat_random_snr", "all tasks")]
    assert row.verdict == "not reproduced" and row.high < 0


def test_high_sparsity_rounds_fall_back_to_the_last():
    frame = _frame({"snr": 0.1})
    assert analysis.high_sparsity_rounds(frame, threshold=20.0) == [3]  # 12.5 %
    assert analysis.high_sparsity_rounds(frame, threshold=1.0) == [3]
    assert analysis.high_sparsity_rounds(frame, threshold=60.0) == [1, 2, 3]


def test_magnitude_agreement_is_one_when_the_std_is_uniform():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(1, 2, 12))
    prunable = np.array([False, False] + [True] * 10)
    masks = np.ones((1, 2, 12), bool)
    result = PruningResult("toy", "SNES", "snr", (0, 1), 0.5, 12, 10, np.array([10]),
                           {"test_score": np.zeros((1, 2)), "final_mean": mean,
                            "final_std": np.full((1, 2, 12), 0.3), "masks": masks},
                           masks[0], mean[0])
    np.testing.assert_array_equal(runs.magnitude_agreement(result, prunable), 1.0)
    # A std that reverses the ranking of |mean| makes the criteria disagree.
    result.arrays["final_std"] = np.abs(mean) ** 2 + 1e-3
    assert runs.magnitude_agreement(result, prunable).max() < 1.0


class _Stop(Exception):
    pass


def test_an_interrupted_smoke_run_resumes_with_identical_numbers(tmp_path, monkeypatch):
    """Interrupt the smoke profile's ES runs after round 1, resume, and compare with an uninterrupted
    run in another results store."""
    config = configure("b1_ticket_curves", "smoke", tasks=["digits"], criteria=["snr", "magnitude", "random"],
                       rounds=2)

    def stop_after_first(task, done):
        if done == 1:
            raise _Stop

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path / "interrupted"))
    with pytest.raises(_Stop):
        runs.es_runs(config, progress=False, on_round=stop_after_first)
    checkpoint_root = tmp_path / "interrupted" / ".checkpoints"
    checkpoints = list(checkpoint_root.glob(f"{runs.RUNS_KIND}-*/pruning_state.npz"))
    assert len(checkpoints) == 1
    rounds_run = []
    resumed = runs.es_runs(config, progress=False, on_round=lambda task, done: rounds_run.append(done))
    assert rounds_run == [2]  # round 1 came from the checkpoint
    assert not checkpoints[0].exists()  # the stored table supersedes the checkpoint

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path / "uninterrupted"))
    uninterrupted = runs.es_runs(config, progress=False)
    pd.testing.assert_frame_equal(resumed, uninterrupted)


def test_run_records_state_each_runs_compute_against_the_budget():
    from nevolab import store

    config = configure("b1_ticket_curves", "smoke", seeds=1, tasks=["digits"], batch_size=17)
    es, adam = runs.run_configs(config)
    assert runs.run_label(es) == "ES (Sep-CMA-ES)" and runs.run_label(adam) == "Adam-IMP"
    assert runs.run_records(config).empty
    store.save(es, pd.DataFrame({"x": [1.0]}), wall_time_s=1800.0)
    assert "1 of 2 runs are not computed yet" in report.budget_sentence(
        runs.run_records(config), 90.0, "B1–B4's shared runs", 2)
    store.save(adam, pd.DataFrame({"x": [2.0]}), wall_time_s=1200.0)
    records = runs.run_records(config)
    assert list(records.run) == ["ES (Sep-CMA-ES)", "Adam-IMP"] and list(records.task) == ["digits", "digits"]
    within = report.budget_sentence(records, 90.0, "B1–B4's shared runs", 2)
    assert within.startswith("B1–B4's shared runs took 50 min of compute (within the budget of 90 min)")
    assert "over the budget of 45 min" in report.budget_sentence(records, 45.0, "B5's runs", 2)
    assert len(runs.run_records(config, [es, adam, es])) == 2  # a run listed twice is computed once


def test_per_task_rows_at_eight_seeds_can_decide_under_holm_per_claim():
    # 8 seeds: the exact floor 1/256 times the claim's 3 rows is 0.012 <= 0.05, so each task decides.
    frame = _frame({"snr": 0.05, "magnitude": 0.05, "random": 0.25}, gd=0.3, seeds=range(1, 9))
    claims = b_claims.study_b_claims(frame, threshold=20.0)
    rows = claims[(claims.claim == "tickets_beat_random_snr") & (claims.scope != "all tasks")]
    assert len(rows) == 2 and (rows.verdict == "reproduced").all()
    assert rows.min_p_holm.iloc[0] == pytest.approx(3 / 256)
    assert rows.p_holm.iloc[0] == pytest.approx(2 / 256)  # Holm: the pooled row first, then 2 × 1/256


def test_claims_the_runs_cannot_reach_are_not_tested_at_scale_with_the_setting_they_need():
    frame = _frame({"snr": 0.05, "magnitude": 0.05, "random": 0.25}, gd=0.3, seeds=range(1, 9))
    claims = b_claims.study_b_claims(frame, threshold=20.0).set_index("claim")
    for key, words in (("ticket_effect_simple_above_complex", "complex Brax control tasks"),
                       ("decomposition_robust_to_es", "ES per task with the permutation controls"),
                       ("es_beats_gd_moderate_control", "Hopper or Grasp tasks 0 (needs 1)")):
        row = claims.loc[key]
        assert row.verdict == "not tested at scale" and words in row.below_scale, key
        assert np.isnan(row.effect) and row.n == "0" and row.detail
    # B1–B4's runs: one ES per task with the permutation controls, of the two the claim needs.
    controls = _frame(dict.fromkeys(CURVES, 0.1), seeds=range(1, 9)).assign(strategy="SNES")
    one = b_claims.study_b_claims(controls, threshold=20.0).set_index("claim")
    assert "controls 1 (needs 2)" in one.loc["decomposition_robust_to_es", "below_scale"]
    two = pd.concat([controls, controls.assign(strategy="PGPE")], ignore_index=True)
    with pytest.raises(ValueError, match="meet its scale"):
        b_claims.study_b_claims(two, threshold=20.0)


def test_simple_against_complex_and_moderate_sparsity_are_tested_when_the_runs_hold_brax_tasks():
    seeds = range(1, 9)
    simple = _frame({"snr": 0.05, "random": 0.25}, gd=0.3, seeds=seeds)
    # Hopper: a small ticket effect (random close to SNR) and GD behind ES at moderate sparsity.
    hopper = _frame({"snr": 0.05, "random": 0.07}, tasks=("brax:hopper",), gd=0.1, seeds=seeds)
    claims = b_claims.study_b_claims(pd.concat([simple, hopper], ignore_index=True), threshold=20.0)
    claims = claims.set_index("claim")
    simple_row = claims.loc["ticket_effect_simple_above_complex"]
    assert simple_row.verdict == "reproduced" and simple_row.n == "16 vs 8"
    # Normalised ticket effect at 12.5 %: simple (0.85 − 0.25) / 0.75 = 0.8, Hopper 0.06 / 0.21 ≈ 0.29.
    assert simple_row.effect == pytest.approx(0.8 - 0.06 / 0.21, abs=0.05)
    moderate = claims.loc["es_beats_gd_moderate_control"]
    assert moderate.verdict == "reproduced" and moderate.scope == "brax:hopper" and moderate.n == "8 pairs"
    assert b_claims.moderate_sparsity_rounds(hopper, 20.0) == [1, 2]
    # GD ahead at moderate sparsity: the contrary holds.
    ahead = _frame({"snr": 0.05, "random": 0.07}, tasks=("brax:hopper",), gd=0.02, seeds=seeds)
    claims = b_claims.study_b_claims(pd.concat([simple, ahead], ignore_index=True), threshold=20.0)
    assert claims.set_index("claim").loc["es_beats_gd_moderate_control", "verdict"] == "not reproduced"
