"""A small top-down racing task in pure JAX with CarRacing's rules (Study C's pixel task).

No JAX port of gymnasium's ``CarRacing-v3`` exists, so this is a re-implementation of its *rules*
on much simpler physics (originals.md section 1.3):

* **Track.** Every reset draws a new closed track from the key, as CarRacing does: a star-shaped
  loop ``r(theta) = R (1 + sum_k a_k cos(k theta + phi_k))`` (CarRacing also places its checkpoints
  at increasing angles around a circle with a random radius). The loop is cut into ``num_tiles``
  tiles of equal arc length. The car is on the road when its radial distance to the centre line is
  below ``half_width`` (radial rather than perpendicular distance keeps rendering a handful of
  arithmetic per pixel; with the default amplitudes the two differ by a few per cent).
* **Reward.** ``+1000 / num_tiles`` for each newly visited tile and ``-0.1`` per frame, so a clean
  lap is worth ``1000 - 0.1 * frames``. Leaving the playfield ends the episode with ``-100``.
  The episode also ends when every tile is visited, or (``lap_complete_percent``, v3's rule) when
  the car is back on the start tile after visiting that fraction of the tiles.
* **The original's early termination** (the Jevo.jl wrapper): the episode ends once more than
  ``min_rewards`` (20) rewards have been seen and the last ``patience`` (21) are all negative,
  i.e. after 21 frames in a row without a new tile. ``early_termination=False`` switches it off.
* **Actions.** ``[steer in [-1, 1], gas in [0, 1], brake in [0, 1]]``, clipped, as CarRacing's
  continuous action space. Dynamics: speed gains ``gas * engine_accel``, loses
  ``brake * brake_decel`` and a drag proportional to speed (much larger on grass); the heading turns
  by ``steer * max_curvature * speed`` per frame (a kinematic car: no turning at rest), clockwise for
  positive steer (CarRacing's +1 is a right turn). The track runs counter-clockwise.
* **Pixels.** Grayscale, ``obs_size`` x ``obs_size`` (default 64, the original's resized size),
  rendered inside JAX, with the last ``frame_stack`` (4) frames stacked on the channel axis
  (``FrameStackObservation(4)``; at reset the first frame is repeated, gymnasium's default). The
  view is car-centred and turns with the car, as CarRacing's camera: a whole-track view at 64 px
  would draw the road about 4 px wide and the car as one pixel, while the car-centred view shows
  the next bend at a width the CNN's 4x4 stride-2 filters can see. Grey levels follow CarRacing's
  colours' luminance (road 0.4, grass 0.6 / 0.66 in a checker that makes motion visible on grass,
  car 0.24); the bottom rows are a speed bar, as CarRacing's indicator strip.

The class follows gymnax's :class:`~gymnax.environments.environment.Environment` (installed
gymnax 1.0: ``step`` returns ``obs, state, reward, terminated, truncated, info`` and resets
automatically). Shapes (tile count, image size, stack depth, harmonics) are constructor arguments;
physical constants and rules are :class:`EnvParams` fields and may be traced.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

__all__ = ["EnvParams", "EnvState", "Racing", "early_stop", "track_radius", "update_progress"]

TAU = 2.0 * math.pi
ROAD, GRASS_DARK, GRASS_LIGHT, CAR, BAR_BACKGROUND, BAR = 0.4, 0.6, 0.66, 0.24, 0.0, 1.0


@struct.dataclass
class EnvState(environment.EnvState):
    x: jax.Array
    y: jax.Array
    heading: jax.Array  # radians, world frame
    speed: jax.Array  # world units per frame
    amplitudes: jax.Array  # (num_harmonics,) track shape
    phases: jax.Array  # (num_harmonics,)
    tile_bounds: jax.Array  # (num_tiles + 1,) angles from 0 to 2 pi, equal arc length per tile
    visited: jax.Array  # (num_tiles,) bool
    rewards_seen: jax.Array  # int32, rewards since reset (the early-termination rule's count)
    negative_streak: jax.Array  # int32, how many of the latest rewards in a row were negative
    frames: jax.Array  # (obs_size, obs_size, frame_stack), newest last
    terminated: jax.Array  # bool, a natural end (tiles, lap, playfield, no progress)
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    track_radius: float = 60.0
    track_amplitude: float = 0.15  # harmonic k has amplitude uniform(-A/k, A/k)
    half_width: float = 6.0
    playfield_radius: float = 130.0
    max_speed: float = 1.5
    engine_accel: float = 0.03
    brake_decel: float = 0.08
    road_drag: float = 0.01
    grass_drag: float = 0.06
    max_curvature: float = 0.1  # 1 / (smallest turning radius), per world unit driven
    view_size: float = 48.0  # world units across the image
    lap_complete_percent: float = 0.95
    early_termination: bool = True
    min_rewards: int = 20
    patience: int = 21
    max_steps_in_episode: int = 1000


def track_radius(theta: jax.Array, amplitudes: jax.Array, phases: jax.Array, radius: float) -> jax.Array:
    """Centre-line radius at angle ``theta`` (any shape) of the track with these harmonics."""
    orders = jnp.arange(1, amplitudes.shape[0] + 1, dtype=jnp.float32)
    waves = amplitudes * jnp.cos(orders * theta[..., None] + phases)
    return radius * (1.0 + waves.sum(-1))


def _tile_bounds(amplitudes: jax.Array, phases: jax.Array, radius: float, num_tiles: int) -> jax.Array:
    """Angles cutting the loop into ``num_tiles`` pieces of equal arc length (0 and 2 pi included)."""
    angles = jnp.linspace(0.0, TAU, 16 * num_tiles + 1)
    r = track_radius(angles, amplitudes, phases, radius)
    points = jnp.stack([r * jnp.cos(angles), r * jnp.sin(angles)], -1)
    lengths = jnp.linalg.norm(jnp.diff(points, axis=0), axis=-1)
    arc = jnp.concatenate([jnp.zeros(1), jnp.cumsum(lengths)])
    targets = jnp.linspace(0.0, 1.0, num_tiles + 1) * arc[-1]
    bounds = jnp.interp(targets, arc, angles)
    return bounds.at[0].set(0.0).at[-1].set(TAU)


def update_progress(rewards_seen: jax.Array, negative_streak: jax.Array, reward: jax.Array
                    ) -> tuple[jax.Array, jax.Array]:
    """The rule's counters after one more reward: rewards seen, and the run of negative ones."""
    return rewards_seen + 1, jnp.where(reward < 0, negative_streak + 1, 0)


