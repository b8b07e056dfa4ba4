"""Tests for pruning criteria, global masks and the checkpointed round driver (nevolab.pruning)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.masked import flatten_mask
from nevolab.pruning.criteria import CRITERIA, Criterion, PruneInputs, get_criterion, register_criterion
from nevolab.pruning.es import PruningProblem, run_es_imp
from nevolab.pruning.masks import (
    Layout,
    kept_counts,
    next_ticket,
    prunable_flat,
    prunable_segments,
    top_k_mask,
)
from nevolab.pruning.rounds import ImpPlan
from nevolab.pruning.strategies import ESConfig, build_strategy, search_std

# --------------------------------------------------------------------------------------------
# A tiny regression problem (module level: the compiled rounds are cached per problem object)
# --------------------------------------------------------------------------------------------

_TARGET = jnp.array([[1.0, -0.5], [0.0, 2.0], [-1.5, 0.0], [0.5, 0.0]])


def _init(key):
    k1, k2 = jax.random.split(key)
    return {"dense": {"kernel": jax.random.normal(k1, (4, 2)), "bias": jax.random.uniform(k2, (2,))}}


def _loss(params, key):
    x = jax.random.normal(key, (32, 4))
    prediction = x @ params["dense"]["kernel"] + params["dense"]["bias"]
    return jnp.mean((prediction - x @ _TARGET) ** 2)


def _test(params, key):
    return -_loss(params, jax.random.PRNGKey(123))


TOY = PruningProblem("toy-linear-4x2", _init, _loss, _test)
TOY_ES = ESConfig("SNES", population_size=16, generations=25, std_init=0.2)
TOY_KERNELS = 8


def run_pruning_many(problem, config, criteria, rounds=2, prune_fraction=0.5, seeds=(0,), checkpoint_dir=None,
                     on_round=None):
    """The ES run on the toy problem (8 prunable kernels) with the schedule as keywords."""
    plan = ImpPlan(tuple(seeds), rounds, prune_fraction, TOY_KERNELS)
    return run_es_imp(problem, config, criteria, plan, checkpoint_dir, on_round)


def run_pruning(problem, config, criterion="snr", **kwargs):
    """One criterion's result of :func:`run_pruning_many`."""
    return run_pruning_many(problem, config, [criterion], **kwargs)[criterion]


def prune_mask(scores, current_mask, prune_fraction):
    """One global magnitude step over a pytree with the real API: keep round(remaining * (1 - f)) of the
    remaining prunable (non-bias) weights by one threshold; non-prunable entries keep their mask."""
    flat_scores = jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree_util.tree_leaves(scores)])
    mask = flatten_mask(scores, current_mask)
    prunable = prunable_flat(scores)
    remaining = int(np.sum(mask & prunable))
    kept = top_k_mask(flat_scores, jnp.asarray(mask & prunable), kept_counts(remaining, prune_fraction, 2)[1])
    new_flat = np.where(prunable, np.asarray(kept), mask)
    leaves, treedef = jax.tree_util.tree_flatten(scores)
    sizes = np.cumsum([0] + [np.size(leaf) for leaf in leaves])
    out = [new_flat[a:b].reshape(np.shape(leaf)) for a, b, leaf in zip(sizes[:-1], sizes[1:], leaves)]
    return jax.tree_util.tree_unflatten(treedef, out)

# --------------------------------------------------------------------------------------------
# Sparsity schedule
# --------------------------------------------------------------------------------------------


def test_schedule_reaches_1_44_percent_after_20_rounds():
    """The paper's 20 trained networks go 100 % → 0.8^19 = 1.44 % (the figures' x-ticks)."""
    num_prunable = 11_240  # the paper's CNN kernels
    kept = kept_counts(num_prunable, 0.2, 20)
    percent = 100.0 * kept / num_prunable
    assert kept[0] == num_prunable
    np.testing.assert_allclose(percent[[0, 5, 10, 15, 19]], [100.0, 32.77, 10.74, 3.52, 1.44], atol=0.01)
    assert np.all(np.diff(kept) < 0)


