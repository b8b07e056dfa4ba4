"""The original Study A code's quirks one at a time: each switch alone does what originals.md §3.3
documents, all of them together are ``faithful=True`` bit for bit, run keys of existing runs do not
move, and the ablation, equal-evaluation and Case I comparison tables compute what they say.

Compiled test programs use LLVM optimisation level 0 (they run in milliseconds; compiling is the cost).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nevolab.algorithms import cosyne, differential_evolution, evolutionary_algorithm
from nevolab.algorithms.cosyne import CoSyNE
from nevolab.algorithms.differential_evolution import DifferentialEvolution
from nevolab.algorithms.evolutionary_algorithm import MuRhoLambdaEA
from nevolab.config import RunConfig, stable_hash
from nevolab.registry import configure
from nevolab.runner import Program, run_vmapped
from nevolab.studies.a import ablation, peer, runs
from nevolab.studies.a.cases import make_problem
from nevolab.studies.a.train import IDCT_QUIRK, AERun, algorithm_quirks, make_steps


def compile_fast(fn, *args):
    """``jax.jit(fn)`` compiled for ``args`` without XLA's expensive backend optimisations."""
    return jax.jit(fn).lower(*args).compile({"xla_backend_optimization_level": 0})


# ---------------------------------------------------------------- names and switches


def test_every_algorithm_names_its_quirks():
    assert algorithm_quirks("backprop") == ()
    assert algorithm_quirks("cosyne") == cosyne.QUIRKS
    assert algorithm_quirks("de") == differential_evolution.QUIRKS
    assert algorithm_quirks("ea_idct") == (*evolutionary_algorithm.QUIRKS, IDCT_QUIRK)
    names = [quirk for algorithm in ("cosyne_idct", "de", "ea") for quirk in algorithm_quirks(algorithm)]
    assert len(names) == len(set(names)) == 8  # every quirk has its own name


@pytest.mark.parametrize("algorithm", ["cosyne", "de", "ea"])
def test_faithful_switches_on_exactly_all_quirks_and_bad_names_raise(algorithm):
    make = {
        "cosyne": lambda **kw: CoSyNE(8, 3, children=2, **kw),
        "de": lambda **kw: DifferentialEvolution(6, 3, "rand1", **kw),
        "ea": lambda **kw: MuRhoLambdaEA(6, 3, 0.5, 2, "truncation", "none", elitism=False, **kw),
    }[algorithm]
    known = algorithm_quirks(algorithm)
    assert make(faithful=True).quirks == frozenset(known)
    assert make().quirks == frozenset() and not make().faithful
    assert make(quirks=known).faithful
    assert not make(quirks=known[:1]).faithful
    with pytest.raises(ValueError, match="unknown quirk"):
        make(quirks=("no_such_quirk",))
    with pytest.raises(ValueError, match="not both"):
        make(faithful=True, quirks=known[:1])


@pytest.mark.parametrize("algorithm", ["cosyne", "de", "ea", "cosyne_idct", "de_idct", "ea_idct"])
def test_all_quirks_together_are_faithful_bit_for_bit(algorithm):
    """Through the whole Study A plumbing (strategy and IDCT encoding), on Case I."""
    problem = make_problem("I", num_batches=25)
    hyper = runs.best_hyperparameters("I", algorithm)
    keys = jax.random.split(jax.random.key(5), 2)
    results = []
    for faithful, quirks in ((True, ()), (False, algorithm_quirks(algorithm)), (False, ())):
        init_fn, step = make_steps(problem, algorithm, hyper, faithful, quirks=quirks)
        results.append(run_vmapped(Program(init_fn, step, problem.batches), keys, 25)[1])
    faithful, all_quirks, corrected = results
    for name in ("best_fitness", "min_fitness", "mean_fitness", "num_evaluations"):
        np.testing.assert_array_equal(all_quirks[name], faithful[name], err_msg=name)
    assert not np.array_equal(corrected["min_fitness"], faithful["min_fitness"])  # the quirks matter


# ---------------------------------------------------------------- run keys


def _run(**changes) -> AERun:
    base = AERun(case="I", algorithm="de", hyperparameters=runs.best_hyperparameters("I", "de"),
                 repeats=2, generations=10, seed=3)
    return dataclasses.replace(base, **changes)


def test_a_run_without_quirks_keeps_the_key_it_had_before_quirks_existed():
    for run in (_run(), _run(faithful=True)):
        fields = RunConfig.to_dict(run)
        assert fields.pop("quirks") == () and fields.pop("fast_lstm") is False
        assert "quirks" not in run.to_dict() and "fast_lstm" not in run.to_dict()
        assert run.hash() == stable_hash(fields)


