import numpy as np
import pandas as pd
import pytest

from nevolab.stats import verdict
from nevolab.studies import autoencoders as study_a
from nevolab.tasks.autoencoders import (
    ff_autoencoder_loss,
    ff_autoencoder_loss_samples_minor,
    ff_num_params,
    init_ff_autoencoder,
    make_gaussian_data,
    mean_of_squares,
)


def test_gaussian_data_matches_the_original_per_sample_loop():
    rng = np.random.RandomState(1337)
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
    problem = study_a.make_problem("I" if dim == 4 else "II")
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
    counts = {case: study_a.make_problem(case, num_batches=2).num_params for case in study_a.CASES}
    assert counts == {"I": 29, "II": 98, "III": 176, "IV": 270, "V": 1212, "VI": 1212}


def test_best_hyperparameters_are_the_authors():
    assert study_a.best_hyperparameters("I", "backprop")["learning_rate"] == pytest.approx(0.1318, abs=1e-4)
    cosyne = study_a.best_hyperparameters("II", "cosyne")
    assert (cosyne["population_size"], cosyne["children"]) == (8, 4)
    with pytest.raises(ValueError, match="valid"):
        study_a.best_hyperparameters("I", "sgd")


def test_backprop_and_cosyne_learn_case_one():
    for algorithm in ("backprop", "cosyne", "de_idct"):
        table = study_a.run_case("I", algorithm, study_a.best_hyperparameters("I", algorithm), repeats=2,
                                 num_generations=150, measure_time=False)
        curves = table.pivot(index="generation", columns="repeat", values="best_loss")
        assert np.all(curves.diff().dropna() <= 0)  # running minimum
        assert np.all(curves.iloc[-1] < 0.8 * curves.iloc[0]), algorithm
        assert set(table.columns) >= {"evaluations", "time_s", "min_loss", "best_loss"}


def test_claims_table_computes_verdicts():
    rng = np.random.default_rng(0)
    rows = []
    for case in ("I", "II"):
        for algorithm, centre in {"backprop": 0.2, "cosyne": 0.4, "de": 0.5, "ea": 0.6}.items():
            for repeat, value in enumerate(rng.normal(centre, 0.02, size=20)):
                rows.append({"case": case, "algorithm": algorithm, "repeat": repeat, "best_loss": value})
    claims = study_a.study_a_claims(pd.DataFrame(rows))
    by_claim = dict(zip(claims.claim, claims.verdict))
    assert by_claim["Backprop best overall — case I: backprop < best bio-inspired (cosyne)"] == "reproduced"
    assert by_claim["Case I: CoSyNE beats backprop on average"] == "not reproduced"
    assert by_claim["DE beats EA on feed-forward — case II: DE < EA"] == "reproduced"
    assert set(claims.verdict) <= {"reproduced", "not reproduced", "inconclusive"}


def test_verdict_rule():
    assert verdict(-0.3, -0.1, -1) == "reproduced"
    assert verdict(0.1, 0.3, -1) == "not reproduced"
    assert verdict(-0.1, 0.2, -1) == "inconclusive"
