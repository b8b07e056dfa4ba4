"""One tuning of how JAX lowers to XLA:CPU, installed when ``nevolab`` is imported.

JAX lowers its threefry PRNG on CPU as a rolled loop (five ``while`` iterations of four rounds) to
keep compile times short. Inside a compiled run that draws a few small random arrays every
generation, each of those loops is a separate XLA ``while`` with its own per-iteration dispatch:
profiles of Study A's runs showed the PRNG loops taking about 40% of a 2000-generation CoSyNE run.
The unrolled lowering, which JAX uses on every other platform, computes the same 20 rounds in one
fused kernel. Same algorithm, same bits: only the speed changes (``tests/test_xla_cpu.py``).
"""

from __future__ import annotations

import warnings


def unroll_threefry_on_cpu() -> bool:
    """Lower ``threefry2x32`` on CPU with JAX's unrolled (non-loop) rule. Returns whether it took.

    This reaches into JAX internals; if they have moved, nothing changes except speed, and a
    warning says so.
    """
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry
    except ImportError:  # pragma: no cover - depends on the JAX version
        warnings.warn("nevolab: JAX's threefry lowering moved; PRNG kernels stay rolled on CPU",
                      stacklevel=2)
        return False
    rule = getattr(threefry, "_threefry2x32_lowering_rule", None)
    primitive = getattr(threefry, "threefry2x32_p", None)
    if rule is None or primitive is None:  # pragma: no cover - depends on the JAX version
        warnings.warn("nevolab: JAX's threefry lowering moved; PRNG kernels stay rolled on CPU",
                      stacklevel=2)
        return False
    mlir.register_lowering(primitive, rule, platform="cpu")
    return True
