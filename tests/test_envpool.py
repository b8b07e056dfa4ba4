"""The real pixel environments (``envpool:<task>``, the optional ``envpool`` extra) of Study C.

The tests that run envpool skip when the extra is absent and say how to install it; the others (the
missing-extra error, names, the early-termination rule, the resize, the episode draws) need nothing
installed. Rollouts use a tiny CNN, few members and tens of steps, so each test takes seconds.
"""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.models import pixel_cnn
from nevolab.tasks import envpool_pixel as ep

INSTALL = "make venv-envpool"
# envpool's CarRacing spec builds its float64 action bounds into a float32 gymnasium Box
pytestmark = pytest.mark.filterwarnings("ignore:.*precision lowered by casting:UserWarning")
needs_envpool = pytest.mark.skipif(not ep.envpool_installed(),
                                   reason=f"the envpool extra is not installed: {ep.INSTALL_HINT}")


# --- without envpool --------------------------------------------------------------------------------


def test_without_the_extra_an_envpool_task_fails_in_one_line_before_compute(without_envpool):
    assert not ep.envpool_installed()
    with pytest.raises(ModuleNotFoundError) as error:
        ep.check_task("envpool:CarRacing-v3")
    message = str(error.value)
    assert message == f"task 'envpool:CarRacing-v3' needs the envpool extra: {ep.INSTALL_HINT}"
    assert "\n" not in message and INSTALL in message and "pip install -e '.[envpool]'" in message
    assert ep.unavailable_reason("envpool:Kangaroo") == f"needs the envpool extra: {ep.INSTALL_HINT}"
    with pytest.raises(ModuleNotFoundError, match="envpool extra"):  # the rollout checks first, too
        ep.EnvpoolRollout("envpool:Kangaroo", lambda params, obs: obs)


def test_an_unknown_task_lists_the_valid_ones(without_envpool):
    """Checked before the install: a typo is named even where the extra is missing."""
    with pytest.raises(ValueError) as error:
        ep.check_task("envpool:Pong")
    message = str(error.value)
    assert message.startswith("unknown envpool task 'Pong'; valid: envpool:CarRacing-v3, envpool:Asteroids")
    assert all(f"envpool:{game}" in message for game in ep.ATARI_GAMES) and "\n" not in message
    assert ep.unavailable_reason("racing") is None and not ep.is_envpool_task("racing")
    with pytest.raises(ValueError, match="not an envpool task"):
        ep.check_task("racing")


