"""Progress bars for long commands (generate, fiftyone, export, evaluate, info), one rule for all.

A bar shows when asked (``progress=True``), or by default when stderr is a terminal and the
``synthdata`` logger lets INFO through (``synthdata -q`` silences bars; a pipe or a CI log gets none).
Bars go to stderr, so stdout stays machine-readable (JSON).
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

__all__ = ["logger", "progress_enabled", "progress_bar", "status", "track", "TrackedDataset"]

T = TypeVar("T")

#: the package's logger: ``synthdata -v`` sets DEBUG, ``-q`` WARNING; libraries leave it to the caller
logger = logging.getLogger("synthdata")


def progress_enabled(flag: bool | None = None) -> bool:
    """``flag`` when given, else: stderr is a terminal and the ``synthdata`` logger shows INFO."""
    if flag is not None:
        return bool(flag)
    return sys.stderr.isatty() and logger.getEffectiveLevel() <= logging.INFO


@contextmanager
def progress_bar(label: str, total: int | None, unit: str, enabled: bool | None = None, completed: int = 0):
    """A rich progress bar ``(progress, task)``; ``progress.update(task, advance=n)`` moves it.
    Disabled bars cost nothing and print nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    on = progress_enabled(enabled)
    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), disable=not on, transient=False,
                   console=Console(stderr=True))
    task = bar.add_task(label, total=total, completed=completed, rate="")
    with bar:
        yield bar, task


@contextmanager
def status(message: str, enabled: bool | None = None):
    """A spinner with ``message`` on stderr while the block runs (for steps without a count)."""
    if not progress_enabled(enabled):
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def track(items: Iterable[T], label: str, unit: str, total: int | None = None, enabled: bool | None = None) -> Iterator[T]:
    """``for x in track(xs, "export", "clips"): …`` — ``items`` with a bar advancing once per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar(label, total, unit, enabled) as (bar, task):
        for item in items:
            yield item
            bar.update(task, advance=1)


class TrackedDataset:
    """A dataset whose iteration over clips advances a bar; everything else is the dataset's own
    (exporters iterate ``for clip in ds``, so they get progress without knowing about it)."""

    def __init__(self, ds, label: str, enabled: bool | None = None):
        self._ds, self._label, self._enabled = ds, label, enabled

    def __getattr__(self, name: str):
        return getattr(self._ds, name)

    def __len__(self) -> int:
        return len(self._ds)

    def __iter__(self):
        return track(iter(self._ds), self._label, "clips", total=len(self._ds), enabled=self._enabled)
