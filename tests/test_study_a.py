import numpy as np
import pandas as pd
import pytest

from nevolab.stats import VERDICTS
from nevolab.studies.a import cases, paper, runs
from nevolab.studies.a.claims import modes_side_by_side, study_a_claims
from nevolab.studies.a.train import AERun
from nevolab.tasks.autoencoders import (
    DATA_SEED,
    ff_autoencoder_loss,
    ff_autoencoder_loss_samples_minor,
    ff_num_params,
    init_ff_autoencoder,
    make_gaussian_data,
    mean_of_squares,
)


def test_gaussian_data_matches_the_original_per_sample_loop():
    rng = np.random.RandomState(DATA_SEED)
    symmetric = rng.uniform(size=16).reshape(4, 4)
    covariance = (symmetric + symmetric.T) / 2 + 0.5 * np.eye(4)
    mean = rng.uniform(size=4)
    samples = np.concatenate([rng.multivariate_normal(mean, covariance, size=1) for _ in range(200)])
    np.testing.assert_array_equal(make_gaussian_data(4)[:5].reshape(-1, 4), samples.astype(np.float32))


@pytest.mark.parametrize("dim", [4, 8])
def test_population_form_of_the_feed_forward_loss_is_the_same_loss(dim):
    import jax

    params = jax.vmap(lambda key: init_ff_autoencoder(key, dim))(jax.random.split(jax.random.key(0), 16))
    batch = jax.numpy.asarray(make_gaussian_data(dim)[7])
    expected = jax.vmap(ff_autoencoder_loss, in_axes=(0, None))(params, batch)
    got = jax.jit(jax.vmap(ff_autoencoder_loss_samples_minor, in_axes=(0, None)))(params, batch)
    np.testing.assert_allclose(got, expected, rtol=2e-6)
    problem = cases.make_problem("I" if dim == 4 else "II")
    assert problem.population_loss is ff_autoencoder_loss_samples_minor
    assert problem.loss is ff_autoencoder_loss  # backprop differentiates the plain form


@pytest.mark.parametrize("shape", [(8, 40), (4, 40), (3, 13), (1, 8)])
def test_mean_of_squares_is_the_mean_squared_error(shape):
    import jax

    errors = jax.random.normal(jax.random.key(shape[1]), shape) * 3.0
    np.testing.assert_allclose(jax.jit(mean_of_squares)(errors), np.mean(np.asarray(errors, np.float64) ** 2),
                               rtol=1e-6)


def test_parameter_counts_match_the_paper():
    assert (ff_num_params(4), ff_num_params(8)) == (29, 98)
    counts = {case: cases.make_problem(case, num_batches=2).num_params for case in cases.CASES}
    assert counts == {"I": 29, "II": 98, "III": 176, "IV": 270, "V": 1212, "VI": 1212}


def test_best_hyperparameters_are_the_authors():
    assert runs.best_hyperparameters("I", "backprop")["learning_rate"] == pytest.approx(0.1318, abs=1e-4)
    cosyne = runs.best_hyperparameters("II", "cosyne")
    assert (cosyne["population_size"], cosyne["children"]) == (8, 4)
    with pytest.raises(ValueError, match="valid"):
        runs.best_hyperparameters("I", "sgd")


def test_backprop_and_cosyne_learn_case_one():
    for algorithm in ("backprop", "cosyne", "de_idct"):
        run = AERun(case="I", algorithm=algorithm, hyperparameters=runs.best_hyperparameters("I", algorithm),
                    repeats=2, generations=150, seed=0)
        table = runs.run_case(run, measure_time=False)
        curves = table.pivot(index="generation", columns="repeat", values="best_loss")
        assert np.all(curves.diff().dropna() <= 0)  # running minimum
        assert np.all(curves.iloc[-1] < 0.8 * curves.iloc[0]), algorithm
        assert set(table.columns) >= {"evaluations", "time_s", "min_loss", "best_loss"}


