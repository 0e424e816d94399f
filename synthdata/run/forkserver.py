"""Warm worker processes for the embedded CPU cluster: a fork server that imports the shard stack once.

A spawned Dask worker starts a fresh interpreter and imports ``distributed``, then torch and the
renderer (2+ s on two shared cores: most of a small run's start-up, all of it after the driver has
imported ``distributed`` and started the scheduler). Instead, the CLI starts Python's multiprocessing
fork server as it parses its arguments; the server imports the stack (:mod:`.stack_preload`) while
the driver starts the scheduler and loads the recipe, and each worker is forked from it with
everything imported (``distributed.worker.multiprocessing-method: forkserver``).

The server is a fresh interpreter started with the environment a spawned worker would get: Dask's
``pre-spawn-environ`` (one BLAS/OpenMP thread; without ``MALLOC_TRIM_THRESHOLD_``, see executors.py)
and Dask's fixed ``PYTHONHASHSEED`` (forked workers share the server's hash seed, so it must be
Dask's, not a random one). Linux only (fork after import is what the server does; macOS and
Windows keep spawning). Never with GPUs: those workers spawn with their own ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from .worker_signals import children_ignore_sigint

__all__ = ["available", "start", "stop", "worker_environ"]

log = logging.getLogger(__name__)

#: what the server imports before forking any worker (distributed's worker, then our stack)
PRELOAD = ("distributed", "distributed.nanny", "distributed.worker", "synthdata.run.stack_preload")
#: the worker environment Dask sets before it spawns (its default ``pre-spawn-environ``, read before
#: ``distributed`` is imported: its config is loaded with it) and the hash seed it fixes
_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
_HASH_SEED = "6640"

_lock = threading.Lock()
_started = False  # the server runs for our workers
_owned = False  # this module started it (a server the caller already ran is theirs: never stopped here)


def available() -> bool:
    return sys.platform == "linux"


def worker_environ() -> dict[str, str]:
    """The environment every embedded worker starts with, spawned or forked (then the server's):
    Dask's ``pre-spawn-environ`` without ``MALLOC_TRIM_THRESHOLD_`` (it also pins glibc's mmap
    threshold, so every large tensor would be a fresh page-faulting mapping: 4.5× slower rendering,
    measured), and Dask's fixed hash seed."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", None) or _THREADS)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    if env.get("PYTHONHASHSEED") in (None, "0", 0):
        env["PYTHONHASHSEED"] = _HASH_SEED
    return {k: str(v) for k, v in env.items()}


def start() -> bool:
    """Start the fork server in the background (returns at once; it imports while the caller goes
    on). Idempotent; False where it cannot be used (then workers spawn as usual)."""
    global _started, _owned
    if not available():
        return False
    with _lock:
        if _started:
            return True
        import multiprocessing
        from multiprocessing import forkserver

        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:  # the caller's own
            _started = True
            return True
        # Dask sets these in this process too before it spawns a worker ("pre-spawn"): the same here,
        # as the server inherits this process's environment
        os.environ.update(worker_environ())
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(PRELOAD))
        try:
            with children_ignore_sigint():  # Ctrl-C while it imports: no traceback from it, nor its workers
                forkserver.ensure_running()
        except OSError as exc:  # e.g. no room for its socket: workers spawn instead
            log.debug("no fork server (%s): workers are spawned", exc)
            return False
        _started = _owned = True
        return True


def stop() -> None:
    """End the fork server this process started (after its workers are gone). It may still be
    importing, when it would not notice a polite request for seconds: it is terminated."""
    global _started, _owned
    with _lock:
        if not _owned:
            _started = False
            return
        from multiprocessing import forkserver

        server = forkserver._forkserver
        pid = getattr(server, "_forkserver_pid", None)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        stop_server = getattr(server, "_stop", None)  # closes its socket and reaps it
        if stop_server is not None:
            try:
                stop_server()
            except OSError:
                pass
        _started = _owned = False
