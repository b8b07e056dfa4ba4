"""A tiny landscape run on 8×8 digits: the arrays pages B6/B7 read, and the landscape measures on them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.studies.b import landscape_runs

_RUN = landscape_runs.LandscapeRun(
    task="digits", strategy="Sep_CMA_ES", criteria=("snr", "magnitude"), rounds=2, prune_fraction=0.5,
    seeds=(0, 1), generations=3, population=8, task_kwargs={"batch_size": 32, "features": (2, 2)},
    gd_epochs=1)


@pytest.fixture(scope="module")
def task():
    return landscape_runs.build_task(_RUN)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="module")
def arrays(tmp_path_factory, checkpoints):
    computed = landscape_runs.landscape_arrays(_RUN, checkpoints)
    directory = tmp_path_factory.mktemp("arrays")
    landscape_runs.save_arrays(directory, computed)
    return computed, landscape_runs.load_arrays(directory)


def test_every_method_keeps_networks_masks_and_init(arrays, task):
    computed, loaded = arrays
    assert sorted(computed) == ["es_magnitude", "es_snr", "gd_adam"]
    num_params = int(ravel_pytree(landscape_runs.template(task))[0].size)
    inits = np.stack([ravel_pytree(task.init_params(jax.random.PRNGKey(s)))[0] for s in _RUN.seeds])
    for method, values in computed.items():
        assert values["params"].shape == (2, 2, num_params) and values["masks"].shape == (2, 2, num_params)
        assert values["test_score"].shape == (2, 2)
        np.testing.assert_allclose(values["init"], inits, rtol=1e-6)  # same θ₀ per seed for ES and GD
        np.testing.assert_allclose(values["weights_remaining"], [100.0, 50.0], atol=0.1)
        masks, prunable = values["masks"], values["prunable"]
        assert masks[0].all()
        assert (masks[1][:, prunable].sum(axis=1) == round(prunable.sum() * 0.5)).all()
        assert (masks[1][:, ~prunable]).all()  # biases are never pruned
        np.testing.assert_array_equal(values["params"][~masks], 0.0)
        for name, array in values.items():
            np.testing.assert_array_equal(loaded[method][name], array)


def test_es_keeps_std_and_snr_and_magnitude_prunes_by_the_kept_mean(arrays):
    computed, _ = arrays
    es = computed["es_magnitude"]
    masks, prunable = es["masks"], es["prunable"]
    assert np.isinf(es["std"][~masks]).all() and (es["std"][masks] > 0).all()
    np.testing.assert_allclose(es["snr"], np.abs(es["params"]) / es["std"])
    np.testing.assert_array_equal(es["snr"][~masks], 0.0)
    # Round 1's ticket is the half of the kernels with the largest |θ| after round 0.
    for s in range(2):
        magnitude = np.abs(es["params"][0, s][prunable])
        kept = masks[1, s][prunable]
        assert magnitude[kept].min() >= magnitude[~kept].max()
    assert "std" not in computed["gd_adam"]


def test_flat_objectives_match_the_runs_test_scores(arrays, task):
    computed, _ = arrays
    test_loss, test_error = landscape_runs.flat_objectives(task)
    for values in computed.values():
        error = jax.vmap(test_error)(jnp.asarray(values["params"][:, 0]))
        np.testing.assert_allclose(error, 1.0 - values["test_score"][:, 0], atol=1e-6)
        assert np.isfinite(float(test_loss(jnp.asarray(values["params"][0, 0]))))


def test_barriers_and_sharpness_over_the_kept_arrays(arrays, task):
    computed, _ = arrays
    test_loss, test_error = landscape_runs.flat_objectives(task)
    es, gd = computed["es_snr"], computed["gd_adam"]
    alphas = jnp.linspace(0.0, 1.0, 5)
    rounds = landscape_runs.consecutive_round_barriers(test_error, es["params"], alphas=alphas)
    seeds = landscape_runs.seed_pair_barriers(test_error, gd["params"], alphas=alphas)
    across = landscape_runs.pair_barriers(test_error, es["params"][1], gd["params"][1], alphas=alphas)
    assert rounds.shape == (1, 2) and seeds.shape == (2, 1) and across.shape == (2,)
    for barrier in (rounds, seeds, across):  # an error barrier lies in [0, 1] (α = 0 gives 0)
        assert ((barrier >= 0.0) & (barrier <= 1.0)).all()
    same = landscape_runs.pair_barriers(test_error, es["params"][0], es["params"][0], alphas=alphas)
    np.testing.assert_array_equal(same, 0.0)
    template = landscape_runs.template(task)
    steps = jnp.linspace(-0.5, 0.5, 5)
    key = jax.random.PRNGKey(0)
    own = landscape_runs.round_sharpness(test_loss, template, gd["params"], gd["masks"], key, steps,
                                         num_directions=2)
    dense = landscape_runs.round_sharpness(test_loss, template, gd["params"], gd["masks"], key, steps,
                                           num_directions=2, normalise_to="dense")
    assert own.shape == (2, 2, 2) and np.isfinite(own).all() and np.isfinite(dense).all()
    np.testing.assert_allclose(own[0], dense[0], rtol=1e-5)  # round 0 is the dense network itself


def test_round_sharpness_of_a_quadratic_is_known():
    # L = ½c‖θ‖² (flat): along a direction normalised to θ's filters within the ticket, the curvature
    # is c‖m⊙kernels‖² (biases get no direction). Here c = 3.
    template = {"conv": {"kernel": jnp.zeros((3, 3, 1, 2)), "bias": jnp.zeros(2)},
                "dense": {"kernel": jnp.zeros((4, 3)), "bias": jnp.zeros(3)}}
    size = int(ravel_pytree(template)[0].size)
    kernel = np.asarray(ravel_pytree({"conv": {"kernel": jnp.ones((3, 3, 1, 2)), "bias": jnp.zeros(2)},
                                      "dense": {"kernel": jnp.ones((4, 3)), "bias": jnp.zeros(3)}})[0], bool)
    rng = np.random.default_rng(0)
    params = rng.normal(size=(2, 1, size))
    masks = np.ones((2, 1, size), bool)
    masks[1, 0, rng.permutation(size)[:10]] = False
    params[~masks] = 0.0
    curvatures = landscape_runs.round_sharpness(lambda flat: 1.5 * jnp.sum(flat**2), template, params, masks,
                                                jax.random.PRNGKey(1), jnp.linspace(-1, 1, 5),
                                                num_directions=3)
    for r in range(2):
        expected = 3.0 * np.sum(params[r, 0][kernel & masks[r, 0]] ** 2)
        np.testing.assert_allclose(curvatures[r, 0], expected, rtol=1e-4)


def test_a_finished_run_reloads_from_its_checkpoints(arrays, checkpoints):
    computed, _ = arrays
    resumed = landscape_runs.landscape_arrays(_RUN, checkpoints)  # every round is done: nothing trains
    for method, values in computed.items():
        for name, array in values.items():
            np.testing.assert_array_equal(resumed[method][name], array)


def test_landscape_run_for_copies_a_shared_es_run():
    from nevolab.studies.b.runs import ESRun

    shared = ESRun(kind="es", task="digits", rounds=7, prune_fraction=0.5, seeds=(1, 2, 3), strategy="SNES",
                   criteria=("snr", "magnitude"), generations=100, population=32,
                   task_kwargs={"batch_size": 64})
    run = landscape_runs.landscape_run_for(shared, gd_epochs=40)
    copied = (run.task, run.strategy, run.rounds, run.seeds, run.generations, run.population, run.gd_epochs)
    assert copied == ("digits", "SNES", 7, (1, 2, 3), 100, 32, 40)
    assert run.hash() != landscape_runs.landscape_run_for(shared).hash()