def test_the_library_imports_without_envpool():
    """Nothing imports envpool at import time: only making a pool does."""
    code = ("import sys, nevolab.tasks.envpool_pixel; "
            "assert 'envpool' not in sys.modules, 'envpool imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_task_table_has_the_originals_settings():
    racing = ep.get_task("envpool:CarRacing-v3")
    assert (racing.obs_shape, racing.num_actions, racing.discrete) == ((64, 64, 12), 3, False)
    assert racing.max_steps == 1000
    assert racing.early_termination and racing.max_noops == 0
    for game in ep.PAPER_ATARI_GAMES:
        atari = ep.get_task(game)
        options = dict(atari.options)
        assert (atari.obs_shape, atari.discrete) == ((84, 84, 12), True)
        assert (atari.max_steps, atari.max_noops) == (2500, 30)
        # the rollout repeats the action on 4 single frames (envpool's own skip max-pools two frames)
        assert atari.frame_skip == 4 and options["frame_skip"] == 1 and options["stack_num"] == 1
        assert options["repeat_action_probability"] == 0.0
        assert not options["gray_scale"] and not options["episodic_life"] and not options["reward_clip"]
        assert not options["use_fire_reset"] and options["noop_max"] == 1  # the original's no-ops instead
    assert ep.get_task("Asteroids").num_actions == 14 and ep.get_task("Kangaroo").num_actions == 18


def _literal_rule(rewards: list[float]) -> bool:
    """car-racing.jl: ``length(prev_rewards) > 20 && all(prev_rewards[end-20:end] .< 0)``."""
    return len(rewards) > 20 and all(reward < 0 for reward in rewards[-21:])


def test_early_termination_is_the_originals_rule_read_literally():
    rng = np.random.default_rng(0)
    for trial in range(60):
        # runs of -0.1 frames broken by tile rewards and exact zeros (zero is not negative)
        length = int(rng.integers(1, 80))
        rewards = np.where(rng.random(length) < rng.uniform(0.0, 0.15), rng.choice([3.2, 0.0], length), -0.1)
        seen, streak = np.zeros(1, np.int32), np.zeros(1, np.int32)
        prefix: list[float] = []
        for reward in rewards:
            prefix.append(float(reward))
            seen, streak, stop = ep.no_progress(seen, streak, np.array([reward], np.float32))
            assert bool(stop[0]) == _literal_rule(prefix), (trial, prefix)
    # the edges: 21 negatives end it at the 21st reward, not the 20th; one positive restarts the count
    assert [_literal_rule([-0.1] * n) for n in (20, 21)] == [False, True]
    seen, streak, stop = ep.no_progress(np.array([19, 20, 40]), np.array([19, 20, 20]),
                                        np.array([-0.1, -0.1, 0.0]))
    assert stop.tolist() == [False, True, False] and streak.tolist() == [20, 21, 0]


def test_area_resize_averages_each_output_pixels_source_area():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (2, 12, 9, 3), dtype=np.uint8)
    out = ep.area_resize(images, 8, 6)  # 1.5x shrink both ways, as 96 -> 64
    weights = ep.area_resize_weights(12, 8)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    reference = np.zeros((2, 8, 6, 3))
    for i in range(8):
        for j in range(6):
            for p in range(12):
                for q in range(9):
                    area = (max(0.0, min(1.5 * (i + 1), p + 1) - max(1.5 * i, p))
                            * max(0.0, min(1.5 * (j + 1), q + 1) - max(1.5 * j, q)))
                    reference[:, i, j] += area * images[:, p, q] / 2.25
    np.testing.assert_array_equal(out, np.rint(reference).astype(np.uint8))
    assert out.dtype == np.uint8 and ep.area_resize(images, 12, 9).tolist() == images.tolist()


def test_frame_stack_drops_the_oldest_frame_and_scales_to_unit_range():
    stack = np.arange(2 * 4 * 4 * 12, dtype=np.uint8).reshape(2, 4, 4, 12)
    frame = np.full((2, 4, 4, 3), 255, np.uint8)
    pushed = ep.push_frames(stack, frame)
    np.testing.assert_array_equal(pushed[..., :9], stack[..., 3:])
    assert (pushed[..., 9:] == 255).all()
    values = np.asarray(ep.scaled(jnp.asarray(pushed)))
    assert values.dtype == np.float32 and values.min() >= 0.0 and values.max() == 1.0


def test_episode_draws_are_deterministic_per_key_and_in_range():
    keys = jax.random.split(jax.random.PRNGKey(3), (50, 4))
    seeds, noops = ep.episode_draws(keys, 30)
    again, noops_again = ep.episode_draws(keys, 30)
    assert seeds.shape == noops.shape == (50, 4)
    np.testing.assert_array_equal(seeds, again)
    np.testing.assert_array_equal(noops, noops_again)
    assert seeds.min() >= 0 and seeds.max() < 2 ** 31 - 1 and len(np.unique(seeds)) == 200
    assert noops.min() == 0 and noops.max() == 29  # rand(1:30) - 1 no-ops; 200 draws reach both ends
    # each episode's draw depends on its key alone, not on the batch it is in
    part, _ = ep.episode_draws(keys[3:5, 1:3], 30)
    np.testing.assert_array_equal(part, seeds[3:5, 1:3])
    typed, _ = ep.episode_draws(jax.random.wrap_key_data(keys), 30)
    np.testing.assert_array_equal(typed, seeds)
    assert not ep.episode_draws(keys, 0)[1].any()


def test_a_discrete_tasks_action_is_the_argmax():
    assert int(ep.to_action(jnp.array([0.1, 0.7, -1.0, 0.7]), discrete=True)) == 1
    assert int(ep.to_action(jnp.array(2), discrete=True)) == 2  # a policy that chose already
    np.testing.assert_array_equal(ep.to_action(jnp.array([3.0, -2.0, 0.5]), discrete=False), [3.0, -2.0, 0.5])


