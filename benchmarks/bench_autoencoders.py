"""Study A benchmarks: whole compiled 2000-generation runs on Case II (98 parameters) and the LSTM
cases III and VI, and the fast LSTM population loss against the plain one.

The original PyTorch code evaluates each individual in a Python loop and needs seconds to tens of
seconds per run on a CPU. Targets on a 2-core CPU: one run under 0.1 s, 100 vmapped repeats under
2 s, 500 CoSyNE repeats on Case VI under 400 s.

A single run is timed in a worker process with one XLA:CPU intra-op thread (``PJRT_NPROC=1``), the
configuration that suits it, and again in this process with XLA's default thread pool
(``value_default_threads``). A generation of one run is ~40 tiny kernels taking tens of
microseconds in all; with two threads XLA's runtime hands independent kernels to the other core,
and on this machine the hand-offs cost 30-40 % of the run. Vmapped repeats keep both threads,
which they use.

The LSTM runs at the original's scale (``repeats500`` on Case VI: 500 runs of a population of 14,
7,000 nets a generation; ``repeats100`` on Case III) use the fast LSTM loss
(``AERun(..., fast_lstm=True)``), as ``ae.lstm.case6.speedup`` measures it against the plain one.
A 500-run measurement is one call of the compiled run (minutes): the first call after compiling,
with no repeat.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import jax

from nevolab.bench import interleaved_seconds, median_seconds, xla_flops
from nevolab.runner import compile_chunk, initial_arguments, make_chunk, vmap_runs
from nevolab.studies.a.runs import best_hyperparameters
from nevolab.studies.a.train import AERun, make_train

GENERATIONS = 2000


def _run(case: str, algorithm: str, repeats: int | None, fast_lstm: bool = False) -> AERun:
    return AERun(case=case, algorithm=algorithm, hyperparameters=best_hyperparameters(case, algorithm),
                 repeats=repeats or 1, generations=GENERATIONS, seed=0, fast_lstm=fast_lstm)


def _compiled(case: str, algorithm: str, repeats: int | None, fast_lstm: bool = False):
    # The book's program and compiler options (with the fast LSTM loss when asked).
    program = make_train(_run(case, algorithm, repeats, fast_lstm))
    args = initial_arguments(program.init_fn, jax.random.key(0), program.data, repeats)
    start = time.perf_counter()
    compiled = compile_chunk(program.step, GENERATIONS, args, vmapped=repeats is not None,
                             compiler_options=program.compiler_options)
    return compiled, args, time.perf_counter() - start


def _time(compiled, args, repeats: int = 5) -> float:
    return median_seconds(compiled, *args, repeats=repeats)[1]


SINGLE_RUN_ENVIRONMENT = {"PJRT_NPROC": "1"}  # one intra-op thread in the worker process


def _single_run_seconds(case: str, algorithm: str) -> dict:
    compiled, args, compile_s = _compiled(case, algorithm, None)
    return {"value": _time(compiled, args), "compile_s": round(compile_s, 3)}


def _single_run_in_worker(case: str, algorithm: str) -> dict:
    """:func:`_single_run_seconds` in a fresh process with :data:`SINGLE_RUN_ENVIRONMENT`
    (XLA reads it once, when its CPU client starts)."""
    worker = subprocess.run([sys.executable, __file__, case, algorithm], capture_output=True, text=True,
                            env={**os.environ, **SINGLE_RUN_ENVIRONMENT})
    if worker.returncode:
        raise RuntimeError(f"single-run worker for {case}/{algorithm} failed:\n{worker.stderr[-2000:]}")
    return json.loads(worker.stdout.strip().splitlines()[-1])


def single_run(case: str, algorithm: str):
    def measure() -> dict:
        worker = _single_run_in_worker(case, algorithm)
        default_threads = _single_run_seconds(case, algorithm)
        return {"value": worker["value"], "unit": "s", "compile_s": worker["compile_s"],
                "intra_op_threads": 1, "value_default_threads": default_threads["value"],
                "generations": GENERATIONS, "target": 0.1}

    return measure


def vmapped_runs(case: str, algorithm: str, repeats: int, target: float | None, fast_lstm: bool = False):
    def measure() -> dict:
        compiled, args, compile_s = _compiled(case, algorithm, repeats, fast_lstm)
        if repeats <= 100:
            seconds, timing = _time(compiled, args, repeats=3), "median of 3 calls after a first"
        else:  # minutes per call: the first call (compiled beforehand) is the measurement
            start = time.perf_counter()
            jax.block_until_ready(compiled(*args))
            seconds, timing = time.perf_counter() - start, "one call"
        return {"value": seconds, "unit": "s", "compile_s": round(compile_s, 3), "repeats": repeats,
                "generations": GENERATIONS, "seconds_per_generation": seconds / GENERATIONS,
                "fast_lstm": fast_lstm, "timing": timing, "target": target}

    return measure


# Per timed call: one generation. A longer chunk is a loop, whose body XLA's FLOP count includes
# once, not once per trip.
SPEEDUP_GENERATIONS = 1
SPEEDUP_REPEATS = 5


def lstm_speedup(case: str, repeats: int, target: float):
    """Generations of ``repeats`` CoSyNE runs on ``case`` (the original's population), the plain LSTM
    loss (the oracle) against the fast one, timed interleaved."""

    def measure() -> dict:
        calls, programs = {}, {}
        for name, fast in (("oracle", False), ("fast", True)):
            program = make_train(_run(case, "cosyne", repeats, fast))
            args = initial_arguments(program.init_fn, jax.random.key(0), program.data, repeats)
            chunk = vmap_runs(make_chunk(program.step, SPEEDUP_GENERATIONS))
            calls[name] = (jax.jit(chunk, compiler_options=program.compiler_options), args)
            programs[name] = chunk
        timed = interleaved_seconds(calls, repeats=SPEEDUP_REPEATS)
        # Per round both programs see the same machine; the median of the per-round ratios is stable.
        ratios = [slow / quick for slow, quick in zip(timed["oracle"]["times"], timed["fast"]["times"])]
        fast_s, oracle_s = (timed[name]["median"] / SPEEDUP_GENERATIONS for name in ("fast", "oracle"))
        nets = repeats * best_hyperparameters(case, "cosyne")["population_size"]
        flops = {name: xla_flops(programs[name], *calls[name][1]) for name in ("fast", "oracle")}
        return {
            "value": statistics.median(ratios), "unit": "x", "ratio_range": [min(ratios), max(ratios)],
            "nets_per_s": nets / fast_s, "oracle_nets_per_s": nets / oracle_s,
            "seconds_per_generation": fast_s, "oracle_seconds_per_generation": oracle_s,
            "gflops": flops["fast"] / fast_s / 1e9, "oracle_gflops": flops["oracle"] / oracle_s / 1e9,
            "timing": "medians over interleaved repeats", "repeats_interleaved": SPEEDUP_REPEATS,
            "generations_per_call": SPEEDUP_GENERATIONS, "runs": repeats, "nets_per_generation": nets,
            "flops_note": "XLA's count includes a loop body once: the plain loss scans its sequence, so "
                          "oracle_gflops counts one encoder and one decoder step (a lower bound)",
            "target": target,
        }

    return measure


def compile_time(case: str, algorithm: str):
    def measure() -> dict:
        _, _, compile_s = _compiled(case, algorithm, None)
        return {"value": compile_s, "unit": "s", "note": "XLA compile of one whole run (cache may help)"}

    return measure


BENCHMARKS = {
    **{f"ae.{algorithm}.case2.run_s": single_run("II", algorithm)
       for algorithm in ("cosyne", "de", "ea", "cosyne_idct", "de_idct", "ea_idct")},
    "ae.backprop.case2.run_s": single_run("II", "backprop"),
    "ae.cosyne.case2.repeats100_s": vmapped_runs("II", "cosyne", 100, 2.0),
    "ae.cosyne.case2.compile_s": compile_time("II", "cosyne"),
    "ae.cosyne.case6.repeats500_s": vmapped_runs("VI", "cosyne", 500, 400.0, fast_lstm=True),
    "ae.cosyne.case3.repeats100_s": vmapped_runs("III", "cosyne", 100, None, fast_lstm=True),
    "ae.lstm.case6.speedup": lstm_speedup("VI", 500, 2.4),
}


if __name__ == "__main__":  # the single-run worker: python bench_autoencoders.py CASE ALGORITHM
    print(json.dumps(_single_run_seconds(sys.argv[1], sys.argv[2])))