def test_bad_fraction_raises():
    for fraction in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="prune_fraction"):
            kept_counts(100, fraction, 3)


# --------------------------------------------------------------------------------------------
# Global masks
# --------------------------------------------------------------------------------------------


def _pytree_scores():
    return {
        "a": {"kernel": jnp.array([[5.0, 1.0], [2.0, 9.0]]), "bias": jnp.array([-100.0, -100.0])},
        "b": {"kernel": jnp.array([3.0, 7.0, 0.5, 8.0, 4.0, 6.0])},
    }


def test_prune_mask_uses_one_global_threshold_and_never_prunes_biases():
    scores = _pytree_scores()
    mask = jax.tree_util.tree_map(lambda s: np.ones(np.shape(s), bool), scores)
    new = prune_mask(scores, mask, 0.5)  # 10 kernel weights -> keep 5: scores 9, 8, 7, 6, 5
    np.testing.assert_array_equal(new["a"]["kernel"], [[True, False], [False, True]])
    np.testing.assert_array_equal(new["b"]["kernel"], [False, True, False, True, False, True])
    np.testing.assert_array_equal(new["a"]["bias"], [True, True])  # lowest scores, never pruned


def test_prune_mask_removes_a_fraction_of_the_remaining_and_keeps_pruned_pruned():
    scores = _pytree_scores()
    mask = jax.tree_util.tree_map(lambda s: np.ones(np.shape(s), bool), scores)
    mask["b"]["kernel"] = np.array([True, False, True, False, True, True])  # 8 and 7 already pruned
    new = prune_mask(scores, mask, 0.25)  # 8 remaining kernels -> keep 6
    kept = np.concatenate([new["a"]["kernel"].ravel(), new["b"]["kernel"]])
    assert kept.sum() == 6
    assert not new["b"]["kernel"][1] and not new["b"]["kernel"][3]  # high scores, but already pruned
    np.testing.assert_array_equal(new["a"]["kernel"], [[True, False], [True, True]])  # 1 and 0.5 go
    np.testing.assert_array_equal(new["b"]["kernel"], [True, False, False, False, True, True])


def test_top_k_ties_keep_the_lower_index_and_nan_scores_go_first():
    scores = jnp.array([1.0, 1.0, jnp.nan, 1.0, 0.5])
    kept = top_k_mask(scores, jnp.ones(5, bool), 2)
    np.testing.assert_array_equal(np.asarray(kept), [True, True, False, False, False])
    kept = top_k_mask(scores, jnp.array([False, True, True, True, True]), 3)
    np.testing.assert_array_equal(np.asarray(kept), [False, True, False, True, True])


def test_prunable_default_excludes_bias_leaves():
    params = _init(jax.random.PRNGKey(0))
    flat = prunable_flat(params)
    # ravel order: dense/bias (2) then dense/kernel (8)
    np.testing.assert_array_equal(flat, [False, False] + [True] * 8)
    assert prunable_segments(params, flat) == ((2, 10),)


# --------------------------------------------------------------------------------------------
# Criteria and the search std they read
# --------------------------------------------------------------------------------------------


def test_unknown_criterion_and_duplicate_registration_raise():
    with pytest.raises(ValueError, match=r"unknown criterion 'snip'.*magnitude"):
        get_criterion("snip")
    with pytest.raises(ValueError, match="already registered"):
        register_criterion(Criterion("magnitude", lambda inputs, key: inputs.final_mean))
    assert {"magnitude", "snr", "snr_faithful", "random", "permute_values", "permute_mask"} <= set(CRITERIA)


