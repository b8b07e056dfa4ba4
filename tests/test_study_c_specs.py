"""Study C notebook specs (nevolab.studies.c.spec), run keys and the study-level helpers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nevolab.config import ConfigError
from nevolab.registry import configure, get_spec
from nevolab.studies.c import claims as study_claims
from nevolab.studies.c import runs, variants

NOTEBOOKS = ("c1_lm_fitness_curves", "c2_mutation_effects", "c3_claims")




@pytest.mark.parametrize("name", NOTEBOOKS)
def test_profiles_resolve_and_state_the_paper_scale(name):
    smoke, default, paper = (configure(name, p) for p in ("smoke", "default", "paper"))
    assert default.seeds >= 6 and default.variants == ["dense", "lowrank", "small", "rank1", "dense_matched"]
    assert (paper.population, paper.elites, paper.generations) == (512, 16, 300)
    assert (paper.tokenizer, paper.num_sequences, paper.rank, paper.embedding_rank) == ("bpe", 1024, 4, 32)
    assert smoke.population < default.population <= paper.population
    table = default.table()
    assert table.loc["population", "value in the paper"] == "512"
    assert table.loc["generations", "value in the paper"] == "300"


def test_notebooks_share_their_runs():
    """The run parameters of c1, c2 and c3 resolve to the same values, so their runs are cached once."""
    run_names = [param.name for param in get_spec("c3_claims").params]
    for profile in ("smoke", "default", "paper"):
        values = [configure(name, profile).values for name in NOTEBOOKS]
        for name in run_names:
            assert values[0][name] == values[1][name] == values[2][name]


@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.parametrize("overrides, message", [
    ({"rank": 17}, "parameter 'rank': must be in [1, 16]: at most min(fan_in, fan_out)"),
    ({"rank": 0}, "parameter 'rank': must be in [1, 16]"),
    ({"embedding_rank": 33}, "parameter 'embedding_rank': must be in [1, 32]"),
    ({"elites": 128}, "parameter 'elites': must be below population=128"),
    ({"population": 8, "elites": 9}, "parameter 'elites': must be below population=8"),
    ({"variants": ["dense", "huge"]},
     "parameter 'variants': unknown value 'huge'; valid: dense, lowrank, small, rank1"),
    ({"tokenizer": "word"}, "parameter 'tokenizer': unknown value 'word'; valid: char, bpe"),
    ({"sequence_length": 1025}, "parameter 'sequence_length': must be in [1, 1024] (the model's context"),
    ({"num_sequences": 20_000}, "parameter 'num_sequences': 20000 windows of sequence_length+1 = 65 tokens"),
    ({"num_sequences": 1500, "heldout_sequences": 100}, "parameter 'heldout_sequences': must be at most 68"),
    ({"heldout_every": 0}, "parameter 'heldout_every': must be >= 1"),
    ({"seeds": 1}, "parameter 'seeds': must be >= 2"),
    ({"generations": "many"}, "parameter 'generations': expected an integer"),
])
def test_bad_input_names_the_parameter(name, overrides, message):
    with pytest.raises(ConfigError) as error:
        configure(name, "default", **overrides)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_bpe_window_budget_is_checked():
    with pytest.raises(ConfigError, match=r"parameter 'num_sequences': 1024 windows .* bpe-tokenized"):
        configure("c1_lm_fitness_curves", "paper", sequence_length=128)


@pytest.mark.parametrize("args, message", [
    (["run", "c1_lm_fitness_curves", "-p", "rank", "20"], "parameter 'rank'"),
    (["run", "c3_claims", "-p", "variants", "dense,giant"], "unknown value 'giant'"),
    (["run", "c2_mutation_effects", "-p", "elites", "128"], "parameter 'elites'"),
])
def test_cli_rejects_bad_input_before_compute(tmp_path, args, message):
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(tmp_path / "results"),
           "NEVOLAB_BOOK_DIR": str(tmp_path / "book")}
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "book").exists()


# --------------------------------------------------------------------------------------------------
# Study-level helpers (no compilation)
# --------------------------------------------------------------------------------------------------


def test_genome_sizes_match_the_paper_table():
    sizes = variants.genome_sizes(["dense", "lowrank", "small", "rank1"], 2051, 300).set_index("variant")
    assert list(sizes.num_genes) == [99_507, 75_955, 11_671, 13_023]
    assert sizes.num_params["lowrank"] == 99_507 and sizes.num_params["small"] == 11_671
    assert (sizes.seed_list_bytes == 8 * 301).all()
    np.testing.assert_allclose(sizes.compression, 4 * sizes.num_params / 2408)


def test_rank_overrides():
    _, layout = variants.setup_variant("lowrank", 2051, ranks=(2, 16))
    assert layout.num_genes < variants.setup_variant("lowrank", 2051)[1].num_genes
    with pytest.raises(ValueError, match="not factorized"):
        variants.setup_variant("dense", 2051, ranks=(2, 16))


def _fake_curves(final: dict[str, list[float]], harmful: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for variant, values in final.items():
        for seed, value in enumerate(values):
            for generation in range(20):
                rows.append({"variant": variant, "seed": seed, "generation": generation,
                             "best_neg_ce": value if generation == 19 else value - 1.0,
                             "deleterious_fraction": harmful[variant][seed] if generation >= 18 else 0.0,
                             "deleterious_magnitude": 0.1 * harmful[variant][seed]})
    return pd.DataFrame(rows)


def test_outcomes_and_claims_known_answer():
    curves = _fake_curves({"dense": [-5.0, -5.2, -5.1], "lowrank": [-4.0, -4.1, -4.2],
                           "small": [-4.5, -4.6, -4.4], "rank1": [-4.3, -4.35, -4.25]},
                          {"dense": [0.4, 0.5, 0.45], "lowrank": [0.7, 0.8, 0.75],
                           "small": [0.5, 0.5, 0.5], "rank1": [0.6, 0.65, 0.62]})
    outcomes = study_claims.per_seed_outcomes(curves, tail_fraction=0.1)
    assert len(outcomes) == 12 and (outcomes.tail_generations == 2).all()
    dense = outcomes[outcomes.variant == "dense"]
    np.testing.assert_allclose(dense.final_neg_ce, [-5.0, -5.2, -5.1])
    np.testing.assert_allclose(dense.deleterious_fraction, [0.4, 0.5, 0.45])

    claims = study_claims.study_c_claims(outcomes).set_index("scope")
    # Without dense_matched (and its matched-fitness columns) those six claims are skipped, not faked.
    assert len(claims) == len([c for c in study_claims.CLAIMS if c[3] != "dense_matched"])
    first = claims[claims.detail == "final_neg_ce"].loc["lowrank vs dense"]
    assert first.effect == pytest.approx(-4.1 - (-5.1))  # Hodges–Lehmann: median of pairwise shifts
    assert first.glass_delta == pytest.approx(1.0 / np.std([-5.0, -5.2, -5.1]))  # ddof 0, as p-values.py
    assert first.ranksums_p == pytest.approx(0.0495, abs=1e-3)  # 3 vs 3 fully separated
    # 3 vs 3: the exact one-sided test reaches 1/20 = 0.05 alone, not after Holm over a claim's two scopes
    # (1/20 × 2 = 0.1): underpowered, on the family's floor.
    assert first.p_value == pytest.approx(0.05) and (claims.verdict == "underpowered").all()
    assert (claims.family_size == 2).all() and claims.min_p_holm.to_numpy() == pytest.approx(0.1)

    flipped = study_claims.study_c_claims(outcomes.assign(final_neg_ce=-outcomes.final_neg_ce))
    assert flipped[flipped.scope == "lowrank vs dense"].p_against.iloc[0] == pytest.approx(0.05)
    kw = study_claims.kruskal_wallis(outcomes)
    assert kw["p_value"] < 0.05 and kw["variants"] == "dense, lowrank, small"


def test_claims_skip_missing_variants():
    curves = _fake_curves({"dense": [-5.0, -5.2], "lowrank": [-4.0, -4.1]},
                          {"dense": [0.4, 0.5], "lowrank": [0.7, 0.8]})
    claims = study_claims.study_c_claims(study_claims.per_seed_outcomes(curves))
    assert set(claims.scope) == {"lowrank vs dense"}
    assert np.isnan(study_claims.kruskal_wallis(study_claims.per_seed_outcomes(curves))["p_value"])


# --------------------------------------------------------------------------------------------------
# Run keys
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# One tiny cached run (compiles once; the second call must come from the store)
# --------------------------------------------------------------------------------------------------


def test_cached_evolve_tiny_children_are_consistent(tmp_path, monkeypatch):
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path))
    run = runs.LMRun(kind="curves", variant="rank1", population_size=8, num_elites=2, num_generations=6,
                     num_sequences=2, sequence_length=8, tokenizer="char", seeds=(0, 1), data_seed=0,
                     mutation_rate=0.01, model_overrides={"num_blocks": 1}, ranks=None, num_heldout=2,
                     heldout_every=3)
    curves, children = runs.cached_evolve(run)
    assert len(curves) == 2 * 6 and set(children.generation) == set(runs.default_effect_generations(6))
    assert len(children) == 2 * len(set(children.generation)) * (8 - 2)  # every mutated child, per seed
    np.testing.assert_allclose(children.delta_fitness, children.child_neg_ce - children.parent_neg_ce,
                               atol=1e-5)
    np.testing.assert_array_equal(children.deleterious, children.delta_fitness < 0)
    per_generation = children.groupby(["seed", "generation"]).deleterious.mean()
    recorded = curves.set_index(["seed", "generation"]).deleterious_fraction.loc[per_generation.index]
    np.testing.assert_allclose(per_generation.to_numpy(), recorded.to_numpy())
    assert curves[curves.generation == 0].deleterious_fraction.isna().all()
    assert (curves.best_seed_length <= curves.generation + 1).all() and (curves.best_seed_length >= 1).all()
    # the parent of a child is an elite of the previous generation: its fitness is at most that best
    previous_best = curves.set_index(["seed", "generation"]).best_neg_ce
    for (seed, generation), group in children.groupby(["seed", "generation"]):
        assert group.parent_neg_ce.max() <= previous_best[(seed, generation - 1)] + 1e-5

    monkeypatch.setattr(runs, "run_tables", lambda *a, **k: pytest.fail("not cached"))
    again, again_children = runs.cached_evolve(run)
    pd.testing.assert_frame_equal(curves, again)
    pd.testing.assert_frame_equal(children, again_children)


def test_variant_names_come_from_one_table():
    """The specs' choices are the variants module's names, and its paper names are lowrank's networks."""
    from nevolab import lowrank
    from nevolab.studies.c import spec

    assert variants.PAPER_VARIANTS == tuple(lowrank.PAPER_VARIANTS)
    assert get_spec("c1_lm_fitness_curves").param("variants").choices == variants.VARIANTS
    assert get_spec("c4_pixel_rl_scores").param("variants").choices == variants.PIXEL_VARIANTS
    assert spec.seed_list(3) == (0, 1, 2) == runs.lm_run("dense", configure("c1_lm_fitness_curves", "smoke",
                                                                             seeds=3)).seeds
