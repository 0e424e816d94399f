"""Dask worker preload for embedded clusters: the worker process ignores SIGINT.

Ctrl-C reaches the whole terminal process group; only the driver should act on it (it shuts its
cluster down and exits 130): workers that also caught it would each print a KeyboardInterrupt
traceback. A preload runs in the worker's main thread as it starts, whichever driver thread spawned
it (the CLI starts its cluster from a background thread, where the driver cannot change its own
SIGINT disposition for the children to inherit), and again in a worker its nanny restarts.
"""

from __future__ import annotations

import signal


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload hook
    signal.signal(signal.SIGINT, signal.SIG_IGN)