class _FakePool:
    """envpool's synchronous gymnasium interface, scripted: a NOOP frame (action 0) earns 1 on Atari and
    env 0's game ends on its 6th frame (inside its second agent step); on
    CarRacing every frame earns -0.1, except that odd env ids earn 5 every 10th of their steps. It
    answers in reverse order, as envpool may answer in its own."""

    def __init__(self, task, num_envs):
        self.task, self.steps, self.sent = task, np.zeros(num_envs, int), []
        self.shape = (3, 84, 84) if task.discrete else (96, 96, 3)

    def reset(self):
        self.steps[:], self.sent = 0, []
        return np.zeros((len(self.steps), *self.shape), np.uint8), {}

    def step(self, actions, env_id):
        self.sent.append((env_id.copy(), np.asarray(actions).copy()))
        self.steps[env_id] += 1
        if self.task.discrete:
            reward = (np.asarray(actions) == 0).astype(np.float32)
        else:
            reward = np.where((env_id % 2 == 1) & (self.steps[env_id] % 10 == 0), 5.0, -0.1)
        back = slice(None, None, -1)
        obs = np.full((len(env_id), *self.shape), 7, np.uint8)
        false = np.zeros(len(env_id), bool)
        over = (env_id == 0) & (self.steps[env_id] == 6) if self.task.discrete else false
        return obs[back], reward[back], over[back], false, {"env_id": env_id[back]}

    def close(self):
        pass


@pytest.fixture
def fake_pools(monkeypatch):
    """envpool looks installed and ``make_pool`` hands out :class:`_FakePool`s (kept in the list)."""
    pools = []

    def make_pool(task, seeds, max_steps, num_threads=0):
        pools.append(_FakePool(task, len(seeds)))
        return pools[-1]

    monkeypatch.setattr(ep, "envpool_installed", lambda: True)
    monkeypatch.setattr(ep, "make_pool", make_pool)
    return pools


def test_atari_plays_the_originals_no_ops_before_the_policy_acts(fake_pools):
    """Episode i sends NOOP for its first noops[i] steps (from its key), then the policy's action,
    each agent step being 4 frames of the same action whose rewards add up."""
    rollout = ep.EnvpoolRollout("envpool:Kangaroo", lambda action, obs: action, chunk_steps=16,
                                num_buckets=2, max_steps=40)
    keys = _keys(6, 2)
    actions = jnp.arange(1, 7, dtype=jnp.int32)  # member m always answers action m + 1 (never NOOP)
    _, noops = ep.episode_draws(keys, 30)
    expected = 4 * noops  # a NOOP frame earns 1 in the fake
    expected[0, 0] = min(expected[0, 0], 6)  # env 0's game is over after 6 frames: 2 agent steps
    for evaluate in (rollout.plain, rollout.compacted):
        result = evaluate(actions, keys)
        np.testing.assert_array_equal(result.returns, expected)
        assert result.steps[0, 0] == 2 and result.ended_early[0, 0]
        assert (result.steps.reshape(-1)[1:] == 40).all() and not result.ended_early.reshape(-1)[1:].any()
    sent = {}
    for env_id, action in fake_pools[-1].sent:
        for row, value in zip(env_id, action):
            sent.setdefault(int(row), []).append(int(value))
    for row, values in sent.items():
        member, episode = divmod(row, 2)
        count = noops[member, episode]
        frames = 6 if row == 0 else 160  # compacted: a game over stops its environment mid-step
        assert values == ([0] * (4 * count) + [member + 1] * (4 * (40 - count)))[:frames]
    assert len(fake_pools) == 1  # Atari's pool is made once and reset per call


def test_carracing_episodes_end_by_the_rule_and_compaction_steps_only_alive_ones(fake_pools):
    rollout = ep.EnvpoolRollout("envpool:CarRacing-v3", lambda action, obs: action, chunk_steps=8,
                                num_buckets=2, max_steps=30)
    params, keys = jnp.zeros((3, 3)), _keys(3, 2)
    plain, compacted = rollout.plain(params, keys), rollout.compacted(params, keys)
    for result in (plain, compacted):
        # even rows: 21 frames of -0.1 end them early; odd rows earn 5 every 10th step and reach 30
        np.testing.assert_array_equal(result.steps.reshape(-1), [21, 30] * 3)
        np.testing.assert_array_equal(result.ended_early.reshape(-1), [True, False] * 3)
        np.testing.assert_allclose(result.returns.reshape(-1), [-2.1, 12.3] * 3, rtol=1e-5)
    np.testing.assert_array_equal(plain.returns, compacted.returns)
    assert plain.rows_stepped == 6 * 30 and compacted.rows_stepped < plain.rows_stepped
    # compacted: env steps are exactly the alive steps; plain stepped every env 30 times
    assert sum(len(env_id) for env_id, _ in fake_pools[-1].sent) == compacted.alive_steps == 3 * 21 + 3 * 30
    assert sum(len(env_id) for env_id, _ in fake_pools[-2].sent) == 6 * 30


