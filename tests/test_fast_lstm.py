"""The fast population loss of the LSTM auto-encoder against the plain one (its oracle)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.runner import run_vmapped
from nevolab.studies.a.cases import CASES, make_problem
from nevolab.studies.a.runs import best_hyperparameters
from nevolab.studies.a.train import AERun, make_train
from nevolab.tasks.lstm_autoencoder import (
    init_lstm_autoencoder,
    lstm_autoencoder_loss,
    lstm_autoencoder_loss_fast,
    make_sequence_data,
)

LSTM_CASES = [name for name, case in CASES.items() if case.kind == "lstm"]


# Jitted once each, so that cases of one shape share a compilation.
_plain = jax.jit(jax.vmap(lstm_autoencoder_loss, (0, None, None)))
_fast = jax.jit(jax.vmap(lstm_autoencoder_loss_fast, (0, None, None)))


@pytest.mark.parametrize("case", LSTM_CASES)
def test_fast_loss_equals_the_plain_one_on_every_lstm_case(case):
    seq_len, hidden = CASES[case].seq_len, CASES[case].hidden
    inputs, targets = make_sequence_data(seq_len)
    keys = jax.random.split(jax.random.key(3), 6)
    params = jax.vmap(lambda key: init_lstm_autoencoder(key, hidden))(keys)
    # Scale 4 pushes the gates into saturation, where a wrong gate order would show.
    for scale, batch in ((1.0, 0), (4.0, 1999)):
        scaled = jax.tree_util.tree_map(lambda array, s=scale: array * s, params)
        x, y = jnp.asarray(inputs[batch]), jnp.asarray(targets[batch])
        np.testing.assert_allclose(_fast(scaled, x, y), _plain(scaled, x, y), rtol=1e-5)


@pytest.mark.parametrize("seq_len, hidden", [(1, 1), (2, 3)])
def test_fast_loss_on_short_sequences_and_any_inputs(seq_len, hidden):
    # One step (no recurrent product at all), and inputs that are not one-hot.
    keys = jax.random.split(jax.random.key(5), 4)
    params = jax.vmap(lambda key: init_lstm_autoencoder(key, hidden))(keys[:2])
    inputs = jax.random.normal(keys[2], (7, seq_len, 2))
    targets = jax.random.randint(keys[3], (7, seq_len), 0, 2)
    np.testing.assert_allclose(_fast(params, inputs, targets), _plain(params, inputs, targets),
                               rtol=1e-5)


def test_problem_selects_the_fast_loss_only_when_asked():
    assert make_problem("VI", num_batches=3).population_loss_fn is None  # committed runs' path
    assert make_problem("VI", num_batches=3, fast_lstm=True).population_loss_fn is not None
    # A feed-forward case keeps its own population loss.
    assert (make_problem("II", num_batches=3, fast_lstm=True).population_loss_fn
            is make_problem("II", num_batches=3).population_loss_fn)


def test_a_short_cosyne_run_on_case_vi_gives_the_same_losses_with_the_fast_path():
    case, algorithm = "VI", "cosyne"
    run = AERun(case=case, algorithm=algorithm, hyperparameters=best_hyperparameters(case, algorithm),
                repeats=2, generations=6, seed=0)
    keys = jax.random.split(jax.random.key(run.seed), run.repeats)
    metrics = {fast: run_vmapped(make_train(dataclasses.replace(run, fast_lstm=fast)), keys,
                                 run.generations)[1] for fast in (False, True)}
    for name in ("best_fitness", "min_fitness", "mean_fitness"):
        np.testing.assert_allclose(metrics[True][name], metrics[False][name], rtol=1e-5)


def test_the_fast_lstm_enters_the_key_only_where_it_is_on():
    run = AERun(case="VI", algorithm="cosyne", hyperparameters=best_hyperparameters("VI", "cosyne"),
                repeats=2, generations=6, seed=0)
    fast = dataclasses.replace(run, fast_lstm=True)
    assert "fast_lstm" not in run.to_dict() and fast.to_dict()["fast_lstm"] is True
    assert fast.hash() != run.hash()
    feed_forward = AERun(case="II", algorithm="cosyne", hyperparameters=best_hyperparameters("II", "cosyne"),
                         repeats=2, generations=6, seed=0, fast_lstm=True)
    assert not feed_forward.fast_lstm and "fast_lstm" not in feed_forward.to_dict()
