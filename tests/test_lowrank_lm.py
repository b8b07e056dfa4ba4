"""Tiny end-to-end tests of Study C's runs (nevolab.studies.c.lm and .runs)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nevolab import runner, store
from nevolab.algorithms.deep_ga import DeepGA
from nevolab.lowrank import PAPER_VARIANTS
from nevolab.models.transformer import TransformerConfig, init_params, token_cross_entropy
from nevolab.studies.c import runs
from nevolab.studies.c.lm import (
    AdamRun,
    LMRun,
    evolve,
    make_population_loss,
    make_train,
    prepare_heldout,
    prepare_sequences,
)
from nevolab.studies.c.runs import adam_table, run_tables
from nevolab.studies.c.variants import setup_variant

# One small block keeps compilation short; rank1 (rank 1, embedding rank 4) fits hidden 8.
TINY = {"num_blocks": 1, "hidden_dim": 8, "ff_dim": 16, "num_heads": 2, "head_dim": 4}
DATA = {"num_sequences": 2, "sequence_length": 8}
POP, ELITES, GENERATIONS = 8, 2, 4


def tiny_run(variant: str = "rank1", num_generations: int = GENERATIONS, seeds: tuple[int, ...] = (0, 1),
             **changes) -> LMRun:
    """A tiny run config (test helper)."""
    run = LMRun(kind="curves", variant=variant, population_size=POP, num_elites=ELITES,
                num_generations=num_generations, tokenizer="char", seeds=seeds, data_seed=0,
                mutation_rate=0.01, model_overrides=TINY, ranks=None, num_heldout=3, heldout_every=2, **DATA)
    return dataclasses.replace(run, **changes)


def test_curves_tiny():
    df, _ = run_tables(tiny_run(), effect_generations=())
    assert len(df) == 2 * GENERATIONS
    assert list(df.groupby("seed").generation.apply(list)) == [list(range(GENERATIONS))] * 2
    _, layout = setup_variant("rank1", vocab_size=103, model_overrides=TINY)
    assert (df.num_genes == layout.num_genes).all() and (df.num_params == layout.num_params).all()
    assert layout.num_genes < layout.num_params
    for _, run in df.groupby("seed"):
        best = run.best_neg_ce.to_numpy()
        assert np.all(np.diff(best) >= 0)  # unmutated elites, fixed data: the best never gets worse
        np.testing.assert_array_equal(run.best_so_far_neg_ce, np.maximum.accumulate(best))
        assert np.all(run.best_neg_ce >= run.mean_neg_ce)
        assert np.isnan(run.deleterious_fraction.iloc[0])
        assert run.deleterious_fraction.iloc[1:].between(0, 1).all()
    tokens_per_generation = POP * DATA["num_sequences"] * DATA["sequence_length"]
    np.testing.assert_array_equal(df.tokens_evaluated[:GENERATIONS],
                                  tokens_per_generation * np.arange(1, GENERATIONS + 1))
    first = df[df.generation == 0].set_index("seed").best_neg_ce
    assert first[0] != first[1]  # seeds are independent runs

    # known answer: generation 0 is the initial population drawn from the seed's first key
    sequences, vocab_size = prepare_sequences("char", **DATA)
    config, layout = setup_variant("rank1", vocab_size, model_overrides=TINY)
    ga = DeepGA(POP, layout.num_genes, ELITES, layout.mutation_scales)
    loss = make_population_loss(layout.encoding, config)

    @jax.jit
    def initial_best(key):
        population, _ = ga.sample_initial(jax.random.split(key, 3)[0], layout.init_fn)
        return loss(population, sequences).min()

    np.testing.assert_allclose(first[0], -initial_best(jax.random.PRNGKey(0)), rtol=1e-5)


def test_children_effects_match_the_ga_metric():
    """Every mutated child's effect; their share of harmful ones is the GA's own metric."""
    run = tiny_run(num_generations=3, seeds=(0,))
    _, metrics = evolve(run)
    effect = metrics["child_effect"][0, -1]
    mutated = ~np.isnan(effect)
    assert mutated.sum() == POP - ELITES  # elites are not mutated
    np.testing.assert_allclose(np.mean(effect[mutated] > 0), metrics["deleterious_fraction"][0, -1])
    np.testing.assert_allclose(np.mean(effect[mutated]), metrics["mean_mutation_effect"][0, -1], rtol=1e-5)


def test_adam_reference_tiny():
    run = AdamRun(kind="adam", num_steps=40, learning_rate=1e-2, tokenizer="char", seeds=(0,), data_seed=0,
                  eval_every=20, model_overrides=TINY, num_heldout=3, **DATA)
    df = adam_table(run)
    assert list(df.step) == [0, 20, 40]
    np.testing.assert_array_equal(df.tokens_evaluated, df.step * 3 * 2 * 8)
    assert df.neg_ce.iloc[-1] > df.neg_ce.iloc[0] + 1.0  # backprop fits the two windows quickly
    # known answer: before step 0 the held-out loss is the initial model's on the held-out windows
    config = TransformerConfig(vocab_size=prepare_sequences("char", **DATA)[1],
                               **{**PAPER_VARIANTS["dense"]["model"], **TINY})
    heldout = prepare_heldout("char", DATA["num_sequences"], 3, DATA["sequence_length"])
    initial = token_cross_entropy(init_params(config, jax.random.PRNGKey(0)), heldout, config)
    np.testing.assert_allclose(df.heldout_neg_ce.iloc[0], -initial, rtol=1e-5)
    # two windows are memorised, not learned: the held-out windows gain far less than the trained ones
    assert df.heldout_neg_ce.notna().all()
    gain = df.neg_ce.iloc[-1] - df.neg_ce.iloc[0]
    assert df.heldout_neg_ce.iloc[-1] - df.heldout_neg_ce.iloc[0] < gain


def test_the_best_individual_is_scored_on_the_heldout_windows_on_schedule():
    """Every ``heldout_every``-th generation and the last, the held-out loss is the best individual's
    loss on the held-out windows (recomputed here from the GA's state); NaN between."""
    run = tiny_run(num_generations=5, seeds=(0,), heldout_every=2)
    train = make_train(run)
    _, metrics = evolve(run)
    heldout = metrics["heldout_loss"][0]
    assert list(np.flatnonzero(~np.isnan(heldout))) == [0, 2, 4]
    state = train.init_fn(jax.random.split(train.keys[0])[1])
    run_key = jax.random.split(train.keys[0])[0]
    _, vocab_size = prepare_sequences("char", **DATA)
    config, layout = setup_variant(run.variant, vocab_size, model_overrides=TINY)
    loss = make_population_loss(layout.encoding, config, 1)
    for generation in range(3):
        keys = train.step.derive_keys(run_key, jnp.int32(generation))
        state, _ = jax.jit(train.step)(state, keys, jnp.int32(generation), train.data)
        if generation in (0, 2):
            expected = loss(state.ga.best_solution[None], train.data[1])[0]
            np.testing.assert_allclose(heldout[generation], expected, rtol=1e-5)


def test_validation_before_compute():
    with pytest.raises(ValueError, match="dense, lowrank, small, rank1"):
        tiny_run(variant="huge")
    with pytest.raises(ValueError, match="num_elites"):
        tiny_run(population_size=4, num_elites=4)
    with pytest.raises(ValueError, match="num_steps"):
        AdamRun(kind="adam", num_steps=0, learning_rate=1e-2, tokenizer="char", seeds=(0,), data_seed=0,
                eval_every=1, model_overrides={}, num_heldout=1, **DATA)
    with pytest.raises(ValueError, match="num_heldout"):
        tiny_run(num_heldout=0)


def test_ga_runs_resume_after_a_kill_with_identical_numbers(tmp_path, monkeypatch):
    """A run killed after its first chunk resumes from the checkpoint with the numbers of an
    uninterrupted run (checkpoints every generation here)."""
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path))
    run = tiny_run(num_generations=3, seeds=(0, 1))
    monkeypatch.setattr(runs, "CHECKPOINT_CHUNKS", 3)
    whole = run_tables(run, checkpoint=True)
    assert not store.checkpoint_path(run).exists()  # removed once the run completes

    save = runner.save_checkpoint

    def save_then_die(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt("killed after the first chunk")

    monkeypatch.setattr(runner, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_tables(run, checkpoint=True)
    assert store.checkpoint_path(run).exists()
    monkeypatch.setattr(runner, "save_checkpoint", save)
    resumed = run_tables(run, checkpoint=True)
    for expected, got in zip(whole, resumed, strict=True):
        pd.testing.assert_frame_equal(expected, got, check_exact=True)
