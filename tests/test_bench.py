"""The benchmark registry and its timing helper (never timings themselves)."""

import jax.numpy as jnp

from nevolab.bench import discover, interleaved_seconds


def test_the_benchmark_names_the_issues_check_are_registered():
    names = set(discover())
    expected = {f"ae.{algorithm}.case2.run_s" for algorithm in
                ("cosyne", "de", "ea", "cosyne_idct", "de_idct", "ea_idct")}
    expected |= {"ae.cosyne.case2.repeats100_s", "ae.cosyne.case6.repeats500_s",
                 "ae.cosyne.case3.repeats100_s", "ae.lstm.case6.speedup",
                 "tickets.pendulum.es_steps_per_s", "tickets.pendulum.rollout_steps_per_s",
                 "tickets.pendulum.policy_speedup",
                 "tickets.mnist.cnn_evals_per_s", "tickets.mnist5k.es_gens_per_s",
                 "tickets.mnist.cnn_speedup", "tickets.digits.cnn_speedup",
                 "lowrank.rl.early_termination_efficiency", "lowrank.rl.frames_speedup",
                 "lowrank.lm.width128.rank4_over_dense",
                 "lowrank.lm.tokens_per_s", "lowrank.lm.bpe.tokens_per_s",
                 "lowrank.lm.population_vs_inference"}
    assert expected <= names, sorted(expected - names)


def test_interleaved_seconds_calls_every_function_in_turn():
    order = []

    def recorder(name):
        def call(x):
            order.append(name)
            return jnp.asarray(x)
        return call

    timed = interleaved_seconds({"a": (recorder("a"), (1.0,)), "b": (recorder("b"), (2.0,))}, repeats=3)
    assert order == ["a", "b"] * 4  # one first (compiling) call each, then three rounds
    for stats in timed.values():
        assert set(stats) == {"first", "times", "min", "median"}
        assert len(stats["times"]) == 3
        assert 0.0 <= stats["min"] <= stats["median"]


def test_the_single_run_worker_reports_a_run_measured_with_one_intra_op_thread():
    """``nevolab bench`` times a single Study A run in a worker process started with
    ``PJRT_NPROC=1``; the worker must run and report its measurement (its value is not checked)."""
    import importlib.util

    from nevolab.paths import repo_root

    path = repo_root() / "benchmarks" / "bench_autoencoders.py"
    spec = importlib.util.spec_from_file_location("bench_autoencoders_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.SINGLE_RUN_ENVIRONMENT == {"PJRT_NPROC": "1"}
    reported = module._single_run_in_worker("II", "ea_idct")
    assert set(reported) == {"value", "compile_s"}
    assert reported["value"] > 0.0


def test_xla_counts_the_flops_of_a_matrix_product():
    """A known answer: an (m, k) x (k, n) product is 2mkn floating-point operations."""
    from nevolab.bench import xla_flops

    a, b = jnp.ones((8, 16)), jnp.ones((16, 4))
    assert xla_flops(jnp.matmul, a, b) == 2 * 8 * 16 * 4


def test_peak_fraction_is_added_only_to_hot_loop_records():
    from nevolab.bench import with_peak_fraction

    hot = with_peak_fraction({"value": 1.0, "unit": "x/s", "gflops": 20.0}, peak_gflops=80.0)
    assert hot["peak_fraction"] == 0.25 and hot["gemm_peak_gflops"] == 80.0
    assert with_peak_fraction({"value": 1.0, "unit": "s"}, peak_gflops=80.0) == {"value": 1.0, "unit": "s"}


def test_the_gemm_peak_is_a_benchmark_and_a_positive_rate():
    from nevolab.bench import gemm_peak_gflops

    assert "bench.gemm_peak_gflops" in discover()
    assert gemm_peak_gflops(size=64, repeats=1) > 0.0


def test_xla_counts_a_scan_body_once():
    """What :func:`xla_flops` documents: a scan's body is counted once, whatever its length."""
    import jax

    from nevolab.bench import xla_flops

    def repeated(a, steps):
        return jax.lax.scan(lambda carry, _: (carry @ a, None), a, None, length=steps)[0]

    a = jnp.ones((16, 16))
    assert xla_flops(lambda x: repeated(x, 10), a) == xla_flops(lambda x: repeated(x, 3), a)
