"""Evolution strategies for pruning runs: evosax 0.3.2 strategies with the knobs the original tuned,
their per-dimension search std (what the SNR criterion divides by), and the original's tuned settings."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

STRATEGIES = ("Sep_CMA_ES", "SNES", "PGPE", "DES")


@dataclasses.dataclass(frozen=True)
class ESConfig:
    """One evosax strategy with the knobs the original tuned (``src/es/tuned_hparams``).

    Attributes:
        strategy: one of :data:`STRATEGIES` (evosax class names; ``DES`` is ``DiscoveredES``).
        population_size: members per generation (even for PGPE).
        generations: generations per pruning round.
        std_init: σ₀, the initial search std (re-initialised every round).
        temperature: SNES/DES rank-weight temperature (evosax 0.1.x ``temperature``: DES-style
            sigmoid weights). ``None`` keeps evosax 0.3.2's default weights.
        elite_ratio: Sep-CMA-ES share of positively weighted members (``None`` = 0.5).
        learning_rate, lr_decay, lr_limit: PGPE's Adam learning rate, multiplied by ``lr_decay``
            every generation down to ``lr_limit`` (evosax 0.1.x ``lrate_*``).
        std_decay, std_limit: PGPE's std, multiplied by ``std_decay`` after every update and
            floored at ``std_limit`` (evosax 0.1.x ``sigma_decay``/``sigma_limit``).
        mean_decay: the mean shrinks by ``(1 - mean_decay)`` after every update (the original's
            ``es_config.mean_decay``, 1e-4 for gymnax and MNIST).
    """

    strategy: str
    population_size: int
    generations: int
    std_init: float
    temperature: float | None = None
    elite_ratio: float | None = None
    learning_rate: float | None = None
    lr_decay: float = 1.0
    lr_limit: float = 0.0
    std_decay: float = 1.0
    std_limit: float = 0.0
    mean_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; valid: {', '.join(STRATEGIES)}")
        if int(self.population_size) < 4:
            raise ValueError(f"population_size must be at least 4; got {self.population_size}")
        if self.strategy == "PGPE" and self.population_size % 2:
            raise ValueError(f"population_size must be even for PGPE; got {self.population_size}")
        if int(self.generations) < 1:
            raise ValueError(f"generations must be at least 1; got {self.generations}")
        if not self.std_init > 0:
            raise ValueError(f"std_init must be positive; got {self.std_init}")
        if self.elite_ratio is not None and not 0 < self.elite_ratio <= 0.5:
            raise ValueError(f"elite_ratio must be in (0, 0.5]; got {self.elite_ratio}")
        if not 0 <= self.mean_decay < 1:
            raise ValueError(f"mean_decay must be in [0, 1); got {self.mean_decay}")


def _temperature_weights(population_size: int, temperature: float) -> jax.Array:
    """evosax's DES rank weights (best first): softmax(-20 sigmoid(T * centred rank))."""
    from evosax.algorithms.distribution_based.discovered_es import get_weights

    return get_weights(population_size, temperature)


def build_strategy(config: ESConfig, num_genes: int) -> tuple[Any, Any]:
    """The evosax strategy and its params for a flat genotype of ``num_genes`` entries."""
    from evosax.algorithms import PGPE, SNES, DiscoveredES, Sep_CMA_ES

    solution = jnp.zeros((num_genes,), jnp.float32)
    if config.strategy == "Sep_CMA_ES":
        es = Sep_CMA_ES(config.population_size, solution)
        if config.elite_ratio is not None:
            # evosax reads elite_ratio when it builds default_params (mu_eff, learning rates);
            # the rank weights themselves must be truncated to the elite by hand.
            es.elite_ratio = config.elite_ratio
        params = es.default_params
        if config.elite_ratio is not None:
            mu = es.num_elites
            prime = jnp.log((config.population_size + 1) / 2) - jnp.log(jnp.arange(1, mu + 1))
            weights = jnp.zeros(config.population_size).at[:mu].set(prime / prime.sum())
            params = params.replace(weights=weights)
        params = params.replace(std_init=jnp.asarray(config.std_init, jnp.float32))
    elif config.strategy == "SNES":
        es = SNES(config.population_size, solution)
        params = es.default_params.replace(std_init=jnp.asarray(config.std_init, jnp.float32))
        if config.temperature is not None:
            params = params.replace(weights=_temperature_weights(config.population_size, config.temperature))
    elif config.strategy == "DES":
        es = DiscoveredES(config.population_size, solution)
        if config.temperature is not None:
            es.temperature = config.temperature
        params = es.default_params.replace(std_init=config.std_init)
    else:
        lr = 0.01 if config.learning_rate is None else config.learning_rate
        schedule = (optax.constant_schedule(lr) if config.lr_decay == 1.0 else
                    optax.exponential_decay(lr, 1, config.lr_decay, end_value=config.lr_limit))
        es = PGPE(config.population_size, solution, optimizer=optax.adam(schedule))
        params = es.default_params.replace(std_init=config.std_init)
    return es, params


