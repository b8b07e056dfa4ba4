"""Compiled whole runs: population evaluation (vmapped, sharded over devices) and the run loop.

The run loop follows the purejaxrl pattern: a run is a pure function of its PRNG key, one
``lax.scan`` over generations, and many runs are ``jit(vmap(train))(keys)``. Per-generation keys
are ``fold_in(run_key, generation)``, so a run gives the same numbers whether it is executed in
one scan or in host-side chunks (which is how long runs show a progress bar and how they resume
after a kill: with a ``checkpoint`` path the states and metrics so far are written atomically after
every chunk). A chunk derives the keys of all its generations before its scan (see :func:`make_chunk`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from nevolab import distributed, xla
from nevolab.paths import atomic_write

PyTree = Any
# fitness_fn(genotypes (n, num_dims), generation (), data) -> losses (n,)
FitnessFn = Callable[[jax.Array, jax.Array, Any], jax.Array]
# step(state, keys, generation, data) -> (state, metrics); keys = step.derive_keys(run_key, generation)
# if the step has that attribute, else generation_key(run_key, generation).
StepFn = Callable[[Any, Any, jax.Array, Any], tuple[Any, dict[str, jax.Array]]]


class Algorithm(Protocol):
    """What the run loop needs of an algorithm: evosax's ``init / ask / tell``."""

    def init(self, key: jax.Array, population: jax.Array, fitness: jax.Array, params: Any) -> Any: ...
    def ask(self, key: jax.Array, state: Any, params: Any) -> tuple[jax.Array, Any]: ...
    def tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: Any, params: Any
             ) -> tuple[Any, dict[str, jax.Array]]: ...


# Inside process_local(), a population is sharded over this process's devices only (see there).
_PROCESS_LOCAL: contextvars.ContextVar[bool] = contextvars.ContextVar("process_local", default=False)


def population_mesh() -> Mesh | None:
    """A 1-d mesh over all devices for the population axis, or None on a single device.

    Across processes (:mod:`nevolab.distributed`) ``jax.devices()`` is every process's devices, so
    a population is sharded over the global mesh; inside :func:`process_local`, over this
    process's devices.
    """
    devices = jax.local_devices() if _PROCESS_LOCAL.get() else jax.devices()
    if len(devices) < 2:
        return None
    return Mesh(np.asarray(devices), ("population",))


@contextlib.contextmanager
def process_local() -> Iterator[None]:
    """Programs traced in the block shard populations over this process's devices only: they have
    no cross-process collective, so each process may run them a different number of times (a
    timing loop that stops after a measured duration would otherwise leave the others waiting)."""
    token = _PROCESS_LOCAL.set(True)
    try:
        yield
    finally:
        _PROCESS_LOCAL.reset(token)


def jit_replicated(fn: Callable, compiler_options: dict[str, Any] | None = None) -> Callable:
    """``jax.jit(fn)``; across processes with every output replicated on every device, so each
    process holds whole results (host values, the next chunk's states) without gathering them."""
    if not distributed.is_multiprocess():
        return jax.jit(fn, compiler_options=compiler_options)
    replicated = NamedSharding(Mesh(np.asarray(jax.devices()), ("population",)), PartitionSpec())
    return jax.jit(fn, compiler_options=compiler_options, out_shardings=replicated)


def evaluate_population(loss_fn: Callable[..., jax.Array], genotypes: jax.Array, *args: Any) -> jax.Array:
    """``vmap(loss_fn)`` over the leading (population) axis of ``genotypes``; extra ``args`` are shared.

    With several devices the population axis is sharded across them (padded to a multiple of the
    device count, the padding discarded afterwards), so the same code runs on one CPU, one GPU or
    many. Works inside ``jit`` and under an outer ``vmap`` over seeds. The losses are returned as
    computed: the algorithm's ``tell`` sanitises them (NaN/inf become +inf), once per generation.
    """
    mesh = population_mesh()
    num_individuals = genotypes.shape[0]
    if mesh is not None:
        padding = (-num_individuals) % mesh.size
        if padding:
            genotypes = jnp.concatenate([genotypes, jnp.repeat(genotypes[:1], padding, axis=0)])
        genotypes = jax.lax.with_sharding_constraint(
            genotypes, NamedSharding(mesh, PartitionSpec("population")))
    losses = jax.vmap(lambda genotype: loss_fn(genotype, *args))(genotypes)
    return losses[:num_individuals]