def early_stop(rewards_seen: jax.Array, negative_streak: jax.Array, params: EnvParams) -> jax.Array:
    """The original's rule: more than ``min_rewards`` seen and the last ``patience`` all negative."""
    rule = (rewards_seen > params.min_rewards) & (negative_streak >= params.patience)
    return rule & params.early_termination


class Racing(environment.Environment[EnvState, EnvParams]):
    """Top-down car racing on a random closed track of tiles, observed as stacked grayscale pixels."""

    def __init__(self, num_tiles: int = 96, obs_size: int = 64, frame_stack: int = 4,
                 num_harmonics: int = 4):
        super().__init__()
        if num_tiles < 8 or obs_size < 8 or frame_stack < 1 or num_harmonics < 1:
            raise ValueError("need num_tiles >= 8, obs_size >= 8, frame_stack >= 1, num_harmonics >= 1; got "
                             f"{num_tiles}, {obs_size}, {frame_stack}, {num_harmonics}")
        self.num_tiles, self.obs_size = num_tiles, obs_size
        self.frame_stack, self.num_harmonics = frame_stack, num_harmonics
        self.obs_shape = (obs_size, obs_size, frame_stack)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    @property
    def name(self) -> str:
        return "Racing-pixels"

    @property
    def num_actions(self) -> int:
        return 3

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        """A new random track; the car at rest on the start of tile 0, facing along the track."""
        key_amp, key_phase = jax.random.split(key)
        orders = jnp.arange(1, self.num_harmonics + 1, dtype=jnp.float32)
        amplitudes = jax.random.uniform(key_amp, (self.num_harmonics,), minval=-1.0, maxval=1.0)
        amplitudes = amplitudes * params.track_amplitude / orders
        phases = jax.random.uniform(key_phase, (self.num_harmonics,), maxval=TAU)
        r0 = track_radius(jnp.zeros(()), amplitudes, phases, params.track_radius)
        # d r / d theta at 0; the tangent of (r cos, r sin) there is (r', r0).
        dr0 = -params.track_radius * jnp.sum(amplitudes * orders * jnp.sin(phases))
        state = EnvState(
            x=r0, y=jnp.zeros(()), heading=jnp.arctan2(r0, dr0), speed=jnp.zeros(()),
            amplitudes=amplitudes, phases=phases,
            tile_bounds=_tile_bounds(amplitudes, phases, params.track_radius, self.num_tiles),
            visited=jnp.zeros(self.num_tiles, bool), rewards_seen=jnp.zeros((), jnp.int32),
            negative_streak=jnp.zeros((), jnp.int32),
            frames=jnp.zeros(self.obs_shape, jnp.float32), terminated=jnp.zeros((), bool), time=0)
        frame = self.render(state, params)
        state = state.replace(frames=jnp.repeat(frame[..., None], self.frame_stack, axis=-1))
        return self.get_obs(state), state

    def locate(self, x: jax.Array, y: jax.Array, state: EnvState, params: EnvParams
               ) -> tuple[jax.Array, jax.Array]:
        """(tile index, on the road) of world points (any shape)."""
        theta = jnp.mod(jnp.arctan2(y, x), TAU)
        tile = jnp.clip(jnp.searchsorted(state.tile_bounds, theta, side="right") - 1, 0, self.num_tiles - 1)
        offset = jnp.hypot(x, y) - track_radius(theta, state.amplitudes, state.phases, params.track_radius)
        return tile, jnp.abs(offset) < params.half_width

    def drive(self, state: EnvState, action: jax.Array, params: EnvParams) -> EnvState:
        """One frame of the car's dynamics (no rewards): speed, heading, position."""
        action = jnp.asarray(action, jnp.float32)
        steer = jnp.clip(action[0], -1.0, 1.0)
        gas, brake = jnp.clip(action[1], 0.0, 1.0), jnp.clip(action[2], 0.0, 1.0)
        _, on_road = self.locate(state.x, state.y, state, params)
        drag = jnp.where(on_road, params.road_drag, params.grass_drag)
        speed = state.speed + params.engine_accel * gas - params.brake_decel * brake - drag * state.speed
        speed = jnp.clip(speed, 0.0, params.max_speed)
        heading = state.heading - steer * params.max_curvature * speed  # +steer: right (clockwise)
        return state.replace(x=state.x + speed * jnp.cos(heading), y=state.y + speed * jnp.sin(heading),
                             heading=heading, speed=speed)

    def step_env(self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
                 ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        """Drive one frame, score new tiles, apply CarRacing's ends and the no-progress rule."""
        del key  # the dynamics are deterministic; randomness is only in the track
        before = jnp.sum(state.visited)
        state = self.drive(state, action, params)
        tile, on_road = self.locate(state.x, state.y, state, params)
        new_tile = on_road & ~state.visited[tile]
        visited = state.visited.at[tile].set(state.visited[tile] | on_road)
        off_playfield = jnp.hypot(state.x, state.y) > params.playfield_radius
        reward = jnp.where(new_tile, 1000.0 / self.num_tiles, 0.0) - 0.1
        reward = jnp.where(off_playfield, -100.0, reward)
        rewards_seen, streak = update_progress(state.rewards_seen, state.negative_streak, reward)
        no_progress = early_stop(rewards_seen, streak, params)
        lap = on_road & (tile == 0) & (before >= params.lap_complete_percent * self.num_tiles)
        all_tiles = jnp.all(visited)
        terminated = off_playfield | no_progress | lap | all_tiles
        state = state.replace(visited=visited, rewards_seen=rewards_seen, negative_streak=streak,
                              terminated=terminated, time=state.time + 1)
        frame = self.render(state, params)
        state = state.replace(frames=jnp.concatenate([state.frames[..., 1:], frame[..., None]], -1))
        info = {"no_progress": no_progress, "lap_complete": lap | all_tiles, "off_playfield": off_playfield,
                "tiles_visited": jnp.sum(visited), "discount": 1.0 - terminated.astype(jnp.float32)}
        return self.get_obs(state), state, reward, terminated, info

    def render(self, state: EnvState, params: EnvParams) -> jax.Array:
        """The current grayscale frame (obs_size, obs_size) in [0, 1], car-centred and heading-up."""
        n = self.obs_size
        cells = (jnp.arange(n, dtype=jnp.float32) + 0.5) / n
        # Rows from the top: forward distance; the car sits a quarter of the way up the image.
        forward = ((1.0 - cells) - 0.25)[:, None] * params.view_size
        lateral = (cells - 0.5)[None, :] * params.view_size  # positive: to the car's right
        cos, sin = jnp.cos(state.heading), jnp.sin(state.heading)
        wx = state.x + forward * cos + lateral * sin
        wy = state.y + forward * sin - lateral * cos
        _, on_road = self.locate(wx, wy, state, params)
        checker = (jnp.floor(wx / 8.0) + jnp.floor(wy / 8.0)) % 2 == 0
        image = jnp.where(on_road, ROAD, jnp.where(checker, GRASS_LIGHT, GRASS_DARK))
        car = (jnp.abs(lateral) < 1.2) & (jnp.abs(forward) < 2.2)
        image = jnp.where(car, CAR, image)
        bar_rows = max(1, n // 16)  # CarRacing's indicator strip, reduced to the speed bar
        bar = (cells[None, :] < state.speed / params.max_speed) & (cells[:, None] * n >= n - bar_rows)
        image = jnp.where(cells[:, None] * n >= n - bar_rows, jnp.where(bar, BAR, BAR_BACKGROUND), image)
        return image.astype(jnp.float32)

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: jax.Array | None = None
                ) -> jax.Array:
        """The stacked frames (obs_size, obs_size, frame_stack), newest last."""
        return state.frames

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Whether the last step ended the episode by a rule (not the time limit)."""
        return state.terminated

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        """[steer, gas, brake] within [-1, 0, 0] .. [1, 1, 1]."""
        return spaces.Box(jnp.array([-1.0, 0.0, 0.0]), jnp.array([1.0, 1.0, 1.0]), (3,), jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        """Stacked grayscale frames in [0, 1]."""
        return spaces.Box(0.0, 1.0, self.obs_shape, jnp.float32)
