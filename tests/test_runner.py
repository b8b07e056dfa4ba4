import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np

from nevolab.runner import evaluate_population

SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from nevolab.studies.a.cases import make_problem
    from nevolab.studies.a.runs import best_hyperparameters
    from nevolab.studies.a.train import make_steps
    from nevolab.runner import Program, evaluate_population, run_vmapped
    problem = make_problem("I", num_batches=30)
    hyper = best_hyperparameters("I", "cosyne")  # population 19: not a multiple of 2 devices
    init_fn, step = make_steps(problem, "cosyne", hyper)
    keys = jax.random.split(jax.random.key(0), 3)
    _, metrics = run_vmapped(Program(init_fn, step, problem.batches), keys, 30)
    losses = jax.jit(lambda g: evaluate_population(lambda x: jnp.sum(jnp.sin(x) ** 2), g))(
        jax.random.normal(jax.random.key(1), (7, 5)))
    np.save(OUT, np.concatenate([metrics["best_fitness"].ravel(), np.asarray(losses)]))
    print(len(jax.devices()))
""")


def _run(device_count, path):
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={device_count}",
           "NEVOLAB_JAX_CACHE": "0"}
    done = subprocess.run([sys.executable, "-c", f"OUT = {str(path)!r}\n" + SCRIPT], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith(str(device_count))
    return np.load(path)


def test_sharded_evaluation_equals_single_device(tmp_path):
    single = _run(1, tmp_path / "one.npy")
    sharded = _run(2, tmp_path / "two.npy")
    # Same numbers up to float32 rounding: XLA:CPU picks its reduction kernels by the per-device
    # shape (19 rows on one device, 10 per device on two), which can change the last bit of a loss
    # (measured: at most 2 ulps, most values identical). More than a few ulps would be a real
    # difference, e.g. a padded row or a shard evaluated on the wrong batch.
    np.testing.assert_allclose(single, sharded, rtol=2e-6, atol=0)
    ulps = np.abs(single - sharded) / np.spacing(np.maximum(np.abs(single), np.abs(sharded)))
    assert ulps.max() <= 4


def test_tell_sanitises_nan_and_inf_losses_as_the_worst():
    """evaluate_population returns losses as computed; the algorithm's tell makes NaN and -inf the
    worst value (+inf) once, before ranking and the running best."""
    import jax

    from nevolab.algorithms.cosyne import CoSyNE

    population = jnp.array([[1.0], [-1.0], [0.0], [2.0]])
    losses = evaluate_population(lambda x: jnp.log(x[0]), population)
    assert np.isnan(losses[1]) and np.isneginf(losses[2]) and float(losses[0]) == 0.0
    algorithm = CoSyNE(4, 1, 2)
    params = algorithm.default_params
    state = algorithm.init(jax.random.key(0), population, jnp.full((4,), jnp.inf), params)
    state, metrics = algorithm.tell(jax.random.key(1), population, losses, state, params)
    assert float(metrics["best_fitness"]) == 0.0 and float(metrics["min_fitness"]) == 0.0
    assert np.isposinf(metrics["max_fitness"])
    np.testing.assert_array_equal(state.best_solution, [1.0])
    assert int(state.generation_counter) == 1


def test_chunk_packs_and_restores_metrics_of_every_dtype_and_shape():
    """make_chunk moves scalar metrics through the scan packed per dtype: the caller must get
    back exactly the dict a plain scan of the step gives (names, order, dtypes and values)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from nevolab.runner import make_chunk

    def step(state, keys, generation, data):
        del keys
        value = state + data * generation.astype(jnp.float32)
        metrics = {"loss": value, "count": generation * 2, "flag": value > 3.0,
                   "vector": jnp.stack([value, -value]), "loss_squared": value ** 2}
        return value, metrics

    state, metrics = jax.jit(make_chunk(step, 7))(jnp.float32(0.5), jax.random.key(0), jnp.int32(3),
                                                  jnp.float32(0.25))
    expected_state, expected = jax.lax.scan(
        lambda carry, g: step(carry, None, g, jnp.float32(0.25)), jnp.float32(0.5), 3 + jnp.arange(7))
    assert list(metrics) == list(expected)
    np.testing.assert_array_equal(state, expected_state)
    for name, value in expected.items():
        assert metrics[name].dtype == value.dtype and metrics[name].shape == value.shape, name
        np.testing.assert_array_equal(metrics[name], value)


def test_make_chunk_derives_each_generations_keys_before_the_scan():
    """A step gets ``step.derive_keys(run_key, generation)`` (default ``fold_in(run_key,
    generation)``), derived for all generations up front: the draws equal those of a plain loop."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from nevolab.runner import make_chunk

    def draw(state, keys, generation, data):
        del generation, data
        key_a, key_b = keys
        return state + 1, {"a": jax.random.uniform(key_a), "b": jax.random.normal(key_b, (3,))}

    draw.derive_keys = lambda run_key, g: tuple(jax.random.split(jax.random.fold_in(run_key, g)))
    run_key = jax.random.key(7)
    _, metrics = jax.jit(make_chunk(draw, 5))(jnp.int32(0), run_key, jnp.int32(10), None)
    for i, generation in enumerate(range(10, 15)):
        key_a, key_b = jax.random.split(jax.random.fold_in(run_key, generation))
        assert float(metrics["a"][i]) == float(jax.random.uniform(key_a))
        np.testing.assert_array_equal(metrics["b"][i], jax.random.normal(key_b, (3,)))

    def plain(state, key, generation, data):
        del generation, data
        return state, {"u": jax.random.uniform(key)}

    _, metrics = jax.jit(make_chunk(plain, 3))(jnp.int32(0), run_key, jnp.int32(4), None)
    expected = [float(jax.random.uniform(jax.random.fold_in(run_key, g))) for g in (4, 5, 6)]
    assert metrics["u"].tolist() == expected
