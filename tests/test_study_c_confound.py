"""Study C's starting-point confound (issue 15, item 4): the ``dense_matched`` control variant and the
matched-fitness comparison of mutation effects (nevolab.studies.c.confound)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nevolab.lowrank import variant_layout
from nevolab.registry import configure
from nevolab.studies.c import confound, spec, variants
from nevolab.studies.c.runs import lm_run

# --------------------------------------------------------------------------------------------------
# Synthetic curves tables
# --------------------------------------------------------------------------------------------------


def harm(level: np.ndarray) -> np.ndarray:
    """A deleterious fraction that depends on the parents' fitness only (rises as fitness rises)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(level) + 4.0)))


def curves_table(runs: dict[tuple[str, int], np.ndarray]) -> pd.DataFrame:
    """A curves table from each run's best fitness per generation; the effects of generation g are
    ``harm`` of generation g - 1's best (its children's parents), NaN at generation 0."""
    frames = []
    for (variant, seed), best in runs.items():
        best = np.asarray(best, float)
        fraction = np.r_[np.nan, harm(best[:-1])]
        frames.append(pd.DataFrame({"variant": variant, "seed": seed, "generation": np.arange(best.size),
                                    "best_neg_ce": best, "deleterious_fraction": fraction,
                                    "deleterious_magnitude": 0.1 * fraction}))
    return pd.concat(frames, ignore_index=True)


def climb(start_tenths: int, generations: int, step_tenths: int = 1) -> np.ndarray:
    """Best fitness rising by ``step_tenths``/10 per generation from ``start_tenths``/10 (on a 0.1 grid,
    so two climbs visit exactly the same levels where they overlap)."""
    return (start_tenths + step_tenths * np.arange(generations)) / 10.0


def two_starts() -> pd.DataFrame:
    """Same harm-vs-fitness relation, different starting fitness: "early" starts at -10 and ends at
    -4.1, "late" starts at -6 and ends at -2.1 (60 generations each, two seeds)."""
    return curves_table({(variant, seed): climb(start, 60)
                         for variant, start in (("early", -100), ("late", -60)) for seed in (0, 1)})


def test_equal_fitness_relation_is_equal_at_matched_fitness_but_not_at_equal_generation():
    curves = two_starts()
    low, high = confound.common_fitness_window(curves)
    # levels are generations 0..58's best: early -10.0..-4.2, late -6.0..-0.2 -> common band [-6.0, -4.2]
    assert (low, high) == pytest.approx((-6.0, -4.2))

    matched = confound.matched_fitness_outcomes(curves).set_index(["variant", "seed"])
    assert list(matched.columns) == confound.MATCHED_COLUMNS[2:]
    assert (matched.generations == 19).all()  # -6.0, -5.9, ..., -4.2
    expected = harm(np.arange(-60, -41) / 10.0).mean()
    np.testing.assert_allclose(matched.deleterious_fraction, expected, rtol=1e-12)
    np.testing.assert_allclose(matched.deleterious_magnitude, 0.1 * expected, rtol=1e-12)
    np.testing.assert_allclose(matched.mean_level, np.arange(-60, -41).mean() / 10.0)
    assert matched.loc[("early", 0), "first_generation"] == 41  # its parents (generation 40) at -6.0
    assert matched.loc[("late", 0), "first_generation"] == 1

    # at equal generation (the last 6) the late starter sits higher on the landscape: more harm
    tail = curves[curves.generation >= 54].groupby("variant").deleterious_fraction.mean()
    assert tail["late"] - tail["early"] > 0.5


def test_a_shift_by_one_generation_is_caught():
    """The level of generation g is generation g - 1's best: pairing effects with the same
    generation's best would put every value one step off."""
    levels = confound.fitness_levels(two_starts())
    np.testing.assert_allclose(levels.deleterious_fraction, harm(levels.fitness_level), rtol=1e-12)
    assert (levels.generation >= 1).all() and not levels.fitness_level.isna().any()