def test_carracing_without_the_rule_plays_every_episode_to_the_step_limit(fake_pools):
    """``early_termination=False`` (a page's switch) turns the no-progress rule off, nothing else."""
    rollout = ep.EnvpoolRollout("envpool:CarRacing-v3", lambda action, obs: action, chunk_steps=8,
                                num_buckets=2, max_steps=30, early_termination=False)
    result = rollout.compacted(jnp.zeros((3, 3)), _keys(3, 2))
    assert (result.steps == 30).all() and not result.ended_early.any()
    np.testing.assert_allclose(result.returns.reshape(-1), [-3.0, 12.3] * 3, rtol=1e-5)


def test_an_episode_strip_shows_the_policys_frames_from_reset_to_the_end(fake_pools):
    rollout = ep.EnvpoolRollout("envpool:CarRacing-v3", lambda action, obs: action, max_steps=30)
    strip = rollout.episode_strip(jnp.zeros(3), jax.random.PRNGKey(0), num_frames=4, gap=2)
    assert strip.shape == (64, 4 * 66 - 2, 3) and strip.dtype == np.uint8
    assert (strip[:, :64] == 0).all()  # the reset frame (the fake's black screen)
    assert (strip[:, 64:66] == 255).all()  # a white spacer
    assert (strip[:, -64:] == 7).all()  # the last frame the episode (21 steps, by the rule) saw


# --- with envpool: tiny populations and tens of steps ------------------------------------------------


def _config(task):
    """A small CNN (the paper's "small" channels) for the task's observation and actions."""
    spec = ep.get_task(task)
    return pixel_cnn.PixelCNNConfig(input_shape=spec.obs_shape, conv_channels=(4, 4, 8, 16),
                                    hidden_sizes=(32,), num_actions=spec.num_actions)


def _population(key, members, config):
    """Random small CNNs with varied output biases, so episodes differ in length (some parked cars end
    by the no-progress rule, some drive to the limit)."""
    def member(index, key):
        params = pixel_cnn.init_params(key, config)
        params["output"]["kernel"] = params["output"]["kernel"] * 0.05
        bias = jnp.linspace(-1.0, 1.0, config.num_actions) * jnp.where(index % 2 == 0, -2.0, 1.0)
        params["output"]["bias"] = bias + 0.3 * index
        return params

    return jax.vmap(member)(jnp.arange(members), jax.random.split(key, members))


def _rollout(task, max_steps, chunk_steps=8):
    config = _config(task)
    rollout = ep.EnvpoolRollout(task, lambda params, obs: pixel_cnn.apply(params, obs, config),
                                chunk_steps=chunk_steps, num_buckets=4, max_steps=max_steps)
    return rollout, config


def _keys(members, episodes, seed=1):
    return jax.random.split(jax.random.PRNGKey(seed), (members, episodes))


@needs_envpool
def test_the_action_counts_are_envpools():
    import envpool

    for name, task in ep.TASKS.items():
        space = envpool.make_spec(task.envpool_id, **dict(task.options)).action_space
        assert (space.n if task.discrete else space.shape[0]) == task.num_actions, name