def test_snr_and_magnitude_disagree_where_the_std_is_large():
    inputs = PruneInputs(
        final_mean=jnp.array([3.0, 1.0, 0.5, 2.0]),
        final_std=jnp.array([10.0, 0.1, 0.1, 1.0]),
        final_std_faithful=jnp.array([10.0, 0.1, 0.1, 1.0]),
        start_values=jnp.zeros(4),
        mask=jnp.ones(4, bool),
    )
    key = jax.random.PRNGKey(0)
    candidates = jnp.ones(4, bool)
    by_magnitude = top_k_mask(get_criterion("magnitude").score(inputs, key), candidates, 2)
    by_snr = top_k_mask(get_criterion("snr").score(inputs, key), candidates, 2)
    np.testing.assert_array_equal(np.asarray(by_magnitude), [True, False, False, True])
    np.testing.assert_array_equal(np.asarray(by_snr), [False, True, True, False])


@pytest.mark.parametrize("strategy", ["Sep_CMA_ES", "SNES"])
def test_search_std_is_the_std_of_the_samples(strategy):
    """σ from the state must be the per-dimension std of what ``ask`` samples (after a tell that
    made it anisotropic); for Sep-CMA-ES that is std·sqrt(C), not the original's C."""
    dims = 6
    es, params = build_strategy(ESConfig(strategy, population_size=16, generations=1, std_init=0.3), dims)
    state = es.init(jax.random.PRNGKey(0), jnp.zeros(dims), params)
    scale = jnp.array([100.0, 1.0, 1.0, 1.0, 1.0, 0.01])

    def loss(x):
        return jnp.sum(scale * (x - 1.0) ** 2)

    for i in range(10):
        population, state = es.ask(jax.random.PRNGKey(10 + i), state, params)
        state, _ = es.tell(jax.random.PRNGKey(50 + i), population, jax.vmap(loss)(population), state, params)
    sigma = np.asarray(search_std(strategy, state))
    # 250 more asks with the compiled function: 4,000 samples of the current search distribution.
    samples = np.concatenate([np.asarray(es.ask(jax.random.PRNGKey(1000 + i), state, params)[0])
                              for i in range(250)])
    np.testing.assert_allclose(np.std(samples, axis=0), sigma, rtol=0.08)
    assert sigma.max() / sigma.min() > 1.05  # the test is not vacuous: σ differs between dimensions
    if strategy == "Sep_CMA_ES":
        faithful = search_std(strategy, state, faithful=True)
        np.testing.assert_allclose(np.asarray(faithful), np.asarray(state.C))


def test_search_std_rejects_unknown_strategy():
    with pytest.raises(ValueError, match=r"unknown strategy 'OpenES'.*Sep_CMA_ES"):
        search_std("OpenES", None)
    with pytest.raises(ValueError, match="unknown strategy"):
        ESConfig("OpenES", 8, 1, 0.1)


# --------------------------------------------------------------------------------------------
# Rewinds: permutation and random controls
# --------------------------------------------------------------------------------------------

_SEGMENTS = ((0, 6), (6, 10))  # two "layers" of kernels; positions 10, 11 are biases
_PRUNABLE = jnp.array([True] * 10 + [False, False])
_INIT = jnp.arange(1.0, 13.0)  # distinct values so permutations are visible


def _inputs():
    mean = jnp.array([9.0, 0.1, 8.0, 0.2, 7.0, 6.0, 0.3, 5.0, 0.4, 4.0, 0.0, 0.0])
    return PruneInputs(final_mean=mean, final_std=jnp.ones(12), final_std_faithful=jnp.ones(12),
                       start_values=_INIT, mask=jnp.ones(12, bool))


def _ticket(name, seed=0):
    def reinit(key):
        return jax.random.normal(key, (12,)) + 100.0

    return next_ticket(get_criterion(name), _inputs(), jax.random.PRNGKey(seed), _INIT, 6,
                       Layout(_PRUNABLE, _SEGMENTS, reinit))


def test_magnitude_rewinds_survivors_to_init():
    mask, values = _ticket("magnitude")
    expected = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1], bool)
    np.testing.assert_array_equal(np.asarray(mask), expected)
    np.testing.assert_array_equal(np.asarray(values), np.where(expected, np.asarray(_INIT), 0.0))