def test_row_order_does_not_matter():
    curves = two_starts()

    def ordered(table: pd.DataFrame) -> pd.DataFrame:
        return table.sort_values(["variant", "seed"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(confound.matched_fitness_outcomes(curves)),
                                  ordered(confound.matched_fitness_outcomes(curves.sample(frac=1.0,
                                                                                          random_state=0))))


def test_window_is_the_band_every_run_passes_through():
    rng = np.random.default_rng(0)
    runs = {(f"v{i % 3}", i): np.cumsum(rng.exponential(0.1, 40)) - rng.uniform(3, 6) for i in range(9)}
    curves = curves_table(runs)
    low, high = confound.common_fitness_window(curves)
    assert low == pytest.approx(max(best[:-1].min() for best in runs.values()))
    assert high == pytest.approx(min(best[:-1].max() for best in runs.values()))
    matched = confound.matched_fitness_outcomes(curves)
    assert (matched.window_low == low).all() and (matched.window_high == high).all()
    for (variant, seed), best in runs.items():
        levels = best[:-1]
        inside = (levels >= low) & (levels <= high)
        row = matched[(matched.variant == variant) & (matched.seed == seed)].iloc[0]
        assert row.generations == inside.sum()
        assert row.deleterious_fraction == pytest.approx(harm(levels[inside]).mean())


def test_no_common_window_gives_no_numbers():
    """A run that never reaches where another starts (dense at -11 -> -5 vs low-rank at -4.6 -> -3)."""
    curves = curves_table({("dense", 0): climb(-110, 61), ("lowrank", 0): climb(-46, 17)})
    low, high = confound.common_fitness_window(curves)
    assert low > high
    matched = confound.matched_fitness_outcomes(curves)
    assert (matched.generations == 0).all() and matched.deleterious_fraction.isna().all()
    # restricted to one variant the window is its own range
    assert confound.common_fitness_window(curves, ["dense"]) == pytest.approx((-11.0, -5.1))
    with pytest.raises(ValueError, match="not in the curves table"):
        confound.matched_fitness_outcomes(curves, ["dense", "rank1"])


def test_a_run_that_jumps_over_the_window_has_no_generations_in_it():
    jump = np.r_[np.full(5, -8.0), np.full(5, -2.0)]
    curves = curves_table({("a", 0): climb(-80, 60), ("b", 0): jump})
    matched = confound.matched_fitness_outcomes(curves, window=(-5.0, -4.0)).set_index("variant")
    assert matched.generations["b"] == 0 and np.isnan(matched.deleterious_fraction["b"])
    assert matched.generations["a"] == 11


def test_outcomes_by_fitness_bins():
    curves = two_starts()
    table = confound.outcomes_by_fitness(curves, [-7.0, -5.0, -3.0])
    early = table[(table.variant == "early") & (table.seed == 0)].set_index("bin")
    assert list(early.index) == [0, 1]
    assert early.generations[0] == 20 and early.generations[1] == 9  # [-7, -5) and [-5, -4.2]
    assert early.deleterious_fraction[1] == pytest.approx(harm(np.arange(-50, -41) / 10.0).mean())
    assert (table.center == (table.low + table.high) / 2).all()
    with pytest.raises(ValueError, match="increasing"):
        confound.outcomes_by_fitness(curves, [-3.0, -5.0])


# --------------------------------------------------------------------------------------------------
# The dense_matched control
# --------------------------------------------------------------------------------------------------

TINY = {"num_blocks": 1, "hidden_dim": 8, "ff_dim": 16, "num_heads": 2, "head_dim": 4}


def test_variant_names_agree():
    assert spec.VARIANTS == variants.VARIANTS
    assert "dense_matched" not in spec.PAPER_VARIANTS
    for name in ("c1_lm_fitness_curves", "c2_mutation_effects", "c3_claims"):
        assert "dense_matched" in configure(name, "smoke").variants
        assert "dense_matched" in configure(name, "default").variants
        assert "dense_matched" not in configure(name, "paper").variants


@pytest.mark.parametrize("vocab_size", [103, 2051])
def test_matched_std_is_the_developed_low_rank_embedding_std(vocab_size):
    std = variants.matched_embedding_std(vocab_size)
    assert std == pytest.approx(2.0 / math.sqrt(vocab_size))  # g = 2 since vocab > hidden
    # the developed U @ V of the paper's rank-32 embedding, sampled: the same std
    _, layout = variant_layout("lowrank", vocab_size=vocab_size, num_blocks=1)
    genotypes = jax.vmap(layout.init_fn)(jax.random.split(jax.random.PRNGKey(0), 8))
    tables = jax.vmap(lambda g: layout.encoding.decode(g)["embed"]["embedding"])(genotypes)
    assert float(jnp.std(tables)) == pytest.approx(std, rel=0.03)


def test_dense_matched_differs_from_dense_only_in_the_embedding_scale():
    _, dense = variants.setup_variant("dense", 103, model_overrides=TINY)
    _, matched = variants.setup_variant("dense_matched", 103, model_overrides=TINY)
    assert matched.num_genes == dense.num_genes and matched.num_params == dense.num_params
    (block,) = [b for b in dense.blocks if b.kind == "embedding"]
    genes = np.zeros(dense.num_genes, bool)
    genes[block.start:block.start + block.size] = True
    factor = variants.matched_embedding_std(103, TINY)
    np.testing.assert_array_equal(matched.init_std[~genes], dense.init_std[~genes])
    np.testing.assert_array_equal(matched.mutation_scales[~genes], dense.mutation_scales[~genes])
    np.testing.assert_allclose(matched.init_std[genes], factor, rtol=1e-6)
    np.testing.assert_allclose(matched.mutation_scales[genes], 0.01 * factor, rtol=1e-6)  # mr * init std
    np.testing.assert_array_equal(matched.init_mean, dense.init_mean)
    with pytest.raises(ValueError, match="not factorized"):
        variants.setup_variant("dense_matched", 103, ranks=(2, 16))
    with pytest.raises(ValueError, match="dense, lowrank, small, rank1, dense_matched"):
        variants.setup_variant("huge", 103)


def test_dense_matched_starts_near_low_rank_and_far_from_dense():
    """Best initial loss of 32 individuals (a tiny model on two windows): the matched control starts
    within a fraction of a nat of the low-rank variant, the dense one nats away."""
    from nevolab.studies.c.lm import make_population_loss, prepare_sequences

    sequences, vocab_size = prepare_sequences("char", 2, 8)
    starts = {}
    for variant in ("dense", "dense_matched", "lowrank"):
        ranks = (2, 8) if variant == "lowrank" else None
        config, layout = variants.setup_variant(variant, vocab_size, model_overrides=TINY, ranks=ranks)
        genotypes = jax.vmap(layout.init_fn)(jax.random.split(jax.random.PRNGKey(1), 32))
        starts[variant] = float(make_population_loss(layout.encoding, config, 32)(genotypes, sequences).min())
    assert abs(starts["dense_matched"] - starts["lowrank"]) < 0.5
    assert starts["dense"] - starts["lowrank"] > 1.0


def test_dense_matched_has_its_own_run_key():
    config = configure("c1_lm_fitness_curves", "default")
    keys = {variant: lm_run(variant, config).hash() for variant in config.variants}
    assert len(set(keys.values())) == len(keys)
    assert lm_run("dense_matched", config).ranks is None
