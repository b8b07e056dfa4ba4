"""The benchmark registry behind ``nevolab bench``.

Benchmarks live in ``benchmarks/bench_*.py``; each module has ``BENCHMARKS = {name: fn}`` where
``fn()`` compiles, times and returns at least ``{"value": ..., "unit": ...}``. Every printed record
gets its ``name`` and the ``machine`` it ran on. A hot loop's record also gives ``gflops``, the
arithmetic rate it reached (XLA's own FLOP count of the timed program over its time, see
:func:`xla_flops`); ``run_benchmarks`` then measures this machine's fp32 GEMM peak in the same process
(:func:`gemm_peak_gflops`) and adds ``peak_fraction`` = ``gflops`` / peak beside it.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax

from nevolab.config import ConfigError
from nevolab.paths import repo_root
from nevolab.store import machine


def median_seconds(fn: Callable[..., Any], *args: Any, repeats: int = 3) -> tuple[float, float]:
    """(seconds of the first call, which includes any compilation; median seconds of ``repeats``
    further calls), each timed until its result is ready."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def interleaved_seconds(calls: dict[str, tuple[Callable[..., Any], tuple]], repeats: int = 5
                        ) -> dict[str, dict[str, Any]]:
    """Time several calls against each other: each is called once (compiling), then ``repeats``
    rounds call every one in turn. Returns, per name, ``first`` (seconds of the first call),
    ``times`` (the timed calls, round by round), their ``min`` and ``median``.

    A ratio of two timings taken minutes apart on a shared machine moves with the machine's speed
    (here it drifts by ±20 % within a minute); within one round both see the same machine, so a
    ratio per round, summarised by its median over rounds, is the stable comparison.
    """
    first: dict[str, float] = {}
    for name, (fn, args) in calls.items():
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        first[name] = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - start)
    return {name: {"first": first[name], "times": times[name], "min": min(times[name]),
                   "median": statistics.median(times[name])} for name in calls}


GEMM_SIZE = 2048


def gemm_peak_gflops(size: int = GEMM_SIZE, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate (GFLOP/s): a jitted ``size``² × ``size``² product,
    the median of ``repeats`` timed calls after a compiling one."""
    keys = jax.random.split(jax.random.PRNGKey(0))
    a, b = (jax.random.normal(key, (size, size), jax.numpy.float32) for key in keys)
    _, seconds = median_seconds(jax.jit(jax.numpy.matmul), a, b, repeats=repeats)
    return 2.0 * size**3 / seconds / 1e9


def xla_flops(fn: Callable[..., Any], *args: Any) -> float:
    """The floating-point operations XLA counts in one call of ``jit(fn)(*args)`` (its cost analysis
    of the compiled program). XLA counts a loop's body once, not once per trip: a benchmark of a
    ``lax.scan`` multiplies the body's count by the trip count itself."""
    compiled = jax.jit(fn).lower(*args).compile()
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):  # older jax returns one dict per computation
        analysis = analysis[0]
    return float(analysis.get("flops", float("nan")))


def with_peak_fraction(result: dict[str, Any], peak_gflops: float) -> dict[str, Any]:
    """``result`` with ``gemm_peak_gflops`` and ``peak_fraction`` added where it reports ``gflops``."""
    if "gflops" not in result:
        return result
    return {**result, "gemm_peak_gflops": peak_gflops, "peak_fraction": result["gflops"] / peak_gflops}


def discover() -> dict[str, Callable[[], dict[str, Any]]]:
    registry: dict[str, Callable[[], dict[str, Any]]] = {}
    for path in sorted((repo_root() / "benchmarks").glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"nevolab_benchmarks.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        registry.update(getattr(module, "BENCHMARKS", {}))
    return registry


def select(registry: dict[str, Callable], names: list[str] | None) -> list[str]:
    if not names:
        return list(registry)
    chosen = []
    for name in names:
        matches = [key for key in registry if key == name or key.startswith(name.rstrip(".") + ".")]
        if not matches:
            raise ConfigError(f"unknown benchmark {name!r}; valid: {', '.join(registry)}")
        chosen.extend(match for match in matches if match not in chosen)
    return chosen


def run_benchmarks(names: list[str] | None = None) -> Iterator[dict[str, Any]]:
    registry = discover()
    chosen = select(registry, names)
    where = machine()
    for name in chosen:
        result = registry[name]()
        if "gflops" in result:
            # Measured right after the loop, in the same process: the machine's speed drifts.
            result = with_peak_fraction(result, gemm_peak_gflops())
        yield {"name": name, **result, "machine": where}