def test_claims_table_computes_verdicts_in_both_modes():
    rng = np.random.default_rng(0)
    rows = []
    for mode, ea_centre in (("corrected", 0.6), ("faithful", 0.45)):
        for case in ("I", "II"):
            for algorithm, centre in {"backprop": 0.2, "cosyne": 0.4, "de": 0.5, "ea": ea_centre}.items():
                for repeat, value in enumerate(rng.normal(centre, 0.02, size=20)):
                    rows.append({"case": case, "algorithm": algorithm, "repeat": repeat, "best_loss": value,
                                 "mode": mode, "budget": "generations"})
    claims = study_a_claims(pd.DataFrame(rows)).set_index(["claim", "scope", "mode"])
    assert claims.loc[("backprop_best", "case II", "corrected"), "verdict"] == "reproduced"
    assert ("backprop_best", "case I", "corrected") not in claims.index  # the paper puts backprop second
    assert claims.loc[("cosyne_beats_backprop_case1", "case I", "corrected"), "verdict"] == "not reproduced"
    assert claims.loc[("de_beats_ea_ff", "case II", "corrected"), "verdict"] == "reproduced"
    assert claims.loc[("de_beats_ea_ff", "case II", "faithful"), "verdict"] == "not reproduced"
    side = modes_side_by_side(claims.reset_index()).set_index(["claim", "scope"])
    assert side.loc[("de_beats_ea_ff", "case II"), "agree"] == "no"
    assert side.loc[("cosyne_best_bio", "case I"), "agree"] == "yes"
    assert set(claims.verdict) <= set(VERDICTS)


def test_margins_come_from_the_papers_figure():
    figure = paper.FIGURE_FINAL_LOSS
    assert paper.margin("ea_competitive_lstm") == round(figure["IV"]["ea"] - figure["IV"]["cosyne"], 2)
    assert all(paper.margin(key) > 0 for key in ("ea_competitive_lstm", "idct_works_ff", "h10_no_benefit"))
    with pytest.raises(ValueError, match="has no margin"):
        paper.margin("backprop_best")


def test_claim_ablation_switches_one_quirk_at_a_time():
    from nevolab import registry
    from nevolab.studies.a import ablation
    from nevolab.studies.a.train import algorithm_quirks

    assert ablation._cases_of("VI vs IV, ea") == ["VI", "IV"]
    assert ablation._cases_of("I → II") == ["I", "II"] and ablation._cases_of("case II, de") == ["II"]
    config = registry.configure("a3_claims", "smoke", algorithms=["de", "ea"])
    disagreeing = pd.DataFrame([
        {"claim": "de_beats_ea_ff", "scope": "case I", "mode": mode, "verdict": verdict,
         "algorithms": "de+ea"}
        for mode, verdict in (("faithful", "not reproduced"), ("corrected", "reproduced"))])
    table = ablation.claim_ablation(disagreeing, config)
    expected = ["none", *algorithm_quirks("de"), *algorithm_quirks("ea"), "all"]
    assert list(table.quirks) == expected
    faithful = table[table.quirks == "all"].verdict.iloc[0]
    corrected = table[table.quirks == "none"].verdict.iloc[0]
    for row in table.itertuples():
        assert row.responsible == (row.quirks not in ("none", "all") and row.verdict == faithful != corrected)
    # The quirk that never applies on a truncation-selection EA leaves the numbers unchanged.
    inert = table[table.quirks == "ea_fitness_selection_prefers_high_loss"].effect.iloc[0]
    assert inert == table[table.quirks == "none"].effect.iloc[0]


def test_study_a_budget_counts_every_pages_runs_once(monkeypatch, tmp_path):
    from nevolab import store
    from nevolab.registry import configure
    from nevolab.studies.a import pages, runs

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path))  # an empty store: no run is computed
    config = configure("a1_min_loss_curves", "smoke")
    study = [run.hash() for run in pages.study_runs(config)]
    assert len(study) == len(set(study))
    for name in ("a1_min_loss_curves", "a2_final_losses", "a3_claims"):
        assert {run.hash() for run in runs.run_configs(configure(name, "smoke"))} <= set(study)
    what = f"Study A's {len(study)} runs (A1–A3, profile smoke)"
    assert pages.budget_sentence(config) == (
        f"{what}: {len(study)} of {len(study)} runs are not computed yet, so their compute is not known.")
    for run in pages.study_runs(config):
        store.save(run, pd.DataFrame({"x": [1.0]}), wall_time_s=600.0)
    assert pages.budget_sentence(config).startswith(
        f"{what} took {10 * len(study)} min of compute (over the budget of 90 min), on ")
