"""NevoLab: three neuroevolution papers re-run in JAX.

Importing the package turns on JAX's persistent compilation cache (``.cache/jax`` in the checkout,
or ``$NEVOLAB_JAX_CACHE``; set it to ``0`` to disable), so re-executing a notebook, the tests and
the book build reuse compiled runs instead of recompiling them. It also lowers JAX's threefry PRNG
unrolled on CPU (same numbers, fewer loop dispatches per generation; see :mod:`nevolab.xla`).
"""

from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"


def _enable_compilation_cache() -> None:
    setting = os.environ.get("NEVOLAB_JAX_CACHE", "")
    if setting == "0":
        return
    import jax

    directory = Path(setting) if setting else Path(__file__).resolve().parents[2] / ".cache" / "jax"
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


_enable_compilation_cache()

from nevolab.xla import keep_large_allocations, unroll_threefry_on_cpu  # noqa: E402

unroll_threefry_on_cpu()
keep_large_allocations()