def test_quirks_reach_the_key_in_a_fixed_order_and_all_of_them_is_faithful():
    single = _run(quirks=("de_stale_fitness",))
    assert single.hash() not in {_run().hash(), _run(faithful=True).hash()}
    two = _run(quirks=("de_in_place_sweep", "de_stale_fitness"))
    assert two.quirks == ("de_stale_fitness", "de_in_place_sweep")
    assert two.hash() == _run(quirks=("de_stale_fitness", "de_in_place_sweep")).hash()
    everything = _run(quirks=tuple(reversed(algorithm_quirks("de"))))
    assert everything.faithful and everything.quirks == () and everything.hash() == _run(faithful=True).hash()
    assert single.active_quirks == ("de_stale_fitness",)
    assert _run(faithful=True).active_quirks == algorithm_quirks("de")
    with pytest.raises(ValueError, match="no quirk"):
        _run(quirks=("ea_mutation_prob_inverted",))
    with pytest.raises(ValueError, match="not both"):
        _run(faithful=True, quirks=("de_stale_fitness",))


def test_ablation_runs_and_their_labels():
    config = configure("a2_final_losses", "smoke")
    ablation_runs = runs.single_quirk_runs("I", "de", config)
    labels = [ablation.quirk_label(run) for run in ablation_runs]
    assert labels == ["none", *algorithm_quirks("de"), "all"]
    assert len({run.hash() for run in ablation_runs}) == len(ablation_runs)
    assert ablation_runs[0] == runs.ae_run("I", "de", config, faithful=False)
    assert ablation_runs[-1] == runs.ae_run("I", "de", config, faithful=True)
    with pytest.raises(ValueError, match="no quirks"):
        runs.single_quirk_runs("I", "backprop", config)
    every = {run.hash() for run in runs.run_configs(config)}
    assert {run.hash() for run in ablation_runs} <= every


# ---------------------------------------------------------------- CoSyNE


