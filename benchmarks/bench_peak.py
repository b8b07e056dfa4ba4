"""The reference every hot-loop benchmark is read against: this machine's fp32 GEMM rate.

* ``bench.gemm_peak_gflops``: a jitted 2048² × 2048² fp32 matrix product, GFLOP/s (median of 5
  timed calls after a compiling one). Hot-loop benchmarks report ``gflops`` and get a
  ``peak_fraction`` against the same measurement taken in their own process.
"""

from __future__ import annotations

from nevolab.bench import GEMM_SIZE, gemm_peak_gflops


def gemm_peak() -> dict:
    return {"value": gemm_peak_gflops(), "unit": "GFLOP/s", "size": GEMM_SIZE, "dtype": "float32"}


BENCHMARKS = {"bench.gemm_peak_gflops": gemm_peak}