def test_permute_values_keeps_the_mask_and_shuffles_within_layers():
    magnitude_mask, _ = _ticket("magnitude")
    for seed in range(3):
        mask, values = _ticket("permute_values", seed)
        np.testing.assert_array_equal(np.asarray(mask), np.asarray(magnitude_mask))
        v, init, m = np.asarray(values), np.asarray(_INIT), np.asarray(mask)
        for a, b in _SEGMENTS:
            assert sorted(v[a:b][m[a:b]]) == sorted(init[a:b][m[a:b]])
        np.testing.assert_array_equal(v[10:], init[10:])  # biases untouched
    rewound = np.where(np.asarray(magnitude_mask), np.asarray(_INIT), 0.0)
    shuffled = [np.asarray(_ticket("permute_values", s)[1]) for s in range(5)]
    assert any(not np.array_equal(s, rewound) for s in shuffled)


def test_permute_mask_keeps_layer_sparsity_and_values():
    magnitude_mask, _ = _ticket("magnitude")
    masks = []
    for seed in range(5):
        mask, values = _ticket("permute_mask", seed)
        m, mm, v, init = (np.asarray(x) for x in (mask, magnitude_mask, values, _INIT))
        masks.append(m)
        for a, b in _SEGMENTS:
            assert m[a:b].sum() == mm[a:b].sum()  # per-layer sparsity preserved
            assert sorted(v[a:b][m[a:b]]) == sorted(init[a:b][mm[a:b]])  # the magnitude ticket's values
            assert np.all(v[a:b][~m[a:b]] == 0.0)
        assert m[10:].all()
    assert any(not np.array_equal(m, np.asarray(magnitude_mask)) for m in masks)


def test_random_mask_is_sparsity_matched_over_all_kernels_with_fresh_values():
    masks = []
    for seed in range(8):
        mask, values = _ticket("random", seed)
        m, v = np.asarray(mask), np.asarray(values)
        assert m[:10].sum() == 6 and m[10:].all()
        assert np.all(v[m] > 90.0)  # fresh initialisation (reinit adds 100), not the rewound init
        masks.append(m)
    # candidates are all kernels: across seeds every kernel position is kept at least once
    assert np.any(masks, axis=0)[:10].all()


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


