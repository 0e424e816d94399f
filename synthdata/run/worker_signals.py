"""Dask worker preload for embedded clusters: the worker process ignores SIGINT.

Ctrl-C reaches the whole terminal process group; only the driver should act on it (it shuts its
cluster down and exits 130): workers that also caught it would each print a KeyboardInterrupt
traceback. A preload runs in the worker's main thread as it starts, whichever driver thread spawned
it (the CLI starts its cluster from a background thread, where the driver cannot change its own
SIGINT disposition for the children to inherit), and again in a worker its nanny restarts.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def children_ignore_sigint():
    """Processes started inside inherit an ignored SIGINT (a disposition that survives exec, and a
    Python started with it never installs its KeyboardInterrupt handler): Ctrl-C reaches the whole
    terminal process group, and only the driver should act on it (it shuts its cluster down and exits
    130); workers, or the fork server importing the stack, that also caught it would each print a
    KeyboardInterrupt traceback. (The workers' preload, :func:`dask_setup`, makes sure of it once they
    run.) Only the main thread can change it: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload hook
    signal.signal(signal.SIGINT, signal.SIG_IGN)
