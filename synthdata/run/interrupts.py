"""Ctrl-C during a run's set-up: held, and raised where it is safe.

Python raises KeyboardInterrupt wherever the main thread happens to be. During set-up that is often
the middle of an import, or a ``__del__`` or weakref callback: an interrupted import can leave that
module's import lock held for good (the thread starting the cluster then waits on it forever: a run
that hung after "interrupted"), and an interrupt inside a callback is printed and dropped (the run
went on). So from the first step of ``generate`` until its cluster is up, a Ctrl-C is only noted;
:func:`check` (polled while waiting for the cluster) and :func:`release` (once it is up) raise it.
Only in the main thread and only over Python's own handler: a caller's handler is left alone.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["check", "hold", "release", "wait"]

T = TypeVar("T")

_noted = threading.Event()
_held = False


def _note(signum, frame) -> None:  # noqa: ARG001 - a signal handler
    _noted.set()


def hold() -> None:
    """From now on Ctrl-C is noted, not raised (a no-op off the main thread, under another handler,
    or while already held)."""
    global _held
    if _held or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    _noted.clear()
    signal.signal(signal.SIGINT, _note)
    _held = True


def check() -> None:
    """Raise the KeyboardInterrupt a held Ctrl-C stands for (nothing when none came)."""
    if _noted.is_set():
        _noted.clear()
        raise KeyboardInterrupt


def release(raise_noted: bool = True) -> None:
    """Ctrl-C raises again; one that came while held is raised now (dropped with ``raise_noted=False``:
    on the way out of an error, which is the news)."""
    global _held
    if not _held:
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _held = False
    if raise_noted:
        check()
    _noted.clear()


def wait(future: Future[T]) -> T:
    """``future.result()`` that a held Ctrl-C interrupts."""
    while True:
        try:
            return future.result(timeout=0.05)
        except TimeoutError:
            check()