def generation_key(run_key: jax.Array, generation: jax.Array) -> jax.Array:
    """The key of one generation of a run: ``fold_in(run_key, generation)``."""
    return jax.random.fold_in(run_key, generation)


def make_generation_step(algorithm: Algorithm, params: Any, fitness_fn: FitnessFn) -> StepFn:
    """One generation: ask, evaluate, tell (or the algorithm's own ``step`` if it has one).

    The step's keys are the generation's key split into (ask, tell) keys, or the generation's key
    itself for an algorithm with its own ``step`` (``step.derive_keys``). ``data`` (e.g. the
    training batches) is an argument rather than a closed-over constant: XLA constant-folds
    captured arrays, which makes compilation slow.
    """
    own_step = hasattr(algorithm, "step")

    def derive_keys(run_key: jax.Array, generation: jax.Array) -> Any:
        key = generation_key(run_key, generation)
        return key if own_step else tuple(jax.random.split(key))

    def step(state: Any, keys: Any, generation: jax.Array, data: Any
             ) -> tuple[Any, dict[str, jax.Array]]:
        if own_step:
            return algorithm.step(keys, state, params,
                                  lambda genotypes: fitness_fn(genotypes, generation, data))
        key_ask, key_tell = keys
        population, state = algorithm.ask(key_ask, state, params)
        fitness = fitness_fn(population, generation, data)  # sanitised once, by tell
        state, metrics = algorithm.tell(key_tell, population, fitness, state, params)
        metrics.setdefault("num_evaluations", jnp.asarray(population.shape[0], jnp.int32))
        return state, metrics

    step.derive_keys = derive_keys  # type: ignore[attr-defined]
    return step


def make_chunk(step: StepFn, chunk_length: int
               ) -> Callable[[Any, jax.Array, jax.Array, Any], tuple[Any, dict[str, jax.Array]]]:
    """``chunk_length`` generations from ``first_generation`` in one ``lax.scan``.

    The keys of every generation (``step.derive_keys(run_key, generation)``, or
    :func:`generation_key`) are derived before the scan and read by it: derived inside, the
    derivation (threefry hashes) is fused into each PRNG kernel that uses a key and recomputed for
    every element it draws. The scalar metrics of a generation
    leave the scan packed into one vector per dtype and are unpacked afterwards: each separate scan
    output costs a kernel per generation (a dynamic update slice).
    """
    derive_keys = getattr(step, "derive_keys", generation_key)

    def chunk(state: Any, run_key: jax.Array, first_generation: jax.Array, data: Any) -> tuple[Any, dict]:
        generations = first_generation + jnp.arange(chunk_length)
        keys = jax.vmap(derive_keys, in_axes=(None, 0))(run_key, generations)
        layout: dict[str, Any] = {}

        def body(carry: Any, inputs: tuple[jax.Array, Any]) -> tuple[Any, Any]:
            generation, generation_keys = inputs
            carry, metrics = step(carry, generation_keys, generation, data)
            packed, layout["unpack"] = pack_scalars(metrics)
            return carry, packed

        state, packed = jax.lax.scan(body, state, (generations, keys))
        return state, layout["unpack"](packed)

    return chunk


