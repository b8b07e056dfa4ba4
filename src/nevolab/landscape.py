"""Loss-landscape measurements of trained networks (Study B, Figs 6 and 7 of Lange & Sprekeler 2023).

Pure functions over parameter pytrees (a flat vector is a one-leaf pytree); ``loss_fn`` is always a
pure, jittable ``params -> scalar``. The recipes, and why these ones (the original's notebooks for
Figs 6/7 are not public, ``originals.md`` §2.4):

**Error barrier** (linear mode connectivity). Along θ(α) = (1−α)θ_A + αθ_B on a grid of α ∈ [0, 1],

    barrier = max_α [ L(θ(α)) − ((1−α) L(θ_A) + α L(θ_B)) ]        (``reference="linear"``, default)

the largest rise of the loss above the chord between the endpoint losses (Entezari et al. 2022's
form). It is 0 for a convex loss (the chord lies above the curve, and α = 0, 1 give 0), whatever the
endpoint losses. Frankle et al. 2020 ("Linear mode connectivity and the lottery ticket hypothesis")
subtract the *mean* of the endpoint errors instead, max_α L(θ(α)) − ½(L(θ_A) + L(θ_B))
(``reference="mean"``); the two agree when the endpoint losses are equal, and the mean form is at least
|L(θ_A) − L(θ_B)|/2 even without any barrier. The paper measures it on the test error (1 − accuracy).

**Filter-normalised directions** (Li et al. 2018, "Visualizing the loss landscape of neural nets"). From a
Gaussian draw g, the direction's every filter f (a kernel's slice along its output axis: a conv filter
of a flax ``(kh, kw, in, out)`` kernel, a neuron's incoming weights of a ``(in, out)`` dense kernel) is

    d_f = (m ⊙ g)_f / ‖(m ⊙ g)_f‖ · ‖(m ⊙ w)_f‖

with w the reference weights and m the ticket's mask, so a pruned weight gets direction 0 and the
projection stays in the ticket's subspace. Leaves of one dimension or less (biases) get direction 0,
as Li et al.'s ``ignore='biasbn'`` setting of their published plots (``biases="weights"`` sets them to
the bias itself, their code's other branch). A filter with no surviving weight gets direction 0.

**Sharpness.** The loss along θ + t·d_k for t on a grid and a few such directions d_k; per direction a
least-squares quadratic a·t² + b·t + c, whose curvature along d_k is 2a (the second derivative; for
L = ½ c‖θ‖² it is exactly c‖d_k‖²). The sharpness is the mean of 2a over directions.

**Rank correlations** (Fig 7): Spearman's ρ, and for the kernels that survive to the last round, ρ
between a per-weight quantity (SNR = |μ|/σ, or |θ|) at a base round and at every round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from scipy import stats

PyTree = Any
LossFn = Callable[[PyTree], jax.Array]


# ----------------------------------------------------------------------------------------------
# Helpers over pytrees
# ----------------------------------------------------------------------------------------------


def unflatten_like(template: PyTree, flat: Any) -> PyTree:
    """A flat vector in ``ravel_pytree(template)`` order as a pytree like ``template`` (dtype kept)."""
    leaves, treedef = jax.tree_util.tree_flatten(template)
    sizes = [int(np.size(leaf)) for leaf in leaves]
    if int(np.shape(flat)[0]) != sum(sizes):
        raise ValueError(f"flat vector has {np.shape(flat)[0]} entries; the template has {sum(sizes)}")
    splits = np.cumsum(sizes)[:-1]
    parts = jnp.split(jnp.asarray(flat), splits) if len(sizes) > 1 else [jnp.asarray(flat)]
    return jax.tree_util.tree_unflatten(
        treedef, [part.reshape(np.shape(leaf)) for part, leaf in zip(parts, leaves)])


def axpy(params: PyTree, direction: PyTree, step: jax.Array) -> PyTree:
    """θ + t·d, leaf by leaf."""
    return jax.tree_util.tree_map(lambda p, d: p + step * d, params, direction)


def interpolate(theta_a: PyTree, theta_b: PyTree, alpha: jax.Array) -> PyTree:
    """(1−α)θ_A + αθ_B, leaf by leaf."""
    return jax.tree_util.tree_map(lambda a, b: (1.0 - alpha) * a + alpha * b, theta_a, theta_b)




def _map(fn: Callable[[Any], jax.Array], xs: Any, batch_size: int | None) -> jax.Array:
    """``vmap(fn)(xs)``, or ``lax.map`` in batches of ``batch_size`` to bound memory (a CNN on a whole
    test set per grid point)."""
    if batch_size is None:
        return jax.vmap(fn)(xs)
    return jax.lax.map(fn, xs, batch_size=int(batch_size))


# ----------------------------------------------------------------------------------------------
# Linear mode connectivity
# ----------------------------------------------------------------------------------------------


def default_alphas(num: int = 21) -> jax.Array:
    """``num`` evenly spaced α in [0, 1], both endpoints included."""
    return jnp.linspace(0.0, 1.0, int(num))


def interpolation_losses(loss_fn: LossFn, theta_a: PyTree, theta_b: PyTree, alphas: jax.Array,
                         batch_size: int | None = None) -> jax.Array:
    """(A,) losses L((1−α)θ_A + αθ_B) for every α, vmapped (``batch_size`` α at a time if given)."""
    alphas = jnp.asarray(alphas, jnp.float32)
    return _map(lambda alpha: loss_fn(interpolate(theta_a, theta_b, alpha)), alphas, batch_size)


def barrier_from_losses(alphas: jax.Array, losses: jax.Array,
                        reference: Literal["linear", "mean"] = "linear") -> jax.Array:
    """The error barrier of an interpolation curve; ``alphas`` must start at 0 and end at 1.

    ``linear``: max_α [L(α) − ((1−α)L(0) + αL(1))]; ``mean``: max_α L(α) − ½(L(0) + L(1)) (Frankle et
    al. 2020). ``losses`` may carry leading batch axes; the last axis runs over ``alphas``.
    """
    alphas, losses = jnp.asarray(alphas), jnp.asarray(losses)
    if reference not in ("linear", "mean"):
        raise ValueError(f"reference must be 'linear' or 'mean'; got {reference!r}")
    start, end = losses[..., :1], losses[..., -1:]
    if reference == "linear":
        baseline = (1.0 - alphas) * start + alphas * end
    else:
        baseline = 0.5 * (start + end)
    return jnp.max(losses - baseline, axis=-1)


def error_barrier(loss_fn: LossFn, theta_a: PyTree, theta_b: PyTree, alphas: jax.Array | None = None,
                  reference: Literal["linear", "mean"] = "linear",
                  batch_size: int | None = None) -> jax.Array:
    """Error barrier of θ_A → θ_B on ``alphas`` (default 21 in [0, 1]); see :func:`barrier_from_losses`."""
    if alphas is None:
        alphas = default_alphas()
    # Checked with NumPy while the α are concrete (a constant under jit too); traced α are trusted.
    if not isinstance(alphas, jax.core.Tracer):
        ends = np.asarray(alphas)[[0, -1]]
        if not (ends[0] == 0.0 and ends[1] == 1.0):
            raise ValueError("alphas must start at 0 and end at 1 (the endpoints define the reference)")
    alphas = jnp.asarray(alphas, jnp.float32)
    losses = interpolation_losses(loss_fn, theta_a, theta_b, alphas, batch_size)
    return barrier_from_losses(alphas, losses, reference)


# ----------------------------------------------------------------------------------------------
# Filter-normalised random directions
# ----------------------------------------------------------------------------------------------


def _normalise_leaf(noise: jax.Array, weights: jax.Array, mask: jax.Array, biases: str,
                    filter_axis: int) -> jax.Array:
    """One leaf of a filter-normalised direction (see the module docstring)."""
    mask = mask.astype(noise.dtype)
    if noise.ndim <= 1:
        return jnp.zeros_like(noise) if biases == "zero" else weights * mask
    axis = filter_axis % noise.ndim
    reduce_axes = tuple(i for i in range(noise.ndim) if i != axis)
    noise, weights = noise * mask, weights * mask
    noise_norm = jnp.sqrt(jnp.sum(jnp.square(noise), axis=reduce_axes, keepdims=True))
    weight_norm = jnp.sqrt(jnp.sum(jnp.square(weights), axis=reduce_axes, keepdims=True))
    # A filter whose weights are all pruned has noise_norm 0: its direction is 0, not NaN.
    scale = jnp.where(noise_norm > 0, weight_norm / jnp.where(noise_norm > 0, noise_norm, 1.0), 0.0)
    return noise * scale


def filter_normalized_direction(key: jax.Array, reference: PyTree, mask: PyTree | None = None,
                                biases: Literal["zero", "weights"] = "zero", filter_axis: int = -1) -> PyTree:
    """A Gaussian direction, each filter scaled to the norm of ``reference``'s filter, 0 where masked.

    ``mask``: a bool pytree like ``reference`` (``None`` = dense; :func:`unflatten_like` turns a flat
    pruning mask into one). ``filter_axis``: the kernels' output axis (-1 for flax).
    """
    if biases not in ("zero", "weights"):
        raise ValueError(f"biases must be 'zero' or 'weights'; got {biases!r}")
    leaves, treedef = jax.tree_util.tree_flatten(reference)
    masks = (jax.tree_util.tree_leaves(mask) if mask is not None
             else [jnp.ones(np.shape(leaf), bool) for leaf in leaves])
    if len(masks) != len(leaves):
        raise ValueError("mask must have the reference's tree structure")
    keys = jax.random.split(key, len(leaves))
    direction = [
        _normalise_leaf(jax.random.normal(k, np.shape(w), jnp.result_type(w, jnp.float32)), jnp.asarray(w),
                        jnp.asarray(m), biases, filter_axis)
        for k, w, m in zip(keys, leaves, masks)]
    return jax.tree_util.tree_unflatten(treedef, direction)


def random_directions(key: jax.Array, reference: PyTree, num_directions: int, mask: PyTree | None = None,
                      biases: Literal["zero", "weights"] = "zero", filter_axis: int = -1) -> PyTree:
    """``num_directions`` filter-normalised directions, stacked on a leading axis of every leaf."""
    keys = jax.random.split(key, int(num_directions))
    return jax.vmap(lambda k: filter_normalized_direction(k, reference, mask, biases, filter_axis))(keys)


# ----------------------------------------------------------------------------------------------
# Sharpness and surfaces
# ----------------------------------------------------------------------------------------------


@struct.dataclass
class Sharpness:
    """Losses along random directions and their quadratic-fit curvatures."""

    steps: jax.Array  # (T,) the grid of t
    losses: jax.Array  # (D, T) L(θ + t·d_k)
    curvatures: jax.Array  # (D,) 2a_k of the least-squares fit a·t² + b·t + c per direction

    @property
    def curvature(self) -> jax.Array:
        """The sharpness: the mean curvature over directions."""
        return jnp.mean(self.curvatures)


def losses_along_directions(loss_fn: LossFn, params: PyTree, directions: PyTree, steps: jax.Array,
                            batch_size: int | None = None) -> jax.Array:
    """(D, T) losses L(θ + t·d_k) for stacked directions d_k and steps t, vmapped over both.

    ``batch_size``: evaluate that many (d_k, t) points at a time instead of all at once.
    """
    steps = jnp.asarray(steps, jnp.float32)
    num_directions = jax.tree_util.tree_leaves(directions)[0].shape[0]
    index_d, index_t = jnp.meshgrid(jnp.arange(num_directions), jnp.arange(steps.size), indexing="ij")

    def point(index):
        d, t = index
        direction = jax.tree_util.tree_map(lambda leaf: leaf[d], directions)
        return loss_fn(axpy(params, direction, steps[t]))

    flat = _map(point, (index_d.ravel(), index_t.ravel()), batch_size)
    return flat.reshape(num_directions, steps.size)


def quadratic_curvature(steps: jax.Array, losses: jax.Array) -> jax.Array:
    """2a of the least-squares fit a·t² + b·t + c to ``losses`` (last axis) over ``steps``."""
    steps = jnp.asarray(steps, jnp.float32)
    losses = jnp.asarray(losses, jnp.float32)
    if steps.size < 3:
        raise ValueError("a quadratic fit needs at least 3 steps")
    design = jnp.stack([steps**2, steps, jnp.ones_like(steps)], axis=1)  # (T, 3)
    flat = losses.reshape(-1, steps.size).T  # (T, batch)
    coefficients = jnp.linalg.lstsq(design, flat)[0]  # (3, batch)
    return 2.0 * coefficients[0].reshape(losses.shape[:-1])


def sharpness(loss_fn: LossFn, params: PyTree, key: jax.Array, steps: jax.Array, num_directions: int = 5,
              mask: PyTree | None = None, reference: PyTree | None = None,
              biases: Literal["zero", "weights"] = "zero", batch_size: int | None = None) -> Sharpness:
    """Quadratic-fit curvatures along ``num_directions`` filter-normalised directions at ``params``.

    The directions are normalised to ``reference`` (default ``params`` itself, Li et al.'s choice;
    the paper's SI normalises to the dense round-0 network) and zero where ``mask`` is False. The same
    ``key`` draws the same Gaussian noise, so rounds and runs can share directions.
    """
    reference = params if reference is None else reference
    directions = random_directions(key, reference, num_directions, mask, biases)
    losses = losses_along_directions(loss_fn, params, directions, steps, batch_size)
    return Sharpness(steps=jnp.asarray(steps, jnp.float32), losses=losses,
                     curvatures=quadratic_curvature(steps, losses))


def loss_surface(loss_fn: LossFn, params: PyTree, direction_x: PyTree, direction_y: PyTree,
                 steps_x: jax.Array, steps_y: jax.Array, batch_size: int | None = None) -> jax.Array:
    """(Tx, Ty) losses L(θ + t_x·d_x + t_y·d_y) on the grid, vmapped (``batch_size`` points at a time)."""
    steps_x = jnp.asarray(steps_x, jnp.float32)
    steps_y = jnp.asarray(steps_y, jnp.float32)
    grid_x, grid_y = jnp.meshgrid(steps_x, steps_y, indexing="ij")

    def point(ts):
        t_x, t_y = ts
        return loss_fn(axpy(axpy(params, direction_x, t_x), direction_y, t_y))

    flat = _map(point, (grid_x.ravel(), grid_y.ravel()), batch_size)
    return flat.reshape(steps_x.size, steps_y.size)


# ----------------------------------------------------------------------------------------------
# SNR and rank correlations (Fig 7)
# ----------------------------------------------------------------------------------------------


def snr(final_mean: Any, final_std: Any) -> np.ndarray:
    """|μ| / σ per weight (0 where σ is +inf, i.e. pruned, as the pruning runs store it)."""
    return np.abs(np.asarray(final_mean)) / np.asarray(final_std)


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation of two equal-length vectors (mean ranks for ties; NaN if constant)."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length; got {x.size} and {y.size}")
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def survivor_rank_correlation(values: np.ndarray, masks: np.ndarray, prunable: np.ndarray | None = None,
                              base_round: int = 0, average_seeds: bool = True) -> np.ndarray:
    """Spearman ρ of ``values`` at ``base_round`` with each round, over the kernels alive in the last round.

    ``values`` (R, S, P): a per-weight quantity per round and seed (SNR of an SNR run, |θ| of a
    magnitude run); ``masks`` (R, S, P): the mask each round trained with (``PruningResult.masks``);
    ``prunable`` (P,): the kernels (``None`` = all). The survivors of seed s are the prunable weights
    of ``masks[-1, s]``. Returns (R,) averaged over seeds (NaN-ignoring), or (R, S).
    """
    values, masks = np.asarray(values, float), np.asarray(masks, bool)
    if values.shape != masks.shape or values.ndim != 3:
        raise ValueError("values and masks must both be (rounds, seeds, params); "
                         f"got {values.shape} and {masks.shape}")
    rounds, seeds, _ = values.shape
    prunable = np.ones(values.shape[-1], bool) if prunable is None else np.asarray(prunable, bool)
    out = np.full((rounds, seeds), np.nan)
    for s in range(seeds):
        survivors = masks[-1, s] & prunable
        for r in range(rounds):
            out[r, s] = spearman(values[base_round, s, survivors], values[r, s, survivors])
    if not average_seeds:
        return out
    with np.errstate(all="ignore"):
        return np.nanmean(out, axis=1) if np.isfinite(out).any() else np.full(rounds, np.nan)


def relative_snr_advantage(snr_performance: Any, imp_performance: Any) -> np.ndarray:
    """(SNR − IMP) / |SNR at round 0| per round (f7's first cell); (R, S) inputs are seed-averaged first.

    The original divides by SNR_mean[0]; the absolute value keeps the sign meaningful for negative
    scores (returns) and changes nothing for accuracies.
    """
    snr_perf, imp_perf = np.asarray(snr_performance, float), np.asarray(imp_performance, float)
    if snr_perf.shape != imp_perf.shape:
        raise ValueError(f"performance arrays differ in shape: {snr_perf.shape} and {imp_perf.shape}")
    if snr_perf.ndim == 2:
        snr_perf, imp_perf = snr_perf.mean(axis=1), imp_perf.mean(axis=1)
    return (snr_perf - imp_perf) / np.abs(snr_perf[0])
