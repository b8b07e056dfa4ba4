"""The pixel CNN's shared-weights population forward and rollout against today's per-row path (the
oracle): a copy of each member's weights per (member, episode) row, vmapped over the rows."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.lowrank import genome_layout
from nevolab.models import pixel_cnn
from nevolab.tasks.pixel_rollout import PopulationRollout
from nevolab.tasks.racing import Racing

MEMBERS, EPISODES = 3, 2
# Study C's networks (pixel_tasks' table) on small inputs: racing's four 4x4 stride-2 convolutions
# (dense, and small) and MinAtar's 3x3 stride-1 ones.
# 46 pixels: the least that four such convolutions leave a pixel of.
DENSE = pixel_cnn.PixelCNNConfig(input_shape=(46, 46, 1))
SMALL = pixel_cnn.PixelCNNConfig(input_shape=(46, 46, 2), conv_channels=(4, 4, 8, 16), hidden_sizes=(32,))
MINATAR = pixel_cnn.PixelCNNConfig(input_shape=(10, 10, 4), conv_channels=(4, 8, 8), hidden_sizes=(32,),
                                   num_actions=6, kernel_size=3, stride=1)


def _factorized(config: pixel_cnn.PixelCNNConfig):
    """Rank-1 factors on every kernel but the output's, as Study C's factorized variant."""
    template = pixel_cnn.init_params(jax.random.PRNGKey(0), config)
    return genome_layout(template, rank=1, full_rank_paths=("output/kernel",))


def _members(config, layout=None):
    keys = jax.random.split(jax.random.PRNGKey(3), MEMBERS)
    if layout is None:
        return jax.jit(jax.vmap(lambda key: pixel_cnn.init_params(key, config)))(keys)
    return jax.jit(jax.vmap(layout.init_fn))(keys)


def _per_row_oracle(params, obs, config, develop):
    """Today's path: each (member, episode) row gathers and develops its own copy of the weights."""
    rows = jnp.repeat(jnp.arange(obs.shape[0]), obs.shape[1])
    net = jax.vmap(develop)(jax.tree_util.tree_map(lambda leaf: leaf[rows], params))
    flat = obs.reshape(-1, *obs.shape[2:])
    return jax.vmap(lambda p, o: pixel_cnn.apply(p, o, config))(net, flat).reshape(*obs.shape[:2], -1)


@pytest.mark.parametrize("name, config, factorized", [("dense", DENSE, False), ("factorized", DENSE, True),
                                                       ("small", SMALL, False), ("minatar", MINATAR, False)])
def test_the_shared_weights_forward_equals_a_copy_per_episode(name, config, factorized):
    layout = _factorized(config) if factorized else None
    develop = layout.encoding.decode if factorized else (lambda params: params)
    params = _members(config, layout)
    obs = jax.random.uniform(jax.random.PRNGKey(5), (MEMBERS, EPISODES, *config.input_shape))
    expected = jax.jit(lambda p, o: _per_row_oracle(p, o, config, develop))(params, obs)
    fast = jax.jit(lambda p, o: pixel_cnn.apply_members(jax.vmap(develop)(p), o, config))(params, obs)
    assert fast.shape == (MEMBERS, EPISODES, config.num_actions)
    # outputs are of order 1; one that cancels to near 0 keeps an absolute rounding error of ~1e-6
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-5)


ENV = Racing(obs_size=46, frame_stack=2)
ENV_PARAMS = ENV.default_params.replace(max_steps_in_episode=32, half_width=20.0)


def _mixed(members, layout=None):
    """Half parked (they end after 22 frames), half driving with different steering (ending at
    various times or at the limit): biases dominate a down-scaled random small network."""
    def member(index, key):
        params = pixel_cnn.init_params(key, SMALL)
        params["output"]["kernel"] = params["output"]["kernel"] * 0.05
        gas = jnp.where(index % 2 == 0, -2.0, 1.5)
        params["output"]["bias"] = jnp.stack([-0.4 * (index // 2) / members, gas, jnp.float32(-2.0)])
        return params if layout is None else layout.encoding.encode(params)

    return jax.vmap(member)(jnp.arange(members), jax.random.split(jax.random.PRNGKey(0), members))


def test_the_shared_weights_rollout_gives_todays_returns():
    """Factorized genotypes (developed once per member here, once per row today), three episodes
    each, some ending early: the plain and the compacted rollouts give today's returns."""
    layout = _factorized(SMALL)
    params, episodes = _mixed(4, layout), 3
    keys = jax.random.split(jax.random.PRNGKey(1), (4, episodes))

    def rollout(shared):
        return PopulationRollout(ENV, ENV_PARAMS, lambda p, o: pixel_cnn.apply(p, o, SMALL),
                                 develop=layout.encoding.decode, chunk_steps=8, num_buckets=2,
                                 shared_weights=shared)

    expected, fast = rollout(False).plain(params, keys), rollout(True)
    assert expected.ended_early.any() and not expected.ended_early.all()  # compaction has work to do
    compacted = fast.compacted(params, keys)
    for result in (fast.plain(params, keys), compacted):
        np.testing.assert_allclose(result.returns, expected.returns, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(result.steps, expected.steps)
        np.testing.assert_array_equal(result.ended_early, expected.ended_early)
    assert compacted.rows_stepped < expected.rows_stepped  # finished members left the batch
