"""Study A's six cases (Gobbi & Konotopska): the data, model and loss of each, as a :class:`Problem`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from nevolab.tasks import autoencoders as ff
from nevolab.tasks import lstm_autoencoder as lstm

PyTree = Any


@dataclasses.dataclass(frozen=True)
class Case:
    """One of the paper's six experimental cases."""

    name: str
    kind: str  # "ff" or "lstm"
    dim: int = 0  # feed-forward input dimension
    seq_len: int = 0
    hidden: int = 0
    config_key: str = ""  # the original's best_configurations case id

    @property
    def label(self) -> str:
        if self.kind == "ff":
            return f"Case {self.name}: FF d={self.dim}"
        return f"Case {self.name}: LSTM seq {self.seq_len}, h {self.hidden}"


CASES: dict[str, Case] = {
    "I": Case("I", "ff", dim=4, config_key="realValuedData_1"),
    "II": Case("II", "ff", dim=8, config_key="realValuedData_2"),
    "III": Case("III", "lstm", seq_len=3, hidden=3, config_key="classData_3"),
    "IV": Case("IV", "lstm", seq_len=4, hidden=4, config_key="classData_4"),
    "V": Case("V", "lstm", seq_len=3, hidden=10, config_key="classData_7"),
    "VI": Case("VI", "lstm", seq_len=4, hidden=10, config_key="classData_8"),
}

ALGORITHMS = ("backprop", "cosyne", "de", "ea", "cosyne_idct", "de_idct", "ea_idct")


@dataclasses.dataclass(frozen=True)
class Problem:
    """Data, initialisation and loss of one case: everything an algorithm needs."""

    case: Case
    init_params: Callable[[jax.Array], PyTree]
    loss: Callable[[PyTree, Any], jax.Array]  # (params, batch) -> scalar
    batches: Any  # pytree with a leading (num_batches,) axis
    num_batches: int
    # The same loss in the form used to evaluate a whole population (vmapped), when that differs.
    population_loss_fn: Callable[[PyTree, Any], jax.Array] | None = None

    @staticmethod
    def batch(batches: Any, index: jax.Array) -> Any:
        """Batch ``index`` of ``batches`` (passed as an argument, not captured: see the runner)."""
        return jax.tree_util.tree_map(lambda array: array[index], batches)

    @property
    def population_loss(self) -> Callable[[PyTree, Any], jax.Array]:
        return self.population_loss_fn or self.loss

    @property
    def num_params(self) -> int:
        return int(jax.flatten_util.ravel_pytree(self.init_params(jax.random.key(0)))[0].size)


def get_case(name: str) -> Case:
    """The case called ``name`` (I … VI)."""
    if name not in CASES:
        raise ValueError(f"unknown case {name!r}; valid: {', '.join(CASES)}")
    return CASES[name]


def make_problem(case: Case | str, num_batches: int = ff.NUM_BATCHES, fast_lstm: bool = False) -> Problem:
    """The data (the original's data seed, batches of 40, one batch per generation) and model of a case.

    ``fast_lstm`` evaluates an LSTM case's population with
    :func:`~nevolab.tasks.lstm_autoencoder.lstm_autoencoder_loss_fast` (the same loss up to float
    rounding, several times faster on a CPU); the default keeps the path the committed results were
    computed with."""
    case = get_case(case) if isinstance(case, str) else case
    if case.kind == "ff":
        data = jnp.asarray(ff.make_gaussian_data(case.dim)[:num_batches])
        return Problem(
            case=case,
            init_params=lambda key: ff.init_ff_autoencoder(key, case.dim),
            loss=ff.ff_autoencoder_loss,
            population_loss_fn=ff.ff_autoencoder_loss_samples_minor,
            batches=data,
            num_batches=num_batches,
        )
    inputs, targets = lstm.make_sequence_data(case.seq_len)
    return Problem(
        case=case,
        init_params=lambda key: lstm.init_lstm_autoencoder(key, case.hidden),
        loss=lambda params, batch: lstm.lstm_autoencoder_loss(params, batch[0], batch[1]),
        population_loss_fn=(lambda params, batch: lstm.lstm_autoencoder_loss_fast(params, *batch))
        if fast_lstm else None,
        batches=(jnp.asarray(inputs[:num_batches]), jnp.asarray(targets[:num_batches])),
        num_batches=num_batches,
    )


BIO_ALGORITHMS = ("cosyne", "de", "ea")
