"""Per-clip progress from shard tasks to the driver, wherever the shards run.

A shard reports ``(shard_index, clips done in this attempt)`` after each clip (and, for a long clip made in
windows, after each window: a fraction of the clip, so the bar moves while it is made). In the driver's process
(``compute=sync``/``threads``) a listener gets it directly; on Dask workers it goes out as a worker
event on the run's topic, which the driver's client subscribes to. Reports are best effort: they never
fail a shard, and the manifest (not the bar) is the record of what is done.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["report_clips", "listen_clips"]

Listener = Callable[[int, float], None]
_LOCAL: dict[str, Listener] = {}


def report_clips(topic: str | None, shard_index: int, done: float) -> None:
    """Tell the driver that ``done`` clips of shard ``shard_index`` are made (this attempt): a count, or
    a fraction while a clip's windows are written."""
    if topic is None:
        return
    fn = _LOCAL.get(topic)
    if fn is not None:
        fn(shard_index, done)
        return
    try:
        from distributed import get_worker

        get_worker().log_event(topic, [shard_index, done])
    except (ImportError, ValueError):  # not on a Dask worker: nobody is listening
        pass


@contextmanager
def listen_clips(topic: str, fn: Listener, client: Any = None) -> Iterator[None]:
    """Call ``fn(shard_index, done)`` for every report on ``topic`` while inside the block."""
    _LOCAL[topic] = fn
    if client is not None:
        client.subscribe_topic(topic, lambda event: fn(*event[1]))
    try:
        yield
    finally:
        _LOCAL.pop(topic, None)
        if client is not None:
            try:
                client.unsubscribe_topic(topic)
            except Exception:  # noqa: BLE001 - the cluster may already be closing
                pass
