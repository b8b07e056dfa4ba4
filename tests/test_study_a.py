import numpy as np
import pandas as pd
import pytest

from nevolab.stats import verdict
from nevolab.studies.a import cases, runs
from nevolab.studies.a.claims import study_a_claims
from nevolab.studies.a.train import AERun
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


def test_claims_table_computes_verdicts():
    rng = np.random.default_rng(0)
    rows = []
    for case in ("I", "II"):
        for algorithm, centre in {"backprop": 0.2, "cosyne": 0.4, "de": 0.5, "ea": 0.6}.items():
            for repeat, value in enumerate(rng.normal(centre, 0.02, size=20)):
                rows.append({"case": case, "algorithm": algorithm, "repeat": repeat, "best_loss": value})
    claims = study_a_claims(pd.DataFrame(rows))
    by_claim = dict(zip(claims.claim, claims.verdict))
    assert by_claim["Backprop best overall — case I: backprop < best bio-inspired (cosyne)"] == "reproduced"
    assert by_claim["Case I: CoSyNE beats backprop on average"] == "not reproduced"
    assert by_claim["DE beats EA on feed-forward — case II: DE < EA"] == "reproduced"
    assert set(claims.verdict) <= {"reproduced", "not reproduced", "inconclusive"}


def test_verdict_rule():
    assert verdict(-0.3, -0.1, -1) == "reproduced"
    assert verdict(0.1, 0.3, -1) == "not reproduced"
    assert verdict(-0.1, 0.2, -1) == "inconclusive"


def _small_run(case: str, algorithm: str, generations: int) -> AERun:
    return AERun(case=case, algorithm=algorithm, hyperparameters=runs.best_hyperparameters(case, algorithm),
                 repeats=2, generations=generations, seed=3)


@pytest.mark.parametrize(("case", "algorithm"), [("I", "cosyne"), ("III", "de")])
def test_a_killed_run_resumes_with_identical_numbers(case, algorithm, tmp_path, monkeypatch):
    """Study A repeats run in checkpointed chunks; a kill after the first chunk, then a rerun, gives
    exactly the numbers of an uninterrupted (and of an unchunked) run."""
    from nevolab import runner

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path))
    run = _small_run(case, algorithm, 12)
    whole = runs.run_case(run, measure_time=False, chunk_length=12)
    saved = []
    real_save = runner.save_checkpoint

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        saved.append(args[0])
        raise KeyboardInterrupt("killed after the first chunk")

    monkeypatch.setattr(runner, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        runs.run_case(run, measure_time=False, chunk_length=5)
    assert saved and saved[0].exists()
    monkeypatch.setattr(runner, "save_checkpoint", real_save)
    resumed = runs.run_case(run, measure_time=False, chunk_length=5)
    assert not saved[0].exists()  # removed once the run is complete
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)


def test_run_keys_cover_the_run_and_its_version():
    run = _small_run("I", "cosyne", 10)
    assert run.hash() != _small_run("I", "cosyne", 11).hash()
    assert run.to_dict()["version"] == 3 and _small_run("III", "cosyne", 10).to_dict()["version"] == 1