def pack_scalars(metrics: dict[str, Any]) -> tuple[dict[str, Any], Callable[[dict[str, Any]], dict]]:
    """Stack the scalar entries of ``metrics`` into one vector per dtype; returns the packed dict
    and a function that restores the original dict from it (or from a stack of packed dicts along
    a leading axis, as a scan produces)."""
    values = {name: jnp.asarray(value) for name, value in metrics.items()}
    groups: dict[str, list[str]] = {}
    for name, value in values.items():
        if value.ndim == 0:
            groups.setdefault(str(value.dtype), []).append(name)
    packed = {name: value for name, value in values.items() if value.ndim}
    packed.update({f"__scalars_{dtype}": jnp.stack([values[name] for name in names])
                   for dtype, names in groups.items()})

    def unpack(stacked: dict[str, Any]) -> dict[str, Any]:
        out = {name: stacked[name] for name in values if name in stacked}
        for dtype, names in groups.items():
            out.update({name: stacked[f"__scalars_{dtype}"][..., index] for index, name in enumerate(names)})
        return {name: out[name] for name in values}

    return packed, unpack


def initial_arguments(init_fn: Callable[[jax.Array], Any], key: jax.Array, data: Any = None,
                      repeats: int | None = None) -> tuple:
    """The arguments of a whole-run chunk starting at generation 0: one run from ``key``, or
    ``repeats`` runs (leading axis) from keys split from it, initialised as :func:`run_vmapped` does."""
    if repeats is None:
        run_key, init_key = jax.random.split(key)
        state = jax.jit(init_fn, compiler_options=xla.compiler_options("init"))(init_key)
        return state, run_key, jnp.int32(0), data
    states, run_keys = init_runs(init_fn, jax.random.split(key, repeats))
    return states, run_keys, jnp.int32(0), data


def init_runs(init_fn: Callable[[jax.Array], Any], keys: jax.Array) -> tuple[Any, jax.Array]:
    """The initial states of ``len(keys)`` runs and their run keys: each key splits into a run key
    and an initialisation key."""
    run_keys, init_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
    return jax.jit(jax.vmap(init_fn), compiler_options=xla.compiler_options("init"))(init_keys), run_keys


def vmap_runs(chunk: Callable) -> Callable:
    """A chunk over several runs: states and run keys have a leading runs axis; the first
    generation and the data are shared."""
    return jax.vmap(chunk, in_axes=(0, 0, None, None))


def compile_chunk(step: StepFn, num_generations: int, args: tuple, vmapped: bool = False,
                  compiler_options: dict[str, Any] | None = None) -> Callable:
    """:func:`make_chunk` compiled ahead of time for ``args`` (from :func:`initial_arguments`;
    ``vmapped`` when they hold several runs), so that timing ``compiled(*args)`` excludes compilation."""
    chunk = make_chunk(step, num_generations)
    if vmapped:
        chunk = vmap_runs(chunk)
    if not distributed.is_multiprocess():
        return jax.jit(chunk).lower(*args).compile(compiler_options=compiler_options)
    # Timed by each process on its own: see process_local.
    with process_local():
        return jax.jit(chunk).lower(*args).compile(compiler_options=compiler_options)


def _host_leaf(leaf: Any) -> np.ndarray:
    """A state leaf as a numpy array (typed PRNG keys as their raw key data)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(leaf))
    return np.asarray(leaf)


def save_checkpoint(path: Path, fingerprint: str, next_generation: int, states: Any,
                    metrics: dict[str, np.ndarray]) -> None:
    """Write the runs' states and their metrics so far to ``path``, atomically."""
    arrays = {f"state_{i}": _host_leaf(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(states))}
    arrays.update({f"metric_{name}": value for name, value in metrics.items()})
    buffer = io.BytesIO()
    np.savez(buffer, __fingerprint=np.asarray(fingerprint), __next=np.asarray(next_generation), **arrays)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path: Path, fingerprint: str, like_states: Any
                    ) -> tuple[int, Any, dict[str, np.ndarray]] | None:
    """``(next_generation, states, metrics)`` from ``path``, or None when there is none or it belongs
    to other runs. ``like_states`` (freshly initialised states) gives the pytree structure and the
    leaves that are PRNG keys."""
    if not path.exists():
        return None
    with np.load(path) as stored:
        if str(stored["__fingerprint"]) != fingerprint:
            return None
        leaves, treedef = jax.tree_util.tree_flatten(like_states)
        restored = []
        for i, leaf in enumerate(leaves):
            value = stored[f"state_{i}"]
            if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                restored.append(jax.random.wrap_key_data(value, impl=jax.random.key_impl(leaf)))
            else:
                restored.append(jnp.asarray(value, leaf.dtype))
        metrics = {name.removeprefix("metric_"): stored[name] for name in stored.files
                   if name.startswith("metric_")}
        return int(stored["__next"]), jax.tree_util.tree_unflatten(treedef, restored), metrics


