"""Tests of the pixel racing task (nevolab.tasks.racing): dynamics, reward, CarRacing's ends, the
original's no-progress rule, determinism, jit/vmap and rendering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.tasks.racing import TAU, EnvParams, Racing, early_stop, track_radius, update_progress

ENV = Racing()
PARAMS = ENV.default_params
KEY = jax.random.PRNGKey(0)
GAS, BRAKE, COAST = jnp.array([0.0, 1.0, 0.0]), jnp.array([0.0, 0.0, 1.0]), jnp.zeros(3)


@pytest.fixture(scope="module")
def step():
    return jax.jit(lambda state, action, params: ENV.step_env(KEY, state, action, params))


@pytest.fixture(scope="module")
def start():
    return jax.jit(ENV.reset_env)(KEY, PARAMS)[1]


def _drive(step, state, action, frames, params=PARAMS):
    rewards = []
    for _ in range(frames):
        _, state, reward, _, _ = step(state, action, params)
        rewards.append(float(reward))
    return state, rewards


def test_gas_accelerates_brake_decelerates_and_nothing_turns_at_rest(step, start):
    fast, _ = _drive(step, start, GAS, 10)
    assert 0 < float(fast.speed) <= PARAMS.max_speed
    assert float(fast.speed) > float(_drive(step, start, GAS, 5)[0].speed)
    coasted, _ = _drive(step, fast, COAST, 3)
    braked, _ = _drive(step, fast, BRAKE, 3)
    assert float(braked.speed) < float(coasted.speed) < float(fast.speed)
    assert float(_drive(step, braked, BRAKE, 30)[0].speed) == 0.0  # speed never goes negative
    turned, _ = _drive(step, start, jnp.array([1.0, 0.0, 0.0]), 5)
    assert float(turned.heading) == float(start.heading)


def test_steering_turns_right_for_positive_steer_and_more_at_speed(step, start):
    fast, _ = _drive(step, start, GAS, 10)
    right, _ = _drive(step, fast, jnp.array([1.0, 0.0, 0.0]), 3)
    left, _ = _drive(step, fast, jnp.array([-1.0, 0.0, 0.0]), 3)
    straight, _ = _drive(step, fast, COAST, 3)
    assert float(right.heading) < float(straight.heading) == float(fast.heading) < float(left.heading)
    expected = float(fast.heading) - PARAMS.max_curvature * float(_drive(step, fast, COAST, 1)[0].speed)
    assert float(_drive(step, fast, jnp.array([1.0, 0.0, 0.0]), 1)[0].heading) == pytest.approx(expected)
    # actions are clipped to CarRacing's ranges
    assert float(_drive(step, fast, jnp.array([5.0, 0.0, 0.0]), 1)[0].heading) == pytest.approx(expected)


def test_car_starts_on_tile_zero_facing_along_the_track(start):
    tile, on_road = ENV.locate(start.x, start.y, start, PARAMS)
    assert int(tile) == 0 and bool(on_road) and float(start.speed) == 0.0
    ahead_x, ahead_y = start.x + 3 * jnp.cos(start.heading), start.y + 3 * jnp.sin(start.heading)
    ahead = ENV.locate(ahead_x, ahead_y, start, PARAMS)
    assert bool(ahead[1])
    bounds = np.asarray(start.tile_bounds)
    assert bounds[0] == 0 and bounds[-1] == pytest.approx(TAU) and np.all(np.diff(bounds) > 0)


def _teleport_lap(step, state):
    """Put the car, at rest, on the middle of every tile in turn; returns rewards and ends."""
    bounds = np.asarray(state.tile_bounds)
    out = []
    for tile in range(ENV.num_tiles):
        theta = jnp.float32(0.5 * (bounds[tile] + bounds[tile + 1]))
        r = track_radius(theta, state.amplitudes, state.phases, PARAMS.track_radius)
        state = state.replace(x=r * jnp.cos(theta), y=r * jnp.sin(theta), speed=jnp.zeros(()))
        _, state, reward, terminated, info = step(state, COAST, PARAMS)
        out.append((float(reward), bool(terminated), bool(info["lap_complete"])))
    return out


def test_tile_rewards_sum_to_1000_over_a_lap_and_each_frame_costs_a_tenth(step, start):
    lap = _teleport_lap(step, start)
    rewards = np.array([reward for reward, _, _ in lap])
    np.testing.assert_allclose(rewards, 1000 / ENV.num_tiles - 0.1, rtol=1e-6)
    assert (rewards + 0.1).sum() == pytest.approx(1000.0, abs=1e-3)
    assert not any(term for _, term, _ in lap[:-1]) and lap[-1][1] and lap[-1][2]  # all tiles: lap done
    _, rewards_at_rest = _drive(step, start, COAST, 5)
    assert rewards_at_rest[0] == pytest.approx(1000 / ENV.num_tiles - 0.1)  # the start tile
    assert rewards_at_rest[1:] == pytest.approx([-0.1] * 4)  # no new tile: only the frame cost


def test_leaving_the_playfield_ends_with_minus_100(step, start):
    away = start.replace(x=jnp.float32(PARAMS.playfield_radius + 1.0), y=jnp.zeros(()))
    _, _, reward, terminated, info = step(away, COAST, PARAMS)
    assert float(reward) == -100.0 and bool(terminated) and bool(info["off_playfield"])


def _literal_rule(rewards: list[float]) -> int | None:
    """The original's wording: the first step after which more than 20 rewards have been seen and
    the last 21 are all negative (1-based), or None."""
    for seen in range(1, len(rewards) + 1):
        if seen > 20 and all(r < 0 for r in rewards[seen - 21:seen]):
            return seen
    return None


@pytest.mark.parametrize("rewards", [
    [-0.1] * 30,  # never positive: stops at the 21st reward
    [3.0] + [-0.1] * 30,  # a tile first: 1 + 21
    [-0.1] * 15 + [2.0] + [-0.1] * 20 + [1.0] + [-0.1] * 25,  # streaks of 15 and 20 do not stop it
    [-0.1] * 20 + [0.0] + [-0.1] * 5,  # zero is not negative
    [5.0, -0.1] * 20,
])
def test_no_progress_rule_matches_its_wording(rewards):
    def body(carry, reward):
        seen, streak = update_progress(*carry, reward)
        return (seen, streak), early_stop(seen, streak, PARAMS)

    init = (jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
    _, stops = jax.lax.scan(body, init, jnp.asarray(rewards, jnp.float32))
    stops = np.asarray(stops)
    first = int(np.argmax(stops)) + 1 if stops.any() else None
    assert first == _literal_rule(rewards)
    off = PARAMS.replace(early_termination=False)
    assert not bool(early_stop(jnp.int32(100), jnp.int32(100), off))


def test_no_progress_ends_a_parked_car_after_22_frames_unless_switched_off(step, start):
    state, ends = start, []
    for _ in range(25):
        _, state, _, terminated, info = step(state, COAST, PARAMS)
        ends.append((bool(terminated), bool(info["no_progress"])))
    assert ends.index((True, True)) == 21  # the start tile's reward, then 21 negative frames
    state = start
    for _ in range(25):
        _, state, _, terminated, _ = step(state, COAST, PARAMS.replace(early_termination=False))
        assert not bool(terminated)


def _controller(state, params):
    """A state-based driver aiming at the centre line a little ahead (to show a lap is drivable)."""
    theta = jnp.mod(jnp.arctan2(state.y, state.x), TAU) + 0.25
    r = track_radius(theta, state.amplitudes, state.phases, params.track_radius)
    want = jnp.arctan2(r * jnp.sin(theta) - state.y, r * jnp.cos(theta) - state.x)
    error = jnp.angle(jnp.exp(1j * (want - state.heading)))
    return jnp.array([jnp.clip(-3.0 * error, -1.0, 1.0), 0.6, 0.0])


def _episode(key, params=PARAMS, policy=_controller):
    """(rewards, terminated, lap_complete, observations) of one episode of ``policy``, to the limit."""
    _, state = ENV.reset_env(key, params)

    def body(state, _):
        obs, state, reward, terminated, info = ENV.step_env(key, state, policy(state, params), params)
        return state, (reward, terminated, info["lap_complete"], obs)

    return jax.lax.scan(body, state, None, length=params.max_steps_in_episode)[1]


def test_a_driven_lap_scores_1000_minus_a_tenth_per_frame():
    params = PARAMS.replace(max_steps_in_episode=400)
    rewards, terminated, lap, _ = jax.jit(_episode, static_argnums=1)(KEY, params)
    end = int(np.argmax(np.asarray(terminated)))
    assert bool(terminated[end]) and bool(lap[end])
    assert float(rewards[:end + 1].sum()) == pytest.approx(1000 - 0.1 * (end + 1), abs=0.05)


def test_same_key_same_episode_other_key_other_track():
    run = jax.jit(_episode)
    first, again, other = run(KEY), run(KEY), run(jax.random.PRNGKey(1))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(first[3][0]), np.asarray(other[3][0]))
    tracks = [ENV.reset_env(jax.random.PRNGKey(k), PARAMS)[1].amplitudes for k in range(2)]
    assert not np.array_equal(np.asarray(tracks[0]), np.asarray(tracks[1]))


def test_jit_and_vmap_over_keys_with_gymnax_auto_reset():
    keys = jax.random.split(KEY, 3)
    obs, state = jax.vmap(ENV.reset, in_axes=(0, None))(keys, PARAMS)
    assert obs.shape == (3, *ENV.obs_shape)
    step = jax.jit(jax.vmap(ENV.step, in_axes=(0, 0, 0, None)))
    actions = jnp.tile(GAS, (3, 1))
    obs, state, reward, terminated, truncated, _ = step(keys, state, actions, PARAMS)
    assert reward.shape == terminated.shape == truncated.shape == (3,)
    short = PARAMS.replace(max_steps_in_episode=2)
    _, state, _, _, truncated, _ = step(keys, state, actions, short)
    assert np.all(np.asarray(truncated)) and np.all(np.asarray(state.time) == 0)  # reset after the limit


def test_observation_is_a_stack_of_grayscale_frames_in_unit_range(step, start):
    obs = ENV.get_obs(start)
    assert obs.shape == (64, 64, 4) and obs.dtype == jnp.float32
    assert ENV.observation_space(PARAMS).shape == obs.shape and ENV.action_space().shape == (3,)
    assert float(obs.min()) >= 0.0 and float(obs.max()) <= 1.0
    np.testing.assert_array_equal(np.asarray(obs[..., 0]), np.asarray(obs[..., -1]))  # reset repeats frame
    frame = np.asarray(ENV.render(start, PARAMS))
    assert frame.shape == (64, 64)
    assert np.isclose(frame, 0.4).any() and np.isclose(frame, 0.24).any()  # road and car are drawn
    moved, _ = _drive(step, start, GAS, 4)
    later, _ = _drive(step, moved, GAS, 1)
    np.testing.assert_array_equal(np.asarray(later.frames[..., :-1]), np.asarray(moved.frames[..., 1:]))
    np.testing.assert_array_equal(np.asarray(later.frames[..., -1]), np.asarray(ENV.render(later, PARAMS)))
    small = Racing(obs_size=48, frame_stack=2)
    assert small.reset_env(KEY, PARAMS)[0].shape == (48, 48, 2)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="num_tiles"):
        Racing(num_tiles=4)
    assert isinstance(PARAMS, EnvParams) and PARAMS.max_steps_in_episode == 1000