def _cosyne_tell(quirks: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One tell with mutation probability 1; rows 0, 1 are the worst, rows 6, 7 the best."""
    strategy = CoSyNE(8, 3, children=2, quirks=quirks)
    params = strategy.default_params.replace(mutation_prob=1.0, gamma=1.0)
    population = jnp.arange(24.0).reshape(8, 3)
    fitness = jnp.array([9.0, 8.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0])
    state = strategy.init(None, population, fitness, params)
    new = compile_fast(lambda k: strategy.tell(k, population, fitness, state, params)[0].population,
                       jax.random.key(1))(jax.random.key(1))
    return np.asarray(population), np.asarray(new)


def test_cosyne_mutates_by_index_alone_mutates_the_last_rows_not_the_children():
    population, new = _cosyne_tell(("cosyne_mutates_by_index",))
    parents = population[6:]  # the best quarter: max(1, int(0.25 * 8)) = 2 rows
    # The children (written into the worst rows 0, 1) are left unmutated: every gene is a parent's.
    for column in range(3):
        assert np.all(np.isin(new[:2, column], parents[:, column]))
    # Rows 6, 7 were mutated (by index), then shuffled with the other survivors (by rank: rows 2-7),
    # so the survivors' columns lose two of their original values each.
    for column in range(3):
        kept = np.isin(new[2:, column], population[2:, column])
        assert kept.sum() == 4


def test_cosyne_permutes_by_index_alone_shuffles_the_first_rows_and_leaves_the_last():
    population, new = _cosyne_tell(("cosyne_permutes_by_index",))
    np.testing.assert_array_equal(new[6:], population[6:])  # rows 6, 7 are out of the shuffle
    # Rows 0-5 hold the mutated children and the unshuffled survivors 2-5, mixed per column.
    for column in range(3):
        assert np.sum(np.isin(new[:6, column], population[2:6, column])) == 4
        assert not np.any(np.isin(new[:6, column], population[6:, column]))


def test_cosyne_corrected_mutates_the_children_and_shuffles_the_survivors():
    population, new = _cosyne_tell(())
    for column in range(3):
        assert sorted(new[2:, column]) == sorted(population[2:, column])
    assert not np.any(np.isin(new[:2], population[6:]))


# ---------------------------------------------------------------- EA


def test_ea_inverted_mutation_probability_alone_mutates_a_fraction_one_minus_p():
    n, p = 4000, 0.1
    zeros = jnp.zeros((n, 1))

    def fractions(key):
        out = {}
        for name, quirks in (("corrected", ()), ("inverted", ("ea_mutation_prob_inverted",)),
                             ("selection only", ("ea_fitness_selection_prefers_high_loss",))):
            ea = MuRhoLambdaEA(n, 1, 1.0, 2, "none", "none", elitism=False, quirks=quirks)
            mutated = ea.mutate(key, zeros, ea.default_params.replace(mutation_prob=p, sigma=1.0))
            out[name] = jnp.mean(mutated[:, 0] != 0.0)
        return out

    key = jax.random.key(0)
    result = jax.device_get(compile_fast(fractions, key)(key))
    assert abs(result["inverted"] - (1 - p)) < 0.03
    assert abs(result["corrected"] - p) < 0.03
    assert result["selection only"] == result["corrected"]  # the other quirk leaves mutation alone


def test_ea_selection_quirk_alone_prefers_high_loss():
    population = jnp.arange(4.0)[:, None]
    fitness = jnp.array([1.0, 2.0, 3.0, 4.0])
    draws = 4000

    def pools(keys):
        out = {}
        for name, quirks in (("corrected", ()), ("high loss", ("ea_fitness_selection_prefers_high_loss",)),
                             ("mutation only", ("ea_mutation_prob_inverted",))):
            ea = MuRhoLambdaEA(4, 1, 0.25, 2, "fitness_proportional", "none", elitism=False, quirks=quirks)
            out[name] = jax.vmap(lambda k, ea=ea: ea.select(k, population, fitness, population[0]))(keys)
        return out

    keys = jax.random.split(jax.random.key(0), draws)
    result = jax.device_get(compile_fast(pools, keys)(keys))
    frequency = {name: np.bincount(picks[:, 0, 0].astype(int), minlength=4) / draws
                 for name, picks in result.items()}
    np.testing.assert_allclose(frequency["high loss"], [0.1, 0.2, 0.3, 0.4], atol=0.03)  # ∝ loss
    assert np.all(np.diff(frequency["corrected"]) < 0)  # favours low loss
    np.testing.assert_array_equal(result["mutation only"], result["corrected"])


# ---------------------------------------------------------------- DE


def _de_generations(quirks: tuple[str, ...], population: np.ndarray, losses: tuple[float, ...],
                    variant: str = "rand1", weight: float = 0.3):
    """Generations of DE on a fitness that is constant within a generation (``losses[g]`` for every
    individual): the states after each, and the evaluations spent."""
    pop, dims = population.shape
    de = DifferentialEvolution(pop, dims, variant, quirks=quirks)
    params = de.default_params.replace(crossover_rate=1.0, differential_weight=weight)

    def run(population):
        state = de.init(None, population, jnp.full((pop,), jnp.inf), params)
        out = []
        for generation, loss in enumerate(losses):
            state, metrics = de.step(jax.random.key(10 + generation), state, params,
                                     lambda x, loss=loss: jnp.full(x.shape[:1], loss))
            out.append((state, metrics["num_evaluations"]))
        return out

    return jax.device_get(compile_fast(run, population)(population))


INTEGERS = np.arange(10.0, dtype=np.float32)[:, None]


def test_de_stale_fitness_alone_compares_offspring_with_stored_losses():
    # A "harder" second batch: every offspring loses against the stored first-batch losses.
    stale = ("de_stale_fitness",)
    (first, spent_first), (second, spent_second) = _de_generations(stale, INTEGERS, (0.0, 1.0))
    assert (int(spent_first), int(spent_second)) == (20, 10)  # targets evaluated once only
    np.testing.assert_array_equal(second.population, first.population)
    # Re-scored on the same batch (corrected), offspring tie with their targets and replace them.
    (first, _), (second, spent) = _de_generations((), INTEGERS, (0.0, 1.0))
    assert int(spent) == 20 and not np.array_equal(second.population, first.population)


def _steps_in_units_of_weight(quirks: tuple[str, ...], weight: float = 0.3) -> np.ndarray:
    """(new - old) / F after one all-accepting rand1 generation on the integers 0..9 (one gene, CR 1)."""
    [(state, _)] = _de_generations(quirks, INTEGERS, (0.0,), weight=weight)
    return (np.asarray(state.population) - INTEGERS)[:, 0] / weight


def test_de_in_place_sweep_alone_lets_accepted_offspring_donate_at_once():
    # Synchronous: x_i + F (x_a - x_b) with a, b from the generation's population, so every step is an
    # integer number of F. In place: donors already replaced in the sweep add F-fractions.
    for quirks in ((), ("de_stale_fitness",)):
        steps = _steps_in_units_of_weight(quirks)
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)
    steps = _steps_in_units_of_weight(("de_in_place_sweep",))
    assert np.any(np.abs(steps - np.round(steps)) > 0.01)
    [(_, spent)] = _de_generations(("de_in_place_sweep",), INTEGERS, (0.0,))
    assert int(spent) == 20  # targets re-scored on the batch


def test_de_donors_include_target_alone_draws_the_target_half_the_time():
    population = jnp.asarray([[0.0], [1.0], [10.0], [100.0]])  # every difference x_a - x_b is unique
    differences = {float(a - b): (i, j) for i, a in enumerate([0.0, 1.0, 10.0, 100.0])
                   for j, b in enumerate([0.0, 1.0, 10.0, 100.0]) if i != j}
    draws = 2000

    def offspring(keys):
        out = {}
        for name, quirks in (("corrected", ()), ("include", ("de_donors_include_target",))):
            de = DifferentialEvolution(4, 1, "rand1", quirks=quirks)
            params = de.default_params.replace(crossover_rate=1.0, differential_weight=1.0)
            state = de.init(None, population, jnp.zeros(4), params)
            out[name] = jax.vmap(lambda k, de=de, p=params, s=state: de.ask(k, s, p)[0][4:, 0])(keys)
        return out

    keys = jax.random.split(jax.random.key(0), draws)
    result = jax.device_get(compile_fast(offspring, keys)(keys))
    targets = np.asarray(population[:, 0])
    for name, expected in (("corrected", 0.0), ("include", 0.5)):
        involved = [i in differences[float(value - targets[i])]
                    for row in result[name] for i, value in enumerate(row)]
        assert abs(np.mean(involved) - expected) < 0.03, name


def test_de_sweep_quirks_have_no_ask_tell():
    for quirks in (("de_stale_fitness",), ("de_in_place_sweep",)):
        de = DifferentialEvolution(5, 3, "best1", quirks=quirks)
        state = de.init(None, jnp.zeros((5, 3)), jnp.zeros(5), de.default_params)
        with pytest.raises(ValueError, match="step"):
            de.ask(jax.random.key(0), state, de.default_params)


# ---------------------------------------------------------------- tables


def _curves(case: str, algorithm: str, per_generation: int, losses: list[float], **labels) -> pd.DataFrame:
    generations = np.array([1, 2, 4, 8, 10])
    return pd.DataFrame({"case": case, "algorithm": algorithm, "repeat": 0, "generation": generations,
                         "evaluations": per_generation * generations, "min_loss": losses,
                         "best_loss": np.minimum.accumulate(losses), "time_s": 0.1 * generations,
                         "run_time_s": 1.0, **labels})


def test_equal_evaluation_budget_and_losses_at_it():
    curves = pd.concat([
        _curves("I", "cosyne", 10, [5.0, 4.0, 3.0, 2.0, 1.0]),  # 100 evaluations in all
        _curves("I", "de", 20, [9.0, 7.0, 6.0, 5.0, 4.0]),  # 200
        _curves("I", "de", 15, [8.0, 8.0, 3.0, 2.0, 2.0], code="faithful"),  # 150
        _curves("II", "ea", 2, [1.0, 1.0, 1.0, 1.0, 1.0]),  # another case: 20
    ], ignore_index=True)
    assert runs.equal_evaluation_budget(curves, "I") == 100
    assert runs.equal_evaluation_budget(curves, "II") == 20
    with pytest.raises(ValueError, match="III"):
        runs.equal_evaluation_budget(curves, "III")
    at = runs.losses_at_evaluations(curves[curves.case == "I"], 100)
    assert len(at) == 3  # one row per run (and code)
    row = at.set_index(["algorithm", at.code.fillna("corrected")])
    assert row.loc[("cosyne", "corrected")].evaluations == 100
    assert row.loc[("cosyne", "corrected")].best_loss == 1.0
    # DE at 20 per generation reaches 100 between recorded generations 4 (80) and 8 (160): the last
    # recorded point within the budget, generation 4, is read (conservative).
    assert row.loc[("de", "corrected")].generation == 4 and row.loc[("de", "corrected")].best_loss == 6.0
    assert row.loc[("de", "faithful")].generation == 4 and row.loc[("de", "faithful")].best_loss == 3.0
    # DE's first recorded points (20 and 15 evaluations) are beyond a budget of 12: left out.
    assert runs.losses_at_evaluations(curves, 12).algorithm.tolist() == ["cosyne", "ea"]
    pd.testing.assert_frame_equal(runs.losses_at_evaluations(curves, 10**9).drop(columns="code"),
                                  runs.final_losses(curves).drop(columns="code"))


def _ablation_rows(algorithm: str, quirks: str, losses: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"case": "I", "algorithm": algorithm, "repeat": range(len(losses)),
                         "best_loss": losses, "quirks": quirks})


def test_pairwise_by_quirk_names_the_quirk_that_flips_the_ranking():
    rows = [_ablation_rows("de", "none", [1.0, 2.0, 3.0]), _ablation_rows("ea", "none", [2.0, 3.0, 4.0]),
            _ablation_rows("de", "all", [5.0, 6.0, 7.0]), _ablation_rows("ea", "all", [3.0, 3.0, 3.0])]
    # Only DE's stale fitness, alone, makes DE worse than EA.
    rows += [_ablation_rows("de", quirk, [9.0] * 3 if quirk == "de_stale_fitness" else [1.0, 2.0, 3.0])
             for quirk in algorithm_quirks("de")]
    rows += [_ablation_rows("ea", quirk, [2.0, 3.0, 4.0]) for quirk in algorithm_quirks("ea")]
    table = pd.concat(rows, ignore_index=True)
    pairs = ablation.pairwise_by_quirk(table, "de", "ea").set_index("quirks")
    assert list(pairs.index) == ["none", *algorithm_quirks("de"), *algorithm_quirks("ea"), "all"]
    assert pairs.loc["none", "lower by mean"]
    assert pairs.loc["none", "P(de < ea)"] == pytest.approx(7 / 9)  # 6 wins and 2 ties of 9 pairs
    flipped = set(pairs.index[pairs["flips by mean"]])
    assert flipped == {"de_stale_fitness", "all"}
    assert set(pairs.index[pairs["flips by median"]]) == flipped
    assert pairs.loc["all", "de median"] == 6.0 and pairs.loc["all", "P(de < ea)"] == 0.0


def test_ranking_by_code_lists_the_pairs_the_quirks_swap():
    assert ablation.swapped_pairs(["a", "b", "c"], ["b", "a", "c"]) == [("a", "b")]
    assert ablation.swapped_pairs(["a", "b", "c"], ["c", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    final = pd.DataFrame({
        "case": ["I"] * 6 + ["II"] * 2, "algorithm": ["de", "ea", "cosyne"] * 2 + ["de", "ea"],
        "code": ["corrected"] * 3 + ["faithful"] * 3 + ["corrected"] * 2,
        "best_loss": [1.0, 2.0, 3.0, 2.5, 2.0, 3.0, 1.0, 2.0]})
    table = ablation.ranking_by_code(final).set_index("case")
    assert list(table.index) == ["I"]  # case II has no faithful runs
    assert table.loc["I", "corrected"] == ["de", "ea", "cosyne"]
    assert table.loc["I", "faithful"] == ["ea", "de", "cosyne"]
    assert table.loc["I", "swapped"] == [("de", "ea")]


def test_case_one_comparison_summarises_every_source():
    losses = {"backprop": [0.2, 0.3], "de": [0.1, 0.5, 0.6]}
    nevolab = pd.concat([pd.DataFrame({"algorithm": name, "code": "corrected", "best_loss": values})
                         for name, values in losses.items()]
                        + [pd.DataFrame({"algorithm": "de", "code": "faithful", "best_loss": [0.9]})])
    table = peer.case_one_comparison(nevolab).set_index("algorithm")
    assert list(table.index) == ["backprop", "de"]  # only algorithms with NevoLab runs
    assert table.loc["de", "paper figure mean"] == peer.PAPER_FIGURE_CASE_I["de"]
    assert table.loc["de", "authors' code mean"] == pytest.approx(np.mean(peer.PEER_CASE_I["de"]))
    assert table.loc["de", "authors' code n"] == len(peer.PEER_CASE_I["de"])
    assert table.loc["de", "NevoLab corrected median"] == 0.5 and table.loc["de", "NevoLab faithful n"] == 1
    # Backprop has no quirks: its faithful columns are its corrected runs.
    assert table.loc["backprop", "NevoLab faithful mean"] == table.loc["backprop", "NevoLab corrected mean"]
    assert peer.ranking({"a": 2.0, "b": 1.0}) == ["b", "a"]