def search_std(strategy: str, state: Any, faithful: bool = False) -> jax.Array:
    """The per-dimension search std σ of a strategy state (``stack.md`` §1.3).

    SNES, PGPE and DES keep a vector ``state.std``. Sep-CMA-ES samples ``mean + std * sqrt(C) * z``,
    so its marginal std is ``std * sqrt(C)``. ``faithful=True`` returns what the original divided
    by for Sep-CMA-ES (``masked_es.py``: ``flat_to_sigma(es_state.C)``): the diagonal covariance
    ``C`` itself, without the global step size and without the square root.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if strategy == "Sep_CMA_ES":
        return state.C if faithful else state.std * jnp.sqrt(state.C)
    return state.std


def after_tell(config: ESConfig, state: Any) -> Any:
    """The evosax 0.1.x decays that 0.3.2 no longer has (mean decay, PGPE std decay)."""
    if config.mean_decay:
        state = state.replace(mean=state.mean * (1.0 - config.mean_decay))
    if config.strategy == "PGPE" and config.std_decay != 1.0:
        state = state.replace(std=jnp.maximum(state.std * config.std_decay, config.std_limit))
    return state


#: The original's tuned strategy settings (``src/es/tuned_hparams/*.py`` plus ``es_config`` of
#: ``gym.yaml``/``mnist.yaml``: ``mean_decay`` 1e-4). "gymnax" is the original's fallback branch
#: (used for Pendulum and CartPole); "vision" its MNIST/F-MNIST/K-MNIST branch.
TUNED_HPARAMS: dict[tuple[str, str], dict[str, float]] = {
    ("Sep_CMA_ES", "vision"): {"elite_ratio": 0.5, "std_init": 0.025, "mean_decay": 1e-4},
    ("Sep_CMA_ES", "gymnax"): {"std_init": 0.1, "mean_decay": 1e-4},
    ("SNES", "vision"): {"temperature": 12.0, "std_init": 0.025, "mean_decay": 1e-4},
    ("SNES", "gymnax"): {"temperature": 16.0, "std_init": 0.1, "mean_decay": 1e-4},
    ("PGPE", "vision"): {"learning_rate": 0.01, "lr_decay": 0.999, "lr_limit": 0.001, "std_init": 0.05,
                         "std_decay": 0.999, "std_limit": 0.01, "mean_decay": 1e-4},
    ("PGPE", "gymnax"): {"learning_rate": 0.01, "lr_decay": 0.999, "lr_limit": 0.001, "std_init": 0.1,
                         "std_decay": 0.999, "std_limit": 0.01, "mean_decay": 1e-4},
    ("DES", "gymnax"): {"temperature": 12.5, "std_init": 0.1, "mean_decay": 1e-4},
    ("DES", "vision"): {"temperature": 12.5, "std_init": 0.025, "mean_decay": 1e-4},
}

#: Where each entry of :data:`TUNED_HPARAMS` comes from.
HPARAM_SOURCES: dict[tuple[str, str], str] = {
    ("Sep_CMA_ES", "vision"): "original (tuned_hparams/sep_cma_es.py, mnist branch)",
    ("Sep_CMA_ES", "gymnax"): "original (tuned_hparams/sep_cma_es.py, fallback branch)",
    ("SNES", "vision"): "original (tuned_hparams/snes.py, mnist branch)",
    ("SNES", "gymnax"): "original (tuned_hparams/snes.py, fallback branch)",
    ("PGPE", "vision"): "original (tuned_hparams/pgpe.py, mnist branch)",
    ("PGPE", "gymnax"): ("NevoLab choice: the original's fallback keeps evosax 0.1.x PGPE defaults "
                         "(version unverified); the schedule of its tuned branches with σ₀ 0.1"),
    ("DES", "gymnax"): "original (tuned_hparams/des.py, fallback branch)",
    ("DES", "vision"): "NevoLab choice: the original has no vision DES entry; σ₀ as Sep-CMA-ES/SNES",
}

FAMILIES = ("gymnax", "vision")


def es_config_for(strategy: str, family: str, population_size: int, generations: int,
                  **overrides: Any) -> ESConfig:
    """The :class:`ESConfig` with the original's tuned settings for ``family``
    (``"gymnax"`` or ``"vision"``), updated with ``overrides``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if family not in FAMILIES:
        raise ValueError(f"unknown task family {family!r}; valid: {', '.join(FAMILIES)}")
    settings = {**TUNED_HPARAMS[(strategy, family)], **overrides}
    return ESConfig(strategy=strategy, population_size=int(population_size), generations=int(generations),
                    **settings)