def _fingerprint(keys: jax.Array, num_generations: int, chunk_length: int, states: Any) -> str:
    """What a checkpoint must match to be resumed: the runs' keys, length, chunking and state shapes."""
    shapes = [(tuple(leaf.shape), str(leaf.dtype)) for leaf in jax.tree_util.tree_leaves(states)]
    text = repr((np.asarray(jax.random.key_data(keys)).tolist(), num_generations, chunk_length, shapes))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Program:
    """What the run loop needs for a run (a study's ``make_train(run)`` returns it): ``init_fn(key) ->
    state``, the generation ``step``, the ``data`` it reads (an argument, not captured: XLA would
    constant-fold captured arrays, which makes compilation slow) and the XLA compiler options."""

    init_fn: Callable[[jax.Array], Any]
    step: StepFn
    data: Any = None
    compiler_options: dict[str, Any] | None = None


def run_vmapped(program: Program, keys: jax.Array, num_generations: int, chunk_length: int | None = None,
                checkpoint: Path | None = None, progress: str | None = None
                ) -> tuple[Any, dict[str, np.ndarray]]:
    """Run ``len(keys)`` independent runs of ``program`` for ``num_generations``, vmapped over keys.

    Without ``chunk_length`` the whole run is one compiled scan; with it, the host loops over equal
    chunks (the result is identical). With ``checkpoint``, the states and metrics are saved there
    after every chunk and a matching checkpoint is resumed, so a killed run continues where it
    stopped with identical numbers; the file is removed at the end (across processes there is no
    checkpoint). ``progress`` (a description) shows a tqdm bar over the chunks. Returns the final
    states and the metrics stacked as numpy arrays of shape (num_runs, num_generations), on every
    process.
    """
    if num_generations < 1:
        raise ValueError(f"num_generations must be at least 1; got {num_generations}")
    chunk_length = min(chunk_length or num_generations, num_generations)
    if checkpoint is not None and distributed.is_multiprocess():
        checkpoint = None  # one process's file could let the processes resume at different chunks
    states, run_keys = init_runs(program.init_fn, keys)
    fingerprint = _fingerprint(keys, num_generations, chunk_length, states) if checkpoint else ""
    first = 0
    pieces: list[dict[str, np.ndarray]] = []
    if checkpoint is not None and (resumed := load_checkpoint(checkpoint, fingerprint, states)) is not None:
        first, states, done = resumed
        pieces.append(done)
    compiled: dict[int, Callable] = {}
    starts = range(first, num_generations, chunk_length)
    if progress is not None:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=progress, unit="chunk", leave=False)
    for start in starts:
        length = min(chunk_length, num_generations - start)
        if length not in compiled:
            compiled[length] = jit_replicated(vmap_runs(make_chunk(program.step, length)),
                                              program.compiler_options)
        states, metrics = compiled[length](states, run_keys, jnp.asarray(start, jnp.int32), program.data)
        pieces.append(jax.tree_util.tree_map(np.asarray, metrics))
        if checkpoint is not None and start + length < num_generations:
            pieces = [_concatenate(pieces)]
            save_checkpoint(checkpoint, fingerprint, start + length, states, pieces[0])
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return states, _concatenate(pieces)


def _concatenate(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Metrics of consecutive chunks joined along the generations axis."""
    return {name: np.concatenate([piece[name] for piece in pieces], axis=1) for name in pieces[0]}