class _Exploding:
    """A problem whose network cannot even be built: validation must come first."""

    name = "exploding"
    prunable = None

    def init_params(self, key):
        raise AssertionError("compute started before validation")

    train_loss = test_score = init_params


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"criterion": "snip"}, "unknown criterion"),
        ({"rounds": 0}, "rounds must be an integer >= 1"),
        ({"prune_fraction": 1.0}, "prune_fraction must be in"),
        ({"seeds": ()}, "seeds must be"),
    ],
)
def test_run_pruning_validates_before_compute(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_pruning(_Exploding(), TOY_ES, **{"criterion": "snr", "rounds": 2, **kwargs})


def test_checkpoint_resume_reproduces_the_uninterrupted_run(tmp_path):
    seeds = (0, 7)
    full = run_pruning(TOY, TOY_ES, "snr", rounds=2, prune_fraction=0.5, seeds=seeds)
    # "Interrupted" after the first round, then resumed from the checkpoint.
    run_pruning(TOY, TOY_ES, "snr", rounds=1, prune_fraction=0.5, seeds=seeds, checkpoint_dir=tmp_path)
    assert (tmp_path / "pruning_state.npz").exists() and (tmp_path / "pruning_progress.json").exists()
    resumed = run_pruning(TOY, TOY_ES, "snr", rounds=2, prune_fraction=0.5, seeds=seeds,
                          checkpoint_dir=tmp_path)
    for name, array in full.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[name], array, err_msg=name)
    np.testing.assert_array_equal(resumed.next_mask, full.next_mask)
    assert resumed.to_frame().equals(full.to_frame())
    with pytest.raises(ValueError, match="different run"):
        run_pruning(TOY, TOY_ES, "magnitude", rounds=2, prune_fraction=0.5, seeds=seeds,
                    checkpoint_dir=tmp_path)

    # Invariants of the loop, on the same run.
    masks, starts, means = full.masks, full.start_values, full.final_mean
    assert masks.shape == (2, 2, 10)
    np.testing.assert_array_equal(masks[0], True)  # round 0 is dense
    np.testing.assert_array_equal(masks[1].sum(-1), [2 + 4, 2 + 4])  # 8 kernels -> 4, biases kept
    assert np.all(masks[1][:, :2])  # biases never pruned
    np.testing.assert_array_equal(means[1][~masks[1]], 0.0)  # pruned weights stay zero
    np.testing.assert_array_equal(starts[1], np.where(masks[1], starts[0], 0.0))  # rewound to init
    assert not np.array_equal(starts[0][0], starts[0][1])  # seeds differ
    # the surviving kernels are those with the largest |mean| / σ after round 0
    snr = np.abs(means[0]) / full.final_std[0]
    for s in range(2):
        top = np.argsort(-snr[s, 2:], kind="stable")[:4] + 2
        assert set(np.flatnonzero(masks[1][s, 2:]) + 2) == set(top)
    # training works: the dense round ends with a lower loss than its first generation
    assert np.all(full.mean_loss_curve[0, :, -1] < full.mean_loss_curve[0, :, 0])
    frame = full.to_frame()
    assert list(frame["weights_remaining"].unique()) == [100.0, 50.0]
    assert set(frame.columns) >= {"seed", "round", "weights_remaining", "test_performance"}


class _Interrupt(Exception):
    pass


def test_interrupted_run_resumes_with_identical_numbers(tmp_path):
    """A crash after round 1 (raised from the progress hook, after that round's checkpoint) and a
    resumed call give exactly the numbers of an uninterrupted 3-round run."""
    seeds, criteria = (1, 2), ("snr", "random", "permute_mask")
    full = run_pruning_many(TOY, TOY_ES, criteria, rounds=3, prune_fraction=0.5, seeds=seeds)

    def crash(done):
        if done == 1:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        run_pruning_many(TOY, TOY_ES, criteria, rounds=3, prune_fraction=0.5, seeds=seeds,
                         checkpoint_dir=tmp_path, on_round=crash)
    completed = []
    resumed = run_pruning_many(TOY, TOY_ES, criteria, rounds=3, prune_fraction=0.5, seeds=seeds,
                               checkpoint_dir=tmp_path, on_round=completed.append)
    assert completed == [2, 3]  # round 1 came from the checkpoint
    for name in criteria:
        for key, array in full[name].arrays.items():
            np.testing.assert_array_equal(resumed[name].arrays[key], array, err_msg=f"{name}/{key}")
        assert resumed[name].to_frame().equals(full[name].to_frame())


def test_criteria_batched_together_match_separate_runs():
    """Batching criteria is only a speed-up: each criterion's run equals its own single run (up to
    float rounding from the larger batch) and round 0 (the dense network) is shared."""
    seeds = (3, 4)
    many = run_pruning_many(TOY, TOY_ES, ("magnitude", "snr"), rounds=2, prune_fraction=0.5, seeds=seeds)
    np.testing.assert_array_equal(many["magnitude"].final_mean[0], many["snr"].final_mean[0])
    for name in ("magnitude", "snr"):
        single = run_pruning(TOY, TOY_ES, name, rounds=2, prune_fraction=0.5, seeds=seeds)
        np.testing.assert_array_equal(many[name].masks, single.masks)
        np.testing.assert_allclose(many[name].final_mean, single.final_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(many[name].test_score, single.test_score, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="distinct"):
        run_pruning_many(TOY, TOY_ES, ("snr", "snr"), rounds=1, seeds=seeds)
