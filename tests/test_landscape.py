"""Known-answer tests for the loss-landscape measurements (nevolab.landscape)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab import landscape

# A two-layer "network": a conv-shaped kernel (kh, kw, in, out), a dense kernel (in, out) and biases.
_PARAMS = {
    "conv": {"kernel": jax.random.normal(jax.random.PRNGKey(1), (3, 3, 2, 4)), "bias": jnp.arange(4.0)},
    "dense": {"kernel": jax.random.normal(jax.random.PRNGKey(2), (5, 3)), "bias": jnp.ones(3)},
}


def tree_sq_norm(tree) -> jax.Array:
    """‖tree‖², summed over all leaves."""
    return sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree_util.tree_leaves(tree))


def _half_quadratic(curvature: float):
    """L(θ) = ½ c ‖θ‖² over every leaf: its curvature along d is exactly c‖d‖²."""
    return lambda params: 0.5 * curvature * tree_sq_norm(params)


def _kernel_sq_norm(params, mask=None):
    mask = mask or jax.tree_util.tree_map(lambda leaf: jnp.ones(leaf.shape, bool), params)
    return sum(float(jnp.sum((params[layer]["kernel"] * mask[layer]["kernel"]) ** 2)) for layer in params)


# ------------------------------------------------------------------------------------------------
# Error barrier
# ------------------------------------------------------------------------------------------------


def test_barrier_is_zero_on_a_convex_loss_with_unequal_endpoints():
    centre = jnp.array([0.3, -1.0, 2.0])

    def loss(theta):
        return jnp.sum((theta - centre) ** 2) + jnp.sum(jnp.exp(theta))

    theta_a, theta_b = jnp.array([2.0, 1.0, -1.0]), jnp.array([-1.0, 0.5, 3.0])
    assert float(landscape.error_barrier(loss, theta_a, theta_b)) == pytest.approx(0.0, abs=1e-5)
    # Frankle et al.'s mean reference is half the endpoint gap on a convex loss (the max sits at an end).
    l_a, l_b = float(loss(theta_a)), float(loss(theta_b))
    mean_form = landscape.error_barrier(loss, theta_a, theta_b, reference="mean")
    assert float(mean_form) == pytest.approx(abs(l_a - l_b) / 2, rel=1e-5)


def test_barrier_of_a_double_well_is_its_hump():
    # L(θ) = (θ² − 1)²: minima at ±1 with loss 0, L(0) = 1 at α = ½: a barrier of exactly 1.
    def loss(theta):
        return jnp.sum((theta**2 - 1.0) ** 2)

    alphas = jnp.linspace(0.0, 1.0, 11)
    losses = landscape.interpolation_losses(loss, jnp.array([-1.0]), jnp.array([1.0]), alphas)
    np.testing.assert_allclose(losses, (((2 * alphas - 1) ** 2 - 1) ** 2), atol=1e-6)
    barrier = landscape.error_barrier(loss, jnp.array([-1.0]), jnp.array([1.0]), alphas)
    assert float(barrier) == pytest.approx(1.0)
    # Batched evaluation (lax.map) gives the same numbers.
    batched = landscape.interpolation_losses(loss, jnp.array([-1.0]), jnp.array([1.0]), alphas, batch_size=4)
    np.testing.assert_allclose(batched, losses, rtol=1e-6)


def test_barrier_works_on_pytrees_and_under_jit():
    # θ_B on the sphere ‖θ‖² = 10 and θ_A = −θ_B: L = (‖θ‖² − 10)² is 0 at both ends, and the path
    # passes through θ = 0 (L = 100) at α = ½, a point of the default grid: a barrier of 100.
    scale = np.sqrt(10.0 / float(tree_sq_norm(_PARAMS)))
    theta_b = jax.tree_util.tree_map(lambda x: scale * x, _PARAMS)
    theta_a = jax.tree_util.tree_map(lambda x: -x, theta_b)

    def loss(params):
        return (tree_sq_norm(params) - 10.0) ** 2

    jitted = jax.jit(lambda a, b: landscape.error_barrier(loss, a, b))
    assert float(jitted(theta_a, theta_b)) == pytest.approx(100.0, rel=1e-4)


def test_barrier_rejects_alphas_without_endpoints():
    with pytest.raises(ValueError, match="start at 0"):
        landscape.error_barrier(jnp.sum, jnp.zeros(2), jnp.ones(2), jnp.linspace(0.1, 1.0, 5))
    with pytest.raises(ValueError, match="reference"):
        landscape.barrier_from_losses(jnp.linspace(0, 1, 3), jnp.zeros(3), reference="max")


# ------------------------------------------------------------------------------------------------
# Filter-normalised directions
# ------------------------------------------------------------------------------------------------


def _filter_norms(kernel):
    return np.sqrt(np.sum(np.square(np.asarray(kernel)).reshape(-1, kernel.shape[-1]), axis=0))


def test_every_filter_of_the_direction_has_the_weights_filter_norm():
    direction = landscape.filter_normalized_direction(jax.random.PRNGKey(0), _PARAMS)
    for layer in _PARAMS:
        np.testing.assert_allclose(_filter_norms(direction[layer]["kernel"]),
                                   _filter_norms(_PARAMS[layer]["kernel"]), rtol=1e-5)
        # Biases are not perturbed (Li et al.'s ignore='biasbn').
        np.testing.assert_array_equal(direction[layer]["bias"], 0.0)
        # The direction is random, not the weights themselves.
        assert not np.allclose(direction[layer]["kernel"], _PARAMS[layer]["kernel"])
    kept = landscape.filter_normalized_direction(jax.random.PRNGKey(0), _PARAMS, biases="weights")
    np.testing.assert_array_equal(kept["conv"]["bias"], _PARAMS["conv"]["bias"])


def test_masked_weights_get_zero_direction_and_filters_the_surviving_norm():
    flat, _ = ravel_pytree(_PARAMS)
    flat_mask = jax.random.bernoulli(jax.random.PRNGKey(3), 0.4, flat.shape)
    mask = landscape.unflatten_like(_PARAMS, flat_mask)
    assert mask["conv"]["kernel"].dtype == jnp.bool_
    # A whole filter pruned: its direction must be 0, not NaN.
    mask["dense"]["kernel"] = mask["dense"]["kernel"].at[:, 1].set(False)
    ticket = jax.tree_util.tree_map(lambda w, m: w * m, _PARAMS, mask)
    direction = landscape.filter_normalized_direction(jax.random.PRNGKey(0), ticket, mask)
    for layer in _PARAMS:
        d, m = np.asarray(direction[layer]["kernel"]), np.asarray(mask[layer]["kernel"])
        assert np.all(np.isfinite(d))
        np.testing.assert_array_equal(d[~m], 0.0)
        np.testing.assert_allclose(_filter_norms(d), _filter_norms(ticket[layer]["kernel"]), rtol=1e-5)
    np.testing.assert_array_equal(direction["dense"]["kernel"][:, 1], 0.0)
    # Normalising to the dense weights instead: still zero off the ticket, filters at the survivors' norm.
    dense_ref = landscape.filter_normalized_direction(jax.random.PRNGKey(0), _PARAMS, mask)
    np.testing.assert_allclose(dense_ref["conv"]["kernel"], direction["conv"]["kernel"], rtol=1e-6)


def test_random_directions_are_distinct_and_stacked():
    directions = landscape.random_directions(jax.random.PRNGKey(0), _PARAMS, 3)
    assert directions["conv"]["kernel"].shape == (3, 3, 3, 2, 4)
    assert not np.allclose(directions["conv"]["kernel"][0], directions["conv"]["kernel"][1])


def test_unflatten_like_inverts_ravel_pytree():
    flat, unravel = ravel_pytree(_PARAMS)
    back = landscape.unflatten_like(_PARAMS, flat)
    for a, b in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(unravel(flat))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="entries"):
        landscape.unflatten_like(_PARAMS, flat[:-1])


# ------------------------------------------------------------------------------------------------
# Sharpness and surfaces
# ------------------------------------------------------------------------------------------------


def test_quadratic_curvature_recovers_known_coefficients():
    steps = jnp.linspace(-1.0, 1.0, 9)
    losses = jnp.stack([3.0 * steps**2 - steps + 2.0, 0.5 * steps**2 + 4.0 * steps])
    np.testing.assert_allclose(landscape.quadratic_curvature(steps, losses), [6.0, 1.0], rtol=1e-5)


def test_sharpness_equals_known_curvature_and_orders_two_quadratics():
    # L = ½ c ‖θ‖²: along a filter-normalised d the loss is ½c‖θ‖² + c t θ·d + ½ c t² ‖d‖², so the
    # fitted curvature is c‖d‖², and ‖d‖² = Σ_filters ‖θ_f‖² = ‖kernels‖² (biases get no direction).
    steps = jnp.linspace(-0.5, 0.5, 11)
    key = jax.random.PRNGKey(7)
    flat = landscape.sharpness(_half_quadratic(1.0), _PARAMS, key, steps, num_directions=4)
    sharp = landscape.sharpness(_half_quadratic(8.0), _PARAMS, key, steps, num_directions=4)
    assert flat.losses.shape == (4, 11) and flat.curvatures.shape == (4,)
    kernel_norm = _kernel_sq_norm(_PARAMS)
    np.testing.assert_allclose(flat.curvatures, 1.0 * kernel_norm, rtol=1e-4)
    np.testing.assert_allclose(sharp.curvatures, 8.0 * kernel_norm, rtol=1e-4)
    assert float(sharp.curvature) > float(flat.curvature)
    assert float(sharp.curvature) / float(flat.curvature) == pytest.approx(8.0, rel=1e-4)
    # Batched evaluation gives the same losses.
    batched = landscape.sharpness(_half_quadratic(1.0), _PARAMS, key, steps, num_directions=4, batch_size=7)
    np.testing.assert_allclose(batched.losses, flat.losses, rtol=1e-5)


def test_sharpness_on_a_ticket_uses_only_surviving_weights():
    flat_mask = jax.random.bernoulli(jax.random.PRNGKey(4), 0.5, ravel_pytree(_PARAMS)[0].shape)
    mask = landscape.unflatten_like(_PARAMS, flat_mask)
    ticket = jax.tree_util.tree_map(lambda w, m: w * m, _PARAMS, mask)
    result = landscape.sharpness(_half_quadratic(2.0), ticket, jax.random.PRNGKey(0), jnp.linspace(-1, 1, 7),
                                 num_directions=2, mask=mask)
    np.testing.assert_allclose(result.curvatures, 2.0 * _kernel_sq_norm(_PARAMS, mask), rtol=1e-4)


def test_loss_surface_matches_the_closed_form():
    # L(θ) = ½‖θ‖² with orthogonal unit directions e1, e2 at θ = 0: the surface is ½(x² + y²).
    params = jnp.zeros(3)
    e1, e2 = jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0])
    xs, ys = jnp.linspace(-1, 1, 5), jnp.linspace(-2, 2, 3)
    surface = landscape.loss_surface(_half_quadratic(1.0), params, e1, e2, xs, ys)
    assert surface.shape == (5, 3)
    np.testing.assert_allclose(surface, 0.5 * (xs[:, None] ** 2 + ys[None, :] ** 2), rtol=1e-6)
    batched = landscape.loss_surface(_half_quadratic(1.0), params, e1, e2, xs, ys, batch_size=4)
    np.testing.assert_allclose(batched, surface, rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# Rank correlations and the SNR advantage
# ------------------------------------------------------------------------------------------------


def test_spearman_is_one_for_an_unchanged_vector_and_minus_one_reversed():
    x = np.array([0.3, 2.0, -1.0, 5.0, 0.1])
    assert landscape.spearman(x, x) == pytest.approx(1.0)
    assert landscape.spearman(x, np.exp(x)) == pytest.approx(1.0)  # monotone: ranks unchanged
    assert landscape.spearman(x, -x) == pytest.approx(-1.0)
    assert landscape.spearman(np.arange(6), np.arange(6)[::-1]) == pytest.approx(-1.0)
    assert np.isnan(landscape.spearman(x, np.ones_like(x)))
    with pytest.raises(ValueError, match="same length"):
        landscape.spearman(x, x[:-1])


def test_survivor_rank_correlation_uses_the_last_rounds_survivors():
    rng = np.random.default_rng(0)
    rounds, seeds, params = 3, 2, 12
    masks = np.ones((rounds, seeds, params), bool)
    masks[1, :, :3] = False
    masks[2, :, :6] = False  # survivors: positions 6..11
    base = rng.normal(size=(seeds, params))
    values = np.stack([base, base * 2.0 + 1.0, base.copy()])
    # Round 2 reverses the order of the survivors only; the pruned positions are scrambled and ignored.
    values[2, :, 6:] = -base[:, 6:]
    values[2, :, :6] = rng.normal(size=(seeds, 6))
    per_seed = landscape.survivor_rank_correlation(values, masks, average_seeds=False)
    np.testing.assert_allclose(per_seed, [[1, 1], [1, 1], [-1, -1]], atol=1e-12)
    np.testing.assert_allclose(landscape.survivor_rank_correlation(values, masks), [1.0, 1.0, -1.0])
    # Non-prunable positions (biases) are left out even when they survive.
    prunable = np.ones(params, bool)
    prunable[-1] = False
    values[2, :, -1] = 1e6
    np.testing.assert_allclose(landscape.survivor_rank_correlation(values, masks, prunable), [1.0, 1.0, -1.0])


def test_snr_is_zero_where_pruned():
    np.testing.assert_allclose(landscape.snr([-2.0, 1.0, 3.0], [0.5, np.inf, 1.0]), [4.0, 0.0, 3.0])


def test_relative_snr_advantage():
    snr_perf = np.array([0.9, 0.8, 0.6])
    imp_perf = np.array([0.9, 0.7, 0.3])
    np.testing.assert_allclose(landscape.relative_snr_advantage(snr_perf, imp_perf),
                               [0.0, 0.1 / 0.9, 0.3 / 0.9])
    # (R, S): seeds averaged first; negative scores (returns) keep the sign: SNR better → positive.
    snr_seeds = np.array([[-200.0, -220.0], [-300.0, -320.0]])
    imp_seeds = np.array([[-200.0, -220.0], [-400.0, -420.0]])
    np.testing.assert_allclose(landscape.relative_snr_advantage(snr_seeds, imp_seeds), [0.0, 100.0 / 210.0])
    with pytest.raises(ValueError, match="shape"):
        landscape.relative_snr_advantage(snr_perf, imp_perf[:2])
