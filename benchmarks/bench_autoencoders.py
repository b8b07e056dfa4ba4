"""Study A benchmarks: whole compiled 2000-generation runs on Case II (98 parameters) and Case VI.

The original PyTorch code evaluates each individual in a Python loop and needs seconds to tens of
seconds per run on a CPU. Targets on a 2-core CPU: one run under 0.1 s, 100 vmapped repeats under
2 s, 500 CoSyNE repeats on Case VI under 60 s.

A single run is timed in a worker process with one XLA:CPU intra-op thread (``PJRT_NPROC=1``), the
configuration that suits it, and again in this process with XLA's default thread pool
(``value_default_threads``). A generation of one run is ~40 tiny kernels taking tens of
microseconds in all; with two threads XLA's runtime hands independent kernels to the other core,
and on this machine the hand-offs cost 30-40 % of the run. Vmapped repeats keep both threads,
which they use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax

from nevolab.bench import median_seconds
from nevolab.runner import compile_chunk, initial_arguments
from nevolab.studies.a.runs import best_hyperparameters
from nevolab.studies.a.train import AERun, make_train

GENERATIONS = 2000


def _compiled(case: str, algorithm: str, repeats: int | None):
    run = AERun(case=case, algorithm=algorithm, hyperparameters=best_hyperparameters(case, algorithm),
                repeats=repeats or 1, generations=GENERATIONS, seed=0)
    program = make_train(run)  # the book's program and compiler options
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


def vmapped_runs(case: str, algorithm: str, repeats: int, target: float):
    def measure() -> dict:
        compiled, args, compile_s = _compiled(case, algorithm, repeats)
        return {"value": _time(compiled, args, repeats=3 if repeats <= 100 else 1), "unit": "s",
                "compile_s": round(compile_s, 3), "repeats": repeats, "generations": GENERATIONS,
                "target": target}

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
    "ae.cosyne.case6.repeats500_s": vmapped_runs("VI", "cosyne", 500, 60.0),
}


if __name__ == "__main__":  # the single-run worker: python bench_autoencoders.py CASE ALGORITHM
    print(json.dumps(_single_run_seconds(sys.argv[1], sys.argv[2])))