@needs_envpool
def test_preprocessing_shapes_carracing_and_atari():
    seeds = np.array([5, 6])
    pool = ep.make_pool(ep.get_task("CarRacing-v3"), seeds, max_steps=10)
    try:
        raw, _ = pool.reset()
        assert raw.shape == (2, 96, 96, 3) and raw.dtype == np.uint8
        stack = ep.reset_stack(ep.area_resize(raw, 64, 64))
        assert stack.shape == (2, 64, 64, 12) == (2, *ep.get_task("CarRacing-v3").obs_shape)
        np.testing.assert_array_equal(stack[..., :3], stack[..., 9:])  # the reset frame, repeated
        raw, *_ = pool.step(np.zeros((2, 3), np.float32))
        pushed = ep.push_frames(stack, ep.area_resize(raw, 64, 64))
        values = np.asarray(ep.scaled(jnp.asarray(pushed)))
        assert values.shape == (2, 64, 64, 12) and 0.0 <= values.min() and values.max() <= 1.0
    finally:
        pool.close()
    pool = ep.make_pool(ep.get_task("Breakout"), seeds, max_steps=10)
    try:
        obs, _ = pool.reset()
        assert obs.shape == (2, 3, 84, 84)  # single RGB frames: the rollout skips and stacks
        stack = ep.reset_stack(ep.atari_frames(obs))
        assert stack.shape == (2, 84, 84, 12) == (2, *ep.get_task("Kangaroo").obs_shape)
    finally:
        pool.close()


@needs_envpool
@pytest.mark.parametrize(("task", "shape"), [("envpool:CarRacing-v3", (64, 64, 12)),
                                             ("envpool:Breakout", (84, 84, 12))])
def test_the_policy_sees_the_originals_observation(task, shape):
    """What reaches the policy: the task's shape, float32 in [0, 1], not all black."""
    seen = []

    def policy(action, obs):
        assert obs.shape == shape and obs.dtype == jnp.float32  # checked as the forward is traced
        jax.debug.callback(lambda low, high: seen.append((np.min(low), np.max(high))), obs.min(), obs.max())
        return action

    rollout = ep.EnvpoolRollout(task, policy, chunk_steps=4, num_buckets=1, max_steps=4)
    action = jnp.zeros((1, 3)) if task.endswith("v3") else jnp.zeros(1, jnp.int32)
    rollout.compacted(action, _keys(1, 1))
    low, high = min(low for low, _ in seen), max(high for _, high in seen)
    assert 0.0 <= low and 0.0 < high <= 1.0


@needs_envpool
def test_carracing_same_keys_same_returns_and_compaction_equals_plain():
    rollout, config = _rollout("envpool:CarRacing-v3", max_steps=40)
    params, keys = _population(jax.random.PRNGKey(0), 4, config), _keys(4, 2)
    plain, compacted = rollout.plain(params, keys), rollout.compacted(params, keys)
    np.testing.assert_array_equal(plain.returns, compacted.returns)
    np.testing.assert_array_equal(plain.steps, compacted.steps)
    np.testing.assert_array_equal(plain.ended_early, compacted.ended_early)
    assert plain.returns.shape == (4, 2) and plain.rows_stepped == 8 * 40
    # the population mixes: some episodes end by the no-progress rule, some reach the limit
    assert plain.ended_early.any() and (plain.steps == 40).any()
    assert np.all(plain.steps[plain.ended_early] < 40)
    assert plain.alive_steps <= compacted.rows_stepped < plain.rows_stepped
    again = rollout.compacted(params, keys)
    np.testing.assert_array_equal(again.returns, compacted.returns)
    other = rollout.compacted(params, _keys(4, 2, seed=7))  # other keys, other tracks
    assert not np.array_equal(other.returns, compacted.returns)
    # an episode's seed is its key's: the same episodes in a smaller pool give the same returns
    part = rollout.compacted(jax.tree_util.tree_map(lambda leaf: leaf[1:3], params), keys[1:3])
    np.testing.assert_array_equal(part.returns, compacted.returns[1:3])


@needs_envpool
def test_atari_same_keys_same_returns_and_compaction_equals_plain():
    rollout, config = _rollout("envpool:Asteroids", max_steps=48)
    # plain random CNNs: their argmax follows the screen, so some shoot asteroids within 48 steps
    members = jax.random.split(jax.random.PRNGKey(2), 3)
    params, keys = jax.vmap(lambda key: pixel_cnn.init_params(key, config))(members), _keys(3, 2)
    plain, compacted = rollout.plain(params, keys), rollout.compacted(params, keys)
    np.testing.assert_array_equal(plain.returns, compacted.returns)
    np.testing.assert_array_equal(plain.steps, compacted.steps)
    np.testing.assert_array_equal(plain.ended_early, compacted.ended_early)
    assert (plain.steps == 48).all() and not plain.ended_early.any() and plain.returns.any()
    np.testing.assert_array_equal(rollout.compacted(params, keys).returns, compacted.returns)
