"""A run over several processes, on JAX's own runtime (``jax.distributed``).

Every process runs the same program (SPMD): the same notebook cells, the same jitted runs, in the
same order, each compiled over the global device mesh so that a population is sharded across all
processes' devices. Process 0 alone writes (the store's tables, checkpoints, the executed notebook);
the others compute with it and take its bytes (:func:`share_bytes`), so no shared file system is
needed and no process waits on a file lock while another waits on it in a collective.

The processes find each other from the environment, one process per host:

- ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0; JAX itself reads it),
- ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` (where unset, JAX's cluster detection, e.g. SLURM or
  Open MPI, fills them in).

Without ``JAX_COORDINATOR_ADDRESS`` nothing is initialised and a run is the single-process run it
always was. ``nevolab run --processes N`` sets these variables for N local processes.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping

import numpy as np

COORDINATOR_ENV = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_ENV = "JAX_NUM_PROCESSES"
PROCESS_ID_ENV = "JAX_PROCESS_ID"


def requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for a multi-process run (a coordinator address is set)."""
    return bool((os.environ if environ is None else environ).get(COORDINATOR_ENV))


def _optional_int(environ: Mapping[str, str], name: str) -> int | None:
    """``environ[name]`` as an int, or None where unset (JAX's cluster detection then decides)."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"${name} must be an integer; got {value!r}") from None


def initialize(environ: Mapping[str, str] | None = None) -> bool:
    """``jax.distributed.initialize`` from the environment, once; False (and nothing done) when no
    coordinator address is set. Must run before the first JAX computation of the process."""
    environ = os.environ if environ is None else environ
    if not requested(environ):
        return False
    import jax

    if jax.distributed.is_initialized():
        return True
    # Cross-process collectives on CPU need an implementation; gloo ships with jaxlib.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=environ[COORDINATOR_ENV],
                               num_processes=_optional_int(environ, NUM_PROCESSES_ENV),
                               process_id=_optional_int(environ, PROCESS_ID_ENV))
    return True


def is_multiprocess() -> bool:
    """Whether this process is one of several (False before :func:`initialize`, and on one process)."""
    # Asked without importing JAX: a process that has not imported it has not initialised it.
    jax = sys.modules.get("jax")
    return jax is not None and jax.distributed.is_initialized() and jax.process_count() > 1


def process_index() -> int:
    """This process's id in a multi-process run; 0 on a single process."""
    return sys.modules["jax"].process_index() if is_multiprocess() else 0


def is_writer() -> bool:
    """Whether this process writes files: process 0, or the only process."""
    return process_index() == 0


def share_bytes(data: bytes | None) -> bytes:
    """Process 0's ``data`` on every process (others pass anything, e.g. None). All processes must
    call it at the same point of the program: it is a collective."""
    from jax.experimental import multihost_utils

    if not is_multiprocess():
        assert data is not None, "a single process shares its own bytes"
        return data
    source = is_writer()
    length = multihost_utils.broadcast_one_to_all(np.int32(len(data) if source else 0), is_source=source)
    buffer = np.frombuffer(data, np.uint8) if source else np.zeros(int(length), np.uint8)
    return np.asarray(multihost_utils.broadcast_one_to_all(buffer, is_source=source)).tobytes()


def share_flag(flag: bool) -> bool:
    """Process 0's ``flag`` on every process (a collective, like :func:`share_bytes`)."""
    return share_bytes(b"\x01" if flag else b"\x00") == b"\x01" if is_multiprocess() else flag


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now (for a local coordinator)."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def local_environments(num_processes: int, port: int | None = None) -> list[dict[str, str]]:
    """The environment variables of ``num_processes`` processes on this host: one coordinator on a
    free localhost port, process ids 0 .. N-1."""
    if num_processes < 1:
        raise ValueError(f"--processes must be at least 1; got {num_processes}")
    address = f"localhost:{port or free_port()}"
    return [{COORDINATOR_ENV: address, NUM_PROCESSES_ENV: str(num_processes), PROCESS_ID_ENV: str(index)}
            for index in range(num_processes)]


def kernel_startup() -> None:
    """:func:`initialize` in a notebook kernel before its first cell (``nevolab run`` has the kernel
    run it); on failure the kernel exits, so a process never runs a distributed page on its own."""
    try:
        initialize()
    except Exception as error:
        print(f"nevolab: jax.distributed.initialize failed: {error}", file=sys.stderr, flush=True)
        os._exit(1)


KERNEL_STARTUP = "--IPKernelApp.exec_lines=import nevolab.distributed; nevolab.distributed.kernel_startup()"
"""The kernel argument that runs :func:`kernel_startup` first (IPython's ``exec_lines``)."""
