"""Tiny end-to-end tests of Study C (nevolab.studies.lowrank_lm)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nevolab.algorithms.deep_ga import DeepGA
from nevolab.studies.lowrank_lm import (
    adam_reference,
    make_population_loss,
    mutation_effects,
    prepare_sequences,
    run_variant,
    setup_variant,
)

# One small block keeps compilation short; rank1 (rank 1, embedding rank 4) fits hidden 8.
TINY = {"num_blocks": 1, "hidden_dim": 8, "ff_dim": 16, "num_heads": 2, "head_dim": 4}
DATA = {"num_sequences": 2, "sequence_length": 8}
POP, ELITES, GENERATIONS = 8, 2, 4


def test_run_variant_tiny():
    df = run_variant("rank1", population_size=POP, num_elites=ELITES, num_generations=GENERATIONS,
                     seeds=(0, 1), model_overrides=TINY, **DATA)
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
    loss = make_population_loss(layout.encoding, config, sequences)

    @jax.jit
    def initial_best(key):
        population, _ = ga.sample_initial(jax.random.split(key, 3)[0], layout.init_fn)
        return loss(population).min()

    np.testing.assert_allclose(first[0], -initial_best(jax.random.PRNGKey(0)), rtol=1e-5)


def test_mutation_effects_tiny():
    df = mutation_effects(("rank1",), population_size=POP, num_elites=ELITES, num_generations=3,
                          model_overrides=TINY, **DATA)
    assert len(df) == POP - ELITES  # one row per child (elites are not mutated)
    np.testing.assert_allclose(df.effect, df.child_loss - df.parent_loss)
    np.testing.assert_array_equal(df.deleterious, df.effect > 0)
    assert np.isfinite(df.parent_loss).all() and (df.variant == "rank1").all()


def test_adam_reference_tiny():
    df = adam_reference(num_steps=40, learning_rate=1e-2, eval_every=20, model_overrides=TINY, **DATA)
    assert list(df.step) == [0, 20, 40]
    np.testing.assert_array_equal(df.tokens_evaluated, df.step * 3 * 2 * 8)
    assert df.neg_ce.iloc[-1] > df.neg_ce.iloc[0] + 1.0  # backprop fits the two windows quickly


def test_validation_before_compute():
    with pytest.raises(ValueError, match="dense, lowrank, small, rank1"):
        run_variant("huge", num_generations=1)
    with pytest.raises(ValueError, match="num_elites"):
        run_variant("dense", population_size=4, num_elites=4)
    with pytest.raises(ValueError, match="unfactorized"):
        adam_reference(variant="lowrank")
    with pytest.raises(ValueError, match="variants"):
        mutation_effects(("dense", "rank9"))
