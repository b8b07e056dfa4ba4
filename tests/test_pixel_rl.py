"""Tests of Study C's pixel-RL building blocks: the compacted chunked rollout (nevolab.tasks.pixel_rollout),
the paper's two-stage selection, and the CarRacing CNN (nevolab.models.pixel_cnn) with its low-rank
factorisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.lowrank import genome_layout
from nevolab.models import pixel_cnn
from nevolab.tasks.pixel_rollout import (
    PopulationRollout,
    RolloutResult,
    TwoStageConfig,
    bucket_size,
    episode_strip,
    select_finalists,
    select_parents,
    two_stage_evaluate,
)
from nevolab.tasks.racing import Racing

SMALL = pixel_cnn.PixelCNNConfig(input_shape=(48, 48, 2), conv_channels=(4, 4, 8, 16), hidden_sizes=(32,))
ENV = Racing(obs_size=48, frame_stack=2)
PARAMS = ENV.default_params.replace(max_steps_in_episode=60, half_width=20.0)


def _mixed_population(key, members, layout=None):
    """Half parked (they end after 22 frames), half driving with different steering (they end at
    various times or reach the limit): biases dominate a down-scaled random network."""
    def member(index, key):
        params = pixel_cnn.init_params(key, SMALL)
        params["output"]["kernel"] = params["output"]["kernel"] * 0.05
        steer = -0.4 * (index // 2) / members
        gas = jnp.where(index % 2 == 0, -2.0, 1.5)
        params["output"]["bias"] = jnp.stack([steer, gas, jnp.float32(-2.0)])
        return params if layout is None else layout.encoding.encode(params)

    return jax.vmap(member)(jnp.arange(members), jax.random.split(key, members))


def _apply(params, obs):
    return pixel_cnn.apply(params, obs, SMALL)


@pytest.fixture(scope="module")
def rollout():
    return PopulationRollout(ENV, PARAMS, _apply, chunk_steps=8, num_buckets=4)


def _keys(members, episodes, seed=1):
    return jax.random.split(jax.random.PRNGKey(seed), (members, episodes))


def test_compacted_rollout_equals_the_plain_one_bit_for_bit(rollout):
    params, keys = _mixed_population(jax.random.PRNGKey(0), 8), _keys(8, 2)
    plain, compacted = rollout.plain(params, keys), rollout.compacted(params, keys)
    np.testing.assert_array_equal(plain.returns, compacted.returns)
    np.testing.assert_array_equal(plain.steps, compacted.steps)
    np.testing.assert_array_equal(plain.ended_early, compacted.ended_early)
    assert plain.returns.shape == (8, 2) and plain.alive_steps == compacted.alive_steps
    # the population really mixes: parked members end at 22, some drivers reach the limit
    assert np.all(plain.steps[::2] == 22) and plain.ended_early[::2].all()
    assert (plain.steps == PARAMS.max_steps_in_episode).any() and not plain.ended_early.all()
    # and compaction saved rows: fewer computed than the plain rollout's, never fewer than needed
    assert plain.rows_stepped == 16 * 64  # 8 chunks of 8 steps cover the 60-step limit
    assert plain.alive_steps <= compacted.rows_stepped < plain.rows_stepped


def test_compacted_rollout_develops_genotypes_per_row_identically():
    """Rank-1 genotypes gathered per row and decoded by the low-rank encoding inside the rollout."""
    layout = genome_layout(pixel_cnn.init_params(jax.random.PRNGKey(0), SMALL), rank=1)
    genotypes = _mixed_population(jax.random.PRNGKey(0), 4, layout)
    assert genotypes.shape == (4, layout.num_genes)
    rollout = PopulationRollout(ENV, PARAMS, _apply, develop=layout.encoding.decode, chunk_steps=8,
                                num_buckets=4)
    keys = _keys(4, 2)
    plain, compacted = rollout.plain(genotypes, keys), rollout.compacted(genotypes, keys)
    np.testing.assert_array_equal(plain.returns, compacted.returns)
    np.testing.assert_array_equal(plain.steps, compacted.steps)


def test_same_keys_same_returns_and_episodes_differ_by_key(rollout):
    params = _mixed_population(jax.random.PRNGKey(0), 4)
    first, again = rollout.compacted(params, _keys(4, 2)), rollout.compacted(params, _keys(4, 2))
    np.testing.assert_array_equal(first.returns, again.returns)
    other = rollout.compacted(params, _keys(4, 2, seed=7))
    assert not np.array_equal(first.returns[1::2], other.returns[1::2])


@pytest.mark.parametrize(("alive", "total", "buckets", "expected"),
                         [(1, 64, 16, 4), (4, 64, 16, 4), (5, 64, 16, 8), (63, 64, 16, 64),
                          (64, 64, 16, 64), (3, 10, 4, 3), (8, 10, 4, 9), (10, 10, 4, 10), (1, 1, 16, 1)])
def test_bucket_sizes_are_bounded_multiples(alive, total, buckets, expected):
    assert bucket_size(alive, total, buckets) == expected
    sizes = {bucket_size(n, 512, 16) for n in range(1, 513)}
    assert len(sizes) == 16 and all(size % 32 == 0 for size in sizes)


def test_stage_one_keeps_the_best_mean_and_breaks_ties_by_index():
    returns = np.array([[1.0, 1.0], [5.0, 3.0], [0.0, 6.0], [4.0, 4.0], [2.0, 2.0], [4.0, 4.0]])
    np.testing.assert_array_equal(select_finalists(returns, 3), [1, 3, 5])
    with pytest.raises(ValueError, match="num_finalists"):
        select_finalists(returns, 7)


def test_stage_two_ranks_on_the_mean_over_all_six_episodes():
    stage1 = np.array([[10.0, 10.0], [9.0, 9.0], [8.0, 8.0]])
    stage2 = np.array([[0.0, 0.0, 0.0, 0.0], [9.0, 9.0, 9.0, 9.0], [12.0, 12.0, 12.0, 12.0]])
    parents, means = select_parents(stage1, stage2, 2)
    np.testing.assert_allclose(means, [10 / 3, 9.0, 32 / 3])
    np.testing.assert_array_equal(parents, [2, 1])


def test_two_stage_evaluation_picks_the_right_members_and_records_each_stage():
    """A fake evaluation where member m scores m in stage 1, and -m plus a bonus in stage 2."""
    members = 10
    params = {"id": jnp.arange(members, dtype=jnp.float32)}
    calls = []

    def evaluate(params, keys):
        ids = np.asarray(params["id"])[:, None] * np.ones(keys.shape[1])
        calls.append(keys.shape[:2])
        stage2 = len(calls) == 2
        returns = (100 - ids) if stage2 else ids
        return RolloutResult(returns, np.full(returns.shape, 10 if stage2 else 5, np.int32),
                             np.zeros(returns.shape, bool), returns.size * 10)

    config = TwoStageConfig(stage1_episodes=2, num_finalists=4, stage2_episodes=4, num_parents=2)
    parents, record = two_stage_evaluate(evaluate, params, jax.random.PRNGKey(0), config)
    assert calls == [(10, 2), (4, 4)]
    # finalists 9, 8, 7, 6; six-episode means (2m + 4(100 - m)) / 6: member 6 is best, then 7
    np.testing.assert_array_equal(parents, [6, 7])
    assert record["stage1_mean_score"] == pytest.approx(4.5)
    finalist_means = [(2 * m + 4 * (100 - m)) / 6 for m in (6, 7, 8, 9)]
    assert record["stage2_mean_score"] == pytest.approx(np.mean(finalist_means))
    assert record["best_score"] == pytest.approx((12 + 4 * 94) / 6)
    assert record["stage1_steps"] == 100 and record["stage2_steps"] == 160
    assert record["stage1_time_s"] >= 0 and record["stage2_time_s"] >= 0


def test_the_paper_parameter_counts_are_reproduced():
    rgb = pixel_cnn.PixelCNNConfig(input_shape=(64, 64, 12))
    small_rgb = pixel_cnn.PixelCNNConfig(input_shape=(64, 64, 12), conv_channels=(4, 4, 8, 16),
                                         hidden_sizes=(32,))
    assert pixel_cnn.param_count(rgb) == 957_923
    assert pixel_cnn.factorized_gene_count(rgb, rank=1) == 7_043
    assert pixel_cnn.param_count(small_rgb) == 5_795
    # our grayscale 4-frame stack: only the first convolution's fan-in shrinks (12 -> 4 channels)
    assert pixel_cnn.param_count(pixel_cnn.PAPER_CNN) == 957_923 - 16 * 8 * 32 == 953_827
    assert pixel_cnn.factorized_gene_count(pixel_cnn.PAPER_CNN, rank=1) == 7_043 - 16 * 8 == 6_915
    assert pixel_cnn.param_count(pixel_cnn.SMALL_CNN) == 5_795 - 16 * 8 * 4 == 5_283


def test_cnn_shapes_and_convolution_match_lax():
    params = pixel_cnn.init_params(jax.random.PRNGKey(0))
    shapes = jax.tree_util.tree_map(jnp.shape, params)
    assert shapes["conv_0"]["kernel"] == (64, 32) and shapes["conv_3"]["kernel"] == (2048, 256)
    assert shapes["dense_0"]["kernel"] == (1024, 256) and shapes["output"]["kernel"] == (256, 3)
    obs = jax.random.uniform(jax.random.PRNGKey(1), (64, 64, 4))
    assert pixel_cnn.apply(params, obs).shape == (3,)
    batch = jax.vmap(pixel_cnn.apply, in_axes=(None, 0))(params, jnp.stack([obs, obs]))
    assert batch.shape == (2, 3)
    kernel = params["conv_0"]["kernel"].reshape(4, 4, 4, 32)  # (kh, kw, cin, cout), flax's layout
    expected = jax.lax.conv_general_dilated(obs[None], kernel, (2, 2), "VALID",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
    got = (pixel_cnn._patches(obs, 4, 2) @ params["conv_0"]["kernel"]).reshape(31, 31, 32)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="too small"):
        pixel_cnn.layer_shapes(pixel_cnn.PixelCNNConfig(input_shape=(32, 32, 4)))


def test_lowrank_layout_factorizes_the_conv_kernels_as_matrices():
    template = pixel_cnn.init_params(jax.random.PRNGKey(0))
    direct = genome_layout(template)
    assert direct.num_genes == pixel_cnn.param_count()
    layout = genome_layout(template, rank=1)
    # Every kernel factorized, the output layer's too; the paper keeps that one full (6,915 genes).
    assert layout.num_genes == pixel_cnn.factorized_gene_count(full_rank=()) == 6_915 - 256 * 3 + 259
    paper = genome_layout(template, rank=1, full_rank_paths=("output/kernel",))
    assert paper.num_genes == pixel_cnn.factorized_gene_count() == 6_915
    decoded = layout.encoding.decode(layout.init_fn(jax.random.PRNGKey(1)))
    assert jax.tree_util.tree_map(jnp.shape, decoded) == jax.tree_util.tree_map(jnp.shape, template)
    assert np.linalg.matrix_rank(np.asarray(decoded["conv_1"]["kernel"])) == 1


def test_episode_strip_shows_frames_from_start_to_end():
    params = jax.tree_util.tree_map(lambda leaf: leaf[1], _mixed_population(jax.random.PRNGKey(0), 2))
    strip = episode_strip(ENV, PARAMS, lambda obs: _apply(params, obs), jax.random.PRNGKey(3), num_frames=4)
    assert strip.shape == (48, 4 * 48 + 3 * 2) and strip.min() >= 0.0 and strip.max() <= 1.0
    first = np.asarray(ENV.reset_env(jax.random.PRNGKey(3), PARAMS)[0][..., -1])
    assert not np.array_equal(strip[:, :48], strip[:, -48:])  # the car moved
    assert strip[:, :48].shape == first.shape
